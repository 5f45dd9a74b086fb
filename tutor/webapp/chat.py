"""Tutor chat page: streamed, cited answers; sources that open to the quoted passage; feedback on every answer."""

from __future__ import annotations

import uuid

import streamlit as st

from tutor.corpus import Corpus
from tutor.indexing import IndexMissingError
from tutor.models import Answer
from tutor.safety import EMERGENCY, SAFE_USE_NOTICES
from tutor.stores import StoreUnavailableError
from tutor.webapp import resources
from tutor.webapp.feedback import REASONS, FeedbackStore
from tutor.webapp.presenters import (EXAMPLE_QUESTIONS, answer_markdown, history_turns, markdown_safe, quote_markdown,
                                     refusal_suggestions, source_card, uk_date)
from tutor.webapp.streaming import AnswerStream

MESSAGES = "chat_messages"
PENDING = "chat_pending_question"
THANKED = "chat_feedback_thanked"
AVATARS = {"user": ":material/person:", "assistant": ":material/school:"}


def new_conversation() -> None:
    st.session_state[MESSAGES] = []
    st.session_state.pop(PENDING, None)


def ask_example(question: str) -> None:
    st.session_state[PENDING] = question


def render_sources(answer: Answer, corpus: Corpus | None) -> None:
    if not answer.citations:
        return
    st.markdown("**Sources** (open one to read the passage)")
    for citation in answer.citations:
        card = source_card(citation, corpus)
        with st.expander(card.label):
            st.markdown("**Quoted passage**")
            with st.container(border=True):
                st.markdown(quote_markdown(card.quote))
            if card.heading:
                st.caption(f"From the section “{card.heading}” of the tutor's guidance on {card.doc_title}.")
            year = f", {card.year}" if card.year else ""
            st.markdown(f"**Original source:** [{markdown_safe(card.source_title)}]({card.url}) "
                        f"({markdown_safe(card.publisher)}{year})")
            st.caption(f"Address: {card.url}  \nGuidance last reviewed {uk_date(card.last_reviewed)}; "
                       f"next review due {uk_date(card.review_due)}.")


def render_notices(answer: Answer) -> None:
    """Safe-use reminders in their own blue panels; notes on how the answer was made in a quieter one."""
    for notice in answer.notices:
        if notice.id in SAFE_USE_NOTICES:
            st.info(f"**Safe-use reminder.** {markdown_safe(notice.text)}", icon=":material/health_and_safety:")
        else:
            st.warning(markdown_safe(notice.text), icon=":material/info:")


def render_refusal(answer: Answer) -> None:
    if answer.refusal_reason == EMERGENCY:  # only the way to help: nothing else competes for attention
        st.error(f"**{markdown_safe(answer.answer)}**", icon=":material/emergency:")
        return
    with st.container(border=True):
        st.markdown(markdown_safe(answer.answer))
        suggestions = refusal_suggestions(answer.answer) or list(EXAMPLE_QUESTIONS[:3])
        st.markdown("**You could ask:**")
        for i, question in enumerate(suggestions):
            st.button(question, key=f"suggest-{answer.id}-{i}", icon=":material/forum:", on_click=ask_example,
                      args=(question,))


def save_rating(store: FeedbackStore, answer: Answer, key: str) -> None:
    rating = st.session_state.get(key)
    if rating is not None:
        store.record(answer, rating)


def render_feedback(answer: Answer, store: FeedbackStore) -> None:
    key = f"thumbs-{answer.id}"
    st.caption("Was this answer helpful?")
    rating = st.feedback("thumbs", key=key, on_change=save_rating, args=(store, answer, key))
    if rating is None:
        return
    if st.session_state.get(THANKED, {}).get(answer.id):
        st.caption(":material/check_circle: Thank you. Your feedback was saved and goes to the content team.")
        return
    with st.form(key=f"feedback-form-{answer.id}", border=True):
        reason = None
        if rating == 0:
            reason = st.selectbox("What was the problem?", list(REASONS), format_func=REASONS.get,
                                  index=None, placeholder="Choose a reason", key=f"reason-{answer.id}")
        comment = st.text_area("Anything else we should know? (optional; please leave out patient details)",
                               max_chars=1000, key=f"comment-{answer.id}")
        if st.form_submit_button("Send feedback"):
            tutor = resources.shared_tutor(resources.current_settings())
            clean = tutor.safety.redact(comment) if comment else ""
            store.record(answer, rating, reason, clean)
            st.session_state.setdefault(THANKED, {})[answer.id] = True
            st.rerun()


def render_answer(answer: Answer, corpus: Corpus | None, store: FeedbackStore, show_text: bool = True) -> None:
    if answer.refused:
        render_refusal(answer)
    elif show_text:
        st.markdown(answer_markdown(answer.answer))
    render_notices(answer)
    render_sources(answer, corpus)
    if answer.refusal_reason != EMERGENCY:
        render_feedback(answer, store)


def start_answer(question: str, history: list) -> AnswerStream:
    tutor = resources.shared_tutor(resources.current_settings())
    return AnswerStream(tutor, question, history, uuid.uuid4().hex)


def main() -> None:
    settings = resources.current_settings()
    st.session_state.setdefault(MESSAGES, [])
    messages: list[dict] = st.session_state[MESSAGES]

    top = st.columns([3, 1], vertical_alignment="center")
    top[0].title("Ask the tutor")
    top[1].button("New conversation", icon=":material/add_comment:", on_click=new_conversation,
                  width="stretch")
    try:
        resources.shared_tutor(settings)
    except (IndexMissingError, StoreUnavailableError) as exc:
        st.error(f"The tutor cannot answer yet: {exc}. Ask the person who runs the tutor to build the index "
                 "(`tutor ingest`).", icon=":material/error:")
        return
    corpus = resources.shared_corpus(settings)
    store = resources.feedback_store(settings)
    # Read the box first: on the run that asks the first question the welcome text must not be drawn.
    typed = st.chat_input("Ask a question about AI in health and care")
    question = typed or st.session_state.pop(PENDING, None)

    if not messages and not question:
        st.markdown("Ask about using AI safely in health and care. Answers come only from curated NHS and UK "
                    "guidance, with the sources to check. This tutor teaches about AI: it does not give advice "
                    "about a patient's care.")
        st.markdown("**Try one of these:**")
        for i, example in enumerate(EXAMPLE_QUESTIONS):
            st.button(example, key=f"example-{i}", on_click=ask_example, args=(example,))

    for message in messages:
        with st.chat_message(message["role"], avatar=AVATARS[message["role"]]):
            if message["role"] == "user":
                st.markdown(markdown_safe(message["content"]))
            else:
                render_answer(message["answer"], corpus, store)

    if not question:
        return
    history = history_turns(messages)
    with st.chat_message("user", avatar=AVATARS["user"]):
        shown = st.empty()
        shown.markdown(markdown_safe(question))
    with st.chat_message("assistant", avatar=AVATARS["assistant"]):
        stream = start_answer(question, history)
        text = st.empty()
        with text.container():
            st.write_stream(stream)
        answer = stream.final()
        # The final answer replaces what streamed: only it has passed the safety layer, and it may differ.
        if answer.refused:
            text.empty()
        else:
            text.markdown(answer_markdown(answer.answer))
        # From here on the question is shown as the safety layer saw it (identifiers replaced).
        shown.markdown(markdown_safe(answer.question))
        messages.append({"role": "user", "content": answer.question})
        messages.append({"role": "assistant", "content": answer.answer, "answer": answer})
        render_answer(answer, corpus, store, show_text=False)

if __name__ == "__main__":
    main()
