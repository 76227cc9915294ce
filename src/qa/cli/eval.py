"""`qa eval` — run the question splits, compare them with the baseline, write the report.

    qa [--index-dir DIR] eval [FILE…] [--split dev|test] [--backend extractive|llm] [--compare naive]
                              [--update-baseline] [--show-test-details] …

With no FILE both splits run (eval/dev.jsonl and the held-out eval/test.jsonl)
and are reported side by side; `--split` runs one. FILEs replace the split's
file (`--split test FILE` runs FILE as the held-out split) or, without
`--split`, form one split named after them.

Exit codes: 0 = ran (and the gate passed or was not applied), 1 = a metric of
some split dropped by more than its tolerance; library errors keep their own codes.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, TextIO

from tqdm import tqdm

from qa.errors import ConfigError
from qa.evaluate.baseline import (Comparison, baseline_from_runs, compare_to_baseline, read_baseline,
                                  write_baseline)
from qa.evaluate.metrics import METRICS
from qa.evaluate.questions import HELD_OUT_SPLITS, EvalQuestion, QuestionSetError, load_splits, ordered_types
from qa.evaluate.report import EvalReport, SplitReport, format_delta, format_value, write_reports
from qa.evaluate.run import AssistantPipeline, EvalRun, Pipeline, evaluate
from qa.settings import ANSWER_BACKENDS, Settings

DEFAULT_SPLITS = {"dev": Path("eval/dev.jsonl"), "test": Path("eval/test.jsonl")}
DEFAULT_BASELINE = Path("eval/baseline.json")
DEFAULT_OUT = Path("eval/out")
_TYPE_FIGURES = (("hit@1", "hit@1"), ("key_fact_recall", "facts"), ("pass_rate", "pass"))


# --- argument parsing -------------------------------------------------------------

def register(subparsers) -> argparse.ArgumentParser:
    """Add `eval` to the `qa` sub-commands; its handler has the CLI's (assistant, args) signature."""
    parser = subparsers.add_parser("eval", help="回归评测：运行问题集，与基线比较，生成报告",
                                   description="运行问题集（默认 dev 与留出的 test 两个划分：eval/dev.jsonl、"
                                               "eval/test.jsonl），按条款计算指标，与基线比较并生成 Markdown/HTML "
                                               "报告。任一划分的指标下降超过容差时退出码为 1。")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="问题集 JSONL 文件（默认两个划分的文件；与 --split 同用时替换该划分的文件）")
    parser.add_argument("--split", choices=tuple(DEFAULT_SPLITS), help="只评测一个划分（默认全部）")
    parser.add_argument("--backend", choices=tuple(ANSWER_BACKENDS), help="回答后端（覆盖 answer_backend）")
    parser.add_argument("--baseline", type=Path,
                        help=f"基线文件（默认：评测默认问题集且 {DEFAULT_BASELINE} 存在时使用它）")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"报告目录（默认 {DEFAULT_OUT}/）")
    parser.add_argument("--update-baseline", action="store_true",
                        help="把本次评测的划分写为新基线（保留容差和未评测的划分）")
    parser.add_argument("--show-test-details", action="store_true",
                        help="报告和终端也显示留出划分（test）每题的问题、回答和缺失要点（默认只显示汇总和未通过的 id）")
    parser.add_argument("--compare", action="append", choices=["naive"], default=[],
                        help="同时评测对照流水线：naive = 固定长度分块 + 纯向量检索")
    parser.add_argument("--set", dest="eval_settings", action="append", default=[], metavar="KEY=VALUE",
                        help="本次评测的配置覆盖，可重复，如 --set top_k=1 --set bm25_weight=0")
    parser.set_defaults(run=run_eval_command)
    return parser


def eval_splits(files: Sequence[Path], split: str | None = None) -> dict[str, tuple[Path, ...]]:
    """Split name → question files: the default splits, one of them, or FILEs as one split
    (named `split`, else after the files: eval-small.jsonl → eval-small)."""
    if files:
        return {split or "+".join(Path(f).stem for f in files): tuple(files)}
    return {name: (path,) for name, path in DEFAULT_SPLITS.items() if split in (None, name)}


@dataclass(frozen=True)
class EvalOptions:
    """What `qa eval` was asked to do."""

    splits: dict[str, tuple[Path, ...]] = field(default_factory=lambda: eval_splits(()))
    baseline: Path | None = None
    out_dir: Path = DEFAULT_OUT
    update_baseline: bool = False
    compare_naive: bool = False
    show_test_details: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "EvalOptions":
        baseline = args.baseline
        # The default baseline belongs to the default question files; another set would only "regress".
        if baseline is None and not args.files and (DEFAULT_BASELINE.is_file() or args.update_baseline):
            baseline = DEFAULT_BASELINE
        return cls(eval_splits(args.files, args.split), baseline, args.out, args.update_baseline,
                   "naive" in args.compare, args.show_test_details)

    def details(self, split: str) -> bool:
        """Whether reports may show the questions, answers and facts of `split`."""
        return split not in HELD_OUT_SPLITS or self.show_test_details


def eval_settings(settings: Settings, backend: str | None = None, assignments: Sequence[str] = ()) -> Settings:
    """`settings` with the eval's overrides applied and validated (--backend, --set KEY=VALUE)."""
    changes: dict[str, str] = {"answer_backend": backend} if backend else {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise ConfigError(f"--set 需要 KEY=VALUE 的形式，而不是 {assignment!r}")
        changes[key.strip()] = value.strip()
    # Only the changed values go through the settings' own parsing, so the
    # rest keep exactly the values (and types) the CLI already resolved.
    typed = {key: getattr(Settings.from_mapping({key: value}), key) for key, value in changes.items()}
    updated = settings.replace(**typed)
    updated.validate()
    return updated


# --- running ------------------------------------------------------------------------

def run_eval_command(assistant, args: argparse.Namespace) -> int:
    """Handler for `qa eval`: the evaluation builds its own Assistant from the CLI's settings."""
    settings = eval_settings(assistant.settings, args.backend, args.eval_settings)
    return run_eval(settings, EvalOptions.from_args(args))


def run_eval(settings: Settings, options: EvalOptions, stdout: TextIO | None = None,
             stderr: TextIO | None = None) -> int:
    """Evaluate every split, compare with the baseline, write the reports; 1 when the gate fails, else 0."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    splits = load_splits(options.splits)
    if options.update_baseline and options.baseline is None:
        # Never overwrite the default sets' baseline with another set's results.
        raise QuestionSetError(f"评测自定义问题集时，--update-baseline 需要同时用 --baseline 指定基线文件"
                               f"（默认基线 {DEFAULT_BASELINE} 只属于 {'、'.join(map(str, DEFAULT_SPLITS.values()))}）")
    baseline = None
    if options.baseline and (options.baseline.is_file() or not options.update_baseline):
        baseline = read_baseline(options.baseline)  # a missing file is an error unless this run creates it
        missing = [name for name in splits if name not in baseline.splits]
        if missing and not options.update_baseline:  # before the run, not after it
            raise QuestionSetError(f"基线文件 {options.baseline} 中没有划分 {'、'.join(missing)} 的记录"
                                   f"（已有：{'、'.join(baseline.splits) or '无'}）；可用 --update-baseline 写入")

    started = time.perf_counter()
    assistant = AssistantPipeline.for_settings(settings, progress=lambda message: print(message, file=stderr))
    print("正在加载索引和模型……", file=stderr)
    assistant.warm_up()
    print(f"准备就绪（{time.perf_counter() - started:.1f} 秒）", file=stderr)
    config = {"answer_backend": settings.effective_answer_backend, "top_k": settings.top_k,
              "dense_weight": settings.dense_weight, "bm25_weight": settings.bm25_weight,
              "embedding": assistant.embedder.name}
    runs = {name: evaluate_with_progress(assistant, questions, name, stderr, config)
            for name, questions in splits.items()}

    naive_runs: dict[str, EvalRun] = {}
    if options.compare_naive:
        from qa.evaluate.naive import NaivePipeline

        print("正在建立对照流水线（naive：固定长度分块 + 纯向量检索）……", file=stderr)
        pipeline = NaivePipeline.from_corpus(settings.corpus_dir, assistant.embedder)
        naive_runs = {name: evaluate_with_progress(pipeline, questions, name, stderr, pipeline.config)
                      for name, questions in splits.items()}

    comparisons = {name: compare_to_baseline(run, baseline, name) if baseline and name in baseline.splits else None
                   for name, run in runs.items()}
    note = "" if all(comparisons.values()) else ("No baseline: gate not applied." if not options.update_baseline
                                                 else "First baseline written by this run: gate not applied.")
    report = EvalReport(tuple(SplitReport(name, run, comparisons[name], naive_runs.get(name),
                                          tuple(str(f) for f in options.splits[name]), options.details(name))
                              for name, run in runs.items()), str(options.baseline or ""), note)
    paths = write_reports(options.out_dir, report)
    if options.update_baseline:
        write_baseline(options.baseline, baseline_from_runs(runs, keep=baseline))

    print_summary(stdout, runs, comparisons, naive_runs)
    print(f"报告：{paths['markdown']}  {paths['html']}", file=stdout)
    print(f"总用时 {time.perf_counter() - started:.1f} 秒", file=stdout)
    if options.update_baseline:
        print(f"基线已更新：{options.baseline}（划分 {'、'.join(runs)}；容差保持不变）", file=stdout)
        return 0
    regressions = [(name, change) for name, c in comparisons.items() if c for change in c.regressions]
    if regressions:
        print("门禁未通过：以下指标的下降超过容差：", file=stdout)
        for name, change in regressions:
            print(f"  {name} {change.scope} {change.metric}: {format_value(change.metric, change.before)} → "
                  f"{format_value(change.metric, change.after)}（容差 {change.tolerance}）", file=stdout)
        return 1
    print("门禁通过。" if any(comparisons.values()) else "无基线，未执行门禁。", file=stdout)
    return 0


def evaluate_with_progress(pipeline: Pipeline, questions: Sequence[EvalQuestion], split: str, stream: TextIO,
                           config: Mapping) -> EvalRun:
    """`evaluate` with a tqdm bar on `stream`. The bar is drawn only on a terminal; a file or a CI
    log (no carriage returns piling up) gets one line when the run starts and the summary after it."""
    label = f"{pipeline.name} {split}"
    with tqdm(total=len(questions), desc=label, unit="题", file=stream, disable=None, leave=True,
              dynamic_ncols=True) as bar:
        if bar.disable:
            print(f"{label}：{len(questions)} 题……", file=stream, flush=True)
        return evaluate(pipeline, questions, on_progress=lambda done, total: bar.update(1), config=config)


# --- the terminal summary -------------------------------------------------------------

def print_summary(out: TextIO, runs: Mapping[str, EvalRun], comparisons: Mapping[str, Comparison | None],
                  naive: Mapping[str, EvalRun]) -> None:
    """For the terminal: the overall metrics of every split side by side with their change, per-type
    figures, and the ids of flipped and failing questions (never a question's text)."""
    first = next(iter(runs.values()))
    sizes = "；".join(f"{name} {len(run.results)} 题 {run.seconds:.1f} 秒" for name, run in runs.items())
    print(f"\n评测 {first.pipeline}（{'+'.join(dict.fromkeys(r.backend for r in runs.values()))}）：{sizes}", file=out)
    # A column is as wide as its header (split names are open-ended: eval-small, test …).
    width = {name: max(10, len(name) + 7) for name in (*runs, *naive)}
    header = f"{'metric':<20}" + "".join(f"{name:>{width[name]}}{name + ' base':>{width[name]}}"
                                         f"{name + ' Δ':>{width[name]}}" for name in runs)
    header += "".join(f"{'naive ' + name:>{width[name] + 2}}" for name in naive)
    print(header, file=out)
    for info in METRICS:
        row, regressed = f"{info.name:<20}", False
        for name, run in runs.items():
            change = comparisons[name].change(info.name) if comparisons.get(name) else None
            regressed |= bool(change and change.regressed)
            row += (f"{format_value(info.name, run.metrics.overall.get(info.name)):>{width[name]}}"
                    f"{format_value(info.name, change.before) if change else '–':>{width[name]}}"
                    f"{format_delta(info.name, change.delta) if change else '–':>{width[name]}}")
        row += "".join(f"{format_value(info.name, r.metrics.overall.get(info.name)):>{width[name] + 2}}"
                       for name, r in naive.items())
        flag = "  ← 超出容差" if regressed else ("  （不设门禁）" if info.source == "timing" else "")
        print(row + flag, file=out)

    print("\n按题型：", file=out)
    print(f"{'type':<20}" + "".join(f"{name + ' n':>{width[name]}}" + "".join(f"{short:>8}" for _, short in _TYPE_FIGURES)
                                    for name in runs), file=out)
    for qtype in ordered_types(t for run in runs.values() for t in run.metrics.by_type):
        row = f"{qtype:<20}"
        for name, run in runs.items():
            values = run.metrics.by_type.get(qtype)
            row += f"{run.metrics.counts.get(qtype, 0):>{width[name]}}"
            row += "".join(f"{format_value(m, values.get(m)) if values else '–':>8}" for m, _ in _TYPE_FIGURES)
        print(row, file=out)

    for name, run in runs.items():
        comparison = comparisons.get(name)
        if comparison and comparison.flips:
            print(f"翻转的问题（{name}，先列出由通过变为失败的）：", file=out)
            for flip in comparison.flips:
                print(f"  {flip.question_id}: {'通过 → 失败' if flip.was_passing else '失败 → 通过'}", file=out)
        failing = run.failing
        print(f"{name} 未通过的问题：{'、'.join(failing)}" if failing else f"{name} 全部通过", file=out)


__all__ = ["DEFAULT_BASELINE", "DEFAULT_OUT", "DEFAULT_SPLITS", "EvalOptions", "eval_settings", "eval_splits",
           "evaluate_with_progress", "print_summary", "register", "run_eval", "run_eval_command"]
