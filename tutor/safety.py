"""Safety layer seam: screens input before anything else sees it and checks output before it is shown."""

from __future__ import annotations

from dataclasses import dataclass, field

from tutor.models import Answer, Notice
from tutor.settings import SafetySettings

TRUNCATED = Notice(id="input-truncated", text="Your message was very long, so only its first part was used.")


@dataclass
class InputVerdict:
    text: str
    intent: str = "question"
    pii: list[str] = field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    refusal_text: str | None = None
    notices: list[Notice] = field(default_factory=list)


class SafetyLayer:
    def __init__(self, settings: SafetySettings):
        self.settings = settings

    def screen(self, text: str) -> InputVerdict:
        text = text.replace("\x00", "")
        verdict = InputVerdict(text=text)
        if len(text) > self.settings.max_input_chars:
            verdict.text = text[: self.settings.max_input_chars]
            verdict.notices.append(TRUNCATED)
        return verdict

    def finalise(self, answer: Answer, verdict: InputVerdict) -> Answer:
        answer.notices = verdict.notices + answer.notices
        return answer
