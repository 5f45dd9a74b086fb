"""A scripted learner session end to end on the real corpus, the real model and the real index, and `tutor learn`."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from conftest import FIXTURE_CORPUS, REAL_CORPUS, make_settings
from tutor.builder import build_learning
from tutor.cli import main
from tutor.corpus import load_corpus

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

# Replies a nurse new to AI might type, written for the free-text items this session meets.
OWN_WORDS = {
    "qa-003": "More confidence is not automatically better. Confidence should match how reliable the tool actually "
              "is in the situation, and the AI output has to be weighed against the rest of the clinical information.",
    "qb-003": "A study of 92 radiologists making 2,760 decisions showed they followed wrong AI suggestions as well as "
              "right ones, and giving explanations hardly reduced the effect of wrong suggestions.",
}


def assert_quotes_verbatim(citations, engine):
    assert citations
    for citation in citations:
        assert citation.quote and citation.quote in engine.material.docs[citation.doc_id].body, citation


def test_a_scripted_learner_session_end_to_end(tmp_path, real_tutor):
    now = [START]
    engine = build_learning(make_settings(tmp_path / "data", REAL_CORPUS), tutor=real_tutor,
                            corpus=load_corpus(REAL_CORPUS), clock=lambda: now[0])

    def later(minutes: float) -> None:
        now[0] += timedelta(minutes=minutes)

    # 1. Profile: no personal data, a pseudonymous id.
    learner = engine.create_profile("nurse-midwife", ["user"], 1).learner_id

    # 2. Pathway step: the nurses' pathway starts with appropriate confidence.
    pathway = engine.pathway(learner)
    assert pathway.id == "profession-nurse-midwife" and pathway.next_step.doc_id == "appropriate-confidence"

    # 3. An answer from the real tutor on that step, then a check-for-understanding question tied to what it cited.
    later(3)
    answer = real_tutor.ask("What does appropriate confidence in AI mean?")
    engine.note_activity(learner, "asked", answer.id)
    assert not answer.abstained and answer.citations[0].doc_id == "appropriate-confidence"
    check = engine.check_question_for(answer, learner)
    assert check.doc_id in {c.doc_id for c in answer.citations} and check.type == "short"
    assert check.id == "qa-003"

    # 4. The learner's free-text reply, graded against the key points with the real model.
    later(2)
    feedback = engine.grade(learner, check.id, OWN_WORDS[check.id], context="check")
    assert feedback.correct and feedback.score >= 0.5
    assert sum(p.made for p in feedback.key_points) >= 2
    assert "You covered:" in feedback.text and "Source:" in feedback.text
    assert_quotes_verbatim(feedback.citations, engine)

    # 5. "Explain it another way" and "give me an example": other passages, cited, plus the glossary.
    later(1)
    another = engine.explain_another_way(answer, learner)
    first_cited = {c.chunk_id for c in answer.citations}
    assert not another.answer.abstained and not ({c.chunk_id for c in another.answer.citations} & first_cited)
    assert "Appropriate confidence" in [g.term for g in another.glossary]
    later(1)
    example = engine.give_example(answer, learner)
    assert not example.answer.abstained and not ({c.chunk_id for c in example.answer.citations} & first_cited)
    for move in (another, example):
        for citation in move.answer.citations:
            chunk = real_tutor.retriever.index.chunks[citation.chunk_id]
            assert citation.quote in chunk.text

    # 6. A quiz round: right, right, wrong, right.
    round_ = []
    for right in (True, True, False, True):
        later(2)
        item = engine.next_quiz_item(learner)
        quiz = engine.material.quiz[item.id]
        if quiz["type"] == "mcq":
            reply = quiz["answer"] if right else next(o for o in item.options if o != quiz["answer"])
        else:
            reply = OWN_WORDS.get(item.id, ". ".join(quiz["key_points"])) if right else "I don't know"
        result = engine.grade(learner, item.id, reply)
        assert result.correct == right, (item.id, result.text)
        assert result.box == (2 if right else 1)
        round_.append((item.id, item.difficulty, result.difficulty))
    assert len({i for i, _, _ in round_} | {check.id}) == 5  # nothing asked twice
    assert engine.pathway(learner).steps[0].done  # enough right answers on step 1's document

    # 7. A calibration scenario: the classic over-trust of a sepsis alert.
    later(4)
    view = engine.scenario("sc-sepsis-alert-ward")
    assert view.result == "positive"
    scenario = engine.judge_scenario(learner, view.id, estimate=80, confidence=70)
    assert scenario.verdict == "over-trusted"
    assert scenario.ppv == pytest.approx(56 / 242) and scenario.npv == pytest.approx(744 / 758)
    assert "flags about 56 of the 70" in scenario.natural_frequencies
    assert scenario.table.flagged == 242
    assert_quotes_verbatim(scenario.citations, engine)

    # 8. Export the CPD summary.
    later(3)
    markdown, table = engine.export_cpd(learner, tmp_path / "cpd")
    text = markdown.read_text()
    assert "## Learning pathway: AI for nurses, midwives and nursing associates" in text
    assert "5 answered (1 as checks for understanding after an answer), 4 correct (80%)." in text
    assert "over-trusted" in text and "## Reflective prompts" in text
    rows = list(csv.DictReader(table.open()))
    assert [r["activity"] for r in rows][:2] == ["check question", "quiz"]
    progress = engine.progress(learner)
    assert progress.minutes_spent == pytest.approx(19.0)  # first action to last; exporting is not study
    print(text)  # the exported summary: shown with pytest -s


def test_tutor_learn_runs_a_script_through_the_same_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    script = tmp_path / "session.yaml"
    script.write_text(
        "profile: {group: nurse-midwife, archetypes: [user], level: 1}\n"
        "steps:\n"
        "  - pathway\n"
        "  - quiz: [\"Favouring automated suggestions without enough critical thought\"]\n"
        "  - scenario: {id: sc-fixture, estimate: 90, confidence: 80}\n"
        "  - mark-done: yellow-card\n"
        "  - progress\n"
        f"  - export: {tmp_path / 'cpd'}\n")
    result = CliRunner().invoke(main, ["learn", "--script", str(script), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["action"] for line in lines] == ["pathway", "quiz", "scenario", "mark-done", "progress", "export"]
    assert lines[1]["item_id"] == "fx-001" and lines[1]["correct"] is True
    assert lines[2]["verdict"] == "over-trusted" and lines[2]["ppv"] == pytest.approx(9 / 108)
    assert lines[3]["done"] == 2  # fx-001 right completes step 1 (its only item); step 2 marked
    learner = lines[4]["profile"]["learner_id"]
    assert (tmp_path / "cpd").glob(f"cpd-{learner}-*.md")

    progress = CliRunner().invoke(main, ["learn", "progress", "--learner", learner, "--json"])
    assert progress.exit_code == 0 and json.loads(progress.stdout)["brier_mean"] == pytest.approx(0.64)


def test_tutor_learn_reports_bad_input_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    script = tmp_path / "bad.yaml"
    script.write_text("profile: {group: nurse-midwife, archetypes: [user], level: 1}\nsteps:\n  - pathway\n  - dance\n")
    result = CliRunner().invoke(main, ["learn", "--script", str(script)])
    assert result.exit_code == 2 and "step 2: 'dance' is not an action" in result.output
    result = CliRunner().invoke(main, ["learn", "export", "--learner", "learner-00000000"])
    assert result.exit_code == 1 and "no learner 'learner-00000000'" in result.output
    script.write_text("profile: {group: surgeon, level: 1}\nsteps: [pathway]\n")
    result = CliRunner().invoke(main, ["learn", "--script", str(script)])
    assert result.exit_code != 0 and "professional group 'surgeon' is not one of" in result.output


def test_tutor_learn_interactive_walks_a_new_learner_through_a_quiz_and_a_scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    keys = "\n".join([
        "nurse-midwife", "user, shaper", "1",                   # profile
        "q", "I don't know", "x",                               # a quiz: give up on the first, stop
        "s", "1", "8", "60",                                    # scenario 1: estimate 8%, 60% sure
        "p", "e", str(tmp_path / "cpd"), "x"]) + "\n"
    result = CliRunner().invoke(main, ["learn"], input=keys)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Pathway: Nurses and midwives (0 of 2 steps done)" in out
    assert "The answer is \"Favouring automated suggestions without enough critical thought\"" in out
    assert "Well calibrated: you said 8.0% and the chance that a flag is right is 8.3%." in out
    assert "1 question answered, 0 correct; 1 scenario;" in out
    assert len(list((tmp_path / "cpd").glob("cpd-learner-*.md"))) == 1
    assert "Continue later with: tutor learn --learner learner-" in out
