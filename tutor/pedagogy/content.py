"""The teaching material the engine serves (approved quiz items, scenarios, pathways, glossary) and the citations
that tie each piece back to a verbatim passage of a corpus document."""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from tutor.chunking import Sentence, chunk_document, split_sentences
from tutor.corpus import Corpus, strip_lines
from tutor.models import Chunk, Citation, SourceDoc
from tutor.retrieval import tokenize
from tutor.settings import ChunkingSettings


_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


class UnknownItemError(KeyError):
    """A quiz item, scenario or pathway id that the corpus does not hold (or holds only as a draft)."""

    def __str__(self) -> str:
        return str(self.args[0])


class TeachingMaterial:
    """Approved teaching material from a loaded corpus, indexed by id, plus passage lookup for citations.

    Only items with `status: approved` whose documents are approved are served; drafts and retired items are
    invisible to learners.
    """

    def __init__(self, corpus: Corpus, chunking: ChunkingSettings, index=None, embedder=None):
        self.corpus = corpus
        self.docs: dict[str, SourceDoc] = {d.id: d for d in corpus.approved()}
        self.quiz: dict[str, dict] = {
            str(q["id"]): strip_lines(q) for q in corpus.quiz
            if q.get("status") == "approved" and q.get("doc") in self.docs and q.get("type") in ("mcq", "short")}
        self.scenarios: dict[str, dict] = {
            str(s["id"]): strip_lines(s) for s in corpus.scenarios
            if s.get("status") == "approved" and s.get("figures")}
        self.pathways: dict[str, dict] = {
            str(p["id"]): strip_lines(p) for p in corpus.pathways if p.get("steps")}
        self.glossary: list[dict] = [strip_lines(g) for g in corpus.glossary if g.get("doc") in self.docs]
        self._chunking = chunking
        self._index = index
        self._embedder = embedder
        self._chunks: dict[str, list[Chunk]] = {}

    def attach_index(self, index, embedder) -> None:
        """Cite scenario sources by meaning from now on, using the live index's sentence vectors."""
        self._index, self._embedder = index, embedder

    # ------------------------------------------------------------ lookups with clear errors

    def item(self, item_id: str) -> dict:
        if item_id not in self.quiz:
            raise UnknownItemError(f"no approved quiz item '{item_id}' in {self.corpus.root}/quiz")
        return self.quiz[item_id]

    def scenario(self, scenario_id: str) -> dict:
        if scenario_id not in self.scenarios:
            known = ", ".join(sorted(self.scenarios)) or "none"
            raise UnknownItemError(f"no approved scenario '{scenario_id}' in {self.corpus.root}/scenarios (known: {known})")
        return self.scenarios[scenario_id]

    def pathway(self, pathway_id: str) -> dict:
        if pathway_id not in self.pathways:
            raise UnknownItemError(f"no pathway '{pathway_id}' in {self.corpus.root}/pathways.yaml")
        return self.pathways[pathway_id]

    def doc_title(self, doc_id: str) -> str:
        doc = self.docs.get(doc_id)
        return doc.title if doc else doc_id

    @cached_property
    def items_by_topic(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item_id, item in sorted(self.quiz.items()):
            for topic in item.get("topics") or []:
                out.setdefault(topic, []).append(item_id)
        return out

    @cached_property
    def items_by_doc(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item_id, item in sorted(self.quiz.items()):
            out.setdefault(item["doc"], []).append(item_id)
        return out

    # ------------------------------------------------------------ passages and citations

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """The document's chunks, cut exactly as the indexer cuts them, so their ids match the live index."""
        if doc_id not in self._chunks:
            self._chunks[doc_id] = chunk_document(self.docs[doc_id], self._chunking)
        return self._chunks[doc_id]

    def citation(self, doc_id: str, chunk: Chunk, quote: str, n: int) -> Citation:
        doc = self.docs[doc_id]
        source = doc.sources[0]
        return Citation(n=n, doc_id=doc.id, title=doc.title, publisher=source.publisher, url=source.url,
                        chunk_id=chunk.id, quote=quote, heading=chunk.heading, year=source.year,
                        review_due=doc.review_due.isoformat())

    def evidence_citation(self, item: dict, n: int = 1) -> Citation | None:
        """Cite the quiz item's evidence: the exact stretch of the document body it was copied from."""
        doc = self.docs.get(item.get("doc"))
        words = str(item.get("evidence", "")).split()
        if doc is None or not words:
            return None
        match = re.search(r"\s+".join(re.escape(w) for w in words), doc.body)
        if not match:
            return None
        for chunk in self.chunks_of(doc.id):
            if chunk.start <= match.start() < chunk.start + len(chunk.text):
                return self.citation(doc.id, chunk, match.group(0), n)
        return None

    def best_sentence_citation(self, doc_id: str, query: str, n: int = 1) -> Citation | None:
        """Cite the sentence of a document that best matches `query`: by meaning when the live index holds the
        document's sentence vectors, otherwise by shared key words."""
        if doc_id not in self.docs:
            return None
        best: tuple[float, Chunk, Sentence] | None = None
        query_terms = set(tokenize(query))
        query_vector = self._embedder.embed_query(query) if self._embedder is not None and self._index is not None else None
        for chunk in self.chunks_of(doc_id):
            sentences = split_sentences(chunk)
            vectors = self._index.sentence_vectors.get(chunk.id) if query_vector is not None else None
            for position, sentence in enumerate(sentences):
                if sentence.words < 6:
                    continue
                terms = set(tokenize(sentence.display))
                score = len(query_terms & terms) / (len(terms) ** 0.5 or 1.0)
                if vectors is not None and len(vectors) == len(sentences):
                    score = float(np.dot(vectors[position], query_vector)) + 0.05 * score
                if best is None or score > best[0]:
                    best = (score, chunk, sentence)
        if best is None:
            return None
        quote = _BULLET.sub("", best[2].text)  # still verbatim: a suffix of the sentence as written
        return self.citation(doc_id, best[1], quote, n)
