"""`tutor eval` on the command line: helpful errors and exit codes, compare, and the review round trip."""

from __future__ import annotations

import csv
import json
import time

from click.testing import CliRunner

from tutor.cli import main
from tutor.evaluation import EvalCase, EvalContext, new_run, score_answer, write_reports
from tutor.models import Answer, Chunk, Citation

TEXT = "Automation bias is the tendency to favour a suggestion from an automated system without enough critical thought."


def make_run(tmp_path, name: str, passing: set[str], repeat_flaky: str | None = None):
    """A small run whose cases pass or fail as asked (by citing or not), written as DIR/run.json."""
    context = EvalContext(chunks={"c1": Chunk(id="c1", doc_id="automation-bias", title="AB", heading_path=["H"],
                                              text=TEXT, start=0, position=0, audience=["all"], topics=["x"])})
    results = []
    for trial in range(2 if repeat_flaky else 1):
        for number in range(8):
            case_id = f"case-{number}"
            ok = case_id in passing if not (repeat_flaky == case_id and trial == 1) else case_id not in passing
            answer = Answer(question="What is automation bias?", answer=f"{TEXT} [1]", retrieved=["c1"],
                            citations=[Citation(n=1, doc_id="automation-bias", title="AB", publisher="HEE",
                                                url="https://x", chunk_id="c1", quote=TEXT)] if ok else [])
            case = EvalCase(id=case_id, category="knowledge", question="What is automation bias?",
                            expect={"facts": [["favour a suggestion"]], "sources": ["automation-bias"]})
            results.append(score_answer(case, answer, 20.0 + number, context, trial=trial))
    run = new_run(results, started=time.time(), backend="extractive", repeat=2 if repeat_flaky else 1, judge="off",
                  pass_score=0.6, hashes={"cases": "abc", "corpus": name})
    return write_reports(run, tmp_path / name)["json"]


def invoke(*args: str):
    return CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)


def test_bad_case_file_is_reported_by_line_and_nothing_runs(tmp_path):
    bad = tmp_path / "cases.yaml"
    bad.write_text("- id: Bad Id\n  category: knowledge\n  question: Q\n", encoding="utf-8")
    result = invoke("--dataset", str(bad))
    assert result.exit_code == 2
    assert "cases.yaml:1: case 'Bad Id': field 'id'" in result.output and "nothing was run" in result.output


def test_missing_thresholds_file_is_a_usage_error(tmp_path):
    result = invoke("--thresholds", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2 and "thresholds file not found" in result.output


def test_no_index_says_to_run_ingest(tmp_path):
    result = invoke("--category", "emergency", "--out", str(tmp_path / "out"))
    assert result.exit_code == 3 and "tutor ingest" in result.output


def test_compare_lists_fixed_and_broken_with_the_exact_test(tmp_path):
    before = make_run(tmp_path, "before", passing={f"case-{n}" for n in range(8)})
    after = make_run(tmp_path, "after", passing={"case-0", "case-1"}, repeat_flaky="case-0")
    result = invoke("compare", str(before), str(after))
    assert result.exit_code == 0, result.output
    assert "0 fixed, 6 broken" in result.output and "broken: case-2" in result.output
    assert "McNemar exact test on pass/fail: p = 0.03125 (a real difference" in result.output
    assert "changed corpus: before -> after" in result.output
    assert "Flake rate B: 12.5% of 8 repeated cases (case-0)" in result.output
    data = json.loads(invoke("compare", str(before), str(after), "--json").output)
    assert data["broken"] == [f"case-{n}" for n in range(2, 8)]


def test_compare_explains_a_file_that_is_not_a_run(tmp_path):
    stray = tmp_path / "notes.json"
    stray.write_text("{}", encoding="utf-8")
    result = invoke("compare", str(stray), str(stray))
    assert result.exit_code == 2 and "not an evaluation run" in result.output


def test_review_round_trip_on_the_command_line(tmp_path):
    run_file = make_run(tmp_path, "run", passing={"case-0", "case-1", "case-2", "case-3"})
    exported = invoke("export-review", str(run_file), "--seed", "5")
    assert exported.exit_code == 0 and "review.csv" in exported.output
    folder = run_file.parent / "review"
    html = (folder / "review.html").read_text(encoding="utf-8")
    assert "case-0" not in html and "score" not in (folder / "review.csv").read_text(encoding="utf-8-sig").lower()
    key = json.loads((folder / "review-key.json").read_text())["items"]
    with open(folder / "review.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # a reviewer who agrees with every automatic verdict but leaves one row blank
        row["agrees_with_consensus"] = "yes" if key[row["review_id"]]["auto_passed"] else "no"
    rows[0]["agrees_with_consensus"] = ""
    filled = folder / "review-dr-a.csv"
    with open(filled, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("import-review", str(filled))
    assert result.exit_code == 0, result.output
    assert "7 of 8 reviewed (1 left blank)" in result.output and "Cohen's kappa 1.00" in result.output
