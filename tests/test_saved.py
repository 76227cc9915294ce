"""Saved conversations and feedback: the SQLite store, Markdown/Word exports, `qa feedback export`."""
from __future__ import annotations

import io
import json
import sqlite3

import docx
import pytest

from qa.cli.main import main
from qa.evaluate.questions import load_questions
from qa.saved.export import candidates_csv, export_name, to_docx, to_markdown
from qa.saved.store import BadFeedback, Store, UnknownConversation
from qa.types import Answer, Citation

PLAN = "east-west-plan-2022-plan"
TITLE = "“十四五”东西部科技合作实施方案"
SALT = Citation(PLAN, TITLE, "二（三）2", ("二、重点任务", "（三）实施“科技援青”", "2.打造世界级盐湖产业基地"),
                "2.打造世界级盐湖产业基地。深化青海与天津等省市合作。", quote="深化青海与天津等省市合作", score=0.9)
TIBET = Citation(PLAN, TITLE, "二（二）1", ("二、重点任务", "（二）实施“科技援藏”", "1.构建青藏高原生态保护系统性技术解决方案"),
                 "1.构建青藏高原生态保护系统性技术解决方案。组织全国生态保护优势科研力量。", score=0.8)
FIRST = Answer("如何打造世界级盐湖产业基地？", "深化青海与天津等省市合作。［二（三）2］", (SALT,))
SECOND = Answer("那西藏呢？", "组织全国生态保护优势科研力量。［二（二）1］又见［二（三）2］。", (TIBET, SALT),
                standalone_question="西藏的盐湖产业有什么措施？", notices=("大模型未响应，已改用抽取式回答。",))


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data")


@pytest.fixture
def saved(store):
    conversation_id = store.new_conversation()
    first = store.add_turn(conversation_id, FIRST)
    second = store.add_turn(conversation_id, SECOND)
    return conversation_id, first, second


def test_turns_come_back_as_the_answers_they_were(store, saved):
    conversation_id, first, second = saved
    conversation = store.conversation(conversation_id)
    assert conversation.title == FIRST.question
    assert [t.saved_answer for t in conversation.turns] == [FIRST, SECOND]
    assert conversation.understood == (FIRST.question, "西藏的盐湖产业有什么措施？")
    assert [c.id for c in store.conversations()] == [conversation_id]
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_conversations_list_most_recent_first_and_skip_empty_ones(store, saved):
    older, _, _ = saved
    newer = store.new_conversation()
    store.new_conversation()  # never asked anything: not listed
    store.add_turn(newer, FIRST)
    assert [c.id for c in store.conversations()] == [newer, older]
    assert [c.turns for c in store.conversations()] == [1, 2]
    store.delete_conversation(older)
    with pytest.raises(UnknownConversation, match="没有编号为"):
        store.conversation(older)


def test_feedback_latest_counts_and_bad_ratings_are_refused(store, saved):
    _, first, second = saved
    store.add_feedback(first.id, "up")
    store.add_feedback(second.id, "up")
    store.add_feedback(second.id, "down", "  没有回答西藏的问题  ")
    down = store.rated_turns("down")
    assert [(r.turn.id, r.feedback.comment) for r in down] == [(second.id, "没有回答西藏的问题")]
    assert down[0].history == (FIRST.question,)
    assert [r.turn.id for r in store.rated_turns()] == [first.id, second.id]
    with pytest.raises(BadFeedback, match="评价只能是"):
        store.add_feedback(first.id, "meh")
    with pytest.raises(UnknownConversation):
        store.add_feedback(12345, "up")


def test_markdown_export_has_the_cited_clauses_as_footnotes(store, saved):
    markdown = to_markdown(store.conversation(saved[0]))
    assert "## 问题 2：那西藏呢？" in markdown and "（理解为：西藏的盐湖产业有什么措施？）" in markdown
    assert "深化青海与天津等省市合作。［二（三）2］[^1]" in markdown
    assert "［二（二）1］[^2]又见［二（三）2］[^1]" in markdown  # one note per clause
    assert "[^1]: ［二（三）2］《“十四五”东西部科技合作实施方案》二、重点任务 › " in markdown
    assert "> 大模型未响应，已改用抽取式回答。" in markdown


def test_word_export_has_the_answers_and_the_cited_clauses(store, saved):
    document = docx.Document(io.BytesIO(to_docx(store.conversation(saved[0]))))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "问题 1：如何打造世界级盐湖产业基地？" in text and "引用的条款" in text
    assert "1. ［二（三）2］《“十四五”东西部科技合作实施方案》" in text
    assert "深化青海与天津等省市合作。" in text
    superscripts = [r.text for p in document.paragraphs for r in p.runs if r.font.superscript]
    assert superscripts == ["1", "2", "1"]


def test_export_names_are_safe_file_names():
    assert export_name('a/b:c*?"<>| d') == "a_b_c_d"
    assert export_name("") == "对话"


def test_qa_feedback_export_writes_candidate_eval_questions(store, saved, tmp_path, capsys):
    _, first, second = saved
    store.add_feedback(first.id, "up")
    store.add_feedback(second.id, "down", "应引用西藏的条款")
    out = tmp_path / "candidates.jsonl"
    assert main(["feedback", "export", "--data-dir", str(store.path.parent), "--out", str(out)]) == 0
    assert "已导出 2 条评价" in capsys.readouterr().err
    questions = load_questions([out])  # the eval loader reads them as they are
    assert [q.id for q in questions] == [f"feedback-{first.id}", f"feedback-{second.id}"]
    assert questions[1].history == (FIRST.question,) and questions[1].expected_labels == ("二（二）1", "二（三）2")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[1]["rating"] == "down" and rows[1]["comment"] == "应引用西藏的条款"

    assert main(["feedback", "export", "--data-dir", str(store.path.parent), "--rating", "down",
                 "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text == candidates_csv(store.rated_turns("down"))
    assert csv_text.startswith("\ufeffid,rating,comment") and len(csv_text.splitlines()) == 2
