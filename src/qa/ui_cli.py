"""`qa ui`: serve the Gradio app (`qa_ui.app`) — on 127.0.0.1:7860 unless told otherwise.

Kept apart from `cli.py` so that only `qa ui` pays for importing gradio.
"""
from __future__ import annotations

import argparse
import logging
import sys

from .errors import QAError


def add_ui_command(subparsers) -> argparse.ArgumentParser:
    """Add the `ui` subcommand to `qa`'s subparsers; its `run(assistant, args)` serves the app."""
    p = subparsers.add_parser("ui", help="启动网页界面（默认 http://127.0.0.1:7860，仅本机可访问）")
    p.add_argument("--host", help="监听地址（默认 127.0.0.1；或 $QA_UI_HOST）。0.0.0.0 会让局域网内其他机器也能访问")
    p.add_argument("--port", type=int, help="端口（默认 7860；或 $QA_UI_PORT）")
    p.add_argument("--auth", help="启用登录：用户名:密码（或 $QA_UI_AUTH，避免口令出现在进程列表中）")
    p.set_defaults(run=run_ui)
    return p


def run_ui(assistant, args: argparse.Namespace) -> int:
    """Serve the app until interrupted; flags override QA_UI_* and the config file."""
    flags = {"ui_host": args.host, "ui_port": args.port, "ui_auth": args.auth}
    settings = assistant.settings.replace(**{k: v for k, v in flags.items() if v is not None})
    if not 1 <= settings.ui_port <= 65535:
        raise QAError(f"端口 {settings.ui_port} 无效，应在 1 到 65535 之间。")
    try:
        from qa_ui.app import launch  # gradio loads in seconds: only here
    except ImportError as error:
        raise QAError(f"无法加载网页界面（{error}）。请在项目目录中执行 pip install -e . 安装依赖。") from None
    # Failed requests are logged with their traceback (the page only shows a short message).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"网页界面：http://{settings.ui_host}:{settings.ui_port}（Ctrl+C 退出）", file=sys.stderr)
    try:
        launch(settings, assistant)
    except OSError as error:  # port taken, address not on this machine
        raise QAError(f"无法在 {settings.ui_host}:{settings.ui_port} 启动网页界面：{error}") from None
    return 0
