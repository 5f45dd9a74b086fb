"""The learner store: profiles, answers, Leitner boxes, difficulty levels and scenario results in one SQLite file.

Only what the engine needs is kept: a pseudonymous id, a professional group, archetypes and a self-rated level, then
item ids, scores and times. Free-text replies are graded and thrown away, never stored, so anything personal a
learner types does not end up on disk.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    learner_id TEXT PRIMARY KEY, professional_group TEXT NOT NULL, archetypes TEXT NOT NULL, level INTEGER NOT NULL,
    pathway_id TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    learner_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS events_by_learner ON events (learner_id, at);
CREATE TABLE IF NOT EXISTS attempts (
    learner_id TEXT NOT NULL, item_id TEXT NOT NULL, at TEXT NOT NULL, context TEXT NOT NULL, doc_id TEXT NOT NULL,
    topics TEXT NOT NULL, difficulty INTEGER NOT NULL, score REAL NOT NULL, correct INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_by_learner ON attempts (learner_id, at);
CREATE TABLE IF NOT EXISTS boxes (
    learner_id TEXT NOT NULL, item_id TEXT NOT NULL, box INTEGER NOT NULL, due_at TEXT NOT NULL,
    PRIMARY KEY (learner_id, item_id));
CREATE TABLE IF NOT EXISTS levels (
    learner_id TEXT NOT NULL, topic TEXT NOT NULL, level INTEGER NOT NULL, streak_correct INTEGER NOT NULL,
    streak_missed INTEGER NOT NULL, PRIMARY KEY (learner_id, topic));
CREATE TABLE IF NOT EXISTS steps (
    learner_id TEXT NOT NULL, pathway_id TEXT NOT NULL, doc_id TEXT NOT NULL, at TEXT NOT NULL, how TEXT NOT NULL,
    PRIMARY KEY (learner_id, pathway_id, doc_id));
CREATE TABLE IF NOT EXISTS scenarios (
    learner_id TEXT NOT NULL, scenario_id TEXT NOT NULL, at TEXT NOT NULL, target TEXT NOT NULL, estimate REAL NOT NULL,
    true_value REAL NOT NULL, confidence REAL NOT NULL, within INTEGER NOT NULL, verdict TEXT NOT NULL,
    brier REAL NOT NULL);
"""


class LearnerStore:
    """Thin SQL over one file; a fresh connection per call, so one store can serve many app sessions and threads."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    # ------------------------------------------------------------ profiles

    def save_profile(self, learner_id: str, group: str, archetypes: list[str], level: int,
                     pathway_id: str | None, created_at: datetime) -> None:
        with self._db() as db:
            db.execute("INSERT INTO learners VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(learner_id) DO UPDATE SET "
                       "professional_group=excluded.professional_group, archetypes=excluded.archetypes, "
                       "level=excluded.level, pathway_id=excluded.pathway_id",
                       (learner_id, group, json.dumps(archetypes), level, pathway_id, created_at.isoformat()))

    def profile(self, learner_id: str) -> dict | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM learners WHERE learner_id = ?", (learner_id,)).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["archetypes"] = json.loads(data["archetypes"])
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        return data

    # ------------------------------------------------------------ events and attempts

    def log_event(self, learner_id: str, at: datetime, kind: str, ref: str = "") -> None:
        with self._db() as db:
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (learner_id, at.isoformat(), kind, ref))

    def event_times(self, learner_id: str) -> list[datetime]:
        with self._db() as db:
            rows = db.execute("SELECT at FROM events WHERE learner_id = ? ORDER BY at", (learner_id,)).fetchall()
        return [datetime.fromisoformat(r["at"]) for r in rows]

    def record_attempt(self, learner_id: str, item: dict, at: datetime, context: str, score: float, correct: bool) -> None:
        with self._db() as db:
            db.execute("INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (learner_id, item["id"], at.isoformat(), context, item["doc"], json.dumps(item["topics"]),
                        int(item["difficulty"]), score, int(correct)))

    def attempts(self, learner_id: str) -> list[dict]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM attempts WHERE learner_id = ? ORDER BY at, rowid", (learner_id,)).fetchall()
        return [_decode(row, "correct") for row in rows]

    # ------------------------------------------------------------ Leitner boxes and difficulty levels

    def boxes(self, learner_id: str) -> dict[str, tuple[int, datetime]]:
        with self._db() as db:
            rows = db.execute("SELECT item_id, box, due_at FROM boxes WHERE learner_id = ?", (learner_id,)).fetchall()
        return {r["item_id"]: (r["box"], datetime.fromisoformat(r["due_at"])) for r in rows}

    def set_box(self, learner_id: str, item_id: str, box: int, due_at: datetime) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO boxes VALUES (?, ?, ?, ?)", (learner_id, item_id, box, due_at.isoformat()))

    def levels(self, learner_id: str) -> dict[str, tuple[int, int, int]]:
        """topic -> (level, correct answers in a row, misses in a row)."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM levels WHERE learner_id = ?", (learner_id,)).fetchall()
        return {r["topic"]: (r["level"], r["streak_correct"], r["streak_missed"]) for r in rows}

    def set_level(self, learner_id: str, topic: str, level: int, streak_correct: int, streak_missed: int) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO levels VALUES (?, ?, ?, ?, ?)",
                       (learner_id, topic, level, streak_correct, streak_missed))

    # ------------------------------------------------------------ pathway steps and scenarios

    def mark_step(self, learner_id: str, pathway_id: str, doc_id: str, at: datetime, how: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO steps VALUES (?, ?, ?, ?, ?)", (learner_id, pathway_id, doc_id, at.isoformat(), how))

    def marked_steps(self, learner_id: str, pathway_id: str) -> dict[str, tuple[datetime, str]]:
        with self._db() as db:
            rows = db.execute("SELECT doc_id, at, how FROM steps WHERE learner_id = ? AND pathway_id = ?",
                              (learner_id, pathway_id)).fetchall()
        return {r["doc_id"]: (datetime.fromisoformat(r["at"]), r["how"]) for r in rows}

    def record_scenario(self, learner_id: str, scenario_id: str, at: datetime, target: str, estimate: float,
                        true_value: float, confidence: float, within: bool, verdict: str, brier: float) -> None:
        with self._db() as db:
            db.execute("INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (learner_id, scenario_id, at.isoformat(), target, estimate, true_value, confidence,
                        int(within), verdict, brier))

    def scenario_results(self, learner_id: str) -> list[dict]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM scenarios WHERE learner_id = ? ORDER BY at, rowid", (learner_id,)).fetchall()
        return [_decode(row, "within") for row in rows]


def _decode(row: sqlite3.Row, flag: str) -> dict:
    """A stored row as plain Python: times as datetimes, the yes/no column as a bool, topics as a list."""
    data = dict(row)
    data["at"] = datetime.fromisoformat(data["at"])
    data[flag] = bool(data[flag])
    if "topics" in data:
        data["topics"] = json.loads(data["topics"])
    return data
