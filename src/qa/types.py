"""The values that flow between pipeline stages.

Every stage takes and returns these small frozen dataclasses, so a stage can be
tested, cached or swapped without knowing how its neighbours work.
"""
from __future__ import annotations

from typing import Sequence

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One cleaned document (a notice, a plan, a law) with its bibliographic metadata.

    A law's `date` is the date of its version and `issuing_bodies` the body that
    adopted it; `history` keeps its adoption and amendment lines as written.
    `cite_as` is how citations name the document ("" for the primary document,
    whose clauses are cited by label alone).
    """

    doc_id: str
    title: str
    text: str
    doc_number: str = ""  # 文号, e.g. 国科发区〔2022〕25号
    issuing_bodies: tuple[str, ...] = ()
    date: str = ""  # ISO date, e.g. 2022-03-03
    source_url: str = ""
    source_path: str = ""
    kind: str = ""  # "notice", "plan", "law" (laws and regulations) or "" when unknown
    short_title: str = ""  # the name people use: 科学技术进步法 for 中华人民共和国科学技术进步法
    history: tuple[str, ...] = ()
    cite_as: str = ""

    @classmethod
    def from_json(cls, data: dict) -> "Document":
        """The inverse of `dataclasses.asdict` (JSON turns tuples into lists)."""
        return cls(**{**data, "issuing_bodies": tuple(data.get("issuing_bodies", ())),
                      "history": tuple(data.get("history", ()))})


@dataclass(frozen=True)
class Clause:
    """One retrieval unit: a numbered clause with body text.

    `clause_label` is in the document's own numbering joined top-down with
    full-width brackets (二（三）2); `heading_path` holds the headings from the
    top of the document down to this clause; `start`/`end` are offsets into the
    cleaned `Document.text`, so `doc.text[start:end] == text`. `doc_name` is
    the document's `cite_as`: citations of a law name it (［科学技术进步法 第六条］).
    """

    doc_id: str
    clause_label: str
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int
    doc_title: str = ""
    doc_name: str = ""

    @classmethod
    def from_json(cls, data: dict) -> "Clause":
        """A clause from its stored form (extra keys, such as the search text, are ignored)."""
        return cls(data["doc_id"], data["clause_label"], tuple(data["heading_path"]), data["text"],
                   data["start"], data["end"], data.get("doc_title", ""), data.get("doc_name", ""))

    @property
    def path_text(self) -> str:
        """《科学技术进步法》 › 第一章 总则 › 第六条; a document cited by label alone has no name here."""
        top = (f"《{self.doc_name}》",) if self.doc_name else ()
        return " › ".join((*top, *self.heading_path))

    @property
    def citation_label(self) -> str:
        """What a citation mark holds: 科学技术进步法 第六条, or 二（三）2 in the primary document."""
        return cite_label(self.doc_name, self.clause_label)

    @property
    def key(self) -> str:
        """Unique id of the clause across the corpus."""
        return f"{self.doc_id}#{self.clause_label}"


def cite_label(doc_name: str, clause_label: str) -> str:
    return f"{doc_name} {clause_label}" if doc_name else clause_label


@dataclass(frozen=True)
class Hit:
    """A clause found by retrieval with its fused score (higher is better)."""

    clause: Clause
    score: float
    bm25_score: float = 0.0
    dense_score: float = 0.0


# Only clauses retrieved about as well as the best one are the measure asked about: the
# fifth-best clause for 盐湖产业 is not a 盐湖 measure.
CLOSE_SCORE_RATIO = 0.8


def close_hits(hits: Sequence[Hit]) -> list[Hit]:
    """The hits scoring at least `CLOSE_SCORE_RATIO` of the best: the measures a question is about.
    `qa who` and ownership answers in chat both use this, so they name the same owners."""
    hits = list(hits)
    return [h for h in hits if h.score >= CLOSE_SCORE_RATIO * hits[0].score] if hits else []


@dataclass(frozen=True)
class Support:
    """How one sentence of a generated answer is backed by the clause it cites.

    Extractive answers quote clauses verbatim and carry none; every sentence of an
    LLM answer that is shown has one per clause it cites."""

    sentence: str  # the sentence as shown, citation marks removed
    overlap: float  # share of its content words (by characters) found in the clause
    facts: tuple[str, ...] = ()  # numbers, organisations and places it names, each found in the clause
    label_added: bool = False  # the model cited nothing (or the wrong clause); the check chose this one

    def to_json(self) -> dict:
        return {"sentence": self.sentence, "overlap": round(self.overlap, 3), "facts": list(self.facts),
                "label_added": self.label_added}


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
    support: tuple[Support, ...] = ()  # the checked sentences of a generated answer that cite it
    doc_name: str = ""

    @classmethod
    def of(cls, hit: Hit, quote: str | None = None, support: tuple[Support, ...] = ()) -> "Citation":
        c = hit.clause
        return cls(c.doc_id, c.doc_title, c.clause_label, c.heading_path, c.text, quote, hit.score, support, c.doc_name)

    @property
    def citation_label(self) -> str:
        return cite_label(self.doc_name, self.clause_label)

    def to_json(self) -> dict:
        return {
            "doc": self.doc_id,
            "doc_title": self.doc_title,
            "label": self.clause_label,
            "cite": self.citation_label,
            "path": " › ".join(((f"《{self.doc_name}》",) if self.doc_name else ()) + self.heading_path),
            "text": self.clause_text,
            "quote": self.quote,
            "score": round(self.score, 4),
            "support": [s.to_json() for s in self.support],
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
