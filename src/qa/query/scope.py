"""Which documents a question goes to: the one it names, else all of them with a prior.

The corpus is a plan beside the laws it rests on, and people ask in those terms:

* A question that names a document (《科学技术进步法》, 科技进步法, 科普法, 方案) is about
  that document; retrieval looks only there.
* A law in two versions is one work (`qa.ingest.works`). The newest version answers
  unless the question names another one by its year (「2002年版科普法」) or as the
  earlier text (修订前, 旧版); an answer from a law with several versions says which.
* A question that asks for a law (法律依据, 哪部法律) can only be answered by one: it goes
  to the laws. Any other question that names no document goes to one kind first and to
  the other when the first cannot answer it: one that speaks of laws (法规, 条例, 第X条) to
  the laws, any other to the plan and its notices, since that is what the assistant is
  for. This is the document prior; it is an order rather than a score bonus because each
  kind is judged with its own statistics (`qa.collection`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from qa.ingest.works import Work, group_works, is_primary
from qa.query.question import Question
from qa.text.segment import Segmenter
from qa.types import Answer, Document

# Words that ask for a law itself (the legal basis of a measure): only a law can answer.
ASKS_FOR_LAW = re.compile(r"法律依据|法律基础|法律保障|法律规定|法律支撑|法理依据|上位法|于法有据|哪部法|哪些法|什么法"
                          r"|哪条法|法律(上|中)?(有|是)?(怎么|如何|哪些|什么)")
# Words that speak of laws (法规, 条例, an article 第X条): the laws are favoured, not required.
LAW_QUESTION = re.compile(r"法律|法规|法条|法定|立法|条例|第[一二三四五六七八九十百零]+条")
# Words by which a question points at the primary document.
_PRIMARY_WORDS = re.compile(r"方案|通知")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_EARLIER = re.compile(r"修订前|修改前|旧版|老版|原版|原来的|最初|首版|第一版|以前的版本|之前的版本")
_VERSION_WORDS = re.compile(r"版|修订|修正|修改")


@dataclass(frozen=True)
class Scope:
    """The documents a question is asked of: `doc_ids` first (None: every document), then
    `fallback` when those cannot answer; `named` is what the question named."""

    doc_ids: frozenset[str] | None = None
    fallback: frozenset[str] | None = None
    named: tuple[str, ...] = ()
    reason: str = ""


class Scoper:
    """Reads the documents a question names (see the module doc)."""

    def __init__(self, documents: Sequence[Document], segmenter: Segmenter):
        self.documents = tuple(documents)
        self.works = group_works(self.documents)
        self._kinds = {d.doc_id: d.kind for d in self.documents}
        self._segmenter = segmenter

    def scope(self, question: str) -> Scope:
        named = self.named_works(question)
        if named:
            chosen = [self.version_asked(question, work) for work in named]
            ids = frozenset(d for doc in chosen for d in self._with_companions(doc))
            return Scope(ids, named=tuple(d.doc_id for d in chosen), reason="named")
        current = [d for work in self.works for d in self._current(work, question)]
        laws = frozenset(d.doc_id for d in current if d.kind == "law")
        policy = frozenset(d.doc_id for d in current if d.kind != "law")
        if not laws or not policy:
            return Scope(laws or policy, reason="one kind")
        if ASKS_FOR_LAW.search(question):
            return Scope(laws, reason="asks for a law")
        # 「科技援藏的第三条呢？」 numbers the plan's own items: a programme of the plan keeps it there.
        if LAW_QUESTION.search(question) and not self._segmenter.entities_in(question, kinds=("programme",)):
            return Scope(laws, policy, reason="speaks of laws")
        return Scope(policy, laws, reason="policy first")

    # --- what the question names ----------------------------------------------------

    def named_works(self, question: str) -> list[Work]:
        """The works the question names: by title, short title or an alias from domain.tsv
        (科普法 → 科学技术普及法); the primary document by 方案 / 通知."""
        text = "".join(question.split())
        aliases = set(self._segmenter.entities_in(text, kinds=("law",)))
        found = []
        for work in self.works:
            doc = work.latest
            if is_primary(doc):
                hit = doc.title in text or bool(_PRIMARY_WORDS.search(text))
            else:
                hit = work.name in text or doc.title in text or work.name in aliases
            if hit:
                found.append(work)
        return found

    def version_asked(self, question: str, work: Work) -> Document:
        """The version a question means: the one of a year it names, the earliest when it asks
        for the earlier text, else the newest."""
        years = set(_YEAR.findall(question))
        dated = [d for d in work.versions if d.date[:4] in years]
        if dated:
            return dated[-1]
        if len(work.versions) > 1 and _EARLIER.search(question):
            return work.versions[0]
        return work.latest

    def _current(self, work: Work, question: str) -> tuple[Document, ...]:
        """Unnamed works: their newest version, or the one of a year the question names as a
        version (「2002年版的规定」)."""
        if len(work.versions) > 1 and _VERSION_WORDS.search(question):
            return (self.version_asked(question, work),)
        return (work.latest,)

    def _with_companions(self, doc: Document) -> tuple[str, ...]:
        """A primary document comes with the other primary documents of its file (the plan
        with its cover notice): people say 「方案」 for both."""
        if not is_primary(doc):
            return (doc.doc_id,)
        return tuple(d.doc_id for d in self.documents if is_primary(d) and d.source_path == doc.source_path)

    # --- searching the laws in their own words ---------------------------------------

    def question_for(self, question: Question, doc_ids: frozenset[str] | None) -> Question:
        """`question` as the documents `doc_ids` are searched with: laws word policy terms their
        own way (东西部科技合作 is 跨地区的科学技术合作 there), so for laws alone the question
        also carries the statutory wording domain.tsv gives for the names it uses."""
        if doc_ids is None or not all(self._kinds.get(d) == "law" for d in doc_ids):
            return question
        domain = self._segmenter.domain
        names = self._segmenter.entities_in(question.search_text, kinds=("org", "programme", "region", "place"))
        wording = [t for n in names for t in domain.by_name[n].statutory]
        if not wording:
            return question
        return replace(question, search_text=f"{question.search_text}（{'；'.join(wording)}）")

    # --- saying which version answered ------------------------------------------------

    def version_note(self, answer: Answer, scope: Scope) -> Answer:
        """An answer from a law with several versions says which one it rests on:
        「依据2024年修订版」 when the newest answered by default."""
        if answer.refused or not answer.citations:
            return answer
        notes = []
        for work in self.works:
            cited = [d for d in work.versions if any(c.doc_id == d.doc_id for c in answer.citations)]
            if len(work.versions) < 2 or not cited:
                continue
            doc = cited[0]
            other = "、".join(v.date[:4] + "年版" for v in work.versions if v is not doc)
            chosen = "问题所指的" if doc.doc_id in scope.named and doc is not work.latest else "现行的"
            notes.append(f"依据{chosen}《{work.name}》{work.version_phrase(doc)}（另有{other}）。")
        if not notes:
            return answer
        return replace(answer, text="".join(notes) + answer.text)
