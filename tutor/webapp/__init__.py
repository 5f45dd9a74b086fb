"""The Streamlit app's pages and helpers: one module per page, shared resources, and plain functions tests can call.

Page modules (chat, learn, quiz, scenarios, glossary, about, content, evaluation, signin) are run by Streamlit as
scripts; each renders itself only under ``__name__ == "__main__"``, so importing one for its functions draws nothing.
"""
