"""The library API: one `Assistant` that the CLI, the UI and the evaluator share.

It owns the loaded index, the segmenter, the embedder and the answer
backends, and runs the pipeline stages in order for each question.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import Callable

from .answer import ExtractiveAnswerer
from .conversation import rewrite_followup
from .embed import Embedder, make_embedder
from .errors import IndexUnavailable, UnknownLabel
from .index import IngestReport, LoadedIndex, has_index, ingest, open_index
from .llm import LLMAnswerer
from .owners import OrgEntry, ResponsibilityMap, WhoResult, build_responsibility_map, org_report, who
from .owners_ask import answer_ownership, is_ownership_question
from .question import Question, read_question
from .retrieve import HybridRetriever, keyword_search
from .segment import Segmenter
from .settings import Settings
from .types import Answer, Clause, Document, Hit

TokenSink = Callable[[str], None]
WHO_SCORE_RATIO = 0.8


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

    # --- components, loaded lazily -----------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
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
        return HybridRetriever(self.index, self.embedder, self.segmenter, self.settings)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.segmenter, self.index.clauses, self.index.search_texts)

    # --- building ------------------------------------------------------------

    def ingest(self, paths: list[Path] | None = None) -> IngestReport:
        """(Re)build the index from `paths` (default: the corpus folder) and reload it."""
        with self._lock:
            report = ingest(self.settings, paths or [self.settings.corpus_dir], self.embedder,
                            self.segmenter, self._progress)
            self._index = None
            for name in ("retriever", "extractive", "responsibility_map"):
                self.__dict__.pop(name, None)
            return report

    # --- questions -------------------------------------------------------------

    def check_question(self, question: str) -> str:
        """The question stripped, or `BadQuestion` with a message saying what is wrong."""
        return read_question(question, self.settings.max_question_chars).text

    def search(self, question: str, top_k: int | None = None, doc_id: str | None = None) -> list[Hit]:
        """Retrieval only: the best clauses for `question`, best first."""
        asked = read_question(question, self.settings.max_question_chars)
        return self._search(asked.search_text, top_k, doc_id)

    def _search(self, text: str, top_k: int | None, doc_id: str | None) -> list[Hit]:
        if doc_id is not None:
            doc_id = self.document(doc_id).doc_id
        return self.retriever.search(text, top_k, doc_id)

    def ask(self, question: str, *, history: list[str] | None = None, doc_id: str | None = None,
            top_k: int | None = None, backend: str | None = None, on_token: TokenSink | None = None) -> Answer:
        """Answer `question` with clause citations.

        `history` holds the earlier questions of the conversation (oldest first),
        so follow-ups such as 「那西藏呢？」 are understood. `backend` overrides
        the configured one ("extractive" or "llm"). `on_token` receives the
        answer text as it is produced; the returned `Answer.text` is final and
        replaces what was streamed (an LLM answer may be corrected or replaced).
        """
        started = time.perf_counter()
        asked = read_question(question, self.settings.max_question_chars)
        backend = backend or self.settings.effective_answer_backend
        standalone = self._standalone(asked, history or [], backend)
        hits = self._search(standalone.search_text, top_k, doc_id)
        retrieved = time.perf_counter()
        answer = self._answer(standalone, hits, backend, on_token)
        done = time.perf_counter()
        if standalone.text != asked.text:
            answer = replace(answer, question=asked.text, standalone_question=standalone.text)
        timings = {"retrieve_ms": (retrieved - started) * 1000, "answer_ms": (done - retrieved) * 1000,
                   "total_ms": (done - started) * 1000}
        return replace(answer, timings_ms={**answer.timings_ms, **timings})

    def _standalone(self, asked: Question, history: list[str], backend: str) -> Question:
        if not history:
            return asked
        complete = self.llm.complete if backend == "llm" and self.settings.llm_base_url else None
        rewritten = rewrite_followup(asked.search_text, history, self.segmenter, complete)
        if rewritten == asked.search_text:
            return asked
        return read_question(rewritten, self.settings.max_question_chars + len(rewritten))

    def _answer(self, asked: Question, hits: list[Hit], backend: str, on_token: TokenSink | None) -> Answer:
        if backend == "llm" and self.settings.llm_base_url and not asked.manipulation:
            return self.llm.answer(asked.search_text, hits, on_token=on_token)
        answer = self._answer_offline(asked, hits)
        if backend == "llm" and not self.settings.llm_base_url:
            answer = replace(answer, notices=("未配置大模型服务（QA_LLM_BASE_URL），以下为离线摘录答案。",))
        if on_token:
            on_token(answer.text)
        return answer

    def _answer_offline(self, asked: Question, hits: list[Hit]) -> Answer:
        if not asked.manipulation and is_ownership_question(asked.search_text, self.segmenter):
            owned = answer_ownership(asked.search_text, self.responsibility_map, hits, self.segmenter)
            if owned is not None:
                return replace(owned, question=asked.text)
        return self.extractive.answer(asked, hits)

    # --- ministries and their roles --------------------------------------------

    @cached_property
    def responsibility_map(self) -> ResponsibilityMap:
        return build_responsibility_map(list(self.documents), list(self.clauses), self.segmenter)

    def who(self, query: str) -> WhoResult:
        """Which organisations own the measures matching `query`, named and inherited.

        Only the measures that match about as well as the best one are shown:
        the fifth-best clause for 盐湖产业 is not a 盐湖 measure."""
        hits = self.search(query)
        close = [h for h in hits if h.score >= WHO_SCORE_RATIO * hits[0].score] if hits else []
        return who(query, self.responsibility_map, close)

    def orgs(self, org: str | None = None, label: str | None = None) -> list[OrgEntry]:
        """Every organisation (or one, aliases accepted) with the clauses naming it and its roles;
        only those in clause `label` when given (二（三）2 and 二(三)2 both work; an unknown
        label is an `UnknownLabel` naming the nearest ones)."""
        clause_label = None if label is None else self.show(label).clause_label
        return org_report(self.responsibility_map, org, clause_label)

    @cached_property
    def llm(self) -> LLMAnswerer:
        def fallback(question: str, hits: list[Hit]) -> Answer:
            return self._answer_offline(read_question(question, len(question) + 1), hits)

        return LLMAnswerer(self.settings, fallback)

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
        """A document by id, or by a fragment of its id or title when that is unambiguous."""
        docs = self.documents
        exact = [d for d in docs if d.doc_id == doc_id]
        partial = exact or [d for d in docs if doc_id and (doc_id in d.doc_id or doc_id in d.title)]
        if len(partial) == 1:
            return partial[0]
        known = "、".join(d.doc_id for d in docs)
        what = "匹配到多份文档" if partial else "没有这份文档"
        raise UnknownLabel(f"{what}：{doc_id}。可用的文档：{known}")

    def show(self, label: str, doc_id: str | None = None) -> Clause:
        """The clause with `label` (二（三）2, 二(三)2 and 二 （三） 2 all work)."""
        wanted = normalise_label(label)
        pool = [c for c in self.clauses if doc_id is None or c.doc_id == self.document(doc_id).doc_id]
        matches = [c for c in pool if c.clause_label == wanted]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            docs = "、".join(c.doc_id for c in matches)
            raise UnknownLabel(f"条款 {wanted} 出现在多份文档中（{docs}），请用 --doc 指定。")
        near = get_close_matches(wanted, [c.clause_label for c in pool], n=5, cutoff=0.3)
        hint = f"相近的条款：{'、'.join(near)}" if near else "可用 qa docs 查看条款目录"
        raise UnknownLabel(f"没有编号为 {wanted} 的条款。{hint}")


def normalise_label(label: str) -> str:
    """User-typed labels → the index's form: full-width brackets, no spaces or trailing dots."""
    label = re.sub(r"\s+", "", label or "")
    label = label.replace("(", "（").replace(")", "）").replace("［", "").replace("］", "")
    return label.rstrip(".．、")


__all__ = ["Assistant", "IndexUnavailable", "normalise_label"]
