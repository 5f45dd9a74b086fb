"""Verification after generation: every sentence shown must be supported by a passage it cites.

For each sentence of the model's reply:
  * citation markers that point at no given passage ([7] when three were given) are removed;
  * each passage it cites is tested with the shared faithfulness test (`tutor.grounding.sentence_support`), and only
    the passages that support it stay cited; a sentence no cited passage supports is dropped;
  * a sentence with no citation at all is kept only if a given passage supports it, and then cites that passage.
Citations are renumbered 1, 2, ... in order of first use. It works on a whole reply or piece by piece as a reply
streams in, so a learner never sees a sentence before it has been checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.grounding import sentence_support
from tutor.llm.prompts import ABSTAIN_SENTINEL, CHECK_PREFIX, Passage

_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A sentence ends at . ! or ? (and any markers after it) before a capital, digit or opening quote; a line always ends.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:[\"'”’)])?(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*)([ \t]+)(?=[A-Z0-9\"“‘'(])"
                       r"|[ \t]*(\n\s*)(?=\S)")
_BULLET = re.compile(r"^(\s*(?:[-*•]|\d+[.)])\s+)")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


@dataclass
class Segment:
    text: str
    separator: str  # what stood before it: "" at the start, " ", "\n" or "\n\n"


def segments(text: str) -> list[Segment]:
    """Split a reply into sentences and list lines, each remembering the break before it."""
    out: list[Segment] = []
    start, separator = 0, ""
    for match in _BOUNDARY.finditer(text):
        if match.group(3) is not None:
            end, next_separator = match.start(), "\n\n" if match.group(3).count("\n") > 1 else "\n"
        else:
            end, next_separator = match.start(2), " "
        out.append(Segment(text[start:end].strip(), separator))
        start, separator = match.end(), next_separator
    out.append(Segment(text[start:].strip(), separator))
    return [s for s in out if s.text]


@dataclass
class Verification:
    text: str = ""
    cited: list[int] = field(default_factory=list)  # passage numbers, in the order of the new citation numbers
    evidence: dict[int, list[str]] = field(default_factory=dict)  # passage number -> answer sentences citing it
    kept: int = 0
    dropped: list[dict] = field(default_factory=list)
    markers_removed: list[int] = field(default_factory=list)
    citations_added: int = 0
    abstained: bool = False
    check_question: str | None = None

    @property
    def checked(self) -> int:
        return self.kept + len(self.dropped)

    @property
    def supported_fraction(self) -> float:
        return self.kept / self.checked if self.checked else 0.0

    def summary(self) -> dict:
        return {"sentences_kept": self.kept, "sentences_dropped": len(self.dropped), "dropped": self.dropped,
                "markers_removed": self.markers_removed, "citations_added": self.citations_added,
                "check_question": self.check_question is not None}


class Verifier:
    """Feed it the reply (whole or in pieces); it returns the checked text to show, piece by piece."""

    def __init__(self, passages: list[Passage], passage_sentences: dict[int, list[str]], embedder=None):
        self.passages = {p.n: p for p in passages}
        self.passage_sentences = passage_sentences
        self.embedder = embedder
        self.result = Verification()
        self._buffer = ""
        self._done = 0  # segments of the buffer already checked
        self._pending_separator = ""

    def feed(self, piece: str) -> list[str]:
        self._buffer += piece
        complete = segments(self._buffer)[:-1]  # the last one may still be growing
        return self._check(complete)

    def finish(self) -> list[str]:
        return self._check(segments(self._buffer))

    def _check(self, complete: list[Segment]) -> list[str]:
        shown = []
        for segment in complete[self._done:]:
            self._pending_separator = _stronger(self._pending_separator, segment.separator)
            rendered = self._verify(segment.text)
            if rendered is None:
                continue
            separator = self._pending_separator if self.result.text else ""
            self._pending_separator = ""
            self.result.text += separator + rendered
            shown.append(separator + rendered)
        self._done = max(self._done, len(complete))
        return shown

    def _verify(self, raw: str) -> str | None:
        bullet = _BULLET.match(raw)
        prefix = bullet.group(1) if bullet else ""
        numbers = [int(n) for group in _MARKER.findall(raw) for n in re.split(r"[,;]", group)]
        body = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _MARKER.sub("", raw[len(prefix):])).strip()
        if ABSTAIN_SENTINEL in body:
            self.result.abstained = True
            return None
        if not re.search(r"[A-Za-z]{2}", body) or body.startswith("#"):
            return None  # a stray rule, number or Markdown heading: nothing to show or check
        given = list(dict.fromkeys(n for n in numbers if n in self.passages))
        self.result.markers_removed += [n for n in numbers if n not in self.passages]
        is_check = body.startswith(CHECK_PREFIX)
        claim = body[len(CHECK_PREFIX):].strip() if is_check else body
        if given:
            supporters = [n for n in given if self._supports(claim, n)]
        else:
            supporters = next(([n] for n in self.passages if self._supports(claim, n)), [])
        if is_check:
            if not supporters or not claim.endswith("?") or self.result.check_question is not None:
                return None  # optional: an unsupported or second check question is simply left out
            self.result.check_question = body
        elif not supporters:
            reason = "cites no passage" if not given else "not supported by the passages it cites"
            self.result.dropped.append({"sentence": body, "reason": reason})
            return None
        else:
            self.result.kept += 1
            self.result.citations_added += 0 if given else 1
        for n in supporters:
            if n not in self.result.cited:
                self.result.cited.append(n)
            self.result.evidence.setdefault(n, []).append(claim)
        markers = " ".join(f"[{self.result.cited.index(n) + 1}]" for n in supporters)
        return f"{prefix}{body} {markers}"

    def _supports(self, sentence: str, n: int) -> bool:
        passage = self.passages[n].chunk.text
        return sentence_support(sentence, [passage], self.embedder,
                                [self.passage_sentences.get(n) or [passage]]).supported


def _stronger(first: str, second: str) -> str:
    order = ["", " ", "\n", "\n\n"]
    return max(first, second, key=order.index)


def verify_reply(text: str, passages: list[Passage], passage_sentences: dict[int, list[str]],
                 embedder=None) -> Verification:
    verifier = Verifier(passages, passage_sentences, embedder)
    verifier.feed(text)
    verifier.finish()
    return verifier.result
