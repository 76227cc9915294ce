"""No credential in anything shown or logged, and the API key is sent even when the URL carries user-info.

Originally, with `user:password@` in QA_LLM_BASE_URL and an endpoint that echoes request headers,
`Authorization=Basic <base64 of user:password>` reached the notice, stderr, `qa chat` and `qa eval`
(the scrubber knew Bearer, not Basic); and httpx sent that Basic header instead of the API key."""
from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from qa import Assistant
from qa.cli.main import main
from qa.secrets import ScrubFilter, scrub
from tests.fake_openai import answer, echo_headers, status

KEY = "sk-proj-FAULTKEY0123456789abcdef"
USER, PASSWORD = "alice", "pa55-w0rd-XYZ"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
UI_PASSWORD = "ui-login-secret-42"
LEAKS = (KEY, PASSWORD, BASIC, UI_PASSWORD, KEY[8:])


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in LEAKS:
            assert secret not in text, f"{secret!r} leaked into: {text[:300]!r}"


@pytest.mark.parametrize("text", [
    f"Incorrect API key provided: {KEY}",
    f"Authorization: Bearer {KEY}",
    f"Authorization=Basic {BASIC}; Host=127.0.0.1",
    f"proxy-authorization: basic {BASIC}",
    f"{{\"api_key\": \"{KEY}\"}}",
    f"GET /v1/models?api_key={PASSWORD}&x=1",
    f"x-api-key: {PASSWORD}",
    f"POST https://{USER}:{PASSWORD}@llm.example/v1/chat/completions",
    f"POST https://{USER}:{PASSWORD.replace('-', '%2D')}@llm.example/v1",
    f"password={PASSWORD}",
    f"just the encoded pair {BASIC} somewhere",
    f"ui login {UI_PASSWORD} in a message",
])
def test_every_form_of_credential_is_scrubbed(text):
    cleaned = scrub(text, [KEY, f"{USER}:{PASSWORD}", PASSWORD, f"admin:{UI_PASSWORD}"])
    assert_clean(cleaned)
    assert "***" in cleaned


def test_ordinary_text_is_left_alone():
    text = "支持宁夏与东部省市共建研发平台［二（一）］。Basic research, token economy; key: 盐湖"
    assert scrub(text, ["abc"]) == text


def test_a_log_filter_scrubs_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter([KEY]))
    log = logging.getLogger("tests.faults.secrets")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"endpoint said Authorization=Basic {BASIC}")
        except RuntimeError:
            log.exception("calling %s with %s failed", f"https://{USER}:{PASSWORD}@h/v1", KEY)
    finally:
        log.removeHandler(handler)
    assert "calling https://***@h/v1" in stream.getvalue() and "RuntimeError" in stream.getvalue()
    assert_clean(stream.getvalue())


@pytest.fixture
def llm_env(settings, fake_llm, monkeypatch):
    """An index, and the LLM settings of the original report: user-info in the URL, a key, a UI login."""
    Assistant(settings).ingest()
    monkeypatch.setenv("QA_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("QA_EMBEDDING_BACKEND", "fake")
    monkeypatch.setenv("QA_LLM_BASE_URL", fake_llm.base_url.replace("http://", f"http://{USER}:{PASSWORD}@"))
    monkeypatch.setenv("QA_LLM_API_KEY", KEY)
    monkeypatch.setenv("QA_LLM_TIMEOUT", "5")
    monkeypatch.setenv("QA_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("QA_UI_AUTH", f"admin:{UI_PASSWORD}")
    return fake_llm


def test_the_api_key_is_sent_even_with_user_info_in_the_url(llm_env, capsys):
    llm_env.script(answer("支持宁夏与东部省市共建研发平台［二（一）］。"))
    assert main(["ask", "--json", "宁夏共建研发平台"]) == 0
    assert {r.headers.get("Authorization") for r in llm_env.requests} == {f"Bearer {KEY}"}


def test_without_a_key_the_url_user_info_is_the_credential(llm_env, monkeypatch, capsys):
    monkeypatch.delenv("QA_LLM_API_KEY")
    llm_env.script(answer("支持宁夏与东部省市共建研发平台［二（一）］。"))
    assert main(["ask", "--json", "宁夏共建研发平台"]) == 0
    assert {r.headers.get("Authorization") for r in llm_env.requests} == {f"Basic {BASIC}"}


@pytest.mark.parametrize("behaviour", [echo_headers(400), echo_headers(422), status(401)])
def test_no_credential_in_ask_output_notices_or_logs(llm_env, monkeypatch, capsys, caplog, behaviour):
    monkeypatch.delenv("QA_LLM_API_KEY")  # the URL's user-info is then what goes out, as Basic
    caplog.set_level(logging.DEBUG)
    llm_env.script(behaviour)
    code = main(["ask", "--json", "宁夏共建研发平台"])
    out, err = capsys.readouterr()
    notice = json.loads(out)["notices"][0]
    assert code == 0 and "大模型服务不可用" in notice
    code = main(["ask", "宁夏共建研发平台"])
    text_out, text_err = capsys.readouterr()
    assert code == 0 and "〔提示〕大模型服务不可用" in text_out
    assert any(f"Basic {BASIC}" in r.headers.get("Authorization", "") for r in llm_env.requests)  # it was sent…
    assert_clean(out, err, text_out, text_err, caplog.text)  # …and shown nowhere


def test_no_credential_in_a_batch_chat_or_eval(llm_env, monkeypatch, capsys, caplog, tmp_path):
    monkeypatch.delenv("QA_LLM_API_KEY")
    caplog.set_level(logging.DEBUG)
    llm_env.script(echo_headers(400))
    monkeypatch.setattr("sys.stdin", io.StringIO("宁夏共建研发平台\n新疆引进科研人才\n"))
    assert main(["ask", "-"]) == 0
    batch = capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("宁夏共建研发平台\n那新疆呢？\n/quit\n"))
    assert main(["chat"]) == 0
    chat = capsys.readouterr()
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "宁夏共建研发平台", "expected_labels": ["二（一）"],
                                     "key_facts": [["宁夏"]], "answerable": True, "type": "fact"},
                                    ensure_ascii=False) + "\n", encoding="utf-8")
    main(["eval", str(questions), "--backend", "llm", "--out", str(tmp_path / "out")])
    evaluation = capsys.readouterr()
    reports = [p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert "大模型服务不可用" in batch.out + chat.out
    assert_clean(batch.out, batch.err, chat.out, chat.err, evaluation.out, evaluation.err, caplog.text, *reports)


def test_settings_view_and_repr_hold_no_credential(llm_env):
    from qa import Settings

    settings = Settings.load()
    assert_clean(repr(settings), json.dumps(settings.public_view(), ensure_ascii=False))
    assert set(settings.secrets()) >= {KEY, f"admin:{UI_PASSWORD}", f"{USER}:{PASSWORD}", PASSWORD}
