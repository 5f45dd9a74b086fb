"""Metrics that need no LLM: each is a small class whose `score(sample)` returns a value and the reason for it.

A value of None means "does not apply to this case" (a refusal has no citations to check); it is never averaged in
as zero, and never silently dropped either: every summary figure reports how many cases it was computed over.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from tutor.evaluation import readability
from tutor.evaluation.cases import EvalCase
from tutor.evaluation.faithfulness import containment
from tutor.evaluation.leakage import leaked_values
from tutor.evaluation.notices import check_notice, notice_given_by_id
from tutor.evaluation.text import answer_sentences, citation_numbers, phrase_found, strip_markers
from tutor.models import Answer, Chunk


class MetricResult(BaseModel):
    name: str
    value: float | None = Field(description="The score; None when the metric does not apply to this case.")
    reason: str
    details: dict = Field(default_factory=dict)


@dataclass
class EvalContext:
    """What metrics need beyond the answer: the index's passages, the corpus files and the embedding model."""

    chunks: dict[str, Chunk]
    sentences: dict[str, list[str]] = field(default_factory=dict)
    corpus_dir: Path | None = None
    embedder: object | None = None
    _files: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_tutor(cls, tutor, corpus_dir: Path | None = None) -> "EvalContext":
        index = tutor.retriever.index
        sentences = {cid: [s.display for s in group] for cid, group in index.sentences.items()}
        return cls(chunks=index.chunks, sentences=sentences, corpus_dir=corpus_dir, embedder=tutor.retriever.embedder)

    def corpus_file(self, doc_id: str) -> str | None:
        """The document's file as it is on disk now, so a stale index cannot vouch for a quote."""
        if doc_id not in self._files:
            path = self.corpus_dir / "docs" / f"{doc_id}.md" if self.corpus_dir else None
            self._files[doc_id] = path.read_text(encoding="utf-8") if path and path.is_file() else None
        return self._files[doc_id]


@dataclass
class Sample:
    case: EvalCase
    answer: Answer
    elapsed_ms: float
    context: EvalContext


def substantive(answer: Answer) -> bool:
    """An answer that makes claims: not a refusal, not an abstention, not empty."""
    return not answer.refused and not answer.abstained and bool(answer.answer.strip())


def ranked_documents(answer: Answer, chunks: dict[str, Chunk]) -> list[str]:
    docs: list[str] = []
    for chunk_id in answer.retrieved:
        chunk = chunks.get(chunk_id)
        if chunk and chunk.doc_id not in docs:
            docs.append(chunk.doc_id)
    return docs


class FactCoverage:
    name = "fact_coverage"

    def score(self, sample: Sample) -> MetricResult:
        facts = sample.case.expect.facts
        if not facts:
            return MetricResult(name=self.name, value=None, reason="no facts expected")
        text = strip_markers(sample.answer.answer)
        missing = [alternatives[0] for alternatives in facts if not any(phrase_found(p, text) for p in alternatives)]
        found = len(facts) - len(missing)
        reason = f"{found} of {len(facts)} facts stated" + (f"; missing: {'; '.join(missing)}" if missing else "")
        return MetricResult(name=self.name, value=found / len(facts), reason=reason, details={"missing": missing})


class CitationValidity:
    """Every [n] resolves to a citation; every citation was retrieved and its quote is verbatim in chunk and file."""

    name = "citation_validity"

    def score(self, sample: Sample) -> MetricResult:
        answer, context = sample.answer, sample.context
        if not substantive(answer):
            return MetricResult(name=self.name, value=None, reason="refused or abstained: nothing to cite")
        if not answer.citations:
            return MetricResult(name=self.name, value=0.0, reason="the answer makes claims but cites nothing")
        problems: list[str] = []
        numbers = {c.n for c in answer.citations}
        dangling = sorted(set(citation_numbers(answer.answer)) - numbers)
        problems += [f"[{n}] points at no citation" for n in dangling]
        valid = 0
        for citation in answer.citations:
            chunk = context.chunks.get(citation.chunk_id)
            file_text = context.corpus_file(citation.doc_id)
            if citation.chunk_id not in answer.retrieved:
                problems.append(f"[{citation.n}] cites passage {citation.chunk_id}, which was not retrieved")
            elif chunk is None or chunk.doc_id != citation.doc_id:
                problems.append(f"[{citation.n}] cites passage {citation.chunk_id}, unknown in document {citation.doc_id}")
            elif not citation.quote.strip() or citation.quote not in chunk.text:
                problems.append(f"[{citation.n}] quote is not verbatim in its passage")
            elif context.corpus_dir is not None and (file_text is None or citation.quote not in file_text):
                problems.append(f"[{citation.n}] quote is not in corpus/docs/{citation.doc_id}.md as it is now")
            else:
                valid += 1
        total = len(answer.citations) + len(dangling)
        reason = f"{valid} of {total} citations valid" + (f": {'; '.join(problems)}" if problems else "")
        return MetricResult(name=self.name, value=valid / total, reason=reason, details={"problems": problems})


class SourceRecall:
    """Share of expected sources cited (an entry listing alternatives is met by citing any one of them)."""

    name = "source_recall"

    def score(self, sample: Sample) -> MetricResult:
        expected = sample.case.expect.sources
        if not expected:
            return MetricResult(name=self.name, value=None, reason="no sources expected")
        cited = {c.doc_id for c in sample.answer.citations}
        missing = [" or ".join(group) for group in expected if not cited & set(group)]
        return MetricResult(name=self.name, value=(len(expected) - len(missing)) / len(expected),
                            reason=f"cited {len(expected) - len(missing)} of {len(expected)} expected documents"
                                   + (f"; not cited: {', '.join(missing)}" if missing else ""),
                            details={"missing": missing, "cited": sorted(cited)})


class _RetrievalMetric(ABC):
    """Document-level retrieval quality on the expected sources, from the ranked chunk ids the answer reports.

    Each expected entry is one relevant item, found by retrieving any of its alternatives; only the first document
    of an entry to appear in the ranking earns credit, so alternatives cannot inflate a score.
    """

    name = ""

    def score(self, sample: Sample) -> MetricResult:
        groups = [set(group) for group in sample.case.expect.sources]
        if not groups:
            return MetricResult(name=self.name, value=None, reason="no sources expected")
        if sample.answer.refused:
            return MetricResult(name=self.name, value=None, reason="refused before retrieval")
        ranked = ranked_documents(sample.answer, sample.context.chunks)
        hits: list[int] = []  # 1-based ranks at which a new expected entry was first found
        found: set[int] = set()
        for rank, doc in enumerate(ranked, start=1):
            for index, group in enumerate(groups):
                if index not in found and doc in group:
                    found.add(index)
                    hits.append(rank)
                    break
        value = self.compute(hits, len(groups), len(ranked))
        return MetricResult(name=self.name, value=value,
                            reason=f"{value:.2f} over ranked documents {', '.join(ranked[:5]) or '(none)'}",
                            details={"ranked": ranked})

    @abstractmethod
    def compute(self, hits: list[int], relevant: int, retrieved: int) -> float:
        """The metric from the 1-based ranks at which expected documents were found."""


class RetrievalRecall(_RetrievalMetric):
    name = "retrieval_recall"

    def compute(self, hits: list[int], relevant: int, retrieved: int) -> float:
        return len(hits) / relevant


class ReciprocalRank(_RetrievalMetric):
    name = "mrr"

    def compute(self, hits: list[int], relevant: int, retrieved: int) -> float:
        return 1.0 / hits[0] if hits else 0.0


class NDCG(_RetrievalMetric):
    name = "ndcg"

    def compute(self, hits: list[int], relevant: int, retrieved: int) -> float:
        gain = sum(1.0 / math.log2(rank + 1) for rank in hits)
        ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(relevant, max(retrieved, 1)) + 1))
        return gain / ideal if ideal else 0.0


class Faithfulness:
    """Share of answer sentences contained in the passages they cite (tutor/evaluation/faithfulness.py: words, word
    pairs and numbers), measured without the production verifier in tutor.grounding."""

    name = "faithfulness"

    def score(self, sample: Sample) -> MetricResult:
        answer, context = sample.answer, sample.context
        if not substantive(answer):
            return MetricResult(name=self.name, value=None, reason="refused or abstained: no claims to check")
        by_number = {c.n: c for c in answer.citations}
        sentences = answer_sentences(answer.answer)
        unsupported: list[str] = []
        for sentence, numbers in sentences:
            cited = [by_number[n] for n in numbers if n in by_number]
            # The passage as indexed when the answer's index has it, else the quote the citation carries.
            passages = [context.chunks[c.chunk_id].text if c.chunk_id in context.chunks else c.quote for c in cited]
            check = containment(sentence, passages)
            if not check.supported:
                unsupported.append(f"{strip_markers(sentence)[:90]} ({check.reason})")
        total = len(sentences)
        if not total:
            return MetricResult(name=self.name, value=None, reason="no sentences")
        return MetricResult(name=self.name, value=(total - len(unsupported)) / total,
                            reason=f"{total - len(unsupported)} of {total} sentences contained in what they cite"
                                   + (f"; not contained: {' | '.join(unsupported)}" if unsupported else ""),
                            details={"unsupported": unsupported})


class NoticeCompliance:
    """Share of required notices given and not contradicted (negation-aware); per notice in the details."""

    name = "notice_compliance"

    def score(self, sample: Sample) -> MetricResult:
        required = sample.case.expect.notices
        if not required:
            return MetricResult(name=self.name, value=None, reason="no notices required")
        checks = [check_notice(notice_id, sample.answer) for notice_id in required]
        failed = [f"{c.notice_id}: {'contradicted' if c.contradicted else c.how}" for c in checks if not c.compliant]
        met = len(checks) - len(failed)
        return MetricResult(name=self.name, value=met / len(checks),
                            reason=f"{met} of {len(checks)} notices given" + (f"; {'; '.join(failed)}" if failed else ""),
                            details={"notices": {c.notice_id: c.compliant for c in checks}})


class NoticeNoise:
    """1 when none of the case's forbidden notices was attached (pure concept questions should carry none)."""

    name = "notice_noise"

    def score(self, sample: Sample) -> MetricResult:
        forbidden = sample.case.expect.forbidden_notices
        if not forbidden:
            return MetricResult(name=self.name, value=None, reason="no notices forbidden")
        given = [n for n in forbidden if notice_given_by_id(n, sample.answer)]
        return MetricResult(name=self.name, value=0.0 if given else 1.0,
                            reason=f"noise notices attached: {', '.join(given)}" if given else "no noise notices",
                            details={"given": given})


class RefusalCorrect:
    name = "refusal_correct"

    def score(self, sample: Sample) -> MetricResult:
        expected = sample.case.expect.refused
        actual = sample.answer.refused
        if expected is None:
            return MetricResult(name=self.name, value=None, reason="either is acceptable", details={"refused": actual})
        reason = {(True, True): "refused as expected", (False, False): "answered as expected",
                  (True, False): "answered a request it should have refused",
                  (False, True): f"refused a question it should have answered ({sample.answer.refusal_reason})"}
        return MetricResult(name=self.name, value=float(expected == actual), reason=reason[(expected, actual)],
                            details={"expected": expected, "refused": actual, "refusal_reason": sample.answer.refusal_reason})


class AbstentionCorrect:
    """Expected to abstain when the case says so; expected to answer when it lists facts or sources (the corpus
    holds the answer). Otherwise abstention is not at issue and the case is left out of the abstention figures."""

    name = "abstention_correct"

    def score(self, sample: Sample) -> MetricResult:
        expect, answer = sample.case.expect, sample.answer
        expected = expect.abstained if expect.abstained is not None else (False if expect.facts or expect.sources else None)
        if expected is None or answer.refused:
            return MetricResult(name=self.name, value=None, reason="abstention not at issue",
                                details={"abstained": answer.abstained, "expected": expected})
        ok = expected == answer.abstained
        reason = ("abstained as expected" if ok and expected else "answered as expected" if ok
                  else "abstained on a question the guidance answers" if answer.abstained
                  else "answered a question the guidance does not cover")
        return MetricResult(name=self.name, value=float(ok), reason=reason,
                            details={"abstained": answer.abstained, "expected": expected})


class LeakFree:
    """1 when no planted identifier (and no identifier the detector finds) appears anywhere in the answer."""

    name = "leak_free"

    def score(self, sample: Sample) -> MetricResult:
        leaks = leaked_values(sample.case.expect.identifiers, sample.answer)
        if leaks:
            return MetricResult(name=self.name, value=0.0, reason=f"{len(leaks)} identifier(s) repeated in the output",
                                details={"kinds": len(leaks)})  # never the values themselves
        return MetricResult(name=self.name, value=1.0, reason="no identifier in the output")


class MustNot:
    name = "must_not"

    def score(self, sample: Sample) -> MetricResult:
        patterns = sample.case.expect.must_not
        if not patterns:
            return MetricResult(name=self.name, value=None, reason="nothing forbidden")
        hits = [p for p in patterns if re.search(p, sample.answer.answer, re.IGNORECASE)]
        return MetricResult(name=self.name, value=0.0 if hits else 1.0,
                            reason=f"forbidden text found: {', '.join(hits)}" if hits else "no forbidden text",
                            details={"matched": hits})


class _Readability(ABC):
    """A readability check (tutor/evaluation/readability.py) on answers that make claims: 1 clean, 0 at fault."""

    name = ""

    def score(self, sample: Sample) -> MetricResult:
        if not substantive(sample.answer):
            return MetricResult(name=self.name, value=None, reason="refused or abstained: not an answer to read")
        return self.check(sample)

    @abstractmethod
    def check(self, sample: Sample) -> MetricResult: ...


class NoDanglingOpener(_Readability):
    name = "no_dangling_opener"

    def check(self, sample: Sample) -> MetricResult:
        found = readability.dangling_openers(sample.answer.answer)
        return MetricResult(name=self.name, value=0.0 if found else 1.0,
                            reason="; ".join(f"sentence {f.sentence} opens on '{f.text}' with nothing before it to "
                                             f"point at" for f in found) or "no dangling opener",
                            details={"openers": [f.text for f in found]})


class NoRepeat(_Readability):
    name = "no_repeat"

    def check(self, sample: Sample) -> MetricResult:
        pairs = readability.near_duplicates(sample.answer.answer)
        return MetricResult(name=self.name, value=0.0 if pairs else 1.0,
                            reason="; ".join(f"sentences {i} and {j} are near-duplicates (Jaccard {score:.2f})"
                                             for i, j, score in pairs) or "no repeated sentence",
                            details={"pairs": [list(p) for p in pairs]})


class NoCrossReference(_Readability):
    name = "no_cross_reference"

    def check(self, sample: Sample) -> MetricResult:
        found = readability.cross_references(sample.answer.answer)
        return MetricResult(name=self.name, value=0.0 if found else 1.0,
                            reason=f"sends the reader elsewhere: {', '.join(repr(f) for f in found)}" if found
                            else "no cross-reference filler", details={"phrases": found})


class TakesStance(_Readability):
    """Only for yes/no questions: the first sentence takes a side."""

    name = "takes_stance"

    def check(self, sample: Sample) -> MetricResult:
        if not readability.is_yes_no(sample.case.question):
            return MetricResult(name=self.name, value=None, reason="not a yes/no question")
        ok = readability.takes_stance(sample.answer.answer)
        return MetricResult(name=self.name, value=1.0 if ok else 0.0,
                            reason="the first sentence takes a stance" if ok
                            else "a yes/no question, and the first sentence takes no stance")


class AnswerWords(_Readability):
    name = "answer_words"

    def check(self, sample: Sample) -> MetricResult:
        count = readability.word_count(sample.answer.answer)
        return MetricResult(name=self.name, value=float(count), reason=f"{count} words")


READABILITY = [NoDanglingOpener(), NoRepeat(), NoCrossReference(), TakesStance(), AnswerWords()]


class Latency:
    name = "latency_ms"

    def score(self, sample: Sample) -> MetricResult:
        return MetricResult(name=self.name, value=round(sample.elapsed_ms, 2),
                            reason=f"{sample.elapsed_ms:.0f} ms end to end (tutor reports {sample.answer.latency_ms:.0f} ms)")


METRICS = [FactCoverage(), CitationValidity(), SourceRecall(), RetrievalRecall(), ReciprocalRank(), NDCG(),
           Faithfulness(), NoticeCompliance(), NoticeNoise(), RefusalCorrect(), AbstentionCorrect(), LeakFree(),
           MustNot(), *READABILITY, Latency()]
