"""Token budget: fit history, passages and question into the model's context window; count tokens; estimate cost.

Counting uses tiktoken's offline cl100k encoding (the chunking setting). It is exact for OpenAI models and a close
estimate for others, which is what a budget needs. The per-message overhead follows OpenAI's chat format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tutor.chunking import encoding
from tutor.llm.chat import Message
from tutor.llm.prompts import Passage
from tutor.models import Turn
from tutor.settings import LLMSettings

MESSAGE_OVERHEAD = 4  # role and separators per message
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>


class ContextTooSmall(ValueError):
    """Even the question with the single best passage does not fit the context window."""


class TokenCounter:
    def __init__(self, encoding_name: str):
        self.encoding = encoding(encoding_name)

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.count(content) + MESSAGE_OVERHEAD for _, content in messages) + REPLY_PRIMING


@dataclass
class Fitted:
    messages: list[Message]
    passages: list[Passage]
    history: list[Turn]
    prompt_tokens: int
    turns_dropped: int = 0
    passages_dropped: int = 0


def fit_to_window(render: Callable[[list[Passage], list[Turn]], list[Message]], passages: list[Passage],
                  history: list[Turn], counter: TokenCounter, limit: int) -> Fitted:
    """Render, then drop the oldest turns and after them the lowest-ranked passages until the prompt fits `limit`.

    Conversation is context; passages are the evidence, so history goes first. The best passage is never dropped:
    if it cannot fit, ContextTooSmall says by how much.
    """
    kept_passages, kept_history = list(passages), list(history)
    while True:
        messages = render(kept_passages, kept_history)
        tokens = counter.count_messages(messages)
        if tokens <= limit:
            return Fitted(messages, kept_passages, kept_history, tokens,
                          len(history) - len(kept_history), len(passages) - len(kept_passages))
        if kept_history:
            kept_history.pop(0)
        elif len(kept_passages) > 1:
            kept_passages.pop()
        else:
            raise ContextTooSmall(f"the question and the best passage need {tokens} tokens but only {limit} are "
                                  "available (TUTOR_LLM__CONTEXT_WINDOW minus TUTOR_LLM__MAX_ANSWER_TOKENS)")


@dataclass
class CallUsage:
    """Tokens one request used: as the endpoint reported them, else as tiktoken counts them."""

    purpose: str
    input_tokens: int
    output_tokens: int
    counted_by: str

    @classmethod
    def of(cls, purpose: str, reported_input: int | None, reported_output: int | None, prompt_tokens: int,
           reply: str, counter: TokenCounter) -> "CallUsage":
        if reported_input is not None and reported_output is not None:
            return cls(purpose, reported_input, reported_output, "endpoint")
        return cls(purpose, prompt_tokens, counter.count(reply), "tiktoken")


@dataclass
class UsageReport:
    calls: list[CallUsage] = field(default_factory=list)
    turns_dropped: int = 0
    passages_dropped: int = 0

    def as_dict(self, settings: LLMSettings, model_called: bool = True, **extra) -> dict:
        input_tokens = sum(c.input_tokens for c in self.calls)
        output_tokens = sum(c.output_tokens for c in self.calls)
        cost = None
        if settings.price_per_1k_input is not None and settings.price_per_1k_output is not None:
            cost = round(input_tokens / 1000 * settings.price_per_1k_input
                         + output_tokens / 1000 * settings.price_per_1k_output, 6)
        return {
            "model": settings.model,
            "model_called": model_called,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "calls": [vars(c) for c in self.calls],
            "cost_estimate": cost,
            "currency": settings.price_currency if cost is not None else None,
            "trimmed": {"turns": self.turns_dropped, "passages": self.passages_dropped},
            **extra,
        }
