"""A two-notice corpus and settings whose builds are cheap (fake embedder), for tests of index builds."""
from __future__ import annotations

import pytest

from qa import Settings

NOTICE = ("关于推进科技合作的通知\n一、总体要求\n推动东西部科技合作，支持西部创新。\n二、重点任务\n"
          "（一）共建平台。支持宁夏与东部省市共建研发平台。\n（二）人才交流。支持新疆引进科研人才。")
OTHER = "关于盐湖产业的通知\n一、总体要求\n提升盐湖钾、镁、锂资源开发利用水平。"
MORE = "\n（三）成果转化。推动成果跨区域转化。"


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(NOTICE, encoding="utf-8")
    (folder / "b.txt").write_text(OTHER, encoding="utf-8")
    return folder


@pytest.fixture
def settings(tmp_path, corpus):
    # Not a test of embedding quality: the fake embedder keeps these builds cheap.
    return Settings.load({"index_dir": tmp_path / "index", "corpus_dir": corpus, "embedding_backend": "fake"},
                         env={})


def live_build(settings):
    """The folder CURRENT names."""
    return settings.index_dir / "builds" / (settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
