"""The faithfulness test shared by evaluation and LLM verification: is a sentence supported by a passage?

A sentence is supported by a passage when either
  * lexical: at least 60% of its content words (stemmed, stopwords removed) occur in the passage, or
  * semantic: the cosine similarity of its embedding to the best-matching sentence of the passage is at least 0.75
    and at least 30% of its content words occur in the passage (so a fluent paraphrase passes, a new claim does not).
Numbers are strict: every number in the sentence must appear in the passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tutor.retrieval import tokenize

LEXICAL_THRESHOLD = 0.6
SEMANTIC_THRESHOLD = 0.75
SEMANTIC_MIN_OVERLAP = 0.3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CITATION = re.compile(r"\s*\[\d+\]")


@dataclass
class Support:
    supported: bool
    overlap: float
    similarity: float
    reason: str


def strip_markers(text: str) -> str:
    return _CITATION.sub("", text).strip()


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def lexical_overlap(sentence: str, passage: str) -> float:
    words = set(tokenize(sentence))
    if not words:
        return 1.0
    return len(words & set(tokenize(passage))) / len(words)


def sentence_support(sentence: str, passages: list[str], embedder=None,
                     passage_sentences: list[list[str]] | None = None) -> Support:
    """Test one answer sentence against the passages it cites (or may cite)."""
    sentence = strip_markers(sentence)
    if not passages:
        return Support(False, 0.0, 0.0, "no passage cited")
    missing_numbers = numbers_in(sentence) - set().union(*(numbers_in(p) for p in passages))
    overlap = max(lexical_overlap(sentence, p) for p in passages)
    if missing_numbers:
        return Support(False, overlap, 0.0, f"numbers not in any cited passage: {', '.join(sorted(missing_numbers))}")
    if overlap >= LEXICAL_THRESHOLD:
        return Support(True, overlap, 0.0, "lexical")
    similarity = 0.0
    if embedder is not None and overlap >= SEMANTIC_MIN_OVERLAP:
        candidates = [s for group in (passage_sentences or [[p] for p in passages]) for s in group]
        vectors = embedder.embed([sentence] + candidates)
        similarity = float(np.max(vectors[1:] @ vectors[0])) if candidates else 0.0
        if similarity >= SEMANTIC_THRESHOLD:
            return Support(True, overlap, similarity, "semantic")
    return Support(False, overlap, similarity, "not supported by any cited passage")
