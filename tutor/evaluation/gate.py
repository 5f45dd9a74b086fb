"""The release gate: every figure named in evals/thresholds.yaml must be within its limit, or the gate fails."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from tutor.settings import PROJECT_ROOT

DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.yaml"


class ThresholdsError(ValueError):
    pass


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


def apply_gate(summary: dict, thresholds: Thresholds) -> dict:
    """A figure that could not be computed breaches its threshold: the gate never passes on missing evidence."""
    checks: list[Check] = []
    for kind, limits in (("min", thresholds.min), ("max", thresholds.max)):
        for path, limit in limits.items():
            actual = figure(summary, path)
            ok = actual is not None and (actual >= limit if kind == "min" else actual <= limit)
            checks.append(Check(figure=path, kind=kind, limit=limit, actual=actual, passed=ok))
    return {"passed": all(c.passed for c in checks), "checks": [c.model_dump() for c in checks],
            "breaches": [c.model_dump() for c in checks if not c.passed]}


def describe_breach(check: dict) -> str:
    sign = ">=" if check["kind"] == "min" else "<="
    actual = "not computed" if check["actual"] is None else f"{check['actual']:g}"
    return f"{check['figure']} = {actual}, must be {sign} {check['limit']:g}"
