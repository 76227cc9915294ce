"""`qa who` and `qa orgs`: which organisations own which measures."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("who", help="某项措施归哪些部门负责，如 qa who 盐湖产业")
    p.add_argument("query")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_who)

    p = sub.add_parser("orgs", help="方案中出现的单位及其角色")
    p.add_argument("--org", help="只看这个单位（可用简称，如 工信部）")
    p.add_argument("--label", help="只看这个条款中的单位，如 二（三）2")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true", help="输出 CSV（UTF-8 带 BOM，Excel 可直接打开）")
    p.set_defaults(run=run_orgs)


def run_who(assistant, args) -> int:
    from qa.owners.render import format_who, who_to_json

    result = assistant.who(args.query)
    print(json.dumps(who_to_json(result), ensure_ascii=False) if args.json else format_who(result))
    return 0


def run_orgs(assistant, args) -> int:
    from qa.owners.render import format_orgs, orgs_to_csv, orgs_to_json

    entries = assistant.orgs(args.org, args.label)
    if args.csv:
        sys.stdout.write(orgs_to_csv(entries))
    elif args.json:
        print(json.dumps(orgs_to_json(entries), ensure_ascii=False))
    else:
        print(format_orgs(entries))
    return 0
