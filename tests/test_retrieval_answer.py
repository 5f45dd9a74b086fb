"""Retrieval and grounded answers on the real corpus with the real model: hybrid fusion, filters, abstention,
follow-ups, and citations whose quotes are found verbatim in the corpus file of the cited document."""

from __future__ import annotations

import re

import pytest
from conftest import REAL_CORPUS

from tutor.chunking import clean_for_display
from tutor.models import ABSTAIN_TEXT, Turn
from tutor.retrieval import rrf, standalone_question

# Questions a clinician might ask, across the corpus's topics.
CLINICIAN_QUESTIONS = [
    "What is automation bias?",
    "How should I report a suspected problem with an AI medical device?",
    "Why does the positive predictive value fall when a condition is rare?",
    "What is the difference between sensitivity and specificity?",
    "Can I paste patient details into a public chatbot?",
    "What is an ambient voice scribe and what should I check before using one?",
    "What does DCB0129 require from a manufacturer?",
    "What is dataset shift?",
    "Do pulse oximeters work less well on darker skin?",
    "What is the Digital Technology Assessment Criteria?",
    "What does the EU AI Act say about AI literacy?",
    "What are the Caldicott principles?",
    "What does UK GDPR say about automated decision-making?",
    "How should I explain to a patient that AI is being used in their care?",
    "What is overfitting?",
    "What is a predetermined change control plan?",
    "Who is accountable when an AI tool gives wrong advice?",
    "What does the GMC expect of doctors using AI?",
    "What is the AI Airlock?",
    "What is post-market surveillance of medical devices?",
    "What does AUROC measure?",
    "What is a large language model and why can it hallucinate?",
]
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def clinician_answers(real_tutor):
    return [real_tutor.ask(q) for q in CLINICIAN_QUESTIONS]


def corpus_file(doc_id: str) -> str:
    return (REAL_CORPUS / "docs" / f"{doc_id}.md").read_text(encoding="utf-8")


def test_every_citation_quote_is_verbatim_in_the_corpus_file_of_its_document(clinician_answers, real_tutor):
    answered = [a for a in clinician_answers if not a.abstained and not a.refused]
    assert len(answered) >= 18, [(a.question, a.answer[:80]) for a in clinician_answers if a not in answered]
    for answer in answered:
        assert answer.citations, answer.question
        for citation in answer.citations:
            assert citation.quote and citation.quote in corpus_file(citation.doc_id), (answer.question, citation)
            chunk = real_tutor.retriever.index.chunks[citation.chunk_id]
            assert chunk.doc_id == citation.doc_id and citation.quote in chunk.text
            assert citation.chunk_id in answer.retrieved


def test_every_marker_has_a_citation_and_every_sentence_comes_from_its_quote(clinician_answers, real_tutor):
    from tutor.grounding import sentence_support

    for answer in (a for a in clinician_answers if not a.abstained and not a.refused):
        by_number = {c.n: c for c in answer.citations}
        assert sorted(by_number) == list(range(1, len(answer.citations) + 1)), answer.question
        used = {int(n) for n in MARKER.findall(answer.answer)}
        assert used == set(by_number), answer.question  # no dangling marker, no unused citation
        # Each sentence is shown as "sentence [n]": the sentence must be in the quote that [n] points to.
        parts = re.findall(r"(.+?) \[(\d+)\](?: |$)", answer.answer)
        assert parts and "".join(f"{text} [{n}]" for text, n in parts).replace(" ", "") == answer.answer.replace(" ", "")
        for text, n in parts:
            if answer.answer_source == "card":  # a curated sentence: supported by its anchored quote(s)
                quotes = [by_number[int(m)].quote for m in re.findall(r"\[(\d+)\]", f"[{n}]")]
                assert sentence_support(text, quotes, real_tutor.retriever.embedder).supported, (answer.question, text)
            else:
                assert text in clean_for_display(by_number[int(n)].quote), (answer.question, text)


def test_citations_carry_the_source_details(clinician_answers):
    answer = clinician_answers[0]
    [first, *_] = answer.citations
    assert first.doc_id == "automation-bias"
    assert first.publisher and first.url.startswith("https://") and first.title


def test_an_off_topic_question_in_the_health_setting_is_abstained_on(real_tutor):
    for question in ["What GPU do I need to train a neural network?",
                     "How do I fine-tune GPT on my own laptop?",
                     "Which programming language is best for writing a neural network?",
                     "How do I set up two-factor authentication on my NHS email?"]:
        answer = real_tutor.ask(question)
        assert answer.abstained and not answer.refused, (question, answer.answer)
        assert answer.citations == [] and MARKER.search(answer.answer) is None
        assert answer.answer.startswith(ABSTAIN_TEXT)
        assert "I can help with topics such as automation bias" in answer.answer  # says what it does cover


def test_a_follow_up_uses_the_conversation_history(real_tutor):
    history = [Turn(role="user", content="How do I report a problem with an AI medical device?"),
               Turn(role="assistant", content="Report it through the Yellow Card scheme.")]
    follow_up = real_tutor.ask("And in Scotland?", history=history)
    assert not follow_up.abstained
    assert "Health Facilities Scotland" in follow_up.answer  # the Scottish route, not only the English one
    assert any("Scotland" in c.quote for c in follow_up.citations)
    alone = real_tutor.ask("And in Scotland?")
    assert alone.abstained or "Scotland" not in alone.answer  # without the history the question means nothing


def test_standalone_question_only_joins_real_follow_ups():
    history = [Turn(role="user", content="How do I report an AI incident?")]
    assert standalone_question("And in Scotland?", history) == "How do I report an AI incident? And in Scotland?"
    long_question = "What does the GMC expect of doctors who use AI tools when making clinical decisions for patients?"
    assert standalone_question(long_question, history) == long_question
    assert standalone_question("And in Scotland?", []) == "And in Scotland?"


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = rrf([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_hybrid_search_fuses_dense_and_bm25_rankings(real_tutor):
    retriever = real_tutor.retriever
    query = "people trusting the computer too much and not double-checking it"
    dense = [h.chunk.id for h in retriever.search(query, mode="dense", k=retriever.settings.candidates).hits]
    bm25 = [h.chunk.id for h in retriever.search(query, mode="bm25", k=retriever.settings.candidates).hits]
    hybrid = retriever.search(query, mode="hybrid", k=8).hits
    assert [h.chunk.id for h in hybrid] == [cid for cid, _ in rrf([dense, bm25], retriever.settings.rrf_k)[:8]]
    for hit in hybrid:
        assert hit.dense_rank == (dense.index(hit.chunk.id) if hit.chunk.id in dense else None)
        assert hit.bm25_rank == (bm25.index(hit.chunk.id) if hit.chunk.id in bm25 else None)
    assert any(h.dense_rank is None for h in hybrid) or any(h.bm25_rank is None for h in hybrid)


def test_exact_terms_are_found_by_bm25_and_kept_by_fusion(real_tutor):
    for query, doc_id in [("Health Facilities Scotland", "reporting-incidents"), ("DCB0160", "dcb0129-dcb0160")]:
        hits = real_tutor.retriever.search(query, mode="hybrid", k=3).hits
        assert hits[0].chunk.doc_id == doc_id and hits[0].bm25_rank == 0


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_audience_filter_keeps_only_documents_for_that_audience_or_for_all(real_tutor, mode):
    for audience in ["doctor", "nurse-midwife", "pharmacist"]:
        hits = real_tutor.retriever.search("What are my professional duties when using AI?", audience=audience,
                                           mode=mode, k=8).hits
        assert hits, audience  # documents for all staff are for pharmacists too
        assert all(audience in h.chunk.audience or "all" in h.chunk.audience for h in hits)
    nurse_only = real_tutor.retriever.search("What does the NMC Code say about AI?", audience="doctor", mode=mode, k=20)
    assert "nmc-code-and-ai" not in {h.chunk.doc_id for h in nurse_only.hits}  # for nurses and students, not doctors


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_topic_filter_keeps_only_documents_on_that_topic(real_tutor, mode):
    hits = real_tutor.retriever.search("What should I check before using an AI tool?", topic="regulation",
                                       mode=mode, k=10).hits
    assert hits and all("regulation" in h.chunk.topics for h in hits)
    both = real_tutor.retriever.search("How do I report an incident?", audience="doctor", topic="incident-reporting",
                                       mode=mode, k=10).hits
    assert both and all("incident-reporting" in h.chunk.topics for h in both)


def test_filters_reach_the_answer(real_tutor):
    answer = real_tutor.ask("What is automation bias?", topic="test-accuracy")
    chunks = real_tutor.retriever.index.chunks
    assert answer.retrieved and all("test-accuracy" in chunks[c].topics for c in answer.retrieved)
    assert all("test-accuracy" in chunks[c.chunk_id].topics for c in answer.citations)


def test_a_follow_up_with_its_own_subject_keeps_the_lead():
    """'and how do I report it in Scotland?' after a sepsis-alert question is about reporting, not about sepsis."""
    from tutor.models import Turn
    from tutor.retrieval import standalone_question

    history = [Turn(role="user", content="What should I check before relying on an AI sepsis alert?")]
    query = standalone_question("and how do I report a problem with it in Scotland?", history)
    assert query.startswith("and how do I report a problem with it in Scotland?")
    assert "sepsis" in query and "What should I check" not in query
    short = standalone_question("and in Scotland?", [Turn(role="user", content="How do I report an AI incident?")])
    assert short == "How do I report an AI incident? and in Scotland?"


def test_reporting_follow_up_in_scotland_cites_health_facilities_scotland(real_tutor):
    from tutor.models import Turn

    history = [Turn(role="user", content="What should I check before relying on an AI sepsis alert?")]
    answer = real_tutor.ask("and how do I report a problem with it in Scotland?", history=history)
    assert "Health Facilities Scotland" in answer.answer
