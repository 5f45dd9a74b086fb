"""The index: incremental (only changed chunks are embedded), atomic (a bad document, an exception or kill -9 leaves the
previous index serving), persistent across restarts past 1,000 chunks, and described by its manifest."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TUTOR_BIN, edit_file, make_settings, run_tutor

from tutor.builder import build_indexer, build_tutor
from tutor.chunking import chunk_document
from tutor.corpus import load_corpus
from tutor.embeddings import EmbeddingCache, HashingEmbedder, bundled_model_path, sha256_of
from tutor.indexing import CorpusError, chunk_embedding_text, load_index

QUESTIONS = ["What is automation bias?", "How do I report a problem with an AI medical device?",
             "Why does the positive predictive value fall when a condition is rare?"]


def answers_of(tutor) -> list[dict]:
    """What a user would see, minus the timing."""
    return [tutor.ask(q).model_dump(mode="json", exclude={"latency_ms"}) for q in QUESTIONS]


def live_build(settings) -> str:
    return (settings.paths.index_dir / "CURRENT").read_text().strip()


def partial_builds(settings) -> list[Path]:
    return sorted((settings.paths.index_dir / "builds").glob("*.partial"))


def write_synthetic_corpus(docs_dir: Path, documents: int, sections: int, prefix: str = "ward") -> None:
    """Approved documents with distinct, readable sections: enough text to make a build take real time."""
    for d in range(documents):
        body = "\n\n".join(
            f"## {prefix.title()} {d} routine {s}\n\nOn {prefix} {d} the team reviews AI alert number {s} each "
            f"morning and records whether the alert matched the clinical picture. The {prefix} {d} lead discusses "
            f"alert {s} with the clinical safety officer when it did not."
            for s in range(sections))
        (docs_dir / f"{prefix}-{d}.md").write_text(f"""---
id: {prefix}-{d}
title: Alert review on {prefix} {d}
summary: How {prefix} {d} reviews its AI alerts.
sources:
  - title: Local audit
    publisher: Example Trust
    year: 2026
    url: https://example.org/audit
audience: [all]
topics: [clinical-safety]
status: approved
last_reviewed: 2026-11-27
review_due: 2027-11-01
version: 1
---

{body}
""", encoding="utf-8")


# ---------------------------------------------------------------- incremental

@pytest.mark.slow
def test_changing_one_document_re_embeds_only_its_changed_chunks(tmp_path, corpus_copy, real_embedder):
    settings = make_settings(tmp_path / "data", corpus_copy)
    first = build_indexer(settings, real_embedder).build()
    assert first.chunks_embedded == first.chunks and not first.skipped
    before = {c.id for c in load_index(settings).chunks.values()}

    edit_file(corpus_copy / "docs" / "automation-bias.md", "helps to catch an AI suggestion that is wrong.",
              "helps to catch an AI suggestion that is wrong, even when the tool is usually right.")
    result = run_tutor("ingest", env={"TUTOR_PATHS__CORPUS_DIR": str(corpus_copy),
                                      "TUTOR_PATHS__DATA_DIR": str(settings.paths.data_dir)})
    assert result.returncode == 0, result.stderr
    index = load_index(settings)
    new_ids = {c.id for c in index.chunks.values()} - before
    assert {index.chunks[c].doc_id for c in new_ids} == {"automation-bias"}
    assert len(new_ids) == 1  # the other section of the same document kept its id and its vector
    counts = index.manifest["counts"]
    assert counts["chunks_embedded"] == 1 and counts["sentences_embedded"] == 1
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"Built index \w+: 3 documents, {counts['chunks']} chunks \(1 embedded, {counts['chunks'] - 1} reused\), "
        rf"{counts['sentences']} sentences \(1 embedded\) in [\d.]+ s; changed documents: automation-bias\.", summary)
    assert "embedding chunks" in result.stderr  # progress bars go to stderr, the summary to stdout


def test_full_re_embeds_everything_and_an_unchanged_corpus_is_not_rebuilt(fixture_settings, real_embedder):
    indexer = build_indexer(fixture_settings, real_embedder)
    first = indexer.build()
    again = indexer.build()
    assert again.skipped and again.build_id == first.build_id
    assert again.summary().startswith(f"Index up to date (build {first.build_id}")
    full = indexer.build(full=True)
    assert not full.skipped and full.build_id != first.build_id
    assert full.chunks_embedded == full.chunks == first.chunks
    assert full.sentences_embedded == first.sentences_embedded > 0
    assert live_build(fixture_settings) == full.build_id


def test_the_manifest_records_what_the_index_was_built_from(fixture_settings, real_embedder):
    report = build_indexer(fixture_settings, real_embedder).build()
    manifest = json.loads((Path(report.path) / "manifest.json").read_text())
    corpus = load_corpus(fixture_settings.paths.corpus_dir)
    chunks = [c for d in corpus.approved() for c in chunk_document(d, fixture_settings.chunking)]
    assert manifest["corpus_digest"] == corpus.digest and manifest["corpus_version"] == corpus.version
    assert manifest["settings_fingerprint"] == fixture_settings.fingerprint
    assert manifest["model_sha256"] == sha256_of(bundled_model_path() / "model.safetensors")
    assert manifest["model_id"] == real_embedder.model_id
    assert manifest["counts"]["documents"] == 3  # the draft is not served
    assert manifest["counts"]["chunks"] == len(chunks) == report.chunks
    assert sorted(manifest["documents"]) == ["automation-bias", "test-accuracy", "yellow-card"]
    assert manifest["build_seconds"] > 0
    assert abs(time.time() - _timestamp(manifest["built_at"])) < 600
    assert len((Path(report.path) / "chunks.jsonl").read_text().splitlines()) == len(chunks)


def _timestamp(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


# ---------------------------------------------------------------- atomic

def test_broken_front_matter_stops_the_build_and_the_previous_index_answers_the_same(corpus_copy, tmp_path,
                                                                                    real_embedder):
    settings = make_settings(tmp_path / "data", corpus_copy)
    build_indexer(settings, real_embedder).build()
    live = live_build(settings)
    before = answers_of(build_tutor(settings, embedder=real_embedder))
    assert not any(a["abstained"] for a in before)

    broken = corpus_copy / "docs" / "yellow-card.md"
    edit_file(broken, "title: Reporting AI incidents", "title: Reporting: AI incidents")
    with pytest.raises(CorpusError) as caught:
        build_indexer(settings, real_embedder).build()
    assert f"{broken}:3: invalid YAML: mapping values are not allowed here" in str(caught.value)

    result = run_tutor("ingest", env={"TUTOR_PATHS__CORPUS_DIR": str(corpus_copy),
                                      "TUTOR_PATHS__DATA_DIR": str(settings.paths.data_dir)})
    assert result.returncode == 1
    assert f"{broken}:3: invalid YAML" in result.stderr
    assert "the live index is unchanged" in result.stderr
    assert live_build(settings) == live and partial_builds(settings) == []
    # A fresh load (as a new process or a restarted app would do) gives exactly the same answers.
    assert answers_of(build_tutor(settings, embedder=real_embedder)) == before


class FailingEmbedder(HashingEmbedder):
    """Fails part-way through a build, as a full disk or a crashed worker would."""

    def embed(self, texts, progress=None):
        raise RuntimeError("embedding worker crashed")


def test_an_exception_mid_build_leaves_the_previous_index_serving(corpus_copy, tmp_path):
    settings = make_settings(tmp_path / "data", corpus_copy)
    first = build_indexer(settings, HashingEmbedder()).build()
    edit_file(corpus_copy / "docs" / "yellow-card.md", "follow local incident reporting.",
              "follow local incident reporting policy.")
    with pytest.raises(RuntimeError, match="embedding worker crashed"):
        build_indexer(settings, FailingEmbedder()).build()
    assert live_build(settings) == first.build_id
    assert load_index(settings).manifest["build_id"] == first.build_id
    retry = build_indexer(settings, HashingEmbedder()).build()
    assert retry.changed_documents == ["yellow-card"] and partial_builds(settings) == []


@pytest.mark.slow
def test_kill_9_mid_embedding_leaves_the_previous_index_serving_and_the_next_build_completes(
        corpus_copy, tmp_path, real_embedder):
    settings = make_settings(tmp_path / "data", corpus_copy)
    build_indexer(settings, real_embedder).build()
    live = live_build(settings)
    before = answers_of(build_tutor(settings, embedder=real_embedder))

    write_synthetic_corpus(corpus_copy / "docs", documents=25, sections=5)
    env = {**os.environ, "TUTOR_PATHS__CORPUS_DIR": str(corpus_copy), "TUTOR_PATHS__DATA_DIR": str(settings.paths.data_dir)}
    build = subprocess.Popen([str(TUTOR_BIN), "ingest"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen = b""
    try:
        deadline = time.monotonic() + 240
        while b"embedding chunks" not in seen:  # the first progress tick: a batch is embedded, more are to come
            assert time.monotonic() < deadline and build.poll() is None, seen.decode(errors="replace")
            if select.select([build.stderr], [], [], 1.0)[0]:
                seen += os.read(build.stderr.fileno(), 65536)
        in_progress = partial_builds(settings)
        build.send_signal(signal.SIGKILL)
    finally:
        build.kill()
        build.wait(timeout=60)
        build.stdout.close()
        build.stderr.close()
    assert build.returncode == -signal.SIGKILL
    assert len(in_progress) == 1 and not (in_progress[0] / "manifest.json").exists()  # killed mid-build

    assert live_build(settings) == live
    assert answers_of(build_tutor(settings, embedder=real_embedder)) == before

    report = build_indexer(settings, real_embedder).build()
    assert partial_builds(settings) == []
    assert live_build(settings) == report.build_id != live
    assert report.documents == 28 and report.chunks_embedded == 125  # nothing half-written was reused
    answer = build_tutor(settings, embedder=real_embedder).ask("What does the ward 7 lead do when alert 3 did not match?")
    assert answer.citations and answer.citations[0].doc_id == "ward-7"


# ---------------------------------------------------------------- persistence past 1,000 chunks

RESTART_SCRIPT = """
import json, sys
import numpy as np
from tutor.builder import build_tutor
from tutor.embeddings import HashingEmbedder
from tutor.indexing import chunk_embedding_text, load_index
from tutor.settings import Settings

settings = Settings()  # data and corpus folders come from the environment
index = load_index(settings)
embedder = HashingEmbedder()
probes = json.loads(sys.argv[1])
found = {}
for chunk_id in probes:
    vector = embedder.embed([chunk_embedding_text(index.chunks[chunk_id])])[0]
    found[chunk_id] = [hit for hit, _ in index.store.query(vector, 3)]
query = embedder.embed_query("alert review")
filtered = {"regulation": index.store.query(query, 5, {"topic_regulation": True}),
            "doctor": [hit for hit, _ in index.store.query(query, 5, {"audience_doctor": True, "topic_clinical-safety": True})]}
answer = build_tutor(settings, embedder=embedder).ask(sys.argv[2])
print(json.dumps({"count": index.store.count(), "found": found, "filtered": filtered,
                  "citations": [c.doc_id for c in answer.citations]}))
"""


@pytest.mark.slow
def test_a_persisted_index_of_more_than_1000_chunks_answers_after_a_restart(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    write_synthetic_corpus(corpus / "docs", documents=55, sections=20)
    settings = make_settings(tmp_path / "data", corpus)
    report = build_indexer(settings, HashingEmbedder()).build()
    assert report.chunks > 1000

    chunk_ids = [c.id for c in load_index(settings).chunks.values()]
    probes = chunk_ids[::50] + [chunk_ids[-1]]
    env = {**os.environ, "TUTOR_PATHS__CORPUS_DIR": str(corpus), "TUTOR_PATHS__DATA_DIR": str(settings.paths.data_dir)}
    for restart in range(2):  # two fresh processes: the second opens what the first left on disk
        result = subprocess.run([sys.executable, "-c", RESTART_SCRIPT, json.dumps(probes),
                                 "What does the ward 42 team record about alert 17?"],
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, f"restart {restart}: {result.stderr[-3000:]}"
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["count"] == report.chunks
        assert all(found[0] == chunk_id for chunk_id, found in seen["found"].items()), seen["found"]
        assert seen["filtered"]["regulation"] == []  # no synthetic document is on regulation: the filter holds
        assert len(seen["filtered"]["doctor"]) == 5  # documents for all staff are for doctors too
        assert seen["citations"][:1] == ["ward-42"]


def test_the_embedding_cache_survives_a_rebuild_of_another_corpus(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "data", corpus_copy)
    build_indexer(settings, HashingEmbedder()).build()
    cache = EmbeddingCache(settings.paths.embedding_cache, HashingEmbedder().model_id)
    chunks = list(load_index(settings).chunks.values())
    vectors, embedded = cache.embed(HashingEmbedder(), [chunk_embedding_text(c) for c in chunks])
    assert embedded == 0  # every chunk vector is already cached under this model
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
