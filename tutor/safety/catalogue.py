"""The safety layer's editable texts, loaded and checked: notices, refusals and the guard's labelled examples."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tutor.safety.vocabulary import EXAMPLE_CLASSES, REFUSAL_REASONS, SAFE_USE_NOTICES

NOTICES_FILE = "notices.yaml"
REFUSALS_FILE = "refusals.yaml"
EXEMPLARS_FILE = "guard_exemplars.yaml"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CatalogueError(ValueError):
    """A safety text file is missing, malformed or incomplete; the message names the file and the entry."""


@dataclass
class NoticeSpec:
    id: str
    text: str
    when: str
    priority: int
    triggers: list[re.Pattern] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    removed_text: str | None = None


@dataclass
class Suggestion:
    trigger: re.Pattern
    question: str


@dataclass
class Pointer:
    """Where to go instead, added to a refusal of one of `reasons` when `trigger` matches the message."""

    reasons: tuple[str, ...]
    trigger: re.Pattern
    text: str


@dataclass
class Refusals:
    texts: dict[str, str]
    out_of_scope_clinical: str
    suggestions: list[Suggestion]
    pointers: list[Pointer] = field(default_factory=list)
    max_pointers: int = 2

    def suggestion_for(self, text: str) -> str:
        return next((s.question for s in self.suggestions if s.trigger.search(text)), "")

    def pointers_for(self, reason: str, text: str) -> list[str]:
        """The pointers for this refusal whose trigger matches, in file order, at most `max_pointers`."""
        found = [p.text for p in self.pointers if reason in p.reasons and p.trigger.search(text)]
        return found[: self.max_pointers]


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CatalogueError(f"{path}: not found; it ships in the project's prompts/ folder (settings.paths.prompts_dir)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise CatalogueError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping at the top level")
    return data


def _pattern(value: object, where: str) -> re.Pattern:
    try:
        return re.compile(str(value), re.I)
    except re.error as exc:
        raise CatalogueError(f"{where}: invalid regular expression {value!r}: {exc}") from exc


def load_notices(folder: Path) -> dict[str, NoticeSpec]:
    path = folder / NOTICES_FILE
    entries = _read(path).get("notices")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: expected a list under 'notices'")
    notices: dict[str, NoticeSpec] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: notice {number}"
        if not isinstance(entry, dict):
            raise CatalogueError(f"{where}: expected a mapping with id, text, when, triggers, examples, priority")
        for key in ("id", "text", "when", "priority"):
            if entry.get(key) in (None, ""):
                raise CatalogueError(f"{where}: missing '{key}'")
        notice_id = str(entry["id"])
        where = f"{path}: notice '{notice_id}'"
        if not _ID.match(notice_id):
            raise CatalogueError(f"{where}: id must be lower-case letters, digits and hyphens")
        if notice_id in notices:
            raise CatalogueError(f"{where}: duplicate id")
        removed = entry.get("removed_text")
        if removed is not None and "{kinds}" not in removed:
            raise CatalogueError(f"{where}: removed_text must contain {{kinds}}")
        notices[notice_id] = NoticeSpec(
            id=notice_id, text=" ".join(str(entry["text"]).split()), when=str(entry["when"]),
            priority=int(entry["priority"]),
            triggers=[_pattern(t, f"{where}: trigger") for t in entry.get("triggers") or []],
            examples=[str(e) for e in entry.get("examples") or []],
            removed_text=" ".join(removed.split()) if removed else None)
    missing = [n for n in SAFE_USE_NOTICES if n not in notices]
    if missing:
        raise CatalogueError(f"{path}: the catalogue must define {', '.join(missing)}")
    return notices


def load_refusals(folder: Path) -> Refusals:
    path = folder / REFUSALS_FILE
    data = _read(path)
    entries = data.get("refusals") or {}
    texts = {}
    for reason in REFUSAL_REASONS:
        entry = entries.get(reason)
        if not isinstance(entry, dict) or not entry.get("text"):
            raise CatalogueError(f"{path}: refusals.{reason}.text is missing")
        texts[reason] = " ".join(str(entry["text"]).split())
    unknown = set(entries) - set(REFUSAL_REASONS)
    if unknown:
        raise CatalogueError(f"{path}: unknown refusal reason(s) {', '.join(sorted(unknown))}; "
                             f"use {', '.join(REFUSAL_REASONS)}")
    clinical = entries["out_of_scope"].get("clinical") or entries["out_of_scope"]["text"]
    suggestions = []
    for number, item in enumerate(data.get("suggestions") or [], start=1):
        if not isinstance(item, dict) or not item.get("trigger") or not item.get("question"):
            raise CatalogueError(f"{path}: suggestion {number} needs a trigger and a question")
        suggestions.append(Suggestion(_pattern(item["trigger"], f"{path}: suggestion {number}"), str(item["question"])))
    if "{suggestion}" in texts["clinical_advice"] and not suggestions:
        raise CatalogueError(f"{path}: clinical_advice uses {{suggestion}} but there are no suggestions")
    pointers = []
    for number, item in enumerate(data.get("pointers") or [], start=1):
        where = f"{path}: pointer {number}"
        if not isinstance(item, dict) or not item.get("trigger") or not item.get("text") or not item.get("reasons"):
            raise CatalogueError(f"{where} needs reasons, a trigger and a text")
        reasons = tuple(item["reasons"]) if isinstance(item["reasons"], list) else (str(item["reasons"]),)
        unknown = set(reasons) - set(REFUSAL_REASONS)
        if unknown:
            raise CatalogueError(f"{where}: unknown reason(s) {', '.join(sorted(unknown))}; use {', '.join(REFUSAL_REASONS)}")
        pointers.append(Pointer(reasons, _pattern(item["trigger"], where), " ".join(str(item["text"]).split())))
    return Refusals(texts, " ".join(str(clinical).split()), suggestions, pointers)


def load_exemplars(folder: Path) -> dict[str, list[str]]:
    path = folder / EXEMPLARS_FILE
    data = _read(path)
    unknown = set(data) - set(EXAMPLE_CLASSES)
    if unknown:
        raise CatalogueError(f"{path}: unknown class(es) {', '.join(sorted(unknown))}; use {', '.join(EXAMPLE_CLASSES)}")
    exemplars: dict[str, list[str]] = {}
    for label in EXAMPLE_CLASSES:
        items = data.get(label)
        if not isinstance(items, list) or not items:
            raise CatalogueError(f"{path}: class '{label}' needs a list of example messages")
        exemplars[label] = [" ".join(str(i).split()) for i in items if str(i).strip()]
    return exemplars
