"""The builds folder on disk: which build is live, which folders an ingest may delete, one ingest at a time.

    CURRENT                 name of the live build (replaced atomically)
    ingest.lock             held by the ingest that is writing
    builds/<name>/.qa-build marker written first into every build, holding its own name

A name read from CURRENT is trusted only when it is one plain path component
naming a folder under builds/: a CURRENT holding `.` or `../elsewhere` would
otherwise point the clean-up at folders the index does not own. Deleting
needs more: only a direct child of builds/ that carries our marker, naming
itself, is ever removed, so nothing an ingest did not create is touched.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from qa.errors import IndexBusy, IndexWriteFailed

CURRENT = "CURRENT"
BUILDS = "builds"
MARKER = ".qa-build"
LOCK = "ingest.lock"
_REASONS = {errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EACCES: "没有写入权限",
            errno.EPERM: "没有写入权限", errno.EROFS: "文件系统是只读的"}
_LOW_SPACE = 16 * 1024 * 1024  # bytes; a write that fails with less free space than this is blamed on the disk
# What our own build names look like (20260101-120000-1a2b3c4d), and nothing that can leave builds/.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


@dataclass(frozen=True)
class Pointer:
    """What CURRENT says: the live build, nothing yet, or why it cannot be used."""

    build_dir: Path | None = None
    problem: str = ""  # a Chinese clause naming what is wrong with CURRENT, when it is

    @property
    def names_something(self) -> bool:
        return self.build_dir is not None or bool(self.problem)


def read_pointer(index_dir: Path) -> Pointer:
    """The build CURRENT names, validated: one path component, an existing folder under builds/, text."""
    path = index_dir / CURRENT
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return Pointer()
    except OSError as error:
        return Pointer(problem=f"无法读取 {path}（{error.strerror or type(error).__name__}）")
    try:
        name = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Pointer(problem=f"{path} 已损坏（内容不是文字）")
    if not name:
        return Pointer()
    if not _NAME.fullmatch(name):
        return Pointer(problem=f"{path} 已损坏（{name[:40]!r} 不是有效的构建名）")
    build_dir = index_dir / BUILDS / name
    if build_dir.is_symlink() or not build_dir.is_dir():
        return Pointer(problem=f"{path} 指向的构建 {name} 不存在")
    return Pointer(build_dir)


def point_current(index_dir: Path, name: str) -> None:
    """Make build `name` the live one; readers see the old or the new name, never half of one."""
    tmp = index_dir / (CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())  # a crash right after the rename must not leave an empty CURRENT
    os.replace(tmp, index_dir / CURRENT)


def start_build(index_dir: Path, name: str) -> Path:
    """A fresh build folder carrying the marker that later lets clean-up delete it."""
    build_dir = index_dir / BUILDS / name
    build_dir.mkdir(parents=True, exist_ok=False)
    (build_dir / MARKER).write_text(name, encoding="utf-8")
    return build_dir


def made_by_ingest(folder: Path) -> bool:
    """True only for a real folder directly under builds/ whose marker names it."""
    if folder.is_symlink() or not folder.is_dir() or folder.parent.name != BUILDS:
        return False
    try:
        return (folder / MARKER).read_text(encoding="utf-8") == folder.name
    except (OSError, UnicodeDecodeError):
        return False


def remove_build(folder: Path) -> None:
    """Delete `folder` if an ingest made it; anything else is left alone."""
    if made_by_ingest(folder):
        shutil.rmtree(folder, ignore_errors=True)


def remove_abandoned(index_dir: Path, keep: Path | None) -> None:
    """Builds left by an interrupted ingest (never named in CURRENT). Only safe under the ingest lock:
    without it, another ingest's build in progress would look abandoned too."""
    builds = index_dir / BUILDS
    if not builds.is_dir():
        return
    for folder in builds.iterdir():
        if keep is None or folder.name != keep.name:
            remove_build(folder)


@contextmanager
def ingest_lock(index_dir: Path, wait_seconds: float, progress: Callable[[str], None]) -> Iterator[None]:
    """Hold the index's ingest lock: a second ingest says it waits, then proceeds or gives up with `IndexBusy`."""
    lock = FileLock(str(index_dir / LOCK), thread_local=False)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        if not _acquired(lock, 0):
            progress(f"另一个 qa ingest 正在更新 {index_dir}，等待它完成（最多 {wait_seconds:g} 秒）……")
            if not _acquired(lock, wait_seconds):
                raise IndexBusy(f"另一个 qa ingest 仍在更新 {index_dir}，已等待 {wait_seconds:g} 秒；"
                                f"现有索引不受影响，请稍后再运行 qa ingest。")
    except OSError as error:  # the index folder or its lock file cannot be created
        raise write_failure(index_dir, error, live=read_pointer(index_dir).build_dir is not None) from None
    try:
        yield
    finally:
        lock.release()


def _acquired(lock: FileLock, timeout: float) -> bool:
    # filelock's Timeout is an OSError: told apart here, before OSError means "cannot write".
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        return False
    return True


def write_failure(index_dir: Path, error: BaseException, live: bool) -> IndexWriteFailed:
    """The message for a build that could not be written: why, in words, and that nothing live changed."""
    reason = _REASONS.get(getattr(error, "errno", None))
    if reason is None:
        # Chroma reports a full disk as a compaction or database error: look at the disk itself.
        free = _free_bytes(index_dir)
        reason = f"磁盘空间不足（只剩 {free // 1024} KB）" if free is not None and free < _LOW_SPACE \
            else f"写入出错（{_detail(error)}）"
    kept = "现有索引保持不变，仍可提问" if live else "还没有可用的索引"
    return IndexWriteFailed(f"无法写入索引目录 {index_dir}：{reason}。{kept}；请腾出空间或修正权限后重新运行 qa ingest。")


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def _detail(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return f"{type(error).__name__}：{text[:80]}" if text else type(error).__name__
