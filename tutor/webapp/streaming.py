"""Stream an answer to the chat page: a generative backend's checked sentences as they come, else the extractive
answer a sentence at a time; the final, safety-checked Answer is kept for drawing in the streamed text's place."""

from __future__ import annotations

from typing import Iterator

from tutor.conversation import Tutor
from tutor.models import Answer, Turn
from tutor.webapp.presenters import answer_markdown, stream_pieces


class AnswerStream:
    """Iterate for Markdown pieces (for st.write_stream); afterwards `answer` holds the final Answer."""

    def __init__(self, tutor: Tutor, question: str, history: list[Turn], answer_id: str):
        self.tutor = tutor
        self.question = question
        self.history = history
        self.answer_id = answer_id
        self.answer: Answer | None = None
        self.streamed_live = False

    def __iter__(self) -> Iterator[str]:
        for item in self.tutor.stream(self.question, history=self.history, id=self.answer_id):
            if isinstance(item, Answer):
                self.answer = item
            elif item:
                self.streamed_live = True
                yield answer_markdown(item)
        if self.answer is None:
            raise RuntimeError("the tutor finished without an answer")
        if not self.streamed_live and not self.answer.refused:
            yield from stream_pieces(self.answer.answer)

    def final(self) -> Answer:
        """The final Answer, consuming the stream first if nobody has."""
        if self.answer is None:
            for _ in self:
                pass
        assert self.answer is not None
        return self.answer
