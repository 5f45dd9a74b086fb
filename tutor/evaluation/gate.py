"""The release gate: every figure named in evals/thresholds.yaml must be within its limit, and every failed case must
be on evals/known_failures.yaml (and every case on it must still fail), or the gate fails."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.corpus import _load_yaml_list, display_path, strip_lines
from tutor.evaluation.runner import CaseResult
from tutor.models import Problem
from tutor.settings import PROJECT_ROOT

DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.yaml"
DEFAULT_KNOWN_FAILURES = PROJECT_ROOT / "evals" / "known_failures.yaml"
CASE_BREACHES = ("unexpected_failure", "now_passes")


class ThresholdsError(ValueError):
    pass


class KnownFailuresError(ThresholdsError):
    """The known-failures file is missing or malformed; the message says where and what to do."""


class Thresholds(BaseModel):
    case_pass_score: float = Field(0.6, ge=0, le=1, description="A case passes at this rubric score with no critical miss.")
    min: dict[str, float] = Field(default_factory=dict, description="Figure path -> lowest acceptable value.")
    max: dict[str, float] = Field(default_factory=dict, description="Figure path -> highest acceptable value.")


class Check(BaseModel):
    figure: str
    kind: str
    limit: float
    actual: float | None
    passed: bool


def load_thresholds(path: Path | None = None) -> Thresholds:
    path = path or DEFAULT_THRESHOLDS
    if not path.is_file():
        raise ThresholdsError(f"{path}: thresholds file not found (copy evals/thresholds.yaml or pass --thresholds)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ThresholdsError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {exc}") from None
    try:
        return Thresholds(**data)
    except (ValidationError, TypeError) as exc:
        raise ThresholdsError(f"{path}: {exc}") from None


def figure(summary: dict, path: str) -> float | None:
    """Look up 'mrr', 'latency_ms.p95' or 'by_category.benign.pass_rate'; a {value, n} figure gives its value."""
    node = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict):
        node = node.get("value", node.get("rate"))
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def apply_gate(summary: dict, thresholds: Thresholds, results: list[CaseResult] | None = None,
               known_failures: dict[str, str] | None = None) -> dict:
    """A figure that could not be computed breaches its threshold: the gate never passes on missing evidence.

    With `known_failures` (case id -> reason), every case that failed and is not listed breaches the gate, and so
    does every listed case that passed (it must come off the list). Listed cases that were not run are reported.
    """
    checks: list[Check] = []
    for kind, limits in (("min", thresholds.min), ("max", thresholds.max)):
        for path, limit in limits.items():
            actual = figure(summary, path)
            ok = actual is not None and (actual >= limit if kind == "min" else actual <= limit)
            checks.append(Check(figure=path, kind=kind, limit=limit, actual=actual, passed=ok))
    breaches = [c.model_dump() for c in checks if not c.passed]
    cases = None
    if known_failures is not None:
        if results is None:
            raise ValueError("the known-failures rule needs the case results")
        cases = check_cases(results, known_failures)
        breaches += [{"figure": f"case {item['case_id']}", "kind": "unexpected_failure", "limit": None, "actual": None,
                      "passed": False, **item} for item in cases["unexpected_failures"]]
        breaches += [{"figure": f"case {item['case_id']}", "kind": "now_passes", "limit": None, "actual": None,
                      "passed": False, **item} for item in cases["now_passing"]]
    return {"passed": not breaches, "checks": [c.model_dump() for c in checks], "cases": cases, "breaches": breaches}


def describe_breach(check: dict) -> str:
    if check["kind"] == "unexpected_failure":
        why = check["reason"] if check["split"] != "test" else "sealed test case, see the run report"
        return (f"{check['case_id']} ({check['split']}, {check['category']}) failed and is not in known_failures.yaml: "
                f"{why}")
    if check["kind"] == "now_passes":
        return f"{check['case_id']} passes now: remove it from known_failures.yaml (it was listed: {check['reason']})"
    sign = ">=" if check["kind"] == "min" else "<="
    actual = "not computed" if check["actual"] is None else f"{check['actual']:g}"
    return f"{check['figure']} = {actual}, must be {sign} {check['limit']:g}"


# ------------------------------------------------------------------ known failures, by case id

class KnownFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="The case id.")
    reason: str = Field(min_length=1, description="Why it fails today, for whoever fixes it.")


def load_known_failures(path: Path | None = None) -> dict[str, str]:
    """Case id -> reason. Raise KnownFailuresError naming the file and line of every problem."""
    path = path or DEFAULT_KNOWN_FAILURES
    if not path.is_file():
        raise KnownFailuresError(f"{path}: known-failures file not found (write one from a run with "
                                 f"`tutor eval --write-known-failures {path}`, review it, or pass --known-failures)")
    problems: list[Problem] = []
    items = _load_yaml_list(path, problems)
    known: dict[str, str] = {}
    name = display_path(path)
    for item in items:
        line = item.get("__line__", 1)
        try:
            entry = KnownFailure(**strip_lines({k: v for k, v in item.items() if k != "__file__"}))
        except (ValidationError, TypeError) as exc:
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()) \
                if isinstance(exc, ValidationError) else str(exc)
            problems.append(Problem(path=name, line=line, message=f"give id and reason only ({detail})"))
            continue
        if entry.id in known:
            problems.append(Problem(path=name, line=line, message=f"case '{entry.id}' is listed twice"))
        known[entry.id] = entry.reason
    if problems:
        raise KnownFailuresError("\n".join(str(p) for p in problems))
    return known


def case_failures(results: list[CaseResult]) -> dict[str, CaseResult | None]:
    """Per case id: its first failed trial, or None when every trial passed (a flaky case counts as failed)."""
    out: dict[str, CaseResult | None] = {}
    for r in results:
        if r.passed:
            out.setdefault(r.case_id, None)
        elif out.get(r.case_id) is None:
            out[r.case_id] = r
    return out


def check_cases(results: list[CaseResult], known: dict[str, str]) -> dict:
    failures = case_failures(results)
    failed = {cid: r for cid, r in failures.items() if r is not None}
    return {
        "failed": len(failed),
        "known": sorted(cid for cid in failed if cid in known),
        "unexpected_failures": [{"case_id": cid, "split": r.split, "category": r.category, "reason": failure_reason(r)}
                                for cid, r in sorted(failed.items()) if cid not in known],
        "now_passing": [{"case_id": cid, "reason": known[cid]} for cid in sorted(known)
                        if cid in failures and failures[cid] is None],
        "not_run": sorted(cid for cid in known if cid not in failures),
    }


def failure_reason(result: CaseResult, limit: int = 160) -> str:
    """What failed, from the checks that failed (check name, criterion and its reason): the same run always gives
    the same words, so a regenerated known-failures file changes only where the failures did."""
    if result.status != "scored":
        return f"unscored: {result.error}"[:limit * 2]
    parts = []
    for c in result.criteria:
        failed = (c.points > 0 and c.status == "not_met") or (c.points < 0 and c.status == "met")
        if failed:
            text = f"{'critical ' if c.critical else ''}{c.check or 'criterion'}: {c.text} ({c.reason})"
            parts.append(text if len(text) <= limit else text[:limit - 3] + "...")
    if not result.critical_misses and result.score is not None:
        parts.insert(0, f"score {result.score:.2f} below the pass mark")
    return "; ".join(parts) or "failed"


# Why a sealed test case fails is kept out of this file and the gate's messages: whoever tunes the tutor must not read
# it (evals/README.md). The run report still has it, for whoever audits a release.
SEALED_REASON = "sealed test case: why it fails is in the run report only, never read while tuning"


def write_known_failures(results: list[CaseResult], path: Path) -> int:
    """Write every failed case with the reason it failed, sorted by id, for a maintainer to review. Returns the count."""
    failed = sorted((cid, r) for cid, r in case_failures(results).items() if r is not None)
    splits = {split: sum(r.split == split for _, r in failed) for split in ("dev", "test")}
    lines = ["# Cases that fail today, by id (evals/README.md, \"Gate\"). The gate breaches on any failure not listed",
             "# here, and on any case listed here that passes: take it off the list.",
             "# Regenerate from a full run, then review the diff:",
             "#   TUTOR_PATHS__DATA_DIR=data/eval tutor eval --quiet --write-known-failures evals/known_failures.yaml",
             f"# {len(failed)} cases: {splits['dev']} dev, {splits['test']} test.", ""]
    for cid, r in failed:
        lines.append(f"- id: {cid}  # {r.split}, {r.category}")
        reason = failure_reason(r) if r.split != "test" else SEALED_REASON
        lines.append(f"  reason: {yaml.safe_dump(reason, width=10_000, allow_unicode=True).strip().removesuffix('...').strip()}")
    if not failed:
        lines.append("[]")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(failed)
