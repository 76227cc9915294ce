"""`qa ui` (the chat page alone) and `qa serve` (the page, the OpenAI-compatible API and the
REST API in one process) — on 127.0.0.1:7860 unless told otherwise.

The web shell is outside the library: it adds these commands to `qa` through the
`qa.commands` entry point, and only they pay for importing gradio.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from qa.errors import QAError
from qa.secrets import ScrubFilter


def register(subparsers) -> argparse.ArgumentParser:
    """Add the `ui` subcommand to `qa`'s subparsers; its `run(assistant, args)` serves the app."""
    p = subparsers.add_parser("ui", help="启动网页界面（默认 http://127.0.0.1:7860，仅本机可访问）")
    p.add_argument("--host", help="监听地址（默认 127.0.0.1；或 $QA_UI_HOST）。0.0.0.0 会让局域网内其他机器也能访问")
    p.add_argument("--port", type=int, help="端口（默认 7860；或 $QA_UI_PORT）")
    p.add_argument("--auth", help="启用登录：用户名:密码（或 $QA_UI_AUTH，避免口令出现在进程列表中）")
    p.set_defaults(run=run_ui)
    return p


def register_serve(subparsers) -> argparse.ArgumentParser:
    """Add the `serve` subcommand: the chat page at /, the OpenAI-compatible API at /v1, REST at /api."""
    p = subparsers.add_parser("serve", help="启动服务：网页界面、OpenAI 兼容接口 /v1 与 REST 接口 /api（文档见 /docs）")
    p.add_argument("--host", help="监听地址（默认 127.0.0.1；或 $QA_UI_HOST）。0.0.0.0 会让局域网内其他机器也能访问")
    p.add_argument("--port", type=int, help="端口（默认 7860；或 $QA_UI_PORT）")
    p.add_argument("--auth", help="网页登录：用户名:密码（或 $QA_UI_AUTH）；接口密钥用 $QA_API_KEYS")
    p.add_argument("--data-dir", type=Path, help="保存对话与评价的目录（默认 ~/.local/share/qa；或 $QA_DATA_DIR）")
    p.set_defaults(run=run_serve)
    return p


def _settings(assistant, args: argparse.Namespace):
    """The settings with the flags that were given applied."""
    flags = {"ui_host": args.host, "ui_port": args.port, "ui_auth": args.auth}
    settings = assistant.settings.replace(**{k: v for k, v in flags.items() if v is not None})
    if not 1 <= settings.ui_port <= 65535:
        raise QAError(f"端口 {settings.ui_port} 无效，应在 1 到 65535 之间。")
    return settings


def run_serve(assistant, args: argparse.Namespace) -> int:
    """Serve the page and the APIs until interrupted."""
    settings = _settings(assistant, args)
    try:
        from qa_ui.server import serve  # gradio and fastapi load in seconds: only here
    except ImportError as error:
        raise QAError(f"无法加载服务（{error}）。请在项目目录中执行 pip install -e . 安装依赖。") from None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = f"http://{settings.ui_host}:{settings.ui_port}"
    print(f"网页界面：{base}/  OpenAI 兼容接口：{base}/v1  接口文档：{base}/docs（Ctrl+C 退出）", file=sys.stderr)
    try:
        serve(settings, assistant)
    except OSError as error:
        raise QAError(f"无法在 {settings.ui_host}:{settings.ui_port} 启动服务：{error}") from None
    return 0


def run_ui(assistant, args: argparse.Namespace) -> int:
    """Serve the app until interrupted; flags override QA_UI_* and the config file."""
    settings = _settings(assistant, args)
    try:
        from qa_ui.app import launch  # gradio loads in seconds: only here
    except ImportError as error:
        raise QAError(f"无法加载网页界面（{error}）。请在项目目录中执行 pip install -e . 安装依赖。") from None
    # Failed requests are logged with their traceback (the page only shows a short message).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # no credential in the log, whatever a library puts there
        handler.addFilter(ScrubFilter(settings.secrets()))
    print(f"网页界面：http://{settings.ui_host}:{settings.ui_port}（Ctrl+C 退出）", file=sys.stderr)
    try:
        launch(settings, assistant)
    except OSError as error:  # port taken, address not on this machine
        raise QAError(f"无法在 {settings.ui_host}:{settings.ui_port} 启动网页界面：{error}") from None
    return 0
