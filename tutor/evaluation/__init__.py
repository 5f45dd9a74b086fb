"""Offline, deterministic evaluation: cases in YAML, metrics without an LLM, rubric scores, reports and a gate.

Flow: `load_cases` -> `run_cases` (each answer scored by `METRICS` and its rubric) -> `new_run` (summary and content
hashes) -> `apply_gate` -> `write_reports`. `compare_runs` pairs two runs; `review` round-trips a clinician review.
"""

from tutor.evaluation.cases import CATEGORIES, Criterion, DatasetError, EvalCase, Expect, load_cases
from tutor.evaluation.compare import compare_runs, load_run, render_comparison
from tutor.evaluation.gate import Thresholds, ThresholdsError, apply_gate, load_thresholds
from tutor.evaluation.metrics import METRICS, EvalContext, MetricResult, Sample
from tutor.evaluation.reports import write_reports
from tutor.evaluation.runner import CaseResult, EvalRun, new_run, run_cases, score_answer, summarise

__all__ = [
    "CATEGORIES", "METRICS", "CaseResult", "Criterion", "DatasetError", "EvalCase", "EvalContext", "EvalRun",
    "Expect", "MetricResult", "Sample", "Thresholds", "ThresholdsError", "apply_gate", "compare_runs",
    "load_cases", "load_run", "load_thresholds", "new_run", "render_comparison", "run_cases", "score_answer",
    "summarise", "write_reports",
]
