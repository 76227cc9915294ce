"""The recorded replies of a real small model (../shared/llm-replays/) replayed through the local
OpenAI-protocol server: what the user sees at each step, and which answers are kept.

Recorded from Qwen2.5-Coder-0.5B-Instruct: no reply carries a citation; one invents an amount,
one gives Tibet Qinghai's salt-lake measure, one refuses what the first clause answers, several
are near-verbatim and correct. Each replay gives the model's recorded reply to the clauses that
were in its recorded prompt, streamed as the server streamed it.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from qa.answer.llm import LLMAnswerer
from qa.answer.llm_client import LLMClient
from qa.answer.support import MIN_OVERLAP
from qa.cli.main import main
from qa.query.intent import understand
from qa.query.question import read_question
from qa.settings import Settings
from qa.types import Hit
from tests.fake_openai import answer

REPLAYS = Path(__file__).resolve().parents[2] / "shared" / "llm-replays"
REPLAY_FILE = REPLAYS / "qwen2.5-coder-0.5b.jsonl"

pytestmark = pytest.mark.skipif(
    not REPLAY_FILE.exists(),
    reason=f"the recorded LLM exchanges are not here ({REPLAY_FILE}): they live in the shared folder beside the checkout")


@dataclass(frozen=True)
class Exchange:
    index: int
    question: str  # the question inside the recorded prompt ('' for the follow-up rewrite)
    labels: tuple[str, ...]  # the clauses the model was given, in the recorded order
    reply: str
    stream: bool


def exchanges() -> list[Exchange]:
    found = []
    for index, line in enumerate(REPLAY_FILE.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        user = [m["content"] for m in record["messages"] if m["role"] == "user"][-1]
        asked = re.search(r"<问题>\n(.*)\n</问题>", user, re.S)
        found.append(Exchange(index, asked.group(1) if asked else "", tuple(re.findall(r'标签="([^"]+)"', user)),
                              record["reply"], record["stream"]))
    return found


ANSWERS = [e for e in exchanges() if e.labels] if REPLAY_FILE.exists() else []

# What becomes of each recorded reply: kept (with labels added), replaced by the offline answer
# after a refusal the offline answerer disagrees with, or dropped whole (offline answer instead).
EXPECTED = {
    "科技援疆的重点任务有哪些？": "kept",
    "方案的发文字号是什么？": "fell back",  # the reply echoes the prompt's data tags
    "谁负责绩效评估？": "second opinion",  # refuses, though ［三（三）］ names the body
    "西部地区的人才怎么培养？": "kept",
    "财政部安排了多少资金？": "fell back",  # 「财政部安排了10亿元资金。」: invented
    "宁夏和哪个省份开展东西部协作？": "kept",
    "东西部科技合作的总体目标是什么？": "kept",
    "科技援藏包括哪些内容？": "kept",
    "如何打造世界级盐湖产业基地？": "fell back",  # restates the question
    "西藏的盐湖基地是什么？": "fell back",  # Qinghai's measure given to Tibet
}
NEVER_SHOWN = ("10亿元", "西藏的盐湖基地是青海", "<问题>", "</问题>")


@pytest.fixture(scope="module")
def clauses(plan_assistant):
    return {c.clause_label: c for c in plan_assistant.clauses if c.doc_id.endswith("-plan") or c.clause_label == "通知"}


def replay(fake_llm, plan_assistant, clauses, exchange: Exchange, chunk_chars: int = 3):
    """The answerer over the recorded clauses, the recorded reply streamed back: (answer, shown pieces)."""
    fake_llm.script(answer(exchange.reply, chunk_chars=chunk_chars))
    settings = Settings(llm_base_url=fake_llm.base_url, llm_model="replay", llm_timeout=10.0, llm_max_retries=0)
    answerer = LLMAnswerer(settings, plan_assistant.offline_answerer, LLMClient(settings), plan_assistant.segmenter)
    question = read_question(exchange.question, settings.max_question_chars)
    question = replace(question, intent=understand(question.search_text))  # as the assistant does
    hits = [Hit(clauses[label], 1.0 - k / 10) for k, label in enumerate(exchange.labels)]
    shown: list[str] = []
    result = answerer.answer(question, hits, on_token=shown.append)
    return result, shown


def outcome(result) -> str:
    if result.backend == "llm":
        return "kept"
    if result.notices and result.notices[0].startswith("大模型认为检索到的条款没有涉及这个问题"):
        return "second opinion"
    return "fell back"


def test_every_recorded_exchange_is_replayed():
    assert len(exchanges()) == 12 and len(ANSWERS) == 11
    assert {e.question for e in ANSWERS} == set(EXPECTED)


def test_replayed_answers_kept_dropped_and_replaced(fake_llm, plan_assistant, clauses):
    outcomes = {}
    for exchange in ANSWERS:
        result, _ = replay(fake_llm, plan_assistant, clauses, exchange)
        outcomes[exchange.index] = outcome(result)
        assert outcomes[exchange.index] == EXPECTED[exchange.question], exchange.question
    counts = {kind: list(outcomes.values()).count(kind) for kind in ("kept", "second opinion", "fell back")}
    assert counts == {"kept": 5, "second opinion": 1, "fell back": 5}


@pytest.mark.parametrize("exchange", ANSWERS, ids=lambda e: f"{e.index}-{e.question}")
def test_what_is_shown_is_verified_and_is_the_answer(fake_llm, plan_assistant, clauses, exchange):
    result, shown = replay(fake_llm, plan_assistant, clauses, exchange, chunk_chars=2)
    displayed = "".join(shown)
    assert not any(bad in displayed or bad in result.text for bad in NEVER_SHOWN)
    if shown:
        assert displayed == result.text and result.backend == "llm"
    if result.backend == "llm" and not result.refused:
        sentences = [s for c in result.citations for s in c.support]
        assert sentences and all(s.overlap >= MIN_OVERLAP for s in sentences)
        # Every sentence shown carries a label: the model gave none, so each was added.
        assert all(s.label_added for s in sentences)
        assert any(n.endswith("已按支持它的条款补上［" + "、".join(
            dict.fromkeys(c.clause_label for c in result.citations)) + "］。") for n in result.notices)


def test_the_wrong_refusal_becomes_the_extractive_answer_naming_the_body(fake_llm, plan_assistant, clauses):
    [refusal] = [e for e in ANSWERS if e.question == "谁负责绩效评估？"]
    result, shown = replay(fake_llm, plan_assistant, clauses, refusal)
    assert shown == [] and result.backend == "extractive" and not result.refused
    assert result.citations[0].clause_label == "三（三）" and "中国农村技术开发中心" in result.text


def test_the_near_verbatim_answer_is_kept_with_its_label(fake_llm, plan_assistant, clauses):
    [tibet] = [e for e in ANSWERS if e.question == "科技援藏包括哪些内容？"]
    result, shown = replay(fake_llm, plan_assistant, clauses, tibet)
    assert result.backend == "llm" and result.text == tibet.reply.rstrip("。") + "［二（二）1］。" == "".join(shown)


def test_the_invented_amount_leaves_the_offline_refusal(fake_llm, plan_assistant, clauses):
    [invented, *_] = [e for e in ANSWERS if e.question == "财政部安排了多少资金？"]
    result, shown = replay(fake_llm, plan_assistant, clauses, invented)
    assert shown == [] and result.refused and result.backend == "extractive"
    assert result.notices[0].startswith("大模型的回答未通过逐句核验") and "金额" in result.notices[0]


def test_the_recorded_rewrite_is_used_unstreamed(fake_llm):
    [rewrite] = [e for e in exchanges() if not e.labels]
    assert not rewrite.stream
    fake_llm.script(answer(rewrite.reply))
    client = LLMClient(Settings(llm_base_url=fake_llm.base_url, llm_timeout=10.0))
    assert client.complete([{"role": "user", "content": "那西藏呢？"}]) == "西藏的盐湖基地是什么？"
    assert fake_llm.requests[0].body["stream"] is False


# ------------------------------------------------------------------ through the shells


@pytest.fixture
def cli_llm(fake_llm, plan_index_dir, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(plan_index_dir))
    monkeypatch.setenv("QA_LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("QA_LLM_TIMEOUT", "10")
    return fake_llm


@pytest.mark.parametrize("question", ["财政部安排了多少资金？", "西部地区的人才怎么培养？", "科技援藏包括哪些内容？"])
def test_cli_stream_of_a_replay_prints_nothing_unverified(cli_llm, capsys, question):
    [exchange, *_] = [e for e in ANSWERS if e.question == question]
    cli_llm.script(answer(exchange.reply, chunk_chars=2))
    assert main(["ask", question]) == 0
    out = capsys.readouterr().out
    assert not any(bad in out for bad in NEVER_SHOWN) and "核验后的回答" not in out
    assert "回答方式：" in out


def test_chat_replay_of_the_follow_up_never_prints_the_region_mix_up(cli_llm, capsys, monkeypatch):
    by_question = {e.question: e for e in exchanges()}
    salt, tibet = by_question["如何打造世界级盐湖产业基地？"], by_question["西藏的盐湖基地是什么？"]
    [rewrite] = [e for e in exchanges() if not e.labels]
    cli_llm.script(answer(salt.reply), answer(rewrite.reply), answer(tibet.reply, chunk_chars=2))
    monkeypatch.setattr("sys.stdin", io.StringIO("如何打造世界级盐湖产业基地？\n那西藏呢？\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "〔理解为〕西藏的盐湖基地是什么？" in out
    assert not any(bad in out for bad in NEVER_SHOWN) and "核验后的回答" not in out
    # The first reply is dropped whole; the follow-up never reaches the model: no clause ties
    # 盐湖 to 西藏, so the answerability check refuses it first.
    assert out.count("大模型的回答未通过逐句核验") == 1
    assert "没有把“盐湖”与“西藏”联系起来" in out and len(cli_llm.requests) == 2
