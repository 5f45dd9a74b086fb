"""Learn page: the learner's profile (role and archetypes), their pathway step by step, progress and CPD export."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from tutor.webapp import chat
from tutor.webapp.charts import bar_height, mastery_chart
from tutor.webapp.components import LEARNER, learning_page
from tutor.webapp.navigation import PAGE_DIR
from tutor.webapp.presenters import markdown_safe


def ask_about_step(title: str) -> None:
    chat.ask_example(f"What should I know about {title.rstrip('.')}?")


def show_profile(engine, learner_id: str) -> None:
    from tutor.pedagogy import ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS

    profile = engine.profile(learner_id)
    with st.expander(f"Your profile: {PROFESSIONAL_GROUPS[profile.professional_group]} · learner code "
                     f"{profile.learner_id}"):
        st.caption("Keep your learner code to come back to your progress on another day. It is not linked to your "
                   "name.")
        with st.form("learn-edit-profile"):
            group = st.selectbox("Professional group", list(PROFESSIONAL_GROUPS), format_func=PROFESSIONAL_GROUPS.get,
                                 index=list(PROFESSIONAL_GROUPS).index(profile.professional_group))
            archetypes = st.multiselect("How you work with AI", list(ARCHETYPES), default=profile.archetypes,
                                        format_func=ARCHETYPES.get)
            level = st.radio("Your experience of AI so far", list(LEVELS), format_func=LEVELS.get,
                             index=list(LEVELS).index(profile.level))
            if st.form_submit_button("Save changes"):
                engine.update_profile(learner_id, professional_group=group, archetypes=archetypes or ["user"],
                                      level=level)
                st.rerun()
        if st.button("Sign out of this learner code"):
            st.session_state.pop(LEARNER, None)
            st.rerun()


def show_pathway(engine, learner_id: str) -> None:
    view = engine.pathway(learner_id)
    if view is None:
        st.info("There are no learning pathways in the guidance yet.")
        return
    choices = {view.id: view.title, **dict(view.alternatives)}
    chosen = st.selectbox("Pathway", list(choices), format_func=choices.get, key="learn-pathway")
    if chosen != view.id:
        engine.update_profile(learner_id, pathway_id=chosen)
        st.rerun()
    total = len(view.steps)
    st.progress(view.done / total if total else 0.0, text=f"{view.done} of {total} steps done")
    if view.next_step is None:
        st.success("You have completed this pathway. Well done. Choose another above, or keep your knowledge fresh "
                   "with the quiz.", icon=":material/celebration:")
    for step in view.steps:
        is_next = view.next_step is not None and step.number == view.next_step.number
        status = "Done" if step.done else ("Next" if is_next else "To do")
        icon = ":material/check_circle:" if step.done else (":material/arrow_forward:" if is_next else
                                                            ":material/radio_button_unchecked:")
        with st.expander(f"Step {step.number}: {step.title} · {status}", icon=icon, expanded=is_next):
            st.markdown(f"**You will be able to:** {markdown_safe(step.objective)}")
            if step.summary:
                st.markdown(markdown_safe(step.summary))
            if step.items:
                st.caption(f"Quiz questions on this step: {step.correct} of {step.items} answered correctly. "
                           f"Answering {min(engine.learning.step_correct, step.items)} correctly completes the step.")
            columns = st.columns(2)
            if columns[0].button("Ask the tutor about this", key=f"learn-ask-{step.doc_id}", icon=":material/forum:",
                                 on_click=ask_about_step, args=(step.title,)):
                st.switch_page(PAGE_DIR / "chat.py")
            if not step.done and columns[1].button("I have read this: mark as done", key=f"learn-done-{step.doc_id}",
                                                   icon=":material/done:"):
                engine.mark_step_done(learner_id, step.doc_id)
                st.rerun()


def show_progress(engine, learner_id: str) -> None:
    progress = engine.progress(learner_id)
    columns = st.columns(3)
    columns[0].metric("Quiz answers", len(progress.quiz), help="Quiz questions and understanding checks answered.")
    columns[1].metric("Scenarios tried", len(progress.scenarios))
    columns[2].metric("Time spent", f"{progress.minutes_spent:.0f} min")
    if progress.due_reviews:
        st.info(f"{progress.due_reviews} quiz question{'s are' if progress.due_reviews != 1 else ' is'} due for "
                "review. Spacing reviews out helps you remember.", icon=":material/schedule:")
    if progress.mastery:
        rows = [m.model_dump() for m in progress.mastery]
        st.altair_chart(mastery_chart(rows), width="stretch", height=bar_height(len(rows)),
                        alt="Mastery by topic: " + "; ".join(f"{r['topic']} {100 * r['mastery']:.0f}%" for r in rows))
    if progress.brier_mean is not None:
        st.caption(f"Calibration (mean Brier score over your scenarios): {progress.brier_mean:.2f}. 0 is perfect; "
                   "0.25 is what always saying 50% earns.")
    with tempfile.TemporaryDirectory() as folder:
        markdown_path, csv_path = engine.export_cpd(learner_id, Path(folder))
        summary, table = markdown_path.read_bytes(), csv_path.read_bytes()
    columns = st.columns(2)
    columns[0].download_button("CPD summary (Markdown)", summary, file_name=markdown_path.name, mime="text/markdown",
                               icon=":material/download:")
    columns[1].download_button("CPD record (CSV)", table, file_name=csv_path.name, mime="text/csv",
                               icon=":material/download:")


def main() -> None:
    page = learning_page("Learn", "learn")
    if page is None:
        return
    _, engine, learner_id = page
    show_profile(engine, learner_id)
    pathway, progress = st.tabs(["Your pathway", "Your progress"])
    with pathway:
        show_pathway(engine, learner_id)
    with progress:
        show_progress(engine, learner_id)


if __name__ == "__main__":
    main()
