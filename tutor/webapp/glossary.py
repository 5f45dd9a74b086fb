"""Glossary page: every term from the corpus glossary, searchable, each linked to the guidance that explains it."""

from __future__ import annotations

import streamlit as st

from tutor.webapp import chat, resources
from tutor.webapp.navigation import PAGE_DIR
from tutor.webapp.presenters import markdown_safe, search_glossary


def ask_about(term: str) -> None:
    chat.ask_example(f"What is {term}?")


def main() -> None:
    settings = resources.current_settings()
    corpus = resources.shared_corpus(settings)
    st.title("Glossary")
    query = st.text_input("Search the glossary", placeholder="For example: sensitivity, DTAC, hallucination",
                          key="glossary-query")
    entries = search_glossary(corpus.glossary, query)
    if not entries:
        st.info(f"No term matches “{query}”. Try a shorter word, or ask the tutor.", icon=":material/search_off:")
        return
    st.caption(f"{len(entries)} of {len(corpus.glossary)} terms")
    for i, entry in enumerate(entries):
        term = str(entry.get("term", ""))
        doc = corpus.doc(str(entry.get("doc", "")))
        with st.container(border=True):
            st.markdown(f"**{markdown_safe(term)}**  \n{markdown_safe(str(entry.get('definition', '')))}")
            if doc:
                st.caption(f"Explained in the guidance on {doc.title}.")
            if st.button("Ask the tutor about this", key=f"glossary-ask-{i}", icon=":material/forum:",
                         on_click=ask_about, args=(term,)):
                st.switch_page(PAGE_DIR / "chat.py")


if __name__ == "__main__":
    main()
