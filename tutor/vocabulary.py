"""The content team's vocabulary (corpus/vocabulary.yaml, plus abbreviations in glossary terms): aliases that name
the same thing ("ChatGPT" for a public AI chatbot, "AVT" for ambient voice technology) and incidental names (a
role, "NHS") that never decide whether the guidance covers a question."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

VOCABULARY_FILE = "vocabulary.yaml"
_ABBREVIATION = re.compile(r"^(?P<long>[^()]+?)\s*\((?P<short>[A-Za-z0-9-]{2,12})\)$")


@dataclass
class Vocabulary:
    groups: list[set[str]] = field(default_factory=list)  # lower-cased names, each group naming one thing
    canonical: list[str] = field(default_factory=list)    # the name the guidance uses, per group
    incidental: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, corpus_dir: Path, glossary: list[dict] | None = None) -> "Vocabulary":
        """Read corpus/vocabulary.yaml (missing file: no aliases) and the glossary's "Long name (ABBR)" terms.
        Problems in the file are reported by `tutor corpus check`; here a malformed file gives no aliases."""
        vocabulary = cls()
        path = corpus_dir / VOCABULARY_FILE
        data = {}
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                data = {}
        if not isinstance(data, dict):
            data = {}
        for group in data.get("aliases") or []:
            if isinstance(group, dict) and group.get("term"):
                vocabulary.add(str(group["term"]), [str(a) for a in group.get("aliases") or []])
        vocabulary.incidental = {str(t).lower() for t in data.get("incidental") or []}
        for item in glossary or []:
            match = _ABBREVIATION.match(str(item.get("term", "")).strip())
            if match and match.group("short").upper() == match.group("short"):
                vocabulary.add(match.group("long"), [match.group("short")])
        return vocabulary

    def add(self, term: str, aliases: list[str]) -> None:
        names = {term.lower(), *(a.lower() for a in aliases)}
        for group, name in zip(self.groups, self.canonical):
            if names & group:
                group |= names
                return
        self.groups.append(names)
        self.canonical.append(term)

    def equivalents(self, name: str) -> set[str]:
        lowered = name.lower()
        found = {lowered}
        for group in self.groups:
            if lowered in group:
                found |= group
        return found

    def is_incidental(self, name: str) -> bool:
        return name.lower() in self.incidental

    def expansion(self, text: str) -> str:
        """The guidance's own names for the aliases the text uses ("ChatGPT" -> "public AI chatbot"), so a keyword
        search finds passages that use the other name."""
        lowered = text.lower()
        extra = []
        for group, canonical in zip(self.groups, self.canonical):
            if canonical.lower() in lowered:
                continue
            if any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered) for name in group):
                extra.append(canonical)
        return " ".join(extra)
