"""Contamination check: no run of `RUN_WORDS` words from a sealed test question may appear in what the tutor is
built from (prompts, answer cards, string literals and data files in the code). A copied phrase means the test
split was tuned on, and its figures no longer say how the tutor does on questions it has never seen.

Words are compared lower-cased with punctuation dropped, so quoting, line breaks and regex escapes ("\\bcarries\\s+
the") do not hide a copy.

In the answer cards and the vocabulary, a run that is also in the guidance itself (corpus/docs/) is not counted: a
regulator's full name or a document's title is the domain's vocabulary, shared by a question and a card because both
quote the guidance, not because one was copied from the other. Prompts and code get no such exemption: they do not
quote the guidance. `scan_files` reports how many runs the exemption covers.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from tutor.evaluation.cases import EvalCase

RUN_WORDS = 6
_REGEX_ESCAPE = re.compile(r"\\[bBsSwWdDAZ]")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Contamination:
    file: str
    line: int
    phrase: str
    case_id: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: \"{self.phrase}\" is from test question {self.case_id}"


def _tokens(text: str) -> list[tuple[str, int]]:
    """(word, offset) pairs: lower-case, straight apostrophes, regex escapes and punctuation as separators."""
    text = _REGEX_ESCAPE.sub("  ", text.replace("’", "'").replace("‘", "'").lower())
    return [(m.group(0), m.start()) for m in _WORD.finditer(text)]


def _runs_of(text: str, n: int) -> Iterator[tuple[str, ...]]:
    words = [w for w, _ in _tokens(text)]
    return (tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def question_runs(cases: list[EvalCase], n: int = RUN_WORDS,
                  exempt: set[tuple[str, ...]] | None = None) -> dict[tuple[str, ...], str]:
    """Every run of n consecutive words in the questions (except those in `exempt`) -> a case id it comes from."""
    runs: dict[tuple[str, ...], str] = {}
    for case in cases:
        for run in _runs_of(case.question, n):
            if not exempt or run not in exempt:
                runs.setdefault(run, case.id)
    return runs


def guidance_runs(corpus_dir: Path, n: int = RUN_WORDS) -> set[tuple[str, ...]]:
    """Every run of n words in the guidance documents (corpus/docs/*.md)."""
    docs = corpus_dir / "docs"
    return {run for path in sorted(docs.glob("*.md")) if docs.is_dir()
            for run in _runs_of(path.read_text(encoding="utf-8"), n)}


def scan_text(text: str, runs: dict[tuple[str, ...], str], n: int = RUN_WORDS) -> list[tuple[int, str, str]]:
    """(offset, phrase, case id) for each copied run, one per stretch of consecutive matches (the longest phrase)."""
    tokens = _tokens(text)
    found: list[tuple[int, str, str]] = []
    i = 0
    while i <= len(tokens) - n:
        case_id = runs.get(tuple(w for w, _ in tokens[i:i + n]))
        if case_id is None:
            i += 1
            continue
        end = i + n
        while end < len(tokens) and tuple(w for w, _ in tokens[end - n + 1:end + 1]) in runs:
            end += 1
        found.append((tokens[i][1], " ".join(w for w, _ in tokens[i:end]), case_id))
        i = end
    return found


def python_literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, value) of every string constant in a Python file (docstrings and f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def data_strings(value, line: int = 1) -> Iterator[tuple[int, str]]:
    """Every string in parsed YAML or JSON, keys included."""
    if isinstance(value, str):
        yield line, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from data_strings(key, line)
            yield from data_strings(item, line)
    elif isinstance(value, list):
        for item in value:
            yield from data_strings(item, line)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def scan_files(root: Path, cases: list[EvalCase], n: int = RUN_WORDS) -> tuple[list[Contamination], dict[str, int]]:
    """Look under `root` (a checkout) for runs of n words from the cases' questions in:

    * every file under prompts/ and corpus/answers/, and corpus/vocabulary.yaml (as text);
    * every string literal in tutor/**/*.py;
    * every string in YAML and JSON files under tutor/.

    In the answer cards and the vocabulary, runs that are in root/corpus/docs/ are exempt (see the module
    docstring); in prompts and code nothing is. Returns what was found, and how many files of each kind were scanned
    and question runs exempted (so a test can tell "clean" from "looked at nothing").
    """
    runs = question_runs(cases, n)
    quoting = question_runs(cases, n, guidance_runs(root / "corpus", n))  # for files that quote the guidance
    found: list[Contamination] = []
    scanned = {"prompts": 0, "answer cards": 0, "vocabulary": 0, "python": 0, "data": 0, "question runs": len(runs),
               "exempt runs": len(runs) - len(quoting)}
    for folder, kind, against in (("prompts", "prompts", runs), ("corpus/answers", "answer cards", quoting),
                                  ("corpus/vocabulary.yaml", "vocabulary", quoting)):
        base = root / folder
        for path in ([base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            scanned[kind] += 1
            found += [Contamination(_relative(path, root), _line_of(text, offset), phrase, case_id)
                      for offset, phrase, case_id in scan_text(text, against, n)]
    code = root / "tutor"
    for path in sorted(code.rglob("*.py")) if code.is_dir() else []:
        scanned["python"] += 1
        for line, value in python_literals(path):
            for offset, phrase, case_id in scan_text(value, runs, n):
                found.append(Contamination(_relative(path, root), line + value.count("\n", 0, offset), phrase, case_id))
    for path in sorted(p for p in code.rglob("*") if p.suffix in (".yaml", ".yml", ".json")) if code.is_dir() else []:
        scanned["data"] += 1
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        for _, value in data_strings(data):
            for _, phrase, case_id in scan_text(value, runs, n):
                at = text.lower().find(phrase.split()[0])
                found.append(Contamination(_relative(path, root), _line_of(text, at) if at >= 0 else 1, phrase, case_id))
    return found, scanned
