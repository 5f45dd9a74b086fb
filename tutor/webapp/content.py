"""Content page (editors only): documents by status, reviews due, corpus check, re-index, retrieval tester, feedback."""

from __future__ import annotations

import streamlit as st

from tutor.corpus import AUDIENCES, TOPICS
from tutor.indexing import BuildBusyError, CorpusError, IndexMissingError
from tutor.settings import Settings
from tutor.stores import StoreUnavailableError
from tutor.webapp import auth, resources
from tutor.webapp.feedback import NO_DOCUMENT, FeedbackStore
from tutor.webapp.presenters import (documents_table, markdown_safe, problems_table, retrieval_rows, reviews_due,
                                     uk_date)

STATUSES = ("approved", "draft", "retired")


def show_documents(settings: Settings) -> None:
    corpus = resources.shared_corpus(settings)
    rows = documents_table(corpus)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    status = st.segmented_control("Status", STATUSES, default="approved", key="content-status",
                                  format_func=lambda s: f"{s.capitalize()} ({counts[s]})")
    shown = [r for r in rows if status is None or r["status"] == status]
    if shown:
        st.dataframe(shown, hide_index=True, width="stretch")
    else:
        st.caption(f"No {status} documents.")


def show_reviews(settings: Settings) -> None:
    corpus = resources.shared_corpus(settings)
    horizon = settings.app.review_horizon_days
    due = reviews_due(corpus, horizon)
    if not due:
        st.success(f"No approved document is due for review in the next {horizon} days.", icon=":material/event_available:")
        return
    overdue = sum(r["overdue"] for r in due)
    if overdue:
        st.error(f"{overdue} document{'s are' if overdue != 1 else ' is'} past the review date. The tutor still "
                 "serves them; review them first.", icon=":material/event_busy:")
    st.caption(f"Approved documents due for review within {horizon} days, soonest first.")
    st.dataframe(due, hide_index=True, width="stretch")


def show_check(settings: Settings) -> None:
    corpus = resources.shared_corpus(settings)
    errors, warnings = len(corpus.errors), len(corpus.problems) - len(corpus.errors)
    summary = (f"{len(corpus.docs)} documents, {len(corpus.glossary)} glossary terms, {len(corpus.quiz)} quiz items, "
               f"{len(corpus.scenarios)} scenarios, {len(corpus.pathways)} pathways: {errors} errors, "
               f"{warnings} warnings.")
    if errors:
        st.error(summary + " Fix the errors before re-indexing: a build stops on any error.", icon=":material/error:")
    elif warnings:
        st.warning(summary, icon=":material/warning:")
    else:
        st.success(summary, icon=":material/check_circle:")
    if corpus.problems:
        st.dataframe(problems_table(corpus), hide_index=True, width="stretch")


def reindex(settings: Settings, full: bool) -> None:
    bars: dict[str, object] = {}
    with st.status("Re-indexing the guidance…", expanded=True) as status:
        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage) or bars.setdefault(stage, st.progress(0.0, text=stage))
            fraction = min(done / total, 1.0) if total else 1.0
            bar.progress(fraction, text=f"{stage.capitalize()}: {done} of {total}")

        try:
            report = resources.indexer(settings).build(full=full, progress=progress)
        except CorpusError as exc:
            status.update(label="Re-index stopped: the corpus has errors. The live index is unchanged.", state="error")
            st.dataframe([{"where": f"{p.path}:{p.line}", "problem": p.message} for p in exc.problems],
                         hide_index=True, width="stretch")
            return
        except BuildBusyError as exc:
            status.update(label=f"Re-index not started: {exc}.", state="error")
            return
        status.update(label=report.summary(), state="complete", expanded=False)
    st.success(report.summary() + " New questions use it straight away.", icon=":material/check_circle:")


def show_reindex(settings: Settings) -> None:
    manifest = None
    try:
        manifest = resources.shared_tutor(settings).retriever.index.manifest
    except (IndexMissingError, StoreUnavailableError) as exc:
        st.warning(f"No live index: {exc}", icon=":material/warning:")
    if manifest:
        st.markdown(f"Live index **{manifest['build_id']}**, built {uk_date(manifest['built_at'][:10])}: "
                    f"{manifest['counts']['documents']} documents, {manifest['counts']['chunks']} passages, corpus "
                    f"version {manifest.get('corpus_version', '?')}.")
    st.caption("Re-indexing builds a new index beside the live one and switches to it only once it is complete "
               "and checked. If anything fails, the live index keeps serving. Only changed passages are embedded.")
    full = st.checkbox("Rebuild everything from scratch (slower)", key="content-full")
    if st.button("Re-index now", icon=":material/sync:", type="primary"):
        reindex(settings, full)


def show_retrieval_tester(settings: Settings) -> None:
    with st.form("retrieval-tester"):
        query = st.text_input("Question", placeholder="For example: how do I report an AI incident?")
        columns = st.columns(3)
        audience = columns[0].selectbox("Audience", sorted(AUDIENCES), index=None, placeholder="Any")
        topic = columns[1].selectbox("Topic", sorted(TOPICS), index=None, placeholder="Any")
        mode = columns[2].selectbox("Search", ("hybrid", "dense", "bm25"),
                                    format_func={"hybrid": "Hybrid (as served)", "dense": "Meaning only",
                                                 "bm25": "Keywords only"}.get)
        k = st.slider("Passages to show", 1, 20, settings.retrieval.top_k)
        submitted = st.form_submit_button("Search", icon=":material/search:")
    if not submitted:
        return
    if not query.strip():
        st.warning("Type a question to search for.")
        return
    try:
        tutor = resources.shared_tutor(settings)
    except (IndexMissingError, StoreUnavailableError) as exc:
        st.error(f"Cannot search: {exc}")
        return
    retrieval = tutor.retriever.search(query, audience=audience, topic=topic, mode=mode, k=k)
    if not retrieval.hits:
        st.info("Nothing found. With a filter set, try removing it.")
        return
    st.caption(f"The tutor answers only when the best sentence similarity reaches {settings.retrieval.min_support} "
               f"(retrieval.min_support); it uses the top {settings.retrieval.top_k} passages.")
    st.dataframe(retrieval_rows(retrieval.hits, retrieval.query_vector, tutor.retriever.index.sentence_vectors),
                 hide_index=True, width="stretch")


def show_feedback(settings: Settings) -> None:
    store: FeedbackStore = resources.feedback_store(settings)
    corpus = resources.shared_corpus(settings)
    groups = store.queue()
    if not groups:
        st.info("No open feedback.", icon=":material/inbox:")
        return
    for group in groups:
        doc = corpus.doc(group.doc_id)
        title = doc.title if doc else group.doc_id
        reasons = ", ".join(f"{label} × {n}" for label, n in group.reasons.items())
        label = f"{title}: {group.negative} thumbs down of {len(group.records)}" + (f" ({reasons})" if reasons else "")
        with st.expander(label, icon=":material/thumb_down:" if group.negative else ":material/thumb_up:"):
            if group.doc_id == NO_DOCUMENT:
                st.caption("Answers that cited nothing: refusals and questions the guidance does not cover.")
            for record in group.records:
                verdict = "Thumbs down" if record.rating == 0 else "Thumbs up"
                st.markdown(f"**{verdict}**{f' · {record.reason_label}' if record.rating == 0 else ''} · "
                            f"{record.created_at[:10]} · corpus {record.corpus_version or '?'}")
                st.markdown(f"*Question:* {markdown_safe(record.question)}")
                st.markdown(f"*Answer:* {markdown_safe(record.answer[:600])}")
                if record.comment:
                    st.markdown(f"*Comment:* {markdown_safe(record.comment)}")
                if st.button("Mark resolved", key=f"resolve-{group.doc_id}-{record.answer_id}"):
                    store.resolve(record.answer_id)
                    st.rerun()
                st.divider()


def main() -> None:
    settings = resources.current_settings()
    auth.require_editor(settings.app)
    st.title("Content")
    sections = {"Documents": show_documents, "Reviews due": show_reviews, "Corpus check": show_check,
                "Re-index": show_reindex, "Retrieval tester": show_retrieval_tester, "Feedback": show_feedback}
    for tab, show in zip(st.tabs(list(sections)), sections.values()):
        with tab:
            show(settings)


if __name__ == "__main__":
    main()
