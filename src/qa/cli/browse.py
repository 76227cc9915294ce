"""`qa show`, `qa find`, `qa docs`: the indexed documents and their clauses."""
from __future__ import annotations

import json

from qa.views import clause_json, found_json, works_json


def register(sub) -> None:
    p = sub.add_parser("show", help="显示一个条款，如 qa show 二（三）2")
    p.add_argument("label")
    p.add_argument("--doc")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_show)

    p = sub.add_parser("find", help="按关键词查找条款（精确匹配，空格分隔多个关键词）")
    p.add_argument("keywords", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_find)

    p = sub.add_parser("docs", help="列出已索引的文档（按作品和版本）及其条款")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_docs)


def run_show(assistant, args) -> int:
    clause = assistant.show(args.label, args.doc)
    if args.json:
        print(json.dumps(clause_json(clause), ensure_ascii=False))
    else:
        print(f"［{clause.citation_label}］《{clause.doc_title}》\n{clause.path_text}\n\n{clause.text}")
    return 0


def run_find(assistant, args) -> int:
    keywords = " ".join(args.keywords)
    hits = assistant.find(keywords)
    if args.json:
        print(json.dumps(found_json(hits), ensure_ascii=False))
    elif not hits:
        print(f"没有同时包含“{keywords}”中全部关键词的条款。")
    else:
        for h in hits:
            print(f"［{h.clause.citation_label}］{h.clause.path_text}（{int(h.score)} 处）")
    return 0


def run_docs(assistant, args) -> int:
    """Works with their versions (a law in two versions is one work; the newest answers by default)."""
    works = works_json(assistant.scoper.works, assistant.clauses)
    if args.json:
        print(json.dumps(works, ensure_ascii=False))
        return 0
    for work in works:
        several = len(work["versions"]) > 1
        name = work["work"] if "《" in work["work"] else f"《{work['work']}》"
        print(name + (f"（{len(work['versions'])} 个版本，默认依据最新版本）" if several else ""))
        for row in work["versions"]:
            state = ("（现行）" if row["latest"] else "（旧版）") if several else ""
            print(f"  {row['doc']}{state}\n    《{row['title']}》 {row['doc_number']} {row['date']}")
            if row["issuing_bodies"]:
                print(f"    {'通过/发文机关' if row['kind'] == 'law' else '发文单位'}：{'、'.join(row['issuing_bodies'])}")
            for line in row["history"]:
                print(f"    {line}")
            if row["source_url"]:
                print(f"    来源：{row['source_url']}")
            cite = f"，引用为［{row['cite_as']} …］" if row["cite_as"] else ""
            print(f"    条款（{len(row['clauses'])}{cite}）：{' '.join(row['clauses'])}")
    return 0
