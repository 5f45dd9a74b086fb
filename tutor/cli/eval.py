"""`tutor eval`: run the evaluation cases and gate on them; compare runs; round-trip a clinician review."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from tutor.cli import main
from tutor.cli.core import EXIT_ERRORS, EXIT_NO_INDEX, EXIT_OK, EXIT_USAGE, echo_json
from tutor.settings import PROJECT_ROOT, Settings

DEFAULT_DATASETS = PROJECT_ROOT / "evals" / "datasets"


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@main.group("eval", invoke_without_command=True)
@click.option("--dataset", "datasets", multiple=True, type=click.Path(path_type=Path),
              help="Case file or folder (repeatable). Default: evals/datasets/.")
@click.option("--backend", default=None, help="extractive, openai, ollama, or llm (the configured chat model).")
@click.option("--repeat", default=1, type=click.IntRange(1, 50), help="Run every case N times to measure flakiness.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for run.json, report.md, report.html, junit.xml. Default: <data dir>/eval/<time>.")
@click.option("--gate", is_flag=True, help="Exit 1 when any threshold in the thresholds file is breached.")
@click.option("--thresholds", type=click.Path(path_type=Path), default=None, help="Default: evals/thresholds.yaml.")
@click.option("--category", "categories", multiple=True, help="Only cases in this category (repeatable).")
@click.option("--judge", "judge_backend", default=None,
              help="Score judge-only criteria with a chat model (openai, ollama or llm); off by default.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_(ctx: click.Context, datasets: tuple[Path, ...], backend: str | None, repeat: int, out: Path | None,
          gate: bool, thresholds: Path | None, categories: tuple[str, ...], judge_backend: str | None,
          as_json: bool, quiet: bool) -> None:
    """Score the tutor on the evaluation cases, offline and deterministically, and write the reports.

    Examples: tutor eval --gate   |   tutor eval --dataset my-cases.yaml --out /tmp/run --repeat 3
    Exit codes: 0 done (gate passed), 1 gate breached, 2 bad cases or options, 3 no index (run `tutor ingest`).
    """
    if ctx.invoked_subcommand is not None:
        return
    from tqdm import tqdm

    from tutor.builder import build_tutor
    from tutor.evaluation import DatasetError, ThresholdsError, load_cases, load_thresholds, write_reports
    from tutor.evaluation.gate import DEFAULT_THRESHOLDS, describe_breach
    from tutor.evaluation.runner import evaluate_tutor
    from tutor.indexing import IndexMissingError
    from tutor.stores import StoreUnavailableError

    settings = Settings()
    paths = list(datasets) or [DEFAULT_DATASETS]
    try:
        cases = load_cases(paths)
        limits = load_thresholds(thresholds)
    except DatasetError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problem(s) in the case files; nothing was run")
    except ThresholdsError as exc:
        _fail(str(exc))
    if categories:
        cases = [c for c in cases if c.category in categories]
        if not cases:
            _fail(f"no cases in categories {', '.join(categories)}")
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
                             corpus_dir=settings.paths.corpus_dir, repeat=repeat, judge=judge, judge_label=judge_label,
                             progress=progress)
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
    if gate and not run.gate["passed"]:
        for breach in run.gate["breaches"]:
            click.echo(f"gate: {describe_breach(breach)}", err=True)
        click.echo("gate FAILED", err=True)
        sys.exit(EXIT_ERRORS)
    if gate:
        click.echo("gate passed", err=True)
    sys.exit(EXIT_OK)


def render_summary(run) -> str:
    from tutor.evaluation.reports import headline_rows

    s = run.summary
    lines = [f"{s['passed']} of {s['cases']} case runs passed ({s['unscored']} unscored, "
             f"{s['critical_failures']} with a critical failure) in {run.duration_s:.1f} s on the {run.backend} backend"]
    lines += [f"  {label}: {value} (n={n})" for label, value, n in headline_rows(s)]
    latency, cpu = s["latency_ms"], s["cpu_ms"]
    lines.append(f"  Latency p50 {latency['p50']} ms, p95 {latency['p95']} ms; CPU time p50 {cpu['p50']} ms, "
                 f"p95 {cpu['p95']} ms")
    lines.append(f"  Identifier leaks: {s['identifier_leaks']}; forbidden text: {s['must_not_violations']}")
    lines.append("  Notices: " + ", ".join(f"{nid} {e['given']}/{e['required']}"
                                         for nid, e in s["notice_compliance_by_notice"].items()))
    lines.append("  By category: " + ", ".join(f"{c} {i['passed']}/{i['cases']}" for c, i in s["by_category"].items()))
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
