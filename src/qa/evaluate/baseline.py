"""The regression gate: a stored baseline, split by split, and a new run compared with it.

`qa eval` fails (exit 1) when any metric of any split, overall or for one
question type, drops by more than its tolerance; the baseline file holds the
tolerances (one set for every split), so a team can tighten or relax them
without touching code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from qa.evaluate.metrics import METRIC_BY_NAME, METRICS, RunMetrics
from qa.evaluate.questions import QuestionSetError
from qa.evaluate.run import EvalRun

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

# 2: metrics and passes per split. Of format 1 (one unsplit question set) only the tolerances are read.
BASELINE_FORMAT = 2


@dataclass(frozen=True)
class SplitBaseline:
    """One split of a stored run: its metrics, which questions passed, and when and how it ran."""

    metrics: RunMetrics
    passes: dict[str, bool]
    info: dict = field(default_factory=dict)  # created, pipeline, backend, questions

    def to_json(self) -> dict:
        return {**self.info, "metrics": self.metrics.to_json(), "passes": dict(sorted(self.passes.items()))}


@dataclass(frozen=True)
class Baseline:
    """A stored run per split, and the gate's tolerances."""

    splits: dict[str, SplitBaseline]
    tolerances: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    type_tolerances: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TYPE_TOLERANCES))

    def to_json(self) -> dict:
        return {"format": BASELINE_FORMAT, "tolerances": self.tolerances, "type_tolerances": self.type_tolerances,
                "splits": {name: split.to_json() for name, split in self.splits.items()}}


def split_baseline(run: EvalRun) -> SplitBaseline:
    """One split's run as it is stored in a baseline."""
    info = {"created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "pipeline": run.pipeline,
            "backend": run.backend, "questions": len(run.results)}
    return SplitBaseline(run.metrics, run.passes, info)


def baseline_from_runs(runs: Mapping[str, EvalRun], keep: Baseline | None = None) -> Baseline:
    """The runs (split name → run) as a new baseline. With `keep`, its tolerances
    and the splits not run this time are kept."""
    splits = dict(keep.splits) if keep else {}
    splits.update({name: split_baseline(run) for name, run in runs.items()})
    tolerances = dict(keep.tolerances) if keep else dict(DEFAULT_TOLERANCES)
    type_tolerances = dict(keep.type_tolerances) if keep else dict(DEFAULT_TYPE_TOLERANCES)
    return Baseline(splits, tolerances, type_tolerances)


def read_baseline(path: Path) -> Baseline:
    """Load a baseline file; missing tolerance entries fall back to the defaults."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"找不到基线文件 {path}（可用 --update-baseline 生成）") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise QuestionSetError(f"基线文件 {path} 格式有误：{error}") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found not in (1, BASELINE_FORMAT):
        raise QuestionSetError(f"基线文件 {path} 的格式版本 {found} 无法识别（应为 {BASELINE_FORMAT}）")
    # Format 1 held one unsplit question set: only its tolerances carry over, so
    # gating asks for --update-baseline, which writes the splits and keeps them.
    splits = {}
    for name, split in (data.get("splits", {}) if found == BASELINE_FORMAT else {}).items():
        info = {k: split[k] for k in ("created", "pipeline", "backend", "questions") if k in split}
        splits[str(name)] = SplitBaseline(RunMetrics.from_json(split.get("metrics", {})),
                                          {str(k): bool(v) for k, v in split.get("passes", {}).items()}, info)
    return Baseline(splits, {**DEFAULT_TOLERANCES, **data.get("tolerances", {})},
                    {**DEFAULT_TYPE_TOLERANCES, **data.get("type_tolerances", {})})


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
    # What one question moves the metric by in this scope (1/n for a type of n questions): a
    # type of five held-out questions must not fail the gate on a single near-tie flip.
    one_question: float = 0.0

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
        return drop > max(self.tolerance, self.one_question) + 1e-9  # rounding in the stored baseline is not a drop


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


def compare_to_baseline(run: EvalRun, baseline: Baseline, split: str) -> Comparison:
    """Every metric's change against the baseline's `split` and the questions whose verdict flipped."""
    stored = baseline.splits.get(split)
    if stored is None:
        known = "、".join(baseline.splits) or "无"
        raise QuestionSetError(f"基线中没有 {split} 划分的记录（已有：{known}）；可用 --update-baseline 写入")
    changes: list[MetricChange] = []
    scopes = [("overall", run.metrics.overall, stored.metrics.overall, baseline.tolerances, 0.0)]
    per_type = {t: sum(1 for r in run.results if r.question.type == t) for t in run.metrics.by_type}
    scopes += [(t, values, stored.metrics.by_type.get(t, {}), baseline.type_tolerances, 1 / max(per_type[t], 1))
               for t, values in run.metrics.by_type.items()]
    for scope, now, before, tolerances, one_question in scopes:
        for info in METRICS:
            changes.append(MetricChange(scope, info.name, before.get(info.name), now.get(info.name),
                                        tolerances.get(info.name), one_question))
    passes = run.passes
    flips = [Flip(qid, was, passes[qid]) for qid, was in stored.passes.items()
             if qid in passes and passes[qid] != was]
    flips.sort(key=lambda f: (not f.was_passing, f.question_id))  # pass→fail first
    return Comparison(tuple(changes), tuple(flips),
                      tuple(sorted(set(stored.passes) - set(passes))),
                      tuple(sorted(set(passes) - set(stored.passes))))


__all__ = ["BASELINE_FORMAT", "DEFAULT_TOLERANCES", "DEFAULT_TYPE_TOLERANCES", "Baseline", "Comparison", "Flip",
           "MetricChange", "SplitBaseline", "baseline_from_runs", "compare_to_baseline", "read_baseline",
           "split_baseline", "write_baseline"]
