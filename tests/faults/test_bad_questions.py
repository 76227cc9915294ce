"""Bad questions get a message, never a traceback, and a stdin batch goes on past a bad line.

Originally: invalid UTF-8 or lone surrogates in a question (argv or stdin) ended in a
UnicodeEncodeError traceback, a bad stdin line ended the whole batch, and `qa ask -` printed
its errors to stdout in text mode."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from qa import Assistant
from qa.cli.main import main
from qa.errors import BadQuestion
from tests.conftest import REPO

BAD = "宁夏\udcff\udcfe平台"  # what Python makes of the bytes ff fe in argv


@pytest.fixture
def index_flags(settings):
    Assistant(settings).ingest()
    return ["--index-dir", str(settings.index_dir), "--embedding-backend", "fake"]


def _run(capsys, monkeypatch, args, stdin: bytes | None = None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("question", [BAD, "\ud800", "问\udfff", "\udcff" * 3000])
def test_undecodable_question_in_argv_is_a_message(index_flags, capsys, monkeypatch, question):
    for flags in ([], ["--json"]):
        code, out, err = _run(capsys, monkeypatch, [*index_flags, "ask", *flags, question])
        assert code == 2 and "无法识别的字符" in err and out == "" and "Traceback" not in err


@pytest.mark.parametrize("command", [["find"], ["who"], ["show"], ["orgs", "--org"]])
def test_undecodable_arguments_of_other_commands_are_a_message(index_flags, capsys, monkeypatch, command):
    code, out, err = _run(capsys, monkeypatch, [*index_flags, *command, BAD])
    assert code == 2 and "无法识别的字符" in err and "Traceback" not in err


def test_a_500_line_stdin_batch_answers_every_good_line(index_flags, capsys, monkeypatch):
    good = ["宁夏共建研发平台", "新疆引进科研人才", "盐湖钾镁锂"]
    bad = [b"\xff\xfe\xfd", "宁夏".encode() + b"\x80", b"\xed\xa0\x80",  # invalid UTF-8, an encoded surrogate
           ("问" * 2001).encode(), b"   "]
    lines = [bad[i // 3 % len(bad)] if i % 3 == 2 else good[i % len(good)].encode() for i in range(500)]
    code, out, err = _run(capsys, monkeypatch, [*index_flags, "ask", "--json", "-"], b"\n".join(lines) + b"\n")
    rows = [json.loads(line) for line in out.splitlines()]
    expected_bad = sum(1 for i in range(500) if i % 3 == 2 and bad[i // 3 % len(bad)].strip())
    answered = [r for r in rows if "answer" in r]
    errors = [r for r in rows if "error" in r]
    assert code == 2 and "Traceback" not in err and len(errors) == expected_bad
    assert len(answered) == sum(1 for i in range(500) if i % 3 != 2)
    assert all(r["citations"] for r in answered)
    assert {r["error"].split("（")[0] for r in errors} == {"问题中有无法识别的字符", "问题过长"}


def test_text_mode_batch_prints_answers_to_stdout_and_errors_to_stderr(index_flags, capsys, monkeypatch):
    stdin = "宁夏共建研发平台\n".encode() + b"\xff\xfe\n" + "新疆引进科研人才\n".encode()
    code, out, err = _run(capsys, monkeypatch, [*index_flags, "ask", "-"], stdin)
    assert code == 2 and "错误" not in out and out.count("出处：") == 2
    assert err.strip() == "错误（第 2 行）：问题中有无法识别的字符（输入不是有效的 UTF-8 文字），请检查终端或文件的编码后重试。"


def test_raw_bytes_through_a_real_process(settings, tmp_path):
    """The same through a real `qa` process: argv bytes and a stdin that is not UTF-8."""
    Assistant(settings).ingest()
    base = [sys.executable, "-m", "tests.faults.runner", "--index-dir", str(settings.index_dir),
            "--embedding-backend", "fake", "ask"]
    argv = subprocess.run([*base, b"\xff\xfe"], cwd=REPO, capture_output=True, timeout=120)
    assert argv.returncode == 2 and "无法识别的字符" in argv.stderr.decode() and b"Traceback" not in argv.stderr
    batch = subprocess.run([*base, "--json", "-"], cwd=REPO, capture_output=True, timeout=120,
                           input="宁夏共建研发平台\n".encode() + b"\xc3\x28\n" + "盐湖钾镁锂\n".encode(),
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    rows = [json.loads(line) for line in batch.stdout.decode().splitlines()]
    assert [("error" in r) for r in rows] == [False, True, False] and b"Traceback" not in batch.stderr


def test_the_library_refuses_lone_surrogates_with_a_message(settings):
    with pytest.raises(BadQuestion):
        Assistant(settings).ask(BAD)
