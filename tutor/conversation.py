"""The ask path: screen the input, make follow-ups standalone, retrieve, answer, check the output, stamp it."""

from __future__ import annotations

import time

from tutor.answer import ExtractiveAnswerer
from tutor.models import Answer, Turn
from tutor.retrieval import Retriever, standalone_question
from tutor.safety import SafetyLayer
from tutor.settings import Settings


class Tutor:
    """One shared instance answers every user; it holds no per-conversation state."""

    def __init__(self, settings: Settings, retriever: Retriever, answerer: ExtractiveAnswerer, safety: SafetyLayer,
                 corpus_version: str = ""):
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.safety = safety
        self.corpus_version = corpus_version

    def ask(self, question: str, history: list[Turn] | None = None, id: str = "",
            audience: str | None = None, topic: str | None = None) -> Answer:
        started = time.perf_counter()
        verdict = self.safety.screen(question)
        answer = Answer(id=id, question=verdict.text, answer="", backend=self.answerer.name,
                        settings_fingerprint=self.settings.fingerprint, corpus_version=self.corpus_version,
                        pii=verdict.pii)
        if verdict.refused:
            answer.refused = True
            answer.refusal_reason = verdict.refusal_reason
            answer.answer = verdict.refusal_text or ""
        else:
            clean_history = [Turn(role=t.role, content=self.safety.screen(t.content).text) for t in history or []]
            query = standalone_question(verdict.text, clean_history)
            retrieval = self.retriever.search(query, audience=audience, topic=topic)
            draft = self.answerer.compose(query, retrieval.query_vector, retrieval.hits)
            answer.answer = draft.text
            answer.citations = draft.citations
            answer.abstained = draft.abstained
            answer.retrieved = [h.chunk.id for h in retrieval.hits]
        answer = self.safety.finalise(answer, verdict)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer
