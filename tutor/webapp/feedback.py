"""Feedback on answers, kept in SQLite in the data dir, and the editors' queue grouped by document.

What is stored: the answer id, thumbs up or down, a reason, the learner's comment with identifiers removed by the
safety layer, the question as the tutor saw it (already screened), the answer text, the cited document ids, the
corpus version and the settings fingerprint. Nothing that names the person giving feedback.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tutor.models import Answer

# (stored value, what the learner reads). Shared by the chat page, the queue and the tests.
REASONS: dict[str, str] = {
    "outdated": "Out of date",
    "wrong": "Wrong or misleading",
    "not-for-my-role": "Not relevant to my role",
    "unsafe": "Unsafe",
    "citation-mismatch": "The source does not support it",
    "other": "Something else",
}
NO_DOCUMENT = "(no document cited)"
MAX_COMMENT_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (0, 1)),
    reason TEXT,
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    doc_ids TEXT NOT NULL DEFAULT '[]',
    refused INTEGER NOT NULL DEFAULT 0,
    abstained INTEGER NOT NULL DEFAULT 0,
    corpus_version TEXT NOT NULL DEFAULT '',
    settings_fingerprint TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved'))
)
"""


class FeedbackError(ValueError):
    """Feedback that cannot be stored as given; the message says which field and why."""


@dataclass
class FeedbackRecord:
    answer_id: str
    created_at: str
    rating: int
    reason: str | None
    comment: str
    question: str
    answer: str
    doc_ids: list[str]
    refused: bool
    abstained: bool
    corpus_version: str
    settings_fingerprint: str
    backend: str
    status: str = "open"

    @property
    def reason_label(self) -> str:
        return REASONS.get(self.reason or "", "No reason given")


@dataclass
class QueueGroup:
    """Open feedback on one document, thumbs down first."""

    doc_id: str
    records: list[FeedbackRecord] = field(default_factory=list)

    @property
    def negative(self) -> int:
        return sum(r.rating == 0 for r in self.records)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            if record.rating == 0:
                counts[record.reason_label] = counts.get(record.reason_label, 0) + 1
        return counts


class FeedbackStore:
    """One SQLite file; a connection per call, so it is safe to share between Streamlit sessions."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, answer: Answer, rating: int, reason: str | None = None, comment: str = "") -> FeedbackRecord:
        """Store (or replace) the feedback on one answer. `comment` must already have identifiers removed."""
        if not answer.id:
            raise FeedbackError("the answer has no id, so feedback could not be linked to it")
        if rating not in (0, 1):
            raise FeedbackError(f"rating must be 0 (thumbs down) or 1 (thumbs up), got {rating!r}")
        if reason is not None and reason not in REASONS:
            raise FeedbackError(f"unknown reason {reason!r}; use one of {', '.join(REASONS)}")
        row = FeedbackRecord(
            answer_id=answer.id, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), rating=rating,
            reason=reason, comment=comment.strip()[:MAX_COMMENT_CHARS], question=answer.question,
            answer=answer.answer, doc_ids=list(dict.fromkeys(c.doc_id for c in answer.citations)),
            refused=answer.refused, abstained=answer.abstained, corpus_version=answer.corpus_version,
            settings_fingerprint=answer.settings_fingerprint, backend=answer.backend)
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO feedback (answer_id, created_at, rating, reason, comment, question, answer, "
                "doc_ids, refused, abstained, corpus_version, settings_fingerprint, backend, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
                (row.answer_id, row.created_at, row.rating, row.reason, row.comment, row.question, row.answer,
                 json.dumps(row.doc_ids), int(row.refused), int(row.abstained), row.corpus_version,
                 row.settings_fingerprint, row.backend))
        return row

    def all(self, status: str | None = None) -> list[FeedbackRecord]:
        query = "SELECT * FROM feedback" + (" WHERE status = ?" if status else "") + " ORDER BY created_at DESC"
        with closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query, (status,) if status else ()).fetchall()
        return [_record(row) for row in rows]

    def get(self, answer_id: str) -> FeedbackRecord | None:
        with closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone()
        return _record(row) if row else None

    def resolve(self, answer_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE feedback SET status = 'resolved' WHERE answer_id = ?", (answer_id,))

    def queue(self) -> list[QueueGroup]:
        """Open feedback grouped by cited document; documents with the most thumbs down first."""
        groups: dict[str, QueueGroup] = {}
        for record in self.all(status="open"):
            for doc_id in record.doc_ids or [NO_DOCUMENT]:
                groups.setdefault(doc_id, QueueGroup(doc_id)).records.append(record)
        for group in groups.values():
            group.records.sort(key=lambda r: (r.rating, r.created_at))
        return sorted(groups.values(), key=lambda g: (-g.negative, -len(g.records), g.doc_id))


def _record(row: sqlite3.Row) -> FeedbackRecord:
    data = dict(row)
    data["doc_ids"] = json.loads(data["doc_ids"] or "[]")
    data["refused"] = bool(data["refused"])
    data["abstained"] = bool(data["abstained"])
    return FeedbackRecord(**data)
