"""The notice policy: which safe-use notices a message needs, at most `max_notices`, none on pure concept questions."""

from __future__ import annotations

import re

import numpy as np

from tutor.identifiers import describe_kinds
from tutor.models import Notice
from tutor.safety.catalogue import NoticeSpec
from tutor.safety.classifier import ExampleIndex
from tutor.safety.vocabulary import EMERGENCY, NO_PATIENT_DATA

#: A message this close in meaning to one of a notice's examples gets that notice (when it is about real use).
EXAMPLE_SIMILARITY = 0.62

# "What is X?", "How does X work?", "Explain X": asks about an idea, not about doing something.
CONCEPT_OPENER = re.compile(
    r"^(?:(?:so|and|but|ok|okay|right|then|also|please)[,]? )*(?:what (?:is|are|was|were|does|do|did)\b|what's\b|"
    r"define\b|definition of\b|meaning of\b|explain\b|describe\b|how (?:does|do|is|are|was|were|did|can|could|might)"
    r" (?!i\b|we\b|you\b)|why (?:does|do|is|are|did|might|can|would|could) (?!i\b|we\b)|who (?:is|are|was|were|wrote|"
    r"leads|led|runs|chairs|published)\b|when (?:was|were|did|is|does|do)\b|which\b|where (?:does|do|did|is)\b|"
    r"give me (?:an )?examples?|examples? of|tell me (?:about|more)|difference between|compare\b|summari[sz]e\b|"
    r"list\b|is there evidence|what evidence)", re.I)
# Doing something with AI at work, or a duty: a message with these is about real use, whatever its opening.
REAL_USE = re.compile(
    r"\b(?:i|i'm|i've|i'd|we|we're|we've|my|our|us|me|myself|should|shall|allowed|ok to|okay to|fine to|safe to|"
    r"is it (?:safe|ok|okay|fine|allowed|acceptable|legal|appropriate|wise)|at work|on the ward|in clinic|in practice|"
    r"responsib\w*|accountab\w*|liab\w*|to blame|if (?:an?|the) (?:ai|tool|algorithm|chatbot|model|scribe|app)|"
    r"colleague|colleagues|staff|clinicians? (?:should|can|must)|process for|steps to|how to|what do i|what should i)\b",
    re.I)


def is_concept_question(text: str) -> bool:
    return bool(CONCEPT_OPENER.match(text.strip())) and not REAL_USE.search(text)


class NoticePolicy:
    def __init__(self, notices: dict[str, NoticeSpec], examples: ExampleIndex | None, max_notices: int):
        self.notices = notices
        self.examples = examples
        self.max_notices = max_notices
        self._masks = ({n: examples.label_mask(f"notice:{n}") for n in notices} if examples is not None else {})

    def notice(self, notice_id: str, pii: list[str] | tuple[str, ...] = ()) -> Notice:
        spec = self.notices[notice_id]
        text = spec.text
        if pii and spec.removed_text:
            text = f"{spec.removed_text.format(kinds=describe_kinds(pii))} {text}"
        return Notice(id=spec.id, text=text)

    def scores(self, similarities: np.ndarray | None) -> dict[str, float]:
        if similarities is None:
            return {}
        return {n: float(similarities[mask].max()) for n, mask in self._masks.items() if mask.any()}

    def choose(self, text: str, intent: str, refused: bool, pii: list[str] | tuple[str, ...],
               similarities: np.ndarray | None) -> list[Notice]:
        """The notices for this message, most important first. `text` is the redacted message."""
        if intent == EMERGENCY or self.max_notices <= 0:
            return []
        chosen: list[str] = [NO_PATIENT_DATA] if pii else []
        if not refused and not is_concept_question(text):
            closeness = self.scores(similarities)
            ranked = []
            for spec in self.notices.values():
                triggered = any(t.search(text) for t in spec.triggers)
                close = closeness.get(spec.id, 0.0)
                if triggered or close >= EXAMPLE_SIMILARITY:
                    ranked.append((not triggered, -close if not triggered else 0.0, spec.priority, spec.id))
            chosen += [notice_id for *_, notice_id in sorted(ranked) if notice_id not in chosen]
        return [self.notice(n, pii if n == NO_PATIENT_DATA else ()) for n in chosen[: self.max_notices]]
