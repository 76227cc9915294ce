"""Stage 5 — retrieve: a question → ranked `Hit`s.

Hybrid: bm25s over jieba terms (aliases canonicalised on both sides) and
dense e5 vectors from Chroma, fused as a convex combination of normalised
scores (both score lists are normalisable here, which keeps more of the score
gaps than reciprocal-rank fusion does). A question naming a region or one of
its programmes favours the part of the plan whose headings name that region.
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

from .embed import Embedder
from .index import LoadedIndex
from .segment import Segmenter
from .settings import Settings
from .types import Clause, Hit


class HybridRetriever(BaseRetriever):
    """BM25 + dense retrieval over one loaded index; also a llama-index retriever."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, segmenter: Segmenter, settings: Settings):
        super().__init__()
        self._index = index
        self._embedder = embedder
        self._segmenter = segmenter
        self._settings = settings
        self._ordinal = {c.key: i for i, c in enumerate(index.clauses)}
        self._heading_regions = [self._regions_in(" ".join(c.heading_path)) for c in index.clauses]

    def search(self, question: str, top_k: int | None = None, doc_id: str | None = None) -> list[Hit]:
        """The best clauses for `question`, highest fused score first."""
        top_k = top_k or self._settings.top_k
        clauses = self._index.clauses
        allowed = np.array([doc_id is None or c.doc_id == doc_id for c in clauses])
        if not allowed.any():
            return []
        canonical = self._segmenter.canonicalise(question)
        bm25 = self._bm25_scores(canonical)
        dense = self._dense_scores(canonical, doc_id)
        fused = self._settings.bm25_weight * _normalise(bm25, allowed) + \
            self._settings.dense_weight * _normalise(dense, allowed)
        fused += self._region_bonus(question)
        fused[~allowed] = -np.inf
        order = np.argsort(-fused, kind="stable")[:top_k]
        return [Hit(clauses[i], float(fused[i]), float(bm25[i]), float(dense[i])) for i in order if allowed[i]]

    def _bm25_scores(self, question: str) -> np.ndarray:
        terms = self._segmenter.terms(question)
        if not terms:
            return np.zeros(len(self._index.clauses), dtype=np.float32)
        return np.asarray(self._index.bm25.get_scores(terms), dtype=np.float32)

    def _dense_scores(self, question: str, doc_id: str | None) -> np.ndarray:
        """Cosine similarity per clause, as ranked by the Chroma store."""
        vector = self._embedder.embed_query(question)
        filters = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_id)]) if doc_id else None
        result = self._index.vector_store.query(VectorStoreQuery(
            query_embedding=vector.tolist(), similarity_top_k=len(self._index.clauses), filters=filters))
        scores = np.zeros(len(self._index.clauses), dtype=np.float32)
        for node_id, similarity in zip(result.ids or [], result.similarities or []):
            # The store reports exp(-distance); with cosine distance that is exp(cos - 1).
            scores[self._ordinal[node_id]] = 1.0 + math.log(max(similarity, 1e-12))
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


def search_terms(query: str) -> list[str]:
    """The keywords of a keyword search: split on spaces and commas, duplicates dropped."""
    terms = [t for t in re.split(r"[\s,，、;；]+", query or "") if t]
    return list(dict.fromkeys(terms))


def term_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of `terms` in `text`, longest term first, case-insensitive."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    for term in sorted({t.lower() for t in terms if t}, key=len, reverse=True):
        at = lowered.find(term)
        while at >= 0:
            end = at + len(term)
            if not any(at < e and s < end for s, e in taken):
                taken.append((at, end))
            at = lowered.find(term, end)
    return sorted(taken)


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
