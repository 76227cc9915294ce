"""The one shape every answerer has, and what they share.

An answerer looks at a question and the retrieved clauses and either answers
(an `Answer`, possibly a refusal) or declines (None) so the next one in the
chain can. The assistant runs a `FirstAnswer` chain per answer backend.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

from qa.query.question import Question
from qa.types import Answer, Citation, Hit

TokenSink = Callable[[str], None]

# The opening of every refusal, whoever refuses; the reason follows it.
REFUSAL = "文件中未找到与该问题直接相关的内容。"
RELATED_SHOWN = 3


class Answerer(Protocol):
    def answer(self, question: Question, hits: Sequence[Hit], *,
               on_token: TokenSink | None = None) -> Answer | None:
        """An answer to `question` from `hits`, or None to let the next answerer try.

        `on_token` receives text as it becomes final (streaming answerers only):
        when any was passed, the pieces joined are exactly the returned
        `Answer.text`, so a caller may display them as they come."""
        ...


def refusal(question: Question, hits: Sequence[Hit], reason: str, *, backend: str = "extractive") -> Answer:
    """A refusal that says why and lists the nearest clauses."""
    related = tuple(Citation.of(h) for h in hits[:RELATED_SHOWN])
    lines = [REFUSAL + reason]
    if related:
        lines.append("相关条款：" + "；".join(f"［{c.citation_label}］{c.heading_path[-1]}" for c in related))
    return Answer(question.text, "\n".join(lines), refused=True, refusal_reason=reason, related=related,
                  backend=backend)


class RequestGuard:
    """Refuses questions that ask to invent, reveal or role-play (see `qa.query.question`);
    first in every chain, so no answerer — and no LLM — ever sees them."""

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer | None:
        if not question.manipulation_only:
            return None  # a real question beside the request is answered; `Assistant.ask` says what was ignored
        return refusal(question, hits, f"问题要求“{question.manipulation}”，本助手只引用文件原文作答，不编造或泄露内容。")


class FirstAnswer:
    """Answerers in order; the first that answers wins."""

    def __init__(self, answerers: Sequence[Answerer]):
        self.answerers = tuple(answerers)

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer | None:
        for answerer in self.answerers:
            found = answerer.answer(question, hits, on_token=on_token)
            if found is not None:
                return found
        return None
