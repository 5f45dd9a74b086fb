"""About page: what the tutor is and is not, which guidance and backend it uses, what it stores, its limits."""

from __future__ import annotations

import streamlit as st

from tutor.indexing import IndexMissingError
from tutor.settings import Settings
from tutor.stores import StoreUnavailableError
from tutor.webapp import resources
from tutor.webapp.presenters import uk_date


def backend_description(settings: Settings) -> str:
    if settings.llm.backend == "extractive":
        return ("Extractive: no generative AI model. Every answer is made of sentences quoted from the guidance, "
                "each with its source.")
    where = f" at {settings.llm.base_url}" if settings.llm.base_url else ""
    return (f"Generative: the model “{settings.llm.model}” ({settings.llm.backend}){where} writes answers from the "
            "guidance passages; sentences that no passage supports are removed before you see them, and the "
            "extractive answer is used if the model is unavailable.")


def corpus_facts(settings: Settings) -> dict[str, str]:
    """The facts shown under 'The guidance': version, build date, counts and review dates."""
    corpus = resources.shared_corpus(settings)
    approved = corpus.approved()
    facts = {
        "Guidance documents in use": str(len(approved)),
        "Glossary terms": str(len(corpus.glossary)),
        "Most recent review": uk_date(max((d.last_reviewed for d in approved), default=None).isoformat())
        if approved else "none",
    }
    try:
        manifest = resources.shared_tutor(settings).retriever.index.manifest
        facts["Corpus version"] = manifest.get("corpus_version", "unknown")
        facts["Index built"] = uk_date(manifest.get("built_at", "")[:10] or None)
    except (IndexMissingError, StoreUnavailableError):
        facts["Corpus version"] = "not indexed yet"
    facts["Settings fingerprint"] = settings.fingerprint
    return facts


def main() -> None:
    settings = resources.current_settings()
    st.title("About this tutor")
    st.markdown(
        "### What it is\n"
        "A tutor that helps NHS clinicians and health and care staff learn to use AI safely. It answers questions "
        "from a curated set of UK and international guidance, shows the passage behind every statement, and offers "
        "learning pathways, quizzes and practice scenarios.\n\n"
        "### What it is not\n"
        "- It is **not a clinical decision aid**. It will not advise on a patient's diagnosis, treatment or dose: "
        "use clinical judgement, senior colleagues and local protocols for that.\n"
        "- It is **not an approved place for patient information**. Please do not type patient details.\n"
        "- It does not replace your organisation's policies or the training for a specific AI product.")
    st.markdown("### The guidance")
    facts = corpus_facts(settings)
    for label, value in facts.items():
        st.markdown(f"- **{label}:** {value}")
    st.markdown("### How answers are made\n" + backend_description(settings))
    st.markdown(
        "### Your data\n"
        "- Before your question is used for anything, identifiers such as NHS numbers, dates of birth, postcodes, "
        "phone numbers, email addresses and hospital numbers are replaced with a label such as [NHS number]. You are "
        "told when this happens.\n"
        "- Your conversation is kept only while this browser tab is open. It is not saved, and it is gone when you "
        "start a new conversation or close the tab.\n"
        f"- If you give feedback on an answer, the tutor keeps: the answer's id, thumbs up or down, the reason and "
        "comment you chose (identifiers removed), the question as the tutor saw it, the answer, the documents it "
        "cited and the guidance version. It does not keep your name or account.\n"
        "- A safety log records, for every answer, what kind of question it was, whether it was declined and why, "
        "which reminders were shown and how many identifiers of each kind were removed. It never records anything "
        "you typed.\n"
        "- Learning progress is stored under a random learner code, not your name. Written answers to quiz "
        "questions are marked and then discarded: only which question, the mark and the time are kept.")
    st.markdown(
        "### Limitations\n"
        "- It only knows what is in its guidance. If the guidance does not cover a question, it says so rather "
        "than guess.\n"
        "- Guidance changes. Each source shows when it was last reviewed; check the original for anything you act on.\n"
        "- Finding the right passage can fail, and a quoted sentence can lose context: open the source to read it "
        "in full.\n"
        "- Figures in the practice scenarios are illustrative unless the scenario says otherwise.")


if __name__ == "__main__":
    main()
