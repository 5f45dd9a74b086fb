"""The extractive grounded answerer: picks the sentences that best answer the question and cites each one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tutor.chunking import Sentence
from tutor.models import ABSTAIN_TEXT, Citation, Hit, SourceDoc
from tutor.retrieval import tokenize
from tutor.settings import RetrievalSettings

_WHAT_IS = re.compile(r"^(what|who)\s+(is|are|was|were|does .+ mean)\b|^define\b|^meaning of\b", re.I)
_SPECIFIC = re.compile(r"\b(?:[A-Z][A-Za-z0-9&'-]*[A-Za-z0-9]|[A-Z]|\d{2,}(?:[.,]\d+)*)\b")
_COMMON_CAPITALISED = frozenset({"i", "what", "how", "why", "when", "where", "who", "which", "can", "could", "should",
                                 "is", "are", "do", "does", "did", "will", "would", "tell", "explain", "and", "but",
                                 "so", "if", "my", "our", "the", "a", "an", "in", "on", "for", "to", "please", "hi",
                                 "hello", "ok", "okay", "also", "then", "give", "describe", "list", "define", "name",
                                 "show", "help", "thanks", "thank", "yes", "no", "we", "you", "it", "this", "that"})


def specific_terms(question: str) -> set[str]:
    """Names, acronyms and numbers in a question: the words an answer must be about to be an answer."""
    terms = {m.group(0).split("'")[0] for m in _SPECIFIC.finditer(question)}
    return {t for t in terms if t and t.lower() not in _COMMON_CAPITALISED}


def covers(term: str, haystack: str) -> bool:
    needle = term.lower()
    if needle in haystack:
        return True
    return len(needle) > 3 and needle.endswith("s") and needle[:-1] in haystack


_COUNT = r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)"
_ANNOUNCES_LIST = re.compile(
    rf":$|\b{_COUNT}\s+(?:[\w-]+\s+){{0,3}}(?:principles|questions|steps|objectives|archetypes|domains|"
    r"recommendations|stages|ways|conditions|criteria|tiers|levels|standards|areas|themes|parts|classes|groups|"
    r"rules|requirements|duties|packages|workstreams|factors|risks|uses|routes|types|kinds|sets|categories)\b", re.I)
# A question that asks for an amount is only answered by a sentence that gives one.
_ASKS_MONEY = re.compile(r"\bhow much (?:money|funding|did .+ (?:cost|get|receive|pay))\b|\b(?:cost|price|budget|funding) of\b",
                         re.I)
_ASKS_COUNT = re.compile(r"^(?:(?:and|so|but) )?(?:how many|how much|what (?:percentage|proportion|share|number|fraction))\b",
                         re.I)
_MONEY = re.compile(r"[£$€]|\b(?:million|billion|pounds?)\b", re.I)
_QUANTITY = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|half|third|quarter|most|majority|"
                       r"minority|few|none|all)\b", re.I)
_LIST_CONTINUATION = 5
_DEFINITION = re.compile(r"\b(is|are|means|refers to|describes)\b", re.I)


@dataclass
class Draft:
    """What an answerer produces before safety and stamping: the text with [n] markers and its citations."""

    text: str
    citations: list[Citation]
    abstained: bool
    support: float


@dataclass
class _Candidate:
    hit: Hit
    sentence: Sentence
    similarity: float
    score: float
    vector: np.ndarray


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, index, docs: dict[str, SourceDoc], settings: RetrievalSettings):
        self.index = index
        self.docs = docs
        self.settings = settings

    def candidates(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> list[_Candidate]:
        query_terms = set(tokenize(question))
        asks_definition = bool(_WHAT_IS.match(question.strip()))
        out: list[_Candidate] = []
        for hit in hits:
            sentences = self.index.sentences.get(hit.chunk.id, [])
            vectors = self.index.sentence_vectors.get(hit.chunk.id)
            if vectors is None or not sentences:
                continue
            similarities = vectors @ query_vector
            for sentence, vector, similarity in zip(sentences, vectors, similarities):
                if sentence.words < 5:
                    continue
                terms = set(tokenize(sentence.display))
                overlap = len(query_terms & terms) / len(query_terms) if query_terms else 0.0
                score = float(similarity) + 0.2 * overlap + 0.04 / (1 + hit.rank)
                if asks_definition and _DEFINITION.search(sentence.display[:60]):
                    score += 0.05
                if sentence.words > 60:
                    score -= 0.05
                out.append(_Candidate(hit, sentence, float(similarity), score, vector))
        return out

    def compose(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> Draft:
        candidates = self.candidates(question, query_vector, hits)
        if not candidates:
            return self.abstain(hits, 0.0)
        candidates.sort(key=lambda c: -c.score)
        support = max(c.similarity for c in candidates)
        if support < self.settings.min_support:
            return self.abstain(hits, support)
        # Similar wording is not an answer: a name, acronym or number the question turns on must be in the passages.
        haystack = " ".join(f"{h.chunk.title} {h.chunk.heading} {h.chunk.text}" for h in hits).lower()
        if any(not covers(term, haystack) for term in specific_terms(question)):
            return self.abstain(hits, support)
        chosen = self.select(question, candidates)
        chosen = self.continue_lists(chosen, candidates)
        shown = " ".join(c.sentence.display for c in chosen)
        if (_ASKS_MONEY.search(question) and not _MONEY.search(shown)) or \
                (_ASKS_COUNT.search(question.strip()) and not _QUANTITY.search(shown)):
            return self.abstain(hits, support)
        # Read as an answer: passages in order of their best sentence, sentences in reading order within each.
        chunk_order = {}
        for candidate in chosen:
            chunk_order.setdefault(candidate.hit.chunk.id, len(chunk_order))
        ordered = sorted(chosen, key=lambda c: (chunk_order[c.hit.chunk.id], c.sentence.index))
        citations: dict[str, Citation] = {}
        spans: dict[str, list[Sentence]] = {}
        parts = []
        for candidate in ordered:
            chunk = candidate.hit.chunk
            if chunk.id not in citations:
                doc = self.docs[chunk.doc_id]
                source = doc.sources[0]
                citations[chunk.id] = Citation(
                    n=len(citations) + 1, doc_id=doc.id, title=doc.title, publisher=source.publisher, url=source.url,
                    chunk_id=chunk.id, quote="", heading=chunk.heading, year=source.year,
                    review_due=doc.review_due.isoformat())
            spans.setdefault(chunk.id, []).append(candidate.sentence)
            parts.append(f"{candidate.sentence.display} [{citations[chunk.id].n}]")
        for chunk_id, citation in citations.items():
            citation.quote = quote_span(self.index.chunks[chunk_id].text, spans[chunk_id])
        return Draft(" ".join(parts), list(citations.values()), False, support)

    def select(self, question: str, candidates: list[_Candidate]) -> list[_Candidate]:
        """Greedy choice: best score first, then favour sentences that cover parts of the question not yet covered
        (so both halves of "who chaired it and when?" are answered), skipping near-duplicates."""
        query_terms = set(tokenize(question))
        best = candidates[0].score
        eligible = [c for c in candidates
                    if c.score >= best - 0.18 and c.similarity >= self.settings.min_support * 0.8]
        chosen: list[_Candidate] = []
        covered: set[str] = set()
        while eligible and len(chosen) < self.settings.max_sentences:
            def gain(c: _Candidate) -> float:
                fresh = (set(tokenize(c.sentence.display)) & query_terms) - covered
                return c.score + (0.08 * len(fresh) / len(query_terms) if query_terms and chosen else 0.0)
            pick = max(eligible, key=gain)
            eligible.remove(pick)
            if any(float(pick.vector @ c.vector) > 0.88 for c in chosen):
                continue  # near-duplicate of a sentence already chosen
            chosen.append(pick)
            covered |= set(tokenize(pick.sentence.display)) & query_terms
        return chosen

    def continue_lists(self, chosen: list[_Candidate], candidates: list[_Candidate]) -> list[_Candidate]:
        """A sentence that announces a list ("sets out six principles", "the ten questions:") is followed by the
        sentences after it in the same passage, so the answer gives the list and not just its lead-in."""
        by_position = {(c.hit.chunk.id, c.sentence.index): c for c in candidates}
        for candidate in chosen:
            if not _ANNOUNCES_LIST.search(candidate.sentence.display):
                continue
            chunk_id = candidate.hit.chunk.id
            listed = [candidate]
            for index in range(candidate.sentence.index + 1, candidate.sentence.index + 1 + _LIST_CONTINUATION):
                follower = by_position.get((chunk_id, index))
                if follower is None:
                    break
                listed.append(follower)
            if len(listed) == 1:
                continue
            # One list per answer, plus the best two other sentences, keeps it short enough to read between patients.
            others = [c for c in chosen if c not in listed][:2]
            return listed + others
        return chosen

    def abstain(self, hits: list[Hit], support: float) -> Draft:
        titles = list(dict.fromkeys(h.chunk.title for h in hits))[:3]
        nearest = f" The nearest guidance I hold is on: {'; '.join(titles)}." if titles else ""
        return Draft(f"{ABSTAIN_TEXT}{nearest} I can help with topics such as automation bias, test accuracy, "
                     "AI regulation in the UK, information governance and reporting AI incidents.", [], True, support)


def quote_span(chunk_text: str, sentences: list[Sentence]) -> str:
    """The verbatim stretch of the chunk from the first to the last sentence used.

    Never cut short: every sentence shown with this citation's [n] must be inside its quote, and a chunk is
    token-bounded, so the stretch is at most one chunk long."""
    starts = [chunk_text.find(s.text) for s in sentences]
    if any(s < 0 for s in starts):
        return sentences[0].text
    first = min(starts)
    last = max(start + len(s.text) for start, s in zip(starts, sentences))
    return chunk_text[first:last]
