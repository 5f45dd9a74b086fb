"""Serving answer cards: a confident match answers with the card, citing verbatim quotes of its anchored passages;
a near match vouches for its passages; otherwise the wrapped answerer (extractive or generative) answers."""

from __future__ import annotations

import numpy as np

from tutor.answer import Draft, QuestionFocus, cite
from tutor.cards import CardIndex, CardMatch, resolve_anchor
from tutor.models import AnswerCard, Chunk, Citation, Hit, SourceDoc
from tutor.settings import CardSettings
from tutor.vocabulary import Vocabulary


class CardAnswerer:
    """Serves a card on a confident match; otherwise the answerer it wraps answers, with a near card's passages
    (vetted context) put first among the retrieved ones."""

    def __init__(self, inner, cards: CardIndex, chunks: dict[str, Chunk], docs: dict[str, SourceDoc],
                 settings: CardSettings, vocabulary: Vocabulary | None = None):
        self.inner = inner
        self.vocabulary = vocabulary
        self.cards = cards
        self.settings = settings
        self.docs = docs
        self.name = inner.name
        self.conversational = inner.conversational
        self._chunks = chunks
        self._by_doc: dict[str, list[Chunk]] = {}
        for chunk in sorted(chunks.values(), key=lambda c: c.position):
            self._by_doc.setdefault(chunk.doc_id, []).append(chunk)

    def __getattr__(self, name):  # rewrite(), index, docs ... of the wrapped answerer
        return getattr(self.inner, name)

    def top(self, question: str, query_vector: np.ndarray) -> tuple[CardMatch | None, QuestionFocus]:
        """The first card in the fused ranking (once per question: serving and context both read it)."""
        focus = QuestionFocus.of(question, self.vocabulary)
        matches = self.cards.match(focus.core, query_vector)[:1]
        return (matches[0] if matches else None), focus

    def servable(self, match: CardMatch | None, focus: QuestionFocus) -> bool:
        """A card is served on a confident match: similar enough in meaning to one of its questions, and about what
        the question turns on (its names, acronyms and numbers)."""
        if match is None or match.similarity < self.settings.serve_similarity:
            return False
        return focus.terms_covered(" ".join(match.card.questions + [s.text for s in match.card.answer]).lower())

    def _resolved(self, card: AnswerCard):
        """Each answer sentence with its anchors resolved against the indexed text (None where one no longer does)."""
        return [(sentence, [resolve_anchor(a.quote, self._by_doc.get(a.doc, [])) for a in sentence.anchors])
                for sentence in card.answer]

    def card_draft(self, match: CardMatch, allowed: set[str] | None = None) -> Draft | None:
        """The card's answer citing its anchored passages; None if an anchor no longer resolves (a stale card is
        never served) or falls outside the `allowed` passages (a topic filter, or a tutor move asking for others)."""
        citations: dict[str, Citation] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        parts = []
        for sentence, found in self._resolved(match.card):
            numbers = []
            for resolved in found:
                if resolved is None or (allowed is not None and resolved.chunk.id not in allowed):
                    return None
                chunk = resolved.chunk
                if chunk.id not in citations:
                    citations[chunk.id] = cite(chunk, self.docs[chunk.doc_id], len(citations) + 1)
                spans.setdefault(chunk.id, []).append((resolved.start, resolved.end))
                numbers.append(citations[chunk.id].n)
            markers = "".join(f" [{n}]" for n in dict.fromkeys(numbers))
            parts.append(f"{sentence.text.strip()}{markers}")
        for chunk_id, citation in citations.items():
            text = self._chunks[chunk_id].text
            start = min(s for s, _ in spans[chunk_id])
            end = max(e for _, e in spans[chunk_id])
            citation.quote = text[start:end]
        return Draft(" ".join(parts), list(citations.values()), False, match.similarity, source="card",
                     card_id=match.card.id, passages=list(citations))

    def _plan(self, question, query_vector, hits, allowed) -> tuple[Draft | None, list[Hit]]:
        """The card's draft when one is served; otherwise the passages the wrapped answerer composes from."""
        match, focus = self.top(question, query_vector)
        if self.servable(match, focus):
            draft = self.card_draft(match, allowed)
            if draft is not None:
                return draft, hits
        return None, self._with_card_context(match, hits, allowed)

    def compose(self, question: str, query_vector: np.ndarray, hits: list[Hit], allowed: set[str] | None = None,
                **extra) -> Draft:
        draft, context = self._plan(question, query_vector, hits, allowed)
        if draft is not None:
            return draft
        return self._drew_on(self.inner.compose(question, query_vector, context, allowed=allowed, **extra),
                             context, hits)

    def stream(self, question: str, query_vector: np.ndarray, hits: list[Hit], allowed: set[str] | None = None,
               **extra):
        draft, context = self._plan(question, query_vector, hits, allowed)
        if draft is not None:
            yield draft
            return
        for item in self.inner.stream(question, query_vector, context, allowed=allowed, **extra):
            yield item if isinstance(item, str) else self._drew_on(item, context, hits)

    @staticmethod
    def _drew_on(draft: Draft, context: list[Hit], hits: list[Hit]) -> Draft:
        """A near card's passages were found through the card, not the search: say so in `retrieved`."""
        retrieved = {h.chunk.id for h in hits}
        draft.passages = [h.chunk.id for h in context if h.chunk.id not in retrieved]
        return draft

    def _with_card_context(self, match: CardMatch | None, hits: list[Hit],
                           allowed: set[str] | None = None) -> list[Hit]:
        """A near (not confident) card vouches for its passages: they go first among those retrieved."""
        if match is None or match.similarity < self.settings.context_similarity:
            return hits
        anchored: list[Chunk] = []
        for _, found in self._resolved(match.card):
            for resolved in found:
                if resolved and resolved.chunk not in anchored and (allowed is None or resolved.chunk.id in allowed):
                    anchored.append(resolved.chunk)
        seen = {c.id for c in anchored}
        lead = [Hit(chunk=c, score=1.0, rank=i) for i, c in enumerate(anchored)]
        rest = [h for h in hits if h.chunk.id not in seen]
        out = lead + rest
        for rank, hit in enumerate(out):
            hit.rank = rank
        return out[: max(len(hits), len(lead))]
