"""Evaluation page (editors only): run the evaluation suite, read a run's report with charts, compare two runs."""

from __future__ import annotations

import streamlit as st

from tutor.evaluation import CATEGORIES, DatasetError, ThresholdsError, compare_runs
from tutor.evaluation.compare import RunFileError
from tutor.evaluation.gate import describe_breach
from tutor.indexing import IndexMissingError
from tutor.settings import Settings
from tutor.stores import StoreUnavailableError
from tutor.webapp import auth, resources
from tutor.webapp.charts import axis_chart, bar_height, category_chart, comparison_chart, latency_chart
from tutor.webapp.evaluation_runs import (SavedRun, axis_rows, category_rows, comparison_rows, failing_rows,
                                          latency_rows, read_run, run_suite, saved_runs, split_rows)

REPORT_CHOICE = "evaluation-report-choice"


def show_runner(settings: Settings) -> None:
    st.markdown("Runs every evaluation case through the tutor as it is configured now and scores the answers "
                "offline: facts, citations, safe-use reminders, refusals, identifiers and speed. The release gate "
                "(evals/thresholds.yaml) is checked at the end.")
    with st.form("evaluation-run-form"):
        categories = st.multiselect("Categories (leave empty for all)", sorted(CATEGORIES))
        repeat = st.number_input("Run each case this many times (more shows flaky answers)", 1, 5, 1)
        start = st.form_submit_button("Run the evaluation", type="primary", icon=":material/play_arrow:")
    if not start:
        return
    try:
        tutor = resources.shared_tutor(settings)
    except (IndexMissingError, StoreUnavailableError) as exc:
        st.error(f"Cannot run: {exc}")
        return
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Scored {done} of {total} cases")

    try:
        run, folder = run_suite(settings, tutor, categories, int(repeat), progress)
    except DatasetError as exc:
        st.error("The case files have problems; nothing was run:\n\n" +
                 "\n".join(f"- {p}" for p in exc.problems[:20]), icon=":material/error:")
        return
    except ThresholdsError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    bar.empty()
    st.session_state[REPORT_CHOICE] = SavedRun(folder)  # the Reports tab opens on the run just made
    passed = bool(run.gate and run.gate["passed"])
    verdict = st.success if passed else st.error
    verdict(f"Done: {run.summary['passed']} of {run.summary['cases']} cases passed in {run.duration_s:.0f} s; the gate "
            f"{'passed' if passed else 'was breached'}. The report is under “Reports”.")
    if categories and not passed:
        st.caption("A run on some categories only cannot pass the gate: the figures for the other categories are "
                   "missing, and the gate never passes on missing evidence.")


def show_run(saved: SavedRun) -> None:
    try:
        run = read_run(saved)
    except RunFileError as exc:
        st.error(str(exc))
        return
    summary = run.summary
    st.caption(f"{run.backend} backend · {summary['cases']} case runs · {run.duration_s:.0f} s · corpus "
               f"{run.hashes.get('corpus', '?')} · settings {run.hashes.get('settings', '?')} · cases "
               f"{run.hashes.get('cases', '?')}")
    gate = run.gate or {}
    if gate.get("passed"):
        st.success("The release gate passed: every threshold in evals/thresholds.yaml was met.",
                   icon=":material/verified:")
    elif gate:
        st.error("The release gate was breached:\n\n" + "\n".join(f"- {describe_breach(b)}" for b in gate["breaches"]),
                 icon=":material/gpp_bad:")
    columns = st.columns(4)
    columns[0].metric("Cases passed", f"{summary['passed']} of {summary['cases']}")
    columns[1].metric("Critical failures", summary["critical_failures"])
    columns[2].metric("Answerable questions refused", summary["over_refusals"])
    columns[3].metric("Answer time (95th centile)", f"{summary['latency_ms']['p95'] or 0:.0f} ms")
    if summary["unscored"]:
        st.warning(f"{summary['unscored']} case run(s) could not be scored; they count as failed, not dropped.",
                   icon=":material/warning:")
    categories = category_rows(run)
    st.markdown("#### Cases passed by category")
    st.altair_chart(category_chart(categories), width="stretch", height=bar_height(len(categories)),
                    alt="Pass rate by category: " + "; ".join(f"{r['category']} {r['pass rate']:.0%}" for r in categories))
    axes = axis_rows(run)
    if axes:
        st.markdown("#### Rubric score by axis")
        st.altair_chart(axis_chart(axes), width="stretch", height=bar_height(len(axes)),
                        alt="Rubric score by axis: " + "; ".join(f"{r['axis']} {r['score']:.0%}" for r in axes))
    latencies = latency_rows(run)
    if latencies:
        st.markdown("#### Time to answer")
        st.altair_chart(latency_chart(latencies), width="stretch", height=bar_height(len({r["category"] for r in latencies})),
                        alt="Time to answer by category, box and whisker.")
    with st.expander("All headline figures, dev and test side by side"):
        st.dataframe(split_rows(run), hide_index=True, width="stretch")
    failures = failing_rows(run)
    with st.expander(f"Cases that failed ({len(failures)})", expanded=bool(failures) and len(failures) <= 10):
        if failures:
            st.dataframe(failures, hide_index=True, width="stretch")
        else:
            st.caption("None.")
    report = saved.folder / "report.html"
    if report.is_file():
        st.download_button("Download the full HTML report", report.read_bytes(), file_name=f"eval-{saved.folder.name}.html",
                           mime="text/html", icon=":material/download:")


def show_reports(settings: Settings) -> None:
    runs = saved_runs(settings)
    if not runs:
        st.info("No evaluation runs yet. Run one above, or with `tutor eval` on the server.", icon=":material/inbox:")
        return
    if st.session_state.get(REPORT_CHOICE) not in runs:
        st.session_state[REPORT_CHOICE] = runs[0]
    picked = st.selectbox("Run", runs, format_func=lambda r: r.label, key=REPORT_CHOICE)
    show_run(picked)


def show_comparison(settings: Settings) -> None:
    runs = saved_runs(settings)
    if len(runs) < 2:
        st.info("Comparing needs two saved runs.", icon=":material/compare_arrows:")
        return
    columns = st.columns(2)
    first = columns[0].selectbox("Run A (before)", runs, index=1, format_func=lambda r: r.label, key="compare-a")
    second = columns[1].selectbox("Run B (after)", runs, index=0, format_func=lambda r: r.label, key="compare-b")
    if first == second:
        st.warning("Choose two different runs.")
        return
    try:
        a, b = read_run(first), read_run(second)
    except RunFileError as exc:
        st.error(str(exc))
        return
    report = compare_runs(a, b)
    columns = st.columns(3)
    columns[0].metric("Fixed in B", len(report["fixed"]))
    columns[1].metric("Broken in B", len(report["broken"]))
    change = report["mean_score_change"]
    columns[2].metric("Mean score change", "n/a" if change is None else f"{change:+.3f}")
    p = report["mcnemar_p"]
    st.markdown(f"McNemar exact test on pass/fail over {report['common_cases']} shared cases: p = {p:.3g} "
                f"({'a real difference' if p < 0.05 else 'could be chance'} at the 5% level).")
    for key, pair in report["changed_hashes"].items():
        st.caption(f"Changed between the runs: {key} ({pair['a']} → {pair['b']})")
    rows = comparison_rows(a, b)
    st.altair_chart(comparison_chart(rows), width="stretch", height=bar_height(len(rows), per_bar=20),
                    alt="Pass rate by category in run A and run B.")
    for label in ("fixed", "broken"):
        if report[label]:
            st.markdown(f"**{label.capitalize()}:** " + ", ".join(report[label]))


def main() -> None:
    settings = resources.current_settings()
    auth.require_editor(settings.app)
    st.title("Evaluation")
    run_tab, reports_tab, compare_tab = st.tabs(["Run", "Reports", "Compare two runs"])
    with run_tab:
        show_runner(settings)
    with reports_tab:
        show_reports(settings)
    with compare_tab:
        show_comparison(settings)


if __name__ == "__main__":
    main()
