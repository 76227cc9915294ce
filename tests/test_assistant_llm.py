"""The LLM backend end to end: `qa ask`/`qa chat` against a scripted local endpoint,
with the real plan index and the real extractive answerer as the fallback."""
from __future__ import annotations

import io
import json
import time

import pytest

from qa import Assistant, Settings
from qa.cli.main import main
from tests.fake_openai import answer, hang, status

KEY = "sk-test-assistant-0123456789abcdef"
CITED = "青海将深化与天津、山东、安徽、重庆等省市合作［二（三）2］。"


@pytest.fixture
def llm_env(fake_llm, plan_index_dir, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(plan_index_dir))
    monkeypatch.setenv("QA_LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("QA_LLM_MODEL", "fake-model")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Generous: on a busy machine a 2 s budget is missed by scheduling alone. Tests of the
    # timeout itself set a short one and make the endpoint hang far longer.
    monkeypatch.setenv("QA_LLM_TIMEOUT", "20")
    return fake_llm


def test_configured_endpoint_answers_with_verified_citations(llm_env, capsys):
    llm_env.script(answer(CITED + "另有安排［九（九）］。"))
    assert main(["ask", "--json", "盐湖产业基地要与哪些省市合作？"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "llm"
    assert [c["label"] for c in data["citations"]] == ["二（三）2"]
    assert data["dropped_citations"] == ["九（九）"]  # not among the clauses given: removed and reported
    assert "［九（九）］" not in data["answer"] and KEY not in json.dumps(data, ensure_ascii=False)
    # The model was given the retrieved clauses, the salt-lake clause first.
    assert '<条款 标签="二（三）2">' in llm_env.requests[0].user


def test_failing_endpoint_gives_the_extractive_answer_within_the_timeout(llm_env, plan_index_dir, monkeypatch):
    monkeypatch.setenv("QA_LLM_TIMEOUT", "2")
    assistant = Assistant(Settings.load({"index_dir": plan_index_dir}), auto_build=False)
    assistant.ask("盐湖产业基地要与哪些省市合作？", backend="extractive")  # load index and models first
    llm_env.script(hang(120))
    started = time.monotonic()
    result = assistant.ask("盐湖产业基地要与哪些省市合作？")
    elapsed = time.monotonic() - started
    assert elapsed < 30  # the 2 s budget and the fallback, far from the 120 s the endpoint hangs
    assert result.backend == "extractive" and result.citations[0].clause_label == "二（三）2"
    assert "天津" in result.text and result.notices[0].endswith("以下为离线摘录答案。")


def test_a_failed_endpoint_prints_the_offline_answer_whole(llm_env, capsys):
    llm_env.script(status(500))
    assert main(["ask", "盐湖产业基地要与哪些省市合作？"]) == 0
    out = capsys.readouterr().out
    assert "〔提示〕大模型服务不可用" in out and "［二（三）2］" in out and "离线摘录" in out


def test_terminal_stream_shows_only_verified_sentences(llm_env, capsys):
    llm_env.script(answer("财政部安排了10亿元资金［三（二）］。" + CITED, chunk_chars=2))
    assert main(["ask", "盐湖产业基地要与哪些省市合作？"]) == 0
    out = capsys.readouterr().out
    # Whatever reached the terminal stays there: the invented sentence must never have been printed.
    assert "10亿元" not in out and "财政部安排" not in out and "核验后的回答" not in out
    assert out.count(CITED) == 1 and out.startswith(CITED)
    assert "〔提示〕已删除 1 句无法在所给条款中核实的内容" in out and "回答方式：大模型（LLM）" in out


def test_chat_never_prints_a_region_mix_up(llm_env, capsys, monkeypatch):
    mix_up = "西藏的盐湖基地是青海与天津、山东、安徽、重庆等省市合作，健全盐湖产业上下游协同创新机制。"
    llm_env.script(answer(CITED), answer("西藏的盐湖基地是什么？"), answer(mix_up, chunk_chars=3))
    monkeypatch.setattr("sys.stdin", io.StringIO("如何打造世界级盐湖产业基地？\n那西藏呢？\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert out.count(CITED) == 1  # the first turn, streamed once
    assert "西藏的盐湖基地是青海" not in out and "核验后的回答" not in out
    # No clause ties 盐湖 to 西藏: the follow-up is refused before the model is asked to answer it.
    assert "没有把“盐湖”与“西藏”联系起来" in out and "回答方式：抽取式（离线）" in out
    assert len(llm_env.requests) == 2  # the first answer and the rewrite of 「那西藏呢？」


def test_wrong_refusal_gets_the_extractive_answer_from_the_same_clauses(llm_env, capsys):
    llm_env.script(answer("文件中未找到相关内容。"))
    assert main(["ask", "--json", "谁负责绩效评估？"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "extractive" and not data["refused"]
    assert data["citations"][0]["label"] == "三（三）" and "中国农村技术开发中心" in data["answer"]
    assert data["notices"][0].startswith("大模型认为检索到的条款没有涉及这个问题，但离线摘录在同一批条款中找到了相关内容")


def test_backend_flag_overrides_configuration(llm_env, capsys):
    assert main(["ask", "--json", "--backend", "extractive", "盐湖产业基地要与哪些省市合作？"]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "extractive"
    assert llm_env.requests == []


def test_llm_backend_without_endpoint_says_so(plan_index_dir):
    assistant = Assistant(Settings.load({"index_dir": plan_index_dir}, env={}), auto_build=False)
    result = assistant.ask("盐湖产业基地要与哪些省市合作？", backend="llm")
    assert result.backend == "extractive" and "未配置大模型服务" in result.notices[0]


def test_chat_rewrites_follow_ups_with_the_llm(llm_env, capsys, monkeypatch):
    llm_env.script(answer(CITED), answer("西藏的盐湖产业有什么措施？"), answer("文件中未找到相关内容。"))
    monkeypatch.setattr("sys.stdin", io.StringIO("青海的盐湖产业有什么措施？\n那西藏呢？\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "〔理解为〕西藏的盐湖产业有什么措施？" in out
    rewrite_request = llm_env.requests[1]
    assert "青海的盐湖产业有什么措施？" in rewrite_request.user and "那西藏呢？" in rewrite_request.user


def test_ui_stream_shows_only_text_the_final_answer_contains(llm_env, plan_index_dir):
    from qa_ui.app import stream_answer  # the event stream the chat page renders

    assistant = Assistant(Settings.load({"index_dir": plan_index_dir}), auto_build=False)
    second = "同时推动数字盐湖、智慧盐湖建设［二（三）2］。"
    llm_env.script(answer(CITED + "中央财政每年投入一百亿元建设盐湖基地［二（三）2］。" + second, chunk_chars=2))
    *partials, final = stream_answer(assistant, "盐湖产业基地要与哪些省市合作？")
    assert final.backend == "llm" and final.text == CITED + second
    assert partials == [CITED, CITED + second]  # each partial is a verified prefix of the final text
