"""Compare two runs: cases fixed and broken, a paired significance test, score changes and flake rates."""

from __future__ import annotations

import json
from pathlib import Path

from tutor.evaluation.reports import HASH_KEYS
from tutor.evaluation.runner import EvalRun, flaky_cases
from tutor.evaluation.stats import mcnemar_exact, sign_test


class RunFileError(ValueError):
    pass


def load_run(path: Path) -> EvalRun:
    try:
        return EvalRun.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFileError(f"{path}: file not found (give the run.json written by `tutor eval --out DIR`)") from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise RunFileError(f"{path}: not an evaluation run ({first})") from None


def outcomes(run: EvalRun) -> dict[str, tuple[bool, float | None]]:
    """Per case: passed in at least half of its trials, and its mean rubric score."""
    trials: dict[str, list] = {}
    for r in run.results:
        trials.setdefault(r.case_id, []).append(r)
    out = {}
    for case_id, results in trials.items():
        passed = sum(r.passed for r in results) * 2 >= len(results)
        scores = [r.score for r in results if r.score is not None]
        out[case_id] = (passed, sum(scores) / len(scores) if scores else None)
    return out


def compare_runs(a: EvalRun, b: EvalRun) -> dict:
    first, second = outcomes(a), outcomes(b)
    common = sorted(set(first) & set(second))
    fixed = [c for c in common if not first[c][0] and second[c][0]]
    broken = [c for c in common if first[c][0] and not second[c][0]]
    differences = [second[c][1] - first[c][1] for c in common if first[c][1] is not None and second[c][1] is not None]
    up, down, sign_p = sign_test(differences)
    changed = {key: {"a": a.hashes.get(key), "b": b.hashes.get(key)}
               for key in HASH_KEYS if a.hashes.get(key) != b.hashes.get(key)}
    return {
        "a": {"backend": a.backend, "started": a.started, "pass_rate": a.summary.get("pass_rate")},
        "b": {"backend": b.backend, "started": b.started, "pass_rate": b.summary.get("pass_rate")},
        "changed_hashes": changed,
        "common_cases": len(common),
        "only_in_a": sorted(set(first) - set(second)),
        "only_in_b": sorted(set(second) - set(first)),
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": round(mcnemar_exact(len(fixed), len(broken)), 6),
        "score_sign_test": {"improved": up, "worse": down, "p": round(sign_p, 6)},
        "mean_score_change": round(sum(differences) / len(differences), 4) if differences else None,
        "flake": {"a": flaky_cases(a.results), "b": flaky_cases(b.results)},
    }


def render_comparison(report: dict) -> str:
    lines = [f"A: {report['a']['backend']} {report['a']['started']}  pass rate {report['a']['pass_rate']}",
             f"B: {report['b']['backend']} {report['b']['started']}  pass rate {report['b']['pass_rate']}"]
    for key, pair in report["changed_hashes"].items():
        lines.append(f"changed {key}: {pair['a']} -> {pair['b']}")
    lines.append(f"{report['common_cases']} cases in both runs; {len(report['fixed'])} fixed, {len(report['broken'])} broken")
    for label in ("fixed", "broken"):
        for case_id in report[label]:
            lines.append(f"  {label}: {case_id}")
    p = report["mcnemar_p"]
    verdict = "a real difference" if p < 0.05 else "could be chance"
    lines.append(f"McNemar exact test on pass/fail: p = {p:.4g} ({verdict} at the 5% level)")
    sign = report["score_sign_test"]
    lines.append(f"Sign test on rubric scores: {sign['improved']} better, {sign['worse']} worse, p = {sign['p']:.4g}; "
                 f"mean change {report['mean_score_change']}")
    for label in ("a", "b"):
        flake = report["flake"][label]
        if flake["rate"] is None:
            lines.append(f"Flake rate {label.upper()}: not measured (run with --repeat 2 or more)")
        else:
            lines.append(f"Flake rate {label.upper()}: {flake['rate']:.1%} of {flake['n']} repeated cases"
                         + (f" ({', '.join(flake['cases'])})" if flake["cases"] else ""))
    if report["only_in_a"] or report["only_in_b"]:
        lines.append(f"Cases only in A: {len(report['only_in_a'])}; only in B: {len(report['only_in_b'])}")
    return "\n".join(lines)


def write_comparison(report: dict, path: Path) -> None:
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
