"""Quiz page: one question at a time from the tutoring engine, pitched at the learner's level, with spaced review,
feedback that explains, and the passage behind every answer."""

from __future__ import annotations

import streamlit as st

from tutor.webapp import resources
from tutor.webapp.components import answer_form, learning_page, render_quiz_feedback
from tutor.webapp.presenters import markdown_safe

ITEM = "quiz_item"
RESULT = "quiz_feedback"
ANY_TOPIC = "(follow my pathway)"


def next_question() -> None:
    st.session_state.pop(ITEM, None)
    st.session_state.pop(RESULT, None)


def main() -> None:
    page = learning_page("Quiz", "quiz")
    if page is None:
        return
    settings, engine, learner_id = page
    corpus = resources.shared_corpus(settings)
    topics = [ANY_TOPIC, *sorted(engine.material.items_by_topic)]
    topic = st.selectbox("Topic", topics, key="quiz-topic", on_change=next_question,
                         format_func=lambda t: t if t == ANY_TOPIC else t.replace("-", " ").capitalize())
    if ITEM not in st.session_state:
        st.session_state[ITEM] = engine.next_quiz_item(learner_id, None if topic == ANY_TOPIC else topic)
    item = st.session_state[ITEM]
    if item is None:
        due = engine.next_review_at(learner_id)
        st.success("You have answered every question here, and none is due for review yet"
                   + (f". The next review is on {due:%d %B %Y}." if due else "."), icon=":material/celebration:")
        return

    review = " · due for review" if item.reason.startswith("review") else ""
    st.caption(f"Difficulty {item.difficulty} of 3 · from the guidance on {item.doc_title}{review}")
    st.markdown(f"#### {markdown_safe(item.question)}")
    graded = st.session_state.get(RESULT)
    if graded is not None:
        feedback, reply = graded
        st.markdown(f"**Your answer:** {markdown_safe(reply)}" if reply else "**You asked to see the answer.**")
        render_quiz_feedback(feedback, corpus)
        st.button("Next question", type="primary", icon=":material/arrow_forward:", on_click=next_question)
        return
    action, reply = answer_form(item, f"quiz-{item.id}",
                                "Your answer, in a few sentences (please leave out patient details)")
    if action is not None:
        # The reply stays in this session only, to show it back; the engine marks it and keeps only the mark.
        feedback = engine.grade(learner_id, item.id, reply if action == "check" else "show me the answer")
        st.session_state[RESULT] = (feedback, reply)
        st.rerun()

if __name__ == "__main__":
    main()
