"""`qa ask` and `qa chat`: questions in, cited answers out."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Iterator

from qa.errors import BadQuestion, QAError
from qa.settings import ANSWER_BACKENDS
from qa.text.encoding import has_undecodable, printable
from qa.types import Answer

UNDECODABLE_QUESTION = "问题中有无法识别的字符（输入不是有效的 UTF-8 文字），请检查终端或文件的编码后重试。"


def register(sub) -> None:
    p = sub.add_parser("ask", help="提问（“-” 表示从标准输入逐行读取问题）")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="输出 JSON（每个问题一行）")
    _answer_flags(p)
    p.set_defaults(run=run_ask)

    p = sub.add_parser("chat", help="多轮对话（输入 /clear 清空上下文，/quit 退出）")
    _answer_flags(p)
    p.set_defaults(run=run_chat)


def _answer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--doc", help="只在这份文档中检索")
    p.add_argument("--top-k", type=int)
    p.add_argument("--backend", choices=tuple(ANSWER_BACKENDS), help="回答方式（默认：配置了大模型则用 llm）")


def run_ask(assistant, args) -> int:
    if args.question == "-":
        return _ask_each_line(assistant, args)
    if args.json:
        answer = assistant.ask(args.question, doc_id=args.doc, top_k=args.top_k, backend=args.backend)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    _print_streamed(assistant, args.question, args)
    return 0


def _ask_each_line(assistant, args) -> int:
    """One question per stdin line, one JSON object (or text block) per question; the index loads once.
    A line that cannot be answered gets its message (JSON on stdout, text on stderr) and the batch goes on."""
    status = 0
    for number, line in enumerate(_stdin_lines(), start=1):
        if not line.strip():
            continue
        try:
            answer = assistant.ask(_decodable(line), doc_id=args.doc, top_k=args.top_k, backend=args.backend)
        except QAError as error:
            status = error.exit_code
            if args.json:
                print(json.dumps({"question": printable(line.strip()), "error": str(error)}, ensure_ascii=False),
                      flush=True)
            else:
                print(f"错误（第 {number} 行）：{error}", file=sys.stderr, flush=True)
            continue
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else format_answer(answer), flush=True)
    return status


def _stdin_lines() -> Iterator[str]:
    """Stdin line by line; bytes that are not UTF-8 become lone surrogates (found by `_decodable`)
    instead of a decoding error that would end the whole batch."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream put in place of stdin
        yield from sys.stdin
        return
    for data in raw:
        yield data.decode("utf-8", "surrogateescape")


def _decodable(question: str) -> str:
    if has_undecodable(question):
        raise BadQuestion(UNDECODABLE_QUESTION)
    return question


def _print_streamed(assistant, question: str, args, history=()) -> Answer:
    """Print an answer as it is verified, sentence by sentence, then its notices and sources.

    Only checked text ever reaches `on_token`, and it is exactly the final
    `Answer.text`; an answer that arrives whole (offline, or a fallback) is printed whole."""
    streamed = False

    def on_token(text: str) -> None:
        nonlocal streamed
        streamed = True
        print(text, end="", flush=True)

    answer = assistant.ask(question, history=history, doc_id=args.doc, top_k=args.top_k,
                           backend=args.backend, on_token=on_token)
    print("\n" + format_answer(answer, with_text=False) if streamed else format_answer(answer))
    return answer


def run_chat(assistant, args) -> int:
    """A REPL over one `Conversation`: follow-ups are understood from the earlier turns."""
    from qa.query.conversation import Conversation

    print("请输入问题（/clear 清空上下文，/quit 退出）。")
    conversation = Conversation()
    while True:
        try:
            line = input("\n问> ").strip()
        except EOFError:
            print()
            return 0
        except UnicodeDecodeError:  # a terminal that is not set to UTF-8
            print(f"错误：{UNDECODABLE_QUESTION}")
            continue
        if line in ("/quit", "/exit", "/q"):
            return 0
        if line == "/clear":
            conversation = Conversation()
            print("上下文已清空。")
            continue
        if not line:
            continue
        try:
            answer = _print_streamed(assistant, _decodable(line), args, conversation.history)
        except QAError as error:
            print(f"错误：{error}")
            continue
        conversation = conversation.after(answer)


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
            lines.append(f"  ［{c.citation_label}］《{c.doc_title}》 {' › '.join(c.heading_path)}")
    lines.append(f"回答方式：{ANSWER_BACKENDS.get(answer.backend, answer.backend)}")
    return "\n".join(lines)
