"""The Streamlit app through AppTest: each page's main flow, and that editorial pages need sign-in.

The app runs against the fixture corpus index built once per session (conftest `fixture_tutor`), with the real
embedding model, as `make run` serves it.
"""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conftest import FIXTURE_CORPUS, ROOT
from tutor.webapp.auth import hash_password
from tutor.webapp.feedback import REASONS, FeedbackStore

APP = str(ROOT / "app.py")
CONTENT = "tutor/webapp/content.py"
EVALUATION = "tutor/webapp/evaluation.py"
SIGN_IN = "tutor/webapp/signin.py"
PASSWORD, SALT = "a long editor passphrase", "fixture-salt"
OIDC_SECRETS = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-secret",
                         "client_id": "tutor", "client_secret": "not-a-secret",
                         "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}}


@pytest.fixture
def app_settings(fixture_tutor, monkeypatch):
    """Point the app at the session's fixture index; start each test with no feedback and no password."""
    settings = fixture_tutor.settings
    monkeypatch.setenv("TUTOR_PATHS__DATA_DIR", str(settings.paths.data_dir))
    monkeypatch.setenv("TUTOR_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    for name in ("TUTOR_APP__ADMIN_PASSWORD_SHA256", "TUTOR_APP__ADMIN_PASSWORD_SALT", "TUTOR_APP__EDITOR_EMAILS"):
        monkeypatch.delenv(name, raising=False)
    settings.paths.feedback_db.unlink(missing_ok=True)
    shutil.rmtree(settings.paths.data_dir / "eval", ignore_errors=True)
    return settings


@pytest.fixture
def with_password(monkeypatch):
    monkeypatch.setenv("TUTOR_APP__ADMIN_PASSWORD_SHA256", hash_password(PASSWORD, SALT))
    monkeypatch.setenv("TUTOR_APP__ADMIN_PASSWORD_SALT", SALT)


def start() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120).run()  # the first run in a process loads the model


def reachable(at: AppTest, page: str) -> bool:
    try:
        at.switch_page(page)
    except ValueError:
        return False
    return True


def sign_in(at: AppTest, password: str) -> AppTest:
    at.switch_page(SIGN_IN).run()
    at.text_input[0].set_value(password)
    at.button[0].click().run()
    return at


def texts(block) -> str:
    return "\n".join([m.value for m in block.markdown] + [c.value for c in block.caption])


# ------------------------------------------------------------------ access control

def test_without_any_sign_in_configured_the_editorial_pages_do_not_exist(app_settings):
    at = start()
    assert not at.exception
    assert not reachable(at, CONTENT)
    assert not reachable(at, EVALUATION)
    assert not reachable(at, SIGN_IN), "no sign-in page when there is nothing to sign in to"


def test_password_sign_in_opens_the_content_page_and_a_wrong_password_does_not(app_settings, with_password):
    at = start()
    assert not reachable(at, CONTENT)
    sign_in(at, "a long editor passphrasE")
    assert "not right" in at.error[0].value
    at.run()
    assert not reachable(at, CONTENT)

    sign_in(at, PASSWORD)
    assert at.title[0].value == "Signed in"
    assert reachable(at, EVALUATION)
    assert reachable(at, CONTENT)
    at.run()
    assert at.title[0].value == "Content" and not at.exception

    at.switch_page(SIGN_IN).run()
    next(b for b in at.button if b.label == "Sign out").click().run()
    at.run()
    assert not reachable(at, CONTENT) and not reachable(at, EVALUATION)


@pytest.mark.parametrize("page_file, title", [(CONTENT, "Content"), (EVALUATION, "Evaluation")])
def test_an_editorial_page_itself_refuses_a_session_that_has_not_signed_in(app_settings, with_password, page_file,
                                                                           title):
    page = AppTest.from_file(str(ROOT / page_file), default_timeout=60).run()
    assert "Sign in first" in page.warning[0].value
    assert not [t for t in page.title if t.value == title]
    assert not page.dataframe and not page.button


def test_oidc_sign_in_when_configured(app_settings):
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets.update(OIDC_SECRETS)
    at.user = {"is_logged_in": False}
    at.run()
    assert not reachable(at, CONTENT)
    at.switch_page(SIGN_IN).run()
    assert [b.label for b in at.button] == ["Sign in with your organisation account"]
    assert not at.text_input, "no password box when the organisation's sign-in is configured"

    at.user = {"is_logged_in": True, "email": "editor@nhs.net"}
    at.run()
    assert reachable(at, CONTENT)
    at.run()
    assert at.title[0].value == "Content"


def test_oidc_account_not_on_the_editors_list_stays_out(app_settings, monkeypatch):
    monkeypatch.setenv("TUTOR_APP__EDITOR_EMAILS", '["editor@nhs.net"]')
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets.update(OIDC_SECRETS)
    at.user = {"is_logged_in": True, "email": "someone.else@nhs.net"}
    at.run()
    assert not reachable(at, CONTENT)
    at.switch_page(SIGN_IN).run()
    assert "not on the editors' list" in at.error[0].value


# ------------------------------------------------------------------ chat

def test_chat_gives_a_cited_answer_whose_source_opens_to_the_quoted_passage(app_settings):
    at = start()
    assert at.title[0].value == "Ask the tutor"
    at.chat_input[0].set_value("What is automation bias?").run()
    assert not at.exception
    answer = at.session_state["chat_messages"][-1]["answer"]
    assistant = at.chat_message[-1]
    assert assistant.name == "assistant"
    shown = assistant.markdown[0].value
    assert r"**:blue[\[1\]]**" in shown and "Automation bias" in shown, "markers drawn as bold blue [1]"
    first = answer.citations[0]
    source = assistant.expander[0]
    assert source.label.startswith(f"[1] {first.title}")
    opened = texts(source)
    assert first.quote.splitlines()[0][:60] in opened
    assert first.url in opened and first.publisher in opened
    assert "next review due" in opened and "last reviewed" in opened


def test_feedback_is_stored_with_reason_comment_answer_id_and_corpus_version(app_settings):
    at = start()
    at.chat_input[0].set_value("What is automation bias?").run()
    answer = at.session_state["chat_messages"][-1]["answer"]
    store = FeedbackStore(app_settings.paths.feedback_db)

    at.feedback(key=f"thumbs-{answer.id}").set_value(0).run()
    assert store.get(answer.id).rating == 0, "a thumb alone is saved at once"
    assert at.selectbox(key=f"reason-{answer.id}").options == list(REASONS.values())

    at.selectbox(key=f"reason-{answer.id}").select("citation-mismatch")
    at.text_area(key=f"comment-{answer.id}").set_value("The quote is about something else.")
    next(b for b in at.button if b.label == "Send feedback").click().run()
    record = store.get(answer.id)
    assert (record.rating, record.reason, record.comment) == (0, "citation-mismatch", "The quote is about something else.")
    assert record.corpus_version == answer.corpus_version != ""
    assert record.doc_ids == list(dict.fromkeys(c.doc_id for c in answer.citations)) != []
    assert any("Thank you" in c.value for c in at.chat_message[-1].caption)


def test_example_question_then_new_conversation(app_settings):
    at = start()
    at.button(key="example-0").click().run()
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[0].markdown[0].value == "What is automation bias?"
    next(b for b in at.button if b.label == "New conversation").click().run()
    assert not at.chat_message
    assert at.session_state["chat_messages"] == []


def test_a_question_the_guidance_does_not_cover_is_answered_honestly(app_settings):
    at = start()
    at.chat_input[0].set_value("How many AI tools does Leeds Teaching Hospitals use?").run()
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.abstained and not answer.citations
    shown = at.chat_message[-1].markdown[0].value
    assert "does not cover this question" in shown
    assert not at.chat_message[-1].expander, "no sources are offered for an answer that cites nothing"


def test_patient_specific_request_is_declined_kindly_with_identifiers_removed_and_a_question_to_try(app_settings):
    at = start()
    at.chat_input[0].set_value("My patient John Smith, NHS number 943 476 5919, has chest pain. "
                               "What dose of aspirin should I give?").run()
    assert not at.exception
    user, assistant = at.chat_message[-2], at.chat_message[-1]
    shown_question = user.markdown[0].value
    assert "943" not in shown_question and "Smith" not in shown_question and "NHS number" in shown_question
    answer = at.session_state["chat_messages"][-1]["answer"]
    assert answer.refused and answer.refusal_reason == "clinical_advice"
    assert "clinical judgement" in texts(assistant)
    assert any("Safe-use reminder" in i.value and "removed" in i.value for i in assistant.info)
    suggestion = assistant.button[0]
    assert suggestion.label.endswith("?")
    suggestion.click().run()
    follow_up = at.session_state["chat_messages"][-1]["answer"]
    assert not follow_up.refused and follow_up.question == suggestion.label


def test_an_emergency_gets_only_the_way_to_help(app_settings):
    at = start()
    at.chat_input[0].set_value("My patient has collapsed and is not breathing").run()
    assistant = at.chat_message[-1]
    assert "999" in assistant.error[0].value
    assert not assistant.button and not at.feedback and not assistant.expander


def test_identifiers_typed_into_a_feedback_comment_are_not_stored(app_settings):
    at = start()
    at.chat_input[0].set_value("What is automation bias?").run()
    answer = at.session_state["chat_messages"][-1]["answer"]
    at.feedback(key=f"thumbs-{answer.id}").set_value(1).run()
    at.text_area(key=f"comment-{answer.id}").set_value("Helpful for patient 943 476 5919, email jo@example.com")
    next(b for b in at.button if b.label == "Send feedback").click().run()
    stored = FeedbackStore(app_settings.paths.feedback_db).get(answer.id).comment
    assert "943 476 5919" not in stored and "jo@example.com" not in stored and stored.startswith("Helpful for patient")


# ------------------------------------------------------------------ learn, quiz, scenarios

def start_learning(at: AppTest, page: str, group: str = "nurse-midwife") -> AppTest:
    at.switch_page(page).run()
    at.selectbox[0].select(group)
    next(b for b in at.button if b.label == "Start learning").click().run()
    assert not at.exception
    return at


def test_learn_profile_pathway_and_progress(app_settings):
    at = start()
    at.switch_page("tutor/webapp/learn.py").run()
    next(b for b in at.button if b.label == "Start learning").click().run()
    assert "Choose your professional group first." in at.error[0].value
    start_learning(at, "tutor/webapp/learn.py")
    learner = at.session_state["learner_id"]
    assert learner.startswith("learner-")
    labels = [e.label for e in at.expander]
    assert any(learner in label for label in labels), "the learner code is shown so they can come back"
    steps = [label for label in labels if label.startswith("Step ")]
    assert [s.rsplit(" · ", 1)[1] for s in steps] == ["Next", "To do"]
    assert steps[0].startswith("Step 1: Automation bias")
    assert at.get("progress")[0].proto.text == "0 of 2 steps done"
    next(b for b in at.button if b.label.startswith("I have read this")).click().run()
    assert at.get("progress")[0].proto.text == "1 of 2 steps done"
    assert [m.label for m in at.metric] == ["Quiz answers", "Scenarios tried", "Time spent"]
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads == ["CPD summary (Markdown)", "CPD record (CSV)"]


def test_quiz_question_answer_feedback_and_next(app_settings):
    at = start_learning(start(), "tutor/webapp/quiz.py")
    assert at.markdown[0].value == "#### What is automation bias?", "the pathway's first step comes first"
    radio = at.radio[0]
    radio.set_value("Favouring automated suggestions without enough critical thought")
    next(b for b in at.button if b.label == "Check my answer").click().run()
    assert at.success[0].value.startswith("Correct")
    assert at.expander[-1].label.startswith("[1] Automation bias")
    assert "comes back for review" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "Next question").click().run()
    assert at.markdown[0].value.startswith("#### Why does the positive predictive value fall")
    next(b for b in at.button if b.label == "Show me the answer").click().run()
    assert "Here is what a good answer covers" in at.info[0].value


def test_scenario_estimate_gets_the_true_figures_a_chart_and_a_verdict(app_settings):
    at = start_learning(start(), "tutor/webapp/scenarios.py")
    at.slider(key="estimate-sc-fixture").set_value(80)
    at.slider(key="confidence-sc-fixture").set_value(90)
    next(b for b in at.button if b.label == "Check my estimate").click().run()
    assert not at.exception
    assert at.warning[0].value.startswith("You over-trusted the tool") and "8.3%" in at.warning[0].value
    chart = at.get("vega_lite_chart")[0].proto
    assert "Flagged, has the condition (true positive): 9" in chart.spec
    assert "Flagged, does not have it (false positive): 99" in chart.spec
    assert "| AI flags | 9 (true positive) | 99 (false positive) | 108 |" in texts(at.main)
    assert [m.value for m in at.metric][:2] == ["8.3%", "99.9%"]


def test_tutor_moves_after_an_answer_another_way_and_a_check_question(app_settings):
    at = start()
    at.chat_input[0].set_value("What is automation bias?").run()
    first = at.session_state["chat_messages"][-1]["answer"]
    next(b for b in at.button if b.label == "Explain it another way").click().run()
    assert not at.exception
    messages = at.session_state["chat_messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["What is automation bias?",
                                                                      "Explain it another way"]
    again = messages[-1]["answer"]
    assert again.id == f"{first.id}-another-way" and not again.refused
    # The fixture corpus has one passage on automation bias: the tutor says it has no other, never repeats it.
    assert again.abstained and "does not cover" in at.chat_message[-1].markdown[0].value
    assert [b.key for b in at.button if b.label == "Check my understanding"] == [f"move-check-{first.id}"]

    next(b for b in at.button if b.label == "Check my understanding").click().run()
    assert "set up learning first" in at.chat_message[-1].info[0].value
    start_learning(at, "tutor/webapp/learn.py")
    at.switch_page("tutor/webapp/chat.py").run()
    check = at.chat_message[-1]
    assert check.markdown[0].value == "**Check your understanding:** What is automation bias?"
    check.radio[0].set_value("A software fault")
    next(b for b in check.button if b.label == "Check my answer").click().run()
    assert at.chat_message[-1].warning[0].value.startswith("Not quite")
    engine_attempts = at.session_state["chat_messages"][-1]["result"]
    assert engine_attempts.item_id == "fx-001" and not engine_attempts.correct


# ------------------------------------------------------------------ glossary and about

def test_glossary_search(app_settings):
    at = start()
    at.switch_page("tutor/webapp/glossary.py").run()
    assert "2 of 2 terms" in at.caption[0].value
    at.text_input(key="glossary-query").set_value("sensitivity").run()
    assert "1 of 2 terms" in at.caption[0].value
    assert "**Sensitivity**" in texts(at.main)
    at.text_input(key="glossary-query").set_value("blockchain").run()
    assert "No term matches" in at.info[0].value


def test_about_shows_the_corpus_version_backend_and_data_handling(app_settings, fixture_tutor):
    at = start()
    at.switch_page("tutor/webapp/about.py").run()
    page = texts(at.main)
    assert f"**Corpus version:** {fixture_tutor.corpus_version}" in page
    assert "Extractive: no generative AI model" in page
    assert "not a clinical decision aid" in page
    assert "Your conversation is kept only while this browser tab is open" in page
    assert "**Guidance documents in use:** 3" in page


# ------------------------------------------------------------------ content

def signed_in(monkeypatch, page: str, title: str) -> AppTest:
    monkeypatch.setenv("TUTOR_APP__ADMIN_PASSWORD_SHA256", hash_password(PASSWORD, SALT))
    monkeypatch.setenv("TUTOR_APP__ADMIN_PASSWORD_SALT", SALT)
    at = sign_in(start(), PASSWORD)
    at.switch_page(page).run()
    assert at.title[0].value == title and not at.exception
    return at


def signed_in_content(monkeypatch) -> AppTest:
    return signed_in(monkeypatch, CONTENT, "Content")


def test_content_lists_documents_by_status_and_the_corpus_check(app_settings, monkeypatch):
    at = signed_in_content(monkeypatch)
    documents = at.dataframe[0].value
    assert sorted(documents["id"]) == ["automation-bias", "test-accuracy", "yellow-card"]
    at.segmented_control(key="content-status").set_value("draft").run()
    assert list(at.dataframe[0].value["id"]) == ["draft-note"]
    assert any("0 errors" in s.value for s in at.success)


def test_content_retrieval_tester_ranks_passages_with_scores(app_settings, monkeypatch):
    at = signed_in_content(monkeypatch)
    at.text_input[0].set_value("How do I report a suspected problem with an AI medical device?")
    next(b for b in at.button if b.label == "Search").click().run()
    table = at.dataframe[-1].value
    assert table.iloc[0]["document"] == "yellow-card"
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert table.iloc[0]["best sentence similarity"] > 0.3
    assert (table["fused score"].diff().dropna() <= 0).all()


def test_content_feedback_queue_groups_by_document(app_settings, monkeypatch, fixture_tutor):
    answer = fixture_tutor.ask("What is automation bias?", id="queued-1")
    FeedbackStore(app_settings.paths.feedback_db).record(answer, 0, "outdated", "The figures have changed.")
    at = signed_in_content(monkeypatch)
    queue = [e for e in at.expander if "thumbs down" in e.label]
    assert queue and queue[0].label.startswith("Automation bias")
    assert "1 thumbs down of 1 (Out of date × 1)" in queue[0].label
    assert "The figures have changed." in texts(queue[0])
    queue[0].button[0].click().run()
    assert FeedbackStore(app_settings.paths.feedback_db).get("queued-1").status == "resolved"
    assert not [e for e in at.expander if "thumbs down" in e.label]


def test_reindex_from_the_content_page_builds_with_progress_and_chat_uses_it(fixture_tutor, monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_PATHS__DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.setenv("TUTOR_PATHS__CORPUS_DIR", str(FIXTURE_CORPUS))
    at = signed_in_content(monkeypatch)
    assert any("No live index" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Re-index now").click().run(timeout=120)
    assert not at.exception
    assert at.status and "Built index" in at.status[0].label
    assert {p.text.split(":")[0] for p in at.get("progress")} >= {"Embedding chunks", "Embedding sentences"}
    assert (tmp_path / "fresh" / "index" / "CURRENT").is_file()
    at.switch_page("tutor/webapp/chat.py").run()
    at.chat_input[0].set_value("What is automation bias?").run()
    assert at.session_state["chat_messages"][-1]["answer"].citations


# ------------------------------------------------------------------ evaluation

def signed_in_evaluation(monkeypatch) -> AppTest:
    return signed_in(monkeypatch, EVALUATION, "Evaluation")


def run_evaluation(at: AppTest, categories: list[str]) -> AppTest:
    at.multiselect[0].set_value(categories)
    next(b for b in at.button if b.label == "Run the evaluation").click().run(timeout=120)
    assert not at.exception
    return at


def test_evaluation_runs_the_suite_and_shows_the_report_with_charts(app_settings, monkeypatch):
    at = signed_in_evaluation(monkeypatch)
    assert "No evaluation runs yet" in at.info[0].value
    run_evaluation(at, ["emergency"])
    done = [m.value for m in [*at.success, *at.error] if m.value.startswith("Done:")]
    assert done and "cases passed" in done[0]
    assert "cannot pass the gate" in " ".join(c.value for c in at.caption), "a partial run says why the gate fails"
    runs = list((app_settings.paths.data_dir / "eval").glob("*/run.json"))
    assert len(runs) == 1 and (runs[0].parent / "report.html").is_file()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cases passed"].endswith("of 5") and "Critical failures" in metrics
    alts = [chart.proto.alt for chart in at.get("vega_lite_chart")]
    assert any(a.startswith("Pass rate by category: emergency ") for a in alts), "the chart and its text alternative"
    assert [d.proto.label for d in at.get("download_button")] == ["Download the full HTML report"]


def test_evaluation_compares_two_runs(app_settings, monkeypatch):
    at = signed_in_evaluation(monkeypatch)
    run_evaluation(at, ["emergency"])
    import time

    time.sleep(1.1)  # run folders are named to the second
    run_evaluation(at, ["emergency"])
    newest = max(p.name for p in (app_settings.paths.data_dir / "eval").iterdir())
    assert at.selectbox(key="evaluation-report-choice").value.folder.name == newest, "the report shown is the new run"
    labels = {m.label: m.value for m in at.metric}
    assert labels["Fixed in B"] == "0" and labels["Broken in B"] == "0"
    assert any("McNemar exact test" in m.value for m in at.markdown)
