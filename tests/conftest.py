"""Shared fixtures: every test writes under tmp_path; the real model and a real index are built once per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import tutor  # noqa: F401  offline environment first
from tutor.builder import build_indexer, build_tutor
from tutor.embeddings import HashingEmbedder, SentenceTransformerEmbedder
from tutor.settings import EmbeddingSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
REAL_CORPUS = ROOT / "corpus"
TUTOR_BIN = Path(sys.executable).parent / "tutor"


def run_tutor(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 300,
              cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the installed `tutor` command in a child process; it inherits the test's TUTOR_* environment."""
    return subprocess.run([str(TUTOR_BIN), *args], capture_output=True, text=True, input=input, timeout=timeout,
                          cwd=cwd, env={**os.environ, **(env or {})})


def free_port() -> int:
    """A loopback port nobody is listening on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server a test started: politely, then for certain."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace text that must occur exactly once in a file (so a test never edits the wrong place silently)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A private copy of the fixture corpus that a test may edit."""
    root = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, root)
    return root


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Nothing a test does may touch the developer's data dir."""
    monkeypatch.setenv("TUTOR_PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TUTOR_RETRIEVAL__CHROMA_URL", raising=False)
    yield tmp_path / "data"


def make_settings(data_dir: Path, corpus_dir: Path = FIXTURE_CORPUS, **groups) -> Settings:
    settings = Settings()
    settings.paths.data_dir = data_dir
    settings.paths.corpus_dir = corpus_dir
    for group, values in groups.items():
        for key, value in values.items():
            setattr(getattr(settings, group), key, value)
    return settings


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, checked by SHA-256, loaded once."""
    return SentenceTransformerEmbedder(EmbeddingSettings())


@pytest.fixture
def hashing_embedder():
    return HashingEmbedder()


@pytest.fixture
def fixture_settings(tmp_path):
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def real_corpus_settings(tmp_path_factory, real_embedder):
    """The real corpus indexed once with the real model and embedded Chroma."""
    settings = make_settings(tmp_path_factory.mktemp("real-index"), REAL_CORPUS)
    build_indexer(settings, real_embedder).build()
    return settings


@pytest.fixture(scope="session")
def real_tutor(real_corpus_settings, real_embedder):
    """A Tutor over the real corpus, as `make run` serves it (shared, like the app's cached instance)."""
    return build_tutor(real_corpus_settings, embedder=real_embedder)


@pytest.fixture(scope="session")
def fixture_tutor(tmp_path_factory, real_embedder):
    settings = make_settings(tmp_path_factory.mktemp("fixture-index"))
    build_indexer(settings, real_embedder).build()
    return build_tutor(settings, embedder=real_embedder)
