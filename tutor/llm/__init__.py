"""Generative backends: chat models through LangChain, prompt templates, token budget and verified answers.

`build_generative_answerer` is what the composition root calls when settings.llm.backend (or an override) names a
chat model; the extractive answerer stays the default, and the fallback inside every generative answer.
"""

from __future__ import annotations

from tutor.llm.answerer import GenerativeAnswerer, GenerativeDraft, Rewrite
from tutor.llm.chat import (ChatConfigError, ChatError, ChatModel, Completion, EndpointUnavailable, LangChainChat,
                            MalformedReply, make_chat_model, scripted_chat)
from tutor.llm.prompts import ABSTAIN_SENTINEL, CHECK_PREFIX, PromptError, load_prompts

GENERATIVE_BACKENDS = ("openai", "ollama")

__all__ = [
    "ABSTAIN_SENTINEL", "CHECK_PREFIX", "GENERATIVE_BACKENDS", "ChatConfigError", "ChatError", "ChatModel",
    "Completion", "EndpointUnavailable", "GenerativeAnswerer", "GenerativeDraft", "LangChainChat", "MalformedReply",
    "PromptError", "Rewrite", "build_generative_answerer", "load_prompts", "make_chat_model", "resolve_backend",
    "scripted_chat",
]


def resolve_backend(requested: str | None, configured: str) -> str:
    """The backend to use: `llm` means whichever chat model the settings configure."""
    backend = requested or configured
    if backend == "llm":
        if configured not in GENERATIVE_BACKENDS:
            raise ChatConfigError("no language model is configured: set TUTOR_LLM__BACKEND to openai or ollama, and "
                                  "TUTOR_LLM__BASE_URL and TUTOR_LLM__MODEL to your endpoint")
        return configured
    if backend not in ("extractive", *GENERATIVE_BACKENDS):
        raise ChatConfigError(f"unknown backend {backend!r}; choose extractive, openai, ollama or llm")
    return backend


def build_generative_answerer(settings, backend: str, fallback, embedder=None,
                              chat: ChatModel | None = None) -> GenerativeAnswerer:
    """Load and check the prompts, make the chat model (unless one is given) and wrap the extractive answerer."""
    prompts = load_prompts(settings.paths.prompts_dir)
    return GenerativeAnswerer(chat or make_chat_model(settings.llm, backend), fallback, prompts, settings,
                              embedder=embedder)
