"""Regression evaluation: metric functions, question splits, the baseline gate,
reports, progress, and real runs.

Real runs use the shared plan index (conftest's `plan_index_dir`) and the
11-question tests/data/eval-small.jsonl: no pytest test runs the full
regression splits, which run only in `make eval-gate`.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import socket
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest

from qa.cli.eval import DEFAULT_SPLITS, EvalOptions, eval_settings, eval_splits, evaluate_with_progress, run_eval
from qa.cli.main import main as qa_main
from qa.evaluate.baseline import (BASELINE_FORMAT, DEFAULT_TOLERANCES, Baseline, baseline_from_runs,
                                  compare_to_baseline, read_baseline, split_baseline, write_baseline)
from qa.evaluate.metrics import (Observation, QuestionResult, RunMetrics, citation_precision, compute_metrics,
                                 fact_present, hit_at, match_facts, percentile, recall_at, reciprocal_rank,
                                 refusal_scores, score_question, strip_citation_markers)
from qa.evaluate.naive import NaivePipeline, naive_answer_text, overlapping_labels
from qa.evaluate.questions import (QUESTION_TYPES, EvalQuestion, QuestionSetError, load_questions, load_splits,
                                   ordered_types)
from qa.evaluate.report import EvalReport, SplitReport, render_html, render_markdown, write_reports
from qa.evaluate.run import AssistantPipeline, EvalRun, evaluate
from qa.settings import Settings
from qa.types import Answer, Citation, Clause, Hit

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "eval" / "dev.jsonl"
TEST = ROOT / "eval" / "test.jsonl"
SMALL = Path(__file__).parent / "data" / "eval-small.jsonl"
CORPUS = ROOT / "corpus"
PLAN_FILE = CORPUS / "east-west-plan-2022.txt"


# --- helpers -------------------------------------------------------------------------

def question(qid="q1", expected=("二（三）2",), facts=(("天津",),), answerable=True, qtype="fact", **extra):
    return EvalQuestion(qid, f"问题 {qid}", tuple(expected), tuple(tuple(f) for f in facts), answerable, qtype,
                        **extra)


def result(q: EvalQuestion, retrieved=(), cited=(), refused=False, found=(), missed=(), latency=10.0, error="",
           text=""):
    return QuestionResult(q, tuple(retrieved), tuple(cited), text, refused, tuple(found), tuple(missed), latency,
                          error)


def citation(label: str) -> Citation:
    return Citation("doc", "标题", label, (label,), "条款正文")


def run_of(results, name="assistant") -> EvalRun:
    return EvalRun(name, "extractive", tuple(results), RunMetrics.of(results), 1.0)


def write_lines(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


ROW = {"id": "x", "question": "问？", "expected_labels": ["一"], "key_facts": [["甲"]], "answerable": True,
       "type": "fact"}


# --- per-question scoring ------------------------------------------------------------

def test_hit_at_k_counts_any_expected_label_within_k():
    assert hit_at(["一", "二（三）2", "三（一）"], ["二（三）2"], 1) is False
    assert hit_at(["一", "二（三）2", "三（一）"], ["二（三）2"], 2) is True
    assert hit_at([], ["一"], 5) is False


def test_reciprocal_rank_is_one_over_rank_of_first_expected():
    assert reciprocal_rank(["a", "b", "c"], ["c", "x"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b", "c"], ["b", "c"]) == pytest.approx(1 / 2)
    assert reciprocal_rank(["a", "b"], ["z"]) == 0.0


def test_recall_at_5_is_share_of_expected_labels_in_top_5():
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert recall_at(ranked, ["a", "f", "z"], 5) == pytest.approx(1 / 3)
    assert recall_at(ranked, ["a", "e"], 5) == 1.0


def test_citation_precision_is_share_of_cited_labels_expected():
    assert citation_precision(["a", "b"], ["a"]) == 0.5
    assert citation_precision(["a"], ["a", "b"]) == 1.0
    assert citation_precision([], ["a"]) is None


def test_refusal_precision_and_recall():
    # refused: q1 q2; should refuse: q1 q3 → one true refusal of two made, of two due.
    assert refusal_scores([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert refusal_scores([False, False], [True, False]) == (None, 0.0)
    assert refusal_scores([True], [False]) == (0.0, None)


def test_fact_matching_accepts_any_wording_and_ignores_citation_markers():
    text = "提高盐湖钾的开发水平［二（三）2］，深化与天津的合作。"
    found, missed = match_facts([["钾、镁、锂", "盐湖钾"], ["天津"], ["山东"]], text)
    assert found == ("钾、镁、锂", "天津")
    assert missed == ("山东",)
    assert strip_citation_markers(text) == "提高盐湖钾的开发水平，深化与天津的合作。"
    # A label is never a fact: 二（三）2 occurs only inside a marker.
    assert fact_present(["二（三）2"], strip_citation_markers(text)) is False


def test_percentile_interpolates_linearly_between_ranks():
    # by hand: rank (n-1)·q/100 between the sorted values, e.g. 3·0.95 = 2.85 → 30 + 0.85·10
    assert percentile([40, 10, 30, 20], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([10, 20, 30, 40, 50], 25) == 20.0
    assert percentile([7.0], 95) == 7.0
    assert (percentile([3, 1, 2], 0), percentile([3, 1, 2], 100)) == (1.0, 3.0)
    assert percentile([], 50) is None


def test_pass_rule():
    q = question(expected=("甲", "乙"), facts=(("天津",), ("山东",)))
    assert result(q, cited=("甲",), found=("天津",), missed=("山东",)).passed  # recall 0.5 is enough
    assert not result(q, cited=("乙",), found=("天津", "山东")).passed  # best expected clause not cited
    assert not result(q, cited=("甲",), found=(), missed=("天津", "山东")).passed
    assert not result(q, cited=("甲",), refused=True, found=("天津", "山东")).passed
    unanswerable = question(expected=(), facts=(), answerable=False, qtype="unanswerable")
    assert result(unanswerable, refused=True).passed
    assert not result(unanswerable, cited=("甲",)).passed


def test_refused_answer_text_is_not_searched_for_facts():
    q = question(facts=(("天津",),))
    refusal = Answer("问题", "文件中未找到……相关条款：［二（三）2］与天津合作", refused=True,
                     related=(citation("二（三）2"),))
    scored = score_question(q, Observation(("二（三）2",), refusal, 12.0))
    assert scored.refused and scored.cited == () and scored.facts_missed == ("天津",)


def test_compute_metrics_on_a_tiny_run():
    a = question("a", expected=("一",), facts=(("x",), ("y",)))
    b = question("b", expected=("二",), facts=(("z",),))
    c = question("c", expected=("三", "四"), facts=(), qtype="list")
    u = question("u", expected=(), facts=(), answerable=False, qtype="unanswerable")
    results = [
        result(a, retrieved=("一", "二"), cited=("一", "二"), found=("x",), missed=("y",), latency=10),
        result(b, retrieved=("一", "二"), refused=True, missed=("z",), latency=20),
        result(c, retrieved=("五", "三"), cited=("三",), latency=30),
        result(u, retrieved=("一",), refused=True, latency=40),
    ]
    m = compute_metrics(results)
    assert m["hit@1"] == pytest.approx(1 / 3)  # only a ranks an expected clause first
    assert m["hit@5"] == 1.0
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert m["recall@5"] == 0.5  # list question c: 三 found, 四 not
    assert m["citation_hit@1"] == pytest.approx(2 / 3)  # a and c; b refused
    assert m["citation_precision"] == pytest.approx((0.5 + 1.0) / 2)  # over a and c (answered)
    assert m["key_fact_recall"] == pytest.approx((0.5 + 0.0) / 2)  # c has no facts
    assert m["refusal_precision"] == 0.5 and m["refusal_recall"] == 1.0
    assert m["pass_rate"] == pytest.approx(3 / 4)  # a (recall 0.5), c, u pass; b refused
    assert m["latency_p50_ms"] == 25.0


def test_run_metrics_group_by_type_in_readme_order_and_new_types_after():
    results = [result(question("v", qtype="version")),
               result(question("u", expected=(), facts=(), answerable=False, qtype="unanswerable"), refused=True),
               result(question("d", qtype="diff")),
               result(question("f"), retrieved=("二（三）2",), cited=("二（三）2",), found=("天津",))]
    metrics = RunMetrics.of(results)
    assert list(metrics.by_type) == ["fact", "unanswerable", "diff", "version"]
    assert metrics.by_type["unanswerable"]["hit@1"] is None  # retrieval metrics: answerable only
    assert metrics.counts == {"fact": 1, "unanswerable": 1, "diff": 1, "version": 1}
    assert ordered_types(["national", "list", "corrective", "fact", "list"]) == ["fact", "list", "corrective",
                                                                              "national"]


def test_load_questions_checks_format(tmp_path):
    good = write_lines(tmp_path / "q.jsonl", [{**ROW, "history": ["先问"]}])
    (loaded,) = load_questions([good])
    assert loaded.history == ("先问",) and loaded.key_facts == (("甲",),)
    with pytest.raises(QuestionSetError, match="重复"):
        load_questions([good, good])
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "y"}\n', encoding="utf-8")
    with pytest.raises(QuestionSetError, match="缺少字段"):
        load_questions([broken])
    with pytest.raises(QuestionSetError, match="找不到"):
        load_questions([tmp_path / "none.jsonl"])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="为空"):
        load_questions([empty])


def test_a_question_id_may_be_in_one_split_only(tmp_path):
    dev = write_lines(tmp_path / "dev.jsonl", [ROW, {**ROW, "id": "y"}])
    test = write_lines(tmp_path / "test.jsonl", [{**ROW, "id": "y", "question": "另一问？"}])
    with pytest.raises(QuestionSetError, match="同时出现在 dev 和 test"):
        load_splits({"dev": [dev], "test": [test]})
    other = write_lines(tmp_path / "other.jsonl", [{**ROW, "id": "z"}])
    splits = load_splits({"dev": [dev], "test": [other]})
    assert list(splits) == ["dev", "test"] and [q.id for q in splits["test"]] == ["z"]


def test_the_shipped_splits_load():
    splits = load_splits({"dev": [DEV], "test": [TEST]})
    for name, path in (("dev", DEV), ("test", TEST)):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert len(splits[name]) == len(lines)
    assert {q.type for q in splits["dev"]} >= set(QUESTION_TYPES)
    # The held-out split covers the kinds users ask, not just facts; its ids say it is held out.
    assert {"unanswerable", "multi_turn", "corrective", "structure"} <= {q.type for q in splits["test"]}
    assert all(q.id.startswith("t-") for q in splits["test"])
    assert DEFAULT_SPLITS == {"dev": Path("eval/dev.jsonl"), "test": Path("eval/test.jsonl")}


def test_the_small_file_has_about_ten_questions_of_every_type_and_a_new_one():
    questions = load_questions([SMALL])
    assert 8 <= len(questions) <= 12
    assert set(QUESTION_TYPES) <= {q.type for q in questions}
    assert ordered_types(q.type for q in questions)[-1] == "metadata"  # not a documented type: shown last


def test_assistant_pipeline_passes_history_and_ranks_the_standalone_question():
    calls = []

    class FakeAssistant:
        settings = Settings.load({})

        def understand(self, text, history=()):
            calls.append(("understand", text, list(history)))
            return SimpleNamespace(text=f"{text}（独立）")

        def ask(self, text, *, history=None, doc_id=None):
            calls.append(("ask", text, history, doc_id))
            return Answer(text, "西藏推进青稞、牦牛产业。［二（二）2］", (citation("二（二）2"),),
                          standalone_question="西藏的特色农牧业有什么措施？")

        def search(self, text, top_k=None, doc_id=None):
            calls.append(("search", text, top_k, doc_id))
            clause = Clause("doc", "二（二）2", ("二（二）2",), "正文", 0, 2)
            return [Hit(clause, 1.0)]

    q = question("mt", expected=("二（二）2",), facts=(("青稞",),), qtype="multi_turn",
                 history=("青海的特色农牧业有什么措施？", "那枸杞呢？"))
    run = evaluate(AssistantPipeline(FakeAssistant()), [q])
    # Earlier turns are replayed as a chat keeps them: each understood after the ones before it.
    assert calls[0] == ("understand", "青海的特色农牧业有什么措施？", [])
    assert calls[1] == ("understand", "那枸杞呢？", ["青海的特色农牧业有什么措施？（独立）"])
    assert calls[2] == ("ask", "问题 mt", ["青海的特色农牧业有什么措施？（独立）", "那枸杞呢？（独立）"], None)
    assert calls[3] == ("search", "西藏的特色农牧业有什么措施？", 5, None)
    assert run.results[0].passed and run.metrics.overall["hit@1"] == 1.0


# --- baseline and gate -----------------------------------------------------------------

def _two_runs():
    qs = [question(f"q{i}", expected=("一",), facts=(("x",),)) for i in range(4)]
    good = run_of([result(q, retrieved=("一",), cited=("一",), found=("x",)) for q in qs])
    # q0 now fails: one question of four, so every rate drops by 0.25.
    worse = run_of([result(qs[0], retrieved=("二",), cited=("二",), missed=("x",))]
                   + [result(q, retrieved=("一",), cited=("一",), found=("x",)) for q in qs[1:]])
    return good, worse


def test_gate_fails_when_a_metric_drops_beyond_its_tolerance():
    good, worse = _two_runs()
    comparison = compare_to_baseline(worse, baseline_from_runs({"dev": good}), "dev")
    assert comparison.failed
    assert {c.metric for c in comparison.regressions if c.scope == "overall"} >= {"hit@1", "pass_rate"}
    hit = comparison.change("hit@1")
    assert (hit.before, hit.after, hit.delta) == (1.0, 0.75, -0.25)


def test_gate_passes_within_tolerance_and_ignores_latency():
    good, worse = _two_runs()
    lenient = Baseline({"dev": split_baseline(good)},
                       {k: (None if v is None else 0.3) for k, v in DEFAULT_TOLERANCES.items()},
                       {k: None for k in DEFAULT_TOLERANCES})
    assert not compare_to_baseline(worse, lenient, "dev").failed
    slower = run_of([result(r.question, r.retrieved, r.cited, found=r.facts_found, latency=10_000)
                     for r in good.results])
    comparison = compare_to_baseline(slower, baseline_from_runs({"dev": good}), "dev")
    assert comparison.change("latency_p50_ms").delta > 0 and not comparison.failed


def test_each_split_is_compared_with_its_own_baseline():
    good, worse = _two_runs()
    baseline = baseline_from_runs({"dev": good, "test": worse})
    assert not compare_to_baseline(worse, baseline, "test").failed  # test was stored as it is now
    assert compare_to_baseline(worse, baseline, "dev").failed
    with pytest.raises(QuestionSetError, match="没有 other 划分"):
        compare_to_baseline(good, baseline, "other")


def test_flipped_questions_are_listed_pass_to_fail_first():
    qs = [question(f"q{i}") for i in range(3)]
    before = run_of([result(qs[0], cited=("二（三）2",), found=("天津",)), result(qs[1]),
                     result(qs[2], cited=("二（三）2",), found=("天津",))])
    after = run_of([result(qs[0], cited=("二（三）2",), found=("天津",)),
                    result(qs[1], cited=("二（三）2",), found=("天津",)), result(qs[2])])
    flips = compare_to_baseline(after, baseline_from_runs({"dev": before}), "dev").flips
    assert [(f.question_id, f.was_passing, f.now_passing) for f in flips] == [("q2", True, False),
                                                                              ("q1", False, True)]


def test_baseline_round_trip_keeps_tolerances_and_the_splits_not_run(tmp_path):
    good, worse = _two_runs()
    custom = Baseline({"dev": split_baseline(good), "test": split_baseline(good)},
                      {**DEFAULT_TOLERANCES, "hit@1": 0.5}, {})
    path = tmp_path / "baseline.json"
    write_baseline(path, baseline_from_runs({"dev": worse}, keep=custom))  # as `--split dev --update-baseline`
    stored = read_baseline(path)
    assert stored.tolerances["hit@1"] == 0.5 and stored.tolerances["latency_p50_ms"] is None
    assert list(stored.splits) == ["dev", "test"]
    assert stored.splits["dev"].passes == worse.passes and stored.splits["test"].passes == good.passes
    assert stored.splits["dev"].metrics.overall["hit@1"] == 0.75
    assert stored.splits["test"].metrics.overall["hit@1"] == 1.0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == BASELINE_FORMAT and data["splits"]["dev"]["questions"] == 4


def test_a_baseline_in_the_old_single_set_format_keeps_only_its_tolerances(tmp_path):
    old = tmp_path / "baseline.json"
    old.write_text(json.dumps({"format": 1, "tolerances": {"hit@1": 0.5}, "metrics": {"overall": {"hit@1": 1.0}},
                               "passes": {"q0": True}}), encoding="utf-8")
    stored = read_baseline(old)
    assert stored.splits == {} and stored.tolerances["hit@1"] == 0.5
    good, _ = _two_runs()
    with pytest.raises(QuestionSetError, match="--update-baseline"):
        compare_to_baseline(good, stored, "dev")
    assert baseline_from_runs({"dev": good}, keep=stored).tolerances["hit@1"] == 0.5
    old.write_text(json.dumps({"format": 7}), encoding="utf-8")
    with pytest.raises(QuestionSetError, match="无法识别"):
        read_baseline(old)


# --- report ------------------------------------------------------------------------------

HELD_OUT_TEXT = "留出题的问题文本"
HELD_OUT_ANSWER = "留出题的回答文本"
HELD_OUT_FACT = "留出题的缺失要点"


def _report_with_markup(test_details: bool = False):
    q = EvalQuestion("adv", "<script>alert(1)</script>青海盐湖？", ("二（三）2",), (("天津",),), True, "adversarial")
    good = run_of([result(q, retrieved=("二（三）2",), cited=("二（三）2",), found=("天津",))])
    bad = run_of([result(q, retrieved=("一",), cited=("一",), missed=("天津",))])
    held = EvalQuestion("t-1", HELD_OUT_TEXT, ("一",), ((HELD_OUT_FACT,),), True, "law_fact")
    held_good = run_of([result(held, retrieved=("一",), cited=("一",), found=(HELD_OUT_FACT,), text=HELD_OUT_ANSWER)])
    held_bad = run_of([result(held, retrieved=("二",), cited=("二",), missed=(HELD_OUT_FACT,), text=HELD_OUT_ANSWER)])
    baseline = baseline_from_runs({"dev": good, "test": held_good})
    return EvalReport((SplitReport("dev", bad, compare_to_baseline(bad, baseline, "dev"), naive=good,
                                   files=("eval/dev.jsonl",)),
                       SplitReport("test", held_bad, compare_to_baseline(held_bad, baseline, "test"),
                                   files=("eval/test.jsonl",), details=test_details)),
                      baseline_path="eval/baseline.json")


def test_html_report_is_one_offline_file_and_escapes_question_text(tmp_path):
    paths = write_reports(tmp_path, _report_with_markup())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md", "results.json"]
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?[^"'>\s]*http""", page, re.IGNORECASE)
    assert "http" not in page and "<link" not in page and "url(" not in page
    charts = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(charts) == 6  # dev: type chart and latency for assistant and naive; test: assistant's two
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed, so browsers draw it as intended
    assert page.index("Flipped questions — dev") < page.index("<h2>Questions — dev</h2>")
    assert "pass → FAIL" in page
    assert page.index("Gate (dev): FAILED") < page.index("Gate (test): FAILED")


def test_reports_of_a_held_out_split_show_figures_and_failing_ids_only(tmp_path):
    paths = write_reports(tmp_path, _report_with_markup())
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        for secret in (HELD_OUT_TEXT, HELD_OUT_ANSWER, HELD_OUT_FACT):
            assert secret not in text, (path.name, secret)
        assert "t-1" in text and "law_fact" in text  # the failing id and the per-type figures
    results = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert results["test"]["assistant"]["failing"] == ["t-1"]
    assert "questions" not in results["test"]["assistant"]
    assert results["test"]["assistant"]["metrics"]["by_type"]["law_fact"]["pass_rate"] == 0.0
    assert results["dev"]["assistant"]["questions"][0]["id"] == "adv"
    page = paths["html"].read_text(encoding="utf-8")
    assert "Held out: test" in page and "1 of 1 failed: t-1" in page

    shown = write_reports(tmp_path / "shown", _report_with_markup(test_details=True))
    for path in shown.values():
        assert HELD_OUT_TEXT in path.read_text(encoding="utf-8"), path.name


def test_markdown_report_escapes_markup_and_shows_the_gate_per_split():
    text = render_markdown(_report_with_markup())
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "**Gate (dev):** FAILED" in text and "**Gate (test):** FAILED" in text
    assert "Latency is reported but never gated" in text
    assert "| metric | dev | dev baseline | dev Δ | dev gate | test |" in text
    assert "\n\n\n" not in text


# --- progress -------------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self):
        return True


class _EchoPipeline:
    name = "echo"
    backend = "extractive"

    def observe(self, q):
        return Observation(q.expected_labels, Answer(q.question, "天津", (citation(q.expected_labels[0]),)), 1.0)


def test_progress_bar_redraws_in_place_on_a_terminal_and_is_one_line_in_a_log():
    questions = [question(f"q{i}") for i in range(5)]
    tty = _Tty()
    run = evaluate_with_progress(_EchoPipeline(), questions, "dev", tty, {})
    assert run.metrics.overall["pass_rate"] == 1.0
    assert "\r" in tty.getvalue() and "echo dev" in tty.getvalue() and "5/5" in tty.getvalue()
    log = io.StringIO()
    evaluate_with_progress(_EchoPipeline(), questions, "dev", log, {})
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines() == ["echo dev：5 题……"]


# --- naive pipeline ------------------------------------------------------------------------

def test_chunk_labels_follow_character_overlap():
    clauses = [Clause("d", "一", ("一",), "x" * 10, 0, 10), Clause("d", "二", ("二",), "y" * 20, 10, 30)]
    assert overlapping_labels(5, 12, clauses) == ("一", "二")
    assert overlapping_labels(8, 25, clauses) == ("二", "一")
    assert overlapping_labels(30, 40, clauses) == ()


def test_naive_answer_is_the_first_sentences():
    assert naive_answer_text("甲句。乙句；丙句。丁句。") == "甲句。乙句；"


# --- options -----------------------------------------------------------------------------------

def test_eval_command_plugs_into_a_subparser_group():
    import argparse

    from qa.cli.eval import DEFAULT_BASELINE, register, run_eval_command

    parser = argparse.ArgumentParser(prog="qa")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "mine.jsonl", "--backend", "llm", "--compare", "naive", "--out", "o"])
    assert args.run is run_eval_command and args.files == [Path("mine.jsonl")] and args.backend == "llm"
    options = EvalOptions.from_args(args)
    assert options.splits == {"mine": (Path("mine.jsonl"),)}
    assert options.compare_naive and options.baseline is None  # the default baseline is the default sets' only
    defaults = EvalOptions.from_args(parser.parse_args(["eval", "--update-baseline"]))
    assert defaults.baseline == DEFAULT_BASELINE and defaults.update_baseline
    assert defaults.splits == {"dev": (Path("eval/dev.jsonl"),), "test": (Path("eval/test.jsonl"),)}
    one = EvalOptions.from_args(parser.parse_args(["eval", "--split", "dev", "--update-baseline"]))
    assert one.splits == {"dev": (Path("eval/dev.jsonl"),)} and one.baseline == DEFAULT_BASELINE
    assert one.details("dev") and not one.details("test")
    shown = EvalOptions.from_args(parser.parse_args(["eval", "--show-test-details"]))
    assert shown.details("test")
    assert eval_splits([Path("a/held.jsonl")], "test") == {"test": (Path("a/held.jsonl"),)}
    assert eval_splits([Path("a.jsonl"), Path("b.jsonl")]) == {"a+b": (Path("a.jsonl"), Path("b.jsonl"))}
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--split", "train"])


def test_update_baseline_for_another_set_needs_an_explicit_file():
    with pytest.raises(QuestionSetError, match="--baseline"):
        run_eval(Settings.load({}), EvalOptions(splits={"eval-small": (SMALL,)}, update_baseline=True))


def test_a_split_missing_from_the_baseline_fails_before_anything_runs(tmp_path):
    good, _ = _two_runs()
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, baseline_from_runs({"dev": good}))
    # Settings for an index that does not exist: reaching the assistant would fail differently.
    settings = Settings.load({"index_dir": tmp_path / "no-index", "corpus_dir": tmp_path / "no-corpus"})
    with pytest.raises(QuestionSetError, match="没有划分 eval-small"):
        run_eval(settings, EvalOptions(splits={"eval-small": (SMALL,)}, baseline=baseline))


def test_eval_settings_overrides_are_checked():
    from qa.errors import ConfigError

    settings = Settings.load({})
    with pytest.raises(ConfigError):
        eval_settings(settings, assignments=["top_k"])
    with pytest.raises(ConfigError):
        eval_settings(settings, assignments=["no_such_setting=1"])
    assert eval_settings(settings, "llm", ["top_k=3"]).top_k == 3


# --- real corpus: the shared plan index and the small question file ---------------------------

@pytest.fixture(scope="session")
def small_run(plan_assistant) -> EvalRun:
    with offline():
        pipeline = AssistantPipeline(plan_assistant)
        pipeline.warm_up()
        return evaluate(pipeline, load_questions([SMALL]))


@contextlib.contextmanager
def offline():
    """The conftest socket guard is per test; session fixtures get the same guard here."""
    real = socket.socket.connect

    def connect(self, address):
        if not isinstance(address, (str, bytes)) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"tried to reach the network: {address!r}")
        return real(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        yield


def test_small_set_has_metrics_for_every_type(small_run):
    assert list(small_run.metrics.by_type) == list(QUESTION_TYPES) + ["metadata"]
    for qtype, values in small_run.metrics.by_type.items():
        assert values["pass_rate"] is not None, qtype
        if qtype != "unanswerable":
            assert values["hit@1"] is not None and values["key_fact_recall"] is not None, qtype
    overall = small_run.metrics.overall
    assert all(overall[name] is not None for name in ("hit@1", "hit@5", "mrr", "recall@5", "refusal_recall"))
    assert not [r.question.id for r in small_run.results if r.error]
    assert small_run.backend == "extractive"
    # a floor far below today's figures: catches a broken pipeline, not a tuning change
    assert overall["hit@5"] > 0.7 and overall["pass_rate"] > 0.5


def test_naive_pipeline_runs_on_the_plan_and_never_refuses(plan_assistant, small_run):
    with offline():
        # The plan alone: the small question set is about it, and embedding the laws' chunks too
        # would only make the test slow.
        naive = NaivePipeline.from_corpus(PLAN_FILE, plan_assistant.embedder)
        run = evaluate(naive, load_questions([SMALL]))
    assert all(chunk.label for chunk in naive.chunks)
    assert run.metrics.overall["refusal_recall"] == 0.0
    assert run.metrics.overall["hit@5"] is not None
    html = render_html(EvalReport((SplitReport("eval-small", small_run, naive=run),)))
    assert "naive (eval-small): by question type" in html


def _eval_args(plan_index_dir, *more):
    return ["--index-dir", str(plan_index_dir), "--corpus-dir", str(CORPUS), "eval", str(SMALL),
            "--backend", "extractive", *more]


def test_cli_gate_passes_on_the_same_configuration_and_fails_on_a_worse_one(plan_index_dir, tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    common = _eval_args(plan_index_dir, "--baseline", str(baseline))
    assert qa_main(common + ["--out", str(tmp_path / "first"), "--update-baseline"]) == 0
    stored = json.loads(baseline.read_text(encoding="utf-8"))
    assert stored["tolerances"]["latency_p50_ms"] is None and list(stored["splits"]) == ["eval-small"]

    assert qa_main(common + ["--out", str(tmp_path / "same")]) == 0
    assert "门禁通过" in capsys.readouterr().out

    # One retrieved clause per answer and no BM25: a deliberately worse configuration.
    worse = ["--set", "top_k=1", "--set", "bm25_weight=0"]
    assert qa_main(common + ["--out", str(tmp_path / "worse")] + worse) == 1
    out = capsys.readouterr().out
    assert "门禁未通过" in out and "eval-small overall" in out
    report = (tmp_path / "worse" / "report.md").read_text(encoding="utf-8")
    assert "**Gate (eval-small):** FAILED" in report and "pass → FAIL" in report


def test_cli_run_of_the_held_out_split_prints_no_question_text(plan_index_dir, tmp_path, capsys):
    assert qa_main(_eval_args(plan_index_dir, "--split", "test", "--out", str(tmp_path))) == 0
    captured = capsys.readouterr()
    questions = load_questions([SMALL])
    outputs = [captured.out, captured.err] + [p.read_text(encoding="utf-8") for p in tmp_path.iterdir()
                                              if p.is_file()]
    for q in questions:
        for text in (q.question, *q.history, *(wording for fact in q.key_facts for wording in fact)):
            assert not any(text in output for output in outputs), text
    assert "metadata" in captured.out  # per-type figures are shown
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert list(results) == ["test"] and "questions" not in results["test"]["assistant"]


def test_cli_reports_a_missing_baseline(plan_index_dir, tmp_path, capsys):
    code = qa_main(_eval_args(plan_index_dir, "--baseline", str(tmp_path / "none.json"), "--out", str(tmp_path)))
    assert code == QuestionSetError.exit_code
    assert "找不到基线文件" in capsys.readouterr().err


def test_one_question_of_a_small_type_is_not_a_regression_of_that_type():
    qs = [question(f"v{i}", expected=("一",), facts=(("x",),), qtype="version") for i in range(5)]
    good = run_of([result(q, retrieved=("一",), cited=("一",), found=("x",)) for q in qs])

    def with_failing(n):
        return run_of([result(q, retrieved=("二",), cited=("二",), missed=("x",)) for q in qs[:n]]
                      + [result(q, retrieved=("一",), cited=("一",), found=("x",)) for q in qs[n:]])

    baseline = baseline_from_runs({"test": good})
    one = compare_to_baseline(with_failing(1), baseline, "test")
    two = compare_to_baseline(with_failing(2), baseline, "test")
    assert not [c for c in one.regressions if c.scope == "version"]  # 1 of 5: within one question's worth
    assert [c for c in two.regressions if c.scope == "version" and c.metric == "hit@1"]
