"""Embeddings: the bundled model is checked by SHA-256 before it loads (a mismatch stops with a clear error, never a
silent fallback), and it embeds text to 384-dimensional unit vectors that put related sentences together."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE_CORPUS, run_tutor

from tutor.builder import make_embedder
from tutor.embeddings import (
    EmbeddingCache, ModelIntegrityError, SentenceTransformerEmbedder, bundled_model_path, sha256_of, verify_model,
)
from tutor.settings import EmbeddingSettings, Settings

WRONG_SHA = "0" * 64


@pytest.fixture
def model_copy(tmp_path) -> Path:
    """A copy of the bundled model folder (the 90 MB weights linked, not copied, unless a test replaces them)."""
    source = bundled_model_path()
    target = tmp_path / "model"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("model.safetensors"))
    (target / "model.safetensors").symlink_to(source / "model.safetensors")
    return target


def flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.unlink()  # never write through a link into the installed package
    path.write_bytes(bytes(data))


def test_the_bundled_model_matches_the_pinned_checksums():
    folder = bundled_model_path()
    settings = EmbeddingSettings()
    assert sha256_of(folder / "model.safetensors") == settings.model_sha256
    assert sha256_of(folder / "tokenizer.json") == settings.tokenizer_sha256
    verify_model(folder, settings)  # no error


def test_one_altered_byte_in_the_tokenizer_stops_loading(model_copy):
    verify_model(model_copy, EmbeddingSettings(model_path=model_copy))  # the untouched copy passes
    flip_one_byte(model_copy / "tokenizer.json", 1000)
    with pytest.raises(ModelIntegrityError) as caught:
        SentenceTransformerEmbedder(EmbeddingSettings(model_path=model_copy))
    message = str(caught.value)
    assert str(model_copy / "tokenizer.json") in message
    assert f"expected {EmbeddingSettings().tokenizer_sha256}" in message
    assert sha256_of(model_copy / "tokenizer.json") in message


def test_altered_weights_stop_loading(model_copy):
    shutil.copyfile(bundled_model_path() / "model.safetensors", model_copy / "weights.tmp")
    (model_copy / "model.safetensors").unlink()
    (model_copy / "weights.tmp").rename(model_copy / "model.safetensors")
    flip_one_byte(model_copy / "model.safetensors", 5_000_000)
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors: SHA-256 is [0-9a-f]{64}, expected 53aa5117"):
        verify_model(model_copy, EmbeddingSettings(model_path=model_copy))


def test_a_missing_weights_file_is_named(model_copy):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="model.safetensors: missing; the embedding model folder is incomplete"):
        verify_model(model_copy, EmbeddingSettings(model_path=model_copy))


def test_a_wrong_expected_checksum_is_an_error_not_a_fallback(tmp_path):
    settings = Settings()
    settings.embedding.model_sha256 = WRONG_SHA
    with pytest.raises(ModelIntegrityError, match=f"expected {WRONG_SHA}"):
        make_embedder(settings)  # the composition root does not swap in another embedder


@pytest.mark.slow
def test_ingest_with_a_wrong_checksum_exits_with_a_clear_message():
    result = run_tutor("ingest", "--quiet", env={"TUTOR_EMBEDDING__MODEL_SHA256": WRONG_SHA,
                                                 "TUTOR_PATHS__CORPUS_DIR": str(FIXTURE_CORPUS)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ingest stopped:" in result.stderr
    assert f"expected {WRONG_SHA}" in result.stderr
    assert "TUTOR_EMBEDDING__MODEL_SHA256" in result.stderr  # says what to do


# ---------------------------------------------------------------- the real model

TEXTS = [
    "Automation bias is the tendency to favour suggestions from an automated system without enough critical thought.",
    "Clinicians can over-trust a computer's recommendation and stop checking it.",
    "Suspected problems with medical devices are reported to the MHRA through the Yellow Card scheme.",
]


def test_the_real_model_embeds_to_384_dimensional_unit_vectors(real_embedder):
    vectors = real_embedder.embed(TEXTS)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert real_embedder.dimension == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(real_embedder.embed_query(TEXTS[0]), vectors[0], atol=1e-5)
    np.testing.assert_allclose(real_embedder.embed(TEXTS), vectors, atol=1e-6)  # deterministic
    assert real_embedder.embed([]).shape == (0, 384)
    # Meaning, not words: the paraphrase of automation bias is nearer to it than the reporting sentence is.
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.1
    assert real_embedder.model_id == f"model:{EmbeddingSettings().model_sha256[:12]}"


def test_embedding_is_batched_with_progress(real_embedder):
    ticks: list[int] = []
    texts = [f"Sentence number {n} about checking an AI output." for n in range(70)]
    vectors = real_embedder.embed(texts, progress=ticks.append)
    assert ticks == [32, 32, 6]
    assert vectors.shape == (70, 384)


def test_the_cache_embeds_only_new_text(tmp_path, real_embedder):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3", real_embedder.model_id)
    first, embedded = cache.embed(real_embedder, TEXTS[:2])
    assert embedded == 2
    again, embedded = cache.embed(real_embedder, TEXTS)
    assert embedded == 1  # only the new sentence
    np.testing.assert_array_equal(again[:2], first)
    other_model = EmbeddingCache(tmp_path / "cache.sqlite3", "another-model")
    assert other_model.embed(real_embedder, TEXTS[:1])[1] == 1  # vectors are never shared across models
