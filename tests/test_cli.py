"""The `tutor` command as users and tools run it, in a child process: the JSON answer contract, batches, settings and
the exit codes that tell a script what went wrong."""

from __future__ import annotations

import json

import pytest
from conftest import REAL_CORPUS, run_tutor

from tutor.settings import Settings

CONTRACT = {
    "id": str, "question": str, "answer": str, "citations": list, "notices": list, "refused": bool,
    "refusal_reason": (str, type(None)), "abstained": bool, "pii": list, "backend": str,
    "settings_fingerprint": str, "latency_ms": (int, float),
}
CITATION = {"n": int, "doc_id": str, "title": str, "publisher": str, "url": str, "chunk_id": str, "quote": str}


def assert_contract(answer: dict) -> None:
    for field, kind in CONTRACT.items():
        assert isinstance(answer[field], kind), (field, answer[field])
    for citation in answer["citations"]:
        for field, kind in CITATION.items():
            assert isinstance(citation[field], kind), (field, citation)
    for notice in answer["notices"]:
        assert isinstance(notice["id"], str) and isinstance(notice["text"], str)
    assert answer["latency_ms"] > 0


def real_index_env(real_corpus_settings) -> dict:
    return {"TUTOR_PATHS__DATA_DIR": str(real_corpus_settings.paths.data_dir), "TUTOR_PATHS__CORPUS_DIR": str(REAL_CORPUS)}


@pytest.mark.slow
def test_ask_json_follows_the_contract_and_quotes_the_corpus_verbatim(real_corpus_settings):
    result = run_tutor("ask", "--json", "What is automation bias?", env=real_index_env(real_corpus_settings))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.strip().splitlines()  # one JSON object, nothing else on stdout
    answer = json.loads(line)
    assert_contract(answer)
    assert answer["question"] == "What is automation bias?"
    assert not answer["abstained"] and not answer["refused"] and answer["refusal_reason"] is None
    assert answer["backend"] == "extractive" and answer["pii"] == []
    assert answer["settings_fingerprint"] == real_corpus_settings.fingerprint
    assert "[1]" in answer["answer"] and answer["citations"][0]["n"] == 1
    for citation in answer["citations"]:
        corpus_file = (REAL_CORPUS / "docs" / f"{citation['doc_id']}.md").read_text(encoding="utf-8")
        assert citation["quote"] in corpus_file
        assert citation["url"].startswith("https://")


@pytest.mark.slow
def test_ask_batch_answers_every_line_with_its_own_id(real_corpus_settings, tmp_path):
    lines = [
        {"id": "q-1", "question": "What is automation bias?"},
        {"id": "q-2", "question": "How do I report a problem with an AI medical device?", "history": []},
        {"id": "q-3", "question": "And in Scotland?",
         "history": [{"role": "user", "content": "How do I report a problem with an AI medical device?"},
                     {"role": "assistant", "content": "Report it through the Yellow Card scheme."}]},
        {"id": 4, "question": "What does AUROC measure?"},
        {"id": "q-5"},
        "not a JSON object",
    ]
    batch = tmp_path / "questions.jsonl"
    batch.write_text("\n".join(json.dumps(item) for item in lines[:-1]) + "\n\n{not json\n", encoding="utf-8")
    result = run_tutor("ask", "--json", "--batch", str(batch), env=real_index_env(real_corpus_settings))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["id"] for o in out] == ["q-1", "q-2", "q-3", "4", "q-5", "7"]  # a bad line keeps its id, or its line
    for answer in out[:4]:
        assert_contract(answer)
        assert answer["citations"] and not answer["abstained"], answer
    assert "Scotland" in out[2]["answer"]  # the follow-up used its history
    assert out[2]["question"] == "And in Scotland?"
    assert out[4] == {"id": "q-5", "error": 'line 5: "question" is missing or not a string'}
    assert out[5]["error"].startswith("line 7: ")
    assert f"{batch}:5: skipped" in result.stderr and f"{batch}:7: skipped" in result.stderr


def test_settings_show_json_prints_paths_and_fingerprint(isolated_data_dir):
    result = run_tutor("settings", "show", "--json", env={"TUTOR_RETRIEVAL__TOP_K": "7"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    derived = shown["derived"]
    assert derived["data_dir"] == str(isolated_data_dir.resolve())
    assert derived["index_dir"] == str((isolated_data_dir / "index").resolve())
    assert shown["retrieval"]["top_k"] == 7
    assert shown["paths"]["corpus_dir"] == str(REAL_CORPUS)
    default = json.loads(run_tutor("settings", "show", "--json").stdout)["derived"]["fingerprint"]
    assert default == Settings().fingerprint
    assert derived["fingerprint"] != default  # a setting that changes answers changes the fingerprint
    assert shown["llm"]["api_key"] is None


def test_ask_without_an_index_exits_3_with_a_clear_message(isolated_data_dir, tmp_path):
    result = run_tutor("ask", "--json", "What is automation bias?")
    assert result.returncode == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"error: no index in {isolated_data_dir / 'index'}: run `tutor ingest`" in result.stderr
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "What is automation bias?"}\n')
    assert run_tutor("ask", "--json", "--batch", str(batch)).returncode == 3


def test_ask_without_a_question_is_a_usage_error():
    result = run_tutor("ask", "--json")
    assert result.returncode == 2
    assert "give a QUESTION or --batch FILE" in result.stderr
