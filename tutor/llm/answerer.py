"""The generative answerer: the extractive contract (`compose` -> Draft), answered by a chat model and then verified.

It is exactly as grounded as the extractive answerer, which stays inside it as the gate and the fallback:
  * if the extractive answerer would abstain (nothing retrieved supports an answer), so does this one, without
    calling the model;
  * the model sees only the retrieved passages, as delimited data, within the token budget;
  * every sentence of its reply is verified (tutor.llm.verify); if too little survives, or the endpoint is down,
    slow or talking nonsense, the extractive answer is returned with a notice saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from tutor.answer import Draft, ExtractiveAnswerer, quote_span
from tutor.grounding import lexical_overlap
from tutor.llm.budget import CallUsage, ContextTooSmall, TokenCounter, UsageReport, fit_to_window
from tutor.llm.chat import ChatError, ChatModel, Completion, MalformedReply
from tutor.llm.prompts import (ABSTAIN_SENTINEL, Passage, PromptSet, answer_messages, rewrite_messages)
from tutor.llm.verify import Verification, Verifier
from tutor.models import Citation, Hit, Notice, Turn
from tutor.retrieval import standalone_question
from tutor.settings import Settings

TAKEN_FROM_GUIDANCE = "so this answer is taken directly from the guidance instead."
UNSUPPORTED_REMOVED = Notice(
    id="llm-unsupported-removed",
    text="Some sentences of the generated answer were left out because the guidance it was given does not "
         "support them.")
_LABEL = re.compile(r"^\s*(?:standalone question|question|rewritten question)\s*:\s*", re.I)


def fallback_notice(kind: str, reason: str) -> Notice:
    """The notice shown when the extractive answer stands in for the model's, naming what went wrong."""
    texts = {
        "unavailable": f"The language model could not be used ({reason}), {TAKEN_FROM_GUIDANCE}",
        "malformed": f"The language model sent a reply the tutor could not read ({reason}), {TAKEN_FROM_GUIDANCE}",
        "unverified": f"Too little of the language model's answer could be checked against the guidance ({reason}), "
                      f"{TAKEN_FROM_GUIDANCE}",
        "context": f"The question and the guidance were too long for the language model ({reason}), "
                   f"{TAKEN_FROM_GUIDANCE}",
    }
    return Notice(id=f"llm-{kind}", text=texts[kind])


@dataclass
class GenerativeDraft(Draft):
    """A Draft plus what the answer cost, which backend finally produced it and any notices about that."""

    backend: str = ""
    usage: dict | None = None
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Rewrite:
    """A follow-up made standalone, by the model when there is history (else the question as asked)."""

    query: str
    by_model: bool = False
    usage: list[CallUsage] = field(default_factory=list)
    problem: str | None = None


class GenerativeAnswerer:
    conversational = True  # the conversation passes history and asks it to rewrite follow-ups

    def __init__(self, chat: ChatModel, fallback: ExtractiveAnswerer, prompts: PromptSet, settings: Settings,
                 embedder=None):
        self.chat = chat
        self.fallback = fallback
        self.prompts = prompts
        self.settings = settings
        self.llm = settings.llm
        self.embedder = embedder
        self.counter = TokenCounter(settings.chunking.encoding)
        self.name = chat.name

    @property
    def prompt_limit(self) -> int:
        return self.llm.context_window - self.llm.max_answer_tokens

    # ------------------------------------------------------------------ follow-ups

    def rewrite(self, question: str, history: list[Turn] | None) -> Rewrite:
        """Only a question with history is sent for rewriting; on any failure the rule-based rewrite is used."""
        if not history:
            return Rewrite(question)
        heuristic = standalone_question(question, history)
        try:
            fitted = fit_to_window(lambda _, turns: rewrite_messages(self.prompts, question, turns), [],
                                   history, self.counter, self.prompt_limit)
            completion = self.chat.complete(fitted.messages)
        except (ChatError, ContextTooSmall) as exc:
            return Rewrite(heuristic, problem=str(exc))
        usage = [CallUsage.of("rewrite", completion.input_tokens, completion.output_tokens, fitted.prompt_tokens,
                              completion.text, self.counter)]
        lines = [line.strip() for line in completion.text.strip().splitlines() if line.strip()]
        candidate = _LABEL.sub("", lines[0]).strip(" \"'“”") if lines else ""
        if len(lines) != 1 or not 3 <= len(candidate) <= 3 * len(question) + 300 or ABSTAIN_SENTINEL in candidate:
            return Rewrite(heuristic, usage=usage, problem="the model's rewrite was not a single question")
        return Rewrite(candidate, by_model=True, usage=usage)

    # ------------------------------------------------------------------ answers

    def compose(self, question: str, query_vector: np.ndarray, hits: list[Hit], history: list[Turn] | None = None,
                rewrite: Rewrite | None = None, allowed: set[str] | None = None) -> GenerativeDraft:
        """`allowed` (the passages a filter or tutor move admits) is already applied to `hits`."""
        for item in self._answer(question, query_vector, hits, history or [], rewrite, streaming=False):
            if isinstance(item, GenerativeDraft):
                return item
        raise AssertionError("the answer path always ends with a draft")

    def stream(self, question: str, query_vector: np.ndarray, hits: list[Hit], history: list[Turn] | None = None,
               rewrite: Rewrite | None = None, allowed: set[str] | None = None) -> Iterator[str | GenerativeDraft]:
        """Checked text pieces as the reply streams in, then the final draft (which may differ: a fallback)."""
        yield from self._answer(question, query_vector, hits, history or [], rewrite, streaming=True)

    def _answer(self, question, query_vector, hits, history, rewrite, streaming) -> Iterator[str | GenerativeDraft]:
        report = UsageReport(calls=list(rewrite.usage) if rewrite else [])
        extractive = self.fallback.compose(question, query_vector, hits)
        if extractive.abstained:
            yield self._extractive(extractive, report, model_called=bool(report.calls), backend=self.name)
            return
        passages = [Passage(n + 1, hit.chunk) for n, hit in enumerate(hits)]
        try:
            fitted = fit_to_window(
                lambda kept, turns: answer_messages(self.prompts, question, kept, turns, self.llm.check_understanding),
                passages, history, self.counter, self.prompt_limit)
        except ContextTooSmall as exc:
            yield self._extractive(extractive, report, notice=fallback_notice("context", str(exc)))
            return
        report.turns_dropped, report.passages_dropped = fitted.turns_dropped, fitted.passages_dropped
        sentences = self.fallback.index.sentences
        verifier = Verifier(fitted.passages, {p.n: [s.display for s in sentences.get(p.chunk.id, [])]
                                              for p in fitted.passages}, self.embedder)
        try:
            completion = None
            if streaming:
                for piece in self.chat.stream(fitted.messages):
                    if isinstance(piece, Completion):
                        completion = piece
                    else:
                        yield from verifier.feed(piece)
            else:
                completion = self.chat.complete(fitted.messages)
                verifier.feed(completion.text)
            if completion is None or not completion.text.strip():
                raise MalformedReply("the reply was empty")
        except ChatError as exc:
            yield self._extractive(extractive, report, notice=fallback_notice(exc.kind, exc.reason))
            return
        yield from verifier.finish()
        report.calls.append(CallUsage.of("answer", completion.input_tokens, completion.output_tokens,
                                         fitted.prompt_tokens, completion.text, self.counter))
        yield self._verified(verifier.result, fitted.passages, hits, extractive, report)

    def _verified(self, result: Verification, passages: list[Passage], hits: list[Hit], extractive: Draft,
                  report: UsageReport) -> GenerativeDraft:
        usage = report.as_dict(self.llm, verification=result.summary())
        if result.abstained and not result.kept:
            abstention = self.fallback.abstain(hits, extractive.support)
            return GenerativeDraft(abstention.text, [], True, extractive.support, backend=self.name, usage=usage)
        if not result.kept or result.supported_fraction < self.llm.min_supported_fraction:
            reason = f"{result.kept} of {result.checked} sentences supported"
            return self._extractive(extractive, report, notice=fallback_notice("unverified", reason),
                                    verification=result.summary())
        by_number = {p.n: p for p in passages}
        citations = [self._citation(number, by_number[n], result.evidence[n]) for number, n in
                     enumerate(result.cited, start=1)]
        notices = [UNSUPPORTED_REMOVED] if result.dropped else []
        return GenerativeDraft(result.text, citations, False, extractive.support, backend=self.name, usage=usage,
                               notices=notices)

    def _citation(self, number: int, passage: Passage, claims: list[str]) -> Citation:
        """Cite the passage with a verbatim quote: its sentences that best match the answer's sentences."""
        chunk = passage.chunk
        doc = self.fallback.docs[chunk.doc_id]
        source = doc.sources[0]
        sentences = self.fallback.index.sentences.get(chunk.id, [])
        best = list({max(sentences, key=lambda s: lexical_overlap(claim, s.display)) for claim in claims}) \
            if sentences else []
        quote = quote_span(chunk.text, best) if best else chunk.text
        return Citation(n=number, doc_id=doc.id, title=doc.title, publisher=source.publisher, url=source.url,
                        chunk_id=chunk.id, quote=quote, heading=chunk.heading, year=source.year,
                        review_due=doc.review_due.isoformat())

    def _extractive(self, draft: Draft, report: UsageReport, notice: Notice | None = None, model_called: bool = True,
                    backend: str = "extractive", **extra) -> GenerativeDraft:
        return GenerativeDraft(draft.text, draft.citations, draft.abstained, draft.support, backend=backend,
                               usage=report.as_dict(self.llm, model_called=model_called, **extra),
                               notices=[notice] if notice else [])
