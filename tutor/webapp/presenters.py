"""Plain functions that turn answers, citations, corpus records and scores into what the pages show (no Streamlit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator

import numpy as np

from tutor.corpus import Corpus
from tutor.models import Answer, Citation, Hit, Turn

EXAMPLE_QUESTIONS = (
    "What is automation bias?",
    "Why does a positive AI result mean less when a condition is rare?",
    "How do I report a problem with an AI tool?",
    "Is it safe to use an ambient scribe in clinic?",
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~$<>|#])")
_QUOTED_QUESTION = re.compile(r"[\"“]([^\"”]{8,200}\?)[\"”]")
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z0-9“\"(£])")


def markdown_safe(text: str) -> str:
    """Escape characters Streamlit would treat as Markdown, maths ($) or HTML, so guidance text shows as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def answer_markdown(text: str) -> str:
    """Answer text as safe Markdown with each citation marker [n] in bold blue, so it reads as a reference."""
    return _MARKER.sub(r"**:blue[\\[\1\\]]**", markdown_safe(text))


def quote_markdown(text: str) -> str:
    """A quoted passage as Markdown in full-contrast body text (block quotes are drawn in faint grey): the
    passage's own lists and links are kept; maths and headings are not."""
    lines = [line.replace("$", r"\$") for line in text.strip().splitlines()]
    return "\n".join("\\" + line if line.lstrip().startswith("#") else line for line in lines)


def stream_pieces(text: str) -> Iterator[str]:
    """The answer a sentence at a time, for st.write_stream (each [n] marker stays with its sentence)."""
    pieces = [p for p in _SENTENCE_BREAK.split(text.strip()) if p]
    for i, piece in enumerate(pieces):
        yield answer_markdown(piece) + (" " if i < len(pieces) - 1 else "")


def refusal_suggestions(text: str) -> list[str]:
    """Questions a refusal offers in quotation marks ("What is automation bias ...?"), to show as buttons."""
    return list(dict.fromkeys(q.strip() for q in _QUOTED_QUESTION.findall(text)))


def history_turns(messages: list[dict]) -> list[Turn]:
    """The conversation so far as the Tutor expects it: questions and answers only (refusals, check questions and
    the learner's requests for another explanation are not context for the next question)."""
    turns = []
    for message in messages:
        answer: Answer | None = message.get("answer")
        if message.get("move") or (answer is not None and answer.refused):
            continue
        if message["role"] == "assistant" and answer is None:
            continue
        turns.append(Turn(role=message["role"], content=message["content"]))
    return turns


@dataclass
class SourceCard:
    """Everything shown when a numbered citation is opened."""

    n: int
    label: str
    quote: str
    heading: str
    doc_title: str
    source_title: str
    publisher: str
    year: int | None
    url: str
    last_reviewed: str | None
    review_due: str | None


def source_card(citation: Citation, corpus: Corpus | None) -> SourceCard:
    doc = corpus.doc(citation.doc_id) if corpus else None
    source = next((s for s in doc.sources if s.url == citation.url), doc.sources[0]) if doc and doc.sources else None
    return SourceCard(
        n=citation.n, label=citation_label(citation), quote=citation.quote, heading=citation.heading,
        doc_title=citation.title, source_title=source.title if source else citation.title,
        publisher=citation.publisher, year=citation.year, url=citation.url,
        last_reviewed=doc.last_reviewed.isoformat() if doc else None,
        review_due=citation.review_due or (doc.review_due.isoformat() if doc else None))


def citation_label(citation: Citation) -> str:
    """'[2] Automation bias: what it is · Why it matters': the section tells two citations of one document apart."""
    section = citation.heading.split(" > ")[-1] if citation.heading else ""
    return f"[{citation.n}] {citation.title}" + (f" · {section}" if section and section != citation.title else "")


def retrieval_rows(hits: list[Hit], query_vector: np.ndarray, sentence_vectors: dict[str, np.ndarray]) -> list[dict]:
    """The retrieval tester's table: fused rank and score, each search's rank, and the best sentence similarity
    (the number the answerer compares with retrieval.min_support before it answers rather than abstains)."""
    rows = []
    for hit in hits:
        vectors = sentence_vectors.get(hit.chunk.id)
        best = float(np.max(vectors @ query_vector)) if vectors is not None and len(vectors) else None
        rows.append({"rank": hit.rank + 1, "fused score": round(hit.score, 4),
                     "dense rank": None if hit.dense_rank is None else hit.dense_rank + 1,
                     "keyword rank": None if hit.bm25_rank is None else hit.bm25_rank + 1,
                     "best sentence similarity": None if best is None else round(best, 3),
                     "document": hit.chunk.doc_id, "section": hit.chunk.heading,
                     "passage": hit.chunk.text if len(hit.chunk.text) <= 300 else hit.chunk.text[:297] + "…"})
    return rows


def uk_date(iso: str | None) -> str:
    """2027-05-31 -> 31 May 2027 (how NHS staff write dates)."""
    if not iso:
        return "not recorded"
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def search_glossary(entries: list[dict], query: str) -> list[dict]:
    """Terms whose name or definition holds every word of the query; name matches first, then A to Z."""
    words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if w]
    ranked = []
    for entry in entries:
        term = str(entry.get("term", ""))
        haystack = f"{term} {entry.get('definition', '')}".lower()
        if all(w in haystack for w in words):
            in_term = sum(w in term.lower() for w in words)
            ranked.append((-in_term, term.lower(), entry))
    return [entry for _, _, entry in sorted(ranked, key=lambda t: (t[0], t[1]))]


def documents_table(corpus: Corpus) -> list[dict]:
    return [{"id": d.id, "title": d.title, "status": d.status, "version": d.version,
             "last reviewed": d.last_reviewed, "review due": d.review_due, "audience": ", ".join(d.audience),
             "topics": ", ".join(d.topics)} for d in sorted(corpus.docs, key=lambda d: (d.status, d.id))]


def reviews_due(corpus: Corpus, horizon_days: int, today: date | None = None) -> list[dict]:
    """Approved documents whose review is overdue or falls within the horizon, soonest first."""
    today = today or date.today()
    limit = today + timedelta(days=horizon_days)
    due = [d for d in corpus.approved() if d.review_due <= limit]
    return [{"id": d.id, "title": d.title, "review due": d.review_due,
             "days left": (d.review_due - today).days, "overdue": d.review_due < today}
            for d in sorted(due, key=lambda d: d.review_due)]


def problems_table(corpus: Corpus) -> list[dict]:
    return [{"severity": p.severity, "where": f"{p.path}:{p.line}", "problem": p.message} for p in corpus.problems]
