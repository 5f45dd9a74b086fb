"""Heavy objects loaded once per server process and shared by every session (st.cache_resource).

The embedding model is keyed by its path and checksum; the Tutor (index, BM25, Chroma client) by the live build id,
so a re-index from the Content page is picked up on the next question without a restart.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import streamlit as st

from tutor.builder import build_indexer, build_learning, build_tutor, make_embedder
from tutor.conversation import Tutor
from tutor.corpus import Corpus, load_corpus
from tutor.embeddings import Embedder
from tutor.indexing import IndexMissingError, Indexer
from tutor.settings import Settings
from tutor.webapp.feedback import FeedbackStore


def current_settings() -> Settings:
    """Read per run (cheap), so the environment is the single source of truth."""
    return Settings()


@st.cache_resource(show_spinner="Loading the language model (once, after the tutor starts)…", max_entries=2)
def _embedder(model_key: str, _settings: Settings) -> Embedder:
    return make_embedder(_settings)


def shared_embedder(settings: Settings) -> Embedder:
    key = f"{settings.embedding.model_path or 'bundled'}:{settings.embedding.model_sha256}"
    return _embedder(key, settings)


def live_build_id(settings: Settings) -> str | None:
    marker = settings.paths.index_dir / "CURRENT"
    return (marker.read_text().strip() or None) if marker.is_file() else None


@st.cache_resource(show_spinner="Opening the guidance…", max_entries=2)
def _tutor(index_dir: str, build_id: str, fingerprint: str, corpus_dir: str, _settings: Settings) -> Tutor:
    return build_tutor(_settings, embedder=shared_embedder(_settings))


def shared_tutor(settings: Settings) -> Tutor:
    """The one Tutor for the live index. Raises IndexMissingError (with what to do) when there is no index."""
    build_id = live_build_id(settings)
    if build_id is None:
        raise IndexMissingError(f"no index in {settings.paths.index_dir}: run `tutor ingest` to build it")
    return _tutor(str(settings.paths.index_dir.resolve()), build_id, settings.fingerprint,
                  str(settings.paths.corpus_dir.resolve()), settings)


def corpus_signature(corpus_dir: Path) -> str:
    """Changes whenever a corpus file is added, removed or edited (by size and modification time)."""
    digest = hashlib.sha256()
    for path in sorted(corpus_dir.rglob("*")) if corpus_dir.is_dir() else []:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@st.cache_resource(max_entries=4)
def _corpus(corpus_dir: str, signature: str, today: str) -> Corpus:
    return load_corpus(Path(corpus_dir), today=date.fromisoformat(today))


def shared_corpus(settings: Settings) -> Corpus:
    """The corpus as it is on disk now (reloaded only when a file changed, or on a new day for review dates)."""
    folder = settings.paths.corpus_dir
    return _corpus(str(folder.resolve()), corpus_signature(folder), date.today().isoformat())


@st.cache_resource(show_spinner="Loading the learning material…", max_entries=2)
def _learning(index_dir: str, build_id: str, fingerprint: str, corpus_dir: str, signature: str, today: str,
              _settings: Settings):
    return build_learning(_settings, tutor=shared_tutor(_settings), corpus=shared_corpus(_settings))


def shared_learning(settings: Settings):
    """The one LearningEngine (tutor.pedagogy), sharing the Tutor; rebuilt when the index or the corpus changes."""
    tutor = shared_tutor(settings)  # raises IndexMissingError first, with what to do
    folder = settings.paths.corpus_dir
    return _learning(str(settings.paths.index_dir.resolve()), live_build_id(settings) or "", tutor.settings.fingerprint,
                     str(folder.resolve()), corpus_signature(folder), date.today().isoformat(), settings)


def feedback_store(settings: Settings) -> FeedbackStore:
    return FeedbackStore(settings.paths.feedback_db)


def indexer(settings: Settings) -> Indexer:
    """An indexer that reuses the shared embedding model instead of loading a second copy."""
    return build_indexer(settings, embedder=shared_embedder(settings))
