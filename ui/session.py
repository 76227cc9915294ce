"""What one browser tab's chat holds between events, kept apart from gradio so it can be tested.

The page's events share one `ChatSession` (a mutable object in `gr.State`): questions sent while
an answer is being produced wait in `waiting` and are shown as queued; `stop()` ends the answer
being produced (its worker's later output is ignored) and drops the queue. The session also
knows which saved turn each answer is, for feedback, and which saved conversation it continues.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from qa import Answer, Conversation
from qa.saved.store import SavedConversation, Turn

from . import format as fmt


@dataclass(frozen=True)
class Pending:
    """A question waiting for its turn; `standalone` asks it without the conversation's history."""

    question: str
    standalone: bool = False


@dataclass
class Exchange:
    """One question and what is shown as its answer; `turn_id` once the answer is saved."""

    question: str
    shown: str
    text: str = ""  # the answer's text so far, while it streams
    turn_id: int | None = None
    done: bool = False


class ChatSession:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conversation_id: str | None = None
        self.conversation = Conversation()
        self.exchanges: list[Exchange] = []
        self.waiting: deque[Pending] = deque()
        self.busy = False
        self.run = 0  # which answering run is current; stop() starts a new one

    # --- what the chat shows ----------------------------------------------------

    def messages(self) -> list[dict]:
        """The chat's messages: each exchange, then the questions waiting, marked as queued."""
        shown = []
        for exchange in self.exchanges:
            shown.append({"role": "user", "content": fmt.question_html(exchange.question or "（空白问题）")})
            shown.append({"role": "assistant", "content": exchange.shown})
        for position, pending in enumerate(self.waiting, 1):
            shown.append({"role": "user", "content": fmt.question_html(pending.question or "（空白问题）")})
            shown.append({"role": "assistant", "content": fmt.queued_html(position)})
        return shown

    def turn_at(self, message_index: int) -> int | None:
        """The saved turn whose answer is the chat message at `message_index`."""
        exchange_index, is_answer = divmod(message_index, 2)
        if not is_answer or exchange_index >= len(self.exchanges):
            return None
        return self.exchanges[exchange_index].turn_id

    # --- answering ----------------------------------------------------------------

    def enqueue(self, question: str, standalone: bool = False) -> None:
        with self.lock:
            self.waiting.append(Pending(question, standalone))

    def start(self) -> int | None:
        """Begin answering the waiting questions: the run's number, or None when a run is already going."""
        with self.lock:
            if self.busy:
                return None
            self.busy = True
            return self.run

    def next_question(self, run: int) -> tuple[Pending, Exchange] | None:
        """The next waiting question and its (pending) exchange, or None when the queue is empty or the run stopped;
        then the run is over."""
        with self.lock:
            if run != self.run or not self.waiting:
                if run == self.run:
                    self.busy = False
                return None
            pending = self.waiting.popleft()
            exchange = Exchange(pending.question, fmt.pending_html())
            self.exchanges.append(exchange)
            return pending, exchange

    def current(self, run: int) -> bool:
        return run == self.run

    def history_for(self, pending: Pending) -> list[str]:
        return [] if pending.standalone else self.conversation.history

    def streamed(self, exchange: Exchange, text: str) -> None:
        """The answer's text so far."""
        exchange.text = text
        exchange.shown = fmt.streaming_html(text)

    def answered(self, exchange: Exchange, answer: Answer, turn: Turn | None) -> None:
        exchange.shown = fmt.answer_html(answer)
        exchange.turn_id = turn.id if turn else None
        exchange.done = True
        self.conversation = self.conversation.after(answer)
        if turn is not None:
            self.conversation_id = turn.conversation_id

    def failed(self, exchange: Exchange, message: str) -> None:
        exchange.shown = fmt.error_html(message)
        exchange.done = True

    def stop(self) -> None:
        """End the answer being produced (what it has said so far stays, marked as stopped) and drop the queue."""
        with self.lock:
            self.run += 1
            self.busy = False
            self.waiting.clear()
            for exchange in self.exchanges:
                if not exchange.done:
                    exchange.shown = fmt.stopped_html(exchange.text)
                    exchange.done = True

    # --- whole conversations --------------------------------------------------------

    def reset(self) -> None:
        """A new, empty conversation (the old one stays saved)."""
        self.stop()
        with self.lock:
            self.conversation_id = None
            self.conversation = Conversation()
            self.exchanges = []

    def load(self, saved: SavedConversation) -> None:
        """Continue the saved conversation: its answers shown as they were, follow-ups understood from it."""
        self.stop()
        with self.lock:
            self.conversation_id = saved.id
            self.conversation = Conversation(saved.understood)
            self.exchanges = [Exchange(t.question, fmt.answer_html(t.saved_answer), t.saved_answer.text, t.id, True)
                              for t in saved.turns]


class ChatSessions:
    """Each browser tab's `ChatSession`, by gradio's session hash; the least recently used are forgotten
    beyond `capacity` (their conversations stay saved and reopen from the store).

    Not a `gr.State`: gradio 6 creates a tab's state holder without a lock, so when the page's load events
    run at once two of them can each get a fresh session, and the conversation reopened after a reload is
    lost to the next question (it was then answered without its history).
    """

    def __init__(self, capacity: int = 2000) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()
        self._capacity = capacity

    def of(self, session_hash: str | None) -> ChatSession:
        key = session_hash or ""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = ChatSession()
                while len(self._sessions) > self._capacity:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(key)
            return session
