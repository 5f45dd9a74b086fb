"""The Evaluation page's plain functions: run the suite on the shared Tutor, find saved runs, shape their figures.

Runs are saved where `tutor eval` saves them (data dir / eval / <time>/run.json and its reports), so a run made in
the terminal shows up in the app and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tutor.evaluation import EvalRun, load_cases, load_run, load_thresholds, write_reports
from tutor.evaluation.cases import split_paths
from tutor.evaluation.gate import DEFAULT_KNOWN_FAILURES, DEFAULT_THRESHOLDS, load_known_failures
from tutor.evaluation.reports import side_by_side_rows, why_failed
from tutor.evaluation.runner import evaluate_tutor
from tutor.settings import Settings


@dataclass(frozen=True)
class SavedRun:
    folder: Path

    @property
    def run_file(self) -> Path:
        return self.folder / "run.json"

    @property
    def label(self) -> str:
        try:
            started = datetime.strptime(self.folder.name, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return self.folder.name
        return f"{started:%d %b %Y, %H:%M} UTC"


def runs_folder(settings: Settings) -> Path:
    return settings.paths.data_dir / "eval"


def saved_runs(settings: Settings) -> list[SavedRun]:
    """Every saved run, newest first."""
    folder = runs_folder(settings)
    found = [SavedRun(p.parent) for p in folder.glob("*/run.json")] if folder.is_dir() else []
    return sorted(found, key=lambda r: r.folder.name, reverse=True)


def run_suite(settings: Settings, tutor, categories: list[str] | None = None, repeat: int = 1,
              progress: Callable[[int, int], None] | None = None,
              datasets: list[Path] | None = None) -> tuple[EvalRun, Path]:
    """Score the tutor on the evaluation cases (dev and test) exactly as `tutor eval` does (the same
    evaluate_tutor), save the reports, return the run and its folder. Raises DatasetError or ThresholdsError (each
    says which file and line) before anything runs."""
    paths = datasets or split_paths("all")
    cases = load_cases(paths)
    if categories:
        cases = [c for c in cases if c.category in categories]
    limits = load_thresholds(DEFAULT_THRESHOLDS)
    known = load_known_failures(DEFAULT_KNOWN_FAILURES)
    run = evaluate_tutor(tutor, cases, paths, limits, DEFAULT_THRESHOLDS, corpus_dir=settings.paths.corpus_dir,
                         known_failures=known, known_failures_file=DEFAULT_KNOWN_FAILURES, repeat=repeat,
                         progress=progress)
    out_dir = runs_folder(settings) / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    write_reports(run, out_dir)
    return run, out_dir


def read_run(saved: SavedRun) -> EvalRun:
    return load_run(saved.run_file)


def category_rows(run: EvalRun) -> list[dict]:
    return [{"category": name, "pass rate": figures["pass_rate"], "cases": figures["cases"],
             "passed": figures["passed"], "critical failures": figures["critical_failures"],
             "could not be scored": figures["unscored"]}
            for name, figures in run.summary.get("by_category", {}).items()]


def split_rows(run: EvalRun) -> list[dict]:
    """Every headline figure for all cases, dev and test side by side (runs saved before the split show '-')."""
    return [{"figure": label, "all": a, "dev": d, "test": t} for label, a, d, t in side_by_side_rows(run.summary)]


def axis_rows(run: EvalRun) -> list[dict]:
    return [{"axis": axis, "score": figures["value"], "cases": figures["n"]}
            for axis, figures in run.summary.get("by_axis", {}).items() if figures.get("value") is not None]


def latency_rows(run: EvalRun) -> list[dict]:
    return [{"category": r.category, "latency (ms)": r.latency_ms, "case": r.case_id}
            for r in run.results if r.latency_ms is not None]


def failing_rows(run: EvalRun) -> list[dict]:
    return [{"case": r.case_id, "split": r.split, "category": r.category, "score": r.score,
             "why": "; ".join(why_failed(r)), "question": r.question} for r in run.results if not r.passed]


def comparison_rows(a: EvalRun, b: EvalRun) -> list[dict]:
    """Pass rate by category in both runs, long form for a grouped bar chart."""
    rows = []
    for label, run in (("A", a), ("B", b)):
        for name, figures in run.summary.get("by_category", {}).items():
            rows.append({"run": label, "category": name, "pass rate": figures["pass_rate"]})
    return rows
