"""The app's plain functions: password checking, feedback storage and queue, and what the pages display."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tutor.corpus import load_corpus
from tutor.models import Answer, Citation, Hit, Chunk
from tutor.settings import AppSettings
from tutor.webapp import auth
from tutor.webapp.feedback import NO_DOCUMENT, REASONS, FeedbackError, FeedbackStore
from tutor.webapp.presenters import (answer_markdown, citation_label, history_turns, markdown_safe, reviews_due, retrieval_rows,
                                     search_glossary, source_card, stream_pieces, uk_date)

from conftest import FIXTURE_CORPUS


def cited_answer(answer_id: str, *doc_ids: str, corpus_version: str = "c0ffee") -> Answer:
    citations = [Citation(n=i + 1, doc_id=d, title=d, publisher="P", url="https://example.org", chunk_id=f"{d}-1",
                          quote="q") for i, d in enumerate(doc_ids)]
    return Answer(id=answer_id, question="What is automation bias?", answer="It is a bias [1].",
                  citations=citations, corpus_version=corpus_version, settings_fingerprint="abc123")


# ------------------------------------------------------------------ passwords

def test_password_matches_only_the_configured_salted_hash():
    settings = AppSettings(admin_password_sha256=auth.hash_password("Tr1cky pass", "s4lt"), admin_password_salt="s4lt")
    assert auth.password_matches("Tr1cky pass", settings)
    assert not auth.password_matches("tr1cky pass", settings)
    assert not auth.password_matches("", settings)
    unsalted = AppSettings(admin_password_sha256=auth.hash_password("Tr1cky pass"), admin_password_salt="s4lt")
    assert not auth.password_matches("Tr1cky pass", unsalted), "the salt must be part of the hash"


def test_no_password_configured_means_no_password_works_and_no_protected_pages():
    settings = AppSettings()
    assert not auth.password_matches("", settings)
    assert not auth.password_matches("admin", settings)
    assert auth.access_mode(settings) is None


def test_a_malformed_hash_keeps_the_pages_closed_and_says_what_to_set():
    settings = AppSettings(admin_password_sha256="password123")
    assert auth.access_mode(settings) is None
    assert "64 hexadecimal characters" in auth.setting_problem(settings)
    with pytest.raises(auth.PasswordSettingError):
        auth.password_matches("password123", settings)


def test_uppercase_hash_is_accepted():
    settings = AppSettings(admin_password_sha256=auth.hash_password("pw").upper())
    assert auth.password_matches("pw", settings)


def test_oidc_allow_list():
    open_list = AppSettings()
    listed = AppSettings(editor_emails=["Editor@nhs.net"])
    assert auth.oidc_user_allowed({"is_logged_in": True, "email": "anyone@nhs.net"}, open_list)
    assert auth.oidc_user_allowed({"is_logged_in": True, "email": "editor@NHS.net"}, listed)
    assert not auth.oidc_user_allowed({"is_logged_in": True, "email": "other@nhs.net"}, listed)
    assert not auth.oidc_user_allowed({"is_logged_in": False, "email": "editor@nhs.net"}, listed)


# ------------------------------------------------------------------ feedback

def test_feedback_is_stored_with_answer_id_corpus_version_and_cited_documents(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.record(cited_answer("a1", "automation-bias", "yellow-card"), 0, "outdated", "  The date has changed. ")
    record = store.get("a1")
    assert record.rating == 0 and record.reason == "outdated" and record.reason_label == REASONS["outdated"]
    assert record.comment == "The date has changed."
    assert record.corpus_version == "c0ffee" and record.settings_fingerprint == "abc123"
    assert record.doc_ids == ["automation-bias", "yellow-card"]
    assert record.question == "What is automation bias?"


def test_feedback_on_the_same_answer_replaces_the_earlier_rating(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    answer = cited_answer("a1", "automation-bias")
    store.record(answer, 1)
    store.record(answer, 0, "wrong", "second thoughts")
    assert len(store.all()) == 1
    assert store.get("a1").rating == 0 and store.get("a1").comment == "second thoughts"


@pytest.mark.parametrize("kwargs, message", [
    ({"rating": 2}, "rating must be 0"),
    ({"rating": 0, "reason": "boring"}, "unknown reason 'boring'"),
])
def test_bad_feedback_is_rejected_with_the_field_named(tmp_path, kwargs, message):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(FeedbackError, match=message):
        store.record(cited_answer("a1", "automation-bias"), **kwargs)
    with pytest.raises(FeedbackError, match="no id"):
        store.record(cited_answer("", "automation-bias"), 1)


def test_queue_groups_open_feedback_by_document_most_complaints_first(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.record(cited_answer("a1", "automation-bias"), 1)
    store.record(cited_answer("a2", "yellow-card"), 0, "outdated")
    store.record(cited_answer("a3", "yellow-card", "automation-bias"), 0, "unsafe")
    store.record(Answer(id="a4", question="Dose for my patient?", answer="I cannot help with that.", refused=True), 0,
                 "not-for-my-role")
    queue = store.queue()
    assert [g.doc_id for g in queue] == ["yellow-card", "automation-bias", NO_DOCUMENT]
    assert queue[0].negative == 2 and queue[0].reasons == {"Out of date": 1, "Unsafe": 1}
    assert [r.answer_id for r in queue[1].records] == ["a3", "a1"], "thumbs down before thumbs up"
    store.resolve("a2")
    store.resolve("a3")
    assert [g.doc_id for g in store.queue()] == [NO_DOCUMENT, "automation-bias"]


# ------------------------------------------------------------------ display

def test_markdown_safe_keeps_money_and_stars_literal():
    assert markdown_safe("costs $5 and $10 *each*") == r"costs \$5 and \$10 \*each\*"


def test_answer_streams_one_sentence_at_a_time_with_markers_kept():
    pieces = list(stream_pieces("Automation bias costs $5. [1] It can be countered. [2]"))
    assert pieces == [r"Automation bias costs \$5. **:blue[\[1\]]** ", r"It can be countered. **:blue[\[2\]]**"]
    assert "".join(pieces) == answer_markdown("Automation bias costs $5. [1] It can be countered. [2]")


def test_history_leaves_out_refusals_check_questions_and_move_requests():
    refused = Answer(id="r", question="q", answer="no", refused=True)
    kept = Answer(id="k", question="q2", answer="yes [1]")
    messages = [{"role": "user", "content": "dose?"}, {"role": "assistant", "content": "no", "answer": refused},
                {"role": "user", "content": "What is PPV?"}, {"role": "assistant", "content": "yes [1]", "answer": kept},
                {"role": "user", "content": "Check my understanding", "move": True},
                {"role": "assistant", "content": "Why does PPV fall?", "check": object()}]
    turns = history_turns(messages)
    assert [(t.role, t.content) for t in turns] == [("user", "dose?"), ("user", "What is PPV?"), ("assistant", "yes [1]")]


def test_source_card_carries_the_source_and_review_dates():
    corpus = load_corpus(FIXTURE_CORPUS, today=date(2026, 12, 1))
    doc = corpus.doc("automation-bias")
    citation = Citation(n=2, doc_id=doc.id, title=doc.title, publisher=doc.sources[0].publisher,
                        url=doc.sources[0].url, chunk_id="x", quote="Automation bias is ...",
                        heading=f"{doc.title} > Why it matters", year=doc.sources[0].year,
                        review_due=doc.review_due.isoformat())
    card = source_card(citation, corpus)
    assert card.label == f"[2] {doc.title} · Why it matters" == citation_label(citation)
    assert card.source_title == doc.sources[0].title and card.url == doc.sources[0].url
    assert card.last_reviewed == doc.last_reviewed.isoformat() and card.review_due == doc.review_due.isoformat()
    assert uk_date("2027-05-31") == "31 May 2027"


def test_glossary_search_matches_every_word_and_puts_name_matches_first():
    entries = [{"term": "Specificity", "definition": "How well a test rules out people without the condition."},
               {"term": "Sensitivity", "definition": "The share of people with a condition that a test flags."},
               {"term": "Base rate", "definition": "How common a condition is; the prevalence."}]
    assert [e["term"] for e in search_glossary(entries, "")] == ["Base rate", "Sensitivity", "Specificity"]
    assert [e["term"] for e in search_glossary(entries, "condition")] == ["Base rate", "Sensitivity", "Specificity"]
    assert [e["term"] for e in search_glossary(entries, "SENSITIVITY")] == ["Sensitivity"]
    assert [e["term"] for e in search_glossary(entries, "rate condition")] == ["Base rate"]
    assert search_glossary(entries, "blockchain") == []


def test_reviews_due_lists_overdue_and_soon_due_approved_documents_only():
    corpus = load_corpus(FIXTURE_CORPUS, today=date(2026, 12, 1))
    latest = max(d.review_due for d in corpus.approved())
    assert reviews_due(corpus, 30, today=date(2000, 1, 1)) == []
    rows = reviews_due(corpus, 0, today=latest)
    assert {r["id"] for r in rows} == {d.id for d in corpus.approved()}
    assert "draft-note" not in {r["id"] for r in rows}
    assert rows[-1]["days left"] == 0 and not rows[-1]["overdue"]


def test_retrieval_rows_show_ranks_from_one_and_the_best_sentence_similarity():
    chunk = Chunk(id="c1", doc_id="d", title="T", heading_path=["T", "S"], text="x" * 400, start=0, position=0,
                  audience=["all"], topics=["ethics"])
    hit = Hit(chunk=chunk, score=0.0327, rank=0, dense_rank=2, bm25_rank=None)
    vectors = {"c1": np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)}
    row = retrieval_rows([hit], np.array([0.0, 1.0], dtype=np.float32), vectors)[0]
    assert (row["rank"], row["dense rank"], row["keyword rank"]) == (1, 3, None)
    assert row["best sentence similarity"] == 0.8
    assert row["section"] == "T > S" and len(row["passage"]) == 298


def test_cli_hash_password_prints_settings_that_let_the_editor_in():
    from click.testing import CliRunner

    from tutor.cli import main

    result = CliRunner().invoke(main, ["app", "hash-password", "--password-stdin"], input="four unrelated words\n")
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    settings = AppSettings(admin_password_sha256=lines["TUTOR_APP__ADMIN_PASSWORD_SHA256"],
                           admin_password_salt=lines["TUTOR_APP__ADMIN_PASSWORD_SALT"])
    assert auth.password_matches("four unrelated words", settings)
    assert "four unrelated words" not in result.output
    short = CliRunner().invoke(main, ["app", "hash-password", "--password-stdin"], input="admin\n")
    assert short.exit_code == 2 and "at least 12" in short.output


# ------------------------------------------------------------------ streaming

def test_extractive_answer_streams_sentence_by_sentence_then_keeps_the_final_answer(fixture_tutor):
    from tutor.webapp.streaming import AnswerStream

    stream = AnswerStream(fixture_tutor, "What is automation bias?", [], "s1")
    pieces = list(stream)
    assert len(pieces) >= 1 and stream.answer.id == "s1"
    assert "".join(pieces) == answer_markdown(stream.answer.answer)
    assert not stream.streamed_live


class _ScriptedTutor:
    """Stands in for a generative Tutor: checked pieces, then a final answer that differs (as after a fallback)."""

    def stream(self, question, history=None, id=""):
        yield "Automation bias is favouring automated output. [1]"
        yield " It is a human-factors problem. [1]"
        yield Answer(id=id, question=question, answer="Final text. [1]")


def test_generative_pieces_are_shown_as_they_come_and_the_final_answer_is_kept():
    from tutor.webapp.streaming import AnswerStream

    stream = AnswerStream(_ScriptedTutor(), "q", [], "g1")
    assert list(stream) == [r"Automation bias is favouring automated output. **:blue[\[1\]]**",
                            r" It is a human-factors problem. **:blue[\[1\]]**"]
    assert stream.streamed_live and stream.final().answer == "Final text. [1]"


# ------------------------------------------------------------------ charts

def test_natural_frequency_people_one_square_each_grouped_in_reading_order():
    from tutor.webapp.charts import COLUMNS, natural_frequency_people

    people = natural_frequency_people(9, 99, 1, 891)
    assert len(people) == 1000
    groups = [p["group"] for p in people]
    assert groups.count("Flagged, has the condition (true positive)") == 9
    assert groups.count("Not flagged, has the condition (missed)") == 1
    assert people[0]["outcome"] == "Flagged, has the condition (true positive): 9"
    assert people[9]["group"].startswith("Flagged, does not have it") and (people[9]["row"], people[9]["column"]) == (0, 9)
    assert (people[-1]["row"], people[-1]["column"]) == (999 // COLUMNS, 999 % COLUMNS)


def test_saved_runs_newest_first_with_readable_labels(tmp_path):
    from tutor.webapp.evaluation_runs import saved_runs

    from conftest import make_settings

    settings = make_settings(tmp_path / "data")
    for name in ("20261126T090000", "20261127T101500", "my-run"):
        folder = settings.paths.data_dir / "eval" / name
        folder.mkdir(parents=True)
        (folder / "run.json").write_text("{}")
    (settings.paths.data_dir / "eval" / "no-run-here").mkdir()
    runs = saved_runs(settings)
    assert [r.folder.name for r in runs] == ["my-run", "20261127T101500", "20261126T090000"]
    assert [r.label for r in runs] == ["my-run", "27 Nov 2026, 10:15 UTC", "26 Nov 2026, 09:00 UTC"]
