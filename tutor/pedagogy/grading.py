"""Grading: multiple choice by option, free text against the item's key points by meaning plus key phrases.

A free-text reply is cut into sentences and clauses. A key point is made when some clause of the reply
  * means the same on the bundled embedding model (cosine similarity >= `point_similarity`, 0.65), or
  * is fairly close in meaning (>= `phrase_similarity`, 0.45) and uses at least 30% of the key point's key phrases
    (its content words, stemmed as retrieval stems them, less the question's own words) or all of its numbers, or
  * uses three quarters of its key phrases and is not far off in meaning (>= 0.3),
and that clause does not negate it: when the key point is stated positively, a clause with a "not", "never",
"cannot" ... does not count, and the feedback says the reply seems to say the opposite. The score is the share of
key points made; the reply is correct when the score reaches `pass_mark` (0.5).

The thresholds were set on 30 hand-marked replies to 11 items (94 of 100 key-point decisions agree with the marker,
none credited wrongly) and checked on 14 fresh replies to 8 other items (47 of 49 agree); see
tests/test_pedagogy_grading.py. Grading errs towards withholding credit, and the learner always sees the key points
and the model answer, so a missed paraphrase costs a review, not a wrong lesson.
"""

from __future__ import annotations

import random
import re


from tutor.grounding import numbers_in
from tutor.pedagogy.models import KeyPointResult
from tutor.retrieval import tokenize
from tutor.settings import LearningSettings

GIVE_UP = re.compile(
    r"^\s*(i\s*(do\s*not|don'?t)\s*know|not\s+sure|no\s+idea|pass|skip|(please\s+)?(show|tell|give)\s+me(\s+the\s+answer)?"
    r"|(just\s+)?(show|tell|give)(\s+me)?\s+the\s+answer|answer|\?+|-+)\s*[.!?]*\s*$", re.I)
_NEGATION = re.compile(r"\b(not|no|never|cannot|neither|nor|none|nothing|without|unlikely)\b|n't\b", re.I)
_CLAUSE = re.compile(r"[.;:!?\n]+|,\s*|\s+(?:and|but|because|so|which|while|whereas|although|though)\s+", re.I)
LEXICAL_ONLY_FLOOR = 0.3
PHRASE_SHARE = 0.3


def presented_options(item: dict, learner_id: str | None) -> list[str]:
    """The item's options in the order this learner sees them: shuffled, but the same every time for the same
    learner and item, so a letter means the same option when it is graded. (Authors tend to list the right answer
    first; a fixed order would teach learners to pick A.)"""
    options = list(item.get("options") or [])
    random.Random(f"{learner_id or ''}/{item['id']}").shuffle(options)
    return options


def option_chosen(response: str, options: list[str]) -> str | None:
    """The option a multiple-choice reply picks: its text, its letter (A-E) or its number (1-5)."""
    reply = " ".join(response.split()).strip().rstrip(".").strip()
    if not reply:
        return None
    letter = re.fullmatch(r"\(?([a-eA-E])\)?", reply)
    if letter and ord(letter.group(1).lower()) - ord("a") < len(options):
        return options[ord(letter.group(1).lower()) - ord("a")]
    if reply.isdigit() and 1 <= int(reply) <= len(options):
        return options[int(reply) - 1]
    for option in options:
        if " ".join(option.split()).lower() == reply.lower():
            return option
    return None


def gave_up(response: str) -> bool:
    """An empty reply, or one that asks for the answer ("I don't know", "show me the answer")."""
    return not response.strip() or bool(GIVE_UP.match(response))


def clauses(text: str) -> list[str]:
    """The reply's sentences and their clauses, plus the whole reply (a point may span a clause boundary)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if len(s.split()) >= 2]
    parts = [p.strip() for p in _CLAUSE.split(text) if p and len(p.split()) >= 2]
    whole = " ".join(text.split())
    return list(dict.fromkeys(sentences + parts + [whole]))


def negations(text: str) -> int:
    return len(_NEGATION.findall(text))


def key_phrases(point: str, question: str = "") -> set[str]:
    """A key point's key phrases: its content words, stemmed as retrieval stems them, less the question's own words
    (echoing the question is not making the point)."""
    terms = set(tokenize(point))
    return (terms - set(tokenize(question))) or terms


def key_phrase_overlap(phrases: set[str], text: str) -> float:
    return len(phrases & set(tokenize(text))) / len(phrases) if phrases else 0.0


def grade_key_points(reply: str, key_points: list[str], embedder, settings: LearningSettings,
                     question: str = "") -> list[KeyPointResult]:
    """Which key points a free-text reply makes, each with the evidence for the decision."""
    units = clauses(reply)
    if not units or not key_points:
        return [KeyPointResult(point=p, made=False, similarity=0.0, phrase_overlap=0.0) for p in key_points]
    vectors = embedder.embed(list(key_points) + units)
    similarity = vectors[: len(key_points)] @ vectors[len(key_points):].T  # key point x clause
    results = []
    for row, point in enumerate(key_points):
        negated_point = negations(point) % 2 == 1
        phrases = key_phrases(point, question)
        point_numbers = numbers_in(point)
        best = {True: (0.0, 0.0, False), False: (0.0, 0.0, False)}  # agrees? -> (similarity, overlap, makes)
        for column, unit in enumerate(units):
            value, overlap = float(similarity[row, column]), key_phrase_overlap(phrases, unit)
            # A point stated positively is contradicted by a clause that negates it. A point that itself contains a
            # negation ("... not automatically good") can be paraphrased many ways, so any clause may make it.
            agrees = negated_point or negations(unit) % 2 == 0
            same_numbers = bool(point_numbers) and point_numbers <= numbers_in(unit)
            candidate = (value, overlap, _makes(value, overlap, settings, same_numbers))
            if (candidate[2], candidate[0]) > (best[agrees][2], best[agrees][0]):
                best[agrees] = candidate
        made = best[True][2]
        contradicted = not made and best[False][2]
        shown = best[False] if contradicted else best[True]
        results.append(KeyPointResult(point=point, made=made, similarity=round(shown[0], 3),
                                      phrase_overlap=round(shown[1], 3), contradicted=contradicted))
    return results


def _makes(similarity: float, overlap: float, settings: LearningSettings, same_numbers: bool = False) -> bool:
    return (similarity >= settings.point_similarity
            or (similarity >= settings.phrase_similarity and same_numbers)
            or (similarity >= settings.phrase_similarity and overlap >= PHRASE_SHARE)
            or (similarity >= LEXICAL_ONLY_FLOOR and overlap >= 0.75))


def closest_option(reply: str, options: list[str], embedder, settings: LearningSettings,
                   question: str = "") -> str | None:
    """The option a reply in the learner's own words makes, graded like a key point; None if it makes none. When
    it makes more than one, the most similar wins."""
    results = grade_key_points(reply, options, embedder, settings, question=question)
    made = [(r.similarity, option) for r, option in zip(results, options) if r.made]
    return max(made)[1] if made else None


def score_of(results: list[KeyPointResult]) -> float:
    return round(sum(r.made for r in results) / len(results), 3) if results else 0.0
