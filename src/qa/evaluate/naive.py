"""The naive comparison pipeline: what most people build first.

Fixed-size chunks from llama-index's `SentenceSplitter` over the same cleaned
documents, dense-only retrieval with the same embedding model in an in-memory
`VectorStoreIndex`, and as the answer the first sentences of the top chunk.
It never refuses and has no conversation memory. Run beside the assistant it
shows what clause structure, hybrid retrieval and refusals are worth.

Chunk size: 256 tokens of llama-index's default tokenizer (tiktoken
cl100k_base, bundled with llama-index, so no download) with 32 tokens of
overlap. Chinese runs at ~1.2 such tokens per character here, so a chunk is
~200 characters: the size of a typical clause in this corpus, and well inside
the 480 characters the embedder reads. That keeps the comparison about
chunking by size versus by structure, not about chunk length.

Chunks carry no clause label. Each chunk is mapped, by character offsets into
`Document.text`, to the clauses it overlaps; the clause with the largest
overlap is the chunk's label and its citation, so hit@k and citation metrics
are measured in the same clause labels as the assistant's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from qa.evaluate.metrics import RETRIEVAL_DEPTH, Observation
from qa.evaluate.questions import EvalQuestion
from qa.ingest.embed import Embedder, LlamaIndexEmbedding
from qa.ingest.index import read_corpus
from qa.text.sentences import SENTENCE
from qa.types import Answer, Citation, Clause, Document

CHUNK_SIZE = 256  # tokens (tiktoken cl100k_base): ~200 Chinese characters
CHUNK_OVERLAP = 32
ANSWER_SENTENCES = 2


@dataclass(frozen=True)
class Chunk:
    """A fixed-size piece of a document and the clause labels it overlaps (most overlap first)."""

    doc_id: str
    text: str
    start: int
    end: int
    labels: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.labels[0] if self.labels else ""


def overlapping_labels(start: int, end: int, clauses: Sequence[Clause]) -> tuple[str, ...]:
    """Labels of the clauses that share characters with [start, end), largest overlap first
    (ties keep document order)."""
    overlaps = [(min(end, c.end) - max(start, c.start), i, c.clause_label) for i, c in enumerate(clauses)]
    return tuple(label for size, _, label in sorted((o for o in overlaps if o[0] > 0), key=lambda o: (-o[0], o[1])))


def chunk_documents(documents: Sequence[Document], clauses: Sequence[Clause],
                    chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> list[Chunk]:
    """Split every document with `SentenceSplitter` and label each chunk by offset overlap."""
    from llama_index.core import Document as LlamaDocument
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    chunks: list[Chunk] = []
    for doc in documents:
        doc_clauses = [c for c in clauses if c.doc_id == doc.doc_id]
        cursor = 0
        for node in splitter.get_nodes_from_documents([LlamaDocument(text=doc.text, id_=doc.doc_id)]):
            text = node.get_content()
            start = node.start_char_idx
            if start is None or doc.text[start:start + len(text)] != text:
                # The splitter may report no offset; chunks appear in order, so search from the last one.
                found = doc.text.find(text, max(cursor - len(text), 0))
                start = found if found >= 0 else cursor
            end = start + len(text)
            cursor = start + 1
            chunks.append(Chunk(doc.doc_id, text, start, end, overlapping_labels(start, end, doc_clauses)))
    return chunks


def naive_answer_text(chunk_text: str, sentences: int = ANSWER_SENTENCES) -> str:
    """The first `sentences` sentences of a chunk, as a naive pipeline would show them."""
    found = [m.group().strip() for m in SENTENCE.finditer(chunk_text) if m.group().strip()]
    return "".join(found[:sentences])


class NaivePipeline:
    """Chunks + dense retrieval + top-chunk answer, evaluated like the assistant."""

    name = "naive"
    backend = "top-chunk"

    def __init__(self, documents: Sequence[Document], clauses: Sequence[Clause], embedder: Embedder,
                 chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP):
        from llama_index.core import VectorStoreIndex
        from llama_index.core.schema import TextNode

        self.chunks = chunk_documents(documents, clauses, chunk_size, chunk_overlap)
        self.chunk_size, self.chunk_overlap = chunk_size, chunk_overlap
        self._clauses = {(c.doc_id, c.clause_label): c for c in clauses}
        self._titles = {d.doc_id: d.title for d in documents}
        nodes = [TextNode(id_=f"chunk-{i}", text=chunk.text, metadata={"doc_id": chunk.doc_id, "ordinal": i})
                 for i, chunk in enumerate(self.chunks)]
        # embed_model given explicitly and no LLM is ever asked for, so llama-index
        # never reaches for its OpenAI defaults.
        self._index = VectorStoreIndex(nodes, embed_model=LlamaIndexEmbedding(embedder))

    @classmethod
    def from_corpus(cls, corpus_dir: Path, embedder: Embedder, **options) -> "NaivePipeline":
        """Build from the corpus folder, cleaned by the same loader the assistant uses."""
        corpus = read_corpus([Path(corpus_dir)])
        documents, clauses = list(corpus.documents), list(corpus.clauses)
        return cls(documents, clauses, embedder, **options)

    def retrieve(self, question: str, doc_id: str | None = None, top_k: int = RETRIEVAL_DEPTH) -> list[tuple[Chunk, float]]:
        """The `top_k` chunks most similar to `question`."""
        from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters

        filters = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=doc_id)]) if doc_id else None
        retriever = self._index.as_retriever(similarity_top_k=top_k, filters=filters)
        found = retriever.retrieve(question)
        return [(self.chunks[n.node.metadata["ordinal"]], float(n.score or 0.0)) for n in found]

    def observe(self, question: EvalQuestion) -> Observation:
        """Retrieve once; the ranking (chunk labels, duplicates dropped) and the answer both come from it.

        The naive pipeline ignores history, as a plain retrieve-and-show loop does.
        """
        started = time.perf_counter()
        ranked = self.retrieve(question.question, question.doc)
        answer = self._answer(question.question, ranked)
        latency = (time.perf_counter() - started) * 1000
        labels = tuple(dict.fromkeys(chunk.label for chunk, _ in ranked if chunk.label))
        return Observation(labels, answer, latency)

    def _answer(self, question: str, ranked: list[tuple[Chunk, float]]) -> Answer:
        if not ranked:
            return Answer(question, "", backend=self.backend)
        top, score = ranked[0]
        text = naive_answer_text(top.text)
        clause = self._clauses.get((top.doc_id, top.label))
        citations = ()
        if clause is not None:
            citations = (Citation(top.doc_id, self._titles.get(top.doc_id, ""), clause.clause_label,
                                  clause.heading_path, clause.text, text, score),)
        return Answer(question, text, citations, backend=self.backend)

    @property
    def config(self) -> dict:
        return {"chunker": "llama-index SentenceSplitter", "chunk_size_tokens": self.chunk_size,
                "chunk_overlap_tokens": self.chunk_overlap, "chunks": len(self.chunks),
                "retrieval": f"dense only, top {RETRIEVAL_DEPTH}", "answer": f"first {ANSWER_SENTENCES} sentences of the top chunk"}


__all__ = ["CHUNK_OVERLAP", "CHUNK_SIZE", "Chunk", "NaivePipeline", "chunk_documents", "naive_answer_text",
           "overlapping_labels"]
