"""JSON views of documents, clauses and search hits: what `qa … --json` prints and the HTTP API returns.

The shapes are part of the CLI's contract: keys are only ever added.
"""
from __future__ import annotations

from typing import Sequence

from qa.types import Clause, Hit


def clause_json(clause: Clause) -> dict:
    """{"doc", "doc_title", "label", "path", "text", "start", "end"} (`qa show --json`)."""
    return {"doc": clause.doc_id, "doc_title": clause.doc_title, "label": clause.clause_label,
            "path": clause.path_text, "text": clause.text, "start": clause.start, "end": clause.end}


def found_json(hits: Sequence[Hit]) -> list[dict]:
    """Keyword matches (`qa find --json`): [{"doc", "label", "path", "text", "occurrences"}]."""
    return [{"doc": h.clause.doc_id, "label": h.clause.clause_label, "path": h.clause.path_text,
             "text": h.clause.text, "occurrences": int(h.score)} for h in hits]


def hits_json(hits: Sequence[Hit]) -> list[dict]:
    """Retrieval results, best first: [{"rank", "doc", "doc_title", "label", "path", "text", "score",
    "bm25_score", "dense_score"}]."""
    return [{"rank": rank, "doc": h.clause.doc_id, "doc_title": h.clause.doc_title, "label": h.clause.clause_label,
             "path": h.clause.path_text, "text": h.clause.text, "score": round(h.score, 4),
             "bm25_score": round(h.bm25_score, 4), "dense_score": round(h.dense_score, 4)}
            for rank, h in enumerate(hits, 1)]


def works_json(works, clauses: Sequence[Clause]) -> list[dict]:
    """The indexed works (`qa docs --json`, `/api/documents`): [{"work", "versions": [{"doc", "title",
    "kind", "cite_as", "doc_number", "date", "latest", "issuing_bodies", "history", "source_url",
    "clauses"}]}] — a law in two versions is one work; the newest answers by default."""
    out = []
    for work in works:
        versions = []
        for doc in work.versions:
            labels = [c.clause_label for c in clauses if c.doc_id == doc.doc_id]
            versions.append({"doc": doc.doc_id, "title": doc.title, "kind": doc.kind, "cite_as": doc.cite_as,
                             "doc_number": doc.doc_number, "date": doc.date, "latest": doc is work.latest,
                             "issuing_bodies": list(doc.issuing_bodies), "history": list(doc.history),
                             "source_url": doc.source_url, "clauses": labels})
        out.append({"work": work.name, "versions": versions})
    return out
