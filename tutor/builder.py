"""Composition root: wires settings, embedder, store, index, retriever, answerer and safety into a Tutor."""

from __future__ import annotations

from typing import Callable

from tutor.answer import ExtractiveAnswerer
from tutor.conversation import Tutor
from tutor.corpus import Corpus, load_corpus
from tutor.embeddings import Embedder, SentenceTransformerEmbedder
from tutor.indexing import Indexer, load_index
from tutor.retrieval import Retriever
from tutor.safety import SafetyLayer
from tutor.settings import Settings
from tutor.stores import VectorStore


def make_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedding)


def build_indexer(settings: Settings, embedder: Embedder | None = None) -> Indexer:
    factory: Callable[[], Embedder] = (lambda: embedder) if embedder is not None else (lambda: make_embedder(settings))
    return Indexer(settings, factory)


def build_tutor(settings: Settings | None = None, *, embedder: Embedder | None = None,
                store: VectorStore | None = None, corpus: Corpus | None = None) -> Tutor:
    """Load the live index and everything the ask path needs, once."""
    settings = settings or Settings()
    corpus = corpus or load_corpus(settings.paths.corpus_dir)
    index = load_index(settings, store=store)
    embedder = embedder or make_embedder(settings)
    docs = {d.id: d for d in corpus.docs}
    missing = {c.doc_id for c in index.chunks.values()} - set(docs)
    if missing:
        from tutor.indexing import IndexMissingError

        raise IndexMissingError(f"the index cites documents no longer in the corpus ({', '.join(sorted(missing))}); "
                                "run `tutor ingest`")
    retriever = Retriever(index, embedder, settings.retrieval)
    answerer = ExtractiveAnswerer(index, docs, settings.retrieval)
    return Tutor(settings, retriever, answerer, SafetyLayer(settings.safety), corpus_version=index.corpus_version)
