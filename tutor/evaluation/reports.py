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
    ("readability.dangling_opener", "Answers with a dangling opener"),
    ("readability.repeat", "Answers repeating a sentence"),
    ("readability.cross_reference", "Answers with cross-reference filler"),
    ("readability.no_stance", "Yes/no answers taking no stance"),
    ("paraphrase_robustness.same_outcome", "Paraphrases with the original's outcome"),
    ("paraphrase_robustness.same_documents", "Paraphrases citing the original's documents"),
]
COUNTS = [("cases", "Cases run"), ("unscored", "Could not be scored"), ("critical_failures", "Critical failures"),
          ("over_refusals", "Answerable questions refused"),
          ("identifier_leaks", "Answers leaking an identifier"), ("must_not_violations", "Forbidden text found"),
          ("unscored_criteria", "Criteria left unscored (judge off)"), ("judge_scored_criteria", "Criteria scored by the LLM judge")]
SPLIT_COLUMNS = ("all", "dev", "test")


def lookup(summary: dict, path: str):
    """A dotted path into the summary ('readability.repeat'), or None."""
    node = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _value_n(summary: dict, key: str) -> tuple[float | None, int | None]:
    item = lookup(summary, key)
    if isinstance(item, dict):
        return item.get("value"), item.get("n")
    return item, summary.get("cases")


def timing_rows(summary: dict) -> list[tuple[str, dict]]:
    """End-to-end latency (what a user waits) and CPU time (what the answer costs, steady on a busy machine)."""
    empty = {"p50": None, "p95": None, "max": None, "n": 0}
    return [("Latency", summary.get("latency_ms", empty)), ("CPU time", summary.get("cpu_ms", empty))]


def headline_rows(summary: dict) -> list[tuple[str, str, str]]:
    """(label, value, n) for each headline figure, formatted the same way in every report."""
    rows = []
    for key, label in HEADLINE:
        value, n = _value_n(summary, key)
        rows.append((label, "not computed" if value is None else f"{value:.3f}", str(n)))
    return rows


def _splits(summary: dict) -> list[dict]:
    by_split = summary.get("by_split", {})
    return [summary, by_split.get("dev", {}), by_split.get("test", {})]


def _cell(value, n) -> str:
    if value is None:
        return "-" if not n else "not computed"
    return f"{value:.3f} (n={n})" if isinstance(value, float) else f"{value} (n={n})"


def side_by_side_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    """(label, all, dev, test) for every headline figure, count and length: the two splits next to each other."""
    columns = _splits(summary)
    rows = []
    for key, label in HEADLINE:
        rows.append((label, *(_cell(*_value_n(c, key)) if c else "-" for c in columns)))
    for key, label in COUNTS:
        rows.append((label, *(str(c.get(key, "-")) for c in columns)))
    for path, label in (("readability.words", "Words per answer p50 / p90"), ("cpu_ms", "CPU time p50 / p95 (ms)"),
                        ("latency_ms", "Latency p50 / p95 (ms)")):
        high = "p90" if path == "readability.words" else "p95"
        cells = []
        for c in columns:
            item = lookup(c, path) or {}
            cells.append(f"{item.get('p50')} / {item.get(high)} (n={item.get('n', 0)})" if item else "-")
        rows.append((label, *cells))
    return rows


def category_rows(summary: dict) -> list[tuple[str, str, dict]]:
    """(split, category, figures) for every category of every split that has cases."""
    return [(split, category, item) for split in ("dev", "test")
            for category, item in summary.get("by_split", {}).get(split, {}).get("by_category", {}).items()]


def notice_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    """(notice, all, dev, test): given / required per notice in each split."""
    columns = _splits(summary)
    ids = sorted({nid for c in columns for nid in c.get("notice_compliance_by_notice", {})})
    rows = []
    for nid in ids:
        cells = []
        for c in columns:
            e = c.get("notice_compliance_by_notice", {}).get(nid)
            cells.append(f"{e['given']}/{e['required']} ({e['rate']:.3f})" if e else "-")
        rows.append((nid, *cells))
    return rows


def case_rule_lines(gate: dict | None) -> list[str]:
    """The by-id part of the gate in plain words."""
    cases = (gate or {}).get("cases")
    if not cases:
        return ["Known failures: not checked (no known-failures list given)."]
    lines = [f"{cases['failed']} case(s) failed; {len(cases['known'])} of them are on the known-failures list.",
             f"Failed and not on the list: {len(cases['unexpected_failures'])}"
             + (f" ({', '.join(i['case_id'] for i in cases['unexpected_failures'])})" if cases["unexpected_failures"] else ""),
             f"On the list but passing now (take them off): {len(cases['now_passing'])}"
             + (f" ({', '.join(i['case_id'] for i in cases['now_passing'])})" if cases["now_passing"] else "")]
    if cases["not_run"]:
        lines.append(f"On the list but not run: {len(cases['not_run'])}")
    return lines


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


def known_failure_ids(run: EvalRun) -> set[str]:
    return set(((run.gate or {}).get("cases") or {}).get("known", []))


def to_markdown(run: EvalRun) -> str:
    s = run.summary
    gate = run.gate
    lines = [f"# Evaluation report: {run.backend} backend", "",
             f"Run {run.started}, {s['cases']} case runs ({run.repeat} trial(s) each), {run.duration_s:.1f} s. "
             f"LLM judge: {run.judge}. A case passes with rubric score >= {run.case_pass_score} and no critical miss. "
             "Dev is the split the tutor may be tuned on; test is sealed (evals/README.md).", ""]
    if gate is not None:
        lines += [f"**Gate: {'PASSED' if gate['passed'] else 'FAILED'}**" + (
            "" if gate["passed"] else " - " + "; ".join(describe_breach(b) for b in gate["breaches"])), ""]
    lines += ["## Dev and test, side by side", "", "| figure | all | dev | test |", "|---|---|---|---|"]
    lines += [f"| {label} | {a} | {d} | {t} |" for label, a, d, t in side_by_side_rows(s)]
    if gate is not None:
        lines += ["", "## Gate", ""] + [f"- {line}" for line in case_rule_lines(gate)]
        lines += ["", "| figure | limit | actual | |", "|---|---|---|---|"]
        lines += [f"| `{c['figure']}` | {'>=' if c['kind'] == 'min' else '<='} {c['limit']:g} | "
                  f"{'not computed' if c['actual'] is None else format(c['actual'], 'g')} | "
                  f"{'ok' if c['passed'] else '**breach**'} |" for c in gate["checks"]]
    lines += ["", "## Content hashes", "", "| what | hash |", "|---|---|"]
    lines += [f"| {key} | `{run.hashes.get(key)}` |" for key in HASH_KEYS if key in run.hashes]
    lines += [f"| {path} | `{digest}` |" for path, digest in run.hashes.get("datasets", {}).items()]
    lines += ["", "## By axis", "", "| axis | all | dev | test |", "|---|---|---|---|"]
    columns = _splits(s)
    for axis in s["by_axis"]:
        cells = [_cell(item["value"], item["n"]) if (item := c.get("by_axis", {}).get(axis)) else "-" for c in columns]
        lines.append(f"| {axis} | " + " | ".join(cells) + " |")
    lines += ["", "## By category", "",
              "| split | category | cases | passed | pass rate | score | critical | refused | abstained | unscored | p95 ms |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for split, category, item in category_rows(s):
        score = "-" if item["rubric_score"] is None else f"{item['rubric_score']:.3f}"
        lines.append(f"| {split} | {category} | {item['cases']} | {item['passed']} | {item['pass_rate']:.3f} | {score} | "
                     f"{item['critical_failures']} | {item['refused']} | {item['abstained']} | {item['unscored']} | "
                     f"{item['latency_p95']} |")
    lines += ["", "## Notices (given / required)", "", "| notice | all | dev | test |", "|---|---|---|---|"]
    lines += [f"| {nid} | {a} | {d} | {t} |" for nid, a, d, t in notice_rows(s)]
    robustness = s["paraphrase_robustness"]
    lines += ["", "## Paraphrases", ""]
    if robustness["pairs"] or robustness["unmatched"]:
        lines += [f"{robustness['pairs']} paraphrases run with their original.",
                  f"Different outcome: {', '.join(robustness['different_outcome']) or 'none'}.",
                  f"Different documents cited: {', '.join(robustness['different_documents']) or 'none'}."]
        if robustness["unmatched"]:
            lines.append(f"Original not in the run: {', '.join(robustness['unmatched'])}.")
    else:
        lines.append("No paraphrase cases in this run.")
    if s["unscored_cases"]:
        lines += ["", f"## Could not be scored ({len(s['unscored_cases'])})", ""]
        lines += [f"- `{u['case_id']}` (trial {u['trial']}): {u['error']}" for u in s["unscored_cases"]]
    failures = failing(run.results)
    known = known_failure_ids(run)
    lines += ["", f"## Cases not passed ({len(failures)})", ""]
    for r in failures:
        tag = ", known failure" if r.case_id in known else ""
        lines.append(f"- `{r.case_id}` ({r.split}, {r.category}, {r.where}{tag}): " + "; ".join(why_failed(r)))
    if s["flaky"]["rate"] is not None:
        lines += ["", f"Flake rate over {s['flaky']['n']} repeated cases: {s['flaky']['rate']:.1%}"]
    return "\n".join(lines) + "\n"


HASH_KEYS = ("cases", "corpus", "index_corpus", "corpus_version", "settings", "prompts", "package_version",
             "thresholds", "known_failures")


def to_junit(run: EvalRun) -> str:
    root = ET.Element("testsuites", name="tutor-eval", tests=str(len(run.results)),
                      failures=str(sum(r.status == "scored" and not r.passed for r in run.results)),
                      errors=str(sum(r.status != "scored" for r in run.results)), time=f"{run.duration_s:.3f}")
    for split, category in sorted({(r.split, r.category) for r in run.results}):
        group = [r for r in run.results if r.category == category and r.split == split]
        name = f"eval.{split}.{category}"
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(group)),
                              failures=str(sum(r.status == "scored" and not r.passed for r in group)),
                              errors=str(sum(r.status != "scored" for r in group)))
        for r in group:
            case_name = r.case_id if run.repeat == 1 else f"{r.case_id}[trial {r.trial}]"
            case = ET.SubElement(suite, "testcase", classname=name, name=case_name,
                                 time=f"{(r.latency_ms or 0) / 1000:.4f}", file=r.where.split(":")[0])
            if r.status != "scored":
                ET.SubElement(case, "error", message=(r.error or "")[:200]).text = r.error
            elif not r.passed:
                reasons = why_failed(r)
                ET.SubElement(case, "failure", message=reasons[0][:200] if reasons else "failed").text = "\n".join(reasons)
    if run.gate is not None:
        case_breaches = [b for b in run.gate["breaches"] if b["kind"] in ("unexpected_failure", "now_passes")]
        by_id = run.gate.get("cases") is not None
        suite = ET.SubElement(root, "testsuite", name="eval.gate", tests=str(len(run.gate["checks"]) + by_id),
                              failures=str(sum(not c["passed"] for c in run.gate["checks"]) + bool(case_breaches)),
                              errors="0")
        for check in run.gate["checks"]:
            case = ET.SubElement(suite, "testcase", classname="eval.gate", name=f"{check['kind']} {check['figure']}")
            if not check["passed"]:
                ET.SubElement(case, "failure", message=describe_breach(check))
        if by_id:
            case = ET.SubElement(suite, "testcase", classname="eval.gate", name="failures are the known failures")
            for breach in case_breaches:
                ET.SubElement(case, "failure", message=describe_breach(breach)[:200]).text = describe_breach(breach)
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
