"""Scenarios page: read a clinical vignette, estimate how far to trust the AI tool, say how sure you are, then see
the true figures as 1,000 patients (a chart and a 2x2 table), whether you over- or under-trusted it, and the sources."""

from __future__ import annotations

import streamlit as st

from tutor.webapp import resources
from tutor.webapp.charts import natural_frequency_chart
from tutor.webapp.components import learning_page, render_citations
from tutor.webapp.presenters import markdown_safe

RESULT = "scenario_feedback"


def clear_result() -> None:
    st.session_state.pop(RESULT, None)


def chart_description(table) -> str:
    return (f"Of {table.population:,} patients: {table.true_positive:,} flagged who have the condition, "
            f"{table.false_positive:,} flagged who do not, {table.false_negative:,} missed, "
            f"{table.true_negative:,} correctly not flagged.")


def show_feedback(feedback, corpus) -> None:
    verdict_box = st.success if feedback.within_tolerance else st.warning
    verdict_box(markdown_safe(feedback.verdict_text),
                icon=":material/check_circle:" if feedback.within_tolerance else ":material/balance:")
    table = feedback.table
    st.markdown("#### The same figures as 1,000 patients")
    st.altair_chart(natural_frequency_chart(table.true_positive, table.false_positive, table.false_negative,
                                            table.true_negative), width="content", alt=chart_description(table))
    st.markdown(markdown_safe(feedback.natural_frequencies))
    st.markdown(table.markdown())
    columns = st.columns(3)
    columns[0].metric("Flag is right (PPV)", f"{feedback.ppv:.1%}")
    columns[1].metric("Clear result is right (NPV)", f"{feedback.npv:.1%}")
    columns[2].metric("Your calibration (Brier)", f"{feedback.brier:.2f}",
                      help="0 is perfect; 0.25 is what always saying 50% earns. Your average so far: "
                           f"{feedback.brier_mean:.2f}.")
    with st.expander("Worked answer and teaching points"):
        st.markdown(markdown_safe(feedback.model_answer))
        for point in feedback.teaching_points:
            st.markdown(f"- {markdown_safe(point)}")
    render_citations(feedback.citations, corpus, heading="Where this comes from")


def main() -> None:
    page = learning_page("Practice scenarios", "scenarios")
    if page is None:
        return
    settings, engine, learner_id = page
    choices = dict(engine.scenarios())
    if not choices:
        st.info("There are no approved scenarios yet.")
        return
    chosen = st.selectbox("Scenario", list(choices), format_func=choices.get, key="scenario-choice",
                          on_change=clear_result)
    scenario = engine.scenario(chosen)
    st.markdown(markdown_safe(scenario.vignette))
    st.markdown(f"**{markdown_safe(scenario.question)}**")
    feedback = st.session_state.get(RESULT)
    if feedback is not None and feedback.scenario_id == chosen:
        st.markdown(f"**Your estimate:** {feedback.estimate * 100:g} out of 100 · **how sure you were:** "
                    f"{feedback.confidence * 100:g}%")
        show_feedback(feedback, resources.shared_corpus(settings))
        st.button("Try this scenario again", on_click=clear_result)
        return
    with st.form(f"scenario-{chosen}"):
        estimate = st.slider(scenario.estimate_prompt, 0, 100, 50, key=f"estimate-{chosen}")
        confidence = st.slider(scenario.confidence_prompt, 0, 100, 50, step=5, key=f"confidence-{chosen}",
                               format="%d%%")
        if st.form_submit_button("Check my estimate", type="primary"):
            st.session_state[RESULT] = engine.judge_scenario(learner_id, chosen, estimate, confidence)
            st.rerun()

if __name__ == "__main__":
    main()
