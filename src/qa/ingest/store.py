"""The vector store: one Chroma collection per build, embedded or on a `chroma run` server.

Only vectors we computed go in (no embedding function), so Chroma never
tries to download its default model. The collection is reached through
llama-index's `ChromaVectorStore`, which retrieval queries.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

import numpy as np

from qa.errors import ConfigError, IndexUnavailable
from qa.secrets import mask_url
from qa.settings import Settings
from qa.types import Clause

# chromadb 1.5.9 refuses an add above its max batch size (5,461 embedded); used when a client cannot say.
FALLBACK_BATCH_SIZE = 5000
CHROMA_FOLDER = "chroma"  # inside a build folder, for the embedded store
SQLITE_FILE = "chroma.sqlite3"  # the embedded store's database, inside CHROMA_FOLDER


def collection_name(build: str) -> str:
    return f"qa-{build}"


class VectorWriteFailed(Exception):
    """Chroma could not store a build's vectors; a full disk shows up as a compaction or database error."""


def chroma_client(settings: Settings, build_dir: Path):
    """The embedded client under `build_dir`, or an HTTP client for `settings.chroma_url`.
    Starting an embedded client on a damaged database or a full disk raises chromadb's own errors."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(build_dir / CHROMA_FOLDER), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"chroma_url 应形如 http://127.0.0.1:8000，而不是 {mask_url(settings.chroma_url)!r}")
    try:
        return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                   ssl=url.scheme == "https", settings=chroma_settings)
    except Exception as error:  # chromadb raises bare ValueError/ConnectionError variants
        raise IndexUnavailable(f"无法连接 Chroma 服务 {mask_url(settings.chroma_url)}：{type(error).__name__}") from None


def write_vectors(settings: Settings, build_dir: Path, clauses: Sequence[Clause], texts: Sequence[str],
                  vectors: np.ndarray) -> None:
    """A new collection for the build holding every clause's vector, id and labels."""
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    nodes = [
        TextNode(id_=c.key, text=texts[i], embedding=vectors[i].tolist(),
                 metadata={"doc_id": c.doc_id, "clause_label": c.clause_label, "ordinal": i})
        for i, c in enumerate(clauses)
    ]
    try:
        client = chroma_client(settings, build_dir)
        collection = client.create_collection(collection_name(build_dir.name), metadata={"hnsw:space": "cosine"},
                                              embedding_function=None)
        vector_store = ChromaVectorStore(chroma_collection=collection)
        step = write_batch_size(client)
        for start in range(0, len(nodes), step):
            vector_store.add(nodes[start:start + step])
    except (IndexUnavailable, ConfigError):
        raise  # a server that cannot be reached, a malformed URL: their own messages
    except Exception as error:  # chromadb's error types for a failed write are its own and many
        raise VectorWriteFailed(str(error)) from error


def write_batch_size(client) -> int:
    """The most records one add may carry: the client's own limit (embedded and server), else a safe constant."""
    try:
        limit = int(client.get_max_batch_size())
    except Exception:  # an older server without the endpoint, or one that does not answer it
        return FALLBACK_BATCH_SIZE
    return limit if limit > 0 else FALLBACK_BATCH_SIZE


def open_vectors(settings: Settings, build_dir: Path, probe: np.ndarray, broken: str):
    """The build's collection as a llama-index vector store; `IndexUnavailable(broken)` when it is
    missing, damaged, or does not hold one vector per row of `probe`.

    A damaged store must be found here, not on the first question: the embedded SQLite file gets
    `PRAGMA quick_check`, and one query with a stored vector proves the vector index answers."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    if not settings.chroma_url:
        _check_sqlite(build_dir / CHROMA_FOLDER / SQLITE_FILE, broken)
    try:
        client = chroma_client(settings, build_dir)
        collection = client.get_collection(collection_name(build_dir.name), embedding_function=None)
        count = collection.count()
        if count:
            collection.query(query_embeddings=[probe[0].tolist()], n_results=1, include=[])
    except (IndexUnavailable, ConfigError):
        raise
    except Exception:  # chromadb reports missing collections and damaged files with many exception types
        raise IndexUnavailable(broken) from None
    if count != len(probe):
        raise IndexUnavailable(broken)
    return ChromaVectorStore(chroma_collection=collection)


def _check_sqlite(path: Path, broken: str) -> None:
    """`IndexUnavailable(broken)` unless `path` is an intact SQLite database (opened read-only)."""
    if not path.is_file():
        raise IndexUnavailable(broken)
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error:  # "file is not a database", "database disk image is malformed", …
        raise IndexUnavailable(broken) from None
    if not verdict or verdict[0] != "ok":
        raise IndexUnavailable(broken)


def drop_vectors(settings: Settings, build_dir: Path) -> None:
    """Delete a server-side collection of an old build (an embedded one goes with its folder)."""
    if settings.chroma_url:
        try:
            chroma_client(settings, build_dir).delete_collection(collection_name(build_dir.name))
        except Exception:  # an old collection we cannot delete costs space, not correctness
            pass
