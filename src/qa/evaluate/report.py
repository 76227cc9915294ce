"""Evaluation reports: Markdown (report.md), one standalone HTML page (report.html)
and the machine-readable results (results.json), for one or more splits side by side.

The pages are Jinja2 templates shipped in `qa/evaluate/templates/`; this
module computes what they show (tables, chart geometry) and the templates
only lay it out. The HTML page opens offline from a single file: CSS and SVG
charts are inline, there is no script and no external URL. The HTML template
is autoescaped, and the Markdown one escapes every cell as HTML too, since
Markdown viewers render raw HTML: questions deliberately include markup such
as ``<script>``.

A split without details (the held-out ``test`` split unless asked otherwise)
shows its aggregate and per-type figures and the ids of its failing
questions, never a question's text, answer or missed facts.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import ClassVar, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from qa.evaluate.baseline import Comparison
from qa.evaluate.metrics import METRICS, QuestionResult, percentile
from qa.evaluate.questions import ordered_types
from qa.evaluate.run import EvalRun, run_to_json

# The per-type chart's series: (metric, legend, colour).
_CHART_SERIES = (("hit@1", "hit@1", "#4e79a7"), ("key_fact_recall", "key-fact recall", "#f28e2b"),
                 ("pass_rate", "pass rate", "#59a14f"))
_TYPE_COLUMNS = ("hit@1", "hit@5", "mrr", "recall@5", "citation_hit@1", "citation_precision", "key_fact_recall",
                 "refusal_precision", "refusal_recall", "pass_rate", "latency_p50_ms")
# The splits side by side, per type: a few headline figures.
_SIDE_BY_SIDE_COLUMNS = (("hit@1", "hit@1"), ("key_fact_recall", "facts"), ("pass_rate", "pass"))

SOURCES_NOTE = ("Retrieval metrics come from the ranking of `search(question, top_k=5)`; answer metrics come "
                "from the answer of `ask()` (its citations, text and refusal flag). A question passes when "
                "(answerable) it is answered, its best expected clause is cited and at least half its key facts "
                "appear in the answer text (［label］ markers removed), or (unanswerable) it is refused.")
LATENCY_NOTE = "Latency is reported but never gated: CI machines are shared and noisy."


@dataclass(frozen=True)
class SplitReport:
    """One split: its run, its comparison with the baseline, the naive run beside it.

    `details` False (a held-out split) leaves out every question's text,
    answer and facts: only figures and the ids of failing questions are shown.
    """

    name: str
    run: EvalRun
    comparison: Comparison | None = None
    naive: EvalRun | None = None
    files: tuple[str, ...] = ()
    details: bool = True


@dataclass(frozen=True)
class EvalReport:
    """Everything one report shows: the splits, in order, and where their baseline is."""

    splits: tuple[SplitReport, ...]
    baseline_path: str = ""
    note: str = ""  # e.g. why the gate was skipped
    created: datetime = field(default_factory=datetime.now)

    @property
    def held_out(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.splits if not s.details)


# --- formatting --------------------------------------------------------------------

def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if metric.endswith("_ms") else f"{value:.3f}"


def format_delta(metric: str, delta: float | None) -> str:
    if delta is None:
        return "–"
    if abs(delta) < 5e-4 and not metric.endswith("_ms"):
        return "±0"
    return f"{delta:+.0f}" if metric.endswith("_ms") else f"{delta:+.3f}"


def _labels(labels: Sequence[str]) -> str:
    return "、".join(labels) if labels else "–"


def _facts(facts: Sequence[str]) -> str:
    # "；" because a wording may itself contain "、" (钾、镁、锂).
    return "；".join(facts) if facts else "–"


def _verdict(result: QuestionResult | None) -> str:
    if result is None:
        return "–"
    return "pass" if result.passed else ("error" if result.error else "FAIL")


def _question_text(result: QuestionResult) -> str:
    q = result.question
    return (" ⟶ ".join(q.history) + " ⟶ " if q.history else "") + q.question


def gate_summary(report: EvalReport, split: SplitReport) -> str:
    """One sentence: did `split` pass the gate, and if not which metrics dropped."""
    comparison = split.comparison
    if comparison is None:
        return report.note or "No baseline: gate not applied."
    if not comparison.failed:
        return f"PASSED against {report.baseline_path}: no metric dropped by more than its tolerance."
    worst = "; ".join(f"{c.metric} ({c.scope}) {format_value(c.metric, c.before)} → "
                      f"{format_value(c.metric, c.after)}, tolerance {c.tolerance}" for c in comparison.regressions)
    return f"FAILED against {report.baseline_path}: {worst}."


# --- tables (shared by both formats) -------------------------------------------------

@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_classes: tuple[str, ...] = ()  # a CSS class per row ("" for none), HTML only


def metric_table(report: EvalReport) -> Table:
    """Every metric, the splits side by side: now, baseline, change and gate verdict per split."""
    header = ["metric"]
    for s in report.splits:
        header += [s.name, f"{s.name} baseline", f"{s.name} Δ", f"{s.name} gate"]
    header.append("tolerance")
    header += [f"{s.naive.pipeline} {s.name}" for s in report.splits if s.naive]
    rows = []
    for info in METRICS:
        row, tolerance = [info.name], None
        for s in report.splits:
            change = s.comparison.change(info.name) if s.comparison else None
            if change is None:
                row += [format_value(info.name, s.run.metrics.overall.get(info.name)), "–", "–", "–"]
                continue
            tolerance = change.tolerance
            gate = "not gated" if tolerance is None else ("DROP" if change.regressed else "ok")
            row += [format_value(info.name, change.after), format_value(info.name, change.before),
                    format_delta(info.name, change.delta), gate]
        row.append("–" if tolerance is None else str(tolerance))
        row += [format_value(info.name, s.naive.metrics.overall.get(info.name)) for s in report.splits if s.naive]
        rows.append(tuple(row))
    return Table(tuple(header), tuple(rows))


def types_side_by_side(report: EvalReport) -> Table:
    """Per question type, a few figures of every split side by side (types no split has are left out)."""
    types = ordered_types(t for s in report.splits for t in s.run.metrics.by_type)
    header = ["type"]
    for s in report.splits:
        header += [f"{s.name} n"] + [f"{s.name} {short}" for _, short in _SIDE_BY_SIDE_COLUMNS]
    rows = []
    for t in types:
        row = [t]
        for s in report.splits:
            values = s.run.metrics.by_type.get(t)
            row.append(str(s.run.metrics.counts.get(t, 0)))
            row += [format_value(m, values.get(m)) if values else "–" for m, _ in _SIDE_BY_SIDE_COLUMNS]
        rows.append(tuple(row))
    return Table(tuple(header), tuple(rows))


def type_table(run: EvalRun) -> Table:
    """Every metric per question type, for one run."""
    header = ("type", "n") + _TYPE_COLUMNS
    rows = tuple((t, str(run.metrics.counts.get(t, 0))) + tuple(format_value(m, values.get(m)) for m in _TYPE_COLUMNS)
                 for t, values in run.metrics.by_type.items())
    return Table(header, rows)


def flip_table(split: SplitReport) -> Table:
    """The questions whose verdict changed since the baseline, pass → fail first; ids only without details."""
    flips = split.comparison.flips if split.comparison else ()
    classes = tuple("flip-bad" if f.was_passing else "flip-good" for f in flips)
    change = lambda f: "pass → FAIL" if f.was_passing else "fail → pass"  # noqa: E731 - local shorthand
    if not split.details:
        return Table(("id", "change"), tuple((f.question_id, change(f)) for f in flips), classes)
    rows = []
    for flip in flips:
        r = split.run.result(flip.question_id)
        rows.append((flip.question_id, change(flip), r.question.type, _question_text(r),
                     _labels(r.question.expected_labels), _labels(r.cited), _facts(r.facts_missed)))
    return Table(("id", "change", "type", "question", "expected", "cited", "facts missed"), tuple(rows), classes)


def question_table(split: SplitReport) -> Table:
    """Every question of a split with details: what was retrieved, cited and found."""
    header = ["id", "type", "question", "expected", "retrieved", "cited", "facts found", "facts missed", "result"]
    if split.naive:
        header += ["naive cited", "naive"]
    rows = []
    for r in split.run.results:
        row = [r.question.id, r.question.type, _question_text(r), _labels(r.question.expected_labels),
               _labels(r.retrieved), "refused" if r.refused else _labels(r.cited), _facts(r.facts_found),
               _facts(r.facts_missed), _verdict(r)]
        if split.naive:
            n = split.naive.result(r.question.id)
            row += [_labels(n.cited) if n else "–", _verdict(n)]
        rows.append(tuple(row))
    return Table(tuple(header), tuple(rows), tuple("" if r.passed else "fail" for r in split.run.results))


# --- charts: geometry here, markup in the template ---------------------------------

@dataclass(frozen=True)
class Rect:
    kind: ClassVar[str] = "rect"

    x: float
    y: float
    width: float
    height: float
    fill: str
    tooltip: str = ""


@dataclass(frozen=True)
class Text:
    kind: ClassVar[str] = "text"

    x: float
    y: float
    text: str
    size: int = 10
    anchor: str = "start"
    bold: bool = False
    fill: str = ""


@dataclass(frozen=True)
class Line:
    kind: ClassVar[str] = "line"

    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    """An SVG picture as shapes, drawn by the `svg` macro of templates/charts.html.j2."""

    title: str
    width: int
    height: int
    shapes: tuple[Rect | Text | Line, ...]


def _r(value: float) -> float:
    return round(value, 1)


def type_chart(run: EvalRun, title: str) -> Chart:
    """Grouped bars per question type: hit@1, key-fact recall and pass rate (0–1)."""
    types = list(run.metrics.by_type)
    bar, gap, top, plot_h, left = 18, 30, 34, 180, 36  # a group is wide enough for "unanswerable"
    group_w = bar * len(_CHART_SERIES) + gap
    legend_w = 120  # per series
    width = max(left + group_w * len(types) + 10, left + legend_w * len(_CHART_SERIES))  # room for the legend
    height = top + plot_h + 40
    shapes: list[Rect | Text | Line] = [Text(left, 14, title, size=13, bold=True)]
    for i, (_, legend, colour) in enumerate(_CHART_SERIES):
        x = left + i * legend_w
        shapes += [Rect(x, 20, 10, 10, colour), Text(x + 14, 29, legend, size=11)]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = _r(top + plot_h * (1 - tick))
        shapes += [Line(left, y, width - 10, y, "#e5e5e5"), Text(left - 4, _r(y + 4), f"{tick:g}", anchor="end")]
    for g, type_name in enumerate(types):
        x0 = left + g * group_w + gap / 2
        for s, (metric, legend, colour) in enumerate(_CHART_SERIES):
            value = run.metrics.by_type[type_name].get(metric)
            h = plot_h * (value or 0.0)
            shapes.append(Rect(_r(x0 + s * bar), _r(top + plot_h - h), bar - 2, _r(h), colour,
                               f"{type_name} {legend}: {format_value(metric, value)}"))
        shapes.append(Text(_r(x0 + group_w / 2 - gap / 2), top + plot_h + 14, type_name, anchor="middle"))
    return Chart(title, width, height, tuple(shapes))


def latency_histogram(latencies_ms: Sequence[float], title: str, bins: int = 12) -> Chart:
    """Histogram of ask() latencies with the p50 and p95 marked."""
    width, height, left, top, plot_w, plot_h = 420, 250, 36, 30, 370, 170
    shapes: list[Rect | Text | Line] = [Text(left, 14, title, size=13, bold=True)]
    if not latencies_ms:
        return Chart(title, width, height, tuple(shapes) + (Text(40, 60, "no data", size=12),))
    # One slow outlier would squeeze every other question into the first bin:
    # the axis stops at twice the p95 and the last bin collects what lies beyond.
    low = min(latencies_ms)
    high = min(max(latencies_ms), 2 * percentile(latencies_ms, 95))
    span = (high - low) or 1.0
    counts = [0] * bins
    for value in latencies_ms:
        counts[min(max(int((value - low) / span * bins), 0), bins - 1)] += 1
    beyond = sum(value > high for value in latencies_ms)
    peak = max(counts)
    step = plot_w / bins
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        edge = low + span * i / bins
        shapes.append(Rect(_r(left + i * step), _r(top + plot_h - h), _r(step - 1), _r(h), "#76b7b2",
                           f"{edge:.0f}–{edge + span / bins:.0f} ms: {count}"))
    for tick in range(0, bins + 1, max(bins // 4, 1)):
        shapes.append(Text(_r(left + tick * step), top + plot_h + 14, f"{low + span * tick / bins:.0f}",
                           anchor="middle"))
    caption = (f"ms per question ({len(latencies_ms)} questions"
               f"{f'; {beyond} beyond {high:.0f} ms in the last bar' if beyond else ''})")
    shapes += [Text(left + plot_w / 2, top + plot_h + 30, caption, anchor="middle"),
               Text(left - 4, top + 8, str(peak), anchor="end")]
    for name, q, colour in (("p50", 50, "#333"), ("p95", 95, "#cf222e")):
        value = percentile(latencies_ms, q)
        x = _r(left + plot_w * min((value - low) / span, 1.0))
        shapes += [Line(x, top, x, top + plot_h, colour, dashed=True),
                   Text(_r(x + 3), top + 10, f"{name} {value:.0f}", fill=colour)]
    return Chart(title, width, height, tuple(shapes))


def split_charts(split: SplitReport) -> list[Chart]:
    """A split's charts: per-type bars and the latency histogram, for the assistant and the naive run."""
    runs = [split.run] + ([split.naive] if split.naive else [])
    charts = [type_chart(r, f"{r.pipeline} ({split.name}): by question type") for r in runs]
    charts += [latency_histogram([q.latency_ms for q in r.results if not q.error],
                                 f"{r.pipeline} ({split.name}): latency") for r in runs]
    return charts


# --- rendering -----------------------------------------------------------------------------

def _is_numeric(cell: str) -> bool:
    return bool(cell) and (cell.lstrip("+-±").replace(".", "", 1).isdigit() or cell == "–")


def markdown_cell(text: object) -> str:
    """A Markdown table cell (or inline text): HTML-escaped, no pipes or line breaks."""
    return escape(str(text)).replace("|", "\\|").replace("\n", " ")


@functools.cache
def _environment() -> Environment:
    """The templates in package data; *.html.j2 autoescaped, Markdown escaped cell by cell (`md`)."""
    env = Environment(loader=PackageLoader("qa.evaluate", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = markdown_cell
    env.tests["numeric"] = _is_numeric
    return env


def _template(name: str):
    return _environment().get_template(name)


def _context(report: EvalReport) -> dict:
    first = report.splits[0].run if report.splits else None
    backends = "+".join(dict.fromkeys(s.run.backend for s in report.splits)) or "-"
    return {
        "report": report, "pipeline": first.pipeline if first else "-", "backend": backends,
        "created": report.created.strftime("%Y-%m-%d %H:%M"), "gate": {s.name: gate_summary(report, s)
                                                                        for s in report.splits},
        "failed": any(s.comparison and s.comparison.failed for s in report.splits),
        "metric_table": metric_table(report), "types_side_by_side": types_side_by_side(report),
        "type_table": type_table, "flip_table": flip_table, "question_table": question_table,
        "split_charts": split_charts, "metrics": METRICS, "sources_note": SOURCES_NOTE,
        "latency_note": LATENCY_NOTE,
    }


def render_markdown(report: EvalReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    text = _template("report.md.j2").render(_context(report))
    return re.sub(r"\n{3,}", "\n\n", text)  # the template's blocks leave runs of blank lines


def render_html(report: EvalReport) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts, no links)."""
    return _template("report.html.j2").render(_context(report))


def results_json(report: EvalReport) -> dict:
    """Every split's runs for results.json: split → pipeline → run (see `run_to_json`)."""
    return {s.name: {s.run.pipeline: run_to_json(s.run, s.details)}
            | ({s.naive.pipeline: run_to_json(s.naive, s.details)} if s.naive else {}) for s in report.splits}


def write_reports(out_dir: Path, report: EvalReport) -> dict[str, Path]:
    """Write report.md, report.html and results.json into `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "results.json"}
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    paths["json"].write_text(json.dumps(results_json(report), ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


__all__ = ["Chart", "EvalReport", "SplitReport", "Table", "flip_table", "format_delta", "format_value",
           "gate_summary", "latency_histogram", "metric_table", "question_table", "render_html", "render_markdown",
           "results_json", "split_charts", "type_chart", "type_table", "types_side_by_side", "write_reports"]
