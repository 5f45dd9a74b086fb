"""Answer cards: curated answers to the questions clinicians ask most, matched to a question by meaning and words.

A card (corpus/answers/*.yaml, format in corpus/README.md) holds a canonical question, the other ways clinicians
ask it, and a short answer whose every sentence is anchored to a quoted passage of an approved document. This module
    * checks that each anchor resolves to one passage (chunk) and that each sentence is supported by its anchors,
      with the same support test grounded answers use (tutor.grounding.sentence_support);
    * builds the question index stored with each index build (a vector per card question, BM25 over them) and
      matches a question against it;
The answerer that serves cards is tutor/card_answerer.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import bm25s
import numpy as np

from tutor.chunking import chunk_document
from tutor.corpus import Corpus, locate_quote
from tutor.embeddings import Embedder
from tutor.grounding import sentence_support
from tutor.models import AnswerCard, Chunk, Problem
from tutor.retrieval import rrf, tokenize
from tutor.settings import ChunkingSettings


# ---------------------------------------------------------------- anchors

@dataclass(frozen=True)
class ResolvedAnchor:
    chunk: Chunk
    start: int  # offsets of the quote in chunk.text
    end: int


def resolve_anchor(quote: str, chunks: list[Chunk]) -> ResolvedAnchor | None:
    """The first passage of the document that holds the whole quote (a quote may not straddle two passages)."""
    for chunk in chunks:
        span = locate_quote(chunk.text, quote)
        if span:
            return ResolvedAnchor(chunk, *span)
    return None


def check_cards(corpus: Corpus, chunking: ChunkingSettings, embedder_factory: Callable[[], Embedder] | None = None
                ) -> list[Problem]:
    """Every anchor resolves to one passage of an approved document and supports its sentence.

    The support test is lexical first; the embedding model is loaded only for sentences that need the semantic test
    (and when `embedder_factory` is None those sentences are reported as unsupported)."""
    docs = {d.id: d for d in corpus.docs}
    chunks: dict[str, list[Chunk]] = {}
    embedder: list[Embedder] = []
    problems: list[Problem] = []
    for card in corpus.cards:
        for number, sentence in enumerate(card.answer, 1):
            quotes = []
            for anchor in sentence.anchors:
                doc = docs.get(anchor.doc)
                if doc is None:
                    continue  # reported by the structural checks
                if anchor.doc not in chunks:
                    chunks[anchor.doc] = chunk_document(doc, chunking)
                resolved = resolve_anchor(anchor.quote, chunks[anchor.doc])
                if resolved is None:
                    if locate_quote(doc.body, anchor.quote):
                        problems.append(Problem(path=card.path, line=sentence.line, message=(
                            f"card {card.id}, sentence {number}: the quote from {anchor.doc} straddles two passages; "
                            "quote less, from within one section")))
                    continue  # a quote not in the document at all is reported by the structural checks
                quotes.append(resolved.chunk.text[resolved.start:resolved.end])
            if len(quotes) != len(sentence.anchors):
                continue
            support = sentence_support(sentence.text, quotes)
            if not support.supported and support.reason == "not supported by any cited passage" \
                    and embedder_factory is not None:
                if not embedder:
                    embedder.append(embedder_factory())
                support = sentence_support(sentence.text, quotes, embedder[0])
            if not support.supported:
                problems.append(Problem(path=card.path, line=sentence.line, message=(
                    f"card {card.id}, sentence {number} is not supported by its anchor ({support.reason}; "
                    f"{support.overlap:.0%} of its words are in the quote): keep closer to the quoted words, "
                    "or quote the passage that says it")))
    return problems


# ---------------------------------------------------------------- the question index

CARDS_FILE = "cards.jsonl"
VECTORS_FILE = "cards.npz"


def card_questions(cards: list[AnswerCard]) -> tuple[list[str], list[int]]:
    """Every question of every card, and the card each belongs to (by position)."""
    texts, owners = [], []
    for position, card in enumerate(cards):
        for question in card.questions:
            texts.append(question)
            owners.append(position)
    return texts, owners


def servable(corpus: Corpus) -> list[AnswerCard]:
    """Approved cards whose anchors all point at approved documents."""
    approved = {d.id for d in corpus.approved()}
    return [c for c in corpus.cards if c.status == "approved" and set(c.docs) <= approved]


def save_card_index(folder: Path, cards: list[AnswerCard], vectors: np.ndarray) -> None:
    with open(folder / CARDS_FILE, "w", encoding="utf-8") as handle:
        for card in cards:
            handle.write(card.model_dump_json() + "\n")
    _, owners = card_questions(cards)
    np.savez(folder / VECTORS_FILE, vectors=vectors.astype(np.float32), owners=np.array(owners, dtype=np.int32))


@dataclass
class CardMatch:
    card: AnswerCard
    similarity: float  # best cosine similarity between the question and one of the card's questions
    question: str      # that card question
    rank: int          # place of the card in the fused (dense + BM25) ranking, 0 = first


class CardIndex:
    """The cards of one index build and their questions: dense vectors plus BM25, fused by reciprocal rank."""

    def __init__(self, cards: list[AnswerCard], vectors: np.ndarray, owners: np.ndarray):
        self.cards = cards
        self.vectors = vectors
        self.owners = owners
        self.texts, _ = card_questions(cards)
        self._bm25 = None
        if self.texts:
            self._bm25 = bm25s.BM25()
            self._bm25.index([tokenize(t) or ["_"] for t in self.texts], show_progress=False)
            self._vocab = set(self._bm25.vocab_dict)

    @classmethod
    def load(cls, folder: Path) -> "CardIndex":
        if not (folder / CARDS_FILE).is_file():  # a build made before cards existed
            return cls([], np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int32))
        with open(folder / CARDS_FILE, encoding="utf-8") as handle:
            cards = [AnswerCard.model_validate_json(line) for line in handle]
        packed = np.load(folder / VECTORS_FILE)
        return cls(cards, packed["vectors"], packed["owners"])

    def __len__(self) -> int:
        return len(self.cards)

    def match(self, question: str, query_vector: np.ndarray, candidates: int = 10, rrf_k: int = 60) -> list[CardMatch]:
        """Cards best first by fused rank, each with its best question similarity."""
        if not self.cards:
            return []
        similarities = self.vectors @ query_vector
        best: dict[int, tuple[float, int]] = {}
        for row, (owner, similarity) in enumerate(zip(self.owners.tolist(), similarities.tolist())):
            if owner not in best or similarity > best[owner][0]:
                best[owner] = (similarity, row)
        dense = sorted(best, key=lambda c: -best[c][0])[:candidates]
        rankings = [[str(c) for c in dense]]
        tokens = [t for t in tokenize(question) if t in self._vocab]
        if tokens:
            rows, scores = self._bm25.retrieve([tokens], k=min(candidates * 4, len(self.texts)), show_progress=False,
                                               n_threads=1)
            ranked: list[str] = []
            for row, score in zip(rows[0].tolist(), scores[0].tolist()):
                owner = str(int(self.owners[row]))
                if score > 0 and owner not in ranked:
                    ranked.append(owner)
            rankings.append(ranked[:candidates])
        fused = rrf(rankings, rrf_k)
        return [CardMatch(self.cards[int(c)], best[int(c)][0], self.texts[best[int(c)][1]], rank)
                for rank, (c, _) in enumerate(fused)]
