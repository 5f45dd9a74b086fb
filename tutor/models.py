"""The data model shared by every layer: plain pydantic models, no I/O."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

ABSTAIN_TEXT = (
    "The guidance I hold does not cover this question, so I cannot answer it reliably. "
    "I would rather say so than guess."
)


def content_hash(*parts: str, length: int = 16) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:length]


class SourceRef(BaseModel):
    title: str
    publisher: str
    year: int
    url: str


class SourceDoc(BaseModel):
    """One corpus document, parsed and checked."""

    id: str
    title: str
    summary: str
    sources: list[SourceRef]
    audience: list[str]
    topics: list[str]
    status: Literal["draft", "approved", "retired"]
    last_reviewed: date
    review_due: date
    version: int
    path: str
    body: str
    body_line: int = Field(description="1-based line of the file where the body starts.")

    @property
    def content_hash(self) -> str:
        return content_hash(self.model_dump_json(exclude={"path"}))


class CardAnchor(BaseModel):
    """Where a card sentence comes from: a stretch of one document, quoted exactly (line breaks and spacing aside)."""

    doc: str
    quote: str = Field(min_length=12)


class CardSentence(BaseModel):
    text: str = Field(min_length=3)
    anchors: list[CardAnchor] = Field(min_length=1)
    line: int = Field(0, exclude=True, description="Line of the sentence in its card file, for messages.")


class AnswerCard(BaseModel):
    """A curated answer to one question clinicians ask, every sentence anchored to the passage that supports it."""

    id: str
    question: str = Field(min_length=8)
    variants: list[str] = Field(default_factory=list, description="Other ways clinicians ask the same question.")
    audience: list[str]
    topics: list[str]
    answer: list[CardSentence] = Field(min_length=1)
    status: Literal["draft", "approved", "retired"]
    last_reviewed: date
    review_due: date
    path: str = Field("", exclude=True)
    line: int = Field(0, exclude=True)

    @property
    def questions(self) -> list[str]:
        return [self.question, *self.variants]

    @property
    def docs(self) -> list[str]:
        return list(dict.fromkeys(a.doc for s in self.answer for a in s.anchors))


class Chunk(BaseModel):
    """A heading-bounded piece of a document; `text` is an exact slice of the document body."""

    id: str
    doc_id: str
    title: str
    heading_path: list[str]
    text: str
    start: int = Field(description="Character offset of `text` in the document body.")
    position: int
    audience: list[str]
    topics: list[str]

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)


class Hit(BaseModel):
    chunk: Chunk
    score: float
    rank: int
    dense_rank: int | None = None
    bm25_rank: int | None = None


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    publisher: str
    url: str
    chunk_id: str
    quote: str
    heading: str = ""
    year: int | None = None
    review_due: str | None = None


class Notice(BaseModel):
    id: str
    text: str


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Answer(BaseModel):
    """The JSON answer contract that evaluators and other tools rely on."""

    id: str = ""
    question: str
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    abstained: bool = False
    pii: list[str] = Field(default_factory=list)
    backend: str = "extractive"
    settings_fingerprint: str = ""
    latency_ms: float = 0.0
    corpus_version: str = ""
    retrieved: list[str] = Field(default_factory=list, description="Chunk ids retrieved, best first.")
    usage: dict | None = None
    answer_source: Literal["card", "extractive", "generative", "none"] = Field(
        "none", description="What wrote the answer: a curated answer card, sentences extracted from the guidance, a "
                            "language model (checked against the guidance), or none (refused).")
    card_id: str | None = Field(None, description="The answer card served, when answer_source is card.")


class Problem(BaseModel):
    """One finding of `tutor corpus check`."""

    path: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.message}"
