"""Build the index atomically and incrementally, and load the live one.

Layout in the data dir:
    index/CURRENT                 the id of the live build (replaced atomically, last step of a build)
    index/builds/<id>/            one complete build: manifest.json, chunks.jsonl, sentences.npz, bm25/, chroma/
    index/builds/<id>.partial/    a build in progress; never read, removed by the next build
A build never opens the live build for writing, so a bad document, an exception or kill -9 leaves it serving.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tutor.cards import CardIndex, card_questions, save_card_index, servable
from tutor.chunking import Sentence, chunk_document, split_sentences
from tutor.corpus import AUDIENCES, Corpus, load_corpus
from tutor.embeddings import Embedder, EmbeddingCache
from tutor.models import Chunk, Problem, SourceDoc
from tutor.settings import Settings
from tutor.stores import ChromaStore, StoreUnavailableError, VectorStore, chroma_client

Progress = Callable[[str, int, int], None]  # (stage, done, total)
INDEX_FORMAT = 3  # bump when what a build stores changes, so `tutor ingest` rebuilds older builds (vectors are cached)


class CorpusError(RuntimeError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class IndexMissingError(RuntimeError):
    pass


class BuildBusyError(RuntimeError):
    pass


def chunk_embedding_text(chunk: Chunk) -> str:
    """What the dense index sees: title and heading give a short passage its context."""
    return f"{chunk.title}. {chunk.heading}.\n{chunk.text}"


@dataclass
class BuildReport:
    build_id: str
    skipped: bool
    documents: int
    chunks: int
    chunks_embedded: int
    sentences: int
    sentences_embedded: int
    seconds: float
    corpus_digest: str
    path: str
    warnings: list[str] = field(default_factory=list)
    changed_documents: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"Index up to date (build {self.build_id}, {self.chunks} chunks from {self.documents} documents)."
        changed = f"; changed documents: {', '.join(self.changed_documents)}" if self.changed_documents else ""
        return (f"Built index {self.build_id}: {self.documents} documents, {self.chunks} chunks "
                f"({self.chunks_embedded} embedded, {self.chunks - self.chunks_embedded} reused), "
                f"{self.sentences} sentences ({self.sentences_embedded} embedded) in {self.seconds:.1f} s{changed}.")


class Indexer:
    def __init__(self, settings: Settings, embedder_factory: Callable[[], Embedder]):
        self.settings = settings
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.root = settings.paths.index_dir

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # ------------------------------------------------------------ state

    def current_id(self) -> str | None:
        marker = self.root / "CURRENT"
        return marker.read_text().strip() or None if marker.is_file() else None

    def current_manifest(self) -> dict | None:
        build = self.current_id()
        if not build:
            return None
        path = self.root / "builds" / build / "manifest.json"
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return None  # a damaged live build counts as none, so `tutor ingest` rebuilds instead of crashing

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".build.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise BuildBusyError("another build is running on this data dir; wait for it to finish") from exc
            yield

    # ------------------------------------------------------------ build

    def build(self, full: bool = False, progress: Progress | None = None, corpus: Corpus | None = None) -> BuildReport:
        started = time.perf_counter()
        corpus = corpus or load_corpus(self.settings.paths.corpus_dir)
        if corpus.errors:
            raise CorpusError(corpus.errors)
        with self._lock():
            self._remove_partial_builds()
            previous = self.current_manifest()
            fingerprint = self._build_fingerprint()
            if (not full and previous and previous.get("corpus_digest") == corpus.digest
                    and previous.get("build_fingerprint") == fingerprint):
                return BuildReport(previous["build_id"], True, previous["counts"]["documents"], previous["counts"]["chunks"],
                                   0, previous["counts"]["sentences"], 0, time.perf_counter() - started, corpus.digest,
                                   str(self.root / "builds" / previous["build_id"]))
            return self._build(corpus, full, previous, fingerprint, progress, started)

    def _build_fingerprint(self) -> str:
        return f"{self.settings.index_key}:{self.settings.retrieval.chroma_url or 'embedded'}:format-{INDEX_FORMAT}"

    def _build(self, corpus: Corpus, full: bool, previous: dict | None, fingerprint: str,
               progress: Progress | None, started: float) -> BuildReport:
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        partial = self.root / "builds" / f"{build_id}.partial"
        partial.mkdir(parents=True)

        docs = corpus.approved()
        chunks: list[Chunk] = []
        for doc in docs:
            chunks.extend(chunk_document(doc, self.settings.chunking))
        sentences: list[Sentence] = [s for c in chunks for s in split_sentences(c)]

        cache_path = self.settings.paths.embedding_cache
        if full and cache_path.exists():
            cache_path.unlink()  # --full: embed everything afresh
        cache = EmbeddingCache(cache_path, self.embedder.model_id)

        def stage(name: str, total: int) -> Callable[[int], None]:
            done = [0]

            def tick(n: int) -> None:
                done[0] += n
                if progress:
                    progress(name, done[0], total)
            return tick

        chunk_vectors, chunks_embedded = cache.embed(self.embedder, [chunk_embedding_text(c) for c in chunks],
                                                     progress=stage("embedding chunks", len(chunks)))
        sentence_vectors, sentences_embedded = cache.embed(self.embedder, [s.display for s in sentences],
                                                           progress=stage("embedding sentences", len(sentences)))
        cards = servable(corpus)
        questions, _ = card_questions(cards)
        card_vectors, _ = cache.embed(self.embedder, questions, progress=stage("embedding card questions",
                                                                               len(questions)))

        # Write everything into the partial folder; the live build is only read.
        with open(partial / "chunks.jsonl", "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk.model_dump_json() + "\n")
        # The documents as indexed: answers cite these, so a later broken or edited file cannot unseat the live index.
        with open(partial / "documents.jsonl", "w", encoding="utf-8") as handle:
            for doc in docs:
                handle.write(doc.model_dump_json() + "\n")
        np.savez(partial / "sentences.npz", vectors=sentence_vectors,
                 chunk_ids=np.array([s.chunk_id for s in sentences]), index=np.array([s.index for s in sentences]))
        from tutor.retrieval import Bm25Index

        Bm25Index.build(chunks).save(partial / "bm25")
        card_vectors = np.asarray(card_vectors, dtype=np.float32)
        save_card_index(partial, cards, card_vectors if card_vectors.ndim == 2 else np.zeros((0, 1), np.float32))

        collection = f"tutor-{self.settings.index_key}-{build_id}"
        store = self._open_store(partial, collection, create=True)
        if progress:
            progress("writing index", 0, len(chunks))
        store.add([c.id for c in chunks], chunk_vectors, [chunk_metadata(c) for c in chunks],
                  [c.text for c in chunks])
        if progress:
            progress("writing index", len(chunks), len(chunks))
        self._verify(store, chunks, chunk_vectors)

        changed = sorted(self._changed_documents(previous, docs)) if previous else []
        manifest = {
            "build_id": build_id,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "corpus_digest": corpus.digest,
            "corpus_version": corpus.version,
            "settings_fingerprint": self.settings.fingerprint,
            "build_fingerprint": fingerprint,
            "index_key": self.settings.index_key,
            "model_id": self.embedder.model_id,
            "model_sha256": self.settings.embedding.model_sha256,
            "chroma": {"url": self.settings.retrieval.chroma_url, "collection": collection},
            "documents": {d.id: d.content_hash for d in docs},
            "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences), "cards": len(cards),
                       "chunks_embedded": chunks_embedded, "sentences_embedded": sentences_embedded},
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
        final = self.root / "builds" / build_id
        os.replace(partial, final)
        _atomic_write(self.root / "CURRENT", build_id)
        self._prune(keep={build_id, previous["build_id"] if previous else ""})
        return BuildReport(build_id, False, len(docs), len(chunks), chunks_embedded, len(sentences), sentences_embedded,
                           time.perf_counter() - started, corpus.digest, str(final), changed_documents=changed)

    @staticmethod
    def _changed_documents(previous: dict | None, docs) -> set[str]:
        before = (previous or {}).get("documents", {})
        return {d.id for d in docs if before.get(d.id) != d.content_hash} | (set(before) - {d.id for d in docs})

    def _open_store(self, build_dir: Path, collection: str, create: bool) -> VectorStore:
        url = self.settings.retrieval.chroma_url
        client = chroma_client(path=build_dir / "chroma", url=url)
        return ChromaStore(client, collection, create=create, where_url=url or str(build_dir / "chroma"))

    @staticmethod
    def _verify(store: VectorStore, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """A build is only switched to once it holds every chunk and finds a chunk by its own vector."""
        if store.count() != len(chunks):
            raise RuntimeError(f"index check failed: {store.count()} vectors stored for {len(chunks)} chunks")
        for i in sorted({0, len(chunks) // 2, len(chunks) - 1}) if chunks else []:
            found = [cid for cid, _ in store.query(vectors[i], k=3)]
            if chunks[i].id not in found:
                raise RuntimeError(f"index check failed: chunk {chunks[i].id} is not found by its own vector")

    def _remove_partial_builds(self) -> None:
        builds = self.root / "builds"
        for path in builds.glob("*.partial") if builds.is_dir() else []:
            shutil.rmtree(path, ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        """Old builds go, except one a running tutor still serves (it holds a shared lease): that one goes at a
        later build, once nothing serves it."""
        builds = self.root / "builds"
        for path in builds.iterdir():
            if path.name in keep or path.name.endswith(".partial"):
                continue
            with _exclusive_lease(path) as free:
                if free:
                    self._drop_server_collection(path)
                    shutil.rmtree(path, ignore_errors=True)

    def _drop_server_collection(self, build_dir: Path) -> None:
        manifest_path = build_dir / "manifest.json"
        try:
            chroma = json.loads(manifest_path.read_text()).get("chroma", {}) if manifest_path.is_file() else {}
        except (OSError, ValueError):  # a damaged old build must not stop the new one going live
            return
        if chroma.get("url"):
            try:
                chroma_client(url=chroma["url"]).delete_collection(chroma["collection"])
            except Exception:  # an old collection that cannot be dropped is only wasted space
                pass


LEASE = "serving.lease"


def take_lease(build_dir: Path):
    """A shared lock on a build while a tutor serves it, so no build prunes it from under the tutor (an embedded
    Chroma opens new database connections as it is queried). None when the build cannot be written to."""
    try:
        handle = open(build_dir / LEASE, "a")
        fcntl.flock(handle, fcntl.LOCK_SH)
        return handle
    except OSError:
        return None


@contextmanager
def _exclusive_lease(build_dir: Path) -> Iterator[bool]:
    """True if no tutor serves the build (the exclusive lock was free), held while the build is removed."""
    try:
        handle = open(build_dir / LEASE, "a")
    except OSError:
        yield True
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        yield False
        return
    try:
        yield True
    finally:
        handle.close()


def chunk_metadata(chunk: Chunk) -> dict:
    meta: dict = {"doc_id": chunk.doc_id, "heading": chunk.heading, "position": chunk.position}
    for audience in AUDIENCES if "all" in chunk.audience else chunk.audience:  # "all" matches every audience filter
        meta[f"audience_{audience}"] = True
    for topic in chunk.topics:
        meta[f"topic_{topic}"] = True
    return meta


def _atomic_write(path: Path, text: str) -> None:
    temp = path.with_suffix(".tmp")
    with open(temp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


@dataclass
class LoadedIndex:
    """The live build, loaded once: chunks, sentence vectors, BM25 and the vector store."""

    manifest: dict
    chunks: dict[str, Chunk]
    sentences: dict[str, list[Sentence]]
    sentence_vectors: dict[str, np.ndarray]
    store: VectorStore
    bm25: object
    path: Path
    docs: dict[str, SourceDoc] = field(default_factory=dict)
    cards: CardIndex | None = None
    lease: object = field(default=None, repr=False)  # held open while this build is served (see take_lease)

    @property
    def corpus_version(self) -> str:
        return self.manifest.get("corpus_version", "")


def load_index(settings: Settings, store: VectorStore | None = None) -> LoadedIndex:
    from tutor.retrieval import Bm25Index

    root = settings.paths.index_dir
    marker = root / "CURRENT"
    if not marker.is_file():
        raise IndexMissingError(f"no index in {root}: run `tutor ingest` to build it from {settings.paths.corpus_dir}")
    build_dir = root / "builds" / marker.read_text().strip()
    lease = take_lease(build_dir) if build_dir.is_dir() else None
    try:
        manifest = json.loads((build_dir / "manifest.json").read_text())
        chunks: dict[str, Chunk] = {}
        with open(build_dir / "chunks.jsonl", encoding="utf-8") as handle:
            for line in handle:
                chunk = Chunk.model_validate_json(line)
                chunks[chunk.id] = chunk
        packed = np.load(build_dir / "sentences.npz")
        bm25 = Bm25Index.load(build_dir / "bm25", list(chunks.values()))
        cards = CardIndex.load(build_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexMissingError(f"the index at {build_dir} is damaged ({exc}); rebuild it with `tutor ingest --full`") from exc
    sentences: dict[str, list[Sentence]] = {}
    rows: dict[str, list[int]] = {}
    for row, chunk_id in enumerate(packed["chunk_ids"].tolist()):
        rows.setdefault(chunk_id, []).append(row)
    vectors = packed["vectors"]
    for chunk_id, chunk in chunks.items():
        sentences[chunk_id] = split_sentences(chunk)
        if len(sentences[chunk_id]) != len(rows.get(chunk_id, [])):
            raise IndexMissingError(f"the index at {build_dir} does not match its chunks; rebuild with `tutor ingest --full`")
    sentence_vectors = {cid: vectors[idx] for cid, idx in rows.items()}
    docs: dict[str, SourceDoc] = {}
    if (build_dir / "documents.jsonl").is_file():  # builds made before the snapshot existed fall back to the corpus
        with open(build_dir / "documents.jsonl", encoding="utf-8") as handle:
            docs = {d.id: d for d in map(SourceDoc.model_validate_json, handle)}
    if store is None:
        chroma = manifest["chroma"]
        url = chroma.get("url")
        try:
            store = ChromaStore(chroma_client(path=build_dir / "chroma", url=url), chroma["collection"],
                                where_url=url or str(build_dir / "chroma"))
        except StoreUnavailableError:
            raise
        except Exception as exc:
            raise IndexMissingError(f"the vector index at {build_dir / 'chroma'} cannot be opened ({exc}); "
                                    "rebuild it with `tutor ingest --full`") from exc
    return LoadedIndex(manifest, chunks, sentences, sentence_vectors, store, bm25, build_dir, docs, cards, lease)
