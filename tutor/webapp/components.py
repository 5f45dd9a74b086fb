"""Pieces of screen shared by several pages: numbered sources that open to the quoted passage, and the learner
profile form (pseudonymous: a professional group, archetypes and a self-rated level; no name or email)."""

from __future__ import annotations

import streamlit as st

from tutor.corpus import Corpus
from tutor.indexing import IndexMissingError
from tutor.models import Citation
from tutor.stores import StoreUnavailableError
from tutor.webapp import resources
from tutor.webapp.presenters import markdown_safe, quote_markdown, source_card, uk_date

LEARNER = "learner_id"


def render_citations(citations: list[Citation], corpus: Corpus | None, heading: str = "Sources") -> None:
    """Each citation as an expander labelled [n] title · section, holding the quoted passage and the source."""
    if not citations:
        return
    st.markdown(f"**{heading}** (open one to read the passage)")
    for citation in citations:
        card = source_card(citation, corpus)
        with st.expander(card.label):
            st.markdown("**Quoted passage**")
            with st.container(border=True):
                st.markdown(quote_markdown(card.quote))
            if card.heading:
                st.caption(f"From the section “{card.heading.split(' > ')[-1]}” of the tutor's guidance on "
                           f"{card.doc_title}.")
            year = f", {card.year}" if card.year else ""
            st.markdown(f"**Original source:** [{markdown_safe(card.source_title)}]({card.url}) "
                        f"({markdown_safe(card.publisher)}{year})")
            st.caption(f"Address: {card.url}  \nGuidance last reviewed {uk_date(card.last_reviewed)}; "
                       f"next review due {uk_date(card.review_due)}.")


def render_quiz_feedback(feedback, corpus: Corpus | None) -> None:
    """What the engine said about a reply: right or not, the key points made or missed, the source, the review date."""
    if feedback.gave_up:
        st.info(markdown_safe(feedback.text), icon=":material/lightbulb:")
    elif feedback.correct:
        st.success(markdown_safe(feedback.text), icon=":material/check_circle:")
    else:
        st.warning(markdown_safe(feedback.text), icon=":material/school:")
    for point in feedback.key_points:
        mark = ":material/check:" if point.made else (":material/close:" if point.contradicted else ":material/remove:")
        st.markdown(f"{mark} {markdown_safe(point.point)}")
    render_citations(feedback.citations, corpus, heading="Where this comes from")
    st.caption(f"This question comes back for review on {feedback.due_at:%d %B %Y} (box {feedback.box} of 5). "
               f"Your level on this topic is now {feedback.difficulty} of 3.")


def answer_form(item, key: str, text_label: str) -> tuple[str | None, str | None]:
    """A quiz item's answer form. Returns ("check", reply), ("reveal", None) or (None, None) when not submitted."""
    with st.form(key):
        if item.type == "mcq":
            reply = st.radio("Your answer", item.options, index=None, key=f"{key}-answer")
        else:
            reply = st.text_area(text_label, key=f"{key}-answer")
        columns = st.columns(2)
        check = columns[0].form_submit_button("Check my answer", type="primary")
        reveal = columns[1].form_submit_button("Show me the answer")
    if reveal:
        return "reveal", None
    if check and not reply:
        st.warning("Choose or write an answer first, or ask to see the answer.")
    return ("check", reply) if check and reply else (None, None)


def learning_page(title: str, key: str):
    """The start of every learning page: title, the shared engine, and the learner (or the profile form).
    Returns (settings, engine, learner_id), or None when the page has nothing more to draw."""
    settings = resources.current_settings()
    st.title(title)
    try:
        engine = resources.shared_learning(settings)
    except (IndexMissingError, StoreUnavailableError) as exc:
        st.error(f"This page is not available yet: {exc}.", icon=":material/error:")
        return None
    learner_id = learner_or_form(engine, key)
    return (settings, engine, learner_id) if learner_id else None


def current_learner(engine) -> str | None:
    """This session's learner id, if they have set up a profile or come back with their code."""
    learner_id = st.session_state.get(LEARNER)
    if learner_id:
        try:
            engine.profile(learner_id)
        except KeyError:
            st.session_state.pop(LEARNER, None)
            return None
    return learner_id


def profile_form(engine, key: str) -> None:
    """Create a profile, or continue with a learner code from an earlier visit."""
    from tutor.pedagogy import ARCHETYPES, LEVELS, PROFESSIONAL_GROUPS

    st.markdown("Tell the tutor a little about your work so it can suggest a learning pathway and pitch questions "
                "at the right level. It does not ask for your name or email.")
    with st.form(f"{key}-profile"):
        group = st.selectbox("Your professional group", list(PROFESSIONAL_GROUPS), format_func=PROFESSIONAL_GROUPS.get,
                             index=None, placeholder="Choose your group")
        archetypes = st.multiselect("How you work with AI (choose any that fit)", list(ARCHETYPES), default=["user"],
                                    format_func=ARCHETYPES.get)
        level = st.radio("Your experience of AI so far", list(LEVELS), format_func=LEVELS.get, index=0)
        if st.form_submit_button("Start learning", type="primary"):
            if group is None:
                st.error("Choose your professional group first.")
            else:
                try:
                    profile = engine.create_profile(group, archetypes or ["user"], level)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    st.session_state[LEARNER] = profile.learner_id
                    st.rerun()
    with st.expander("I have a learner code from an earlier visit"):
        code = st.text_input("Learner code", placeholder="learner-1a2b3c4d", key=f"{key}-code").strip().lower()
        if st.button("Continue", key=f"{key}-continue") and code:
            try:
                engine.profile(code)
            except KeyError:
                st.error("No learner has that code here. Check it, or start a new profile above.")
            else:
                st.session_state[LEARNER] = code
                st.rerun()


def learner_or_form(engine, key: str) -> str | None:
    """The learner id, or None after drawing the profile form (the page should then stop)."""
    learner_id = current_learner(engine)
    if learner_id is None:
        profile_form(engine, key)
    return learner_id
