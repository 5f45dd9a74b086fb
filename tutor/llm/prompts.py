"""Prompt templates: loaded from prompts/, validated at load, rendered into chat messages.

Templates use {placeholder} fields (double the braces for a literal brace). Each template must use exactly the
placeholders listed in TEMPLATES, so a typo fails at start-up with the file and line, not in front of a learner.
Passages are rendered by code, not by the template, as delimited data that cannot close their own delimiters.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from tutor.grounding import strip_markers
from tutor.llm.chat import Message
from tutor.models import Chunk, Problem, Turn

ABSTAIN_SENTINEL = "NOT_IN_GUIDANCE"
CHECK_PREFIX = "Check your understanding:"

TEMPLATES: dict[str, frozenset[str]] = {
    "system.md": frozenset({"abstain_sentinel"}),
    "answer.md": frozenset({"passages", "question"}),
    "rewrite.md": frozenset({"history", "question"}),
    "check_understanding.md": frozenset({"check_prefix"}),
}
# Text that could open or close a delimited block if it appeared inside the data.
_DELIMITER = re.compile(r"<(/?)\s*(passages?|conversation)\b", re.I)


class PromptError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk as the model sees it: numbered by retrieval rank, 1 = best."""

    n: int
    chunk: Chunk


@dataclass(frozen=True)
class PromptSet:
    templates: dict[str, str]
    folder: Path

    def render(self, name: str, **values: str) -> str:
        return self.templates[name].format(**values).strip()


def neutralise(text: str) -> str:
    """Stop data from opening or closing a delimited block: `</passage>` becomes `&lt;/passage>`."""
    return _DELIMITER.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}", text)


def _attribute(text: str) -> str:
    return neutralise(text).replace('"', "'").replace("\n", " ")


def format_passages(passages: list[Passage]) -> str:
    blocks = []
    for passage in passages:
        chunk = passage.chunk
        blocks.append(f'<passage n="{passage.n}" title="{_attribute(chunk.title)}" '
                      f'section="{_attribute(chunk.heading)}">\n{neutralise(chunk.text.strip())}\n</passage>')
    return "\n".join(blocks)


def _line_of(text: str, needle: str) -> int:
    position = text.find(needle)
    return text.count("\n", 0, position) + 1 if position >= 0 else 1


def check_template(path: Path, text: str, expected: frozenset[str]) -> list[Problem]:
    """Every way a template can be wrong, each with its file and line."""
    where = str(path)
    if not text.strip():
        return [Problem(path=where, line=1, message="the template is empty")]
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        brace = next((i for i, ch in enumerate(text) if ch in "{}"), 0)
        return [Problem(path=where, line=text.count("\n", 0, brace) + 1,
                        message=f"{exc}; write a literal brace as {{{{ or }}}}")]
    problems = []
    allowed = ", ".join(f"{{{name}}}" for name in sorted(expected))
    for field in fields:
        if field not in expected:
            problems.append(Problem(path=where, line=_line_of(text, "{" + field),
                                    message=f"unknown placeholder {{{field}}}; this template may use {allowed}"))
    for name in sorted(expected - set(fields)):
        problems.append(Problem(path=where, line=1, message=f"missing placeholder {{{name}}}; it must use {allowed}"))
    if path.name == "answer.md" and not re.search(r"<passages>\s*\{passages\}\s*</passages>", text):
        problems.append(Problem(path=where, line=_line_of(text, "{passages}"),
                                message="{passages} must sit alone between <passages> and </passages>, so the "
                                        "model can tell the quoted guidance from the question"))
    return problems


def load_prompts(folder: Path) -> PromptSet:
    """Read and check every template; raise PromptError listing all problems at once."""
    templates: dict[str, str] = {}
    problems: list[Problem] = []
    for name, expected in TEMPLATES.items():
        path = folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(Problem(path=str(path), line=1,
                                    message=f"cannot read the template ({exc.strerror}); TUTOR_PATHS__PROMPTS_DIR "
                                            "must name a folder holding " + ", ".join(TEMPLATES)))
            continue
        problems += check_template(path, text, expected)
        templates[name] = text
    if problems:
        raise PromptError(problems)
    return PromptSet(templates, folder)


def system_prompt(prompts: PromptSet, check_understanding: bool) -> str:
    text = prompts.render("system.md", abstain_sentinel=ABSTAIN_SENTINEL)
    if check_understanding:
        text += "\n\n" + prompts.render("check_understanding.md", check_prefix=CHECK_PREFIX)
    return text


def answer_messages(prompts: PromptSet, question: str, passages: list[Passage], history: list[Turn],
                    check_understanding: bool = False) -> list[Message]:
    """System prompt, the conversation so far (citation markers removed: they named other passages), then the
    passages and the question."""
    messages: list[Message] = [("system", system_prompt(prompts, check_understanding))]
    for turn in history:
        content = strip_markers(turn.content) if turn.role == "assistant" else turn.content
        messages.append((turn.role, neutralise(content)))
    messages.append(("user", prompts.render("answer.md", passages=format_passages(passages),
                                            question=neutralise(question))))
    return messages


def rewrite_messages(prompts: PromptSet, question: str, history: list[Turn]) -> list[Message]:
    lines = [f"{'Learner' if t.role == 'user' else 'Tutor'}: {neutralise(strip_markers(t.content))}" for t in history]
    return [("user", prompts.render("rewrite.md", history="\n".join(lines), question=neutralise(question)))]
