"""Rewriting follow-up questions into standalone ones."""
from __future__ import annotations

import pytest

from tests.fake_openai import answer, status
from qa.query.followup import is_followup, rewrite_followup
from qa.errors import BackendUnavailable
from qa.answer.llm_client import LLMClient
from qa.settings import Settings
from qa.types import Answer


@pytest.fixture(scope="module")
def segmenter():
    from qa.text.segment import Segmenter

    return Segmenter()


SALT = "青海的盐湖产业有什么措施？"
BASE = "盐湖产业基地建设有什么安排？"


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        ([SALT], "那西藏呢？", "西藏的盐湖产业有什么措施？"),
        (["青海省的盐湖产业有什么措施？"], "那西藏呢", "西藏的盐湖产业有什么措施？"),  # alias swapped as written
        ([BASE], "它由谁牵头？", "盐湖产业基地建设由谁牵头？"),
        ([BASE], "该项工作由谁负责？", "盐湖产业基地建设工作由谁负责？"),
        ([BASE], "那西藏呢？", "西藏的盐湖产业基地建设有什么安排？"),  # no region to swap: prefix it
        (["科技部有什么职责？"], "那教育部呢？", "教育部有什么职责？"),
        ([SALT], "那么内蒙古的稀土呢？", "内蒙古的稀土有什么措施？"),  # new subject, same question frame
        ([SALT], "那枸杞呢？", "青海的枸杞有什么措施？"),  # new topic, region carried over
        (["新疆有哪些任务？", SALT], "那西藏呢？", "西藏的盐湖产业有什么措施？"),  # the latest question counts
    ],
)
def test_rules_carry_topic_region_and_organisation(segmenter, history, question, expected):
    assert rewrite_followup(question, history, segmenter) == expected


@pytest.mark.parametrize(
    "question",
    ["西藏的青稞有什么支持措施？", "东西部科技合作协调推进机制由哪些部门组成？", "其他地区的科技合作有哪些主要任务和具体安排？"],
)
def test_standalone_questions_come_back_unchanged(segmenter, question):
    called = []
    rewritten = rewrite_followup(question, [SALT], segmenter, complete=lambda m: called.append(m) or "改写")
    assert rewritten == question and called == []  # the LLM is not even asked


def test_no_history_means_unchanged(segmenter):
    assert rewrite_followup("那西藏呢？", [], segmenter) == "那西藏呢？"
    assert rewrite_followup("那西藏呢？", ["  "], segmenter) == "那西藏呢？"


def test_followup_detection(segmenter):
    assert is_followup("它由谁牵头？", segmenter)
    assert is_followup("那西藏呢？", segmenter)
    assert not is_followup("青海盐湖产业取得了哪些进展和成绩，今后有什么打算呢？", segmenter)  # long 「…呢」
    assert not is_followup("西藏的青稞有什么措施？", segmenter)


def test_llm_rewrite_is_used_and_sees_history_as_data(segmenter):
    seen = []

    def complete(messages):
        seen.append(messages)
        return "改写后的问题：西藏的盐湖产业有哪些措施？"

    assert rewrite_followup("那西藏呢？", [SALT], segmenter, complete) == "西藏的盐湖产业有哪些措施？"
    user = seen[0][1]["content"]
    assert "<历史>" in user and SALT in user and "<追问>\n那西藏呢？\n</追问>" in user


@pytest.mark.parametrize(
    "reply",
    [
        "",  # empty
        "好的！\n西藏的盐湖产业有什么措施？",  # chatter over two lines
        "青海的盐湖产业有什么措施？",  # lost the region the follow-up names
        "西藏" + "的盐湖产业" * 40 + "？",  # overlong
        "What about Tibet?",  # not Chinese
    ],
)
def test_junk_llm_rewrite_falls_back_to_rules(segmenter, reply):
    assert rewrite_followup("那西藏呢？", [SALT], segmenter, lambda m: reply) == "西藏的盐湖产业有什么措施？"


def test_failing_llm_falls_back_to_rules(segmenter):
    def complete(messages):
        raise BackendUnavailable("大模型服务不可用：请求超时")

    assert rewrite_followup("它由谁牵头？", [BASE], segmenter, complete) == "盐湖产业基地建设由谁牵头？"


def test_rewrite_through_the_llm_client(segmenter, fake_llm):
    settings = Settings(llm_base_url=fake_llm.base_url, llm_timeout=30.0, llm_max_retries=0)  # a busy machine is slow; the fake answers at once
    llm = LLMClient(settings, backoff=0.01)

    fake_llm.script(answer("西藏的盐湖产业有什么政策措施？"))
    assert rewrite_followup("那西藏呢？", [SALT], segmenter, llm.complete) == "西藏的盐湖产业有什么政策措施？"
    assert fake_llm.requests[-1].body["stream"] is False

    fake_llm.script(status(500))  # endpoint down: the rules answer
    assert rewrite_followup("那西藏呢？", [SALT], segmenter, llm.complete) == "西藏的盐湖产业有什么措施？"
