"""What a chat remembers between turns, kept the same way by the CLI, the UI and the API."""
from __future__ import annotations

from dataclasses import dataclass

from qa.types import Answer


@dataclass(frozen=True)
class Conversation:
    """The questions asked so far, oldest first, as the assistant understood them:
    the standalone form of a follow-up (「那西藏呢？」 → 「西藏的盐湖产业有什么措施？」),
    so a chain of follow-ups keeps its topic."""

    questions: tuple[str, ...] = ()

    def after(self, answer: Answer) -> "Conversation":
        """This conversation with `answer`'s question added."""
        return Conversation((*self.questions, answer.standalone_question or answer.question))

    @property
    def history(self) -> list[str]:
        return list(self.questions)
