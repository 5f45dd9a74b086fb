"""Vector stores behind one small interface: Chroma (embedded or server) and an in-memory fake."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlparse

import numpy as np


class StoreUnavailableError(RuntimeError):
    """The vector store cannot be reached or read; the message says what to do."""


@runtime_checkable
class VectorStore(Protocol):
    name: str

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict], documents: list[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(id, cosine similarity) best first."""

    def count(self) -> int: ...


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def chroma_client(path: Path | None = None, url: str | None = None):
    """An embedded client on `path`, or an HTTP client for a Chroma server at `url`."""
    import chromadb

    if url:
        parsed = urlparse(url)
        if not parsed.hostname:
            raise StoreUnavailableError(f"TUTOR_RETRIEVAL__CHROMA_URL '{url}' is not a URL like http://127.0.0.1:8000")
        try:
            return chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000, ssl=parsed.scheme == "https",
                                       settings=_chroma_settings())
        except Exception as exc:  # chromadb raises several types for a dead server
            raise StoreUnavailableError(f"cannot reach the Chroma server at {url}: {exc}. Start it with "
                                        "`chroma run --path DIR --port N` or unset TUTOR_RETRIEVAL__CHROMA_URL.") from exc
    assert path is not None
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def _where(filters: dict | None) -> dict | None:
    if not filters:
        return None
    clauses = [{key: value} for key, value in filters.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaStore:
    """A Chroma collection used as a cosine-similarity store (embedded or server)."""

    def __init__(self, client, name: str, create: bool = False, where_url: str = "embedded"):
        self.name = name
        self._where_url = where_url
        try:
            if create:
                self._collection = client.create_collection(name=name, metadata={"hnsw:space": "cosine"})
            else:
                self._collection = client.get_collection(name=name)
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma collection '{name}' ({where_url}) cannot be opened: {exc}. "
                                        "Rebuild the index with `tutor ingest --full`.") from exc

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict], documents: list[str]) -> None:
        for start in range(0, len(ids), 1000):
            end = start + 1000
            self._collection.add(ids=ids[start:end], embeddings=vectors[start:end].tolist(),
                                 metadatas=metadatas[start:end], documents=documents[start:end])

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        try:
            result = self._collection.query(query_embeddings=[vector.tolist()], n_results=k, where=_where(where),
                                            include=["distances"])
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma query failed ({self._where_url}, collection '{self.name}'): {exc}") from exc
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]

    def count(self) -> int:
        try:
            return self._collection.count()
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma count failed ({self._where_url}): {exc}") from exc


class MemoryStore:
    """An exact in-memory cosine store with the same interface, for fast tests."""

    def __init__(self, name: str = "memory"):
        self.name = name
        self._ids: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._metadatas: list[dict] = []
        self._lock = threading.Lock()

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict], documents: list[str]) -> None:
        with self._lock:
            self._ids.extend(ids)
            self._metadatas.extend(metadatas)
            self._vectors = vectors.copy() if self._vectors.size == 0 else np.vstack([self._vectors, vectors])

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        if not self._ids:
            return []
        scores = self._vectors @ vector
        order = np.argsort(-scores)
        out = []
        for i in order:
            if where and any(self._metadatas[i].get(key) != value for key, value in where.items()):
                continue
            out.append((self._ids[i], float(scores[i])))
            if len(out) == k:
                break
        return out

    def count(self) -> int:
        return len(self._ids)
