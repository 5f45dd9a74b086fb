"""Composition root: wires settings, embedder, store, index, retriever, answerer and safety into a Tutor."""

from __future__ import annotations

from typing import Callable

from tutor.answer import ExtractiveAnswerer
from tutor.card_answerer import CardAnswerer
from tutor.conversation import Tutor
from tutor.corpus import Corpus, load_corpus
from tutor.embeddings import Embedder, SentenceTransformerEmbedder
from tutor.indexing import Indexer, load_index
from tutor.llm import build_generative_answerer, resolve_backend
from tutor.retrieval import Retriever
from tutor.safety import SafetyLayer
from tutor.settings import Settings
from tutor.stores import VectorStore
from tutor.vocabulary import Vocabulary


def make_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedding)


def build_indexer(settings: Settings, embedder: Embedder | None = None) -> Indexer:
    factory: Callable[[], Embedder] = (lambda: embedder) if embedder is not None else (lambda: make_embedder(settings))
    return Indexer(settings, factory)


def build_tutor(settings: Settings | None = None, *, embedder: Embedder | None = None,
                store: VectorStore | None = None, corpus: Corpus | None = None, backend: str | None = None,
                chat_model=None) -> Tutor:
    """Load the live index and everything the ask path needs, once.

    `backend` overrides settings.llm.backend: extractive, openai, ollama, or llm (whichever chat model the settings
    configure), e.g. build_tutor(settings, backend="llm") for `tutor eval --backend llm`. `chat_model` replaces the
    endpoint with any tutor.llm.ChatModel (tests, demos); the extractive answerer is always the fallback.
    """
    settings = settings or Settings()
    corpus = corpus or load_corpus(settings.paths.corpus_dir)
    index = load_index(settings, store=store)
    embedder = embedder or make_embedder(settings)
    docs = index.docs or {d.id: d for d in corpus.docs}  # the documents as indexed, so a broken file cannot unseat it
    missing = {c.doc_id for c in index.chunks.values()} - set(docs)
    if missing:
        from tutor.indexing import IndexMissingError

        raise IndexMissingError(f"the index cites documents no longer in the corpus ({', '.join(sorted(missing))}); "
                                "run `tutor ingest`")
    vocabulary = Vocabulary.load(settings.paths.corpus_dir, corpus.glossary)
    retriever = Retriever(index, embedder, settings.retrieval)
    answerer = ExtractiveAnswerer(index, docs, settings.retrieval, settings.answer, vocabulary)
    chosen = resolve_backend(backend, settings.llm.backend)
    if chosen != settings.llm.backend:  # stamp answers with the backend really used
        settings = settings.model_copy(deep=True)
        settings.llm.backend = chosen
    if chosen != "extractive" or chat_model is not None:
        answerer = build_generative_answerer(settings, chosen, answerer, embedder=embedder, chat=chat_model)
    if settings.cards.enabled and index.cards is not None and len(index.cards):
        answerer = CardAnswerer(answerer, index.cards, index.chunks, docs, settings.cards, vocabulary)
    safety = SafetyLayer(settings, embedder, chunks=index.chunks)
    return Tutor(settings, retriever, answerer, safety, corpus_version=index.corpus_version, vocabulary=vocabulary)


def build_learning(settings: Settings | None = None, *, tutor: Tutor | None = None, corpus: Corpus | None = None,
                   embedder: Embedder | None = None, clock=None):
    """The tutoring engine (tutor.pedagogy.LearningEngine) over the corpus, sharing the Tutor's retriever and embedder.

    Without a Tutor it still runs profiles, pathways, multiple-choice quizzes, scenarios and export; free-text grading
    then loads the embedding model on first use (or uses `embedder`), and the "another way" and "example" moves are
    unavailable. `clock` (a function returning an aware datetime) lets tests move time without sleeping.
    """
    from tutor.pedagogy.engine import LearningEngine, utc_now

    settings = settings or Settings()
    corpus = corpus or load_corpus(settings.paths.corpus_dir)
    factory: Callable[[], Embedder] = (lambda: embedder) if embedder is not None else (lambda: make_embedder(settings))
    return LearningEngine(settings, corpus, tutor=tutor, embedder_factory=factory, clock=clock or utc_now)
