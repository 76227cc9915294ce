"""Law texts: the Markdown of the national laws database → a `Document` and its article clauses.

The form (see corpus/README.md): `# title`, lines with the adoption and amendment
dates, `<!-- INFO END -->`, then headings `##`/`###`/`####` (编, 章, 节; 一、 in
judicial interpretations) over paragraphs. An article is a paragraph that opens
with 第X条 and runs until the next article or heading; its items （一）（二） are
paragraphs inside it.

Unlike a scraped plan, the Markdown marks every heading and paragraph, so the
structure is read from the lines rather than guessed from the numbering. The
document keeps its heading lines (with their # marks, which are what tell a
heading from a paragraph); clauses hold the paragraphs only.

An article is one clause with its items inside: items cut into clauses of their
own would multiply the clauses of a law and split an article's lead-in sentence
from its list. An item is still addressable (`item_clause`: 第二十三条（三）).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qa.text.numerals import cn_number
from qa.types import Clause, Document

INFO_END = "<!-- INFO END -->"
_CN = "〇零一二三四五六七八九十百千两"
_COMMENT = re.compile(r"^<!--.*-->$")
_HEADING = re.compile(r"^(#{1,6})\s*(.*)$")
_ARTICLE = re.compile(rf"^(第([{_CN}]+)条(?:之([{_CN}]+))?)[ \u3000]+")
_ITEM = re.compile(rf"^[（(]([{_CN}]+)[）)]")
_HEADING_NUMBER = re.compile(rf"^(第[{_CN}]+[编章节]|第[{_CN}]+分编)\s*(.*)$")
_LISTED = re.compile(rf"^([{_CN}]+)、")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# A version is made by adopting, amending or promulgating; 施行 (entry into force) is not a new text.
_VERSION_VERB = re.compile(r"通过|修订|修正|修改|公布|发布|批准")
_FILE_DATE = re.compile(r"\((\d{4})-(\d{2})-(\d{2})\)$")
_ADOPTER = re.compile(r"全国人民代表大会常务委员会|全国人民代表大会|国务院|最高人民法院|最高人民检察院"
                      r"|中华人民共和国([\u4e00-\u9fff]{2,12}?(?:部|委员会|总局|局|署|行|办公厅))令")
_NATION = "中华人民共和国"
_NOTE_LABEL = "题注"  # the official name of the adoption and amendment lines under a law's title
_PREAMBLE_LABEL = "前言"


def is_law_markdown(raw: str) -> bool:
    """Does `raw` have the law Markdown form (a `# title` first and the info marker)?"""
    return raw.lstrip("\ufeff \n").startswith("# ") and INFO_END in raw


# --- the document ------------------------------------------------------------------

def law_document(raw: str, path: Path, doc_id: str) -> Document:
    """The cleaned law: its title, the note lines, then headings and paragraphs, one per line."""
    head, _, body = raw.replace("\r\n", "\n").replace("\r", "\n").partition(INFO_END)
    head_lines = _paragraphs(head)
    title = _HEADING.match(head_lines[0]).group(2).strip() if head_lines else path.stem
    history = tuple(head_lines[1:])
    paragraphs = _paragraphs(body)
    # Neither articles nor headings (an amending decision numbered 一、1.): the plain text is read
    # by its numbering, like any other document.
    marked = any(_ARTICLE.match(line) or line.startswith("#") for line in paragraphs)
    lines = [f"# {title}" if marked else title, *history, *paragraphs]
    version = _version_line(history)
    adopter = _ADOPTER.search(version) if version else None
    bodies = (adopter.group(1) or adopter.group(0),) if adopter else ()
    return Document(doc_id, title, "\n".join(lines), issuing_bodies=bodies, date=_version_date(version, path),
                    source_path=str(path), kind="law" if marked else "", short_title=short_title(title),
                    history=history)


def short_title(title: str) -> str:
    """中华人民共和国科学技术进步法 → 科学技术进步法: the name laws are cited by."""
    rest = title[len(_NATION):] if title.startswith(_NATION) else title
    return rest if len(rest) >= 2 else title


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines, stripped, without the Markdown comments (<!-- FORCE BREAK -->)."""
    lines = (line.replace("\xa0", " ").strip(" \t\u3000\ufeff") for line in text.split("\n"))
    return [line for line in lines if line and not _COMMENT.match(line)]


def _version_line(history: tuple[str, ...]) -> str:
    """The last line that made a text: its date is the version's date."""
    made = [line for line in history if _DATE.search(line) and _VERSION_VERB.search(line)]
    return made[-1] if made else ""


def _version_date(version: str, path: Path) -> str:
    match = _DATE.search(version) if version else None
    if match:
        return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}-{int(match.group(3)):02d}"
    named = _FILE_DATE.search(path.stem)
    return "-".join(named.groups()) if named else ""


# --- the clauses -------------------------------------------------------------------

@dataclass(frozen=True)
class _Part:
    """A run of paragraphs that becomes one clause: an article, or text under a heading."""

    label: str
    path: tuple[str, ...]
    start: int
    end: int


def law_clauses(doc: Document) -> list[Clause]:
    """The clauses of a law, in order: the note under the title, then each article (and any
    text that stands under a heading outside an article, such as a 序言)."""
    parts: list[_Part] = []
    headings: list[tuple[int, str]] = []  # (depth, heading) from the top down to here
    current: _Part | None = None
    body_from = 1 + len(doc.history)  # line index: the title, the note, then the body
    offset = 0
    for index, line in enumerate(doc.text.split("\n")):
        start, end = offset, offset + len(line)
        offset = end + 1
        if index == 0:
            continue  # the title is the document's, not a clause's
        if index == body_from:
            current = None  # the note ends where the body begins
        mark = _HEADING.match(line) if line.startswith("#") else None
        if mark:
            depth = len(mark.group(1))
            headings = [h for h in headings if h[0] < depth] + [(depth, heading_title(mark.group(2)))]
            current = None
            continue
        article = _ARTICLE.match(line)
        path = tuple(h for _, h in headings)
        if article:
            current = _Part(article.group(1), (*path, article.group(1)), start, end)
            parts.append(current)
        elif current is not None:
            current = parts[-1] = _Part(current.label, current.path, current.start, end)
        else:
            label = _NOTE_LABEL if index < body_from else (_heading_label(path[-1]) if path else _PREAMBLE_LABEL)
            current = _Part(label, path or (label,), start, end)
            parts.append(current)
    return _unique([Clause(doc.doc_id, p.label, p.path, doc.text[p.start:p.end], p.start, p.end, doc.title,
                           doc.cite_as) for p in parts])


def heading_title(text: str) -> str:
    """## 第一章 总 则 → 第一章 总则: letter-spaced headings lose their spacing, the number keeps its space."""
    text = text.strip()
    numbered = _HEADING_NUMBER.match(text)
    if numbered:
        number, rest = numbered.groups()
        rest = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", rest)
        return f"{number} {rest}" if rest else number
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)


def _heading_label(heading: str) -> str:
    """Text under a heading, outside any article, is cited by the heading's number (第一章, 一)
    or, when it has none, by the heading itself (序言)."""
    numbered = _HEADING_NUMBER.match(heading) or _LISTED.match(heading)
    return numbered.group(1) if numbered else heading.replace(" ", "")


def _unique(clauses: list[Clause]) -> list[Clause]:
    """A label used twice (an amending decision quotes the articles it changes) gets #2, #3."""
    seen: dict[str, int] = {}
    out = []
    for clause in clauses:
        count = seen[clause.clause_label] = seen.get(clause.clause_label, 0) + 1
        if count > 1:
            clause = Clause(clause.doc_id, f"{clause.clause_label}#{count}", clause.heading_path, clause.text,
                            clause.start, clause.end, clause.doc_title, clause.doc_name)
        out.append(clause)
    return out


# --- items -------------------------------------------------------------------------

def item_clause(article: Clause, item: str) -> Clause | None:
    """Item `item` （三） of an article as a clause labelled 第二十三条（三）: the item's paragraph."""
    number = item.strip("（）() ")
    wanted = cn_number(number)
    offset = 0
    for line in article.text.split("\n"):
        marker = _ITEM.match(line)
        if marker and wanted and cn_number(marker.group(1)) == wanted:
            start, end = article.start + offset, article.start + offset + len(line)
            return Clause(article.doc_id, f"{article.clause_label}（{number}）",
                          (*article.heading_path, f"（{number}）"), line, start, end, article.doc_title,
                          article.doc_name)
        offset += len(line) + 1
    return None
