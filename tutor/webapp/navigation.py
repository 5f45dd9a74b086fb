"""Which pages exist for whom: learner pages for everyone, editorial pages only for a signed-in editor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import streamlit as st

from tutor.webapp import auth
from tutor.webapp.resources import current_settings

PAGE_DIR = Path(__file__).resolve().parent
Role = Literal["learner", "editor"]


@dataclass(frozen=True)
class PageSpec:
    module: str
    title: str
    icon: str
    url_path: str
    default: bool = False

    @property
    def path(self) -> Path:
        return PAGE_DIR / f"{self.module}.py"


LEARNER_PAGES = (
    PageSpec("chat", "Ask the tutor", ":material/forum:", "chat", default=True),
    PageSpec("learn", "Learn", ":material/route:", "learn"),
    PageSpec("quiz", "Quiz", ":material/quiz:", "quiz"),
    PageSpec("scenarios", "Practice scenarios", ":material/calculate:", "scenarios"),
    PageSpec("glossary", "Glossary", ":material/menu_book:", "glossary"),
    PageSpec("about", "About this tutor", ":material/info:", "about"),
)
EDITOR_PAGES = (
    PageSpec("content", "Content", ":material/library_books:", "content"),
    PageSpec("evaluation", "Evaluation", ":material/analytics:", "evaluation"),
)
SIGN_IN = PageSpec("signin", "Editor sign-in", ":material/login:", "sign-in")
SIGN_OUT = PageSpec("signin", "Sign out", ":material/logout:", "sign-in")


def page_specs(role: Role, access: auth.AccessMode | None) -> dict[str, list[PageSpec]]:
    """Navigation sections for a role. With no way to sign in configured, editorial pages are not listed at all."""
    sections: dict[str, list[PageSpec]] = {"Tutor": list(LEARNER_PAGES)}
    if role == "editor":
        sections["Editors"] = [*EDITOR_PAGES, SIGN_OUT]
    elif access is not None:
        sections["Editors"] = [SIGN_IN]
    return sections


def current_role() -> Role:
    return "editor" if auth.is_editor(current_settings().app) else "learner"


def build_navigation():
    """The st.navigation object for this session's role; app.py runs it."""
    settings = current_settings()
    sections = page_specs(current_role(), auth.access_mode(settings.app))
    pages = {name: [st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.default)
                    for spec in specs]
             for name, specs in sections.items()}
    navigation = st.navigation(pages, position="sidebar")
    st.sidebar.caption("This tutor teaches about AI in health and care. It does not give advice about a patient's "
                       "care: use clinical judgement, senior colleagues and local protocols for that.")
    return navigation
