"""The evaluation case format (YAML in evals/datasets/) and its loader, which reports problems as file:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tutor.corpus import _load_yaml_list, display_path, strip_lines
from tutor.models import Problem, Turn, content_hash
from tutor.settings import PROJECT_ROOT

DATASETS_DIR = PROJECT_ROOT / "evals" / "datasets"
SPLITS = ("dev", "test")
Split = Literal["dev", "test"]
# The sealed test split is the folder `test/` inside the datasets folder: a case file's split is its folder's.
TEST_FOLDER = "test"

CATEGORIES = {
    "knowledge": "questions the corpus answers, worded as clinicians ask them",
    "safe-use": "questions about real use of AI that need a safe-use notice",
    "patient-advice": "requests for advice about an individual patient",
    "emergency": "a patient in danger now",
    "identifiers": "questions carrying patient identifiers",
    "injection": "prompt injection, jailbreaks and requests for hidden instructions",
    "out-of-scope": "questions not about AI in health and care",
    "unanswerable": "in-domain questions the corpus cannot answer",
    "benign": "questions that sound risky but must be answered",
    "multi-turn": "follow-up questions that need the conversation so far",
    "real-question": "questions clinicians and staff really ask, taken from public pages, graded by a reviewer",
}
AXES = ("accuracy", "completeness", "citation", "safety_messaging", "privacy", "refusal", "safety", "communication")
Axis = Literal["accuracy", "completeness", "citation", "safety_messaging", "privacy", "refusal", "safety", "communication"]
SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
CHECKS = ("fact", "cites", "notice", "matches", "refused", "abstained", "refusal_reason", "metric", "judge")


class DatasetError(ValueError):
    """One or more case files could not be loaded; `problems` says where and what."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Criterion(BaseModel):
    """One rubric line: worth -10..+10 points on one axis, checked by exactly one rule (or by the optional judge).

    A positive criterion is good behaviour and counts when met; a negative one is bad behaviour and costs its points
    when met. `critical` fails the case on a miss (a positive criterion not met, or a negative one met).
    """

    text: str = Field(description="What the criterion checks, in words a reviewer understands.")
    points: int = Field(ge=-10, le=10, description="Weight: +1..+10 for good behaviour, -1..-10 for bad behaviour.")
    axis: Axis
    critical: bool = False
    fact: list[str] | None = Field(None, description="Met when any of these phrasings (or re:regexes) is in the answer.")
    cites: list[str] | None = Field(None, description="Met when this document id (or any of these ids) is cited.")
    notice: str | None = Field(None, description="Met when this notice is given and not contradicted.")
    matches: str | None = Field(None, description="Met when this regex matches the answer text.")
    refused: bool | None = Field(None, description="Met when the answer's refused flag equals this.")
    abstained: bool | None = Field(None, description="Met when the answer's abstained flag equals this.")
    refusal_reason: str | None = Field(None, description="Met when the answer's refusal_reason equals this.")
    metric: str | None = Field(None, description="Met when this metric scores full marks (e.g. citation_validity).")
    judge: bool = Field(False, description="Judge-only: scored by the optional LLM judge, otherwise left unscored.")
    origin: Literal["case", "expect"] = "case"

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points must not be 0 (use -10..-1 or 1..10)")
        return value

    @field_validator("fact", "cites", mode="before")
    @classmethod
    def _one_phrase(cls, value):
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_check(self) -> "Criterion":
        given = self._checks_given()
        if len(given) != 1:
            raise ValueError(f"give exactly one check of {', '.join(CHECKS)} (found {', '.join(given) or 'none'})")
        for pattern in ([self.matches] if self.matches else []) + [p for p in self.fact or [] if p.startswith("re:")]:
            _compile(pattern.removeprefix("re:"))
        return self

    def _checks_given(self) -> list[str]:
        return [name for name in CHECKS if (self.judge if name == "judge" else getattr(self, name) is not None)]

    @property
    def check(self) -> str:
        return self._checks_given()[0]


class Expect(BaseModel):
    """What a good answer does. Every field is optional; `refused` defaults to false (the question must be answered)."""

    facts: list[list[str]] = Field(default_factory=list, description="Each fact: accepted phrasings or re:regexes; one must appear.")
    sources: list[list[str]] = Field(default_factory=list,
                                     description="Documents that should be cited and retrieved; each entry is a document "
                                                 "id or a list of ids any one of which will do.")
    notices: list[str] = Field(default_factory=list, description="Notice ids the answer must carry.")
    forbidden_notices: list[str] = Field(default_factory=list, description="Notice ids that would be noise here.")
    refused: bool | None = Field(False, description="true: must refuse; false: must not refuse; null: either.")
    refusal_reason: str | None = Field(None, description="The refusal_reason expected when refused.")
    abstained: bool | None = Field(None, description="true: must say the guidance does not cover it; false: must not.")
    must_not: list[str] = Field(default_factory=list, description="Regexes that must not match the answer text.")
    identifiers: list[str] = Field(default_factory=list, description="Identifier values planted in the input; none may appear in the output.")
    criteria: list[Criterion] = Field(default_factory=list, description="Extra weighted rubric criteria.")

    @field_validator("facts", "sources", mode="before")
    @classmethod
    def _items_as_lists(cls, value):
        if not isinstance(value, list):
            return value
        return [[item] if isinstance(item, str) else item for item in value]

    @field_validator("facts")
    @classmethod
    def _facts_valid(cls, value: list[list[str]]) -> list[list[str]]:
        for alternatives in value:
            if not alternatives:
                raise ValueError("a fact needs at least one accepted phrasing")
            for phrase in alternatives:
                if phrase.startswith("re:"):
                    _compile(phrase[3:])
        return value

    @field_validator("sources")
    @classmethod
    def _sources_valid(cls, value: list[list[str]]) -> list[list[str]]:
        for alternatives in value:
            if not alternatives or not all(SLUG.match(doc_id) for doc_id in alternatives):
                raise ValueError(f"sources must be document ids (lower-case, hyphens), not {alternatives!r}")
        return value

    @field_validator("must_not")
    @classmethod
    def _regexes_valid(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _compile(pattern)
        return value


class EvalCase(BaseModel):
    id: str
    category: str
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    audience: str | None = None
    topic: str | None = None
    tags: list[str] = Field(default_factory=list)
    notes: str = ""
    source_url: str = Field("", description="Real questions: the public page the question was taken from.")
    source_answer: str = Field("", description="Real questions: what that page says in answer, in our own words; "
                                               "the reviewer grades the tutor's answer against it.")
    paraphrase_of: str = Field("", description="Paraphrases: the id of the case this one rewords (same expect); "
                                               "the report says how often both get the same outcome.")
    split: Split = Field("dev", description="dev (tune on it) or test (sealed); set from the case file's folder, "
                                            "never written in the file.")
    expect: Expect = Field(default_factory=Expect)
    file: str = Field("", exclude=True)
    line: int = Field(0, exclude=True)

    @field_validator("id", "category")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"'{value}' must be lower-case letters, digits, hyphens or underscores")
        return value

    @field_validator("paraphrase_of")
    @classmethod
    def _case_id(cls, value: str) -> str:
        if value and not SLUG.match(value):
            raise ValueError(f"'{value}' must be the id of another case")
        return value

    @property
    def content_hash(self) -> str:
        return content_hash(self.model_dump_json())

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None


def _error_line(item: dict, loc: tuple) -> int:
    """The line of the innermost mapping on the error's path (cases, expect, criteria carry __line__)."""
    line = item.get("__line__", 1)
    node = item
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "__line__" in node:
            line = node["__line__"]
    return line


def split_of(path: Path) -> Split:
    """Files in a folder named `test` are the sealed test split; every other case file is dev."""
    return "test" if path.parent.name == TEST_FOLDER else "dev"


def split_paths(split: str = "all", root: Path = DATASETS_DIR) -> list[Path]:
    """The dataset folders of one split (dev: the top-level files; test: the test/ folder) or of both."""
    if split not in ("all", *SPLITS):
        raise ValueError(f"unknown split '{split}': give dev, test or all")
    return [folder for name, folder in (("dev", root), ("test", root / TEST_FOLDER)) if split in ("all", name)]


def dataset_files(paths: list[Path]) -> list[Path]:
    """Expand folders to their *.yaml files, sorted, so the same arguments always load the same cases."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml"))))
        else:
            files.append(path)
    return files


def load_cases(paths: list[Path]) -> list[EvalCase]:
    """Load every case from the given files and folders; raise DatasetError listing every problem found."""
    problems: list[Problem] = []
    cases: list[EvalCase] = []
    files = dataset_files(paths)
    if not files:
        raise DatasetError([Problem(path=", ".join(str(p) for p in paths) or "(none)", line=1,
                                    message="no case files found: give YAML files or a folder holding them")])
    seen: dict[str, str] = {}
    for path in files:
        if not path.is_file():
            problems.append(Problem(path=str(path), line=1, message="file not found"))
            continue
        name = display_path(path)
        split = split_of(path)
        for item in _load_yaml_list(path, problems):
            line = item.get("__line__", 1)
            if "split" in item:
                problems.append(Problem(path=name, line=line, message=f"case '{item.get('id', '?')}': remove 'split': "
                                        f"a case's split is its folder's (evals/datasets/ is dev, test/ is test)"))
                continue
            try:
                case = EvalCase(**strip_lines({k: v for k, v in item.items() if k != "__file__"}), file=name, line=line,
                                split=split)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"])
                    message = err["msg"].removeprefix("Value error, ")
                    label = f"case '{item.get('id', '?')}'"
                    problems.append(Problem(path=name, line=_error_line(item, err["loc"]),
                                            message=f"{label}: field '{where}': {message}"))
                continue
            except TypeError as exc:
                problems.append(Problem(path=name, line=line, message=f"case '{item.get('id', '?')}': {exc}"))
                continue
            if case.id in seen:
                problems.append(Problem(path=name, line=line, message=f"duplicate case id '{case.id}' (first in {seen[case.id]})"))
                continue
            seen[case.id] = case.where
            cases.append(case)
    problems += _paraphrase_problems(cases)
    if problems:
        raise DatasetError(problems)
    return cases


def _paraphrase_problems(cases: list[EvalCase]) -> list[Problem]:
    """A paraphrase names an original in its own split (a dev paraphrase of a test case would leak the test split
    into tuning). An original that was not loaded is not an error here: the report lists it as unmatched."""
    by_id = {case.id: case for case in cases}
    problems = []
    for case in cases:
        original = by_id.get(case.paraphrase_of) if case.paraphrase_of else None
        if case.paraphrase_of == case.id:
            problems.append(Problem(path=case.file, line=case.line, message=f"case '{case.id}': paraphrase_of names itself"))
        elif original is not None and original.paraphrase_of:
            problems.append(Problem(path=case.file, line=case.line, message=f"case '{case.id}': paraphrase_of "
                                    f"'{original.id}' is itself a paraphrase; name the original case"))
        elif original is not None and original.split != case.split:
            problems.append(Problem(path=case.file, line=case.line, message=f"case '{case.id}' ({case.split}) "
                                    f"paraphrases '{original.id}' ({original.split}): both must be in the same split"))
    return problems


def cases_hash(cases: list[EvalCase]) -> str:
    """One hash over every case's content, in order: two runs with the same hash asked the same questions."""
    return content_hash(*(case.content_hash for case in cases))
