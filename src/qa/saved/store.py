"""Conversations, their turns (question, how it was understood, the answer with its citations)
and feedback on answers, in one SQLite file (stdlib `sqlite3`, WAL mode).

Each thread keeps its own connection, so the store can be shared by the threads of a
web server (SQLite serialises the writes); connections stay open because closing the last
one checkpoints the WAL, which would make every write wait for the disk.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from qa.errors import QAError, UnknownLabel
from qa.types import Answer, Citation

FILE_NAME = "qa.sqlite3"
TITLE_CHARS = 40
RATINGS = {"up": 1, "down": -1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL, understood TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL, comment TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_by_turn ON feedback(turn_id, id);
"""


class UnknownConversation(UnknownLabel):
    """A conversation or turn id the store does not hold."""


class BadFeedback(QAError):
    """A rating other than up or down."""

    exit_code = 2


class StoreUnavailable(QAError):
    """The data folder cannot be written or the database is unreadable."""

    exit_code = 7


@dataclass(frozen=True)
class Turn:
    """One question and its answer (`Answer.to_json()`), as saved."""

    id: int
    conversation_id: str
    question: str
    understood: str  # the standalone question the assistant answered
    answer: dict
    created: float

    @property
    def saved_answer(self) -> Answer:
        """The `Answer` as it was given (timings aside), to show it again."""
        data = self.answer
        return Answer(data["question"], data["answer"], tuple(_citation(c) for c in data.get("citations", [])),
                      data.get("refused", False), data.get("refusal_reason", ""),
                      tuple(_citation(c) for c in data.get("related", [])), data.get("backend", "extractive"),
                      tuple(data.get("notices", [])), tuple(data.get("dropped_citations", [])),
                      data.get("standalone_question") or "")

    def to_json(self) -> dict:
        return {"id": self.id, "conversation_id": self.conversation_id, "question": self.question,
                "understood": self.understood, "answer": self.answer, "created": self.created}


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    created: float
    updated: float
    turns: int

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "turns": self.turns}


@dataclass(frozen=True)
class SavedConversation:
    id: str
    title: str
    created: float
    updated: float
    turns: tuple[Turn, ...]

    @property
    def understood(self) -> tuple[str, ...]:
        """The questions as understood, oldest first: a `Conversation`'s history."""
        return tuple(t.understood for t in self.turns)

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "turns": [t.to_json() for t in self.turns]}


@dataclass(frozen=True)
class Feedback:
    id: int
    turn_id: int
    rating: str  # "up" or "down"
    comment: str
    created: float

    def to_json(self) -> dict:
        return {"id": self.id, "turn_id": self.turn_id, "rating": self.rating, "comment": self.comment,
                "created": self.created}


@dataclass(frozen=True)
class RatedTurn:
    """A turn with the latest feedback on it (what `qa feedback export` writes)."""

    turn: Turn
    feedback: Feedback
    history: tuple[str, ...]  # the earlier questions of its conversation, as understood


class Store:
    """The SQLite file `data_dir/qa.sqlite3`; created with its folder on first use."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FILE_NAME
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._ready = False

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")  # with WAL: never corrupt, at most the last write lost
            with self._schema_lock:
                if not self._ready:
                    db.execute("PRAGMA journal_mode = WAL")
                    db.executescript(_SCHEMA)
                    self._ready = True
            self._local.db = db
        return db

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._connection()
            with db:  # one transaction: committed, or rolled back on an error
                yield db
        except (sqlite3.Error, OSError) as error:
            raise StoreUnavailable(f"无法读写对话记录 {self.path}：{error}") from None

    # --- conversations --------------------------------------------------------

    def new_conversation(self, title: str = "") -> str:
        """A new, empty conversation's id."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)", (conversation_id, title, now, now))
        return conversation_id

    def add_turn(self, conversation_id: str, answer: Answer) -> Turn:
        """Save `answer` (with the question it answers) as the next turn of the conversation;
        a conversation's title is its first question."""
        now = time.time()
        question = answer.question
        understood = answer.standalone_question or answer.question
        with self._db() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                raise UnknownConversation(f"没有编号为 {conversation_id} 的对话。")
            title = row["title"] or question[:TITLE_CHARS]
            db.execute("UPDATE conversations SET title = ?, updated = ? WHERE id = ?", (title, now, conversation_id))
            data = answer.to_json()
            cursor = db.execute("INSERT INTO turns (conversation_id, question, understood, answer, created)"
                                " VALUES (?, ?, ?, ?, ?)",
                                (conversation_id, question, understood, json.dumps(data, ensure_ascii=False), now))
        return Turn(cursor.lastrowid, conversation_id, question, understood, data, now)

    def conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Conversations with at least one turn, the most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.*, COUNT(t.id) AS n FROM conversations c JOIN turns t ON t.conversation_id = c.id"
                " GROUP BY c.id ORDER BY c.updated DESC, c.rowid DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall()
        return [ConversationSummary(r["id"], r["title"], r["created"], r["updated"], r["n"]) for r in rows]

    def conversation(self, conversation_id: str) -> SavedConversation:
        with self._db() as db:
            row = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                raise UnknownConversation(f"没有编号为 {conversation_id} 的对话。")
            turns = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY id",
                               (conversation_id,)).fetchall()
        return SavedConversation(row["id"], row["title"], row["created"], row["updated"],
                                 tuple(_turn(t) for t in turns))

    def delete_conversation(self, conversation_id: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount == 0:
                raise UnknownConversation(f"没有编号为 {conversation_id} 的对话。")

    # --- feedback -------------------------------------------------------------

    def add_feedback(self, turn_id: int, rating: str, comment: str = "") -> Feedback:
        """👍 (`up`) or 👎 (`down`) on a turn's answer, with an optional comment; the latest counts."""
        _check_rating(rating)
        now = time.time()
        comment = (comment or "").strip()
        with self._db() as db:
            if db.execute("SELECT 1 FROM turns WHERE id = ?", (turn_id,)).fetchone() is None:
                raise UnknownConversation(f"没有编号为 {turn_id} 的回答。")
            cursor = db.execute("INSERT INTO feedback (turn_id, rating, comment, created) VALUES (?, ?, ?, ?)",
                                (turn_id, RATINGS[rating], comment, now))
        return Feedback(cursor.lastrowid, turn_id, rating, comment, now)

    def rated_turns(self, rating: str | None = None) -> list[RatedTurn]:
        """Turns with feedback (only `rating` when given), oldest first, each with its latest feedback."""
        if rating is not None:
            _check_rating(rating)
        with self._db() as db:
            rows = db.execute(
                "SELECT t.*, f.id AS f_id, f.rating, f.comment, f.created AS f_created FROM turns t"
                " JOIN feedback f ON f.id = (SELECT MAX(id) FROM feedback WHERE turn_id = t.id)"
                " WHERE ? IS NULL OR f.rating = ? ORDER BY t.id",
                (RATINGS.get(rating), RATINGS.get(rating))).fetchall()
            rated = []
            for row in rows:
                earlier = db.execute("SELECT understood FROM turns WHERE conversation_id = ? AND id < ? ORDER BY id",
                                     (row["conversation_id"], row["id"])).fetchall()
                rating_name = "up" if row["rating"] > 0 else "down"
                rated.append(RatedTurn(_turn(row), Feedback(row["f_id"], row["id"], rating_name, row["comment"],
                                                            row["f_created"]),
                                       tuple(e["understood"] for e in earlier)))
        return rated


def _check_rating(rating: str) -> None:
    if rating not in RATINGS:
        raise BadFeedback(f"评价只能是 {'、'.join(RATINGS)}，而不是 {rating!r}。")


def _citation(data: dict) -> Citation:
    path = tuple(data["path"].split(" › ")) if data.get("path") else ()
    return Citation(data["doc"], data["doc_title"], data["label"], path, data["text"], data.get("quote"),
                    data.get("score", 0.0))


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(row["id"], row["conversation_id"], row["question"], row["understood"], json.loads(row["answer"]),
                row["created"])
