"""Regression evaluation: metric functions, the baseline gate, reports, and real runs.

The real-corpus tests share one index built in a temp folder for the session
(embedding the corpus takes seconds) and one full run of eval/questions.jsonl.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import socket
from xml.etree import ElementTree
from pathlib import Path

import pytest

from qa.baseline import (DEFAULT_TOLERANCES, Baseline, baseline_from_run, compare_to_baseline, read_baseline,
                         write_baseline)
from qa.evaluate import (QUESTION_TYPES, AssistantPipeline, EvalQuestion, EvalRun, Observation, QuestionResult,
                         QuestionSetError, RunMetrics, citation_precision, compute_metrics, evaluate, fact_present,
                         hit_at, load_questions, match_facts, percentile, recall_at, reciprocal_rank, refusal_scores,
                         score_question, strip_citation_markers)
from qa.cli import main as qa_main
from qa.evaluate_cli import ProgressBar, eval_settings
from qa.naive import NaivePipeline, naive_answer_text, overlapping_labels
from qa.report import EvalReport, render_html, render_markdown, write_reports
from qa.settings import Settings
from qa.types import Answer, Citation, Clause, Hit

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
CORPUS = ROOT / "corpus"


# --- helpers -------------------------------------------------------------------------

def question(qid="q1", expected=("二（三）2",), facts=(("天津",),), answerable=True, qtype="fact", **extra):
    return EvalQuestion(qid, f"问题 {qid}", tuple(expected), tuple(tuple(f) for f in facts), answerable, qtype,
                        **extra)


def result(q: EvalQuestion, retrieved=(), cited=(), refused=False, found=(), missed=(), latency=10.0, error=""):
    return QuestionResult(q, tuple(retrieved), tuple(cited), "", refused, tuple(found), tuple(missed), latency, error)


def citation(label: str) -> Citation:
    return Citation("doc", "标题", label, (label,), "条款正文")


def run_of(results, name="assistant") -> EvalRun:
    return EvalRun(name, "extractive", tuple(results), RunMetrics.of(results), 1.0)


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


def test_percentile_interpolates_between_ranks():
    assert percentile([40, 10, 30, 20], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
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


def test_run_metrics_group_by_type_in_readme_order():
    results = [result(question("u", expected=(), facts=(), answerable=False, qtype="unanswerable"), refused=True),
               result(question("f"), retrieved=("二（三）2",), cited=("二（三）2",), found=("天津",))]
    metrics = RunMetrics.of(results)
    assert list(metrics.by_type) == ["fact", "unanswerable"]
    assert metrics.by_type["unanswerable"]["hit@1"] is None  # retrieval metrics: answerable only
    assert metrics.counts == {"fact": 1, "unanswerable": 1}


def test_load_questions_checks_format(tmp_path):
    good = tmp_path / "q.jsonl"
    good.write_text(json.dumps({"id": "x", "question": "问？", "expected_labels": ["一"], "key_facts": [["甲"]],
                                "answerable": True, "type": "fact", "history": ["先问"]}, ensure_ascii=False)
                    + "\n", encoding="utf-8")
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


def test_the_shipped_question_set_loads():
    questions = load_questions([QUESTIONS])
    assert len(questions) == 148
    assert {q.type for q in questions} == set(QUESTION_TYPES)


def test_assistant_pipeline_passes_history_and_ranks_the_standalone_question():
    calls = []

    class FakeAssistant:
        settings = Settings.load({})

        def ask(self, text, *, history=None, doc_id=None):
            calls.append(("ask", text, history, doc_id))
            return Answer(text, "西藏推进青稞、牦牛产业。［二（二）2］", (citation("二（二）2"),),
                          standalone_question="西藏的特色农牧业有什么措施？")

        def search(self, text, top_k=None, doc_id=None):
            calls.append(("search", text, top_k, doc_id))
            clause = Clause("doc", "二（二）2", ("二（二）2",), "正文", 0, 2)
            return [Hit(clause, 1.0)]

    q = question("mt", expected=("二（二）2",), facts=(("青稞",),), qtype="multi_turn",
                 history=("青海的特色农牧业有什么措施？",))
    run = evaluate(AssistantPipeline(FakeAssistant()), [q])
    assert calls[0] == ("ask", "问题 mt", ["青海的特色农牧业有什么措施？"], None)
    assert calls[1] == ("search", "西藏的特色农牧业有什么措施？", 5, None)
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
    comparison = compare_to_baseline(worse, baseline_from_run(good))
    assert comparison.failed
    assert {c.metric for c in comparison.regressions if c.scope == "overall"} >= {"hit@1", "pass_rate"}
    hit = comparison.change("hit@1")
    assert (hit.before, hit.after, hit.delta) == (1.0, 0.75, -0.25)


def test_gate_passes_within_tolerance_and_ignores_latency():
    good, worse = _two_runs()
    lenient = Baseline(good.metrics, good.passes, {k: (None if v is None else 0.3) for k, v in
                                                   DEFAULT_TOLERANCES.items()},
                       {k: None for k in DEFAULT_TOLERANCES})
    assert not compare_to_baseline(worse, lenient).failed
    slower = run_of([result(r.question, r.retrieved, r.cited, found=r.facts_found, latency=10_000)
                     for r in good.results])
    comparison = compare_to_baseline(slower, baseline_from_run(good))
    assert comparison.change("latency_p50_ms").delta > 0 and not comparison.failed


def test_flipped_questions_are_listed_pass_to_fail_first():
    qs = [question(f"q{i}") for i in range(3)]
    before = run_of([result(qs[0], cited=("二（三）2",), found=("天津",)), result(qs[1]),
                     result(qs[2], cited=("二（三）2",), found=("天津",))])
    after = run_of([result(qs[0], cited=("二（三）2",), found=("天津",)),
                    result(qs[1], cited=("二（三）2",), found=("天津",)), result(qs[2])])
    flips = compare_to_baseline(after, baseline_from_run(before)).flips
    assert [(f.question_id, f.was_passing, f.now_passing) for f in flips] == [("q2", True, False),
                                                                              ("q1", False, True)]


def test_baseline_round_trip_keeps_tolerances(tmp_path):
    good, worse = _two_runs()
    custom = Baseline(good.metrics, good.passes, {**DEFAULT_TOLERANCES, "hit@1": 0.5}, {})
    path = tmp_path / "baseline.json"
    write_baseline(path, baseline_from_run(worse, keep=custom))
    stored = read_baseline(path)
    assert stored.tolerances["hit@1"] == 0.5 and stored.tolerances["latency_p50_ms"] is None
    assert stored.passes == worse.passes
    assert stored.metrics.overall["hit@1"] == 0.75


# --- report ------------------------------------------------------------------------------

def _report_with_markup():
    q = question("adv", expected=("二（三）2",), qtype="adversarial")
    q = EvalQuestion(q.id, "<script>alert(1)</script>青海盐湖？", q.expected_labels, q.key_facts, True,
                     "adversarial")
    good = run_of([result(q, retrieved=("二（三）2",), cited=("二（三）2",), found=("天津",))])
    bad = run_of([result(q, retrieved=("一",), cited=("一",), missed=("天津",))])
    return EvalReport(bad, compare_to_baseline(bad, baseline_from_run(good)), naive=good,
                      baseline_path="eval/baseline.json", question_files=("eval/questions.jsonl",))


def test_html_report_is_one_offline_file_and_escapes_question_text(tmp_path):
    paths = write_reports(tmp_path, _report_with_markup())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md", "results.json"]
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?[^"'>\s]*http""", page, re.IGNORECASE)
    assert "http" not in page and "<link" not in page and "url(" not in page
    charts = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(charts) == 4  # two type charts (assistant, naive) and two latency histograms
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed, so browsers draw it as intended
    assert page.index("Flipped questions") < page.index("<h2>Questions</h2>")
    assert "pass → FAIL" in page


def test_markdown_report_escapes_markup_and_shows_the_gate():
    text = render_markdown(_report_with_markup())
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "**Gate:** FAILED" in text
    assert "Latency is reported but never gated" in text


# --- progress -------------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_in_place_on_a_terminal_and_prints_lines_otherwise():
    tty = _Tty()
    with ProgressBar(tty, "assistant", width=10) as bar:
        for done in range(1, 6):
            bar(done, 10)
    assert "\r" in tty.getvalue() and "[#####.....] 5/10" in tty.getvalue()
    log = io.StringIO()
    with ProgressBar(log, "assistant") as bar:
        for done in range(1, 101):
            bar(done, 100)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 11 and lines[-1].startswith("assistant 100/100")


# --- naive pipeline ------------------------------------------------------------------------

def test_chunk_labels_follow_character_overlap():
    clauses = [Clause("d", "一", ("一",), "x" * 10, 0, 10), Clause("d", "二", ("二",), "y" * 20, 10, 30)]
    assert overlapping_labels(5, 12, clauses) == ("一", "二")
    assert overlapping_labels(8, 25, clauses) == ("二", "一")
    assert overlapping_labels(30, 40, clauses) == ()


def test_naive_answer_is_the_first_sentences():
    assert naive_answer_text("甲句。乙句；丙句。丁句。") == "甲句。乙句；"


# --- real corpus ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """One index for the whole session, built from the real corpus in a temp folder."""
    from qa.assistant import Assistant

    built = Settings.load({"index_dir": tmp_path_factory.mktemp("eval") / "index", "corpus_dir": CORPUS,
                           "answer_backend": "extractive"})
    with offline():
        Assistant(built).ingest()
    return built


@pytest.fixture(scope="session")
def real_run(settings) -> EvalRun:
    with offline():
        pipeline = AssistantPipeline.for_settings(settings)
        pipeline.warm_up()
        return evaluate(pipeline, load_questions([QUESTIONS]))


def test_real_set_has_metrics_for_every_type(real_run):
    assert set(real_run.metrics.by_type) == set(QUESTION_TYPES)
    for qtype, values in real_run.metrics.by_type.items():
        assert values["pass_rate"] is not None, qtype
        if qtype != "unanswerable":
            assert values["hit@1"] is not None and values["key_fact_recall"] is not None, qtype
    overall = real_run.metrics.overall
    assert all(overall[name] is not None for name in ("hit@1", "hit@5", "mrr", "recall@5", "refusal_recall"))
    assert not [r.question.id for r in real_run.results if r.error]
    assert real_run.backend == "extractive"
    # a floor far below today's figures: catches a broken pipeline, not a tuning change
    assert overall["hit@5"] > 0.7 and overall["pass_rate"] > 0.5


def test_naive_pipeline_runs_on_the_same_corpus_and_never_refuses(settings, real_run):
    with offline():
        from qa.embed import make_embedder

        naive = NaivePipeline.from_corpus(settings.corpus_dir, make_embedder(settings))
        run = evaluate(naive, load_questions([QUESTIONS])[::10])
    assert all(chunk.label for chunk in naive.chunks)
    assert run.metrics.overall["refusal_recall"] == 0.0
    assert run.metrics.overall["hit@5"] is not None
    html = render_html(EvalReport(real_run, naive=run))
    assert "naive: by question type" in html


@pytest.fixture(scope="session")
def subset_file(tmp_path_factory) -> Path:
    """Every third question of the real set: all types, a third of the time."""
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()[::3]
    path = tmp_path_factory.mktemp("subset") / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_gate_passes_on_the_same_configuration_and_fails_on_a_worse_one(settings, subset_file, tmp_path,
                                                                         capsys):
    baseline = tmp_path / "baseline.json"
    common = ["--index-dir", str(settings.index_dir), "--corpus-dir", str(CORPUS), "eval", str(subset_file),
              "--baseline", str(baseline), "--backend", "extractive"]
    assert qa_main(common + ["--out", str(tmp_path / "first"), "--update-baseline"]) == 0
    assert json.loads(baseline.read_text(encoding="utf-8"))["tolerances"]["latency_p50_ms"] is None

    assert qa_main(common + ["--out", str(tmp_path / "same")]) == 0
    assert "门禁通过" in capsys.readouterr().out

    # Dense-only ranking and a single retrieved clause per answer: a deliberately worse configuration.
    worse = ["--set", "dense_weight=1.0", "--set", "bm25_weight=0.0", "--set", "top_k=1"]
    assert qa_main(common + ["--out", str(tmp_path / "worse")] + worse) == 1
    out = capsys.readouterr().out
    assert "门禁未通过" in out
    report = (tmp_path / "worse" / "report.md").read_text(encoding="utf-8")
    assert "**Gate:** FAILED" in report and "pass → FAIL" in report


def test_cli_reports_a_missing_baseline_and_bad_overrides(settings, subset_file, tmp_path, capsys):
    code = qa_main(["--index-dir", str(settings.index_dir), "eval", str(subset_file), "--baseline",
                      str(tmp_path / "none.json"), "--out", str(tmp_path)])
    assert code == QuestionSetError.exit_code
    assert "找不到基线文件" in capsys.readouterr().err
    from qa.errors import ConfigError
    with pytest.raises(ConfigError):
        eval_settings(settings, assignments=["top_k"])
    with pytest.raises(ConfigError):
        eval_settings(settings, assignments=["no_such_setting=1"])
    assert eval_settings(settings, "llm", ["top_k=3"]).top_k == 3


def test_eval_command_plugs_into_a_subparser_group():
    import argparse

    from qa.evaluate_cli import DEFAULT_BASELINE, EvalOptions, add_eval_command, run_eval_command

    parser = argparse.ArgumentParser(prog="qa")
    add_eval_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "mine.jsonl", "--backend", "llm", "--compare", "naive", "--out", "o"])
    assert args.run is run_eval_command and args.files == [Path("mine.jsonl")] and args.backend == "llm"
    options = EvalOptions.from_args(args)
    assert options.compare_naive and options.baseline is None  # the default baseline is the default set's only
    defaults = EvalOptions.from_args(parser.parse_args(["eval", "--update-baseline"]))
    assert defaults.baseline == DEFAULT_BASELINE and defaults.update_baseline


def test_update_baseline_for_another_set_needs_an_explicit_file(subset_file):
    from qa.evaluate_cli import EvalOptions, run_eval

    with pytest.raises(QuestionSetError, match="--baseline"):
        run_eval(Settings.load({}), EvalOptions(files=(subset_file,), update_baseline=True))
