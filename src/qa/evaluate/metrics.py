"""Scoring: each question's observation turned into a result, and the metrics
over a set of results.

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

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from qa.evaluate.questions import EvalQuestion, ordered_types
from qa.types import Answer

RETRIEVAL_DEPTH = 5  # the ranking depth behind hit@5 and recall@5
_CITATION_MARKER = re.compile(r"［[^［］\n]*］")


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
    """The q-th percentile (0–100), linear interpolation between ranks (numpy's default); None for no values."""
    if not len(values):
        return None
    return float(np.percentile(values, q))


# --- one question scored ---------------------------------------------------------

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
    # Citation labels: a law's clause is expected as 科学技术进步法 第六条, a plan clause as 二（三）2.
    cited = tuple(dict.fromkeys(c.citation_label for c in answer.citations)) if answer and not refused else ()
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
    """Metrics over all questions and per question type (documented types first, then any others)."""

    overall: MetricValues
    by_type: dict[str, MetricValues]
    counts: dict[str, int] = field(default_factory=dict)  # questions per type

    @classmethod
    def of(cls, results: Sequence[QuestionResult]) -> "RunMetrics":
        grouped = {t: [r for r in results if r.question.type == t]
                   for t in ordered_types(r.question.type for r in results)}
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


__all__ = [
    "METRICS", "METRIC_BY_NAME", "RETRIEVAL_DEPTH", "MetricInfo", "MetricValues", "Observation", "QuestionResult",
    "RunMetrics", "citation_precision", "compute_metrics", "fact_present", "hit_at", "match_facts", "percentile",
    "recall_at", "reciprocal_rank", "refusal_scores", "score_question", "strip_citation_markers",
]
