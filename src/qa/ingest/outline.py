"""The outline of each document: its numbered parts, rebuilt from the clauses.

Clauses are the leaves that carry text; the headings above them (二、重点任务,
（一）实施“科技援疆”…) live in their heading paths. The outline turns those
paths back into a tree, so questions about the structure (how many tasks, what
task (五) is about, the parts of the plan) are answered from it and cited to
the first clause under each heading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from qa.types import Clause, Document

# One level of a label: 第一章 / 第六条, 二, （三）, 2, （1）.
_LABEL_PART = re.compile(r"第[一二三四五六七八九十百零]+[章节条]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+|\d+|.+")


@dataclass
class Section:
    """A heading (or a document, at the root) with what sits under it, in document order."""

    doc_id: str
    title: str  # the heading as written, e.g. （一）实施“科技援疆”，塑造新疆创新发展优势
    label: str  # its label prefix (二（一）), or its title when the label cannot be told
    clause_label: str  # the first clause under it: where a citation of the section points
    children: list["Section"] = field(default_factory=list)

    @property
    def numbered_children(self) -> list["Section"]:
        """Children that are numbered parts (not the untitled 前言 or 通知)."""
        return [c for c in self.children if c.title not in ("前言", "通知")]


def label_parts(label: str) -> list[str]:
    """二（一）1 → [二, （一）, 1]; 第二十三条（三） → [第二十三条, （三）]."""
    return _LABEL_PART.findall(label.split("#")[0])


def build_outline(documents: Sequence[Document], clauses: Sequence[Clause]) -> dict[str, Section]:
    """doc id → the document's root section (title = the document title)."""
    roots = {d.doc_id: Section(d.doc_id, d.title, "", "") for d in documents}
    nodes: dict[tuple[str, tuple[str, ...]], Section] = {}
    for clause in clauses:
        root = roots.get(clause.doc_id)
        if root is None:
            continue
        root.clause_label = root.clause_label or clause.clause_label
        parts = label_parts(clause.clause_label)
        parent = root
        for depth in range(1, len(clause.heading_path) + 1):
            path = clause.heading_path[:depth]
            node = nodes.get((clause.doc_id, path))
            if node is None:
                # Labels and heading paths line up level by level where the numbering is complete.
                prefix = "".join(parts[:depth]) if len(parts) == len(clause.heading_path) else path[-1]
                node = nodes[(clause.doc_id, path)] = Section(clause.doc_id, path[-1], prefix, clause.clause_label)
                parent.children.append(node)
            parent = node
    return roots
