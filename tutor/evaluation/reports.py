"""Run reports for machines and people: JSON (the record), Markdown, JUnit XML and a self-contained HTML page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tutor.evaluation.gate import describe_breach
from tutor.evaluation.runner import CaseResult, EvalRun

HEADLINE = [
    ("pass_rate", "Cases passed"), ("rubric_score", "Rubric score"), ("fact_coverage", "Fact coverage"),
    ("citation_validity", "Citation validity"), ("source_recall", "Source recall"),
    ("retrieval_recall", "Retrieval recall@k"), ("mrr", "MRR"), ("ndcg", "nDCG@k"), ("faithfulness", "Faithfulness"),
    ("notice_compliance", "Notice compliance"), ("notice_noise", "No noise notices"),
    ("refusal_accuracy", "Refusal accuracy"), ("refusal_recall", "Refusal recall"),
    ("over_refusal_rate", "Over-refusal rate"), ("abstention_precision", "Abstention precision"),
    ("abstention_recall", "Abstention recall"), ("identifier_leakage_rate", "Identifier leakage rate"),
]
COUNTS = [("cases", "Cases run"), ("unscored", "Could not be scored"), ("critical_failures", "Critical failures"),
          ("over_refusals", "Answerable questions refused"),
          ("identifier_leaks", "Answers leaking an identifier"), ("must_not_violations", "Forbidden text found"),
          ("unscored_criteria", "Criteria left unscored (judge off)"), ("judge_scored_criteria", "Criteria scored by the LLM judge")]


def timing_rows(summary: dict) -> list[tuple[str, dict]]:
    """End-to-end latency (what a user waits) and CPU time (what the answer costs, steady on a busy machine)."""
    empty = {"p50": None, "p95": None, "max": None, "n": 0}
    return [("Latency", summary.get("latency_ms", empty)), ("CPU time", summary.get("cpu_ms", empty))]


def headline_rows(summary: dict) -> list[tuple[str, str, str]]:
    """(label, value, n) for each headline figure, formatted the same way in every report."""
    rows = []
    for key, label in HEADLINE:
        item = summary.get(key)
        if isinstance(item, dict):
            value, n = item.get("value"), item.get("n")
        else:
            value, n = item, summary.get("cases")
        rows.append((label, "not computed" if value is None else f"{value:.3f}", str(n)))
    return rows


def failing(results: list[CaseResult]) -> list[CaseResult]:
    return [r for r in results if not r.passed]


def why_failed(result: CaseResult) -> list[str]:
    if result.status != "scored":
        return [f"could not be scored: {result.error}"]
    reasons = [f"critical: {text}" for text in result.critical_misses]
    reasons += [f"{c.text} ({c.reason})" for c in result.criteria if c.status == "not_met" and not c.critical
                and c.points > 0]
    reasons += [f"{c.text}" for c in result.criteria if c.status == "met" and c.points < 0 and not c.critical]
    if result.score is not None and not result.critical_misses:
        reasons.insert(0, f"score {result.score:.2f} below the pass mark")
    return reasons


def to_markdown(run: EvalRun) -> str:
    s = run.summary
    gate = run.gate
    lines = [f"# Evaluation report: {run.backend} backend", "",
             f"Run {run.started}, {s['cases']} case runs ({run.repeat} trial(s) each), {run.duration_s:.1f} s. "
             f"LLM judge: {run.judge}. A case passes with rubric score >= {run.case_pass_score} and no critical miss.", ""]
    if gate is not None:
        lines += [f"**Gate: {'PASSED' if gate['passed'] else 'FAILED'}**" + (
            "" if gate["passed"] else " - " + "; ".join(describe_breach(b) for b in gate["breaches"])), ""]
    lines += ["## Content hashes", "", "| what | hash |", "|---|---|"]
    lines += [f"| cases | `{run.hashes.get('cases')}` |", f"| corpus | `{run.hashes.get('corpus')}` |",
              f"| settings | `{run.hashes.get('settings')}` |", f"| thresholds | `{run.hashes.get('thresholds')}` |"]
    lines += [f"| {path} | `{digest}` |" for path, digest in run.hashes.get("datasets", {}).items()]
    lines += ["", "## Headline figures", "", "| figure | value | n |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {n} |" for label, value, n in headline_rows(s)]
    lines += [f"| {label} | {s.get(key)} | |" for key, label in COUNTS]
    lines += [f"| {label} p50 / p95 / max (ms) | {item['p50']} / {item['p95']} / {item['max']} | {item['n']} |"
              for label, item in timing_rows(s)]
    lines += ["", "## By axis", "", "| axis | score | n |", "|---|---|---|"]
    lines += [f"| {axis} | {item['value']:.3f} | {item['n']} |" for axis, item in s["by_axis"].items()]
    lines += ["", "## By category", "", "| category | cases | passed | pass rate | score | critical | unscored | p95 ms |",
              "|---|---|---|---|---|---|---|---|"]
    for category, item in s["by_category"].items():
        score = "-" if item["rubric_score"] is None else f"{item['rubric_score']:.3f}"
        lines.append(f"| {category} | {item['cases']} | {item['passed']} | {item['pass_rate']:.3f} | {score} | "
                     f"{item['critical_failures']} | {item['unscored']} | {item['latency_p95']} |")
    lines += ["", "## Notices", "", "| notice | required | given | rate |", "|---|---|---|---|"]
    lines += [f"| {nid} | {e['required']} | {e['given']} | {e['rate']:.3f} |"
              for nid, e in s["notice_compliance_by_notice"].items()]
    if s["unscored_cases"]:
        lines += ["", f"## Could not be scored ({len(s['unscored_cases'])})", ""]
        lines += [f"- `{u['case_id']}` (trial {u['trial']}): {u['error']}" for u in s["unscored_cases"]]
    failures = failing(run.results)
    lines += ["", f"## Cases not passed ({len(failures)})", ""]
    for r in failures:
        lines.append(f"- `{r.case_id}` ({r.category}, {r.where}): " + "; ".join(why_failed(r)))
    if s["flaky"]["rate"] is not None:
        lines += ["", f"Flake rate over {s['flaky']['n']} repeated cases: {s['flaky']['rate']:.1%}"]
    return "\n".join(lines) + "\n"


def to_junit(run: EvalRun) -> str:
    root = ET.Element("testsuites", name="tutor-eval", tests=str(len(run.results)),
                      failures=str(sum(r.status == "scored" and not r.passed for r in run.results)),
                      errors=str(sum(r.status != "scored" for r in run.results)), time=f"{run.duration_s:.3f}")
    for category in sorted({r.category for r in run.results}):
        group = [r for r in run.results if r.category == category]
        suite = ET.SubElement(root, "testsuite", name=f"eval.{category}", tests=str(len(group)),
                              failures=str(sum(r.status == "scored" and not r.passed for r in group)),
                              errors=str(sum(r.status != "scored" for r in group)))
        for r in group:
            name = r.case_id if run.repeat == 1 else f"{r.case_id}[trial {r.trial}]"
            case = ET.SubElement(suite, "testcase", classname=f"eval.{category}", name=name,
                                 time=f"{(r.latency_ms or 0) / 1000:.4f}", file=r.where.split(":")[0])
            if r.status != "scored":
                ET.SubElement(case, "error", message=(r.error or "")[:200]).text = r.error
            elif not r.passed:
                reasons = why_failed(r)
                ET.SubElement(case, "failure", message=reasons[0][:200] if reasons else "failed").text = "\n".join(reasons)
    if run.gate is not None:
        suite = ET.SubElement(root, "testsuite", name="eval.gate", tests=str(len(run.gate["checks"])),
                              failures=str(len(run.gate["breaches"])), errors="0")
        for check in run.gate["checks"]:
            case = ET.SubElement(suite, "testcase", classname="eval.gate", name=f"{check['kind']} {check['figure']}")
            if not check["passed"]:
                ET.SubElement(case, "failure", message=describe_breach(check))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_reports(run: EvalRun, out_dir: Path) -> dict[str, Path]:
    from tutor.evaluation.html import to_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "run.json", "markdown": out_dir / "report.md", "html": out_dir / "report.html",
             "junit": out_dir / "junit.xml"}
    paths["json"].write_text(run.model_dump_json(indent=1), encoding="utf-8")
    paths["markdown"].write_text(to_markdown(run), encoding="utf-8")
    paths["html"].write_text(to_html(run), encoding="utf-8")
    paths["junit"].write_text(to_junit(run), encoding="utf-8")
    return paths
