"""`qa feedback export`: rated answers as candidate regression questions (eval/README.md format)."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("feedback", help="用户评价：导出为候选回归问题")
    actions = p.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="把带 👍/👎 的回答导出为评测格式的候选问题（需人工确认后加入问题集）")
    export.add_argument("--rating", choices=("up", "down"), help="只导出 👍（up）或 👎（down）的回答")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl（默认，评测格式）或 csv（Excel）")
    export.add_argument("--out", type=Path, help="写入文件（默认输出到标准输出）")
    export.add_argument("--data-dir", type=Path, help="对话与评价所在目录（默认 ~/.local/share/qa；或 $QA_DATA_DIR）")
    export.set_defaults(run=run_export)


def run_export(assistant, args) -> int:
    from qa.saved.export import candidates_csv, candidates_jsonl
    from qa.saved.store import Store

    rated = Store(assistant.settings.data_dir).rated_turns(args.rating)
    text = candidates_csv(rated) if args.format == "csv" else candidates_jsonl(rated)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"已导出 {len(rated)} 条评价到 {args.out}。", file=sys.stderr)
    return 0
