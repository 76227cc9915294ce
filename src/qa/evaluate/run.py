"""Running a question set through a pipeline: the `Pipeline` protocol,
`evaluate()`, the real assistant as a pipeline, and a run as JSON."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Sequence

from qa.errors import QAError
from qa.evaluate.metrics import RETRIEVAL_DEPTH, Observation, QuestionResult, RunMetrics, score_question
from qa.evaluate.questions import EvalQuestion
from qa.types import Answer

WARM_UP_QUESTION = "东西部科技合作的总体目标是什么？"


class Pipeline(Protocol):
    """Anything that can be evaluated: the assistant, or the naive comparison."""

    name: str

    def observe(self, question: EvalQuestion) -> Observation: ...


@dataclass(frozen=True)
class EvalRun:
    """One pipeline over one question set."""

    pipeline: str
    backend: str
    results: tuple[QuestionResult, ...]
    metrics: RunMetrics
    seconds: float
    config: dict = field(default_factory=dict)  # what was evaluated, for the report

    def result(self, question_id: str) -> QuestionResult | None:
        return next((r for r in self.results if r.question.id == question_id), None)

    @property
    def passes(self) -> dict[str, bool]:
        return {r.question.id: r.passed for r in self.results}

    @property
    def failing(self) -> tuple[str, ...]:
        """Ids of the questions that did not pass, in question order."""
        return tuple(r.question.id for r in self.results if not r.passed)


ProgressSink = Callable[[int, int], None]


def evaluate(pipeline: Pipeline, questions: Sequence[EvalQuestion], *,
             on_progress: ProgressSink | None = None, config: Mapping | None = None) -> EvalRun:
    """Run every question through `pipeline` and score the results."""
    started = time.perf_counter()
    results: list[QuestionResult] = []
    for done, question in enumerate(questions, 1):
        results.append(score_question(question, pipeline.observe(question)))
        if on_progress:
            on_progress(done, len(questions))
    backends = sorted({_backend_of(pipeline, r) for r in results if not r.error} - {""})
    return EvalRun(pipeline.name, "+".join(backends) or "-", tuple(results), RunMetrics.of(results),
                   time.perf_counter() - started, dict(config or {}))


def _backend_of(pipeline: Pipeline, result: QuestionResult) -> str:
    return getattr(pipeline, "backends_used", {}).get(result.question.id, getattr(pipeline, "backend", ""))


class AssistantPipeline:
    """The real assistant: `ask()` timed for the answer, `search()` for the ranking.

    A multi-turn question is asked with its history. Its retrieval ranking is
    for the question as the assistant understood it: the standalone rewrite
    the answer reports (`Answer.standalone_question`) when it made one.
    """

    name = "assistant"

    def __init__(self, assistant):
        self.assistant = assistant
        self.backend = assistant.settings.effective_answer_backend
        self.backends_used: dict[str, str] = {}

    @classmethod
    def for_settings(cls, settings, progress: Callable[[str], None] = lambda message: None) -> "AssistantPipeline":
        """An Assistant of its own for `settings`."""
        from qa.assistant import Assistant

        return cls(Assistant(settings, progress=progress))

    @property
    def embedder(self):
        """The embedding model, to share with other pipelines."""
        return self.assistant.embedder

    def _as_chat_remembers(self, turns: Sequence[str]) -> list[str]:
        """Earlier turns as a chat keeps them (`Conversation`): each in its standalone form,
        so 「第二项呢？」 after 「第一项讲的是什么？」 sees what the first follow-up meant."""
        history: list[str] = []
        for turn in turns:
            history.append(self.assistant.understand(turn, history).text)
        return history

    def warm_up(self) -> None:
        """Load the index (building it if missing) and the models, so no question's latency includes them."""
        self.assistant.ask(WARM_UP_QUESTION)

    def observe(self, question: EvalQuestion) -> Observation:
        started = time.perf_counter()
        try:
            history = self._as_chat_remembers(question.history)
            answer = self.assistant.ask(question.question, history=history, doc_id=question.doc)
        except QAError as error:
            return Observation((), None, (time.perf_counter() - started) * 1000, str(error))
        latency = (time.perf_counter() - started) * 1000
        self.backends_used[question.id] = answer.backend
        try:
            hits = self.assistant.search(retrieval_query(question, answer), top_k=RETRIEVAL_DEPTH,
                                         doc_id=question.doc)
        except QAError as error:
            return Observation((), answer, latency, str(error))
        return Observation(tuple(h.clause.citation_label for h in hits), answer, latency)


def retrieval_query(question: EvalQuestion, answer: Answer | None) -> str:
    """The text whose ranking the retrieval metrics score (see `AssistantPipeline`)."""
    return (answer.standalone_question if answer else "") or question.question


def run_to_json(run: EvalRun, details: bool = True) -> dict:
    """The run for results.json: its metrics, the ids of failing questions and, unless
    `details` is False (a held-out split), every question's text, answer and scores."""
    head = {"pipeline": run.pipeline, "backend": run.backend, "seconds": round(run.seconds, 2), "config": run.config,
            "metrics": run.metrics.to_json(), "count": len(run.results), "failing": list(run.failing)}
    if not details:
        return head
    return head | {
        "questions": [{
            "id": r.question.id, "type": r.question.type, "question": r.question.question,
            "history": list(r.question.history), "answerable": r.question.answerable,
            "expected": list(r.question.expected_labels), "retrieved": list(r.retrieved), "cited": list(r.cited),
            "refused": r.refused, "facts_found": list(r.facts_found), "facts_missed": list(r.facts_missed),
            "latency_ms": round(r.latency_ms, 1), "passed": r.passed, "error": r.error, "answer": r.answer_text,
        } for r in run.results],
    }


__all__ = ["AssistantPipeline", "EvalRun", "Pipeline", "ProgressSink", "evaluate", "retrieval_query", "run_to_json"]
