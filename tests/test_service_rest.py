"""The REST API: the CLI's `--json` shapes over HTTP, saved conversations, feedback, errors, /docs."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from qa.cli.main import main
from qa.owners.render import orgs_to_json, who_to_json
from qa.saved.store import Store
from qa_ui.server import create_app

SALT = "如何打造世界级盐湖产业基地？"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def api(plan_assistant, store):
    with TestClient(create_app(plan_assistant.settings, plan_assistant, store, with_ui=False)) as client:
        yield client


def cli_json(monkeypatch, capsys, index_dir, *args):
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_ask_answers_as_the_cli_does_and_saves_the_turn(api, store, plan_index_dir, monkeypatch, capsys):
    reply = api.post("/api/ask", json={"question": SALT})
    assert reply.status_code == 200
    data = reply.json()
    cli = cli_json(monkeypatch, capsys, plan_index_dir, "ask", "--json", SALT)
    strip = lambda d: {k: v for k, v in d.items() if k not in ("timings_ms", "conversation_id", "turn_id")}  # noqa: E731
    assert strip(data) == strip(cli)
    saved = store.conversation(data["conversation_id"])
    assert [t.id for t in saved.turns] == [data["turn_id"]] and saved.title == SALT
    assert saved.turns[0].answer["citations"][0]["label"] == "二（三）2"


def test_a_follow_up_in_a_saved_conversation_is_understood(api):
    first = api.post("/api/ask", json={"question": SALT}).json()
    second = api.post("/api/ask", json={"question": "那西藏呢？", "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert "西藏" in second["standalone_question"]
    conversation = api.get(f"/api/conversations/{first['conversation_id']}").json()
    assert [t["question"] for t in conversation["turns"]] == [SALT, "那西藏呢？"]
    listed = api.get("/api/conversations").json()
    assert listed[0]["id"] == first["conversation_id"] and listed[0]["turns"] == 2
    assert api.delete(f"/api/conversations/{first['conversation_id']}").status_code == 204
    assert api.get(f"/api/conversations/{first['conversation_id']}").status_code == 404


def test_feedback_is_stored_against_the_turn(api, store):
    turn = api.post("/api/ask", json={"question": "绩效评估委托给哪个单位？"}).json()["turn_id"]
    given = api.post("/api/feedback", json={"turn_id": turn, "rating": "down", "comment": "应当写明委托方"})
    assert given.status_code == 200
    assert {k: given.json()[k] for k in ("turn_id", "rating", "comment")} == {
        "turn_id": turn, "rating": "down", "comment": "应当写明委托方"}
    assert [r.turn.id for r in store.rated_turns("down")][-1] == turn
    unknown = api.post("/api/feedback", json={"turn_id": 999999, "rating": "up"})
    assert unknown.status_code == 404 and "999999" in unknown.json()["error"]["message"]
    assert api.post("/api/feedback", json={"turn_id": turn, "rating": "meh"}).status_code == 422


def test_browsing_routes_return_the_cli_json(api, plan_assistant, plan_index_dir, monkeypatch, capsys):
    assert api.get("/api/documents").json() == cli_json(monkeypatch, capsys, plan_index_dir, "docs", "--json")
    clause = api.get("/api/clauses/east-west-plan-2022-plan/二(三)2").json()
    assert clause == cli_json(monkeypatch, capsys, plan_index_dir, "show", "二（三）2", "--json")
    assert api.get("/api/who", params={"q": "盐湖产业"}).json() == who_to_json(plan_assistant.who("盐湖产业"))
    orgs = api.get("/api/orgs", params={"org": "工信部"}).json()
    assert orgs == orgs_to_json(plan_assistant.orgs("工信部")) and orgs[0]["name"] == "工业和信息化部"
    found = api.get("/api/search", params={"q": "盐湖 青海", "mode": "keywords"}).json()
    assert found == cli_json(monkeypatch, capsys, plan_index_dir, "find", "盐湖", "青海", "--json")
    hits = api.get("/api/search", params={"q": SALT, "top_k": 3}).json()
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["label"] == "二（三）2"


@pytest.mark.parametrize("method, path, body, status, words", [
    ("post", "/api/ask", {"question": " "}, 400, "问题不能为空"),
    ("get", "/api/clauses/east-west-plan-2022-plan/九（九）", None, 404, "没有编号为 九（九） 的条款"),
    ("get", "/api/conversations/nope", None, 404, "没有编号为 nope 的对话"),
    ("post", "/api/ask", {"question": SALT, "top_k": 0}, 422, "top_k"),
    ("get", "/api/who", None, 422, "q"),
])
def test_errors_are_one_shape_with_a_chinese_message(api, method, path, body, status, words):
    reply = getattr(api, method)(path, **({"json": body} if body is not None else {}))
    assert reply.status_code == status
    assert words in reply.json()["error"]["message"]


def test_docs_list_every_rest_route(api):
    page = api.get("/docs")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text and "cdn" not in page.text
    for route in ("/v1/chat/completions", "/v1/models", "/api/ask", "/api/search", "/api/documents",
                  "/api/clauses/{doc}/{label}", "/api/orgs", "/api/who", "/api/feedback", "/api/conversations"):
        assert f"<code>{route}</code>" in page.text
    assert "/api/ask" in api.get("/openapi.json").json()["paths"]


def test_the_chat_page_is_served_at_the_root(plan_assistant, store):
    with TestClient(create_app(plan_assistant.settings, plan_assistant, store)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<html" in page.text
        assert client.get("/v1/models").json()["data"][0]["id"] == "qa"


def test_a_conversation_exports_as_markdown_and_word(api):
    asked = api.post("/api/ask", json={"question": SALT}).json()
    markdown = api.get(f"/api/conversations/{asked['conversation_id']}/export")
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert "filename*=UTF-8''" in markdown.headers["content-disposition"]
    assert "［二（三）2］[^1]" in markdown.text and "[^1]: ［二（三）2］" in markdown.text
    word = api.get(f"/api/conversations/{asked['conversation_id']}/export", params={"format": "docx"})
    assert word.status_code == 200 and word.content[:2] == b"PK"  # a zip: .docx
