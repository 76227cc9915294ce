"""The index folder is the only thing an ingest deletes, and ingests take turns.

Originally: a CURRENT of `../../victim-data` made `qa ingest` delete that folder, a CURRENT of `.`
deleted all of builds/ including the build just made live, and two ingests at once deleted each
other's builds."""
from __future__ import annotations

import threading

import pytest

from qa import Assistant
from qa.cli.main import main
from qa.errors import IndexBusy
from qa.ingest.builds import MARKER, ingest_lock
from tests.small_corpus import MORE, NOTICE, live_build


def _change(corpus):
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")


@pytest.mark.parametrize("pointer", ["../../victim-data", "../victim-data", "/tmp", "victim-data/..", "~"])
def test_a_current_pointing_outside_builds_deletes_nothing_there(settings, corpus, tmp_path, pointer):
    Assistant(settings).ingest()
    victim = tmp_path / "victim-data"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    (settings.index_dir / "CURRENT").write_text(pointer + "\n", encoding="utf-8")
    _change(corpus)
    report = Assistant(settings).ingest()
    assert (victim / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert live_build(settings).name == report.build and report.status == "built"
    assert Assistant(settings, auto_build=False).ask("成果跨区域转化").citations[0].clause_label == "二（三）"


def test_a_current_of_dot_keeps_the_build_just_made_live(settings, corpus):
    Assistant(settings).ingest()
    (settings.index_dir / "CURRENT").write_text(".\n", encoding="utf-8")
    _change(corpus)
    report = Assistant(settings).ingest()
    assert live_build(settings).is_dir() and live_build(settings).name == report.build
    assert len(Assistant(settings, auto_build=False).clauses) == 5


def test_an_unusable_current_is_a_clear_error_on_ask(settings, capsys):
    Assistant(settings).ingest()
    (settings.index_dir / "CURRENT").write_text("../../victim-data\n", encoding="utf-8")
    code = main(["--index-dir", str(settings.index_dir), "--embedding-backend", "fake", "ask", "宁夏"])
    err = capsys.readouterr().err
    assert code == 5 and "不是有效的构建名" in err and "qa ingest" in err and "Traceback" not in err


def test_clean_up_leaves_folders_it_did_not_create(settings, corpus, tmp_path):
    Assistant(settings).ingest()
    builds = settings.index_dir / "builds"
    foreign = builds / "20200101-000000-deadbeef"  # looks like a build, but has no marker
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("mine", encoding="utf-8")
    (builds / "link").symlink_to(outside, target_is_directory=True)
    forged = builds / "forged"  # a marker naming another folder is no proof
    forged.mkdir()
    (forged / MARKER).write_text("something-else", encoding="utf-8")
    _change(corpus)
    report = Assistant(settings).ingest()
    names = sorted(p.name for p in builds.iterdir())
    assert names == sorted([report.build, foreign.name, "link", "forged"])  # the old live build is gone
    assert (outside / "data.txt").exists() and (foreign / "notes.txt").exists()


def test_a_second_ingest_waits_with_a_message_then_proceeds(settings, corpus):
    Assistant(settings).ingest()
    _change(corpus)
    messages: list[str] = []
    waiting = threading.Event()
    done: list = []

    def second():
        def progress(message):
            messages.append(message)
            if "等待" in message:
                waiting.set()
        done.append(Assistant(settings, progress=progress).ingest())

    with ingest_lock(settings.index_dir, 1, lambda message: None):  # as if another ingest were running
        worker = threading.Thread(target=second)
        worker.start()
        assert waiting.wait(30), messages
        assert not done  # still waiting while the lock is held
    worker.join(60)
    assert done and done[0].status == "built" and live_build(settings).name == done[0].build
    assert any("另一个 qa ingest 正在更新" in m for m in messages)


def test_a_second_ingest_gives_up_after_its_timeout_with_a_message(settings, corpus, capsys, monkeypatch):
    first = Assistant(settings).ingest()
    _change(corpus)
    monkeypatch.setenv("QA_INGEST_LOCK_TIMEOUT", "0.2")
    with ingest_lock(settings.index_dir, 1, lambda message: None):
        with pytest.raises(IndexBusy) as caught:
            Assistant(settings.replace(ingest_lock_timeout=0.2)).ingest()
        code = main(["--index-dir", str(settings.index_dir), "--embedding-backend", "fake", "ingest", str(corpus)])
    err = capsys.readouterr().err
    assert "已等待 0.2 秒" in str(caught.value) and "现有索引不受影响" in str(caught.value)
    assert code == IndexBusy.exit_code and "另一个 qa ingest 正在更新" in err and "已等待 0.2 秒" in err
    assert "Traceback" not in err and live_build(settings).name == first.build
