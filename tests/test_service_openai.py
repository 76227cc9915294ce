"""`qa serve` as an OpenAI-compatible chat model, proven with the real `openai` client over HTTP."""
from __future__ import annotations

import concurrent.futures

import httpx
import openai
import pytest

from qa import Assistant
from qa_ui.server import create_app

from tests.fake_openai import FakeOpenAI
from tests.fake_openai import answer as llm_says
from tests.service_helpers import running

SALT = "如何打造世界级盐湖产业基地？"
KEY = "qa-test-key-41b7"


@pytest.fixture(scope="module")
def settings(plan_assistant, tmp_path_factory):
    return plan_assistant.settings.replace(data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def base_url(settings, plan_assistant):
    with running(create_app(settings, plan_assistant, with_ui=False)) as url:
        yield url


@pytest.fixture
def client(base_url):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_lists_the_three_models(client):
    assert [m.id for m in client.models.list()] == ["qa", "qa-extractive", "qa-llm"]


def test_a_completion_cites_clauses_in_the_text_and_structured(client):
    reply = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": SALT}])
    content = reply.choices[0].message.content
    assert "［二（三）2］" in content and "出处：" in content
    assert reply.choices[0].finish_reason == "stop" and reply.model == "qa"
    citations = reply.model_extra["citations"]
    assert citations[0]["label"] == "二（三）2" and citations[0]["quote"] in citations[0]["text"]


def test_a_streamed_completion_ends_with_the_citations(client):
    chunks = list(client.chat.completions.create(model="qa-extractive", stream=True,
                                                 messages=[{"role": "user", "content": SALT}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "［二（三）2］" in text and "回答方式：抽取式（离线）" in text
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["label"] == "二（三）2"


def test_the_conversation_comes_from_the_messages(client):
    xinjiang = "科技援疆有哪些重点任务？"
    first = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": xinjiang}])
    follow_up = client.chat.completions.create(model="qa", messages=[
        {"role": "system", "content": "你是助手。"},
        {"role": "user", "content": xinjiang},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "那西藏呢？"}]},
    ])
    content = follow_up.choices[0].message.content
    assert "〔理解为〕" in content and "西藏" in content
    assert [c["label"] for c in follow_up.model_extra["citations"]][0].startswith("二（二）")  # 科技援藏


def test_bad_requests_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": SALT}])
    assert "qa-extractive" in unknown.value.body["message"]
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="qa", stream=True, messages=[{"role": "user", "content": "  "}])
    assert "问题不能为空" in empty.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="qa", messages=[{"role": "assistant", "content": "你好"}])


def test_twenty_concurrent_conversations_each_get_their_own_answer(client):
    cases = {
        SALT: "二（三）2",
        "绩效评估委托给哪个单位？": "三（三）",
        "如何实施三江源生态保护科技工程？": "二（三）1",
        "怎样支持新疆重点领域碳达峰碳中和技术联合攻关？": "二（一）1",
    }
    questions = list(cases) * 5

    def ask(question):
        reply = client.chat.completions.create(model="qa", stream=question.startswith("如何"),
                                               messages=[{"role": "user", "content": question}])
        if question.startswith("如何"):
            chunks = list(reply)
            return chunks[-1].model_extra["citations"][0]["label"]
        return reply.model_extra["citations"][0]["label"]

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        labels = list(pool.map(ask, questions))
    assert labels == [cases[q] for q in questions]


def test_keys_when_set_are_required(settings, plan_assistant):
    keyed = settings.replace(api_keys=f"other-key, {KEY}")
    with running(create_app(keyed, plan_assistant, with_ui=False)) as url:
        anonymous = openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            anonymous.models.list()
        assert refused.value.status_code == 401 and "密钥" in refused.value.body["message"]
        assert httpx.get(url + "/api/documents").status_code == 401
        assert httpx.get(url + "/docs").status_code == 200  # the documentation stays readable
        allowed = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
        assert [m.id for m in allowed.models.list()][0] == "qa"
        documents = httpx.get(url + "/api/documents", headers={"Authorization": f"Bearer {KEY}"})
        assert documents.status_code == 200 and documents.json()[0]["versions"][0]["doc"].startswith("east-west-plan-2022")


LLM_ANSWER = ("青海将深化与天津、山东等省市合作，「健全盐湖产业上下游协同创新机制」［二（三）2］。"
              "同时推动数字盐湖、智慧盐湖建设［二（三）2］。")


def test_the_llm_model_streams_token_by_token(settings, plan_assistant):
    server = FakeOpenAI().start()
    try:
        server.script(llm_says(LLM_ANSWER, chunk_chars=3))
        with_llm = settings.replace(llm_base_url=server.base_url, llm_model="fake-model", llm_timeout=10.0,
                                    llm_max_retries=0)
        assistant = Assistant(with_llm, embedder=plan_assistant.embedder, segmenter=plan_assistant.segmenter,
                              auto_build=False)
        with running(create_app(with_llm, assistant, with_ui=False)) as url:
            client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
            chunks = list(client.chat.completions.create(model="qa-llm", stream=True,
                                                         messages=[{"role": "user", "content": SALT}]))
    finally:
        server.stop()
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) >= 3  # the verified sentences as they come, then the sources
    text = "".join(pieces)
    assert text.startswith(LLM_ANSWER) and "回答方式：大模型（LLM）" in text
    assert chunks[-1].model_extra["citations"][0]["label"] == "二（三）2"


def test_qa_serve_starts_the_service_on_loopback(plan_index_dir, tmp_path):
    import os
    import subprocess
    import sys

    from tests.servers import free_port, wait_for_port

    port = free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(plan_index_dir), "QA_DATA_DIR": str(tmp_path / "data"),
           "QA_API_KEYS": KEY}
    process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port)], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, process, seconds=120)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=60)
        reply = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": SALT}])
        assert "［二（三）2］" in reply.choices[0].message.content
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200  # the chat page
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/v1" in stderr
