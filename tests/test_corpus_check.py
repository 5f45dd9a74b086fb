"""`tutor corpus check`: every kind of problem is reported as file:line: message on the right line, and the real
corpus passes, with every quiz answer supported by the section it cites and the counts issue 3 asks for."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import REAL_CORPUS, edit_file as edit, run_tutor

from tutor.corpus import HEADING_PATTERN, load_corpus, normalise_space
from tutor.grounding import numbers_in

TODAY = date(2026, 11, 27)  # the fixture documents were reviewed on this day; fixed so the tests do not age


def line_of(path: Path, fragment: str) -> int:
    """1-based line of the first line containing `fragment` (read as bytes, so it works on a broken file too)."""
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if fragment.encode() in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def problems_in(root: Path, path: Path) -> list[str]:
    """The problems reported for one file, as the `tutor corpus check` output lines."""
    return [str(p) for p in load_corpus(root, today=TODAY).problems if p.path == str(path)]


def test_the_fixture_corpus_is_clean(corpus_copy):
    assert load_corpus(corpus_copy, today=TODAY).problems == []


# Each case: (file under the corpus, edit to make, fragment on the line the problem must be reported at, message).
DOC = "docs/yellow-card.md"
CASES = {
    "bad YAML": (DOC, ("title: Reporting AI incidents", "title: Reporting: AI incidents"),
                 "title: Reporting", "invalid YAML: mapping values are not allowed here"),
    "missing field": (DOC, ("summary: How to report a problem with an AI medical device in the UK.\n", ""),
                      "id: yellow-card", "missing field 'summary'"),
    "wrong field type": (DOC, ("version: 1", "version: first"),
                         "version: first", "wrong field 'version': Input should be a valid integer"),
    "wrong nested field type": (DOC, ("year: 2024", "year: recently"),
                                "year: recently", "wrong field 'sources.0.year': Input should be a valid integer"),
    "review date passed": (DOC, ("last_reviewed: 2026-11-27\nreview_due: 2027-11-01",
                                 "last_reviewed: 2025-11-01\nreview_due: 2026-10-01"),
                           "review_due:", "review date passed (2026-10-01)"),
    "link to a missing document": (DOC, ("follow local incident reporting.",
                                         "follow [local incident reporting](local-reporting.md)."),
                                   "local-reporting.md", "link to missing document 'local-reporting'"),
    "unknown topic": (DOC, ("topics: [incident-reporting, regulation]", "topics: [incident-reporting, regulations]"),
                      "topics:", "unknown topic 'regulations'"),
    "quiz evidence not in the document": (
        "quiz/items.yaml", ("value falls when the condition is rare\"", "value rises when the condition is rare\""),
        "id: fx-002", "quiz item fx-002: evidence is not in the text of test-accuracy"),
    "scenario expected PPV wrong": ("scenarios/basic.yaml", ("ppv: 0.083", "ppv: 0.9"),
                                    "id: sc-fixture", "scenario sc-fixture: expected ppv is 0.9, but the figures give 0.083"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_reported_as_file_line_message(corpus_copy, case):
    relative, (old, new), fragment, message = CASES[case]
    path = corpus_copy / relative
    edit(path, old, new)
    reported = problems_in(corpus_copy, path)
    expected_prefix = f"{path}:{line_of(path, fragment)}: {message}"
    assert any(line.startswith(expected_prefix) for line in reported), f"expected {expected_prefix!r}, got {reported}"


def test_an_unclosed_bracket_names_the_line_where_it_opens(corpus_copy):
    path = corpus_copy / DOC
    edit(path, "summary: How to report a problem", "summary: [How to report a problem")
    [problem] = problems_in(corpus_copy, path)
    assert problem.startswith(f"{path}:")
    assert "invalid YAML" in problem
    assert f"starts on line {line_of(path, 'summary: [')}" in problem


def test_the_line_of_a_wrong_field_in_the_second_source(corpus_copy):
    path = corpus_copy / DOC
    edit(path, "    url: https://yellowcard.mhra.gov.uk/\n",
         "    url: https://yellowcard.mhra.gov.uk/\n  - title: Guidance\n    publisher: MHRA\n    year: soon\n"
         "    url: https://www.gov.uk/\n")
    assert problems_in(corpus_copy, path) == [
        f"{path}:{line_of(path, 'year: soon')}: wrong field 'sources.1.year': Input should be a valid integer, "
        "unable to parse string as an integer"]


def test_duplicate_ids_are_reported_at_the_id_line_of_the_second_file(corpus_copy):
    original = corpus_copy / DOC
    copy = corpus_copy / "docs" / "yellow-cards.md"  # sorts after yellow-card.md, so it is the duplicate
    text = original.read_text(encoding="utf-8").replace("id: yellow-card\ntitle: Reporting AI incidents\n",
                                                        "title: Reporting AI incidents, again\nid: yellow-card\n")
    copy.write_text(text, encoding="utf-8")
    reported = problems_in(corpus_copy, copy)
    assert f"{copy}:3: duplicate id 'yellow-card' (also in {original})" in reported
    assert f"{copy}:3: id 'yellow-card' does not match the file name 'yellow-cards.md'" in reported


def test_an_empty_body_is_reported_where_the_body_starts(corpus_copy):
    path = corpus_copy / DOC
    front = path.read_text(encoding="utf-8").split("\n---\n")[0]
    path.write_text(front + "\n---\n\n## Reporting to the MHRA\n\n", encoding="utf-8")
    assert problems_in(corpus_copy, path) == [
        f"{path}:{front.count(chr(10)) + 3}: empty body: the document has no text under its front matter"]


def test_non_utf8_bytes_are_reported_at_the_line_of_the_bad_byte(corpus_copy):
    path = corpus_copy / DOC
    raw = path.read_bytes().replace(b"Health Facilities Scotland", b"Health Facilities Scotland \xe9cosse")
    path.write_bytes(raw)
    assert problems_in(corpus_copy, path) == [
        f"{path}:{line_of(path, 'Health Facilities Scotland')}: not UTF-8: byte 0xe9 cannot be decoded; "
        "save the file as UTF-8"]


def test_corpus_check_exits_1_on_errors_and_prints_them(corpus_copy):
    path = corpus_copy / DOC
    edit(path, "topics: [incident-reporting, regulation]", "topics: [incident-reporting, regulations]")
    result = run_tutor("corpus", "check", "--path", str(corpus_copy))
    assert result.returncode == 1, result.stderr
    assert f"{path}:{line_of(path, 'topics:')}: unknown topic 'regulations'" in result.stdout
    assert re.search(r"\b1 errors?\b", result.stderr)


def test_corpus_check_passes_the_real_corpus():
    result = run_tutor("corpus", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""  # no problems, not even warnings
    assert "0 errors, 0 warnings" in result.stderr


# ---------------------------------------------------------------- the real corpus's teaching material

def section_text(body: str, heading: str) -> str | None:
    """The text under `heading`, subsections included, up to the next heading of the same or a higher level."""
    collected: list[str] | None = None
    level = 0
    for line in body.split("\n"):
        match = HEADING_PATTERN.match(line)
        if match and collected is not None and len(match.group(1)) <= level:
            break
        if match and collected is None and match.group(2).strip() == heading:
            collected, level = [], len(match.group(1))
        elif collected is not None:
            collected.append(line)
    return None if collected is None else "\n".join(collected)


ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7",
            "eighth": "8", "ninth": "9", "tenth": "10"}


def numbers_of_document(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return numbers_in(text) | {number for word, number in ORDINALS.items() if word in words}


@pytest.fixture(scope="module")
def real_corpus():
    corpus = load_corpus(REAL_CORPUS)
    assert corpus.errors == []
    return corpus


def test_every_quiz_answer_is_supported_by_the_section_it_cites(real_corpus):
    docs = {d.id: d for d in real_corpus.approved()}
    failures = []
    for item in real_corpus.quiz:
        doc = docs.get(item["doc"])
        if doc is None:
            failures.append(f"{item['id']}: cites {item['doc']}, which is not an approved document")
            continue
        section = section_text(doc.body, item["section"])
        if section is None:
            failures.append(f"{item['id']}: '{item['section']}' is not a heading of {doc.id}")
            continue
        if normalise_space(item["evidence"]) not in normalise_space(section):
            failures.append(f"{item['id']}: evidence is not in section '{item['section']}' of {doc.id}")
        # A number in the key answer (a year, a count, a percentage) must be one the document states.
        keys = [item["answer"]] if item["type"] == "mcq" else [*item["key_points"], item.get("answer") or ""]
        for key in keys:
            if missing := numbers_in(str(key)) - numbers_of_document(doc.body):
                failures.append(f"{item['id']}: the key answer states {sorted(missing)}, which {doc.id} does not")
        if item["type"] == "mcq":
            assert item["answer"] in item["options"]
    assert len(real_corpus.quiz) >= 150
    assert failures == []


def test_corpus_stats_meet_the_content_targets(real_corpus):
    result = run_tutor("corpus", "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["approved_documents"] >= 40
    assert stats["glossary_terms"] >= 80
    assert stats["quiz_items"] >= 150
    assert stats["scenarios"] >= 15
    assert stats["errors"] == 0
    archetypes = {p["audience"] for p in real_corpus.pathways if p["kind"] == "archetype"}
    professions = {p["audience"] for p in real_corpus.pathways if p["kind"] == "profession"}
    assert archetypes == {"shaper", "driver", "creator", "embedder", "user"}
    assert professions == {"doctor", "nurse-midwife", "ahp", "pharmacist", "student", "manager-ig"}
    assert stats["pathways"] == len(real_corpus.pathways) >= 11
    approved = {d.id for d in real_corpus.approved()}
    assert all(step["doc"] in approved for p in real_corpus.pathways for step in p["steps"])
