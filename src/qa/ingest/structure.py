"""Stage 2 — structure: a cleaned `Document` → its numbered `Clause`s.

Chinese policy documents number their parts 一、 › （一） › 1. › （1）, or
第X章 › 第X条. In a scraped page the headings run inline with the body, so a
heading is accepted only where a sentence can start *and* where its number is
the next one expected at that level. That rule is what keeps 各省（自治区、直辖市）
and cross-references such as "（三）所列" from being read as headings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.ingest.law import law_clauses
from qa.text.numerals import cn_number
from qa.types import Clause, Document

_CN = "一二三四五六七八九十百零"

# (kind, rank, pattern). Lower rank = higher in the tree.
_MARKERS = (
    ("chapter", 0, re.compile(rf"第([{_CN}]+)章")),
    ("article", 1, re.compile(rf"第([{_CN}]+)条")),
    ("section", 1, re.compile(rf"([{_CN}]+)、")),
    ("subsection", 2, re.compile(rf"[（(]([{_CN}]+)[）)]")),
    ("item", 3, re.compile(r"(\d{1,2})[.．、](?!\d)")),
    ("subitem", 4, re.compile(r"[（(](\d{1,2})[）)]")),
)
_SENTENCE_START = "\n。；！？：:;"
# Level-one titles have no full stop in a scraped page (一、总体要求以习近平…):
# they end at a word that headings end with.
_TITLE_END_WORDS = re.compile(
    r"^.{1,10}?(要求|任务|措施|原则|目标|思想|保障|机制|意义|背景|范围|职责|附则|总则|安排|步骤|分工|组织实施)"
)
_TITLE_MAX = 60


@dataclass
class _Heading:
    kind: str
    rank: int
    number: int
    marker: str
    title: str  # marker + title text, e.g. "2.打造世界级盐湖产业基地"
    start: int
    title_end: int  # where the body begins
    children: list["_Heading"] = field(default_factory=list)

    @property
    def label_part(self) -> str:
        if self.kind in ("section",):
            return self.marker.rstrip("、")
        if self.kind in ("subsection", "subitem"):
            return "（" + self.marker.strip("（）()") + "）"
        if self.kind == "item":
            return self.marker.rstrip(".．、")
        return self.marker  # 第X章, 第X条


def parse_clauses(doc: Document) -> list[Clause]:
    """All clauses of `doc` that carry body text, in document order."""
    if doc.kind == "law":
        return law_clauses(doc)  # a law's Markdown marks its structure; numbering need not be guessed
    text = doc.text
    # A title line is metadata, not a clause; the notice's title is kept, since people quote it.
    body_start = len(doc.title) if doc.kind != "notice" and doc.title and text.startswith(doc.title) else 0
    headings = _find_headings(text, body_start)
    clauses: list[Clause] = []
    first = headings[0].start if headings else len(text)
    preamble_label = "通知" if doc.kind == "notice" else "前言"
    _add_clause(clauses, doc, preamble_label, (preamble_label,), body_start, first, has_heading=False)
    _emit(clauses, doc, _tree(headings), (), (), len(text))
    return _unique_labels(clauses)


def _find_headings(text: str, start: int) -> list[_Heading]:
    """Scan left to right; accept a marker only at a sentence start and in sequence."""
    found: list[_Heading] = []
    # Next number expected per level under the current parent. Articles (第X条)
    # are numbered through the whole document, so chapters do not reset them.
    expected: dict[int | str, int] = {}
    pos = start
    while pos < len(text):
        heading = _next_marker(text, pos, found, expected)
        if heading is None:
            break
        for key in [k for k in expected if isinstance(k, int) and k > heading.rank]:
            del expected[key]
        expected[_sequence_key(heading.kind, heading.rank)] = heading.number + 1
        found.append(heading)
        pos = heading.title_end
    return found


def _sequence_key(kind: str, rank: int) -> int | str:
    return kind if kind == "article" else rank


def _next_marker(text: str, pos: int, found: list[_Heading], expected: dict) -> _Heading | None:
    candidates = []
    for kind, rank, pattern in _MARKERS:
        for m in pattern.finditer(text, pos):
            if not _at_sentence_start(text, m.start(), found):
                continue
            if cn_number(m.group(1)) != expected.get(_sequence_key(kind, rank), 1):
                continue
            candidates.append((m.start(), rank, kind, m))
            break
    if not candidates:
        return None
    start, rank, kind, m = min(candidates, key=lambda c: (c[0], c[1]))
    title_end = _title_end(text, m.end(), rank)
    title = text[start:title_end].strip().rstrip("。；！？")
    if kind == "article":
        title_end = m.end()  # an article has no title: its first sentence is already its content
    return _Heading(kind, rank, cn_number(m.group(1)), m.group(0), title, start, title_end)


def _at_sentence_start(text: str, index: int, found: list[_Heading]) -> bool:
    if index == 0 or text[index - 1] in _SENTENCE_START:
        return True
    # Directly after a heading title that has no full stop (二、重点任务（一）…).
    return bool(found) and found[-1].title_end == index


def _title_end(text: str, marker_end: int, rank: int) -> int:
    window = text[marker_end : marker_end + _TITLE_MAX]
    stop = re.search(r"[。\n；！？]", window)
    next_marker = _first_inline_marker(window)
    ends = [i for i in (stop.end() if stop else None, next_marker) if i is not None]
    if ends and min(ends) <= 20 or rank >= 2:
        return marker_end + (min(ends) if ends else len(window))
    word = _TITLE_END_WORDS.match(window)
    if word:
        return marker_end + word.end()
    return marker_end + (min(ends) if ends else len(window))


def _first_inline_marker(window: str) -> int | None:
    positions = [m.start() for _, rank, p in _MARKERS if rank in (1, 2) for m in [p.search(window)] if m]
    return min(positions) if positions else None


def _tree(headings: list[_Heading]) -> list[_Heading]:
    roots: list[_Heading] = []
    stack: list[_Heading] = []
    for heading in headings:
        while stack and stack[-1].rank >= heading.rank:
            stack.pop()
        (stack[-1].children if stack else roots).append(heading)
        stack.append(heading)
    return roots


def _emit(clauses, doc, nodes, label_parts, path, parent_end) -> None:
    for i, node in enumerate(nodes):
        end = nodes[i + 1].start if i + 1 < len(nodes) else parent_end
        parts = (node.label_part,) if node.kind == "article" else (*label_parts, node.label_part)
        node_path = (*path, node.title)
        body_end = node.children[0].start if node.children else end
        # A leaf is a clause even when it is one sentence (（1）联合攻关。);
        # a heading over sub-headings is one only when it has text of its own.
        _add_clause(clauses, doc, "".join(parts), node_path, node.start, body_end,
                    has_heading=bool(node.children), title_end=node.title_end)
        _emit(clauses, doc, node.children, parts, node_path, end)


def _add_clause(clauses, doc, label, path, start, end, has_heading, title_end=None) -> None:
    """Add a clause for text[start:end]; with `has_heading`, only if it holds
    body text beyond its heading line."""
    raw = doc.text[start:end]
    stripped = raw.strip()
    if not stripped:
        return
    if has_heading and not doc.text[title_end:end].strip(" \n。"):
        return
    start += len(raw) - len(raw.lstrip())
    clauses.append(Clause(doc.doc_id, label, tuple(path), stripped, start, start + len(stripped), doc.title))


def _unique_labels(clauses: list[Clause]) -> list[Clause]:
    seen: dict[str, int] = {}
    out = []
    for clause in clauses:
        count = seen.get(clause.clause_label, 0) + 1
        seen[clause.clause_label] = count
        if count > 1:
            clause = Clause(clause.doc_id, f"{clause.clause_label}#{count}", clause.heading_path,
                            clause.text, clause.start, clause.end, clause.doc_title)
        out.append(clause)
    return out
