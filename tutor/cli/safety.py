"""`tutor safety`: measure the input guard on the guard set, and see how it treats one message."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tutor.cli import main
from tutor.cli.core import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, echo_json
from tutor.settings import Settings


@main.group()
def safety() -> None:
    """The safety layer: guard-set figures and single-message checks."""


def _layer(settings: Settings):
    from tutor.builder import make_embedder
    from tutor.safety import CatalogueError, SafetyLayer

    settings.safety.audit = False  # measuring and trying out are not answers: nothing goes in the audit log
    try:
        return SafetyLayer(settings, make_embedder(settings))
    except CatalogueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


@safety.command("guard-report")
@click.option("--path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Guard set YAML (default: evals/guard_set.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (figures, confusion matrix and every miss).")
@click.option("--failures/--no-failures", default=True, help="List the messages the guard got wrong.")
def guard_report(path: Path | None, as_json: bool, failures: bool) -> None:
    """Screen every labelled message and print per-class precision and recall, over-refusal and identifier recall.

    Exit code 1 when a target is missed: over-refusal above 2%, any identifier not removed, or a look-alike
    (such as an invalid NHS number) removed. Example: tutor safety guard-report --json
    """
    from tutor.safety.guard_set import DEFAULT_GUARD_SET, GuardSetError, evaluate, load_guard_set

    try:
        items = load_guard_set(path or DEFAULT_GUARD_SET)
    except GuardSetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    layer = _layer(Settings())
    report = evaluate(layer, items)
    missed = report.meets_targets()
    if as_json:
        echo_json(report.to_dict())
        sys.exit(EXIT_ERRORS if missed else EXIT_OK)
    for name, part in (("all messages", report), ("held-out third (thresholds chosen without it)", report.subset(True))):
        summary = part.summary()
        click.echo(f"\n{name}: {summary['items']} messages, accuracy {_percent(summary['accuracy']).strip()}")
        click.echo(f"  {'class':<16}{'support':>8}{'precision':>11}{'recall':>9}")
        for label, row in summary["per_class"].items():
            click.echo(f"  {label:<16}{row['support']:>8}{_percent(row['precision']):>11}{_percent(row['recall']):>9}")
        over = summary["over_refusal"]
        click.echo(f"  over-refusal: {over['refused']} of {over['answerable']} answerable messages refused "
                   f"({_percent(over['rate']).strip()})")
    summary = report.summary()
    click.echo("\nidentifiers removed (all messages):")
    for kind, row in summary["identifier_recall"].items():
        click.echo(f"  {kind:<16}{row['found']:>4} of {row['total']:<4}{_percent(row['recall'])}")
    lookalikes = summary["lookalikes_redacted"]
    click.echo(f"  look-alikes wrongly removed (invalid NHS numbers, years, doses...): "
               f"{lookalikes['redacted']} of {lookalikes['total']}")
    notices = summary["notices"]
    click.echo(f"notices: {notices['required']['met']} of {notices['required']['checked']} messages carry the notices "
               f"they need; {notices['none']['met']} of {notices['none']['checked']} concept questions carry none")
    if failures and report.failures():
        click.echo("\nmisses:")
        for outcome in report.failures():
            extra = ""
            if outcome.missed_identifiers:
                extra = f" (identifiers left: {', '.join(i.split(':')[0] for i in outcome.missed_identifiers)})"
            if outcome.false_identifiers:
                extra += f" (look-alikes removed: {len(outcome.false_identifiers)})"
            held = " [held-out]" if outcome.item.held_out else ""
            click.echo(f"  {outcome.item.id}{held}: {outcome.item.label} -> {outcome.predicted}{extra}: "
                       f"{outcome.item.text}")
    click.echo("\n" + ("targets met" if not missed else "targets missed: " + "; ".join(missed)))
    sys.exit(EXIT_ERRORS if missed else EXIT_OK)


@safety.command("screen")
@click.argument("message")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def screen(message: str, as_json: bool) -> None:
    """Show how the input guard treats one message: intent, identifiers removed, notices, and why.

    Nothing is answered or logged. Example: tutor safety screen "Can I paste a clinic letter into ChatGPT?"
    """
    verdict = _layer(Settings()).screen(message)
    data = {
        "text": verdict.text, "intent": verdict.intent, "refused": verdict.refused,
        "refusal_reason": verdict.refusal_reason, "refusal_text": verdict.refusal_text, "pii": verdict.pii,
        "notices": [n.model_dump() for n in verdict.notices], "scores": verdict.scores, "rules": verdict.rules,
        "nearest_example": verdict.nearest,
    }
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")
