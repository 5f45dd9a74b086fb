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


class Problem(BaseModel):
    """One finding of `tutor corpus check`."""

    path: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.message}"
