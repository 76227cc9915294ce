"""Stage 5 — retrieve: a question → ranked `Hit`s.

Hybrid: bm25s over jieba terms (aliases canonicalised on both sides) and
dense e5 vectors from Chroma, fused as a convex combination of normalised
scores (both score lists are normalisable here, which keeps more of the score
gaps than reciprocal-rank fusion does). A question naming a region or one of
its programmes favours the part of the plan whose headings name that region.
"""
from __future__ import annotations

import math
import threading
from typing import Iterable

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

from qa.ingest.embed import Embedder
from qa.ingest.index import LoadedIndex
from qa.query.scope import Scope
from qa.text.segment import Segmenter
from qa.settings import RetrievalSettings
from qa.text.keywords import search_terms, term_spans
from qa.types import Clause, Hit


_DENSE_CACHE_SIZE = 64


class HybridRetriever(BaseRetriever):
    """BM25 + dense retrieval over one loaded index; also a llama-index retriever."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, segmenter: Segmenter, settings: RetrievalSettings):
        super().__init__()
        self._index = index
        self._embedder = embedder
        self._segmenter = segmenter
        self._settings = settings
        self._ordinal = {c.key: i for i, c in enumerate(index.clauses)}
        self._heading_regions = [self._regions_in(" ".join(c.heading_path)) for c in index.clauses]
        self._all_docs = frozenset(c.doc_id for c in index.clauses)
        self._scoped_bm25: dict[frozenset[str], tuple[np.ndarray, object]] = {}
        self._dense_cache: dict[tuple[str, str | None], np.ndarray] = {}
        self._lock = threading.Lock()

    def search(self, question: str, top_k: int | None = None, doc_id: str | None = None,
               scope: Scope | None = None) -> list[Hit]:
        """The best clauses for `question`, highest fused score first; only in `doc_id`, or in
        the documents of `scope` with its priors (`qa.query.scope`)."""
        top_k = top_k or self._settings.top_k
        clauses = self._index.clauses
        doc_ids = frozenset({doc_id}) if doc_id is not None else scope.doc_ids if scope is not None else None
        if doc_id is None and doc_ids is not None and len(doc_ids) == 1:
            doc_id = next(iter(doc_ids))  # one document: the store filters it itself
        allowed = np.array([doc_ids is None or c.doc_id in doc_ids for c in clauses])
        if not allowed.any():
            return []
        canonical = self._segmenter.canonicalise(question)
        bm25 = self._bm25_scores(canonical, doc_ids)
        # A scope of some of several documents is not pushed into the store: all clauses are scored.
        whole = doc_ids is None or doc_id is not None or doc_ids >= self._all_docs
        k = dense_k(top_k, int(allowed.sum())) if whole else len(clauses)
        dense = self._dense_scores(canonical, doc_id, k)
        fused = self._settings.bm25_weight * _normalise(bm25, allowed) + \
            self._settings.dense_weight * _normalise(dense, allowed)
        fused += self._region_bonus(question)
        fused[~allowed] = -np.inf
        order = np.argsort(-fused, kind="stable")[:top_k]
        return [Hit(clauses[i], float(fused[i]), float(bm25[i]), float(dense[i])) for i in order if allowed[i]]

    def _bm25_scores(self, question: str, doc_ids: frozenset[str] | None) -> np.ndarray:
        terms = self._segmenter.terms(question)
        scores = np.zeros(len(self._index.clauses), dtype=np.float32)
        if not terms:
            return scores
        if doc_ids is None or doc_ids >= self._all_docs:
            return np.asarray(self._index.bm25.get_scores(terms), dtype=np.float32)
        rows, bm25 = self._bm25_within(doc_ids)
        scores[rows] = bm25.get_scores(terms)
        return scores

    def _bm25_within(self, doc_ids: frozenset[str]):
        """A BM25 index over these documents alone, built on first use: term weights (IDF)
        come from the documents searched, so the laws beside the plan do not change how a
        plan question ranks the plan's clauses."""
        import bm25s

        with self._lock:
            if doc_ids not in self._scoped_bm25:
                rows = [i for i, c in enumerate(self._index.clauses) if c.doc_id in doc_ids]
                bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
                bm25.index([self._segmenter.terms(self._index.search_texts[i]) or ["<empty>"] for i in rows],
                           show_progress=False)
                self._scoped_bm25[doc_ids] = (np.array(rows, dtype=np.int64), bm25)
            return self._scoped_bm25[doc_ids]

    def _dense_scores(self, question: str, doc_id: str | None, k: int) -> np.ndarray:
        """Cosine similarity per clause for the store's best `k` clauses (of `doc_id`, or all).

        The store is not asked for every clause (a full scan and a result list of the whole
        corpus per question). A clause it did not return gets the lowest similarity it did
        return — an upper bound on its own — so after min-max it scores 0 on the dense side,
        and when every clause fits in k (the plan) the scores are exactly the full ones. A
        question is often searched twice (the plan, then the laws: `qa.query.scope`), so the
        last few are kept."""
        key = (question, doc_id, k)
        with self._lock:
            cached = self._dense_cache.get(key)
        if cached is None:
            cached = self._query_store(question, doc_id, k)
            with self._lock:
                if len(self._dense_cache) >= _DENSE_CACHE_SIZE:
                    self._dense_cache.clear()
                self._dense_cache[key] = cached
        return cached

    def _query_store(self, question: str, doc_id: str | None, k: int) -> np.ndarray:
        vector = self._embedder.embed_query(question)
        filters = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_id)]) if doc_id else None
        candidates = sum(1 for c in self._index.clauses if doc_id is None or c.doc_id == doc_id)
        result = self._index.vector_store.query(VectorStoreQuery(
            query_embedding=vector.tolist(), similarity_top_k=k, filters=filters))
        scores = np.zeros(len(self._index.clauses), dtype=np.float32)
        found = [(self._ordinal[node_id], 1.0 + math.log(max(similarity, 1e-12)))  # exp(-distance) = exp(cos - 1)
                 for node_id, similarity in zip(result.ids or [], result.similarities or [])]
        if found and len(found) < candidates:
            scores[:] = min(score for _, score in found)
        for ordinal, score in found:
            scores[ordinal] = score
        return scores

    def _regions_in(self, text: str) -> frozenset[str]:
        domain = self._segmenter.domain
        names = self._segmenter.entities_in(text, kinds=("region", "place", "programme"))
        return frozenset(r for r in (domain.region_of(n) for n in names) if r)

    def _region_bonus(self, question: str) -> np.ndarray:
        wanted = self._regions_in(question)
        bonus = np.zeros(len(self._index.clauses), dtype=np.float32)
        if wanted:
            for i, regions in enumerate(self._heading_regions):
                if regions & wanted:
                    bonus[i] = self._settings.region_boost
        return bonus

    # llama-index protocol: lets query engines compose with this retriever.
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=TextNode(id_=h.clause.key, text=h.clause.text,
                                        metadata={"doc_id": h.clause.doc_id, "clause_label": h.clause.clause_label,
                                                  "heading_path": h.clause.path_text}),
                          score=h.score)
            for h in self.search(query_bundle.query_str)
        ]



DENSE_K_MIN = 200  # candidates per question, at least: a single law (≤ ~120 articles) or the plan is scanned whole
DENSE_K_PER_HIT = 10  # … and at least this many per hit asked for


def dense_k(top_k: int, candidates: int) -> int:
    """How many nearest clauses to ask the vector store for: bounded, never more than there are."""
    return max(1, min(candidates, max(DENSE_K_MIN, DENSE_K_PER_HIT * top_k)))


def keyword_search(clauses: Iterable[Clause], query: str, limit: int = 50) -> list[Hit]:
    """Exact keyword lookup (no ranking model): clauses whose heading path or text holds
    every keyword, most occurrences first; `Hit.score` is the number of occurrences."""
    terms = search_terms(query)
    if not terms:
        return []
    hits = []
    for clause in clauses:
        haystack = clause.path_text + "\n" + clause.text
        if all(t.lower() in haystack.lower() for t in terms):
            hits.append(Hit(clause, float(len(term_spans(haystack, terms)))))
    hits.sort(key=lambda h: -h.score)  # stable: document order among equals
    return hits[:limit]


def _normalise(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Min-max over the allowed clauses, so the two score scales can be mixed."""
    out = np.zeros_like(scores, dtype=np.float32)
    values = scores[allowed]
    low, high = float(values.min()), float(values.max())
    if high - low > 1e-9:
        out[allowed] = (values - low) / (high - low)
    return out
