"""Chat models behind one small interface: LangChain's ChatOpenAI and ChatOllama, a scripted fake, and retries.

Everything the rest of the tutor sees is `ChatModel`: `complete(messages)` and `stream(messages)`, both speaking
plain `(role, content)` pairs. LangChain types stay inside `LangChainChat`. Failures become one of two errors a
user can act on: `EndpointUnavailable` (down, too slow, refused) and `MalformedReply` (answered with something
that is not a chat reply).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, Protocol, runtime_checkable

from tutor.settings import LLMSettings

Role = Literal["system", "user", "assistant"]
Message = tuple[Role, str]


@dataclass
class Completion:
    """A whole reply and what it cost in tokens (None when the endpoint did not say)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None


class ChatError(RuntimeError):
    """The model could not give a usable reply; `reason` is a sentence a user can read."""

    kind = "error"

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class EndpointUnavailable(ChatError):
    kind = "unavailable"


class MalformedReply(ChatError):
    kind = "malformed"


@runtime_checkable
class ChatModel(Protocol):
    name: str

    def complete(self, messages: list[Message]) -> Completion: ...

    def stream(self, messages: list[Message]) -> Iterator[str | Completion]:
        """Text pieces as they arrive, then one final `Completion` holding the whole text."""


def describe_failure(exc: Exception, where: str, timeout_s: float) -> ChatError:
    """Turn whatever the client raised into an error that says what went wrong and whether a retry may help."""
    import httpx
    import openai

    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
        return EndpointUnavailable(f"the model at {where} did not answer within {timeout_s:g} s")
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
        return EndpointUnavailable(f"the model at {where} could not be reached ({type(exc).__name__})")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APIStatusError) or (isinstance(status, int) and status > 0):
        status = int(status)
        if status in (401, 403):
            return EndpointUnavailable(f"the model at {where} refused the request (HTTP {status}); "
                                       "check TUTOR_LLM__API_KEY", retryable=False)
        if status == 404:
            return EndpointUnavailable(f"the model at {where} was not found (HTTP 404); "
                                       "check TUTOR_LLM__BASE_URL and TUTOR_LLM__MODEL", retryable=False)
        retryable = status in (408, 409, 429) or status >= 500
        return EndpointUnavailable(f"the model at {where} returned HTTP {status}", retryable=retryable)
    if isinstance(exc, (json.JSONDecodeError, ValueError, TypeError, KeyError, IndexError, AttributeError)):
        return MalformedReply(f"the model at {where} sent a reply that is not a chat completion "
                              f"({type(exc).__name__})")
    return EndpointUnavailable(f"the model at {where} failed ({type(exc).__name__}: {exc})", retryable=False)


class LangChainChat:
    """Any LangChain chat model, with a timeout, bounded retries with exponential backoff and a cool-down.

    A retry happens only before the first piece of a reply has arrived; a reply broken off midway is an error.
    After a request fails every retry, further requests fail at once for `cooldown_s` seconds: the tutor then
    answers from the guidance directly instead of making every learner wait for a dead server.
    """

    def __init__(self, model, name: str, where: str, settings: LLMSettings):
        self.model = model
        self.name = name
        self.where = where
        self.settings = settings
        self._down_until = 0.0
        self._down_reason = ""
        self._lock = threading.Lock()

    def complete(self, messages: list[Message]) -> Completion:
        def once() -> Completion:
            reply = self.model.invoke(list(messages))
            if not isinstance(reply.content, str):
                raise MalformedReply(f"the model at {self.where} replied with {type(reply.content).__name__}, "
                                     "not text")
            return Completion(reply.content, *_token_counts(reply))

        return self._with_retries(once)

    def stream(self, messages: list[Message]) -> Iterator[str | Completion]:
        attempt = 0
        while True:
            self._check_cooldown()
            pieces: list[str] = []
            usage: tuple[int | None, int | None] = (None, None)
            try:
                for chunk in self.model.stream(list(messages)):
                    if not isinstance(chunk.content, str):
                        raise MalformedReply(f"the model at {self.where} streamed something that is not text")
                    if getattr(chunk, "usage_metadata", None):
                        usage = _token_counts(chunk)
                    if chunk.content:
                        pieces.append(chunk.content)
                        yield chunk.content
                yield Completion("".join(pieces), *usage)
                return
            except Exception as exc:  # noqa: BLE001  every client failure is classified here
                self._retry_or_raise(exc, attempt, broken_off=bool(pieces))
                attempt += 1

    def _with_retries(self, call: Callable[[], Completion]) -> Completion:
        attempt = 0
        while True:
            self._check_cooldown()
            try:
                return call()
            except Exception as exc:  # noqa: BLE001  every client failure is classified here
                self._retry_or_raise(exc, attempt)
                attempt += 1

    def _retry_or_raise(self, exc: Exception, attempt: int, broken_off: bool = False) -> None:
        """Wait before the next attempt (0.5 s, 1 s, 2 s, ... by default), or raise when no retry may help."""
        error = describe_failure(exc, self.where, self.settings.timeout_s)
        if broken_off or not error.retryable or attempt >= self.settings.max_retries:
            self._fail(error)
        time.sleep(min(self.settings.retry_backoff_s * (2 ** attempt), 8.0))

    def _check_cooldown(self) -> None:
        with self._lock:
            wait = self._down_until - time.monotonic()
            if wait > 0:
                raise EndpointUnavailable(f"{self._down_reason} a moment ago; it will be tried again in "
                                          f"{max(1, round(wait))} s",
                                          retryable=False)

    def _fail(self, error: ChatError):
        if isinstance(error, EndpointUnavailable) and self.settings.cooldown_s > 0:
            with self._lock:
                self._down_until = time.monotonic() + self.settings.cooldown_s
                self._down_reason = error.reason
        raise error


def _token_counts(message) -> tuple[int | None, int | None]:
    usage = getattr(message, "usage_metadata", None) or {}
    return usage.get("input_tokens"), usage.get("output_tokens")


class ChatConfigError(ValueError):
    """The settings do not describe a usable chat model."""


def make_chat_model(settings: LLMSettings, backend: str | None = None) -> LangChainChat:
    """The real adapter for `backend` (default: settings.backend): ChatOpenAI or ChatOllama, nothing downloaded."""
    backend = backend or settings.backend
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.base_url and not key:
            raise ChatConfigError("the openai backend needs TUTOR_LLM__BASE_URL (your OpenAI-compatible server, "
                                  "e.g. http://localhost:8000/v1) or TUTOR_LLM__API_KEY for api.openai.com")
        model = ChatOpenAI(model=settings.model, base_url=settings.base_url,
                           # local servers (vLLM, llama.cpp, LM Studio) ignore the key but the client insists on one
                           api_key=key or "not-needed", temperature=settings.temperature,
                           max_tokens=settings.max_answer_tokens, timeout=settings.timeout_s,
                           max_retries=0, use_responses_api=False, stream_usage=True)
        where = settings.base_url or "api.openai.com"
    elif backend == "ollama":
        from langchain_ollama import ChatOllama

        where = settings.base_url or "http://localhost:11434"
        model = ChatOllama(model=settings.model, base_url=where, temperature=settings.temperature,
                           num_predict=settings.max_answer_tokens, num_ctx=settings.context_window,
                           client_kwargs={"timeout": settings.timeout_s})
    else:
        raise ChatConfigError(f"unknown chat backend {backend!r}; choose openai or ollama (TUTOR_LLM__BACKEND)")
    return LangChainChat(model, backend, where, settings)


def scripted_chat(replies: list[str], settings: LLMSettings | None = None, name: str = "fake") -> LangChainChat:
    """A deterministic chat model for tests and demos: LangChain's GenericFakeChatModel, one reply per request."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    model = GenericFakeChatModel(messages=iter(replies))
    return LangChainChat(model, name, "the scripted fake", settings or LLMSettings(retry_backoff_s=0, cooldown_s=0))
