"""JSON, CSV and plain-text views of ownership results (see qa.owners).

The JSON shapes are part of the CLI's contract: keys are only ever added.
"""
from __future__ import annotations

import csv
import io

from qa.owners.map import ROLE_NAMES, OrgEntry, OrgRole, WhoResult

PATH_SEPARATOR = " › "
CSV_HEADER = ("单位", "别名", "文件", "条款", "角色", "角色说明", "依据")


def _org_json(org: OrgRole) -> dict:
    return {"name": org.name, "aliases": list(org.aliases), "role": org.role,
            "role_name": org.role_name, "evidence": org.evidence}


def who_to_json(result: WhoResult) -> dict:
    """{"query", "notice", "no_owner_named",
        "measures": [{"doc", "label", "cite", "path", "names_owner", "orgs": [{"name", "aliases", "role", "role_name", "evidence"}]}],
        "inherited": [{"doc", "label", "path", "role", "role_name", "orgs": [...], "evidence"}]}"""
    return {
        "query": result.query,
        "notice": result.notice,
        "no_owner_named": result.no_owner_named,
        "measures": [{"doc": m.doc_id, "label": m.label, "cite": m.citation_label, "path": PATH_SEPARATOR.join(m.path),
                      "names_owner": m.names_owner, "orgs": [_org_json(o) for o in m.orgs]}
                     for m in result.measures],
        "inherited": [{"doc": i.doc_id, "label": i.label, "path": PATH_SEPARATOR.join(i.path),
                       "role": i.role, "role_name": i.role_name,
                       "orgs": [_org_json(o) for o in i.orgs], "evidence": i.evidence}
                      for i in result.inherited],
    }


def orgs_to_json(entries: list[OrgEntry]) -> list:
    """[{"name", "aliases", "mentions": [{"doc", "label", "cite", "path", "role", "role_name", "evidence"}]}]"""
    return [{"name": e.name, "aliases": list(e.aliases),
             "mentions": [{"doc": m.doc_id, "label": m.clause_label, "cite": m.citation_label,
                           "path": PATH_SEPARATOR.join(m.heading_path),
                           "role": m.role, "role_name": m.role_name, "evidence": m.evidence}
                          for m in e.mentions]}
            for e in entries]


def orgs_to_csv(entries: list[OrgEntry]) -> str:
    """One row per mention, Chinese header; starts with a UTF-8 BOM so Excel
    opens it as UTF-8 (write it with encoding="utf-8", not "utf-8-sig")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for e in entries:
        for m in e.mentions:
            writer.writerow((e.name, "、".join(e.aliases), m.doc_id, m.clause_label,
                             m.role, m.role_name, m.evidence))
    return "\ufeff" + buffer.getvalue()


def _display(name: str, aliases: tuple[str, ...]) -> str:
    return f"{name}（{'、'.join(aliases)}）" if aliases else name


def format_who(result: WhoResult) -> str:
    """Readable Chinese for `qa who`: each clause with the organisations it names,
    then the plan-wide owners, every line citing ［label］."""
    lines = [f"问题：{result.query}"]
    if result.measures:
        lines.append("")
        lines.append("相关条款点名的单位：")
    for m in result.measures:
        lines.append(f"［{m.citation_label}］{m.path[-1] if m.path else ''}")
        if not m.orgs:
            lines.append("  该条款没有点名任何单位。")
        # One evidence sentence usually names several parties: show it once, then who plays which role.
        by_evidence: dict[str, dict[str, list[str]]] = {}
        for o in m.orgs:
            by_evidence.setdefault(o.evidence, {}).setdefault(o.role_name, []).append(o.name)
        for evidence, roles in by_evidence.items():
            lines.append(f"  依据：「{evidence}」")
            lines.extend(f"    {role}：{'、'.join(names)}" for role, names in roles.items())
        if m.orgs and not m.names_owner:
            lines.append("  该条款没有点名牵头或负责的部门。")
    if result.notice:
        lines.extend(["", result.notice])
    if result.inherited:
        lines.append("")
        lines.append("方案的总体分工（适用于所有任务，条款本身未写明时以此为准）：")
        for i in result.inherited:
            names = "、".join(o.name for o in i.orgs)
            lines.append(f"  ［{i.label}］{i.role_name}：{names}")
            lines.append(f"  ［{i.label}］依据：{i.evidence}")
    return "\n".join(lines)


def format_orgs(entries: list[OrgEntry]) -> str:
    """Readable Chinese for `qa orgs`: one block per organisation, one line per
    clause that names it, each citing ［label］."""
    blocks = []
    for e in entries:
        head = e.name + (f"（别名：{'、'.join(e.aliases)}）" if e.aliases else "")
        rows = [f"  ［{m.citation_label}］{ROLE_NAMES.get(m.role, m.role)}：{m.evidence}" for m in e.mentions]
        blocks.append("\n".join([head, *rows]))
    return "\n\n".join(blocks) if blocks else "文件中没有识别到任何单位。"
