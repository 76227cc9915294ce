"""`qa diff 科学技术普及法`: what changed between two versions of a law, article by article."""
from __future__ import annotations

import json

from qa.ingest.diff import ArticleChange, SentenceChange, Span, VersionDiff

_KIND_NAMES = {"changed": "修改", "added": "新增", "removed": "删除", "unchanged": "未变"}


def register(sub) -> None:
    p = sub.add_parser("diff", help="比较一部法律的两个版本：按内容对齐条文，列出新增、删除、修改的条文")
    p.add_argument("work", help="法律名称或简称，如 科学技术普及法、科普法")
    p.add_argument("--from", dest="old", help="旧版本的年份或文档编号（默认：最新版本的前一版）")
    p.add_argument("--to", dest="new", help="新版本的年份或文档编号（默认：最新版本）")
    p.add_argument("--all", action="store_true", help="也列出未变的条文")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_diff)


def run_diff(assistant, args) -> int:
    diff = assistant.diff(args.work, args.old, args.new)
    if args.json:
        print(json.dumps(diff_to_json(diff), ensure_ascii=False))
    else:
        work = next(w for w in assistant.scoper.works if diff.new_doc in w.doc_ids)
        name = {d.doc_id: f"《{work.name}》{work.version_phrase(d)}" for d in work.versions}
        print(format_diff(diff, name[diff.old_doc], name[diff.new_doc], args.all))
    return 0


def diff_to_json(diff: VersionDiff) -> dict:
    return {
        "old": diff.old_doc, "new": diff.new_doc,
        "counts": {kind: len(diff.of_kind(kind)) for kind in _KIND_NAMES},
        "articles": [_article_json(a) for a in diff.articles],
    }


def _article_json(change: ArticleChange) -> dict:
    return {
        "kind": change.kind,
        "old_label": change.old.clause_label if change.old else None,
        "new_label": change.new.clause_label if change.new else None,
        "renumbered": change.renumbered,
        "similarity": round(change.similarity, 3),
        "old_text": change.old.text if change.old else None,
        "new_text": change.new.text if change.new else None,
        "sentences": [{"old": s.old, "new": s.new, "old_spans": _spans_json(s.old_spans),
                       "new_spans": _spans_json(s.new_spans)} for s in change.sentences],
    }


def _spans_json(spans: tuple[Span, ...]) -> list[dict]:
    return [{"text": s.text, "changed": s.changed} for s in spans]


def format_diff(diff: VersionDiff, old_name: str, new_name: str, show_unchanged: bool = False) -> str:
    """The changes as text: changed parts of a sentence as [-旧-] and {+新+}."""
    counts = {kind: len(diff.of_kind(kind)) for kind in _KIND_NAMES}
    renumbered = sum(a.renumbered for a in diff.of_kind("unchanged"))
    lines = [f"{old_name} → {new_name}",
             f"修改 {counts['changed']} 条，新增 {counts['added']} 条，删除 {counts['removed']} 条，"
             f"未变 {counts['unchanged']} 条（其中 {renumbered} 条仅编号变化）。按内容对齐，不按编号。"]
    for change in diff.articles:
        if change.kind == "unchanged" and not show_unchanged:
            continue
        lines.append("")
        lines.append(_heading(change))
        if change.kind == "changed":
            lines.extend(_sentence_lines(s) for s in change.sentences)
        elif change.kind in ("added", "removed", "unchanged"):
            lines.append("  " + (change.new or change.old).text.replace("\n", "\n  "))
    return "\n".join(lines)


def _heading(change: ArticleChange) -> str:
    old = change.old.clause_label if change.old else "—"
    new = change.new.clause_label if change.new else "—"
    return f"【{_KIND_NAMES[change.kind]}】旧 {old} → 新 {new}"


def _sentence_lines(change: SentenceChange) -> str:
    old = "".join(f"[-{s.text}-]" if s.changed else s.text for s in change.old_spans)
    new = "".join(f"{{+{s.text}+}}" if s.changed else s.text for s in change.new_spans)
    return f"  旧：{old or '（无）'}\n  新：{new or '（无）'}"
