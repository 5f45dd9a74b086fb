"""The tutoring engine without the embedding model: predictive-value arithmetic, Leitner schedule, adaptive
sequencing, profiles, pathways, scenarios, checks and export (multiple-choice answers need no model)."""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from conftest import FIXTURE_CORPUS, REAL_CORPUS, make_settings
from tutor.builder import build_learning
from tutor.corpus import load_corpus
from tutor.figures import Figures
from tutor.models import Answer, Citation
from tutor.pedagogy import TutorRequiredError, UnknownItemError, UnknownLearnerError
from tutor.pedagogy import calibration, schedule
from tutor.pedagogy.grading import option_chosen, presented_options

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="module")
def real_corpus():
    return load_corpus(REAL_CORPUS)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def engine(tmp_path, real_corpus, clock, hashing_embedder):
    """The engine over the real corpus with no Tutor; the fake embedder only ever sees replies that repeat an item's
    key points word for word (the real model's grading is tested in test_pedagogy_grading.py)."""
    return build_learning(make_settings(tmp_path / "data", REAL_CORPUS), corpus=real_corpus, clock=clock,
                          embedder=hashing_embedder)


def right_option(engine, item_id: str) -> str:
    """A right reply: the answer option, or every key point in full for a free-text item."""
    item = engine.material.quiz[item_id]
    return item["answer"] if item["type"] == "mcq" else ". ".join(item["key_points"])


def wrong_option(engine, item_id: str) -> str:
    item = engine.material.quiz[item_id]
    if item["type"] != "mcq":
        return "I don't know"
    return next(o for o in item["options"] if o != item["answer"])


# ------------------------------------------------------------------ PPV / NPV against hand-worked cases

@pytest.mark.parametrize("sens, spec, prev, ppv, npv", [
    # 1,000 patients, 70 ill: TP 56, FN 14; 930 well: FP 186, TN 744
    (0.80, 0.80, 0.07, 56 / 242, 744 / 758),
    # 1,000 patients, 10 ill: TP 9, FN 1; 990 well: FP 99, TN 891
    (0.90, 0.90, 0.01, 9 / 108, 891 / 892),
    # 10,000 patients, 100 ill: TP 99, FN 1; 9,900 well: FP 99, TN 9,801 -> a coin toss
    (0.99, 0.99, 0.01, 0.5, 9801 / 9802),
    # 1,000 patients, 8 ill: TP 7.2, FN 0.8; 992 well: FP 49.6, TN 942.4
    (0.90, 0.95, 0.008, 7.2 / 56.8, 942.4 / 943.2),
    # 1,000 patients, 200 ill: TP 180, FN 20; 800 well: FP 64, TN 736
    (0.90, 0.92, 0.20, 180 / 244, 736 / 756),
])
def test_predictive_values_match_hand_worked_cases(sens, spec, prev, ppv, npv):
    figures = Figures(sens, spec, prev)
    assert figures.ppv == pytest.approx(ppv, abs=1e-12)
    assert figures.npv == pytest.approx(npv, abs=1e-12)


def test_the_two_by_two_table_adds_up_and_tells_the_story_in_natural_frequencies():
    table = calibration.two_by_two(Figures(0.8, 0.8, 0.07))
    assert (table.true_positive, table.false_negative, table.false_positive, table.true_negative) == (56, 14, 186, 744)
    assert (table.flagged, table.cleared, table.with_condition, table.without_condition) == (242, 758, 70, 930)
    text = calibration.natural_frequency_text(Figures(0.8, 0.8, 0.07), table)
    assert "flags about 56 of the 70 who have it" in text and "of the 242 patients flagged" in text
    assert "23.1%" in text and "98.2%" in text
    assert "| AI flags | 56 (true positive) | 186 (false positive) | 242 |" in table.markdown()


def test_small_risks_keep_two_decimal_places_so_they_do_not_round_to_zero():
    assert calibration.percent(1 - 891 / 892) == "0.11%"
    assert calibration.percent(0.231) == "23.1%"


def test_every_count_in_the_two_by_two_appears_in_the_authors_worked_answer(real_corpus):
    """The engine's rounding agrees with the model answers the content team wrote, scenario by scenario."""
    checked = 0
    for scenario in real_corpus.scenarios:
        table = calibration.two_by_two(calibration.figures_of(scenario))
        for count in (table.with_condition, table.without_condition, table.true_positive, table.false_negative,
                      table.false_positive, table.true_negative, table.flagged, table.cleared):
            assert f"{count:,}" in scenario["model_answer"], (scenario["id"], count)
        checked += 1
    assert checked >= 15


def test_the_estimate_asked_for_follows_the_result_the_patient_got(real_corpus):
    negative = {s["id"] for s in real_corpus.scenarios if calibration.scenario_result(s) == "negative"}
    # Read by hand: in these the tool cleared the patient (no fracture, low risk, normal, low suspicion).
    assert negative == {"sc-dermatology-ai-skin-tone", "sc-fracture-tool-children", "sc-virtual-ward-oximetry",
                        "sc-fracture-ai-clear-clinical-signs", "sc-negative-chest-xray-triage",
                        "sc-mammography-ai-suggestion"}
    assert calibration.scenario_result({"result": "negative", "question": "Of every 100 flagged..."}) == "negative"


# ------------------------------------------------------------------ scenarios: verdicts and Brier score

def test_base_rate_neglect_is_called_over_trust_with_exact_figures_and_sources(engine):
    learner = engine.create_profile("doctor", ["user"], 2).learner_id
    view = engine.scenario("sc-sepsis-alert-ward")
    assert view.result == "positive" and "flags" in view.estimate_prompt
    feedback = engine.judge_scenario(learner, "sc-sepsis-alert-ward", estimate=80, confidence=70)
    assert feedback.verdict == "over-trusted" and not feedback.within_tolerance
    assert feedback.true_value == pytest.approx(56 / 242)
    assert feedback.brier == pytest.approx(0.49)  # (0.7 - 0)^2
    assert "80.0%" in feedback.verdict_text and "23.1%" in feedback.verdict_text
    assert [c.doc_id for c in feedback.citations] == ["predictive-values-prevalence", "external-validation-epic-sepsis"]
    for citation in feedback.citations:  # every quote is verbatim in its document
        assert citation.quote in engine.material.docs[citation.doc_id].body


def test_under_trust_well_calibrated_and_a_cleared_patient(engine, clock):
    learner = engine.create_profile("nurse-midwife", ["user"], 1).learner_id
    assert engine.judge_scenario(learner, "sc-sepsis-alert-ward", 5, 50).verdict == "under-trusted"
    clock.advance(minutes=3)
    right = engine.judge_scenario(learner, "sc-sepsis-alert-ward", 25, 90)
    assert right.verdict == "well calibrated" and right.brier == pytest.approx(0.01)
    clock.advance(minutes=3)
    # Cleared patient: the learner estimates the chance of a fracture anyway; the truth is 1 - NPV = 20/756.
    cleared = engine.judge_scenario(learner, "sc-fracture-ai-clear-clinical-signs", 0, 100)
    assert cleared.target == "miss" and cleared.true_value == pytest.approx(20 / 756)
    assert cleared.verdict == "well calibrated"  # 0% is within 5 points of 2.6%
    # A notification in the palpitations clinic is right 91.8% of the time: saying 30% under-trusts it.
    assert engine.judge_scenario(learner, "sc-wearable-af-palpitations-clinic", 30, 100).verdict == "under-trusted"
    progress = engine.progress(learner)
    assert [r.brier for r in progress.scenarios] == pytest.approx([0.25, 0.01, 0.0, 1.0])
    assert progress.brier_trend == pytest.approx([0.25, 0.13, 0.26 / 3, 1.26 / 4], abs=1e-4)


def test_the_verdict_turns_round_for_a_cleared_patient():
    # Estimating the chance of disease after a clear result too low is trusting the tool too much.
    assert calibration.verdict("miss", 0.00, 0.10, 0.05) == "over-trusted"
    assert calibration.verdict("miss", 0.30, 0.10, 0.05) == "under-trusted"
    assert calibration.verdict("ppv", 0.30, 0.10, 0.05) == "over-trusted"
    assert calibration.verdict("ppv", 0.15, 0.10, 0.05) == "well calibrated"  # exactly 5 points is within


def test_scenario_input_errors_are_clear(engine):
    learner = engine.create_profile("doctor", ["user"], 2).learner_id
    with pytest.raises(ValueError, match="estimate must be a percentage between 0 and 100"):
        engine.judge_scenario(learner, "sc-sepsis-alert-ward", 180, 50)
    with pytest.raises(ValueError, match="confidence must be a number"):
        engine.judge_scenario(learner, "sc-sepsis-alert-ward", 20, "very")
    with pytest.raises(UnknownItemError, match="no approved scenario 'sc-nope'"):
        engine.scenario("sc-nope")


# ------------------------------------------------------------------ Leitner schedule (injected clock, no sleeps)

def test_leitner_boxes_move_up_on_success_and_back_to_one_on_a_miss():
    assert [schedule.next_box(None, True), schedule.next_box(None, False)] == [2, 1]
    assert [schedule.next_box(b, True) for b in (1, 2, 3, 4, 5)] == [2, 3, 4, 5, 5]
    assert [schedule.next_box(b, False) for b in (1, 3, 5)] == [1, 1, 1]
    days = [1, 3, 7, 14, 30]
    assert [schedule.due_after(b, START, days) - START for b in (1, 2, 3, 4, 5)] == [timedelta(days=d) for d in days]


def test_a_review_comes_back_exactly_when_its_box_says(engine, clock):
    learner = engine.create_profile("doctor", ["user"], 1).learner_id
    first = engine.next_quiz_item(learner, topic="test-accuracy")
    feedback = engine.grade(learner, first.id, right_option(engine, first.id))
    assert (feedback.box, feedback.due_at) == (2, START + timedelta(days=3))
    # Before it is due, only new items are offered (and answered).
    for moment in (timedelta(days=1), timedelta(days=2), timedelta(days=3, seconds=-1)):
        clock.now = START + moment
        item = engine.next_quiz_item(learner, topic="test-accuracy")
        assert item.id != first.id and item.reason.startswith("new")
        engine.grade(learner, item.id, right_option(engine, item.id))
    # Exactly three days after the answer it is back, as a review.
    clock.now = START + timedelta(days=3)
    review = engine.next_quiz_item(learner, topic="test-accuracy")
    assert review.id == first.id and review.reason.startswith("review: box 2")
    clock.advance(minutes=1)
    missed = engine.grade(learner, first.id, wrong_option(engine, first.id))
    assert (missed.box, missed.due_at) == (1, clock.now + timedelta(days=1))


def test_five_correct_reviews_reach_box_five_and_a_thirty_day_interval(engine, clock):
    learner = engine.create_profile("doctor", ["user"], 1).learner_id
    item_id = "qb-017"
    for expected_box in (2, 3, 4, 5, 5):
        feedback = engine.grade(learner, item_id, right_option(engine, item_id))
        assert feedback.box == expected_box
        clock.now = feedback.due_at
    assert feedback.due_at - engine.progress(learner).quiz[-1].at == timedelta(days=30)


def test_nothing_due_and_nothing_new_means_no_question_and_a_next_review_date(tmp_path, clock):
    engine = build_learning(make_settings(tmp_path / "data", FIXTURE_CORPUS), clock=clock)
    learner = engine.create_profile("nurse-midwife", ["user"], 1).learner_id
    engine.grade(learner, "fx-001", "Favouring automated suggestions without enough critical thought")
    assert engine.next_quiz_item(learner, topic="automation-bias") is None
    assert engine.next_review_at(learner) == START + timedelta(days=3)


# ------------------------------------------------------------------ adaptive sequencing

def test_difficulty_rises_after_two_right_and_falls_after_a_miss(engine, clock):
    learner = engine.create_profile("doctor", ["user"], 1).learner_id  # new to AI: starts at difficulty 1
    topic = "automation-bias"
    seen = []

    def next_item():
        clock.advance(minutes=2)
        item = engine.next_quiz_item(learner, topic=topic)
        seen.append(item.difficulty)
        return item

    for answer_right in (True, True, True, True, False, True, True):
        item = next_item()
        engine.grade(learner, item.id, (right_option if answer_right else wrong_option)(engine, item.id))
    next_item()
    # 1,1 -> up; 2,2 -> up; 3 missed -> down; 2,2 -> up; 3
    assert seen == [1, 1, 2, 2, 3, 2, 2, 3]
    assert engine.level(learner, topic) == 3


def test_the_staircase_stays_between_one_and_three():
    assert schedule.next_level(3, 1, 0, True, 2, 1) == (3, 2, 0)
    assert schedule.next_level(1, 0, 0, False, 2, 1) == (1, 0, 1)
    assert [schedule.starting_level(n) for n in (1, 2, 3, 4)] == [1, 2, 2, 3]


def test_without_a_topic_new_questions_follow_the_pathway(engine, clock):
    learner = engine.create_profile("nurse-midwife", ["user"], 1).learner_id
    item = engine.next_quiz_item(learner)
    assert item.doc_id == "appropriate-confidence" and "pathway step 1" in item.reason
    for _ in range(2):
        engine.grade(learner, item.id, right_option(engine, item.id))
        clock.advance(minutes=1)
        item = engine.next_quiz_item(learner)
    assert item.doc_id == "automation-bias" and "pathway step 2" in item.reason
    assert engine.pathway(learner).steps[0].done_how == "quiz"


def test_options_are_shuffled_per_learner_and_a_letter_means_what_was_shown(engine):
    learner = engine.create_profile("doctor", ["user"], 1).learner_id
    first_positions = set()
    for item_id, item in list(engine.material.quiz.items())[:40]:
        if item["type"] != "mcq":
            continue
        shown = engine.quiz_item(item_id, learner).options
        assert sorted(shown) == sorted(item["options"]) and shown == presented_options(item, learner)
        first_positions.add(shown.index(item["answer"]))
    assert len(first_positions) >= 3  # the authors' habit of listing the answer first does not show through
    item = engine.material.quiz["qb-017"]
    shown = engine.quiz_item("qb-017", learner).options
    letter = "ABCDE"[shown.index(item["answer"])]
    assert option_chosen(letter, shown) == item["answer"]
    assert engine.grade(learner, "qb-017", letter).correct


def test_an_unclear_multiple_choice_reply_says_how_to_answer(engine):
    learner = engine.create_profile("doctor", ["user"], 1).learner_id
    with pytest.raises(ValueError, match="a letter A, B, C, D"):
        engine.grade(learner, "qb-017", "Z")
    assert engine.grade(learner, "qb-017", "\x00" * 50_000).gave_up  # nothing but NULs is no answer
    long_reply = engine.grade(learner, "qb-017", "the weather is fine today " * 20_000)  # cut to 4,000 characters
    assert not long_reply.gave_up and long_reply.box == 1
    gave_up = engine.grade(learner, "qb-017", "I don't know")
    assert gave_up.gave_up and not gave_up.correct and gave_up.answer in gave_up.text


# ------------------------------------------------------------------ profiles, privacy, pathways

def test_profiles_are_pseudonymous_checked_and_persist(tmp_path, real_corpus, clock):
    settings = make_settings(tmp_path / "data", REAL_CORPUS)
    engine = build_learning(settings, corpus=real_corpus, clock=clock)
    profile = engine.create_profile("pharmacist", ["user", "embedder"], 3)
    assert profile.learner_id.startswith("learner-") and len(profile.learner_id) == 16
    with pytest.raises(ValueError, match="professional group 'surgeon' is not one of: doctor, nurse-midwife"):
        engine.create_profile("surgeon", ["user"], 1)
    with pytest.raises(ValueError, match="never an NHS number"):
        engine.create_profile("doctor", ["user"], 1, learner_id="dr-9434765919")
    with pytest.raises(ValueError, match="level must be 1, 2, 3 or 4"):
        engine.create_profile("doctor", ["user"], 7)
    again = build_learning(settings, corpus=real_corpus, clock=clock)  # a new process, the same file
    assert again.profile(profile.learner_id) == profile
    assert again.update_profile(profile.learner_id, level=4).level == 4
    with pytest.raises(UnknownLearnerError, match="no learner 'learner-00000000'"):
        again.profile("learner-00000000")


def test_a_learners_own_words_are_never_stored(tmp_path, clock):
    settings = make_settings(tmp_path / "data", FIXTURE_CORPUS)
    engine = build_learning(settings, clock=clock)
    learner = engine.create_profile("nurse-midwife", ["user"], 1).learner_id
    reply = "Favouring automated suggestions without enough critical thought"
    engine.grade(learner, "fx-001", reply)
    engine.note_activity(learner, "asked", "answer-17")
    with sqlite3.connect(settings.paths.learner_db) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    stored = b"".join(p.read_bytes() for p in settings.paths.learner_db.parent.glob("learners.sqlite3*"))
    assert learner.encode() in stored  # the file is the right one
    assert b"critical thought" not in stored


def test_the_pathway_follows_the_profession_and_marking_a_step_moves_on(engine):
    learner = engine.create_profile("nurse-midwife", ["embedder"], 2).learner_id
    view = engine.pathway(learner)
    assert view.id == "profession-nurse-midwife" and view.next_step.number == 1
    assert ("archetype-embedder", "Embedders - IT and data teams, clinical scientists and clinical safety officers") in view.alternatives
    view = engine.mark_step_done(learner, "appropriate-confidence")
    assert view.done == 1 and view.next_step.doc_id == "automation-bias"
    engine.update_profile(learner, pathway_id="archetype-embedder")
    assert engine.pathway(learner).id == "archetype-embedder"
    with pytest.raises(UnknownItemError, match="no pathway 'nope'"):
        engine.update_profile(learner, pathway_id="nope")


# ------------------------------------------------------------------ moves that need no model

def cited_answer(doc_id: str, heading: str, **extra) -> Answer:
    citation = Citation(n=1, doc_id=doc_id, title=doc_id, publisher="p", url="https://example.org", chunk_id="c",
                        quote="q", heading=heading)
    return Answer(question="What is automation bias?", answer="Automation bias is ... [1]", citations=[citation], **extra)


def test_the_check_question_comes_from_the_cited_document_and_section(engine):
    item = engine.check_question_for(cited_answer("automation-bias", "What automation bias is"))
    quiz = engine.material.quiz[item.id]
    assert quiz["doc"] == "automation-bias" and quiz["section"] == "What automation bias is"
    assert engine.check_question_for(cited_answer("automation-bias", "x", refused=True)) is None
    assert engine.check_question_for(Answer(question="q", answer=ABSTAIN, abstained=True)) is None


ABSTAIN = "The guidance I hold does not cover this question."


def test_moves_that_retrieve_say_they_need_the_tutor(engine):
    with pytest.raises(TutorRequiredError, match="build_learning\\(settings, tutor=...\\)"):
        engine.explain_another_way(cited_answer("automation-bias", "What automation bias is"))


def test_only_approved_items_are_served(tmp_path, clock):
    corpus = load_corpus(FIXTURE_CORPUS)
    corpus.quiz[0]["status"] = "draft"
    engine = build_learning(make_settings(tmp_path / "data", FIXTURE_CORPUS), corpus=corpus, clock=clock)
    assert "fx-001" not in engine.material.quiz
    with pytest.raises(UnknownItemError, match="no approved quiz item 'fx-001'"):
        engine.quiz_item("fx-001")


# ------------------------------------------------------------------ progress and export

def test_export_writes_a_markdown_record_and_a_csv_of_activities(engine, clock, tmp_path):
    learner = engine.create_profile("doctor", ["user"], 2).learner_id
    clock.advance(minutes=2)
    engine.grade(learner, "qb-017", right_option(engine, "qb-017"))
    clock.advance(minutes=40)  # a long break counts as five minutes
    engine.judge_scenario(learner, "sc-sepsis-alert-ward", 80, 70)
    progress = engine.progress(learner)
    assert progress.minutes_spent == 7.0
    assert [m.topic for m in progress.mastery] == ["test-accuracy"] and progress.mastery[0].answered == 1
    markdown, table = engine.export_cpd(learner, tmp_path / "cpd")
    text = markdown.read_text()
    assert f"`{learner}`" in text and "Role: Doctor" in text
    assert "| A sepsis alert on an adult medical ward | chance a flag is right (PPV) | 80.0% | 23.1% | 70% | over-trusted |" in text
    assert "## Reflective prompts" in text and "you over-trusted the tool" in text
    rows = list(csv.DictReader(table.open()))
    assert [r["activity"] for r in rows] == ["quiz", "calibration scenario"]
    assert rows[0]["id"] == "qb-017" and rows[0]["correct"] == "yes"
    assert "Brier 0.490" in rows[1]["detail"]
