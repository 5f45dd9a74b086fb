"""Hybrid retrieval: BM25 (bm25s) and dense search (Chroma), fused by reciprocal rank fusion on chunk ids."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from tutor.embeddings import Embedder
from tutor.models import Chunk, Hit
from tutor.settings import RetrievalSettings

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other
our ours ourselves out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while who whom why will
with would you your yours yourself yourselves tell explain mean means please does do
""".split())


def stem(word: str) -> str:
    """A deliberately light suffix stripper: enough for 'models'/'model', 'biases'/'bias', not a linguist."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def chunk_search_text(chunk: Chunk) -> str:
    return f"{chunk.title} {chunk.heading} {chunk.text}"


class Bm25Index:
    def __init__(self, retriever: bm25s.BM25, ids: list[str]):
        self._retriever = retriever
        self._ids = ids
        self._vocab = set(retriever.vocab_dict)

    @classmethod
    def build(cls, chunks: list[Chunk]) -> "Bm25Index":
        retriever = bm25s.BM25()
        retriever.index([tokenize(chunk_search_text(c)) or ["_"] for c in chunks], show_progress=False)
        return cls(retriever, [c.id for c in chunks])

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))
        (folder / "ids.json").write_text(json.dumps(self._ids))

    @classmethod
    def load(cls, folder: Path, chunks: list[Chunk]) -> "Bm25Index":
        ids = json.loads((folder / "ids.json").read_text())
        if set(ids) != {c.id for c in chunks}:
            raise ValueError("BM25 ids do not match the chunks")
        return cls(bm25s.BM25.load(str(folder)), ids)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not self._ids:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(self._ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]


def rrf(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass
class Retrieval:
    query: str
    query_vector: np.ndarray
    hits: list[Hit]
    allowed: set[str] | None = None  # the chunk ids a filter admits; None when nothing is filtered


class Retriever:
    """Runs both searches on the live index and fuses them. Filters: audience and topic."""

    def __init__(self, index, embedder: Embedder, settings: RetrievalSettings):
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, audience: str | None = None, topic: str | None = None,
               mode: str = "hybrid", k: int | None = None, keywords: str = "") -> Retrieval:
        """`keywords` are searched by BM25 only (other names for what the query names): words widen a keyword
        search, but would blur the meaning of the query's embedding."""
        k = k or self.settings.top_k
        where: dict = {}
        if audience:
            where[f"audience_{audience}"] = True
        if topic:
            where[f"topic_{topic}"] = True
        vector = self.embedder.embed_query(query)
        rankings: list[list[str]] = []
        dense: list[tuple[str, float]] = []
        bm25: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self.index.store.query(vector, self.settings.candidates, where or None)
            rankings.append([cid for cid, _ in dense])
        allowed = self._allowed(audience, topic)
        if mode in ("hybrid", "bm25"):
            bm25 = [(cid, s) for cid, s in self.index.bm25.search(f"{query} {keywords}".strip(),
                                                                  self.settings.candidates * 3)
                    if allowed is None or cid in allowed][: self.settings.candidates]
            rankings.append([cid for cid, _ in bm25])
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense)}
        bm25_rank = {cid: r for r, (cid, _) in enumerate(bm25)}
        fused = rrf(rankings, self.settings.rrf_k)[:k]
        hits = [Hit(chunk=self.index.chunks[cid], score=score, rank=rank, dense_rank=dense_rank.get(cid),
                    bm25_rank=bm25_rank.get(cid))
                for rank, (cid, score) in enumerate(fused) if cid in self.index.chunks]
        return Retrieval(query, vector, hits, allowed)

    def _allowed(self, audience: str | None, topic: str | None) -> set[str] | None:
        if not audience and not topic:
            return None
        return {cid for cid, c in self.index.chunks.items()
                if (not audience or audience in c.audience or "all" in c.audience) and (not topic or topic in c.topics)}


FOLLOW_UP = re.compile(r"^(and|but|or|what about|how about|so|also|then|in|for|is that|does that|why|how)\b", re.I)
PRONOUNS = re.compile(r"\b(it|its|this|that|they|them|their|these|those|he|she|there)\b", re.I)


def standalone_question(question: str, history: list | None) -> str:
    """Turn a follow-up ('and in Scotland?') into a standalone query using the last user question, without an LLM."""
    if not history:
        return question
    previous = next((t.content for t in reversed(history) if t.role == "user"), None)
    if not previous:
        return question
    words = question.split()
    if not (len(words) <= 6 or FOLLOW_UP.match(question.strip()) or (len(words) <= 12 and PRONOUNS.search(question))):
        return question
    own = set(tokenize(question))
    if len(own) <= 2:  # "and in Scotland?": the earlier question carries the subject
        return f"{previous} {question}"
    if not PRONOUNS.search(question):  # "and who do I tell if the tool makes a mistake?" asks something new
        return question
    # A follow-up that points back ("does it apply to nurses?") keeps its lead; the earlier question lends only
    # its key words.
    carried = [w for w in re.findall(r"[A-Za-z0-9][\w-]*", previous)
               if w.lower() not in STOPWORDS and stem(w.lower()) not in own]
    return f"{question} {' '.join(dict.fromkeys(carried[:6]))}".strip()
