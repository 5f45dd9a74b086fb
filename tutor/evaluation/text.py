"""Text helpers shared by the metrics: phrase matching and splitting an answer into cited sentences."""

from __future__ import annotations

import re

from tutor.chunking import _ABBREVIATIONS
from tutor.grounding import strip_markers

_MARKER = re.compile(r"\[(\d+)\]")
# A sentence ends at . ! or ? and keeps the [n] markers that follow it; a marker never starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*((?:\s*\[\d+\])*)\s+(?!\[\d)(?=[\"“(\[]?[A-Z0-9£])")


def normalise(text: str) -> str:
    """Curly apostrophes straightened and runs of whitespace made one space."""
    return " ".join(text.replace("’", "'").replace("‘", "'").split())


def phrase_found(phrase: str, text: str) -> bool:
    """Phrases match case-insensitively with spacing ignored; 're:' marks a regular expression."""
    if phrase.startswith("re:"):
        return re.search(phrase[3:], text, re.IGNORECASE) is not None
    return normalise(phrase).lower() in normalise(text).lower()


def citation_numbers(text: str) -> list[int]:
    return [int(n) for n in _MARKER.findall(text)]


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into sentences, each with the citation numbers it carries ("... [2]" belongs to its sentence)."""
    pieces: list[str] = []
    cursor = 0
    for match in _SENTENCE_END.finditer(text):
        if text[cursor:match.start()].endswith(_ABBREVIATIONS):
            continue
        pieces.append(text[cursor:match.end()].strip())
        cursor = match.end()
    pieces.append(text[cursor:].strip())
    return [(p, citation_numbers(p)) for p in pieces if strip_markers(p)]
