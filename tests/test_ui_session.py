"""A browser tab's chat: questions queue while one is answered, stop ends an answer, saved turns come back."""
from __future__ import annotations

import threading

from qa.saved.store import Store
from qa.types import Answer, Citation
from qa_ui.session import ChatSession, ChatSessions

SALT = Citation("plan", "方案", "二（三）2", ("二、重点任务", "2.打造世界级盐湖产业基地"), "2.打造世界级盐湖产业基地。", score=1.0)
FIRST = Answer("如何打造世界级盐湖产业基地？", "深化合作。［二（三）2］", (SALT,))
FOLLOW_UP = Answer("那西藏呢？", "组织力量。", standalone_question="西藏的盐湖产业有什么措施？")


def test_questions_sent_during_an_answer_wait_their_turn():
    session = ChatSession()
    session.enqueue(FIRST.question)
    run = session.start()
    assert run is not None and session.start() is None  # one run at a time
    pending, exchange = session.next_question(run)
    session.enqueue("那西藏呢？")
    assert "排队中（第 1 个）" in session.messages()[-1]["content"]
    session.answered(exchange, FIRST, None)
    pending, exchange = session.next_question(run)
    assert pending.question == "那西藏呢？" and session.history_for(pending) == [FIRST.question]
    session.answered(exchange, FOLLOW_UP, None)
    assert session.next_question(run) is None and not session.busy
    assert session.conversation.history == [FIRST.question, "西藏的盐湖产业有什么措施？"]
    assert [m["role"] for m in session.messages()] == ["user", "assistant"] * 2


def test_stop_keeps_what_was_said_drops_the_queue_and_ends_the_run():
    session = ChatSession()
    session.enqueue(FIRST.question)
    session.enqueue("第二个问题")
    run = session.start()
    _, exchange = session.next_question(run)
    session.streamed(exchange, "深")
    session.streamed(exchange, "深化")
    session.stop()
    assert not session.current(run) and session.next_question(run) is None
    assert "已停止" in session.messages()[-1]["content"] and "深化" in session.messages()[-1]["content"]
    assert len(session.messages()) == 2  # the queued question is gone
    assert session.start() is not None  # the next question starts a new run


def test_a_standalone_question_ignores_the_history():
    session = ChatSession()
    session.enqueue("那西藏呢？", standalone=True)
    pending, _ = session.next_question(session.start())
    assert session.history_for(pending) == []


def test_a_saved_conversation_reopens_with_its_turns_for_feedback(tmp_path):
    store = Store(tmp_path)
    conversation_id = store.new_conversation()
    first = store.add_turn(conversation_id, FIRST)
    second = store.add_turn(conversation_id, FOLLOW_UP)
    session = ChatSession()
    session.load(store.conversation(conversation_id))
    assert session.conversation_id == conversation_id
    assert session.conversation.history == [FIRST.question, "西藏的盐湖产业有什么措施？"]
    assert [session.turn_at(i) for i in range(4)] == [None, first.id, None, second.id]
    assert "qa-cite" in session.messages()[1]["content"]
    session.reset()
    assert session.messages() == [] and session.conversation_id is None


def test_a_tab_keeps_one_session_even_when_its_first_events_arrive_at_once():
    # The page's load events reach the server together; each must find the same session.
    sessions = ChatSessions()
    barrier = threading.Barrier(16)
    found = []

    def first_event():
        barrier.wait()
        found.append(sessions.of("tab-1"))

    threads = [threading.Thread(target=first_event) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(session) for session in found}) == 1
    assert sessions.of("tab-2") is not found[0]


def test_the_least_recently_used_tabs_are_forgotten_beyond_capacity():
    sessions = ChatSessions(capacity=2)
    first, second = sessions.of("a"), sessions.of("b")
    assert sessions.of("a") is first  # "a" is now the most recently used
    sessions.of("c")
    assert sessions.of("a") is first and sessions.of("b") is not second
