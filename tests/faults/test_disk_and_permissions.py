"""A full disk or a permission error during ingest: a clear message, and the previous index still live.

Originally a full disk ended in a chromadb traceback (`Error in compaction: Failed to apply logs to
the metadata segment`). The real full disk is a small tmpfs, where this machine lets us mount one;
the other cases raise the OSError a full or read-only disk raises, at each point where a build writes."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections import namedtuple

import pytest

from qa import Assistant
from qa.cli.main import main
from qa.errors import IndexWriteFailed
from qa.ingest import builds as builds_module
from qa.ingest import index as index_module
from qa.ingest.store import VectorWriteFailed
from tests.small_corpus import MORE, NOTICE, live_build


def _fail_with(error):
    def fail(*args, **kwargs):
        raise error
    return fail


FULL = OSError(errno.ENOSPC, "No space left on device")
POINTS = ["start_build", "_write_bm25", "write_vectors", "_write_json", "point_current"]


def _assert_previous_index_live(settings, before):
    assert live_build(settings).name == before.build
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [before.build]  # the partial build went
    answer = Assistant(settings, auto_build=False).ask("宁夏共建研发平台")
    assert answer.citations[0].clause_label == "二（一）" and len(Assistant(settings, auto_build=False).clauses) == 4


@pytest.mark.parametrize("point", POINTS)
def test_disk_full_at_each_write_is_a_message_and_the_old_index_stays(settings, corpus, monkeypatch, capsys, point):
    before = Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    monkeypatch.setattr(index_module, point, _fail_with(FULL))
    code = main(["--index-dir", str(settings.index_dir), "--corpus-dir", str(corpus), "--embedding-backend", "fake",
                 "ingest"])
    err = capsys.readouterr().err
    assert code == IndexWriteFailed.exit_code and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (f"错误：无法写入索引目录 {settings.index_dir}：磁盘空间不足。现有索引保持不变，仍可提问；"
                           f"请腾出空间或修正权限后重新运行 qa ingest。")
    monkeypatch.undo()
    _assert_previous_index_live(settings, before)


def test_a_chroma_compaction_error_on_a_nearly_full_disk_is_blamed_on_the_disk(settings, corpus, monkeypatch):
    before = Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    compaction = VectorWriteFailed("Error in compaction: Failed to apply logs to the metadata segment")
    monkeypatch.setattr(index_module, "write_vectors", _fail_with(compaction))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(builds_module.shutil, "disk_usage", lambda path: usage(10 << 20, 10 << 20, 4096))
    with pytest.raises(IndexWriteFailed) as caught:
        Assistant(settings).ingest()
    assert "磁盘空间不足（只剩 4 KB）" in str(caught.value)
    monkeypatch.undo()
    _assert_previous_index_live(settings, before)


@pytest.mark.parametrize("error, reason", [
    (PermissionError(errno.EACCES, "Permission denied"), "没有写入权限"),
    (OSError(errno.EROFS, "Read-only file system"), "文件系统是只读的"),
    (OSError(errno.EIO, "Input/output error"), "写入出错（OSError：Input/output error）"),
])
def test_permission_and_other_write_errors_are_messages(settings, corpus, monkeypatch, error, reason):
    before = Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    monkeypatch.setattr(index_module, "_write_json", _fail_with(error))
    with pytest.raises(IndexWriteFailed) as caught:
        Assistant(settings).ingest()
    assert reason in str(caught.value) and "现有索引保持不变" in str(caught.value)
    monkeypatch.undo()
    _assert_previous_index_live(settings, before)


def test_an_index_folder_that_cannot_be_created_is_a_message(settings, monkeypatch, capsys):
    monkeypatch.setattr(builds_module.FileLock, "acquire", _fail_with(PermissionError(errno.EACCES, "denied")))
    code = main(["--index-dir", str(settings.index_dir), "--corpus-dir", str(settings.corpus_dir),
                 "--embedding-backend", "fake", "ingest"])
    err = capsys.readouterr().err
    assert code == IndexWriteFailed.exit_code and "没有写入权限" in err and "还没有可用的索引" in err
    assert "Traceback" not in err


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, where the machine lets this user mount one (root in a container that allows it)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root; the simulated full-disk tests above cover the same code")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not allow mount: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_really_full_disk(settings, corpus, small_disk, capsys):
    on_disk = settings.replace(index_dir=small_disk / "index")
    before = Assistant(on_disk).ingest()
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 64 * 1024))  # a build needs a few hundred KB
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    code = main(["--index-dir", str(on_disk.index_dir), "--corpus-dir", str(corpus), "--embedding-backend", "fake",
                 "ingest"])
    err = capsys.readouterr().err
    assert code == IndexWriteFailed.exit_code and "磁盘空间不足" in err and "Traceback" not in err, err
    _assert_previous_index_live(on_disk, before)
    (small_disk / "filler").unlink()
    assert Assistant(on_disk).ingest().status == "built"  # space back: the next ingest just works
