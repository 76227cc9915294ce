"""A saved conversation as Markdown or Word, with the cited clauses as notes; rated answers as
candidate regression questions (the eval format of eval/README.md) in JSON Lines or CSV."""
from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass

from qa.saved.store import RatedTurn, SavedConversation
from qa.text.labels import CITATION

FEEDBACK_TYPE = "feedback"  # the question type of candidates from feedback
CSV_HEADER = ("id", "rating", "comment", "question", "history", "expected_labels", "answerable", "answer")


@dataclass(frozen=True)
class Note:
    """One cited clause, numbered in order of first citation across the conversation."""

    number: int
    doc_title: str
    label: str
    path: str
    text: str


def export_name(title: str) -> str:
    """A file name (without suffix) for a conversation titled `title`: safe on every system."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", title or "对话")[:60].strip("_") or "对话"


def when(created: float) -> str:
    """A saved time as the page and the exports show it: 2022-03-03 09:30 (local time)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(created))


def _notes(conversation: SavedConversation) -> dict[tuple[str, str], Note]:
    notes: dict[tuple[str, str], Note] = {}
    for turn in conversation.turns:
        for c in turn.answer.get("citations", []):
            key = (c["doc"], c["label"])
            if key not in notes:
                notes[key] = Note(len(notes) + 1, c["doc_title"], c["label"], c["path"], c["text"])
    return notes


def _numbered(text: str, citations: list[dict], notes: dict[tuple[str, str], Note], mark) -> str:
    """`text` with each ［label］ of a citation followed by its note mark (`mark(number)`)."""
    by_label = {c["label"]: notes[(c["doc"], c["label"])] for c in reversed(citations)}

    def add(match) -> str:
        note = by_label.get(match.group(1))
        return match.group(0) + (mark(note.number) if note else "")

    return CITATION.sub(add, text)


def to_markdown(conversation: SavedConversation) -> str:
    """The conversation as Markdown: each question and answer, the cited clauses as footnotes."""
    notes = _notes(conversation)
    lines = [f"# {conversation.title or '对话'}", "", f"保存于 {when(conversation.updated)}", ""]
    for number, turn in enumerate(conversation.turns, 1):
        lines += [f"## 问题 {number}：{turn.question}", ""]
        if turn.understood != turn.question:
            lines += [f"（理解为：{turn.understood}）", ""]
        lines += [f"> {notice}" for notice in turn.answer.get("notices", [])]
        answer = _numbered(turn.answer.get("answer", ""), turn.answer.get("citations", []), notes,
                           lambda n: f"[^{n}]")
        lines += [answer, ""]
    if notes:
        lines += ["## 引用的条款", ""]
        lines += [f"[^{n.number}]: ［{n.label}］《{n.doc_title}》{n.path}：{n.text}" for n in notes.values()]
        lines.append("")
    return "\n".join(lines)


def to_docx(conversation: SavedConversation) -> bytes:
    """The conversation as a Word document: questions as headings, answers with superscript
    note numbers after each citation, the cited clauses as numbered notes at the end."""
    from docx import Document  # python-docx loads only for an export

    notes = _notes(conversation)
    document = Document()
    document.core_properties.title = conversation.title or "对话"
    document.add_heading(conversation.title or "对话", level=1)
    document.add_paragraph(f"保存于 {when(conversation.updated)}")
    for number, turn in enumerate(conversation.turns, 1):
        document.add_heading(f"问题 {number}：{turn.question}", level=2)
        if turn.understood != turn.question:
            document.add_paragraph(f"（理解为：{turn.understood}）")
        for notice in turn.answer.get("notices", []):
            document.add_paragraph(notice, style="Intense Quote")
        paragraph = document.add_paragraph()
        marked = _numbered(turn.answer.get("answer", ""), turn.answer.get("citations", []), notes,
                           lambda n: f"\x00{n}\x00")
        for i, piece in enumerate(marked.split("\x00")):
            run = paragraph.add_run(piece)
            run.font.superscript = i % 2 == 1
    if notes:
        document.add_heading("引用的条款", level=2)
        for n in notes.values():
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{n.number}. ［{n.label}］《{n.doc_title}》{n.path}").bold = True
            paragraph.add_run(f"\n{n.text}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def candidate(rated: RatedTurn) -> dict:
    """A rated answer as a candidate regression question (eval/README.md), for someone to confirm:
    the cited labels as expected labels, no key facts yet, and the answer and feedback beside them."""
    answer = rated.turn.answer
    return {
        "id": f"feedback-{rated.turn.id}",
        "question": rated.turn.question,
        "history": list(rated.history),
        "expected_labels": [c["label"] for c in answer.get("citations", [])],
        "key_facts": [],
        "answerable": not answer.get("refused", False),
        "type": FEEDBACK_TYPE,
        "rating": rated.feedback.rating,
        "comment": rated.feedback.comment,
        "answer": answer.get("answer", ""),
    }


def candidates_jsonl(rated: list[RatedTurn]) -> str:
    return "".join(json.dumps(candidate(r), ensure_ascii=False) + "\n" for r in rated)


def candidates_csv(rated: list[RatedTurn]) -> str:
    """One row per rated answer; starts with a UTF-8 BOM so that Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in rated:
        row = candidate(r)
        writer.writerow((row["id"], row["rating"], row["comment"], row["question"], " / ".join(row["history"]),
                         "、".join(row["expected_labels"]), row["answerable"], row["answer"]))
    return "\ufeff" + buffer.getvalue()
