"""The real ChatOpenAI (and ChatOllama) client against a scripted OpenAI-compatible server on loopback.

Each test starts `tests/llm_stub.py` on a free port, builds the tutor over the fixture index with the openai backend
pointed at it, and checks what a learner would see and what the server was sent.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from llm_stub import Reply, StubEndpoint, closed_port_url, passages_in
from tutor.builder import build_tutor
from tutor.models import Answer, Turn

QUESTION = "What is automation bias?"


@pytest.fixture
def stub():
    endpoint = StubEndpoint().start()
    yield endpoint
    endpoint.stop()


def llm_tutor(fixture_tutor, base_url: str, backend: str = "openai", top_k: int = 5, **llm):
    settings = fixture_tutor.settings.model_copy(deep=True)
    settings.retrieval.top_k = top_k
    settings.llm.base_url = base_url
    settings.llm.model = "stub-model"
    settings.llm.timeout_s = 2.0
    settings.llm.max_retries = 1
    settings.llm.retry_backoff_s = 0.05
    for key, value in llm.items():
        setattr(settings.llm, key, value)
    return build_tutor(settings, embedder=fixture_tutor.retriever.embedder, backend=backend)


def first_sentence(request: dict, n: int) -> str:
    """The first sentence of passage n as the tutor sent it, so scripted replies are supported whatever ranks first."""
    return passages_in(request)[n].split("\n")[0].strip().rstrip(".")


def supported_reply(request: dict) -> str:
    return f"{first_sentence(request, 1)} [1]. {first_sentence(request, 2)} [2]."


def test_a_streamed_answer_arrives_in_checked_pieces_then_the_final_answer(fixture_tutor, stub):
    stub.play(Reply(supported_reply))
    tutor_ = llm_tutor(fixture_tutor, stub.url, price_per_1k_input=0.15, price_per_1k_output=0.6)
    items = list(tutor_.stream(QUESTION))
    pieces, final = items[:-1], items[-1]
    assert isinstance(final, Answer) and len(pieces) == 2 and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == final.answer
    request = stub.requests[0]
    assert request["stream"] is True and request["model"] == "stub-model"
    assert request["stream_options"] == {"include_usage": True}
    assert final.answer == f"{first_sentence(request, 1)}. [1] {first_sentence(request, 2)}. [2]"
    assert [c.chunk_id for c in final.citations] == final.retrieved[:2]
    assert final.backend == "openai" and final.notices == [] and not final.abstained
    # The stub counts words as tokens, so the counts are the endpoint's own, not tiktoken's.
    prompt_words = sum(len(m["content"].split()) for m in request["messages"])
    reply_words = len(supported_reply(request).split())
    usage = final.usage
    assert (usage["input_tokens"], usage["output_tokens"]) == (prompt_words, reply_words)
    assert usage["calls"][0]["counted_by"] == "endpoint"
    assert usage["cost_estimate"] == pytest.approx(prompt_words * 0.15 / 1000 + reply_words * 0.6 / 1000)


def test_a_citation_to_a_passage_that_was_not_given_is_removed(fixture_tutor, stub):
    stub.play(Reply(lambda r: f"{first_sentence(r, 1)} [7]. {first_sentence(r, 2)} [2][7]."))
    answer = llm_tutor(fixture_tutor, stub.url, top_k=3).ask(QUESTION)
    assert sorted(passages_in(stub.requests[0])) == [1, 2, 3]
    assert "[7]" not in answer.answer and len(answer.citations) == 2
    assert answer.answer == f"{first_sentence(stub.requests[0], 1)}. [1] {first_sentence(stub.requests[0], 2)}. [2]"
    assert answer.usage["verification"]["markers_removed"] == [7, 7]
    assert answer.backend == "openai" and stub.requests[0].get("stream") is not True


def test_an_unsupported_sentence_is_dropped_with_a_notice(fixture_tutor, stub):
    invented = "The MHRA requires every nurse to retrain on AI each year"
    stub.play(Reply(lambda r: f"{first_sentence(r, 1)} [1]. {invented} [1]. {first_sentence(r, 2)} [2]."))
    answer = llm_tutor(fixture_tutor, stub.url).ask(QUESTION)
    assert "retrain" not in answer.answer and answer.answer.count("[") == 2
    assert [n.id for n in answer.notices] == ["llm-unsupported-removed"]
    assert answer.usage["verification"]["dropped"] == [
        {"sentence": invented + ".", "reason": "not supported by the passages it cites"}]


@pytest.mark.parametrize("reply, reason", [
    (Reply(raw="<html>502 Bad Gateway</html>"), "JSONDecodeError"),
    (Reply(raw=json.dumps({"id": "x", "object": "chat.completion", "choices": []})), "IndexError"),
    (Reply(""), "the reply was empty"),
])
def test_malformed_output_gives_the_extractive_answer_with_a_notice(fixture_tutor, stub, reply, reason):
    stub.play(reply)
    answer = llm_tutor(fixture_tutor, stub.url).ask(QUESTION)
    assert answer.answer == fixture_tutor.ask(QUESTION).answer and answer.citations
    assert answer.backend == "extractive"
    notice = answer.notices[-1]
    assert notice.id == "llm-malformed" and reason in notice.text
    assert notice.text.endswith("so this answer is taken directly from the guidance instead.")


def test_a_malformed_stream_falls_back_too(fixture_tutor, stub):
    stub.play(Reply(raw="data: {not json}\n\n"))
    items = list(llm_tutor(fixture_tutor, stub.url).stream(QUESTION))
    assert len(items) == 1 and items[0].notices[-1].id == "llm-malformed"
    assert items[0].answer == fixture_tutor.ask(QUESTION).answer


def test_a_timeout_retries_once_then_answers_from_the_guidance_and_rests_the_endpoint(fixture_tutor, stub):
    stub.play(Reply(supported_reply, delay=5))
    tutor_ = llm_tutor(fixture_tutor, stub.url, timeout_s=0.5, max_retries=1, cooldown_s=60)
    started = time.perf_counter()
    answer = tutor_.ask(QUESTION)
    took = time.perf_counter() - started
    assert len(stub.requests) == 2, "one request and one retry"
    assert 1.0 <= took < 3.5
    assert answer.answer == fixture_tutor.ask(QUESTION).answer and answer.backend == "extractive"
    assert answer.notices[-1].id == "llm-unavailable" and "did not answer within 0.5 s" in answer.notices[-1].text
    started = time.perf_counter()
    again = tutor_.ask(QUESTION)
    assert time.perf_counter() - started < 0.5 and len(stub.requests) == 2, "a resting endpoint is not called"
    assert again.notices[-1].id == "llm-unavailable" and "a moment ago" in again.notices[-1].text


def test_a_dead_endpoint_answers_from_the_guidance_with_a_notice(fixture_tutor):
    tutor_ = llm_tutor(fixture_tutor, closed_port_url(), max_retries=2, retry_backoff_s=0.05)
    for answer in (tutor_.ask(QUESTION), list(tutor_.stream(QUESTION))[-1]):
        assert answer.answer == fixture_tutor.ask(QUESTION).answer and answer.citations
        assert answer.backend == "extractive" and not answer.abstained
        assert answer.notices[-1].id == "llm-unavailable"
        assert "could not be reached" in answer.notices[-1].text or "a moment ago" in answer.notices[-1].text


def test_a_server_error_is_retried_with_backoff_and_then_succeeds(fixture_tutor, stub):
    stub.play(Reply(status=503), Reply(supported_reply))
    answer = llm_tutor(fixture_tutor, stub.url, retry_backoff_s=0.3).ask(QUESTION)
    assert len(stub.requests) == 2 and answer.backend == "openai" and len(answer.citations) == 2


def test_a_refused_key_is_not_retried_and_says_what_to_check(fixture_tutor, stub):
    stub.play(Reply(status=401))
    answer = llm_tutor(fixture_tutor, stub.url, max_retries=3).ask(QUESTION)
    assert len(stub.requests) == 1
    assert "refused the request (HTTP 401); check TUTOR_LLM__API_KEY" in answer.notices[-1].text


def test_a_follow_up_is_rewritten_by_the_endpoint_only_when_there_is_history(fixture_tutor, stub):
    stub.play("How can clinicians counter automation bias?", Reply(supported_reply))
    tutor_ = llm_tutor(fixture_tutor, stub.url)
    answer = tutor_.ask("And how do I counter it?", history=[Turn(role="user", content=QUESTION),
                                                             Turn(role="assistant", content="It is over-trust. [1]")])
    rewrite, reply = stub.requests
    assert "Latest message: And how do I counter it?" in rewrite["messages"][0]["content"]
    assert "Question: How can clinicians counter automation bias?" in reply["messages"][-1]["content"]
    assert [m["role"] for m in reply["messages"]] == ["system", "user", "assistant", "user"]
    assert answer.backend == "openai" and [c["purpose"] for c in answer.usage["calls"]] == ["rewrite", "answer"]
    stub.play(Reply(supported_reply))
    tutor_.ask(QUESTION)
    assert len(stub.requests) == 3, "a first question costs exactly one request"


def test_no_identifier_reaches_the_endpoint(fixture_tutor, stub):
    """The input guard runs first: the NHS number in the question and in the history is never sent."""
    stub.play("How does automation bias affect reading a scan?", Reply(supported_reply))
    tutor_ = llm_tutor(fixture_tutor, stub.url)
    history = [Turn(role="user", content="My patient 943 476 5919 had a chest X-ray flagged by AI."),
               Turn(role="assistant", content="I cannot discuss individual patients.")]
    answer = tutor_.ask("What is automation bias when reading 943 476 5919's scan?", history=history)
    assert stub.requests, "the endpoint must be asked, or this test proves nothing"
    for body in stub.raw_bodies + [answer.model_dump_json()]:
        assert "9434765919" not in re.sub(r"[\s-]", "", body)


def test_the_ollama_adapter_talks_to_an_ollama_server(fixture_tutor, stub):
    stub.play(Reply(supported_reply))
    answer = llm_tutor(fixture_tutor, stub.root, backend="ollama").ask(QUESTION)
    request = stub.requests[0]
    assert request["model"] == "stub-model" and request["options"]["num_ctx"] == 8192
    assert answer.backend == "ollama" and len(answer.citations) == 2
    assert answer.usage["calls"][0]["counted_by"] == "endpoint"
