"""`qa serve`'s one FastAPI app: the OpenAI-compatible chat API under /v1, the REST API under
/api, their documentation at /docs (/openapi.json), and the chat page at /.

Bearer keys (`settings.api_keys`) guard /v1 and /api when set; the page keeps its own login
(`settings.ui_auth`). Nothing here fetches from the internet: the docs page is plain HTML.
"""
from __future__ import annotations

import html
import logging
import socket
import threading
from importlib.metadata import version

import gradio as gr
import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from qa import Assistant, Settings
from qa.saved.store import Store

from . import errors
from .app import TITLE, build_app, is_loopback, mount_options, parse_auth, warm_up
from .auth import require_key
from .openai_api import chat_router
from .rest import rest_router

log = logging.getLogger(__name__)

DESCRIPTION = ("带条款引用的政策文件问答。/v1 为 OpenAI 兼容接口（model：qa、qa-extractive、qa-llm），"
               "/api 为 REST 接口，返回与命令行 --json 相同的 JSON。设置了 QA_API_KEYS 时需要 "
               "Authorization: Bearer <密钥>。")


def serve(settings: Settings, assistant: Assistant) -> None:
    """Serve `create_app` on settings.ui_host:ui_port until interrupted."""
    _check_free(settings.ui_host, settings.ui_port)
    assistant.documents  # load (or build) the index before anything is served
    threading.Thread(target=warm_up, args=(assistant,), name="qa-warm-up", daemon=True).start()
    if not is_loopback(settings.ui_host) and not settings.api_key_set:
        log.warning("服务监听在 %s，局域网中的其他机器也能访问，且接口未设置密钥（QA_API_KEYS）。", settings.ui_host)
    uvicorn.run(create_app(settings, assistant), host=settings.ui_host, port=settings.ui_port, log_level="warning")


def _check_free(host: str, port: int) -> None:
    """An OSError now when the address is taken or not on this machine (uvicorn would only log it and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind((host, port))


def create_app(settings: Settings, assistant: Assistant, store: Store | None = None, *,
               with_ui: bool = True) -> FastAPI:
    """The service over `assistant`; conversations and feedback go to `store`
    (default: the SQLite file in `settings.data_dir`)."""
    store = store or Store(settings.data_dir)
    app = FastAPI(title=f"{TITLE} API", version=version("qa"), description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    errors.install(app)
    guard = [Depends(require_key(settings.api_key_set))]
    app.include_router(chat_router(assistant), dependencies=guard)
    app.include_router(rest_router(assistant, store), dependencies=guard)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> str:
        return docs_html(app.openapi())

    if with_ui:
        page = build_app(assistant, store).queue()
        gr.mount_gradio_app(app, page, path="/", auth=parse_auth(settings.ui_auth), **mount_options())
    return app


def docs_html(schema: dict) -> str:
    """The API's routes, their summaries and parameters, as one self-contained page."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            params = "、".join(p["name"] for p in operation.get("parameters", []))
            body = "（JSON 请求体）" if "requestBody" in operation else ""
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation.get('summary', ''))}</td>"
                        f"<td>{html.escape(params)}{body}</td></tr>")
    info = schema.get("info", {})
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(info.get("title", ""))}</title>'
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.6}"
            "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
            "</style></head><body>"
            f"<h1>{html.escape(info.get('title', ''))} <small>{html.escape(info.get('version', ''))}</small></h1>"
            f"<p>{html.escape(info.get('description', ''))}</p>"
            '<p>机器可读的接口说明：<a href="/openapi.json">/openapi.json</a></p>'
            "<table><thead><tr><th>方法</th><th>路径</th><th>说明</th><th>参数</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></body></html>")
