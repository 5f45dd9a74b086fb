"""The audit log: one JSON line per answer with what the safety layer decided, and never any text the user typed."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from tutor.identifiers import KINDS
from tutor.safety.vocabulary import INTENTS, REFUSAL_REASONS

class AuditLog:
    """Appends to a JSONL file; safe across threads, and across processes because each record is one short write."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()

    def record(self, *, intent: str, refused: bool, refusal_reason: str | None, notices: list[str],
               identifiers_removed: dict[str, int], abstained: bool, citations: int, output_fixes: list[str],
               rules: list[str], backend: str, settings_fingerprint: str) -> dict:
        """Write one record built only from controlled vocabularies and counts, so no user text can leak in."""
        if intent not in INTENTS:
            raise ValueError(f"unknown intent {intent!r}")
        if refusal_reason is not None and refusal_reason not in REFUSAL_REASONS:
            raise ValueError(f"unknown refusal reason {refusal_reason!r}")
        unknown = set(identifiers_removed) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown identifier kinds {sorted(unknown)}")
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "intent": intent,
            "refused": bool(refused),
            "refusal_reason": refusal_reason,
            "notices": list(notices),
            "identifiers_removed": {k: int(v) for k, v in identifiers_removed.items()},
            "abstained": bool(abstained),
            "citations": int(citations),
            "output_fixes": list(output_fixes),
            "rules": list(rules),
            "backend": backend,
            "settings_fingerprint": settings_fingerprint,
        }
        if self.path is None:
            return entry
        line = (json.dumps(entry, ensure_ascii=True) + "\n").encode("ascii")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(handle, line)
            finally:
                os.close(handle)
        return entry


def read_audit(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
