"""LearningEngine: the one object the app and `tutor learn` call for profiles, pathways, quizzes, tutor moves,
calibration scenarios, progress and CPD export. Pure Python, no LLM; state lives in the learner store."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tutor.corpus import Corpus
from tutor.models import Answer
from tutor.pedagogy import calibration, grading, moves, schedule
from tutor.pedagogy.content import TeachingMaterial, UnknownItemError
from tutor.pedagogy.models import (
    ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS, Feedback, GlossaryEntry, KeyPointResult, LearnerProfile, Move,
    PathwayView, Progress, QuizItemView, QuizRecord, ScenarioFeedback, ScenarioRecord, ScenarioView, StepView,
    TopicMastery,
)
from tutor.pedagogy.store import LearnerStore
from tutor.settings import Settings

Clock = Callable[[], datetime]
_LEARNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
_LONG_NUMBER = re.compile(r"\d{6,}")


class UnknownLearnerError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class TutorRequiredError(RuntimeError):
    """A move that retrieves passages was asked of an engine built without a Tutor."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LearningEngine:
    """Everything a learner does outside plain question answering.

    Build it with `tutor.builder.build_learning(settings, tutor=...)`. One instance serves every learner (it holds
    no per-learner state in memory), so the app can cache it next to the Tutor. `clock` is injectable so that
    tests can move time forward without sleeping.
    """

    def __init__(self, settings: Settings, corpus: Corpus, *, tutor=None, embedder_factory: Callable | None = None,
                 clock: Clock = utc_now, store: LearnerStore | None = None):
        self.settings = settings
        self.learning = settings.learning
        self.tutor = None
        self._embedder = None
        self._embedder_factory = embedder_factory
        self.material = TeachingMaterial(corpus, settings.chunking)
        self.store = store or LearnerStore(settings.paths.learner_db)
        self.clock = clock
        self.corpus_version = corpus.version
        if tutor is not None:
            self.attach_tutor(tutor)

    def attach_tutor(self, tutor) -> None:
        """Use a Tutor built after the engine (e.g. loaded only when a terminal session first asks a question)."""
        self.tutor = tutor
        self._embedder = tutor.retriever.embedder
        self.material.attach_index(tutor.retriever.index, self._embedder)

    @property
    def embedder(self):
        """The embedding model for grading free text: the Tutor's, or one loaded on first use."""
        if self._embedder is None:
            if self._embedder_factory is None:
                raise TutorRequiredError("grading a free-text reply needs the embedding model: build the engine with "
                                         "build_learning(settings, tutor=...) or pass an embedder")
            self._embedder = self._embedder_factory()
        return self._embedder

    # ================================================================ profiles

    def create_profile(self, professional_group: str, archetypes: list[str], level: int,
                       pathway_id: str | None = None, learner_id: str | None = None) -> LearnerProfile:
        """Create a learner and return the profile with its pseudonymous id (generated unless one is chosen).

        Only the professional group, archetypes (capability framework), a self-rated level 1-4 and optionally a
        pathway are kept. A chosen id must be 3-40 lower-case letters, digits and hyphens and must not contain a long
        number, so that nobody uses an NHS number, staff number or email address as their id.
        """
        self._check_profile(professional_group, archetypes, level, pathway_id)
        if learner_id is None:
            learner_id = self._new_learner_id()
        else:
            self._check_learner_id(learner_id)
            if self.store.profile(learner_id) is not None:
                raise ValueError(f"learner id '{learner_id}' is taken: choose another, or continue as that learner")
        now = self.clock()
        self.store.save_profile(learner_id, professional_group, list(archetypes), int(level), pathway_id, now)
        self.store.log_event(learner_id, now, "profile")
        return self.profile(learner_id)

    def profile(self, learner_id: str) -> LearnerProfile:
        """The learner's profile; UnknownLearnerError (a KeyError) if there is no such learner."""
        data = self.store.profile(learner_id)
        if data is None:
            raise UnknownLearnerError(f"no learner '{learner_id}' in {self.store.path}: check the id, or create a profile")
        return LearnerProfile(**data)

    def update_profile(self, learner_id: str, *, professional_group: str | None = None,
                       archetypes: list[str] | None = None, level: int | None = None,
                       pathway_id: str | None = None) -> LearnerProfile:
        """Change any of group, archetypes, level or pathway; progress is kept."""
        current = self.profile(learner_id)
        group = professional_group or current.professional_group
        chosen = list(archetypes) if archetypes is not None else current.archetypes
        new_level = int(level) if level is not None else current.level
        pathway = pathway_id if pathway_id is not None else current.pathway_id
        self._check_profile(group, chosen, new_level, pathway)
        self.store.save_profile(learner_id, group, chosen, new_level, pathway, current.created_at)
        return self.profile(learner_id)

    def _check_profile(self, group: str, archetypes: list[str], level: int, pathway_id: str | None) -> None:
        if group not in PROFESSIONAL_GROUPS:
            raise ValueError(f"professional group '{group}' is not one of: {', '.join(PROFESSIONAL_GROUPS)}")
        unknown = [a for a in archetypes if a not in ARCHETYPES]
        if unknown:
            raise ValueError(f"archetype '{unknown[0]}' is not one of: {', '.join(ARCHETYPES)}")
        if level not in LEVELS:
            raise ValueError(f"self-rated level must be 1, 2, 3 or 4 (the capability framework's levels), got {level!r}")
        if pathway_id is not None:
            self.material.pathway(pathway_id)

    @staticmethod
    def _check_learner_id(learner_id: str) -> None:
        if not _LEARNER_ID.match(learner_id) or _LONG_NUMBER.search(learner_id):
            raise ValueError(f"learner id '{learner_id}' is not allowed: use 3-40 lower-case letters, digits and hyphens, "
                             "with no long numbers (never an NHS number, staff number or email address)")

    def _new_learner_id(self) -> str:
        while True:
            candidate = f"learner-{secrets.token_hex(4)}"
            if not _LONG_NUMBER.search(candidate) and self.store.profile(candidate) is None:
                return candidate

    def note_activity(self, learner_id: str, kind: str, ref: str = "") -> None:
        """Record that the learner did something (e.g. kind='asked', ref=answer id) so time on task counts it.
        Never pass the learner's own words: only kinds and ids are stored."""
        self.profile(learner_id)
        self.store.log_event(learner_id, self.clock(), kind, ref[:80])

    # ================================================================ pathways

    def pathways_for(self, learner_id: str) -> list[tuple[str, str]]:
        """(id, title) of the pathways that fit the learner: their profession's, then their archetypes'."""
        profile = self.profile(learner_id)
        wanted = [profile.professional_group] + profile.archetypes
        ranked = sorted((p for p in self.material.pathways.values() if p.get("audience") in wanted),
                        key=lambda p: wanted.index(p["audience"]))
        return [(p["id"], p["title"]) for p in ranked]

    def pathway(self, learner_id: str) -> PathwayView | None:
        """The learner's pathway with each step's status and the next recommended step.

        The pathway is the one chosen in the profile, else the profession's, else the first archetype's, else the
        Users pathway. A step is done when the learner has marked it done or has answered correctly
        `step_correct` (2) different quiz items on its document (all of them if it has fewer).
        """
        profile = self.profile(learner_id)
        choice = self._pathway_id(profile)
        if choice is None:
            return None
        pathway = self.material.pathway(choice)
        marked = self.store.marked_steps(learner_id, choice)
        correct_items = {a["item_id"] for a in self.store.attempts(learner_id) if a["correct"]}
        steps = []
        for number, step in enumerate(pathway["steps"], start=1):
            doc_id = step["doc"]
            items = self.material.items_by_doc.get(doc_id, [])
            correct = len([i for i in items if i in correct_items])
            needed = min(self.learning.step_correct, len(items))
            how = marked[doc_id][1] if doc_id in marked else ("quiz" if items and correct >= needed else None)
            doc = self.material.docs.get(doc_id)
            steps.append(StepView(number=number, doc_id=doc_id, title=doc.title if doc else doc_id,
                                  summary=doc.summary if doc else "", objective=step["objective"], done=how is not None,
                                  done_how=how, items=len(items), correct=correct))
        alternatives = [p for p in self.pathways_for(learner_id) if p[0] != choice]
        return PathwayView(id=choice, title=pathway["title"], kind=pathway.get("kind", ""), steps=steps,
                           next_step=next((s for s in steps if not s.done), None), done=sum(s.done for s in steps),
                           alternatives=alternatives)

    def _pathway_id(self, profile: LearnerProfile) -> str | None:
        if profile.pathway_id and profile.pathway_id in self.material.pathways:
            return profile.pathway_id
        by_audience = {p.get("audience"): p["id"] for p in self.material.pathways.values()}
        for audience in [profile.professional_group, *profile.archetypes, "user"]:
            if audience in by_audience:
                return by_audience[audience]
        return next(iter(self.material.pathways), None)

    def mark_step_done(self, learner_id: str, doc_id: str) -> PathwayView | None:
        """The learner says they have worked through a step (read its document); returns the updated pathway."""
        view = self.pathway(learner_id)
        if view is None or doc_id not in {s.doc_id for s in view.steps}:
            raise UnknownItemError(f"'{doc_id}' is not a step of the learner's pathway")
        now = self.clock()
        self.store.mark_step(learner_id, view.id, doc_id, now, "marked")
        self.store.log_event(learner_id, now, "step", doc_id)
        return self.pathway(learner_id)

    # ================================================================ quizzes

    def level(self, learner_id: str, topic: str) -> int:
        """The learner's current difficulty (1-3) on a topic."""
        state = self.store.levels(learner_id).get(topic)
        return state[0] if state else schedule.starting_level(self.profile(learner_id).level)

    def next_quiz_item(self, learner_id: str, topic: str | None = None, exclude: set[str] | None = None) -> QuizItemView | None:
        """The next question for the learner, or None when nothing is due and every item has been seen.

        Items due for review (Leitner) come first, the longest overdue first. Then new items: on `topic` if given,
        otherwise on the next pathway step's document (then the rest of the pathway, then anything), choosing the
        difficulty nearest the learner's level on the item's topic. The item just answered is never asked twice
        in a row.
        """
        profile = self.profile(learner_id)
        if topic is not None and topic not in self.material.items_by_topic:
            raise UnknownItemError(f"no approved quiz items on topic '{topic}' (topics: "
                                   f"{', '.join(sorted(self.material.items_by_topic))})")
        pool = self.material.items_by_topic[topic] if topic else sorted(self.material.quiz)
        skip = set(exclude or ())
        attempts = self.store.attempts(learner_id)
        if attempts:
            skip.add(attempts[-1]["item_id"])
        now = self.clock()
        boxes = self.store.boxes(learner_id)
        due = sorted((boxes[i][1], boxes[i][0], i) for i in pool if i in boxes and boxes[i][1] <= now and i not in skip)
        if due:
            due_at, box, item_id = due[0]
            return self._view(item_id, f"review: box {box}, due since {due_at:%d %b %Y %H:%M}", learner_id)
        unseen = [i for i in pool if i not in boxes and i not in skip]
        if not unseen:
            return None
        levels = self.store.levels(learner_id)
        start = schedule.starting_level(profile.level)
        note = ""
        if topic is None:
            unseen, note = self._pathway_focus(learner_id, unseen)

        def target(item_id: str) -> int:
            item_topic = topic or self.material.quiz[item_id]["topics"][0]
            return levels.get(item_topic, (start, 0, 0))[0]

        item_id = min(unseen, key=lambda i: (abs(int(self.material.quiz[i]["difficulty"]) - target(i)), i))
        item = self.material.quiz[item_id]
        return self._view(item_id, f"new question at difficulty {item['difficulty']} (your level on "
                                   f"{topic or item['topics'][0]}: {target(item_id)}){note}", learner_id)

    def _pathway_focus(self, learner_id: str, unseen: list[str]) -> tuple[list[str], str]:
        """Narrow new items to the first unfinished pathway step that has some, else the pathway, else leave all."""
        view = self.pathway(learner_id)
        if view is None:
            return unseen, ""
        for step in [s for s in view.steps if not s.done] + view.steps:
            on_step = [i for i in unseen if self.material.quiz[i]["doc"] == step.doc_id]
            if on_step:
                return on_step, f"; pathway step {step.number}: {step.title}"
        return unseen, ""

    def _view(self, item_id: str, reason: str, learner_id: str | None) -> QuizItemView:
        item = self.material.item(item_id)
        return QuizItemView(id=item_id, type=item["type"], question=item["question"],
                            options=grading.presented_options(item, learner_id), difficulty=int(item["difficulty"]),
                            topics=list(item["topics"]), doc_id=item["doc"],
                            doc_title=self.material.doc_title(item["doc"]), reason=reason)

    def quiz_item(self, item_id: str, learner_id: str | None = None) -> QuizItemView:
        """Any approved item by id, as the learner sees it (no answer; options in the learner's order)."""
        return self._view(item_id, "chosen by id", learner_id)

    def grade(self, learner_id: str, item_id: str, response: str, context: str = "quiz") -> Feedback:
        """Grade a reply, record it, move the item's Leitner box and the learner's difficulty, and explain.

        Multiple choice: the option's text, its letter (A-E) or number in the order the learner was shown, or a
        sentence in the learner's own words (graded like a key point against each option). Free text: graded against the item's key points
        (see tutor.pedagogy.grading). An empty reply or "I don't know" / "show me the answer" gets the answer at once
        and counts as a miss for scheduling. `context` is 'quiz' or 'check' (a check-for-understanding question).
        The reply itself is never stored.
        """
        self.profile(learner_id)
        item = self.material.item(item_id)
        response = str(response or "").replace("\x00", "")[: self.settings.safety.max_input_chars]
        answer_text = str(item.get("answer") or "").strip()
        results: list[KeyPointResult] = []
        chosen = None
        if grading.gave_up(response):
            score, gave_up = 0.0, True
        elif item["type"] == "mcq":
            gave_up = False
            chosen = grading.option_chosen(response, grading.presented_options(item, learner_id))
            if chosen is None and len(response.split()) < 3:
                letters = "ABCDE"[: len(item["options"])]
                raise ValueError(f"reply to {item_id} with one of its options: a letter {', '.join(letters)}, its "
                                 f"number 1-{len(item['options'])}, its text, or a sentence in your own words")
            if chosen is None:  # a reply in the learner's own words, as in a check after an answer
                chosen = grading.closest_option(response, item["options"], self.embedder, self.learning,
                                                question=item["question"])
            score = 1.0 if chosen == item["answer"] else 0.0
        else:
            gave_up = False
            results = grading.grade_key_points(response, list(item["key_points"]), self.embedder, self.learning,
                                               question=item["question"])
            score = grading.score_of(results)
        correct = score >= (1.0 if item["type"] == "mcq" else self.learning.pass_mark) and not gave_up
        now = self.clock()
        self.store.record_attempt(learner_id, item, now, context, score, correct)
        self.store.log_event(learner_id, now, context, item_id)
        box, due_at = self._reschedule(learner_id, item_id, correct, now)
        self._adapt(learner_id, item["topics"], correct)
        citation = self.material.evidence_citation(item)
        text = _feedback_text(item, correct, gave_up, chosen, results)
        if citation is not None:
            text += f' Source: {citation.title}, section "{item.get("section", citation.heading)}" [1].'
        return Feedback(item_id=item_id, correct=correct, score=score, text=text,
                        answer=answer_text or "; ".join(item.get("key_points") or []),
                        explanation=str(item.get("explanation", "")), key_points=results,
                        citations=[citation] if citation else [], difficulty=self.level(learner_id, item["topics"][0]),
                        box=box, due_at=due_at, gave_up=gave_up)

    def _reschedule(self, learner_id: str, item_id: str, correct: bool, now: datetime) -> tuple[int, datetime]:
        current = self.store.boxes(learner_id).get(item_id)
        box = schedule.next_box(current[0] if current else None, correct)
        due_at = schedule.due_after(box, now, self.learning.leitner_days)
        self.store.set_box(learner_id, item_id, box, due_at)
        return box, due_at

    def _adapt(self, learner_id: str, topics: list[str], correct: bool) -> None:
        levels = self.store.levels(learner_id)
        start = schedule.starting_level(self.profile(learner_id).level)
        for topic in topics:
            level, up, down = levels.get(topic, (start, 0, 0))
            self.store.set_level(learner_id, topic, *schedule.next_level(
                level, up, down, correct, self.learning.raise_after, self.learning.lower_after))

    def next_review_at(self, learner_id: str) -> datetime | None:
        """When the next item falls due, or None if nothing has been answered yet."""
        boxes = self.store.boxes(learner_id)
        return min((due for _, due in boxes.values()), default=None)

    # ================================================================ tutor moves after an answer

    def check_question_for(self, answer: Answer, learner_id: str | None = None) -> QuizItemView | None:
        """One check-for-understanding question for an answer, from the quiz items tied to the documents it cites
        (see tutor.pedagogy.moves.check_item); None for refusals, abstentions and uncited answers. Grade the reply
        with grade(learner, item.id, reply, context="check")."""
        answered, due = set(), set()
        levels: dict[str, tuple[int, int, int]] = {}
        start = 1
        if learner_id is not None:
            start = schedule.starting_level(self.profile(learner_id).level)
            levels = self.store.levels(learner_id)
            boxes = self.store.boxes(learner_id)
            answered = set(boxes)
            due = {i for i, (_, at) in boxes.items() if at <= self.clock()}

        def level_of(item: dict) -> int:
            return levels.get(item["topics"][0], (start, 0, 0))[0]

        item = moves.check_item(self.material, answer, level_of, answered, due)
        if item is None:
            return None
        return self._view(item["id"], f"check your understanding of {self.material.doc_title(item['doc'])}", learner_id)

    def explain_another_way(self, answer: Answer, learner_id: str | None = None, audience: str | None = None) -> Move:
        """The same question answered from other passages than those already cited, plus glossary definitions of
        the terms involved. The new answer goes through the Tutor, so it is cited and screened like any other."""
        tutor = self._need_tutor("explain it another way")
        cited = {c.chunk_id for c in answer.citations}
        other = tutor.ask(answer.question, id=f"{answer.id}-another-way" if answer.id else "", audience=audience,
                          passages=moves.other_passages(cited, self.settings.retrieval.top_k))
        return self._move("another-way", answer, other, learner_id)

    def give_example(self, answer: Answer, learner_id: str | None = None, audience: str | None = None) -> Move:
        """An example for the answer: passages that read like worked examples or evidence (studies, figures, "for
        example") other than those already cited, the glossary, and a calibration scenario on the same documents."""
        tutor = self._need_tutor("give an example")
        cited = {c.chunk_id for c in answer.citations}
        example = tutor.ask(f"For example: {answer.question}", id=f"{answer.id}-example" if answer.id else "",
                            audience=audience, passages=moves.example_passages(cited, self.settings.retrieval.top_k))
        return self._move("example", answer, example, learner_id)

    def _move(self, kind: str, original: Answer, new: Answer, learner_id: str | None) -> Move:
        doc_ids = list(dict.fromkeys([c.doc_id for c in original.citations] + [c.doc_id for c in new.citations]))
        entries = moves.glossary_for(self.material, [original.question, original.answer, new.answer], doc_ids)
        attempted = set()
        if learner_id is not None:
            attempted = {r["scenario_id"] for r in self.store.scenario_results(learner_id)}
            self.store.log_event(learner_id, self.clock(), kind, original.id)
        scenario = moves.scenario_for(self.material, doc_ids, attempted) if kind == "example" else None
        return Move(kind=kind, answer=new,
                    glossary=[GlossaryEntry(term=e["term"], definition=e["definition"], doc_id=e["doc"],
                                            doc_title=self.material.doc_title(e["doc"])) for e in entries],
                    scenario=self.scenario(scenario["id"]) if scenario else None)

    def _need_tutor(self, what: str):
        if self.tutor is None:
            raise TutorRequiredError(f"to {what} the engine needs the Tutor: build it with build_learning(settings, tutor=...)")
        return self.tutor

    # ================================================================ calibration scenarios

    def scenarios(self) -> list[tuple[str, str]]:
        """(id, title) of every approved scenario."""
        return [(s["id"], s["title"]) for s in self.material.scenarios.values()]

    def scenario(self, scenario_id: str) -> ScenarioView:
        """The vignette and the one number the learner is asked to estimate (see tutor.pedagogy.calibration)."""
        scenario = self.material.scenario(scenario_id)
        result = calibration.scenario_result(scenario)
        if result == "positive":
            prompt = "Your estimate: out of every 100 patients the tool flags, how many have the condition? (0-100)"
        else:
            prompt = ("Your estimate: out of every 100 patients the tool clears, how many have the condition all the "
                      "same? (0-100)")
        return ScenarioView(id=scenario_id, title=scenario["title"], vignette=scenario["vignette"].strip(),
                            question=scenario["question"], result=result, estimate_prompt=prompt,
                            confidence_prompt="How sure are you that your estimate is within "
                                              f"{self.learning.calibration_tolerance * 100:g} percentage points of the "
                                              "true figure? (0-100%)",
                            docs=list(scenario.get("docs") or []))

    def judge_scenario(self, learner_id: str, scenario_id: str, estimate: float, confidence: float) -> ScenarioFeedback:
        """Compare the learner's estimate (a percentage) with the exact figure, show the natural frequencies out of
        1,000 and the 2x2 table, say whether they over- or under-trusted the tool, score their confidence (Brier)
        and cite the scenario's sources."""
        self.profile(learner_id)
        scenario = self.material.scenario(scenario_id)
        guess = calibration.as_fraction(estimate, "estimate")
        sure = calibration.as_fraction(confidence, "confidence")
        figures = calibration.figures_of(scenario)
        target, truth = calibration.true_value(figures, calibration.scenario_result(scenario))
        right = abs(guess - truth) <= self.learning.calibration_tolerance + 1e-9
        label = calibration.verdict(target, guess, truth, self.learning.calibration_tolerance)
        score = calibration.brier(sure, right)
        now = self.clock()
        self.store.record_scenario(learner_id, scenario_id, now, target, guess, truth, sure, right, label, score)
        self.store.log_event(learner_id, now, "scenario", scenario_id)
        history = [r["brier"] for r in self.store.scenario_results(learner_id)]
        table = calibration.two_by_two(figures)
        query = " ".join([scenario["question"], *scenario.get("teaching_points", [])])
        citations = [c for n, doc_id in enumerate(scenario.get("docs") or [], start=1)
                     if (c := self.material.best_sentence_citation(doc_id, query, n)) is not None]
        return ScenarioFeedback(
            scenario_id=scenario_id, sensitivity=figures.sensitivity, specificity=figures.specificity,
            prevalence=figures.prevalence, ppv=figures.ppv, npv=figures.npv, target=target, true_value=truth,
            estimate=guess, confidence=sure, within_tolerance=right, verdict=label,
            verdict_text=calibration.verdict_text(target, label, guess, truth),
            natural_frequencies=calibration.natural_frequency_text(figures, table), table=table, brier=score,
            brier_mean=sum(history) / len(history), model_answer=scenario.get("model_answer", "").strip(),
            teaching_points=list(scenario.get("teaching_points") or []), citations=citations)

    # ================================================================ progress and CPD

    def progress(self, learner_id: str) -> Progress:
        """Mastery by topic, quiz and scenario history, calibration (Brier) over time, time spent, reviews due."""
        profile = self.profile(learner_id)
        attempts = self.store.attempts(learner_id)
        boxes = {i: box for i, (box, _) in self.store.boxes(learner_id).items()}
        levels = self.store.levels(learner_id)
        start = schedule.starting_level(profile.level)
        mastery = []
        for topic in sorted({t for a in attempts for t in a["topics"]}):
            on_topic = [a for a in attempts if topic in a["topics"]]
            value = schedule.topic_mastery(self.material.items_by_topic.get(topic, []), boxes, self.learning.mastery_items)
            mastery.append(TopicMastery(topic=topic, mastery=round(value, 3),
                                        label=schedule.mastery_label(value, len(on_topic)), answered=len(on_topic),
                                        correct=sum(a["correct"] for a in on_topic),
                                        difficulty=levels.get(topic, (start, 0, 0))[0]))
        results = self.store.scenario_results(learner_id)
        titles = {s["id"]: s["title"] for s in self.material.scenarios.values()}
        trend, total = [], 0.0
        for count, record in enumerate(results, start=1):
            total += record["brier"]
            trend.append(round(total / count, 4))
        times = self.store.event_times(learner_id)
        now = self.clock()
        return Progress(
            profile=profile, pathway=self.pathway(learner_id), mastery=mastery,
            quiz=[QuizRecord(item_id=a["item_id"], at=a["at"], context=a["context"], doc_id=a["doc_id"],
                             topics=a["topics"], difficulty=a["difficulty"], score=a["score"], correct=a["correct"])
                  for a in attempts],
            scenarios=[ScenarioRecord(scenario_id=r["scenario_id"], title=titles.get(r["scenario_id"], r["scenario_id"]),
                                      at=r["at"], target=r["target"], estimate=r["estimate"], true_value=r["true_value"],
                                      confidence=r["confidence"], verdict=r["verdict"], brier=r["brier"])
                       for r in results],
            brier_mean=trend[-1] if trend else None, brier_trend=trend,
            minutes_spent=schedule.minutes_spent(times, self.learning.idle_minutes),
            first_active=times[0] if times else None, last_active=times[-1] if times else None,
            due_reviews=sum(1 for _, due in self.store.boxes(learner_id).values() if due <= now))

    def export_cpd(self, learner_id: str, folder: Path) -> tuple[Path, Path]:
        """Write the CPD and appraisal summary as Markdown and CSV into `folder`; return both paths."""
        from tutor.pedagogy.export import write_cpd

        return write_cpd(self, learner_id, Path(folder))


def _feedback_text(item: dict, correct: bool, gave_up: bool, chosen: str | None, results: list[KeyPointResult]) -> str:
    explanation = str(item.get("explanation", "")).strip()
    answer = str(item.get("answer") or "").strip()
    if item["type"] == "mcq":
        if gave_up:
            return f'The answer is "{answer}". {explanation}'
        if correct:
            return f'Correct: "{answer}". {explanation}'
        if chosen is None:
            return f'Not quite: your reply does not match the answer closely enough. The answer is "{answer}". {explanation}'
        return f'Not quite: your reply matches "{chosen}". The answer is "{answer}". {explanation}'
    points = list(item.get("key_points") or [])
    model = f" A model answer: {answer}" if answer else ""
    if gave_up:
        return f"Here is what a good answer covers: {'; '.join(points)}. {explanation}{model}"
    made = [r.point for r in results if r.made]
    missed = [r.point for r in results if not r.made and not r.contradicted]
    contrary = [r.point for r in results if r.contradicted]
    parts = [f"{'Well done' if correct else 'Not yet'}: you made {len(made)} of {len(points)} key points."]
    if made:
        parts.append(f"You covered: {'; '.join(made)}.")
    if missed:
        parts.append(f"To add: {'; '.join(missed)}.")
    if contrary:
        parts.append(f"Part of your reply seems to say the opposite of: {'; '.join(contrary)}.")
    parts.append(explanation)
    return " ".join(p for p in parts if p) + model
