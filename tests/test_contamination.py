"""No sealed test question is copied into what the tutor answers with: a run of 6 or more words from any question in
evals/datasets/test/ may not appear in prompts/, the answer cards, the content team's vocabulary, or any string
literal or data file in tutor/. These tests fail on a copy, and one deliberately contaminates a copy of the project
to show that they would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor.evaluation.cases import load_cases, split_paths
from tutor.evaluation.contamination import RUN_WORDS, scan_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def test_cases():
    cases = load_cases(split_paths("test"))
    assert len(cases) >= 100 and {c.split for c in cases} == {"test"}
    return cases


def test_no_test_question_is_copied_into_prompts_cards_or_code(test_cases):
    found, scanned = scan_files(ROOT, test_cases)
    # it looked at real files, not at nothing
    assert scanned["prompts"] >= 5 and scanned["answer cards"] >= 40 and scanned["python"] >= 50
    assert scanned["vocabulary"] == 1 and scanned["question runs"] > 1000
    assert found == [], "\n".join(map(str, found[:20]))


def _copy_of_project(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for part in ("prompts", "tutor", "corpus"):
        shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _copied_run(case) -> str:
    words = case.question.split()
    assert len(words) >= RUN_WORDS
    return " ".join(words[:RUN_WORDS + 1])


def test_a_trigger_copied_from_a_test_question_is_caught(tmp_path, test_cases):
    root = _copy_of_project(tmp_path)
    case = next(c for c in test_cases if len(c.question.split()) >= 10 and c.category == "safe-use")
    notices = root / "prompts" / "notices.yaml"
    notices.write_text(notices.read_text(encoding="utf-8") + f"\n# trigger: \"{_copied_run(case)}\"\n",
                       encoding="utf-8")
    found, _ = scan_files(root, test_cases)
    assert [f.case_id for f in found if f.file == "prompts/notices.yaml"] == [case.id]


def test_a_word_list_in_code_and_a_card_copied_from_test_questions_are_caught(tmp_path, test_cases):
    root = _copy_of_project(tmp_path)
    knowledge = [c for c in test_cases if c.category == "knowledge" and len(c.question.split()) >= 8]
    code_case, card_case = knowledge[0], knowledge[1]
    rules = root / "tutor" / "injected_rules.py"
    # a regex escape between the words must not hide the copy
    rules.write_text(f'PATTERN = r"{_copied_run(code_case).replace(" ", chr(92) + "s+")}"\n', encoding="utf-8")
    card = root / "corpus" / "answers" / "injected.yaml"
    card.write_text(f"- id: injected\n  questions:\n    - {_copied_run(card_case)!r}\n", encoding="utf-8")
    found, _ = scan_files(root, test_cases)
    assert {(f.file, f.case_id) for f in found} >= {("tutor/injected_rules.py", code_case.id),
                                                    ("corpus/answers/injected.yaml", card_case.id)}
