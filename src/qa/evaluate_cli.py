"""`qa eval` — run a question set, compare it with the baseline, write the report.

    qa [--index-dir DIR] eval [FILE…] [--backend extractive|llm] [--compare naive] [--update-baseline] …

Exit codes: 0 = ran (and the gate passed or was not applied), 1 = a metric
dropped by more than its tolerance; library errors keep their own codes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TextIO

from .errors import ConfigError
from .baseline import Comparison, baseline_from_run, compare_to_baseline, read_baseline, write_baseline
from .evaluate import METRICS, AssistantPipeline, EvalRun, QuestionSetError, evaluate, load_questions
from .report import EvalReport, format_delta, format_value, write_reports
from .settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
DEFAULT_BASELINE = Path("eval/baseline.json")
DEFAULT_OUT = Path("eval/out")


# --- argument parsing -------------------------------------------------------------

def add_eval_command(subparsers) -> argparse.ArgumentParser:
    """Add `eval` to the `qa` sub-commands; its handler has the CLI's (assistant, args) signature."""
    parser = subparsers.add_parser("eval", help="回归评测：运行问题集，与基线比较，生成报告",
                                   description="运行问题集（默认 eval/questions.jsonl），按条款计算指标，"
                                               "与基线比较并生成 Markdown/HTML 报告。指标下降超过容差时退出码为 1。")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help=f"问题集 JSONL 文件（默认 {DEFAULT_QUESTIONS}）")
    parser.add_argument("--backend", choices=["extractive", "llm"], help="回答后端（覆盖 answer_backend）")
    parser.add_argument("--baseline", type=Path,
                        help=f"基线文件（默认：评测默认问题集且 {DEFAULT_BASELINE} 存在时使用它）")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"报告目录（默认 {DEFAULT_OUT}/）")
    parser.add_argument("--update-baseline", action="store_true", help="把本次结果写为新基线（保留容差）")
    parser.add_argument("--compare", action="append", choices=["naive"], default=[],
                        help="同时评测对照流水线：naive = 固定长度分块 + 纯向量检索")
    parser.add_argument("--set", dest="eval_settings", action="append", default=[], metavar="KEY=VALUE",
                        help="本次评测的配置覆盖，可重复，如 --set top_k=1 --set bm25_weight=0")
    parser.set_defaults(run=run_eval_command)
    return parser


@dataclass(frozen=True)
class EvalOptions:
    """What `qa eval` was asked to do."""

    files: tuple[Path, ...] = (DEFAULT_QUESTIONS,)
    baseline: Path | None = None
    out_dir: Path = DEFAULT_OUT
    update_baseline: bool = False
    compare_naive: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "EvalOptions":
        files = tuple(args.files) or (DEFAULT_QUESTIONS,)
        baseline = args.baseline
        # The default baseline belongs to the default question set; another set would only "regress".
        if baseline is None and files == (DEFAULT_QUESTIONS,) and (DEFAULT_BASELINE.is_file() or args.update_baseline):
            baseline = DEFAULT_BASELINE
        return cls(files, baseline, args.out, args.update_baseline, "naive" in args.compare)


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
    """Evaluate, compare with the baseline, write the reports; 1 when the gate fails, else 0."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    questions = load_questions(options.files)
    if options.update_baseline and options.baseline is None:
        # Never overwrite the default set's baseline with another set's results.
        raise QuestionSetError(f"评测自定义问题集时，--update-baseline 需要同时用 --baseline 指定基线文件"
                               f"（默认基线 {DEFAULT_BASELINE} 只属于 {DEFAULT_QUESTIONS}）")
    baseline = None
    if options.baseline and (options.baseline.is_file() or not options.update_baseline):
        baseline = read_baseline(options.baseline)  # a missing file is an error unless this run creates it

    started = time.perf_counter()
    assistant = AssistantPipeline.for_settings(settings, progress=lambda message: print(message, file=stderr))
    print("正在加载索引和模型……", file=stderr)
    assistant.warm_up()
    print(f"准备就绪（{time.perf_counter() - started:.1f} 秒）", file=stderr)
    config = {"answer_backend": settings.effective_answer_backend, "top_k": settings.top_k,
              "dense_weight": settings.dense_weight, "bm25_weight": settings.bm25_weight,
              "embedding": assistant.embedder.name}
    with ProgressBar(stderr, "assistant") as bar:
        run = evaluate(assistant, questions, on_progress=bar, config=config)

    naive = None
    if options.compare_naive:
        from .naive import NaivePipeline

        print("正在建立对照流水线（naive：固定长度分块 + 纯向量检索）……", file=stderr)
        pipeline = NaivePipeline.from_corpus(settings.corpus_dir, assistant.embedder)
        with ProgressBar(stderr, "naive") as bar:
            naive = evaluate(pipeline, questions, on_progress=bar, config=pipeline.config)

    comparison = compare_to_baseline(run, baseline) if baseline else None
    note = "" if baseline else ("No baseline: gate not applied." if not options.update_baseline
                                else "First baseline written by this run: gate not applied.")
    report = EvalReport(run, comparison, naive, str(options.baseline or ""),
                        tuple(str(f) for f in options.files), note)
    paths = write_reports(options.out_dir, report)
    if options.update_baseline:
        write_baseline(options.baseline, baseline_from_run(run, keep=baseline))

    print_summary(stdout, run, comparison, naive)
    print(f"报告：{paths['markdown']}  {paths['html']}", file=stdout)
    print(f"总用时 {time.perf_counter() - started:.1f} 秒", file=stdout)
    if options.update_baseline:
        print(f"基线已更新：{options.baseline}（容差保持不变）", file=stdout)
        return 0
    if comparison and comparison.failed:
        print("门禁未通过：以下指标的下降超过容差：", file=stdout)
        for change in comparison.regressions:
            print(f"  {change.scope} {change.metric}: {format_value(change.metric, change.before)} → "
                  f"{format_value(change.metric, change.after)}（容差 {change.tolerance}）", file=stdout)
        return 1
    print("门禁通过。" if comparison else "无基线，未执行门禁。", file=stdout)
    return 0


def print_summary(out: TextIO, run: EvalRun, comparison: Comparison | None, naive: EvalRun | None) -> None:
    """The overall metrics, their change, and the flipped questions, for the terminal."""
    print(f"\n评测 {len(run.results)} 题：{run.pipeline}（{run.backend}），用时 {run.seconds:.1f} 秒", file=out)
    header = f"{'metric':<22}{'now':>9}{'baseline':>9}{'change':>9}" + (f"{'naive':>9}" if naive else "")
    print(header, file=out)
    for info in METRICS:
        change = comparison.change(info.name) if comparison else None
        row = (f"{info.name:<22}{format_value(info.name, run.metrics.overall.get(info.name)):>9}"
               f"{format_value(info.name, change.before) if change else '–':>9}"
               f"{format_delta(info.name, change.delta) if change else '–':>9}")
        if naive:
            row += f"{format_value(info.name, naive.metrics.overall.get(info.name)):>9}"
        flag = "  ← 超出容差" if change and change.regressed else ("  （不设门禁）" if info.source == "timing" else "")
        print(row + flag, file=out)
    if comparison and comparison.flips:
        print("翻转的问题（先列出由通过变为失败的）：", file=out)
        for flip in comparison.flips:
            arrow = "通过 → 失败" if flip.was_passing else "失败 → 通过"
            print(f"  {flip.question_id}: {arrow}", file=out)


# --- progress -----------------------------------------------------------------------

class ProgressBar:
    """`[#####.....] 60/148 12.3s` redrawn in place on a terminal; plain lines every
    10 % when stderr is a file or a CI log, where carriage returns would pile up."""

    def __init__(self, stream: TextIO, label: str = "", width: int = 30):
        self._stream = stream
        self._label = label
        self._width = width
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._started = time.perf_counter()
        self._last_line = -1

    def __enter__(self) -> "ProgressBar":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self._started
        if self._tty:
            filled = int(self._width * done / total) if total else self._width
            bar = "#" * filled + "." * (self._width - filled)
            self._stream.write(f"\r{self._label} [{bar}] {done}/{total} {elapsed:.1f}s")
            self._stream.flush()
            return
        tenth = done * 10 // total if total else 10
        if tenth > self._last_line:
            self._last_line = tenth
            self._stream.write(f"{self._label} {done}/{total} {elapsed:.1f}s\n")
            self._stream.flush()
