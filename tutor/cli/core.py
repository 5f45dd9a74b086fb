"""Commands of the RAG spine: corpus check/stats, ingest, ask, settings show."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import click

from tutor.cli import main
from tutor.settings import Settings

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_NO_INDEX = 0, 1, 2, 3


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


# ------------------------------------------------------------------ settings

@main.group()
def settings() -> None:
    """Show the effective settings."""


@settings.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def settings_show(as_json: bool) -> None:
    """Print the effective settings and paths.

    Example: tutor settings show --json
    """
    described = Settings().describe()
    if as_json:
        echo_json(described)
    else:
        click.echo(json.dumps(described, indent=2))


# ------------------------------------------------------------------ corpus

@main.group()
def corpus() -> None:
    """Check the curated corpus and count what it holds."""


@corpus.command("check")
@click.option("--path", type=click.Path(path_type=Path), default=None, help="Corpus folder (default: settings).")
def corpus_check(path: Path | None) -> None:
    """Validate every document and teaching file; print problems as file:line: message.

    Exit code 1 when there are errors. Example: tutor corpus check
    """
    from tutor.builder import make_embedder
    from tutor.cards import check_cards
    from tutor.corpus import load_corpus

    settings = Settings()
    loaded = load_corpus(path or settings.paths.corpus_dir)
    # each card sentence against its anchor: the model loads only if a sentence needs the semantic test
    loaded.problems.extend(check_cards(loaded, settings.chunking, lambda: make_embedder(settings)))
    for problem in loaded.problems:
        click.echo(str(problem))
    errors = len(loaded.errors)
    warnings = len(loaded.problems) - errors
    click.echo(f"{len(loaded.docs)} documents, {len(loaded.glossary)} glossary terms, {len(loaded.quiz)} quiz items, "
               f"{len(loaded.scenarios)} scenarios, {len(loaded.pathways)} pathways, {len(loaded.cards)} answer cards: "
               f"{errors} errors, {warnings} warnings", err=True)
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)


@corpus.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def corpus_stats(as_json: bool) -> None:
    """Count approved documents, glossary terms, quiz items, scenarios, pathways and reviews due in 90 days.

    Example: tutor corpus stats --json
    """
    from tutor.corpus import load_corpus

    loaded = load_corpus(Settings().paths.corpus_dir)
    horizon = date.today() + timedelta(days=90)
    stats = {
        "documents": len(loaded.docs),
        "approved_documents": len(loaded.approved()),
        "draft_documents": sum(d.status == "draft" for d in loaded.docs),
        "retired_documents": sum(d.status == "retired" for d in loaded.docs),
        "glossary_terms": len(loaded.glossary),
        "quiz_items": len(loaded.quiz),
        "approved_quiz_items": sum(q.get("status") == "approved" for q in loaded.quiz),
        "scenarios": len(loaded.scenarios),
        "pathways": len(loaded.pathways),
        "review_due_within_90_days": sorted(d.id for d in loaded.approved() if d.review_due <= horizon),
        "words": sum(len(d.body.split()) for d in loaded.approved()),
        "errors": len(loaded.errors),
        "corpus_version": loaded.version,
    }
    if as_json:
        echo_json(stats)
    else:
        for key, value in stats.items():
            click.echo(f"{key}: {value}")


# ------------------------------------------------------------------ ingest

@main.command()
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing unchanged chunks.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def ingest(full: bool, quiet: bool) -> None:
    """Build or refresh the index from the corpus, atomically; the live index keeps serving if anything fails.

    Example: tutor ingest        (only new or changed chunks are embedded)
    """
    from tqdm import tqdm

    from tutor.builder import build_indexer
    from tutor.embeddings import ModelIntegrityError
    from tutor.indexing import BuildBusyError, CorpusError

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet or total == 0:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="text", file=sys.stderr, leave=True)
        bar.update(done - bar.n)

    indexer = build_indexer(Settings())
    try:
        report = indexer.build(full=full, progress=progress)
    except CorpusError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"ingest stopped: {len(exc.problems)} problem(s) in the corpus; the live index is unchanged.", err=True)
        sys.exit(EXIT_ERRORS)
    except (BuildBusyError, ModelIntegrityError) as exc:
        click.echo(f"ingest stopped: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    finally:
        for bar in bars.values():
            bar.close()
    click.echo(report.summary())


# ------------------------------------------------------------------ ask

@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer contract.")
@click.option("--batch", type=click.File("r"), default=None,
              help="JSONL file of {id, question, history}; writes one JSON answer per line.")
@click.option("--audience", default=None, help="Only documents for this audience (e.g. nurse-midwife).")
@click.option("--topic", default=None, help="Only documents on this topic (e.g. regulation).")
def ask(question: str | None, as_json: bool, batch, audience: str | None, topic: str | None) -> None:
    """Ask the tutor a question and get a cited answer.

    Examples: tutor ask "What is automation bias?"   |   tutor ask --json --batch questions.jsonl
    """
    from tutor.builder import build_tutor
    from tutor.embeddings import ModelIntegrityError
    from tutor.indexing import IndexMissingError
    from tutor.models import Turn
    from tutor.stores import StoreUnavailableError

    if not question and batch is None:
        raise click.UsageError("give a QUESTION or --batch FILE")
    try:
        tutor_ = build_tutor(Settings())
    except (IndexMissingError, StoreUnavailableError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NO_INDEX)
    except ModelIntegrityError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    if batch is None:
        answer = tutor_.ask(question, audience=audience, topic=topic)
        if as_json:
            echo_json(answer.model_dump(mode="json"))
        else:
            click.echo(render_text(answer))
        return
    for number, line in enumerate(batch, start=1):
        if not line.strip():
            continue
        item_id = str(number)  # until the line says otherwise
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError('each line must be a JSON object like {"id": ..., "question": ...}')
            item_id = str(item.get("id", number))  # an error line keeps the caller's id, so outputs still pair up
            if not isinstance(item.get("question"), str):
                raise ValueError('"question" is missing or not a string')
            history = [Turn(**t) for t in item.get("history") or []]
            answer = tutor_.ask(item["question"], history=history, id=item_id, audience=audience, topic=topic)
            echo_json(answer.model_dump(mode="json"))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            click.echo(f"{batch.name}:{number}: skipped: {exc}", err=True)
            echo_json({"id": item_id, "error": f"line {number}: {exc}"})


def render_text(answer) -> str:
    lines = [answer.answer, ""]
    for notice in answer.notices:
        lines.append(f"! {notice.text}")
    for citation in answer.citations:
        lines.append(f"[{citation.n}] {citation.title} ({citation.publisher}, {citation.year}) {citation.url}")
    return "\n".join(lines).rstrip()
