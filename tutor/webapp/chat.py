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
from tutor.webapp.components import answer_form, current_learner, render_citations, render_quiz_feedback
from tutor.webapp.navigation import PAGE_DIR
from tutor.webapp.presenters import (EXAMPLE_QUESTIONS, answer_markdown, history_turns, markdown_safe,
                                     refusal_suggestions)
from tutor.webapp.streaming import AnswerStream

MESSAGES = "chat_messages"
PENDING = "chat_pending_question"
THANKED = "chat_feedback_thanked"
AVATARS = {"user": ":material/person:", "assistant": ":material/school:"}
MOVE = "chat_pending_move"
MOVES = {"check": ("Check my understanding", ":material/quiz:"),
         "another-way": ("Explain it another way", ":material/autorenew:"),
         "example": ("Give me an example", ":material/lightbulb:")}


def new_conversation() -> None:
    st.session_state[MESSAGES] = []
    st.session_state.pop(PENDING, None)


def ask_example(question: str) -> None:
    st.session_state[PENDING] = question


def request_move(kind: str, answer_id: str) -> None:
    st.session_state[MOVE] = (kind, answer_id)


def try_scenario(scenario_id: str) -> None:
    st.session_state["scenario-choice"] = scenario_id
    st.session_state.pop("scenario_feedback", None)


def render_moves(answer: Answer) -> None:
    """After the latest cited answer: a question to check understanding, another explanation, an example."""
    columns = st.columns(len(MOVES))
    for column, (kind, (label, icon)) in zip(columns, MOVES.items()):
        column.button(label, key=f"move-{kind}-{answer.id}", icon=icon, on_click=request_move,
                      args=(kind, answer.id), width="stretch")


def perform_move(kind: str, answer: Answer, messages: list[dict]) -> None:
    """Run a tutor move on an earlier answer and add the exchange to the conversation."""
    engine = resources.shared_learning(resources.current_settings())
    learner_id = current_learner(engine)
    messages.append({"role": "user", "content": MOVES[kind][0], "move": True})
    with st.spinner("Thinking about how to help…"):
        if kind == "check":
            item = engine.check_question_for(answer, learner_id)
            if item is None:
                messages.append({"role": "assistant", "content": "There is no check question on this part of the "
                                 "guidance yet. Try the Quiz page for questions on other topics."})
            else:
                messages.append({"role": "assistant", "content": item.question, "check": item, "result": None,
                                 "key": uuid.uuid4().hex})
            return
        move = (engine.explain_another_way if kind == "another-way" else engine.give_example)(answer, learner_id)
    messages.append({"role": "assistant", "content": move.answer.answer, "answer": move.answer,
                     "glossary": move.glossary, "scenario": move.scenario})


def render_check(message: dict, corpus: Corpus | None) -> None:
    item = message["check"]
    st.markdown(f"**Check your understanding:** {markdown_safe(item.question)}")
    if message["result"] is not None:
        render_quiz_feedback(message["result"], corpus)
        return
    engine = resources.shared_learning(resources.current_settings())
    learner_id = current_learner(engine)
    if learner_id is None:
        st.info("To answer check questions and keep track of your progress, set up learning first. It takes a "
                "moment and needs no name.", icon=":material/route:")
        if st.button("Set up learning", icon=":material/route:", key=f"setup-{message['key']}"):
            st.switch_page(PAGE_DIR / "learn.py")
        return
    action, reply = answer_form(item, f"check-{message['key']}", "Your answer, in a sentence or two")
    if action is not None:
        message["result"] = engine.grade(learner_id, item.id, reply if action == "check" else "show me the answer",
                                         context="check")
        st.rerun()


def render_extras(message: dict) -> None:
    """Glossary terms and a practice scenario that came with an 'another way' or 'example' move."""
    for entry in message.get("glossary") or []:
        st.markdown(f"**{markdown_safe(entry.term)}:** {markdown_safe(entry.definition)}")
    scenario = message.get("scenario")
    if scenario is not None and st.button(f"Try a practice scenario: {scenario.title}", icon=":material/calculate:",
                                          key=f"scenario-{message['answer'].id}", on_click=try_scenario,
                                          args=(scenario.id,)):
        st.switch_page(PAGE_DIR / "scenarios.py")


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
    render_citations(answer.citations, corpus)
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

    pending = st.session_state.pop(MOVE, None)
    if pending is not None:
        kind, answer_id = pending
        target = next((m["answer"] for m in messages if m.get("answer") is not None and m["answer"].id == answer_id),
                      None)
        if target is not None:
            perform_move(kind, target, messages)

    # Moves are offered on the latest answer that cites something (a move that found nothing new keeps it).
    latest = next((m["answer"] for m in reversed(messages)
                   if m.get("answer") is not None and offers_moves(m["answer"])), None)
    for message in messages:
        with st.chat_message(message["role"], avatar=AVATARS[message["role"]]):
            if message["role"] == "user":
                st.markdown(markdown_safe(message["content"]))
            elif "check" in message:
                render_check(message, corpus)
            elif message.get("answer") is None:
                st.markdown(markdown_safe(message["content"]))
            else:
                render_answer(message["answer"], corpus, store)
                render_extras(message)
                if message["answer"] is latest and not question:
                    render_moves(latest)

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
        if offers_moves(answer):
            render_moves(answer)


def offers_moves(answer: Answer) -> bool:
    return not answer.refused and not answer.abstained and bool(answer.citations)


if __name__ == "__main__":
    main()
