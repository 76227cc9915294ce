"""Evaluation reports: Markdown (report.md) and one standalone HTML page (report.html).

The HTML page opens offline from a single file: CSS and SVG charts are
inline, there is no script and no external URL. Every piece of question or
answer text is escaped (questions deliberately include markup such as
``<script>``), in the Markdown too, since Markdown viewers render raw HTML.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Sequence

from .baseline import Comparison
from .evaluate import METRICS, EvalRun, QuestionResult, percentile, run_to_json

# The per-type chart's series: (metric or "pass_rate", legend, colour).
_CHART_SERIES = (("hit@1", "hit@1", "#4e79a7"), ("key_fact_recall", "key-fact recall", "#f28e2b"),
                 ("pass_rate", "pass rate", "#59a14f"))
_TYPE_COLUMNS = ("hit@1", "hit@5", "mrr", "recall@5", "citation_hit@1", "citation_precision", "key_fact_recall",
                 "refusal_precision", "refusal_recall", "pass_rate", "latency_p50_ms")


@dataclass(frozen=True)
class EvalReport:
    """Everything one report shows."""

    run: EvalRun
    comparison: Comparison | None = None
    naive: EvalRun | None = None
    baseline_path: str = ""
    question_files: tuple[str, ...] = ()
    note: str = ""  # e.g. why the gate was skipped


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


def _gate_summary(report: EvalReport) -> str:
    comparison = report.comparison
    if comparison is None:
        return report.note or "No baseline: gate not applied."
    if not comparison.failed:
        return f"PASSED against {report.baseline_path}: no metric dropped by more than its tolerance."
    worst = "; ".join(f"{c.metric} ({c.scope}) {format_value(c.metric, c.before)} → "
                      f"{format_value(c.metric, c.after)}, tolerance {c.tolerance}" for c in comparison.regressions)
    return f"FAILED against {report.baseline_path}: {worst}."


# --- Markdown --------------------------------------------------------------------------

def _md(text: str) -> str:
    """A Markdown table cell: HTML-escaped, no pipes or line breaks."""
    return escape(str(text)).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


def render_markdown(report: EvalReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    run, naive = report.run, report.naive
    out = [f"# Evaluation report — {run.pipeline} ({run.backend})", "",
           f"{len(run.results)} questions from {', '.join(report.question_files) or '-'}; "
           f"run {datetime.now().strftime('%Y-%m-%d %H:%M')}, {run.seconds:.1f} s.", "",
           f"**Gate:** {_md(_gate_summary(report))}", "",
           "Latency is reported but never gated: CI machines are shared and noisy.", ""]
    out += ["## Metrics", ""] + _md_table(*_metric_table(report)) + [""]
    for title, r in (("assistant", run), ("naive", naive)):
        if r is not None:
            out += [f"## By question type — {title}", ""] + _md_table(*_type_table(r)) + [""]
    out += ["## Flipped questions", ""]
    if report.comparison and report.comparison.flips:
        out += _md_table(*_flip_table(report))
    else:
        out.append("None." if report.comparison else "No baseline to compare with.")
    out += ["", "## Questions", ""] + _md_table(*_question_table(report)) + [""]
    out += ["## How the metrics are measured", ""] + [f"- **{m.name}** ({m.source}): {m.description}"
                                                       for m in METRICS]
    out += ["", _SOURCES_NOTE, ""]
    return "\n".join(out)


_SOURCES_NOTE = ("Retrieval metrics come from the ranking of `search(question, top_k=5)`; answer metrics come "
                 "from the answer of `ask()` (its citations, text and refusal flag). A question passes when "
                 "(answerable) it is answered, its best expected clause is cited and at least half its key facts "
                 "appear in the answer text (［label］ markers removed), or (unanswerable) it is refused.")


# --- tables shared by both formats ---------------------------------------------

def _metric_table(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    header = ["metric", report.run.pipeline, "baseline", "Δ", "tolerance", "gate"]
    if report.naive:
        header.append(report.naive.pipeline)
    rows = []
    for info in METRICS:
        after = report.run.metrics.overall.get(info.name)
        change = report.comparison.change(info.name) if report.comparison else None
        tolerance = change.tolerance if change else None
        gate = "not gated" if tolerance is None else ("DROP" if change and change.regressed else "ok")
        row = [info.name, format_value(info.name, after),
               format_value(info.name, change.before) if change else "–",
               format_delta(info.name, change.delta) if change else "–",
               "–" if tolerance is None else str(tolerance), gate if change else "–"]
        if report.naive:
            row.append(format_value(info.name, report.naive.metrics.overall.get(info.name)))
        rows.append(row)
    return header, rows


def _type_table(run: EvalRun) -> tuple[list[str], list[list[str]]]:
    header = ["type", "n"] + list(_TYPE_COLUMNS)
    rows = [[t, str(run.metrics.counts.get(t, 0))] + [format_value(m, values.get(m)) for m in _TYPE_COLUMNS]
            for t, values in run.metrics.by_type.items()]
    return header, rows


def _flip_table(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    header = ["id", "change", "type", "question", "expected", "cited", "facts missed"]
    rows = []
    for flip in report.comparison.flips:
        r = report.run.result(flip.question_id)
        change = "pass → FAIL" if flip.was_passing else "fail → pass"
        rows.append([flip.question_id, change, r.question.type, _question_text(r),
                     _labels(r.question.expected_labels), _labels(r.cited), _facts(r.facts_missed)])
    return header, rows


def _question_table(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    header = ["id", "type", "question", "expected", "retrieved", "cited", "facts found", "facts missed", "result"]
    if report.naive:
        header += ["naive cited", "naive"]
    rows = []
    for r in report.run.results:
        row = [r.question.id, r.question.type, _question_text(r), _labels(r.question.expected_labels),
               _labels(r.retrieved), "refused" if r.refused else _labels(r.cited), _facts(r.facts_found),
               _facts(r.facts_missed), _verdict(r)]
        if report.naive:
            n = report.naive.result(r.question.id)
            row += [_labels(n.cited) if n else "–", _verdict(n)]
        rows.append(row)
    return header, rows


# --- HTML --------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fff1f0}tr.flip-bad td{background:#ffe0de}tr.flip-good td{background:#e9f7e9}
.gate-pass{color:#1a7f37;font-weight:600}.gate-fail{color:#cf222e;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.note{color:#555;font-size:.9rem}
svg text{font-family:inherit}.scroll{overflow-x:auto}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], row_classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        cells = "".join(f'<td class="num">{escape(c)}</td>' if _numeric(c) else f"<td>{escape(c)}</td>"
                        for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell.lstrip("+-±").replace(".", "", 1).isdigit() or cell == "–")


def type_chart_svg(run: EvalRun, title: str) -> str:
    """Grouped bars per question type: hit@1, key-fact recall and pass rate (0–1)."""
    types = list(run.metrics.by_type)
    bar, gap, top, plot_h, left = 18, 30, 34, 180, 36  # a group is wide enough for "unanswerable"
    group_w = bar * len(_CHART_SERIES) + gap
    width, height = left + group_w * len(types) + 10, top + plot_h + 40
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">', f'<text x="{left}" y="14" font-size="13" font-weight="600">'
             f'{escape(title)}</text>']
    for i, (_, legend, colour) in enumerate(_CHART_SERIES):
        x = left + i * 120
        parts.append(f'<rect x="{x}" y="20" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="29" font-size="11">{escape(legend)}</text>')
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:g}</text>')
    for g, type_name in enumerate(types):
        x0 = left + g * group_w + gap / 2
        for s, (metric, legend, colour) in enumerate(_CHART_SERIES):
            value = run.metrics.by_type[type_name].get(metric)
            h = plot_h * (value or 0.0)
            label = f"{type_name} {legend}: {format_value(metric, value)}"
            parts.append(f'<rect x="{x0 + s * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}</title></rect>')
        parts.append(f'<text x="{x0 + group_w / 2 - gap / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(type_name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latency_histogram_svg(latencies_ms: Sequence[float], title: str, bins: int = 12) -> str:
    """Histogram of ask() latencies with the p50 and p95 marked."""
    width, height, left, top, plot_w, plot_h = 420, 250, 36, 30, 370, 170
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">', f'<text x="{left}" y="14" font-size="13" font-weight="600">'
             f'{escape(title)}</text>']
    if not latencies_ms:
        return "".join(parts) + '<text x="40" y="60" font-size="12">no data</text></svg>'
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
        parts.append(f'<rect x="{left + i * step:.1f}" y="{top + plot_h - h:.1f}" width="{step - 1:.1f}" '
                     f'height="{h:.1f}" fill="#76b7b2"><title>{edge:.0f}–{edge + span / bins:.0f} ms: '
                     f'{count}</title></rect>')
    for tick in range(0, bins + 1, max(bins // 4, 1)):
        x = left + tick * step
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle">'
                     f'{low + span * tick / bins:.0f}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" font-size="10" text-anchor="middle">'
                 f'ms per question ({len(latencies_ms)} questions'
                 f'{f"; {beyond} beyond {high:.0f} ms in the last bar" if beyond else ""})</text>'
                 f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>')
    for name, q, colour in (("p50", 50, "#333"), ("p95", 95, "#cf222e")):
        value = percentile(latencies_ms, q)
        x = left + plot_w * min((value - low) / span, 1.0)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{colour}" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top + 10}" font-size="10" '
                     f'fill="{colour}">{name} {value:.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: EvalReport) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts, no links)."""
    run, naive, comparison = report.run, report.naive, report.comparison
    gate_class = "gate-fail" if comparison and comparison.failed else "gate-pass"
    body = [f"<h1>Evaluation report — {escape(run.pipeline)} ({escape(run.backend)})</h1>",
            f'<p>{len(run.results)} questions from {escape(", ".join(report.question_files) or "-")}; '
            f"run {escape(datetime.now().strftime('%Y-%m-%d %H:%M'))}, {run.seconds:.1f} s.</p>",
            f'<p class="{gate_class}">Gate: {escape(_gate_summary(report))}</p>',
            '<p class="note">Latency is reported but never gated: CI machines are shared and noisy.</p>',
            "<h2>Metrics</h2>", _html_table(*_metric_table(report)),
            '<h2>Charts</h2><div class="charts">', type_chart_svg(run, f"{run.pipeline}: by question type")]
    if naive:
        body.append(type_chart_svg(naive, f"{naive.pipeline}: by question type"))
    body.append(latency_histogram_svg([r.latency_ms for r in run.results if not r.error],
                                      f"{run.pipeline}: ask() latency"))
    if naive:
        body.append(latency_histogram_svg([r.latency_ms for r in naive.results if not r.error],
                                          f"{naive.pipeline}: latency"))
    body.append("</div>")
    body.append("<h2>Flipped questions</h2>")
    if comparison and comparison.flips:
        header, rows = _flip_table(report)
        classes = ["flip-bad" if f.was_passing else "flip-good" for f in comparison.flips]
        body.append(_html_table(header, rows, classes))
    else:
        body.append("<p>None.</p>" if comparison else "<p>No baseline to compare with.</p>")
    for title, r in (("assistant", run), ("naive", naive)):
        if r is not None:
            body += [f"<h2>By question type — {escape(title)}</h2>", _html_table(*_type_table(r))]
    header, rows = _question_table(report)
    body += ["<h2>Questions</h2>",
             _html_table(header, rows, ["" if r.passed else "fail" for r in run.results]),
             "<h2>How the metrics are measured</h2><ul>"]
    body += [f"<li><b>{escape(m.name)}</b> ({escape(m.source)}): {escape(m.description)}</li>" for m in METRICS]
    body.append(f'</ul><p class="note">{escape(_SOURCES_NOTE)}</p>')
    title = escape(f"Evaluation report — {run.pipeline}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f'<body>{"".join(body)}</body></html>\n')


def write_reports(out_dir: Path, report: EvalReport) -> dict[str, Path]:
    """Write report.md, report.html and results.json into `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "results.json"}
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    runs = {"assistant": run_to_json(report.run)} | ({"naive": run_to_json(report.naive)} if report.naive else {})
    paths["json"].write_text(json.dumps(runs, ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


__all__ = ["EvalReport", "format_delta", "format_value", "latency_histogram_svg", "render_html",
           "render_markdown", "type_chart_svg", "write_reports"]
