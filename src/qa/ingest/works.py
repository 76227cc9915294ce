"""Works and versions: the documents of a corpus as the works they are versions of.

Two files of one law (科学技术普及法 2002 and 2024) are one work with two dated
versions; every other document is a work of its own. The corpus is read once,
so names that depend on the whole corpus are settled here:

* the primary documents — the plan and its cover notice — are cited by label
  alone (［二（三）2］), every other document by its name (［科学技术进步法 第六条］);
* the newest version of a work is cited by the work's name, an older one with
  its year (［科学技术普及法（2002年版） 第六条］), so the two never share a citation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from qa.types import Document

PRIMARY_KINDS = ("plan", "notice")


@dataclass(frozen=True)
class Work:
    """One work and its versions, oldest first."""

    name: str  # 科学技术普及法
    versions: tuple[Document, ...]

    @property
    def latest(self) -> Document:
        return self.versions[-1]

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(d.doc_id for d in self.versions)

    def version_phrase(self, doc: Document) -> str:
        """「2024年修订版」, 「2002年版」: how an answer names the version it rests on."""
        year = doc.date[:4]
        revised = len(doc.history) > 1 and any(w in doc.history[-1] for w in ("修订", "修正", "修改"))
        return f"{year}年修订版" if revised else f"{year}年版"


def work_name(doc: Document) -> str:
    return doc.short_title or doc.title


def group_works(documents: Iterable[Document]) -> list[Work]:
    """The works of `documents`, in corpus order of their first version; versions by date."""
    by_name: dict[str, list[Document]] = {}
    for doc in documents:
        # Only laws come in versions; a notice and its plan share no name but are two works.
        key = work_name(doc) if doc.kind == "law" else doc.doc_id
        by_name.setdefault(key, []).append(doc)
    return [Work(work_name(docs[0]), tuple(sorted(docs, key=lambda d: d.date))) for docs in by_name.values()]


def is_primary(doc: Document) -> bool:
    return doc.kind in PRIMARY_KINDS


def name_documents(documents: Sequence[Document]) -> list[Document]:
    """`documents` with `cite_as` set (see the module doc): empty for the primary documents, and
    for every document when the corpus holds only one, since then a label cannot be ambiguous."""
    if len(documents) <= 1:
        return list(documents)
    names: dict[str, str] = {}
    for work in group_works(documents):
        for doc in work.versions:
            if is_primary(doc):
                continue
            older = len(work.versions) > 1 and doc is not work.latest
            names[doc.doc_id] = f"{work.name}（{doc.date[:4]}年版）" if older else work.name
    return [replace(d, cite_as=names.get(d.doc_id, "")) for d in documents]
