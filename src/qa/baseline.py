"""The regression gate: a stored baseline run, and a new run compared with it.

`qa eval` fails (exit 1) when any metric, overall or for one question type,
drops by more than its tolerance; the baseline file holds the tolerances, so
a team can tighten or relax them without touching code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .evaluate import METRIC_BY_NAME, METRICS, EvalRun, QuestionSetError, RunMetrics

# Allowed drop before the gate fails. Overall: about two answerable questions.
# Per type (~15 questions each): one flip moves a rate by ~0.07, so a single
# flipped question is reported but only a second one fails the gate.
# Latency is None (never gated): shared machines are too noisy.
DEFAULT_TOLERANCES: dict[str, float | None] = {
    "hit@1": 0.02, "hit@5": 0.02, "mrr": 0.02, "recall@5": 0.03, "citation_hit@1": 0.02,
    "citation_precision": 0.03, "key_fact_recall": 0.02, "refusal_precision": 0.05, "refusal_recall": 0.05,
    "pass_rate": 0.02, "latency_p50_ms": None, "latency_p95_ms": None,
}
DEFAULT_TYPE_TOLERANCES: dict[str, float | None] = {
    name: (None if value is None else 0.1) for name, value in DEFAULT_TOLERANCES.items()
}

BASELINE_FORMAT = 1


@dataclass(frozen=True)
class Baseline:
    """A stored run: its metrics, which questions passed, and the gate's tolerances."""

    metrics: RunMetrics
    passes: dict[str, bool]
    tolerances: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    type_tolerances: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TYPE_TOLERANCES))
    info: dict = field(default_factory=dict)  # when, which pipeline and backend

    def to_json(self) -> dict:
        return {"format": BASELINE_FORMAT, **self.info, "tolerances": self.tolerances,
                "type_tolerances": self.type_tolerances, "metrics": self.metrics.to_json(),
                "passes": dict(sorted(self.passes.items()))}


def baseline_from_run(run: EvalRun, keep: Baseline | None = None) -> Baseline:
    """The run as a new baseline, keeping the tolerances of `keep` when given."""
    info = {"created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "pipeline": run.pipeline,
            "backend": run.backend, "questions": len(run.results)}
    tolerances = dict(keep.tolerances) if keep else dict(DEFAULT_TOLERANCES)
    type_tolerances = dict(keep.type_tolerances) if keep else dict(DEFAULT_TYPE_TOLERANCES)
    return Baseline(run.metrics, run.passes, tolerances, type_tolerances, info)


def read_baseline(path: Path) -> Baseline:
    """Load a baseline file; missing tolerance entries fall back to the defaults."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"找不到基线文件 {path}（可用 --update-baseline 生成）") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise QuestionSetError(f"基线文件 {path} 格式有误：{error}") from None
    info = {k: data[k] for k in ("created", "pipeline", "backend", "questions") if k in data}
    return Baseline(RunMetrics.from_json(data.get("metrics", {})),
                    {str(k): bool(v) for k, v in data.get("passes", {}).items()},
                    {**DEFAULT_TOLERANCES, **data.get("tolerances", {})},
                    {**DEFAULT_TYPE_TOLERANCES, **data.get("type_tolerances", {})}, info)


def write_baseline(path: Path, baseline: Baseline) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class MetricChange:
    """One metric in one scope ("overall" or a question type), before and after."""

    scope: str
    metric: str
    before: float | None
    after: float | None
    tolerance: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def regressed(self) -> bool:
        """Worse by more than the tolerance; metrics without a tolerance never regress."""
        info = METRIC_BY_NAME.get(self.metric)
        if info is None or self.tolerance is None or self.delta is None:
            return False
        drop = -self.delta if info.higher_is_better else self.delta
        return drop > self.tolerance + 1e-9  # rounding in the stored baseline is not a drop


@dataclass(frozen=True)
class Flip:
    """A question whose pass/fail verdict changed since the baseline."""

    question_id: str
    was_passing: bool
    now_passing: bool


@dataclass(frozen=True)
class Comparison:
    """A run against a baseline: every metric's change and every flipped question."""

    changes: tuple[MetricChange, ...]
    flips: tuple[Flip, ...]  # pass→fail first
    only_in_baseline: tuple[str, ...] = ()
    only_in_run: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[MetricChange, ...]:
        return tuple(c for c in self.changes if c.regressed)

    @property
    def failed(self) -> bool:
        return bool(self.regressions)

    def change(self, metric: str, scope: str = "overall") -> MetricChange | None:
        return next((c for c in self.changes if c.metric == metric and c.scope == scope), None)


def compare_to_baseline(run: EvalRun, baseline: Baseline) -> Comparison:
    """Every metric's change against `baseline` and the questions whose verdict flipped."""
    changes: list[MetricChange] = []
    scopes = [("overall", run.metrics.overall, baseline.metrics.overall, baseline.tolerances)]
    scopes += [(t, values, baseline.metrics.by_type.get(t, {}), baseline.type_tolerances)
               for t, values in run.metrics.by_type.items()]
    for scope, now, before, tolerances in scopes:
        for info in METRICS:
            changes.append(MetricChange(scope, info.name, before.get(info.name), now.get(info.name),
                                        tolerances.get(info.name)))
    passes = run.passes
    flips = [Flip(qid, was, passes[qid]) for qid, was in baseline.passes.items()
             if qid in passes and passes[qid] != was]
    flips.sort(key=lambda f: (not f.was_passing, f.question_id))  # pass→fail first
    return Comparison(tuple(changes), tuple(flips),
                      tuple(sorted(set(baseline.passes) - set(passes))),
                      tuple(sorted(set(passes) - set(baseline.passes))))
