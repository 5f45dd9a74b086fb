"""The app in a real headless browser: Debian's chromium driven by Playwright's Python client, on a loopback port.

What AppTest cannot see: the page as drawn (streaming, expanders opening, the feedback form's pop-up list), the
keyboard path to the question box, text contrast as rendered, and a phone-width screen without sideways scrolling.
Screenshots go to $TUTOR_SCREENSHOT_DIR (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import FIXTURE_CORPUS, ROOT, free_port, make_settings, stop_process
from tutor.builder import build_indexer
from tutor.webapp.feedback import REASONS, FeedbackStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("TUTOR_CHROMIUM", "/usr/bin/chromium"))
QUESTION_BOX = "Ask a question about AI in health and care"
MIN_CONTRAST = 4.5  # WCAG 2.2 AA for normal-size text

# Every visible text element's colour against the background it is drawn on (alpha-blended up the tree).
CONTRAST_SCRIPT = """
() => {
  const parse = c => { const m = c.match(/[\\d.]+/g) || [0, 0, 0, 0]; return m.map(Number).concat([1]).slice(0, 4); };
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const blend = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = el => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((acc, layer) => blend(layer, acc), [255, 255, 255, 1]);
  };
  const failures = [];
  for (const el of document.querySelectorAll('p, li, span, label, summary, a, h1, h2, h3, button, small')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || el.closest('[aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
    const bg = background(el);
    const fg = blend(parse(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < %s) failures.push({text: el.textContent.trim().slice(0, 60), color: style.color, ratio: ratio.toFixed(2)});
  }
  return failures;
}
""" % MIN_CONTRAST


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer on {url} within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, real_embedder):
    """`streamlit run app.py` on a free loopback port, over a fixture-corpus index built with the real model."""
    data = tmp_path_factory.mktemp("browser-data")
    settings = make_settings(data)
    build_indexer(settings, real_embedder).build()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(TUTOR_PATHS__DATA_DIR=str(data), TUTOR_PATHS__CORPUS_DIR=str(FIXTURE_CORPUS))
    port = free_port()
    log = data / "streamlit.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield url, settings
    finally:
        stop_process(process, timeout=15)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"Debian chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(.ci/run does this), or set TUTOR_CHROMIUM to another Chromium binary.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("TUTOR_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_chat(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.get_by_placeholder(QUESTION_BOX).wait_for(timeout=120_000)  # the first visit loads the model
    return page


def ask(page, question: str):
    """Type a question, press Enter and wait for the answer's feedback row (drawn once the answer is complete)."""
    box = page.get_by_placeholder(QUESTION_BOX)
    box.fill(question)
    box.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    answer.get_by_text("Was this answer helpful?").wait_for(timeout=60_000)
    return answer


def test_ask_open_a_citation_and_give_feedback(served_app, browser, screenshots):
    url, settings = served_app
    page = open_chat(browser, url, 1280, 1500)

    # Keyboard: Tab from the top of the page reaches the question box.
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.placeholder") == QUESTION_BOX:
            break
    else:
        pytest.fail("the question box cannot be reached with the Tab key")
    page.keyboard.type("What is automation bias?")
    page.keyboard.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    answer.get_by_text("Was this answer helpful?").wait_for(timeout=60_000)
    assert "Automation bias" in answer.inner_text() and "[1]" in answer.inner_text()

    source = answer.locator("summary").filter(has_text="[1]").first
    source.click()
    details = answer.locator('[data-testid="stExpanderDetails"]').first
    details.get_by_text("Quoted passage").wait_for()
    assert "Automation bias is" in details.inner_text()
    link = details.get_by_role("link").first
    assert link.get_attribute("href", timeout=5_000).startswith("https://")
    assert "next review due" in details.inner_text()
    page.screenshot(path=str(screenshots / "browser-chat-citation.png"))

    failures = page.evaluate(CONTRAST_SCRIPT)
    assert not failures, f"text below {MIN_CONTRAST}:1 contrast: {failures}"

    answer.get_by_label("Thumbs down").click()
    reason = page.get_by_role("combobox", name="What was the problem?")
    reason.click()
    page.get_by_role("option", name=REASONS["citation-mismatch"]).click()
    page.get_by_label("Anything else we should know?", exact=False).fill("The quote does not say this.")
    page.get_by_role("button", name="Send feedback").click()
    page.get_by_text("Thank you. Your feedback was saved").wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "browser-feedback.png"))

    records = FeedbackStore(settings.paths.feedback_db).all()
    assert [(r.rating, r.reason, r.comment) for r in records] == [(0, "citation-mismatch", "The quote does not say this.")]
    assert records[0].corpus_version and records[0].doc_ids and records[0].question == "What is automation bias?"
    page.close()


def test_phone_width_screen_has_no_sideways_scrolling(served_app, browser, screenshots):
    url, _ = served_app
    page = open_chat(browser, url, 390, 844)
    answer = ask(page, "Why does a positive result mean less when a condition is rare?")
    answer.locator("summary").first.click()
    page.wait_for_timeout(300)
    overflow = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert overflow[0] <= overflow[1], f"the page is {overflow[0]} px wide on a {overflow[1]} px screen"
    wide = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stChatMessage"] *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName).slice(0, 5)""")
    assert not wide, f"elements run off the right edge of a 390 px screen: {wide}"
    page.screenshot(path=str(screenshots / "browser-chat-390px.png"), full_page=True)
    page.close()
