"""Regression evaluation: run a question set through a pipeline, score it
clause by clause, and compare the scores with a stored baseline.

Two families of metrics, measured from different places on purpose:

* retrieval metrics — ``hit@1``, ``hit@5``, ``mrr``, ``recall@5`` — come from
  the ranking ``Assistant.search(question, top_k=5)`` returns. They say whether
  the right clause was *found*, even when the answerer later refused.
* answer metrics — ``citation_hit@1``, ``citation_precision``,
  ``key_fact_recall``, refusal precision/recall, ``pass_rate`` — come from the
  `Answer` that ``Assistant.ask`` returns: its citations, text and refusal flag.

Retrieval and citation metrics are over answerable questions only; refusal
metrics are over all questions; ``recall@5`` is over ``list`` questions only.
Latency is wall-clock time around ``ask()``; it is reported, never gated,
because the shared CI machines are too noisy for a latency threshold.
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from .errors import QAError
from .types import Answer

# Display order of the question types documented in eval/README.md.
QUESTION_TYPES = ("fact", "paraphrase", "ownership", "alias", "date_number", "list", "multi_turn",
                  "unanswerable", "adversarial")
RETRIEVAL_DEPTH = 5  # the ranking depth behind hit@5 and recall@5
WARM_UP_QUESTION = "东西部科技合作的总体目标是什么？"
_CITATION_MARKER = re.compile(r"［[^［］\n]*］")


class QuestionSetError(QAError):
    """A question file that is missing or does not follow eval/README.md."""

    exit_code = 2


# --- the question set --------------------------------------------------------

@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question file (format: eval/README.md)."""

    id: str
    question: str
    expected_labels: tuple[str, ...]
    key_facts: tuple[tuple[str, ...], ...]
    answerable: bool
    type: str
    history: tuple[str, ...] = ()
    doc: str | None = None


def load_questions(paths: Sequence[Path]) -> tuple[EvalQuestion, ...]:
    """Read one or more JSONL question files; ids must be unique across all of them."""
    questions: list[EvalQuestion] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise QuestionSetError(f"找不到问题集文件 {path}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path} 第 {number} 行"
            question = _parse_question(line, where)
            if question.id in seen:
                raise QuestionSetError(f"{where}：问题 id {question.id} 与 {seen[question.id]} 重复")
            seen[question.id] = where
            questions.append(question)
    if not questions:
        raise QuestionSetError(f"问题集为空：{'、'.join(str(p) for p in paths)}")
    return tuple(questions)


def _parse_question(line: str, where: str) -> EvalQuestion:
    try:
        row = json.loads(line)
        question = EvalQuestion(
            id=str(row["id"]),
            question=str(row["question"]),
            expected_labels=tuple(str(label) for label in row["expected_labels"]),
            key_facts=tuple(tuple(str(w) for w in fact) for fact in row["key_facts"]),
            answerable=bool(row["answerable"]),
            type=str(row["type"]),
            history=tuple(str(h) for h in row.get("history") or ()),
            doc=row.get("doc") or None,
        )
    except json.JSONDecodeError as error:
        raise QuestionSetError(f"{where} 不是有效的 JSON：{error.msg}") from None
    except KeyError as error:
        raise QuestionSetError(f"{where} 缺少字段 {error.args[0]}") from None
    except TypeError:
        raise QuestionSetError(f"{where} 的字段类型不对（见 eval/README.md）") from None
    if question.answerable and not question.expected_labels:
        raise QuestionSetError(f"{where}：可回答的问题必须给出 expected_labels")
    if any(not fact for fact in question.key_facts):
        raise QuestionSetError(f"{where}：key_facts 中每个事实至少要有一种说法")
    return question


# --- per-question scoring (pure functions) -----------------------------------

def strip_citation_markers(text: str) -> str:
    """Answer text without its ［label］ markers, so a label never counts as a fact."""
    return _CITATION_MARKER.sub("", text)


def fact_present(wordings: Sequence[str], text: str) -> bool:
    """A key fact is present when any one of its acceptable wordings occurs verbatim."""
    return any(wording and wording in text for wording in wordings)


def match_facts(key_facts: Sequence[Sequence[str]], answer_text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(found, missed) key facts, each named by its first wording."""
    text = strip_citation_markers(answer_text)
    found = tuple(fact[0] for fact in key_facts if fact_present(fact, text))
    missed = tuple(fact[0] for fact in key_facts if not fact_present(fact, text))
    return found, missed


def hit_at(ranked: Sequence[str], expected: Sequence[str], k: int) -> bool:
    """Any expected label among the first `k` ranked labels."""
    wanted = set(expected)
    return any(label in wanted for label in ranked[:k])


def reciprocal_rank(ranked: Sequence[str], expected: Sequence[str]) -> float:
    """1/rank of the first expected label in the ranking, 0 when none is ranked."""
    wanted = set(expected)
    for rank, label in enumerate(ranked, 1):
        if label in wanted:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], expected: Sequence[str], k: int) -> float:
    """Share of the expected labels found among the first `k` ranked labels."""
    wanted = set(expected)
    if not wanted:
        return 0.0
    return len(wanted & set(ranked[:k])) / len(wanted)


def citation_precision(cited: Sequence[str], expected: Sequence[str]) -> float | None:
    """Share of the cited labels that are expected; None when nothing is cited."""
    if not cited:
        return None
    wanted = set(expected)
    return sum(label in wanted for label in cited) / len(cited)


def refusal_scores(refused: Sequence[bool], should_refuse: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of refusing, with unanswerable questions as the positives.

    Precision is None when nothing was refused, recall is None when nothing
    should have been; neither is then defined.
    """
    true_refusals = sum(r and s for r, s in zip(refused, should_refuse))
    made, due = sum(refused), sum(should_refuse)
    return (true_refusals / made if made else None, true_refusals / due if due else None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- results -------------------------------------------------------------------

@dataclass(frozen=True)
class Observation:
    """What a pipeline did with one question: its ranking, its answer and how long ask() took."""

    retrieved: tuple[str, ...]  # clause labels of the retrieval ranking, best first
    answer: Answer | None
    latency_ms: float
    error: str = ""  # a library error instead of an answer


@dataclass(frozen=True)
class QuestionResult:
    """One question scored."""

    question: EvalQuestion
    retrieved: tuple[str, ...]
    cited: tuple[str, ...]
    answer_text: str
    refused: bool
    facts_found: tuple[str, ...]
    facts_missed: tuple[str, ...]
    latency_ms: float
    error: str = ""

    @property
    def fact_recall(self) -> float | None:
        total = len(self.facts_found) + len(self.facts_missed)
        return len(self.facts_found) / total if total else None

    @property
    def passed(self) -> bool:
        """Answerable: answered, the best expected clause cited, at least half the facts.
        Unanswerable: refused."""
        q = self.question
        if self.error:
            return False
        if not q.answerable:
            return self.refused
        recall = self.fact_recall
        return (not self.refused and q.expected_labels[0] in self.cited
                and (recall is None or recall >= 0.5))


def score_question(question: EvalQuestion, observation: Observation) -> QuestionResult:
    """Turn an observation into a scored result. A refused answer's text is not
    searched for facts: its list of related clauses is not an answer."""
    answer = observation.answer
    refused = bool(answer and answer.refused)
    text = answer.text if answer and not refused else ""
    cited = tuple(dict.fromkeys(c.clause_label for c in answer.citations)) if answer and not refused else ()
    found, missed = match_facts(question.key_facts, text)
    return QuestionResult(question, observation.retrieved, cited, answer.text if answer else "", refused,
                          found, missed, observation.latency_ms, observation.error)


# --- aggregate metrics ---------------------------------------------------------------

@dataclass(frozen=True)
class MetricInfo:
    name: str
    description: str
    higher_is_better: bool = True
    source: str = "answer"  # "retrieval", "answer" or "timing"


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("hit@1", "top-ranked clause is an expected one (answerable)", source="retrieval"),
    MetricInfo("hit@5", "an expected clause in the top 5 (answerable)", source="retrieval"),
    MetricInfo("mrr", "mean reciprocal rank of the first expected clause (answerable)", source="retrieval"),
    MetricInfo("recall@5", "share of expected clauses in the top 5 (list questions)", source="retrieval"),
    MetricInfo("citation_hit@1", "first cited clause is an expected one (answerable; refusal = miss)"),
    MetricInfo("citation_precision", "share of cited clauses that are expected (answered answerable)"),
    MetricInfo("key_fact_recall", "share of key facts in the answer text (answerable; refusal = 0)"),
    MetricInfo("refusal_precision", "refusals that were due / all refusals"),
    MetricInfo("refusal_recall", "unanswerable questions refused / all unanswerable"),
    MetricInfo("pass_rate", "questions passing the per-question rule"),
    MetricInfo("latency_p50_ms", "median wall-clock time of ask() (not gated)", False, "timing"),
    MetricInfo("latency_p95_ms", "95th percentile wall-clock time of ask() (not gated)", False, "timing"),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}

MetricValues = dict[str, float | None]


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def compute_metrics(results: Sequence[QuestionResult]) -> MetricValues:
    """Every metric in `METRICS` over `results` (None where a metric is undefined)."""
    answerable = [r for r in results if r.question.answerable and not r.error]
    answered = [r for r in answerable if not r.refused]
    lists = [r for r in answerable if r.question.type == "list"]
    facts = [r.fact_recall for r in answerable if r.fact_recall is not None]
    precision, recall = refusal_scores([r.refused for r in results], [not r.question.answerable for r in results])
    latencies = [r.latency_ms for r in results if not r.error]
    expected = lambda r: r.question.expected_labels  # noqa: E731 - local shorthand
    return {
        "hit@1": _mean(hit_at(r.retrieved, expected(r), 1) for r in answerable),
        "hit@5": _mean(hit_at(r.retrieved, expected(r), RETRIEVAL_DEPTH) for r in answerable),
        "mrr": _mean(reciprocal_rank(r.retrieved[:RETRIEVAL_DEPTH], expected(r)) for r in answerable),
        "recall@5": _mean(recall_at(r.retrieved, expected(r), RETRIEVAL_DEPTH) for r in lists),
        "citation_hit@1": _mean(hit_at(r.cited, expected(r), 1) for r in answerable),
        "citation_precision": _mean(p for r in answered
                                    if (p := citation_precision(r.cited, expected(r))) is not None),
        "key_fact_recall": _mean(facts),
        "refusal_precision": precision,
        "refusal_recall": recall,
        "pass_rate": _mean(r.passed for r in results),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


@dataclass(frozen=True)
class RunMetrics:
    """Metrics over all questions and per question type."""

    overall: MetricValues
    by_type: dict[str, MetricValues]
    counts: dict[str, int] = field(default_factory=dict)  # questions per type

    @classmethod
    def of(cls, results: Sequence[QuestionResult]) -> "RunMetrics":
        types = [t for t in QUESTION_TYPES if any(r.question.type == t for r in results)]
        types += sorted({r.question.type for r in results} - set(types))
        grouped = {t: [r for r in results if r.question.type == t] for t in types}
        return cls(compute_metrics(results), {t: compute_metrics(rs) for t, rs in grouped.items()},
                   {t: len(rs) for t, rs in grouped.items()})

    def to_json(self) -> dict:
        return {"overall": _rounded(self.overall), "by_type": {t: _rounded(m) for t, m in self.by_type.items()},
                "counts": dict(self.counts)}

    @classmethod
    def from_json(cls, data: Mapping) -> "RunMetrics":
        return cls(dict(data.get("overall", {})), {t: dict(m) for t, m in data.get("by_type", {}).items()},
                   dict(data.get("counts", {})))


def _rounded(values: Mapping[str, float | None]) -> dict:
    # Rounded so a regenerated baseline diffs cleanly; far finer than any tolerance.
    return {k: (None if v is None else round(float(v), 4)) for k, v in values.items()}


# --- running a pipeline --------------------------------------------------------------

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
        from .assistant import Assistant

        return cls(Assistant(settings, progress=progress))

    @property
    def embedder(self):
        """The embedding model, to share with other pipelines."""
        return self.assistant.embedder

    def warm_up(self) -> None:
        """Load the index (building it if missing) and the models, so no question's latency includes them."""
        self.assistant.ask(WARM_UP_QUESTION)

    def observe(self, question: EvalQuestion) -> Observation:
        history = list(question.history) or None
        started = time.perf_counter()
        try:
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
        return Observation(tuple(h.clause.clause_label for h in hits), answer, latency)


def retrieval_query(question: EvalQuestion, answer: Answer | None) -> str:
    """The text whose ranking the retrieval metrics score (see `AssistantPipeline`)."""
    return (answer.standalone_question if answer else "") or question.question


# --- machine-readable results ---------------------------------------------------

def run_to_json(run: EvalRun) -> dict:
    """The run with every question's details, for results.json."""
    return {
        "pipeline": run.pipeline, "backend": run.backend, "seconds": round(run.seconds, 2), "config": run.config,
        "metrics": run.metrics.to_json(),
        "questions": [{
            "id": r.question.id, "type": r.question.type, "question": r.question.question,
            "history": list(r.question.history), "answerable": r.question.answerable,
            "expected": list(r.question.expected_labels), "retrieved": list(r.retrieved), "cited": list(r.cited),
            "refused": r.refused, "facts_found": list(r.facts_found), "facts_missed": list(r.facts_missed),
            "latency_ms": round(r.latency_ms, 1), "passed": r.passed, "error": r.error, "answer": r.answer_text,
        } for r in run.results],
    }


__all__ = [
    "AssistantPipeline", "EvalQuestion", "EvalRun", "METRICS", "MetricInfo", "Observation", "Pipeline",
    "QUESTION_TYPES", "QuestionResult", "QuestionSetError", "RunMetrics", "citation_precision", "compute_metrics",
    "evaluate", "fact_present", "hit_at", "load_questions", "match_facts", "percentile", "recall_at",
    "reciprocal_rank", "refusal_scores", "run_to_json", "score_question", "strip_citation_markers",
]
