"""The ask path: screen the input, make follow-ups standalone, retrieve, answer, check the output, stamp it."""

from __future__ import annotations

import time
from typing import Callable, Iterator

from typing import Protocol

import numpy as np

from tutor.answer import Draft, strip_preamble
from tutor.models import Answer, Hit, Turn
from tutor.retrieval import Retriever, standalone_question
from tutor.safety import OUT_OF_SCOPE, SafetyLayer
from tutor.settings import Settings
from tutor.vocabulary import Vocabulary


class Answerer(Protocol):
    """What the Tutor needs of an answerer: the extractive, card and generative answerers all meet it.
    `conversational` answerers (a chat model) rewrite follow-ups themselves; the others get a standalone query."""

    name: str
    conversational: bool

    def compose(self, question: str, query_vector: np.ndarray, hits: list[Hit], allowed: set[str] | None = None,
                **extra) -> Draft:
        """`allowed`, when set, names the only passages the answer may cite (a filter or a tutor move); `hits`
        already respect it, but passages found another way (an answer card's) must be checked against it."""

    def stream(self, question: str, query_vector: np.ndarray, hits: list[Hit], allowed: set[str] | None = None,
               **extra): ...


class Tutor:
    """One shared instance answers every user; it holds no per-conversation state."""

    def __init__(self, settings: Settings, retriever: Retriever, answerer: Answerer, safety: SafetyLayer,
                 corpus_version: str = "", vocabulary: Vocabulary | None = None):
        self.settings = settings
        self.vocabulary = vocabulary or Vocabulary()
        self.retriever = retriever
        self.answerer = answerer
        self.safety = safety
        self.corpus_version = corpus_version

    def ask(self, question: str, history: list[Turn] | None = None, id: str = "",
            audience: str | None = None, topic: str | None = None,
            passages: Callable[[list[Hit]], list[Hit]] | None = None) -> Answer:
        """`passages`, if given, picks the passages the answer may draw on from three times the usual number of
        retrieved candidates: tutor moves such as "explain it another way" use it to pass over those already cited."""
        started = time.perf_counter()
        answer, verdict, turn = self._begin(question, history, id, audience, topic, passages)
        if turn is not None:
            query, retrieval, extra = turn
            draft = self.answerer.compose(query, retrieval.query_vector, retrieval.hits, allowed=retrieval.allowed,
                                          **extra)
            self._apply(answer, retrieval, draft)
        return self._finish(answer, verdict, started)

    def stream(self, question: str, history: list[Turn] | None = None, id: str = "",
               audience: str | None = None, topic: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as a generative answer is written (each sentence checked against the guidance before it is
        yielded), then the final Answer. Show the pieces while they come, then show the final Answer in their place:
        only it has been through the safety layer, and it may differ (the extractive answer, with a notice, when the
        model fails midway). The extractive answerer yields only the final Answer."""
        started = time.perf_counter()
        answer, verdict, turn = self._begin(question, history, id, audience, topic)
        if turn is not None:
            query, retrieval, extra = turn
            draft = None
            for item in self.answerer.stream(query, retrieval.query_vector, retrieval.hits, allowed=retrieval.allowed,
                                             **extra):
                if isinstance(item, str):
                    yield self.safety.redact(item)  # shown at once, so the output guard's redaction comes first
                else:
                    draft = item
            self._apply(answer, retrieval, draft)
        yield self._finish(answer, verdict, started)

    def _begin(self, question, history, id, audience, topic, passages=None):
        """Screen first (nothing unscreened reaches retrieval or a model), then make the question standalone and
        retrieve. Returns the answer being built, the verdict, and (query, retrieval, answerer arguments) unless
        the input was refused."""
        verdict = self.safety.screen(question)
        if verdict.refused and verdict.refusal_reason == OUT_OF_SCOPE and history:
            verdict = self._screen_follow_up(verdict, history)
        answer = Answer(id=id, question=verdict.text, answer="", backend=self.answerer.name,
                        settings_fingerprint=self.settings.fingerprint, corpus_version=self.corpus_version,
                        pii=verdict.pii)
        if verdict.refused:
            answer.refused = True
            answer.refusal_reason = verdict.refusal_reason
            answer.answer = verdict.refusal_text or ""
            return answer, verdict, None
        # Identifiers out of every earlier turn too; history is context, not a new message, so it is not classified.
        clean_history = [Turn(role=t.role, content=self.safety.redact(t.content)) for t in history or []]
        if self.answerer.conversational:  # a chat model: it rewrites follow-ups, sees history
            rewrite = self.answerer.rewrite(verdict.text, clean_history)
            query, extra = rewrite.query, {"history": clean_history, "rewrite": rewrite}
        else:  # placeholders such as [NHS number] only mislead a search of the guidance
            search_history = [Turn(role=t.role, content=self.safety.search_text(t.content)) for t in clean_history]
            query, extra = standalone_question(strip_preamble(verdict.query), search_history), {}
        k = self.settings.retrieval.top_k * 3 if passages else None
        # the guidance's own names for what the question calls "ChatGPT" or "AVT" are searched too
        retrieval = self.retriever.search(query, audience=audience, topic=topic, k=k,
                                          keywords=self.vocabulary.expansion(query))
        if passages:
            retrieval.hits = passages(retrieval.hits)
            retrieval.allowed = {h.chunk.id for h in retrieval.hits}
        return answer, verdict, (query, retrieval, extra)

    def _screen_follow_up(self, verdict, history: list[Turn]):
        """A short follow-up ("and in Scotland?") means nothing alone: judge its scope with the question it follows."""
        joined = standalone_question(verdict.text, [Turn(role=t.role, content=self.safety.redact(t.content))
                                                    for t in history])
        if joined == verdict.text:
            return verdict
        together = self.safety.screen(joined)
        if together.refused:
            return verdict
        together.text = verdict.text  # the learner's own words; they are made standalone again for retrieval below
        return together

    @staticmethod
    def _apply(answer: Answer, retrieval, draft) -> None:
        answer.answer = draft.text
        answer.citations = draft.citations
        answer.abstained = draft.abstained
        # passages found through an answer card come first, then those the search returned
        answer.retrieved = list(dict.fromkeys([*draft.passages, *(h.chunk.id for h in retrieval.hits)]))
        answer.backend = getattr(draft, "backend", "") or answer.backend
        answer.answer_source = ("card" if draft.source == "card" else "none" if draft.abstained
                                else "generative" if answer.backend not in ("extractive", "") else "extractive")
        answer.card_id = draft.card_id
        answer.usage = getattr(draft, "usage", None)
        answer.notices = answer.notices + list(getattr(draft, "notices", []))

    def _finish(self, answer: Answer, verdict, started: float) -> Answer:
        answer = self.safety.finalise(answer, verdict)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer
