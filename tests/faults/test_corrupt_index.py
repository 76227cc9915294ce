"""A damaged index is a clear error on ask, and `qa ingest` rebuilds it with no manual step.

Originally a half-truncated or overwritten chroma.sqlite3 gave a chromadb traceback on ask and
on ingest (which could not rebuild until the folder was deleted by hand), and a binary CURRENT
gave a UnicodeDecodeError traceback."""
from __future__ import annotations

import os
import shutil

import pytest

from qa import Assistant
from qa.cli.main import main
from tests.small_corpus import live_build


def _truncate_half(path):
    os.truncate(path, path.stat().st_size // 2)


def _overwrite_start(path):
    with open(path, "r+b") as handle:
        handle.write(os.urandom(min(path.stat().st_size, 64 * 1024)))


DAMAGE = {
    "sqlite-truncated": lambda b, i: _truncate_half(b / "chroma" / "chroma.sqlite3"),
    "sqlite-overwritten": lambda b, i: _overwrite_start(b / "chroma" / "chroma.sqlite3"),
    "sqlite-emptied": lambda b, i: (b / "chroma" / "chroma.sqlite3").write_bytes(b""),
    "sqlite-missing": lambda b, i: (b / "chroma" / "chroma.sqlite3").unlink(),
    "chroma-missing": lambda b, i: shutil.rmtree(b / "chroma"),
    "manifest-garbage": lambda b, i: (b / "manifest.json").write_bytes(b"\x00garbage"),
    "clauses-truncated": lambda b, i: _truncate_half(b / "clauses.json"),
    "vectors-truncated": lambda b, i: _truncate_half(b / "vectors.npy"),
    "bm25-missing": lambda b, i: shutil.rmtree(b / "bm25"),
    "current-binary": lambda b, i: (i / "CURRENT").write_bytes(b"\xff\xfe\x00\x01\x89PNG"),
    "current-dangling": lambda b, i: (i / "CURRENT").write_text("20990101-000000-00000000\n", encoding="utf-8"),
    "current-a-path": lambda b, i: (i / "CURRENT").write_text("builds/../..\n", encoding="utf-8"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_index_is_a_clear_error_and_ingest_rebuilds_it(settings, corpus, capsys, damage):
    Assistant(settings).ingest()
    DAMAGE[damage](live_build(settings), settings.index_dir)
    flags = ["--index-dir", str(settings.index_dir), "--corpus-dir", str(corpus), "--embedding-backend", "fake"]

    code = main([*flags, "ask", "宁夏共建研发平台"])
    out, err = capsys.readouterr()
    assert code == 5 and err.startswith("错误：") and "qa ingest" in err, err
    assert "Traceback" not in out + err and "chromadb" not in err

    code = main([*flags, "ingest"])
    out, err = capsys.readouterr()
    assert code == 0 and "索引已更新" in out and "Traceback" not in err, err
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [live_build(settings).name]

    code = main([*flags, "ask", "--json", "宁夏共建研发平台"])
    assert code == 0 and '"label": "二（一）"' in capsys.readouterr().out
