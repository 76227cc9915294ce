"""A collection: the documents a question is asked of, and every part whose statistics depend on them.

Which terms are distinctive, which names the documents use, how much of a
question a clause covers, who owns a measure: all of it is read from the
documents at hand. With the plan and seven laws in one index, a plan question
judged against the laws' vocabulary would be judged differently (目标 is rare in
the plan and common in the laws), so each set of documents a question can go
to (`qa.query.scope`) gets its own vocabulary, outline, ministry map and
answerers, built on first use.
"""
from __future__ import annotations

from functools import cached_property
from typing import Sequence

from qa.answer.answerability import AnswerabilityGuard
from qa.answer.base import Answerer, FirstAnswer, RequestGuard
from qa.answer.document import DocumentAnswerer
from qa.answer.extractive import ExtractiveAnswerer
from qa.ingest.index import LoadedIndex
from qa.ingest.outline import Section, build_outline
from qa.owners.answer import OwnershipAnswerer
from qa.owners.map import ResponsibilityMap, build_responsibility_map
from qa.settings import Settings
from qa.text.segment import Segmenter
from qa.text.vocabulary import Vocabulary
from qa.types import Clause, Document, Hit


class Collection:
    """The documents of `doc_ids` (None: all of the index) and their answerers."""

    def __init__(self, settings: Settings, segmenter: Segmenter, index: LoadedIndex,
                 doc_ids: frozenset[str] | None = None):
        self.settings = settings
        self.segmenter = segmenter
        self.doc_ids = doc_ids
        keep = [i for i, c in enumerate(index.clauses) if doc_ids is None or c.doc_id in doc_ids]
        self.documents: tuple[Document, ...] = tuple(
            d for d in index.documents if doc_ids is None or d.doc_id in doc_ids)
        self.clauses: tuple[Clause, ...] = tuple(index.clauses[i] for i in keep)
        self.search_texts: tuple[str, ...] = tuple(index.search_texts[i] for i in keep)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Term statistics of these clauses, shared by the answerers and the rewriter."""
        return Vocabulary(self.segmenter, self.search_texts)

    @cached_property
    def outline(self) -> dict[str, Section]:
        """Each document's numbered parts, by doc id."""
        return build_outline(self.documents, self.clauses)

    @cached_property
    def responsibility_map(self) -> ResponsibilityMap:
        return build_responsibility_map(list(self.documents), list(self.clauses), self.segmenter)

    @cached_property
    def answerability(self) -> AnswerabilityGuard:
        return AnswerabilityGuard(self.segmenter, self.vocabulary)

    @cached_property
    def document_answerer(self) -> DocumentAnswerer:
        return DocumentAnswerer(self.documents, self.clauses, self.outline, self.segmenter)

    @cached_property
    def offline_answerer(self) -> Answerer:
        """The answerers that need no network, in the order they get a say."""
        return FirstAnswer([
            RequestGuard(),
            self.answerability,
            self.document_answerer,
            OwnershipAnswerer(self.responsibility_map, self.segmenter),
            self.extractive,
        ])

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.segmenter, self.clauses, self.vocabulary)

    def coverage(self, question: str, hits: Sequence[Hit]) -> float:
        """The share of the question's information the best of `hits` holds, weighed by
        these documents' term statistics (0 without hits)."""
        hits = [h for h in hits if self.doc_ids is None or h.clause.doc_id in self.doc_ids]
        return self.extractive.evidence(question, hits).coverage if hits else 0.0
