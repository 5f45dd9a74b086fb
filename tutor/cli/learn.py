"""`tutor learn`: a learning session in the terminal, interactive or from a script, through the same LearningEngine
the app uses; `tutor learn export` and `tutor learn progress`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml

from tutor.cli import main
from tutor.settings import Settings

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_NO_INDEX = 0, 1, 2, 3
ACTIONS = ("pathway", "ask", "check", "another-way", "example", "quiz", "scenario", "mark-done", "progress", "export")
QUIZ_ROUND = 5


class Session:
    """One learner's run: each action calls the engine and prints the result as text, or as one JSON line."""

    def __init__(self, engine, learner_id: str, as_json: bool = False, tutor_loader=None):
        self.engine = engine
        self.learner = learner_id
        self.as_json = as_json
        self._tutor_loader = tutor_loader
        self.answer = None
        self.check_item = None

    def emit(self, action: str, data: dict, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps({"action": action, **data}, ensure_ascii=False, default=str))
        else:
            click.echo(text.rstrip() + "\n")

    # ------------------------------------------------------------ actions

    def pathway(self) -> None:
        view = self.engine.pathway(self.learner)
        if view is None:
            self.emit("pathway", {"pathway": None}, "No learning pathways are defined in the corpus.")
            return
        lines = [f"Pathway: {view.title} ({view.done} of {len(view.steps)} steps done)"]
        lines += [f"  {'[x]' if s.done else '[ ]'} {s.number}. {s.title}" for s in view.steps]
        if view.next_step:
            lines.append(f"Next: {view.next_step.title}\n  Objective: {view.next_step.objective}\n  "
                         f"{view.next_step.summary}")
        self.emit("pathway", view.model_dump(mode="json"), "\n".join(lines))

    def ask(self, question: str) -> None:
        from tutor.cli.core import render_text

        tutor = self._tutor()
        self.answer = tutor.ask(question, audience=None)
        self.engine.note_activity(self.learner, "asked", self.answer.id)
        self.check_item = self.engine.check_question_for(self.answer, self.learner)
        text = render_text(self.answer)
        if self.check_item:
            text += "\n\nCheck your understanding: " + _question_text(self.check_item)
        self.emit("ask", {"answer": self.answer.model_dump(mode="json"),
                          "check": self.check_item.model_dump(mode="json") if self.check_item else None}, text)

    def check(self, reply: str) -> None:
        if self.check_item is None:
            raise click.UsageError("there is no check question to answer: ask a question first (one with citations)")
        self._grade(self.check_item, reply, "check")
        self.check_item = None

    def another_way(self) -> None:
        self._move("another-way")

    def example(self) -> None:
        self._move("example")

    def _move(self, kind: str) -> None:
        from tutor.cli.core import render_text

        if self.answer is None:
            raise click.UsageError(f"'{kind}' follows an answer: ask a question first")
        self._tutor()
        move = (self.engine.explain_another_way if kind == "another-way" else self.engine.give_example)(self.answer, self.learner)
        lines = [render_text(move.answer)]
        lines += [f"Glossary: {g.term}: {g.definition} (see {g.doc_title})" for g in move.glossary]
        if move.scenario:
            lines.append(f"Try the scenario '{move.scenario.title}' (tutor learn: scenario {move.scenario.id})")
        self.emit(kind, move.model_dump(mode="json"), "\n".join(lines))

    def quiz(self, replies: list[str] | None = None, topic: str | None = None) -> None:
        """A round of questions: from `replies` when scripted, prompting for each when interactive."""
        count = len(replies) if replies is not None else QUIZ_ROUND
        for number in range(count):
            item = self.engine.next_quiz_item(self.learner, topic=topic)
            if item is None:
                due = self.engine.next_review_at(self.learner)
                when = f"; the next review is due {due:%d %b %Y %H:%M}" if due else ""
                self.emit("quiz", {"item": None}, f"Nothing to ask now: every question has been seen{when}.")
                return
            if replies is None:
                click.echo(f"Question {number + 1} of {count} ({item.reason})\n{_question_text(item)}")
                reply = click.prompt("Your answer (Enter for the answer, x to stop)", default="", show_default=False)
                if reply.strip().lower() == "x":
                    return
            else:
                reply = replies[number]
            self._grade(item, reply, "quiz", echo_question=replies is not None)

    def _grade(self, item, reply: str, context: str, echo_question: bool = False) -> None:
        feedback = self.engine.grade(self.learner, item.id, reply, context=context)
        lines = []
        if echo_question:  # scripted: show what was asked and answered
            lines.append(f"{_question_text(item)}\nYou: {reply or '(no answer)'}")
        lines.append(feedback.text)
        for citation in feedback.citations:
            lines.append(f'[{citation.n}] "{citation.quote}" ({citation.title}, {citation.publisher}, {citation.year})')
        lines.append(f"Next review of this question: {feedback.due_at:%d %b %Y} (box {feedback.box}).")
        self.emit(context, {"item": item.model_dump(mode="json"), **feedback.model_dump(mode="json")}, "\n".join(lines))

    def scenario(self, scenario_id: str, estimate: float | None = None, confidence: float | None = None) -> None:
        view = self.engine.scenario(scenario_id)
        if estimate is None:
            click.echo(f"{view.title}\n\n{view.vignette}\n\n{view.question}")
            estimate = click.prompt(view.estimate_prompt, type=click.FloatRange(0, 100))
            confidence = click.prompt(view.confidence_prompt, type=click.FloatRange(0, 100))
        feedback = self.engine.judge_scenario(self.learner, scenario_id, estimate, confidence)
        lines = [f"Scenario: {view.title}", feedback.verdict_text, "", feedback.natural_frequencies, "",
                 feedback.table.markdown(), "", f"Your Brier score here: {feedback.brier:.3f}; "
                 f"your mean so far: {feedback.brier_mean:.3f} (0 is perfect).", "", "Worked answer:",
                 feedback.model_answer]
        lines += [f'[{c.n}] "{c.quote}" ({c.title}, {c.publisher}, {c.year})' for c in feedback.citations]
        self.emit("scenario", {"view": view.model_dump(mode="json"), **feedback.model_dump(mode="json")}, "\n".join(lines))

    def mark_done(self, doc_id: str) -> None:
        view = self.engine.mark_step_done(self.learner, doc_id)
        self.emit("mark-done", {"doc_id": doc_id, "done": view.done if view else 0},
                  f"Marked '{doc_id}' as done ({view.done} of {len(view.steps)} steps).")

    def progress(self) -> None:
        progress = self.engine.progress(self.learner)
        lines = [f"Learner {self.learner}: {_count(len(progress.quiz), 'question')} answered, "
                 f"{sum(q.correct for q in progress.quiz)} correct; {_count(len(progress.scenarios), 'scenario')}; "
                 f"about {progress.minutes_spent:.0f} minutes; {progress.due_reviews} reviews due now."]
        lines += [f"  {m.topic}: {m.label} ({m.mastery:.0%}), difficulty {m.difficulty}" for m in progress.mastery]
        if progress.brier_mean is not None:
            lines.append(f"Calibration (mean Brier score): {progress.brier_mean:.3f}")
        self.emit("progress", progress.model_dump(mode="json"), "\n".join(lines))

    def export(self, folder: str) -> None:
        markdown, table = self.engine.export_cpd(self.learner, Path(folder))
        self.emit("export", {"markdown": str(markdown), "csv": str(table)},
                  f"CPD summary written to {markdown} and {table}.")

    def _tutor(self):
        if self.engine.tutor is None and self._tutor_loader is not None:
            self.engine.attach_tutor(self._tutor_loader())
        if self.engine.tutor is None:
            raise click.UsageError("asking questions needs the index: run `tutor ingest` first")
        return self.engine.tutor


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _question_text(item) -> str:
    lines = [item.question]
    lines += [f"  {letter}. {option}" for letter, option in zip("ABCDE", item.options)]
    if item.type == "short":
        lines.append("  (answer in a sentence or two)")
    return "\n".join(lines)


# ------------------------------------------------------------------ commands


def _engine(settings: Settings):
    from tutor.builder import build_learning

    engine = build_learning(settings)
    if engine.material.corpus.errors:
        for problem in engine.material.corpus.errors:
            click.echo(str(problem), err=True)
        click.echo("the corpus has errors: fix them (tutor corpus check) before learning from it", err=True)
        sys.exit(EXIT_ERRORS)
    return engine


def _load_tutor(settings: Settings):
    from tutor.builder import build_tutor

    click.echo("Loading the guidance index and the embedding model...", err=True)
    return build_tutor(settings)


def _learner(engine, learner_id: str | None, profile: dict | None, interactive: bool) -> str:
    from tutor.pedagogy import ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS

    if learner_id:
        return engine.profile(learner_id).learner_id
    if profile is None and interactive:
        click.echo("No name or email is needed: you get a pseudonymous learner id to come back with.")
        for key, label in PROFESSIONAL_GROUPS.items():
            click.echo(f"  {key}: {label}")
        group = click.prompt("Your professional group", type=click.Choice(list(PROFESSIONAL_GROUPS)), show_choices=False)
        for key, label in ARCHETYPES.items():
            click.echo(f"  {key}: {label}")
        archetypes = click.prompt("Your archetype(s), comma-separated", default="user", value_proc=_archetypes)
        for key, label in LEVELS.items():
            click.echo(f"  {key}: {label}")
        level = click.prompt("Your level", type=click.IntRange(1, 4), default=1)
        profile = {"group": group, "archetypes": archetypes, "level": level}
    if profile is None:
        raise click.UsageError("give --learner ID, or a 'profile:' in the script to create a learner")
    created = engine.create_profile(profile.get("group", ""), list(profile.get("archetypes") or ["user"]),
                                    int(profile.get("level", 1)), pathway_id=profile.get("pathway"))
    click.echo(f"Your learner id is {created.learner_id}: keep it to continue later (tutor learn --learner "
               f"{created.learner_id}).", err=True)
    return created.learner_id


def _archetypes(text: str) -> list[str]:
    from tutor.pedagogy import ARCHETYPES

    chosen = [a.strip().lower() for a in text.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in ARCHETYPES]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(ARCHETYPES)}, separated by commas")
    return chosen


def run_script(session: Session, steps: list, name: str) -> None:
    """Run the steps of a script; a bad step stops the run with the step number and what was wrong."""
    for number, step in enumerate(steps, start=1):
        action, value = None, None
        if isinstance(step, str):
            action = step
        elif isinstance(step, dict) and len(step) == 1:
            action, value = next(iter(step.items()))
        where = f"{name}: step {number}"
        if action not in ACTIONS:
            raise click.UsageError(f"{where}: '{step}' is not an action; use one of: {', '.join(ACTIONS)}")
        try:
            if action == "pathway":
                session.pathway()
            elif action == "ask":
                session.ask(str(value))
            elif action == "check":
                session.check(str(value or ""))
            elif action == "another-way":
                session.another_way()
            elif action == "example":
                session.example()
            elif action == "quiz":
                session.quiz([str(v) for v in (value or [])])
            elif action == "scenario":
                session.scenario(str(value["id"]), float(value["estimate"]), float(value["confidence"]))
            elif action == "mark-done":
                session.mark_done(str(value))
            elif action == "progress":
                session.progress()
            elif action == "export":
                session.export(str(value or "."))
        except (KeyError, TypeError, ValueError) as exc:
            raise click.UsageError(f"{where} ({action}): {exc}") from exc


@main.group(invoke_without_command=True)
@click.option("--learner", "learner_id", default=None, help="Continue as this pseudonymous learner id.")
@click.option("--script", "script", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Run the steps of a YAML script instead of asking (see the README, Learning).")
@click.option("--json", "as_json", is_flag=True, help="With --script: print one JSON object per step.")
@click.pass_context
def learn(ctx: click.Context, learner_id: str | None, script: Path | None, as_json: bool) -> None:
    """Learn in the terminal: pathway, questions with checks, adaptive quizzes, calibration scenarios.

    Examples: tutor learn   |   tutor learn --learner learner-1a2b3c4d   |   tutor learn --script session.yaml --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from tutor.indexing import IndexMissingError
    from tutor.pedagogy import UnknownItemError, UnknownLearnerError
    from tutor.stores import StoreUnavailableError

    settings = Settings()
    engine = _engine(settings)

    def load_tutor():
        try:
            return _load_tutor(settings)
        except (IndexMissingError, StoreUnavailableError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_NO_INDEX)

    try:
        if script is not None:
            try:
                data = yaml.safe_load(script.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise click.UsageError(f"{script}: not valid YAML ({exc})") from exc
            if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
                raise click.UsageError(f"{script}: expected a mapping with 'steps:' (a list) and 'profile:' or 'learner:'")
            learner = _learner(engine, learner_id or data.get("learner"), data.get("profile"), interactive=False)
            run_script(Session(engine, learner, as_json, load_tutor), data["steps"], str(script))
            return
        if as_json:
            raise click.UsageError("--json needs --script")
        learner = _learner(engine, learner_id, None, interactive=True)
        interactive(Session(engine, learner, False, load_tutor))
    except (UnknownItemError, UnknownLearnerError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    except ValueError as exc:  # a profile that does not validate
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def interactive(session: Session) -> None:
    session.pathway()
    menu = "[a] ask a question  [q] quiz  [s] scenario  [n] pathway  [p] progress  [e] export  [x] exit"
    while True:
        choice = click.prompt(menu, default="", show_default=False).strip().lower()[:1]
        if not choice:
            continue
        if choice == "x":
            click.echo(f"Goodbye. Continue later with: tutor learn --learner {session.learner}")
            return
        try:
            if choice == "a":
                session.ask(click.prompt("Your question"))
                after_answer(session)
            elif choice == "q":
                session.quiz()
            elif choice == "s":
                scenarios = session.engine.scenarios()
                for number, (_, title) in enumerate(scenarios, start=1):
                    click.echo(f"  {number}. {title}")
                number = click.prompt("Scenario number", type=click.IntRange(1, len(scenarios)))
                session.scenario(scenarios[number - 1][0])
            elif choice == "n":
                session.pathway()
            elif choice == "p":
                session.progress()
            elif choice == "e":
                session.export(click.prompt("Folder", default="."))
        except (click.UsageError, ValueError) as exc:
            click.echo(f"! {exc}")


def after_answer(session: Session) -> None:
    while session.answer is not None and not session.answer.refused:
        options = "[w] explain it another way  [g] give me an example  [Enter] back"
        if session.check_item:
            options = "[c] answer the check question  " + options
        choice = click.prompt(options, default="", show_default=False).strip().lower()[:1]
        if choice == "c" and session.check_item:
            session.check(click.prompt("Your answer (Enter for the answer)", default="", show_default=False))
        elif choice == "w":
            session.another_way()
        elif choice == "g":
            session.example()
        else:
            return


@learn.command("export")
@click.option("--learner", "learner_id", required=True, help="The pseudonymous learner id.")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="Folder for the Markdown and CSV files (default: here).")
@click.option("--json", "as_json", is_flag=True, help="Print the paths as JSON.")
def learn_export(learner_id: str, folder: Path, as_json: bool) -> None:
    """Write a CPD and appraisal summary (Markdown and CSV): topics covered, results, reflective prompts.

    Example: tutor learn export --learner learner-1a2b3c4d --out ~/cpd
    """
    from tutor.pedagogy import UnknownLearnerError

    try:
        Session(_engine(Settings()), learner_id, as_json).export(str(folder))
    except UnknownLearnerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)


@learn.command("progress")
@click.option("--learner", "learner_id", required=True, help="The pseudonymous learner id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def learn_progress(learner_id: str, as_json: bool) -> None:
    """Show mastery by topic, results, calibration and reviews due.

    Example: tutor learn progress --learner learner-1a2b3c4d --json
    """
    from tutor.pedagogy import UnknownLearnerError

    try:
        Session(_engine(Settings()), learner_id, as_json).progress()
    except UnknownLearnerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
