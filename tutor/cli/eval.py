"""`tutor eval`: run the evaluation cases and gate on them; compare runs; round-trip a clinician review."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from tutor.cli import main
from tutor.cli.core import EXIT_ERRORS, EXIT_NO_INDEX, EXIT_OK, EXIT_USAGE, echo_json
from tutor.settings import Settings


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@main.group("eval", invoke_without_command=True)
@click.option("--dataset", "datasets", multiple=True, type=click.Path(path_type=Path),
              help="Case file or folder (repeatable). Default: evals/datasets/ (dev) and evals/datasets/test/ (test).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="Only the cases of this split (a case file in a folder named test/ is test, any other is dev).")
@click.option("--backend", default=None, help="extractive, openai, ollama, or llm (the configured chat model).")
@click.option("--repeat", default=1, type=click.IntRange(1, 50), help="Run every case N times to measure flakiness.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for run.json, report.md, report.html, junit.xml. Default: <data dir>/eval/<time>.")
@click.option("--gate", is_flag=True, help="Exit 1 when any threshold in the thresholds file is breached.")
@click.option("--thresholds", type=click.Path(path_type=Path), default=None, help="Default: evals/thresholds.yaml.")
@click.option("--known-failures", "known_failures_file", type=click.Path(path_type=Path), default=None,
              help="Cases allowed to fail, by id (default: evals/known_failures.yaml); the gate breaches on any other "
                   "failure and on any listed case that passes.")
@click.option("--write-known-failures", "write_known", type=click.Path(path_type=Path), default=None,
              help="After the run, write every failed case with why it failed to this file, for review.")
@click.option("--category", "categories", multiple=True, help="Only cases in this category (repeatable).")
@click.option("--judge", "judge_backend", default=None,
              help="Score judge-only criteria with a chat model (openai, ollama or llm); off by default.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_(ctx: click.Context, datasets: tuple[Path, ...], split: str, backend: str | None, repeat: int,
          out: Path | None, gate: bool, thresholds: Path | None, known_failures_file: Path | None,
          write_known: Path | None, categories: tuple[str, ...], judge_backend: str | None, as_json: bool,
          quiet: bool) -> None:
    """Score the tutor on the evaluation cases (dev and test), offline and deterministically, and write the reports.

    Examples: tutor eval --gate   |   tutor eval --split dev --dataset my-cases.yaml --out /tmp/run --repeat 3
    |   tutor eval --write-known-failures evals/known_failures.yaml
    Exit codes: 0 done (gate passed), 1 gate breached, 2 bad cases or options, 3 no index (run `tutor ingest`).
    """
    if ctx.invoked_subcommand is not None:
        return
    from tqdm import tqdm

    from tutor.builder import build_tutor
    from tutor.evaluation import DatasetError, ThresholdsError, load_cases, load_thresholds, write_reports
    from tutor.evaluation.cases import split_paths
    from tutor.evaluation.gate import (DEFAULT_KNOWN_FAILURES, DEFAULT_THRESHOLDS, describe_breach,
                                       load_known_failures, write_known_failures)
    from tutor.evaluation.runner import evaluate_tutor
    from tutor.indexing import IndexMissingError
    from tutor.stores import StoreUnavailableError

    settings = Settings()
    paths = list(datasets) or split_paths(split)
    known_failures_file = known_failures_file or DEFAULT_KNOWN_FAILURES
    known = None
    try:
        cases = load_cases(paths)
        limits = load_thresholds(thresholds)
        # Writing a fresh list needs no old one; otherwise the gate cannot be judged without it.
        if not (write_known and not known_failures_file.is_file()):
            known = load_known_failures(known_failures_file)
    except DatasetError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problem(s) in the case files; nothing was run")
    except ThresholdsError as exc:
        _fail(str(exc))
    if split != "all":
        cases = [c for c in cases if c.split == split]
    if categories:
        cases = [c for c in cases if c.category in categories]
    if not cases:
        _fail(f"no cases in split {split}" + (f", categories {', '.join(categories)}" if categories else ""))
    judge, judge_label = None, "off"
    if judge_backend:
        from tutor.evaluation.judge import JudgeError, make_judge

        try:
            judge = make_judge(settings, judge_backend)
        except JudgeError as exc:
            _fail(str(exc))
        judge_label = f"on: {judge.name}"
    try:
        tutor_ = build_tutor(settings, backend=backend)
    except (IndexMissingError, StoreUnavailableError) as exc:
        _fail(str(exc), EXIT_NO_INDEX)
    except ValueError as exc:  # unknown or unconfigured backend
        _fail(str(exc))
    bar = None if quiet else tqdm(total=len(cases) * repeat, desc="evaluating", unit="case", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        run = evaluate_tutor(tutor_, cases, paths, limits, thresholds or DEFAULT_THRESHOLDS,
                             corpus_dir=settings.paths.corpus_dir, known_failures=known,
                             known_failures_file=known_failures_file, repeat=repeat, judge=judge,
                             judge_label=judge_label, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    out_dir = out or settings.paths.data_dir / "eval" / stamp
    written = write_reports(run, out_dir)
    if as_json:
        echo_json({"summary": run.summary, "gate": run.gate, "reports": {k: str(v) for k, v in written.items()}})
    else:
        click.echo(render_summary(run))
        click.echo(f"Reports: {out_dir}/ (report.html, report.md, run.json, junit.xml)")
    if run.summary["unscored"]:
        click.echo(f"warning: {run.summary['unscored']} case run(s) could not be scored; see the report", err=True)
    if write_known:
        count = write_known_failures(run.results, write_known)
        click.echo(f"Wrote {count} failed case(s) with their reasons to {write_known}: review the diff before "
                   "committing it", err=True)
    if gate and not run.gate["passed"]:
        for breach in run.gate["breaches"]:
            click.echo(f"gate: {describe_breach(breach)}", err=True)
        click.echo("gate FAILED", err=True)
        sys.exit(EXIT_ERRORS)
    if gate:
        click.echo("gate passed", err=True)
    sys.exit(EXIT_OK)


def render_summary(run) -> str:
    from tutor.evaluation.reports import case_rule_lines, category_rows, notice_rows, side_by_side_rows

    s = run.summary
    lines = [f"{s['passed']} of {s['cases']} case runs passed ({s['unscored']} unscored, "
             f"{s['critical_failures']} with a critical failure) in {run.duration_s:.1f} s on the {run.backend} backend"]
    rows = [("figure", "all", "dev", "test"), *side_by_side_rows(s)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.append("  Notices (all | dev | test): " + "; ".join(f"{nid} {a} | {d} | {t}" for nid, a, d, t in notice_rows(s)))
    for split in ("dev", "test"):
        groups = [f"{c} {i['passed']}/{i['cases']}" for sp, c, i in category_rows(s) if sp == split]
        if groups:
            lines.append(f"  By category, {split}: " + ", ".join(groups))
    if run.gate is not None:
        lines += [f"  {line}" for line in case_rule_lines(run.gate)]
    return "\n".join(lines)


@eval_.command("compare")
@click.argument("first", type=click.Path(path_type=Path))
@click.argument("second", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_compare(first: Path, second: Path, as_json: bool) -> None:
    """List cases fixed and broken between run A and run B, with McNemar's exact test and flake rates.

    Example: tutor eval compare data/eval/before/run.json data/eval/after/run.json
    """
    from tutor.evaluation.compare import RunFileError, compare_runs, load_run, render_comparison

    try:
        report = compare_runs(load_run(first), load_run(second))
    except RunFileError as exc:
        _fail(str(exc))
    click.echo(json.dumps(report, indent=2) if as_json else render_comparison(report))


@eval_.command("export-review")
@click.argument("run_file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for the packet (default: beside the run).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Review only this many answers (a random sample).")
@click.option("--category", "categories", multiple=True, help="Only answers in this category (repeatable).")
@click.option("--seed", default=7, show_default=True, help="Shuffle seed (recorded in the key).")
def eval_export_review(run_file: Path, out: Path | None, limit: int | None, categories: tuple[str, ...], seed: int) -> None:
    """Write a blinded, shuffled review packet: review.html to read, review.csv to fill in, review-key.json to keep.

    Example: tutor eval export-review data/eval/20261127T120000/run.json --limit 40
    """
    from tutor.evaluation.compare import RunFileError, load_run
    from tutor.evaluation.review import ReviewError, export_review

    try:
        paths = export_review(load_run(run_file), out or run_file.parent / "review", seed, limit, categories)
    except (RunFileError, ReviewError) as exc:
        _fail(str(exc))
    click.echo(f"Packet for reviewers: {paths['html']} and {paths['csv']}")
    click.echo(f"Keep this file to yourself (it unblinds the packet): {paths['key']}")


@eval_.command("import-review")
@click.argument("csv_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--key", "key_file", type=click.Path(path_type=Path), default=None,
              help="review-key.json (default: beside the first CSV).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_import_review(csv_files: tuple[Path, ...], key_file: Path | None, as_json: bool) -> None:
    """Read filled-in review CSVs and report agreement with the automatic scores (Cohen's kappa).

    Example: tutor eval import-review review/review-dr-a.csv review/review-dr-b.csv --key review/review-key.json
    """
    from tutor.evaluation.review import ReviewError, import_review, render_review

    try:
        report = import_review(list(csv_files), key_file or csv_files[0].parent / "review-key.json")
    except ReviewError as exc:
        _fail(str(exc))
    click.echo(json.dumps(report, indent=2) if as_json else render_review(report))


@eval_.command("grades")
@click.argument("grade_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dataset", "datasets", multiple=True, type=click.Path(path_type=Path),
              help="Case files the graded ids come from (default: evals/datasets/ and evals/datasets/test/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_grades(grade_files: tuple[Path, ...], datasets: tuple[Path, ...], as_json: bool) -> None:
    """Check graders' files of real-question grades and summarise them: counts and shares per grade and fault,
    by split and by grader.

    A file is a list of {id, grade: CORRECT|PARTIAL|WRONG|ABSTAINED, faults: [dangling-opener|repeat|
    cross-reference|no-stance|too-long|other], note}. Example: tutor eval grades evals/grades/reviewer-a.yaml
    Exit codes: 0 valid, 2 a problem in a file (each listed as file:line).
    """
    from tutor.evaluation import DatasetError, load_cases
    from tutor.evaluation.cases import split_paths
    from tutor.evaluation.grades import load_grades, render_grades, summarise_grades

    try:
        cases = load_cases(list(datasets) or split_paths("all"))
        grades = load_grades(list(grade_files), cases)
    except DatasetError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problem(s); nothing was summarised")
    summary = summarise_grades(grades, cases)
    click.echo(json.dumps(summary, indent=2) if as_json else render_grades(summary))
