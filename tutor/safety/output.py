"""The output guard: what is shown holds no identifier, and every [n] resolves to a citation quoted from its passage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.identifiers import redact
from tutor.models import ABSTAIN_TEXT, Answer

_CITED = re.compile(r"(.*?)((?:\s*\[\d+\])+)", re.S)  # a stretch of text and the markers that cite it
_NUMBER = re.compile(r"\[(\d+)\]")


@dataclass
class OutputCheck:
    """What the guard changed, as short codes for the audit log (never text from the answer)."""

    fixes: list[str] = field(default_factory=list)


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_citations(answer: Answer, passages: dict[str, str], report: OutputCheck) -> None:
    """Drop citations whose quote is not in their passage, then markers that point at no citation, then any
    sentence left with no valid marker although it had markers. An answer with nothing left abstains."""
    valid = {}
    for citation in answer.citations:
        passage = passages.get(citation.chunk_id)
        if passage is not None and citation.quote.strip() and _squash(citation.quote) in _squash(passage):
            valid[citation.n] = citation
        else:
            report.fixes.append("citation-dropped")
    if len(valid) != len(answer.citations):
        answer.citations = list(valid.values())
    if answer.refused or answer.abstained:
        return
    pieces, position, changed = [], 0, False
    text = answer.answer
    for match in _CITED.finditer(text):
        body, markers = match.group(1), match.group(2)
        numbers = [int(n) for n in _NUMBER.findall(markers)]
        good = [n for n in numbers if n in valid]
        position = match.end()
        if len(good) != len(numbers):
            changed = True
            report.fixes.append("marker-removed")
        if not good:
            report.fixes.append("sentence-dropped")
            continue
        pieces.append(body + "".join(f" [{n}]" for n in good))
    pieces.append(text[position:])
    if changed:
        answer.answer = re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
    if not answer.answer.strip():
        answer.answer = ABSTAIN_TEXT
        answer.abstained = True
        answer.citations = []
        report.fixes.append("abstained")


def redact_shown(answer: Answer, report: OutputCheck) -> None:
    """No identifier in anything the user sees: the answer, the question echoed back, quotes and notices."""
    for name in ("answer", "question"):
        cleaned = redact(getattr(answer, name))
        if cleaned.found:
            setattr(answer, name, cleaned.text)
            report.fixes.extend(f"{name}-redacted:{kind}" for kind in cleaned.kinds)
    for citation in answer.citations:
        cleaned = redact(citation.quote)
        if cleaned.found:
            citation.quote = cleaned.text
            report.fixes.extend(f"quote-redacted:{kind}" for kind in cleaned.kinds)
    for notice in answer.notices:
        cleaned = redact(notice.text)
        if cleaned.found:
            notice.text = cleaned.text
            report.fixes.extend(f"notice-redacted:{kind}" for kind in cleaned.kinds)
