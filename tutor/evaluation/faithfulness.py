"""Faithfulness measured independently of the production verifier: is each answer sentence contained in what it cites?

The generative backend drops sentences with tutor.grounding (stemmed content words plus embedding similarity). This
check shares none of that code, no tokenizer and no model, so a regression in the verifier shows up here:

* **words:** at least `MIN_WORDS` of the sentence's content words (unstemmed, lower-case; a plural "s" folded)
  occur in the passages it cites, taken together;
* **word pairs:** at least `MIN_PAIRS` of its consecutive word pairs (stopwords included) occur there too, so the
  same words rearranged into a new claim do not pass;
* **numbers:** every number in the sentence occurs in a cited passage.

A sentence with no [n] marker, or whose markers point at no citation, cites nothing and is not supported.
An extractive sentence, quoted from its passage, passes with both shares at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.evaluation.text import numbers, strip_markers, words

MIN_WORDS = 0.75
MIN_PAIRS = 0.5
STOPWORDS = frozenset("""
a about after all also an and any are as at be been before being both but by can could did do does doing for from
had has have having he her here hers him his how i if in into is it its itself just may me might more most must my
no nor not of off on once only or other our ours out over own same shall she should so some such than that the
their theirs them then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours
""".split())


@dataclass(frozen=True)
class Containment:
    supported: bool
    word_share: float
    pair_share: float
    reason: str


def _fold(token: str) -> str:
    """A light, deliberately simple fold: possessive and plural endings off ("tools" and "tool's" are "tool")."""
    token = token.removesuffix("'s")
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def _tokens(text: str) -> list[str]:
    return [_fold(t) for t in words(text)]


def _pairs(tokens: list[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:]))


def containment(sentence: str, passages: list[str]) -> Containment:
    """Test one answer sentence against the text of the passages it cites."""
    sentence = strip_markers(sentence)
    if not passages:
        return Containment(False, 0.0, 0.0, "cites no passage")
    source = " \n ".join(passages)
    missing = sorted(numbers(sentence) - numbers(source))
    tokens, source_tokens = _tokens(sentence), _tokens(source)
    content = {t for t in tokens if t not in STOPWORDS}
    word_share = len(content & set(source_tokens)) / len(content) if content else 1.0
    pairs = _pairs(tokens)
    pair_share = len(pairs & _pairs(source_tokens)) / len(pairs) if pairs else 1.0
    if missing:
        return Containment(False, word_share, pair_share, f"numbers not in a cited passage: {', '.join(missing)}")
    if word_share < MIN_WORDS:
        return Containment(False, word_share, pair_share,
                           f"{word_share:.0%} of its content words are in the cited passages (needs {MIN_WORDS:.0%})")
    if pair_share < MIN_PAIRS:
        return Containment(False, word_share, pair_share,
                           f"{pair_share:.0%} of its word pairs are in the cited passages (needs {MIN_PAIRS:.0%})")
    return Containment(True, word_share, pair_share, "contained")
