"""The whole harness on the real corpus: the shipped cases pass the gate, and deliberately broken answerers do not.

The honest tutor answers every case once (memoised); each broken answerer wraps those answers and breaks one thing,
as a regression would. Reports, run comparison and the clinician review round trip are checked on the same runs.
"""

from __future__ import annotations

import csv
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tutor.evaluation import EvalContext, apply_gate, load_cases, load_thresholds, new_run, run_cases, write_reports
from tutor.evaluation.cases import split_paths
from tutor.evaluation.gate import load_known_failures
from tutor.evaluation.compare import compare_runs, load_run
from tutor.evaluation.review import export_review, import_review
from tutor.models import Answer

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


class Memo:
    """The honest tutor, asked each question once; every caller gets its own copy of the answer."""

    def __init__(self, tutor):
        self.tutor = tutor
        self.answers: dict[str, Answer] = {}

    def ask(self, question, history=None, id="", audience=None, topic=None) -> Answer:
        if id not in self.answers:
            self.answers[id] = self.tutor.ask(question, history=history, id=id, audience=audience, topic=topic)
        return self.answers[id].model_copy(deep=True)


class Broken:
    """Wraps the honest answers and breaks them with `damage(case_id, question, answer)`."""

    def __init__(self, honest: Memo, damage):
        self.honest, self.damage = honest, damage

    def ask(self, question, history=None, id="", audience=None, topic=None) -> Answer:
        answer = self.honest.ask(question, history=history, id=id, audience=audience, topic=topic)
        self.damage(id, question, answer)
        return answer


def drop_citations(case_id, question, answer):
    answer.citations = []


def strip_notices(case_id, question, answer):
    answer.notices = []


def echo_identifier(case_id, question, answer):
    if case_id == "id-nhs-sepsis":  # one answer repeats the question as typed, NHS number and all
        answer.answer = f"You asked: {question} {answer.answer}"


def refuse_benign(case_id, question, answer):
    if case_id == "be-false-positive":  # one harmless question refused
        answer.refused, answer.refusal_reason, answer.answer = True, "out_of_scope", "Sorry, I can't help with that."
        answer.citations, answer.notices, answer.retrieved = [], [], []


@pytest.fixture(scope="module")
def harness(real_tutor, real_corpus_settings):
    cases = load_cases(split_paths("all"))  # dev and the sealed test split, as `tutor eval` runs them
    limits = load_thresholds()
    known = load_known_failures()
    context = EvalContext.from_tutor(real_tutor, real_corpus_settings.paths.corpus_dir)
    honest = Memo(real_tutor)

    def run(target):
        started = time.time()
        results = run_cases(cases, target, context, pass_score=limits.case_pass_score)
        evaluation = new_run(results, started=started, backend="extractive", repeat=1, judge="off",
                             pass_score=limits.case_pass_score, hashes={"cases": "test"})
        evaluation.gate = apply_gate(evaluation.summary, limits, results, known)
        return evaluation

    return {"cases": cases, "run": run, "honest": honest, "honest_run": run(honest)}


def breaches(evaluation) -> set[str]:
    return {b["figure"] for b in evaluation.gate["breaches"]}


def test_the_embedded_default_passes_the_gate(harness):
    evaluation = harness["honest_run"]
    assert evaluation.summary["cases"] == len(harness["cases"]) >= 220
    assert evaluation.summary["unscored"] == 0
    assert evaluation.gate["passed"], evaluation.gate["breaches"]


@pytest.mark.parametrize("damage, expected", [
    (drop_citations, {"citation_validity"}),
    (strip_notices, {"by_split.dev.notice_compliance", "notice_compliance_by_notice.no-patient-data.rate"}),
    (echo_identifier, {"identifier_leaks", "case id-nhs-sepsis"}),
    (refuse_benign, {"case be-false-positive"}),  # one case more failing is caught by its id, not by a count
])
def test_a_broken_answerer_is_caught_by_the_gate(harness, damage, expected):
    evaluation = harness["run"](Broken(harness["honest"], damage))
    assert not evaluation.gate["passed"]
    assert expected <= breaches(evaluation), evaluation.gate["breaches"]
    assert any(b["kind"] == "unexpected_failure" for b in evaluation.gate["breaches"])


def test_reports_are_complete_and_self_contained(harness, tmp_path):
    evaluation = harness["honest_run"]
    paths = write_reports(evaluation, tmp_path)
    html = paths["html"].read_text()
    assert html.count("<svg") >= 3 and "Rubric score by axis" in html and "Latency per case" in html
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    junit = ET.parse(paths["junit"]).getroot()
    assert int(junit.get("tests")) == len(evaluation.results)
    assert {s.get("name") for s in junit} >= {"eval.dev.knowledge", "eval.test.knowledge", "eval.dev.benign", "eval.gate"}
    assert "## By category" in paths["markdown"].read_text()
    assert load_run(paths["json"]).summary == evaluation.summary  # the JSON round-trips


def test_compare_names_the_cases_a_regression_broke(harness, tmp_path):
    broken = harness["run"](Broken(harness["honest"], drop_citations))
    report = compare_runs(harness["honest_run"], broken)
    assert report["broken"] and not report["fixed"]
    assert report["mcnemar_p"] < 0.001
    assert compare_runs(harness["honest_run"], harness["honest_run"])["mcnemar_p"] == 1.0


def test_clinician_review_round_trip(harness, tmp_path):
    paths = export_review(harness["honest_run"], tmp_path, seed=3, limit=20)
    packet = paths["csv"].read_text(encoding="utf-8-sig")
    assert not any(case.id in packet for case in harness["cases"])  # blinded: no case ids in the packet
    key = load_run_key(paths["key"])
    with open(paths["csv"], newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    for index, row in enumerate(rows):  # a reviewer who agrees with the automatic verdict except on two answers
        automatic = key[row["review_id"]]["auto_passed"]
        row["agrees_with_consensus"] = ("no" if automatic else "yes") if index < 2 else ("yes" if automatic else "no")
        row["possible_harm"] = "none"
    filled = tmp_path / "filled.csv"
    with open(filled, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = import_review([filled], paths["key"])["reviewers"][0]
    assert report["reviewed"] == 20 and report["agreement"] == 0.9 and len(report["disagreements"]) == 2
    assert report["kappa_vs_automatic"] is not None and report["kappa_vs_automatic"] < 1.0


def load_run_key(path: Path) -> dict:
    import json

    return json.loads(path.read_text())["items"]


def test_a_generative_backend_is_scored_by_the_same_harness(harness, real_tutor, real_corpus_settings):
    import re

    from llm_stub import Reply, StubEndpoint, passages_in
    from tutor.builder import build_tutor

    def quote_first_passage(request: dict) -> str:  # a "model" that answers with one sentence it was given
        passages = passages_in(request)
        first = min(passages)
        return re.split(r"(?<=[.!?])\s", " ".join(passages[first].split()))[0] + f" [{first}]"

    stub = StubEndpoint().play(Reply(quote_first_passage)).start()
    try:
        settings = real_corpus_settings.model_copy(deep=True)
        settings.llm.base_url, settings.llm.model, settings.llm.timeout_s = stub.url, "stub-model", 5.0
        generative = build_tutor(settings, embedder=real_tutor.retriever.embedder, backend="openai")
        cases = [c for c in harness["cases"] if c.category == "knowledge"][:8]
        context = EvalContext.from_tutor(generative, settings.paths.corpus_dir)
        results = run_cases(cases, generative, context)
    finally:
        stub.stop()
    assert stub.requests and all(r.answer["backend"] == "openai" for r in results)
    assert all(r.status == "scored" for r in results)
    assert all(r.metric("citation_validity") == 1.0 and r.metric("faithfulness") == 1.0 for r in results
               if not r.answer["abstained"])
