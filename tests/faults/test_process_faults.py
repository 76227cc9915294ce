"""kill -9 during an ingest and ingests at the same time never lose the live index.

Originally two ingests had no lock: one deleted the other's build in progress or the live build,
and with the right interleaving the second exited with a chromadb traceback. kill -9 already
held; these tests keep it so. Every case runs real `qa` processes (tests.faults.runner)."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from qa import Assistant
from tests.conftest import REPO
from tests.small_corpus import MORE, NOTICE, live_build
from tests.faults.runner import PAUSE_AT

# Where a build is killed, in the order an ingest reaches them (functions of qa.ingest.index).
KILL_POINTS = ["open_index", "_vectors_for", "_write_bm25", "write_vectors", "_write_json", "point_current",
               "remove_build"]


def _start(settings, *args, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.faults.runner", "--index-dir", str(settings.index_dir),
               "--corpus-dir", str(settings.corpus_dir), "--embedding-backend", "fake", *args]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def _wait_for(process: subprocess.Popen, text: str, seconds: float = 120) -> str:
    """Read the process's stderr until a line holds `text`; what was read."""
    seen = ""
    deadline = time.monotonic() + seconds
    poller = select.poll()  # not select(): a long test session holds descriptors past its limit of 1024
    poller.register(process.stderr, select.POLLIN)
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and process.poll() is None, f"never saw {text!r}; stderr so far: {seen!r}"
        if poller.poll(min(remaining, 1.0) * 1000):
            seen += os.read(process.stderr.fileno(), 65536).decode("utf-8", "replace")
    return seen


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    process.stdout.close()
    process.stderr.close()


def _answers_from(settings, clauses: int) -> None:
    fresh = Assistant(settings, auto_build=False)
    assert len(fresh.clauses) == clauses
    assert fresh.ask("宁夏共建研发平台").citations[0].clause_label == "二（一）"


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_at_each_point_of_a_build_keeps_a_live_index(settings, corpus, point):
    before = Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    process = _start(settings, "ingest", env={PAUSE_AT: point})
    _wait_for(process, f"paused at {point}")
    swapped = point == "remove_build"  # paused after the swap: the new build is the live one
    _answers_from(settings, 5 if swapped else 4)  # a question during the build is answered from the live index
    _kill(process)
    assert (live_build(settings).name == before.build) is not swapped
    _answers_from(settings, 5 if swapped else 4)
    after = Assistant(settings).ingest()  # the lock died with the process; the leftovers are ours to remove
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [after.build]
    _answers_from(settings, 5)


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0])
def test_kill_9_at_arbitrary_moments_keeps_a_live_index(settings, corpus, delay):
    before = Assistant(settings).ingest()
    for i in range(30):  # a bigger corpus, so the build takes a while
        (corpus / f"extra-{i}.txt").write_text(NOTICE.replace("宁夏", f"第{i}市") + MORE, encoding="utf-8")
    process = _start(settings, "ingest")
    time.sleep(delay)
    _kill(process)
    current = live_build(settings).name
    assert current == before.build or (settings.index_dir / "builds" / current / "manifest.json").exists()
    Assistant(settings, auto_build=False).ask("宁夏共建研发平台")  # whichever is live, it answers


def test_a_waiting_ingest_proceeds_when_the_running_one_is_killed(settings, corpus):
    before = Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    first = _start(settings, "ingest", env={PAUSE_AT: "write_vectors"})
    _wait_for(first, "paused at write_vectors")
    second = _start(settings, "ingest")
    _wait_for(second, "另一个 qa ingest 正在更新")
    assert live_build(settings).name == before.build
    _kill(first)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0 and "索引已更新" in out.decode() and b"Traceback" not in err
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [live_build(settings).name]
    _answers_from(settings, 5)


def test_a_second_ingest_that_cannot_wait_exits_with_a_message(settings, corpus):
    Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    first = _start(settings, "ingest", env={PAUSE_AT: "_write_bm25"})
    _wait_for(first, "paused at _write_bm25")
    second = _start(settings, "ingest", env={"QA_INGEST_LOCK_TIMEOUT": "1"})
    out, err = second.communicate(timeout=120)
    _kill(first)
    assert second.returncode == 7 and "已等待 1 秒" in err.decode() and b"Traceback" not in err
    _answers_from(settings, 4)


@pytest.mark.parametrize("round_", range(2))
def test_two_ingests_started_together_both_succeed_and_leave_one_build(settings, corpus, round_):
    Assistant(settings).ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE * (round_ + 1), encoding="utf-8")
    processes = [_start(settings, "ingest") for _ in range(2)]
    results = [p.communicate(timeout=180) for p in processes]
    for process, (out, err) in zip(processes, results):
        assert process.returncode == 0 and b"Traceback" not in err, err.decode()
    # Whichever got the lock second found the index already up to date.
    assert sorted(out.decode()[:5] for out, _ in results) == ["文档未变化", "索引已更新"]
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [live_build(settings).name]
    _answers_from(settings, 5)
