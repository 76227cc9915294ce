"""The values that flow between pipeline stages.

Every stage takes and returns these small frozen dataclasses, so a stage can be
tested, cached or swapped without knowing how its neighbours work.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One cleaned document (a notice, a plan) with its bibliographic metadata."""

    doc_id: str
    title: str
    text: str
    doc_number: str = ""  # 文号, e.g. 国科发区〔2022〕25号
    issuing_bodies: tuple[str, ...] = ()
    date: str = ""  # ISO date, e.g. 2022-03-03
    source_url: str = ""
    source_path: str = ""
    kind: str = ""  # "notice", "plan" or "" when unknown


@dataclass(frozen=True)
class Clause:
    """One retrieval unit: a numbered clause with body text.

    `clause_label` is in the document's own numbering joined top-down with
    full-width brackets (二（三）2); `heading_path` holds the headings from the
    top of the document down to this clause; `start`/`end` are offsets into the
    cleaned `Document.text`, so `doc.text[start:end] == text`.
    """

    doc_id: str
    clause_label: str
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int
    doc_title: str = ""

    @property
    def path_text(self) -> str:
        return " › ".join(self.heading_path)

    @property
    def key(self) -> str:
        """Unique id of the clause across the corpus."""
        return f"{self.doc_id}#{self.clause_label}"


@dataclass(frozen=True)
class Hit:
    """A clause found by retrieval with its fused score (higher is better)."""

    clause: Clause
    score: float
    bm25_score: float = 0.0
    dense_score: float = 0.0


@dataclass(frozen=True)
class Citation:
    """The clause a statement of an answer rests on, and the sentence quoted."""

    doc_id: str
    doc_title: str
    clause_label: str
    heading_path: tuple[str, ...]
    clause_text: str
    quote: str | None = None
    score: float = 0.0

    @classmethod
    def of(cls, hit: Hit, quote: str | None = None) -> "Citation":
        c = hit.clause
        return cls(c.doc_id, c.doc_title, c.clause_label, c.heading_path, c.text, quote, hit.score)

    def to_json(self) -> dict:
        return {
            "doc": self.doc_id,
            "doc_title": self.doc_title,
            "label": self.clause_label,
            "path": " › ".join(self.heading_path),
            "text": self.clause_text,
            "quote": self.quote,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says: text with inline ［label］ citations.

    `refused` is True when the documents do not answer the question; then
    `refusal_reason` says why and `related` lists the nearest clauses.
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    refusal_reason: str = ""
    related: tuple[Citation, ...] = ()
    backend: str = "extractive"
    notices: tuple[str, ...] = ()  # user-visible notes, e.g. "LLM failed; extractive answer used"
    dropped_citations: tuple[str, ...] = ()
    standalone_question: str = ""  # a follow-up as understood, e.g. 那西藏呢？ → 西藏的盐湖产业有什么措施？
    timings_ms: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "backend": self.backend,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
            "notices": list(self.notices),
            "dropped_citations": list(self.dropped_citations),
            "standalone_question": self.standalone_question or None,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
