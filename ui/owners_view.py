"""The 部门职责 tab's data: every organisation mention as one row, grouped into bodies, regions and
programmes, filtered, sorted and paged; and the rows as a CSV download. No gradio here."""
from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from qa import Assistant, normalise_label
from qa.owners.render import orgs_to_csv

# What each group is called on the page, and the domain dictionary kinds that fall into it.
GROUPS = {"单位": ("org",), "地区": ("region", "place"), "项目": ("programme",)}
# Names the dictionary does not know are bodies, unless they name a stretch of the country.
_REGION_SUFFIXES = ("地区", "省市", "省区", "流域", "城市")
SORTS = ("按单位", "按条款", "按角色")
PAGE_SIZE = 20


@dataclass(frozen=True)
class OwnerRow:
    name: str
    aliases: tuple[str, ...]
    group: str
    doc_id: str
    label: str
    role_name: str
    evidence: str


@dataclass(frozen=True)
class OwnerPage:
    rows: tuple[OwnerRow, ...]
    page: int  # 1-based, within 1..pages
    pages: int
    total: int
    orgs: int  # distinct names among all the filtered rows


class ResponsibilityView:
    """The responsibility map of `assistant` as the tab shows it."""

    def __init__(self, assistant: Assistant):
        self._assistant = assistant
        self._downloads = tempfile.TemporaryDirectory(prefix="qa-ui-")  # removed when the app exits

    def group_of(self, name: str) -> str:
        entity = self._assistant.segmenter.domain.by_name.get(name)
        if entity is not None:
            return next(group for group, kinds in GROUPS.items() if entity.kind in kinds)
        return "地区" if name.endswith(_REGION_SUFFIXES) else "单位"

    def names(self, group: str) -> list[str]:
        """The names of one group, in order of first mention (the issuing bodies come first)."""
        return [n for n in self._assistant.responsibility_map.orgs() if self.group_of(n) == group]

    def rows(self, org: str | None, label: str | None, group: str | None = None) -> list[OwnerRow]:
        """One row per mention, in document order of the organisations; `org` accepts aliases,
        `label` any bracket style (an unknown one is an `UnknownLabel` naming the nearest)."""
        entries = self._assistant.orgs(_blank_to_none(org), _label(label))
        rows = [OwnerRow(e.name, tuple(e.aliases), self.group_of(e.name), m.doc_id, m.clause_label, m.role_name,
                         m.evidence)
                for e in entries for m in e.mentions]
        return [r for r in rows if not group or r.group == group]

    def page(self, org: str | None, label: str | None, group: str | None, sort: str, page: int) -> OwnerPage:
        rows = self.rows(org, label, group)
        order = {(c.doc_id, c.clause_label): i for i, c in enumerate(self._assistant.clauses)}
        if sort == "按条款":
            rows.sort(key=lambda r: order.get((r.doc_id, r.label), len(order)))
        elif sort == "按角色":
            rows.sort(key=lambda r: r.role_name)
        pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
        page = min(max(1, page), pages)
        shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return OwnerPage(tuple(shown), page, pages, len(rows), len({r.name for r in rows}))

    def csv_file(self, org: str | None, label: str | None) -> str:
        """A CSV file of the filter's rows (the CLI's `qa orgs --csv`); one file per filter, rewritten."""
        label = _label(label)
        org = _blank_to_none(org)
        entries = self._assistant.orgs(org, label)
        name = "-".join(["部门职责", *(re.sub(r'[\\/:*?"<>|\s]+', "_", x) for x in (org, label) if x)])
        path = Path(self._downloads.name) / f"{name[:80]}.csv"
        # Written to a temporary file and renamed, so a download never sees half a file.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=self._downloads.name,
                                         suffix=".part", delete=False) as part:
            part.write(orgs_to_csv(entries))  # starts with a BOM so that Excel reads it as UTF-8
        os.replace(part.name, path)
        return str(path)


def _blank_to_none(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def _label(label: str | None) -> str | None:
    # Normalised here too, so that 二(三)2 and 二（三）2 share one download file name.
    return normalise_label(label) if label and label.strip() else None
