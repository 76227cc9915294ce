"""`qa ingest`: build or update the index."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("ingest", help="建立或更新索引")
    p.add_argument("paths", nargs="*", type=Path, help="文件或目录（默认语料目录）")
    p.set_defaults(run=run)


def run(assistant, args) -> int:
    report = assistant.ingest(args.paths or None)
    for problem in (*report.skipped, *report.losses):
        print(f"警告：{problem}", file=sys.stderr)
    if report.status == "unchanged":
        print(f"文档未变化，沿用现有索引 {report.build}（{report.documents} 份文档，{report.clauses} 个条款）。")
    else:
        print(f"索引已更新：{report.documents} 份文档，{report.clauses} 个条款；新计算向量 {report.embedded} 个，"
              f"复用 {report.reused} 个；用时 {report.seconds:.1f} 秒。")
    return 0
