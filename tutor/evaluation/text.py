"""Text helpers shared by the metrics: phrase matching, splitting an answer into cited sentences, and word tokens.

These are the evaluation's own, deliberately not the production helpers in tutor.grounding and tutor.retrieval:
a metric that grades the product with the product's own code cannot catch a regression in that code.
"""

from __future__ import annotations

import re
import unicodedata

from tutor.chunking import _ABBREVIATIONS

_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_WITH_SPACE = re.compile(r"\s*\[\d+\]")
# A sentence ends at . ! or ? and keeps the [n] markers that follow it; a marker never starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*((?:\s*\[\d+\])*)\s+(?!\[\d)(?=[\"“(\[]?[A-Z0-9£])")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


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


def strip_markers(text: str) -> str:
    """The text without its [n] citation markers."""
    return _MARKER_WITH_SPACE.sub("", text).strip()


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


def words(text: str) -> list[str]:
    """Lower-case word tokens, unstemmed (NFKC, straight apostrophes; "doesn't" stays one token)."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").lower()
    return _WORD.findall(strip_markers(text))


def numbers(text: str) -> set[str]:
    """Every number in the text, thousands separators dropped ("1,000" and "1000" are the same number)."""
    return {n.replace(",", "") for n in _NUMBER.findall(strip_markers(text))}
