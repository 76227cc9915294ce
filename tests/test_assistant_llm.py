"""The LLM backend end to end: `qa ask`/`qa chat` against a scripted local endpoint,
with the real plan index and the real extractive answerer as the fallback."""
from __future__ import annotations

import io
import json
import time

import pytest

from qa import Assistant, Settings
from qa.cli import main
from tests.fake_openai import answer, hang, status

KEY = "sk-test-assistant-0123456789abcdef"
CITED = "青海将深化与天津、山东、安徽、重庆等省市合作［二（三）2］。"


@pytest.fixture
def llm_env(fake_llm, plan_index_dir, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(plan_index_dir))
    monkeypatch.setenv("QA_LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("QA_LLM_MODEL", "fake-model")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("QA_LLM_TIMEOUT", "2")
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


def test_failing_endpoint_gives_the_extractive_answer_within_the_timeout(llm_env, plan_index_dir):
    assistant = Assistant(Settings.load({"index_dir": plan_index_dir}), auto_build=False)
    assistant.ask("盐湖产业基地要与哪些省市合作？", backend="extractive")  # load index and models first
    llm_env.script(hang(10))
    started = time.monotonic()
    result = assistant.ask("盐湖产业基地要与哪些省市合作？")
    elapsed = time.monotonic() - started
    assert elapsed < assistant.settings.llm_timeout + 1
    assert result.backend == "extractive" and result.citations[0].clause_label == "二（三）2"
    assert "天津" in result.text and result.notices[0].endswith("以下为离线摘录答案。")


def test_streamed_tokens_reach_the_terminal_and_a_changed_answer_is_reprinted(llm_env, capsys):
    llm_env.script(status(500))
    assert main(["ask", "盐湖产业基地要与哪些省市合作？"]) == 0
    out = capsys.readouterr().out
    assert "〔提示〕大模型服务不可用" in out and "［二（三）2］" in out and "离线摘录" in out


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
