"""The safety layer: screens every message before anything else sees it, and checks every answer before it is shown.

screen(text)              normalise, remove patient identifiers, classify the intent (rules plus nearest labelled
                          examples, one query embedding), choose the refusal text or the safe-use notices.
finalise(answer, verdict) check citations against their passages, merge notices, remove any identifier from what
                          is shown, write one audit record (no user text, ever).
redact(text)              identifiers only, no classification: for history turns, feedback comments, anything kept.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tutor.identifiers import normalise, redact, strip_placeholders
from tutor.models import Answer, Notice
from tutor.safety.audit import AuditLog
from tutor.safety.catalogue import load_exemplars, load_notices, load_refusals
from tutor.safety.classifier import ExampleIndex, IntentClassifier
from tutor.safety.output import OutputCheck, check_citations, redact_shown
from tutor.safety.policy import NoticePolicy
from tutor.safety.vocabulary import (CLINICAL_ADVICE, EXAMPLE_CLASSES, INPUT_TRUNCATED, OUT_OF_SCOPE, PII, QUESTION,
                                     REFUSAL_REASONS)
from tutor.settings import Settings

if TYPE_CHECKING:
    from tutor.embeddings import Embedder
    from tutor.models import Chunk

TRUNCATED = Notice(id=INPUT_TRUNCATED, text="Your message was very long, so only its first part was used.")

# A general clinical question (not about AI) gets the out-of-scope text that points to clinical sources.
_CLINICAL_WORDS = re.compile(
    r"\b(?:treat\w*|dose|doses|dosage|symptoms?|diagnos\w*|drugs?|medication|medicines?|side effects?|prescrib\w*|"
    r"guidelines?|disease|syndrome|infection|pain|cancer|diabetes|asthma|hypertension|heart|blood|surgery|"
    r"management of|normal range|mechanism|pathophysiology|signs of|causes of|recover\w*|vaccin\w*|antibiotics?)\b",
    re.I)

_EXAMPLE_VECTORS: dict[str, np.ndarray] = {}  # per process: every SafetyLayer on one model shares the examples


@dataclass
class InputVerdict:
    """What the input guard decided. `text` is the message as everything downstream may see it (identifiers gone)."""

    text: str
    intent: str = QUESTION
    pii: list[str] = field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    refusal_text: str | None = None
    notices: list[Notice] = field(default_factory=list)
    identifiers: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    nearest: str = ""

    @property
    def query(self) -> str:
        """`text` without placeholders or the words that label them: what to search the guidance for."""
        return strip_placeholders(self.text)


class SafetyLayer:
    """One instance serves every user. Give it the embedder the retriever uses, so the model is loaded once.

    Without an embedder only the rules run (identifiers, emergencies, injections, obvious dose requests); paraphrases
    and out-of-scope questions then go unnoticed, so the composition root always passes one.
    """

    def __init__(self, settings: Settings, embedder: "Embedder | None" = None,
                 chunks: "dict[str, Chunk] | None" = None):
        self.settings = settings
        self.limits = settings.safety
        self.embedder = embedder
        self.chunks = chunks
        folder = settings.paths.prompts_dir
        self.refusals = load_refusals(folder)
        notices = load_notices(folder)
        exemplars = load_exemplars(folder)
        labels = [label for label in EXAMPLE_CLASSES for _ in exemplars[label]]
        texts = [text for label in EXAMPLE_CLASSES for text in exemplars[label]]
        for spec in notices.values():
            labels += [f"notice:{spec.id}"] * len(spec.examples)
            texts += spec.examples
        self.examples = (ExampleIndex(labels, texts, self._embed_examples(texts)) if embedder is not None
                         else None)
        self.classifier = IntentClassifier(self.examples or ExampleIndex([], [], np.zeros((0, 1))),
                                           neighbours=self.limits.neighbours)
        self.policy = NoticePolicy(notices, self.examples, self.limits.max_notices)
        self.audit = AuditLog(settings.paths.audit_log if self.limits.audit else None)

    def _embed_examples(self, texts: list[str]) -> np.ndarray:
        """Embed the examples once per process; across restarts the data dir's embedding cache is reused."""
        key = hashlib.sha256("\x00".join([self.embedder.model_id, *texts]).encode()).hexdigest()
        if key not in _EXAMPLE_VECTORS:
            from tutor.embeddings import EmbeddingCache

            try:
                vectors, _ = EmbeddingCache(self.settings.paths.embedding_cache, self.embedder.model_id).embed(
                    self.embedder, texts)
            except (OSError, sqlite3.Error):  # a read-only or busy data dir costs a second or two, nothing more
                vectors = self.embedder.embed(texts)
            _EXAMPLE_VECTORS[key] = vectors
        return _EXAMPLE_VECTORS[key]

    # ------------------------------------------------------------------------------------------------ input

    def redact(self, text: str) -> str:
        """The text with every patient identifier replaced by its placeholder; nothing else changes."""
        return redact(text).text

    def search_text(self, text: str) -> str:
        """The text with identifiers and their placeholders gone: "[NHS number]" is no help in finding guidance."""
        return strip_placeholders(redact(text).text)

    def screen(self, text: str) -> InputVerdict:
        limit = self.limits.max_input_chars
        # Redact before truncating so an identifier cut in half at the limit cannot slip through; the cap on what
        # is looked at keeps a pasted book from costing seconds.
        clean = normalise(text[: limit * 4])
        redaction = redact(clean)
        verdict = InputVerdict(text=redaction.text, pii=list(redaction.kinds), identifiers=dict(redaction.counts))
        if len(text) > limit:
            verdict.text = verdict.text[:limit]
            verdict.notices.append(TRUNCATED)
        vector = self.embedder.embed_query(verdict.text) if self.embedder is not None and verdict.text else None
        result = self.classifier.classify(verdict.text, vector)
        verdict.scores, verdict.rules, verdict.nearest = result.scores, result.rules, result.nearest
        verdict.intent = result.intent
        if result.intent in REFUSAL_REASONS:
            verdict.refused = True
            verdict.refusal_reason = result.intent
            verdict.refusal_text = self._refusal_text(result.intent, verdict.text)
        elif verdict.pii:
            verdict.intent = PII
        similarities = self.examples.similarities(vector) if vector is not None and self.examples else None
        verdict.notices += self.policy.choose(verdict.text, verdict.intent, verdict.refused, verdict.pii, similarities)
        return verdict

    def _refusal_text(self, reason: str, text: str) -> str:
        """The refusal for `reason`, then the pointers (prompts/refusals.yaml) to who can answer instead."""
        if reason == OUT_OF_SCOPE and _CLINICAL_WORDS.search(text):
            template = self.refusals.out_of_scope_clinical
        else:
            template = self.refusals.texts[reason]
        if reason == CLINICAL_ADVICE:
            template = template.replace("{suggestion}", self.refusals.suggestion_for(text))
        return " ".join([template, *self.refusals.pointers_for(reason, text)])

    # ------------------------------------------------------------------------------------------------ output

    def finalise(self, answer: Answer, verdict: InputVerdict, passages: dict[str, str] | None = None) -> Answer:
        """Check and complete an answer before it is shown, and audit it.

        `passages` maps chunk id to the text the answer may cite; by default, the retrieved chunks of the index the
        layer was given. Citations whose quote is not in its passage are dropped, with their markers.
        """
        report = OutputCheck()
        if passages is None and self.chunks is not None:
            passages = {cid: self.chunks[cid].text for cid in answer.retrieved if cid in self.chunks}
        if passages is not None:
            check_citations(answer, passages, report)
        answer.notices = self._merge_notices(verdict.notices, answer.notices)
        redact_shown(answer, report)
        answer.pii = list(verdict.pii)
        self.audit.record(
            intent=verdict.intent, refused=answer.refused, refusal_reason=answer.refusal_reason,
            notices=[n.id for n in answer.notices], identifiers_removed=verdict.identifiers,
            abstained=answer.abstained, citations=len(answer.citations), output_fixes=report.fixes,
            rules=verdict.rules, backend=answer.backend, settings_fingerprint=answer.settings_fingerprint)
        return answer

    def _merge_notices(self, chosen: list[Notice], produced: list[Notice]) -> list[Notice]:
        """The guard's notices first, then the answerer's status notices; never more than max_notices safe-use ones."""
        merged: dict[str, Notice] = {}
        safe_use = 0
        for notice in [*chosen, *produced]:
            if notice.id in merged:
                continue
            if notice.id in self.policy.notices:
                if safe_use >= self.limits.max_notices:
                    continue
                safe_use += 1
            merged[notice.id] = notice
        return list(merged.values())
