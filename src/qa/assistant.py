"""The library API: one `Assistant` that the CLI, the UI and the evaluator share.

A question goes down the stages once, never back up:

    read_question → FollowUpRewriter.standalone → HybridRetriever.search → answerer chain

The answerer chain for each answer backend comes from `ANSWER_BACKENDS`; it is
the only place that knows which answerers a backend is made of.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

from qa.answer.answerability import AnswerabilityGuard
from qa.answer.base import Answerer, FirstAnswer, RequestGuard, TokenSink
from qa.answer.document import DocumentAnswerer
from qa.collection import Collection
from qa.errors import IndexUnavailable, UnknownLabel
from qa.ingest.diff import VersionDiff, diff_versions
from qa.ingest.embed import Embedder, make_embedder
from qa.ingest.index import IngestReport, LoadedIndex, has_index, ingest, open_index
from qa.ingest.law import item_clause
from qa.ingest.outline import Section
from qa.owners.map import OrgEntry, ResponsibilityMap, WhoResult, org_report, who
from qa.query.followup import FollowUpRewriter
from qa.query.intent import understand
from qa.query.question import Question, read_question
from qa.query.retrieve import HybridRetriever, keyword_search
from qa.query.scope import Scope, Scoper
from qa.settings import ANSWER_BACKENDS as BACKEND_NAMES
from qa.settings import Settings
from qa.text.labels import article_and_item, split_citation
from qa.text.segment import Segmenter
from qa.text.vocabulary import Vocabulary
from qa.types import Answer, Clause, Document, Hit, close_hits
FALLBACK_COVERAGE = 0.5
FALLBACK_MARGIN = 0.25


@dataclass(frozen=True)
class Backend:
    """What one answer backend is made of: who rewrites follow-ups, who answers."""

    rewriter: FollowUpRewriter
    answerer: Answerer


def _extractive_backend(parts: Collection) -> Backend:
    return Backend(FollowUpRewriter(parts.segmenter, vocabulary=parts.vocabulary), parts.offline_answerer)


def _llm_backend(parts: Collection) -> Backend:
    from qa.answer.llm import LLMAnswerer  # openai loads only when an LLM is used

    answerer = LLMAnswerer(parts.settings, fallback=parts.offline_answerer, segmenter=parts.segmenter)
    complete = answerer.client.complete if answerer.client is not None else None
    return Backend(FollowUpRewriter(parts.segmenter, complete, parts.vocabulary),
                   FirstAnswer([RequestGuard(), parts.answerability, parts.document_answerer, answerer]))


# One entry per name in `qa.settings.ANSWER_BACKENDS`; each builds a backend over one `Collection`.
ANSWER_BACKENDS: dict[str, Callable[[Collection], Backend]] = {
    "extractive": _extractive_backend,
    "llm": _llm_backend,
}
assert tuple(ANSWER_BACKENDS) == tuple(BACKEND_NAMES)


class Assistant:
    """Question answering over the indexed documents.

    Heavy parts (embedding model, index) load on first use. With
    `auto_build=True` a missing index is built from `settings.corpus_dir`.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 segmenter: Segmenter | None = None, auto_build: bool = True,
                 progress: Callable[[str], None] = lambda message: None):
        self.settings = settings
        self._embedder = embedder
        self.segmenter = segmenter or Segmenter()
        self._auto_build = auto_build
        self._progress = progress
        self._lock = threading.RLock()
        self._index: LoadedIndex | None = None
        self._collections: dict[frozenset[str] | None, Collection] = {}
        self._backends: dict[tuple[str, frozenset[str] | None], Backend] = {}

    # --- components, loaded lazily -----------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings.embedding)
            return self._embedder

    @property
    def index(self) -> LoadedIndex:
        with self._lock:
            if self._index is None:
                if not has_index(self.settings) and self._auto_build:
                    self._progress("首次使用：正在建立索引……")
                    self.ingest()
                self._index = open_index(self.settings)
            return self._index

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.index, self.embedder, self.segmenter, self.settings.retrieval)

    @cached_property
    def scoper(self) -> Scoper:
        """Which documents a question goes to (the one it names, the version it means)."""
        return Scoper(self.documents, self.segmenter)

    def collection(self, doc_ids: frozenset[str] | None = None) -> Collection:
        """The parts built over the documents `doc_ids` (None: all), built on first use."""
        with self._lock:
            if doc_ids not in self._collections:
                self._collections[doc_ids] = Collection(self.settings, self.segmenter, self.index, doc_ids)
            return self._collections[doc_ids]

    # The whole corpus: what `qa who`, `qa orgs`, the outline and the UI show.
    @property
    def responsibility_map(self) -> ResponsibilityMap:
        return self.collection().responsibility_map

    @property
    def outline(self) -> dict[str, Section]:
        """Each document's numbered parts, by doc id."""
        return self.collection().outline

    @property
    def vocabulary(self) -> Vocabulary:
        """Term statistics of all indexed clauses."""
        return self.collection().vocabulary

    @property
    def answerability(self) -> AnswerabilityGuard:
        return self.collection().answerability

    @property
    def document_answerer(self) -> DocumentAnswerer:
        return self.collection().document_answerer

    @property
    def offline_answerer(self) -> Answerer:
        """The answerers that need no network, over all documents."""
        return self.collection().offline_answerer

    def backend(self, name: str | None = None, doc_ids: frozenset[str] | None = None) -> Backend:
        """The answer backend `name` (default: the configured one) over the documents `doc_ids`
        (None: all), built on first use."""
        name = name or self.settings.effective_answer_backend
        with self._lock:
            if (name, doc_ids) not in self._backends:
                self._backends[(name, doc_ids)] = ANSWER_BACKENDS[name](self.collection(doc_ids))
            return self._backends[(name, doc_ids)]

    # --- building ------------------------------------------------------------

    def ingest(self, paths: list[Path] | None = None) -> IngestReport:
        """(Re)build the index from `paths` (default: the corpus folder) and reload it."""
        with self._lock:
            report = ingest(self.settings, paths or [self.settings.corpus_dir], self.embedder,
                            self.segmenter, self._progress)
            self._index = None
            self._backends.clear()
            self._collections.clear()
            for name in ("retriever", "scoper"):
                self.__dict__.pop(name, None)
            return report

    # --- questions -------------------------------------------------------------

    def search(self, question: str, top_k: int | None = None, doc_id: str | None = None) -> list[Hit]:
        """Retrieval only: the best clauses for `question`, best first."""
        asked = read_question(question, self.settings.max_question_chars)
        return self._search(asked.search_text, top_k, doc_id)

    def _search(self, text: str, top_k: int | None, doc_id: str | None) -> list[Hit]:
        scope = self._scope(text, doc_id)
        searched = self.scoper.question_for(Question(text, text, ""), scope.doc_ids)
        return self.retriever.search(searched.search_text, top_k, scope=scope)

    def _scope(self, text: str, doc_id: str | None) -> Scope:
        """`doc_id` when given (a short name or alias works), else what the question names."""
        if doc_id is not None:
            doc = self.document(doc_id)
            return Scope(frozenset({doc.doc_id}), named=(doc.doc_id,), reason="flag")
        return self.scoper.scope(text)

    def ask(self, question: str, *, history: Sequence[str] = (), doc_id: str | None = None,
            top_k: int | None = None, backend: str | None = None, on_token: TokenSink | None = None) -> Answer:
        """Answer `question` with clause citations.

        `history` holds the earlier questions of the conversation (oldest first,
        as `qa.query.conversation.Conversation` keeps them), so follow-ups such
        as 「那西藏呢？」 are understood. `backend` overrides the configured one
        ("extractive" or "llm"). `on_token` receives the answer's text as it is
        verified (LLM backend); the pieces joined are the returned `Answer.text`.
        """
        started = time.perf_counter()
        asked = read_question(question, self.settings.max_question_chars)
        standalone = self._understand(asked, history, self._rewriting_backend(backend, history, doc_id))
        scope = self._scope(standalone.search_text, doc_id)
        searched = self.scoper.question_for(standalone, scope.doc_ids)
        hits = self.retriever.search(searched.search_text, top_k, scope=scope)
        retrieved = time.perf_counter()
        answer = self.backend(backend, scope.doc_ids).answerer.answer(searched, hits, on_token=on_token)
        if scope.fallback and not standalone.manipulation_only:
            held = 0.0 if answer.refused else self.collection(scope.doc_ids).coverage(standalone.search_text, hits)
            if held < 1.0:
                answer = self._fallback(standalone, scope.fallback, held, top_k, backend, on_token) or answer
        answer = self.scoper.version_note(answer, scope)
        done = time.perf_counter()
        if standalone.text != asked.text:
            answer = replace(answer, question=asked.text, standalone_question=standalone.text)
        if asked.manipulation and not asked.manipulation_only:
            ignored = f"问题中要求“{asked.manipulation}”的部分未予理会：本助手只引用文件原文作答，不编造或泄露内容。"
            answer = replace(answer, notices=(ignored, *answer.notices))
        timings = {"retrieve_ms": (retrieved - started) * 1000, "answer_ms": (done - retrieved) * 1000,
                   "total_ms": (done - started) * 1000}
        return replace(answer, timings_ms={**answer.timings_ms, **timings})

    def _fallback(self, question: Question, doc_ids: frozenset[str], held: float, top_k: int | None,
                  backend: str | None, on_token: TokenSink | None) -> Answer | None:
        """The documents the question points at answer it weakly or not at all (their best clause
        holds `held` of it): the other kind may, with a clause that holds more, and most of what
        was asked (FALLBACK_COVERAGE) — the question did not point there, so a loose match
        would only look like an answer."""
        searched = self.scoper.question_for(question, doc_ids)
        hits = self.retriever.search(searched.search_text, top_k, scope=Scope(doc_ids))
        # Judged on the question as asked, as the first documents were: the statutory wording
        # added for the search is not the question's.
        covered = self.collection(doc_ids).coverage(question.search_text, hits)
        if covered < max(FALLBACK_COVERAGE, held + FALLBACK_MARGIN):
            return None
        answer = self.backend(backend, doc_ids).answerer.answer(searched, hits, on_token=on_token)
        return None if answer is None or answer.refused else answer

    def _measures(self, question: Question) -> list[Hit]:
        """The clauses a `who` query is about: in the documents it goes to, or in the fallback
        ones when those hold clearly more of it (the rule `_fallback` answers by)."""
        scope = self._scope(question.search_text, None)
        searched = self.scoper.question_for(question, scope.doc_ids)
        hits = self.retriever.search(searched.search_text, None, scope=scope)
        if not scope.fallback:
            return hits
        held = self.collection(scope.doc_ids).coverage(question.search_text, hits)
        other = self.scoper.question_for(question, scope.fallback)
        fallback = self.retriever.search(other.search_text, None, scope=Scope(scope.fallback))
        covered = self.collection(scope.fallback).coverage(question.search_text, fallback)
        return fallback if covered >= max(FALLBACK_COVERAGE, held + FALLBACK_MARGIN) else hits

    def understand(self, question: str, history: Sequence[str] = (), backend: str | None = None) -> Question:
        """How `question` is read after `history` (earlier questions, standalone forms): the
        standalone question retrieval sees, with its intent. `ask` reads every question this way;
        a replayed conversation uses it to turn each earlier turn into its standalone form."""
        asked = read_question(question, self.settings.max_question_chars)
        return self._understand(asked, history, self._rewriting_backend(backend, history, None))

    def _rewriting_backend(self, name: str | None, history: Sequence[str], doc_id: str | None) -> Backend:
        """A follow-up continues the previous question, so it is read against the documents
        that question went to (their vocabulary says what is a topic there)."""
        previous = self._scope(history[-1], doc_id).doc_ids if history else None
        return self.backend(name, previous)

    def _understand(self, asked: Question, history: Sequence[str], chosen: Backend) -> Question:
        standalone = chosen.rewriter.standalone(asked, history)
        return replace(standalone, intent=self._intent(asked, standalone))

    @staticmethod
    def _intent(asked: Question, standalone: Question):
        """What the user asked for, read from their own words first: a follow-up rewrite
        carries the previous question's words (文号) into 「是哪天印发的？」."""
        own = understand(asked.search_text)
        return own if own.kind in ("metadata", "structure") or standalone is asked else understand(standalone.search_text)

    # --- ministries and their roles --------------------------------------------

    def who(self, query: str) -> WhoResult:
        """Which organisations own the measures matching `query`, named and inherited.

        Only the measures that match about as well as the best one are shown:
        the fifth-best clause for 盐湖产业 is not a 盐湖 measure."""
        hits = self._measures(read_question(query, self.settings.max_question_chars))
        return who(query, self.responsibility_map, close_hits(hits))

    def orgs(self, org: str | None = None, label: str | None = None) -> list[OrgEntry]:
        """Every organisation (or one, aliases accepted) with the clauses naming it and its roles;
        only those in clause `label` when given (二（三）2 and 二(三)2 both work; an unknown
        label is an `UnknownLabel` naming the nearest ones)."""
        clause_label = None if label is None else self.show(label).clause_label
        return org_report(self.responsibility_map, org, clause_label)

    # --- browsing --------------------------------------------------------------

    @property
    def documents(self) -> tuple[Document, ...]:
        return self.index.documents

    @property
    def clauses(self) -> tuple[Clause, ...]:
        return self.index.clauses

    def find(self, keywords: str) -> list[Hit]:
        """Clauses containing every keyword (exact match), most occurrences first."""
        return keyword_search(self.clauses, keywords)

    def document(self, doc_id: str) -> Document:
        """A document by id, by a fragment of its id or title when that is unambiguous, or by
        the name of a work (科普法, 科学技术普及法 2002: the version of that year, else the newest)."""
        docs = self.documents
        exact = [d for d in docs if d.doc_id == doc_id]
        partial = exact or [d for d in docs if doc_id and (doc_id in d.doc_id or doc_id in d.title)]
        if len(partial) == 1:
            return partial[0]
        works = self.scoper.named_works(doc_id or "")
        if len(works) == 1 and (not partial or {d.doc_id for d in partial} <= set(works[0].doc_ids)):
            return self.scoper.version_asked(doc_id, works[0])
        known = "、".join(d.doc_id for d in docs)
        what = "匹配到多份文档" if partial else "没有这份文档"
        raise UnknownLabel(f"{what}：{doc_id}。可用的文档：{known}")

    def diff(self, work: str, old: str | None = None, new: str | None = None) -> VersionDiff:
        """What changed between two versions of `work` (科学技术普及法, 科普法): by default the
        newest and the one before it; `old`/`new` pick versions by year (2002) or id."""
        works = [w for w in self.scoper.named_works(work) if len(w.versions) > 1]
        if len(works) != 1:
            several = "、".join(f"《{w.name}》" for w in self.scoper.works if len(w.versions) > 1) or "没有"
            raise UnknownLabel(f"找不到有多个版本的“{work}”。有多个版本的文件：{several}。")
        versions = works[0].versions
        pick = lambda wanted, default: next(  # noqa: E731 - a year or an id, else the default version
            (d for d in versions if wanted and (d.date.startswith(wanted) or d.doc_id == wanted)), default)
        before, after = pick(old, versions[-2]), pick(new, versions[-1])
        of = lambda doc: [c for c in self.clauses if c.doc_id == doc.doc_id]  # noqa: E731
        return diff_versions(of(before), of(after), before.doc_id, after.doc_id)

    def show(self, label: str, doc_id: str | None = None) -> Clause:
        """The clause with `label` (二（三）2, 二(三)2 and 二 （三） 2 all work); a law's article by
        its citation (科学技术进步法 第六条, 科普法 第六条) or with `doc_id`; an item of an article
        (第二条（一）) as a clause of its own. A label several documents have is an `UnknownLabel`
        naming them."""
        named, wanted = split_citation(label)
        doc = self.document(doc_id or named) if doc_id or named else None
        pool = [c for c in self.clauses if doc is None or c.doc_id == doc.doc_id]
        matches = [c for c in pool if c.clause_label == wanted]
        item = article_and_item(wanted)
        if not matches and item:
            articles = [c for c in pool if c.clause_label == item[0]]
            matches = [i for i in (item_clause(a, item[1]) for a in articles) if i is not None]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            docs = "、".join(f"《{c.doc_name or c.doc_title}》" for c in matches)
            raise UnknownLabel(f"条款 {wanted} 出现在多份文档中：{docs}。请用 --doc 指定文档，"
                               f"或写成“{matches[-1].doc_name or matches[-1].doc_title} {wanted}”。")
        near = get_close_matches(wanted, [c.clause_label for c in pool], n=5, cutoff=0.3)
        hint = f"相近的条款：{'、'.join(near)}" if near else "可用 qa docs 查看条款目录"
        raise UnknownLabel(f"没有编号为 {wanted} 的条款。{hint}")


__all__ = ["ANSWER_BACKENDS", "Assistant", "Backend", "IndexUnavailable"]
