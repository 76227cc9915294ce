"""Pure HTML formatting for the Gradio app: answers, citations, clauses, outlines.

Every function takes library values (`Answer`, `Citation`, `Clause`,
`Document`) or plain strings and returns an HTML string. Text from documents,
questions and answers is always escaped before any markup is added, so nothing
a user types or a document contains can run in the browser.

Clickable clause references are `<a class="qa-cite" href="#qa-clause?doc=…&label=…">`
links; the page script (`qa_ui.app.CLICK_JS`) turns a click on one into a
request for that clause.
"""
from __future__ import annotations

import html
import re
from typing import Iterable, Sequence
from urllib.parse import quote_plus, urlencode

from qa.retrieve import search_terms, term_spans
from qa.types import Answer, Citation, Clause, Document, Hit

CITATION = re.compile(r"［([^［］\n]{1,40})］")
BACKEND_NAMES = {"extractive": "抽取式（离线）", "llm": "大模型（LLM）"}


def esc(text: str | None) -> str:
    """`text` escaped for HTML text and attribute values (quotes too)."""
    return html.escape(text or "", quote=True)


def text_html(text: str | None) -> str:
    """Plain text as HTML: escaped, line breaks kept as <br>."""
    return esc(text).replace("\n", "<br>")


def clause_href(doc_id: str, label: str, quote: str | None = None) -> str:
    """The link target naming a clause: `#qa-clause?doc=…&label=…[&quote=…]`, percent-encoded.

    The reference travels in the href because the chat's HTML sanitizer
    drops data-* attributes but keeps fragment links.
    """
    params = {"doc": doc_id, "label": label}
    if quote:
        params["quote"] = quote
    return "#qa-clause?" + urlencode(params, quote_via=quote_plus)


def clause_link(doc_id: str, label: str, quote: str | None = None, text: str | None = None) -> str:
    """A link that opens clause `label` of `doc_id` in the clause panel, highlighting `quote`."""
    shown = esc(text if text is not None else f"［{label}］")
    return (f'<a class="qa-cite" href="{esc(clause_href(doc_id, label, quote))}"'
            f' title="查看条款 {esc(label)}">{shown}</a>')


def linkify_citations(text: str, citations: Iterable[Citation]) -> str:
    """`text` as HTML with each ［label］ that names one of `citations` turned into a clause link.

    Bracketed text that is not the label of a given citation stays plain
    (escaped) text: only real citations become links.
    """
    by_label: dict[str, Citation] = {}
    for citation in citations:
        by_label.setdefault(citation.clause_label, citation)
    out: list[str] = []
    last = 0
    for match in CITATION.finditer(text):
        citation = by_label.get(match.group(1))
        if citation is None:
            continue
        out.append(text_html(text[last:match.start()]))
        out.append(clause_link(citation.doc_id, citation.clause_label, citation.quote))
        last = match.end()
    out.append(text_html(text[last:]))
    return "".join(out)


def find_quote(text: str, quote: str | None) -> tuple[int, int] | None:
    """(start, end) of `quote` in `text`, ignoring whitespace differences; None when absent."""
    if not quote or not quote.strip():
        return None
    at = text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    # Whitespace-insensitive: map each non-space character of text back to its offset.
    wanted = "".join(quote.split())
    offsets = [i for i, ch in enumerate(text) if not ch.isspace()]
    squeezed = "".join(text[i] for i in offsets)
    at = squeezed.find(wanted)
    if at < 0 or not wanted:
        return None
    return offsets[at], offsets[at + len(wanted) - 1] + 1


def highlight_quote(text: str, quote: str | None) -> str:
    """`text` as HTML with the quoted sentence wrapped in <mark>; unchanged (escaped) when not found."""
    span = find_quote(text, quote)
    if span is None:
        return text_html(text)
    start, end = span
    return (text_html(text[:start]) + '<mark class="qa-quote">' + text_html(text[start:end])
            + "</mark>" + text_html(text[end:]))


def mark_terms(text: str, terms: Sequence[str]) -> str:
    """`text` as HTML with every occurrence of `terms` in <mark>.

    Matches are found on the raw text and each piece is escaped on its own,
    so a term can never match inside an HTML entity or tag.
    """
    out: list[str] = []
    last = 0
    for start, end in term_spans(text, terms):
        out.append(text_html(text[last:start]))
        out.append("<mark>" + text_html(text[start:end]) + "</mark>")
        last = end
    out.append(text_html(text[last:]))
    return "".join(out)


def search_results_html(hits: Sequence[Hit], query: str) -> str:
    """Search results: each clause's link, heading path and text with the keywords marked."""
    terms = search_terms(query)
    if not terms:
        return '<p class="qa-muted">请输入关键词。</p>'
    if not hits:
        return f'<p class="qa-muted">没有包含“{esc(" ".join(terms))}”的条款。</p>'
    items = []
    for hit in hits:
        c = hit.clause
        items.append(
            '<li class="qa-hit">'
            f'{clause_link(c.doc_id, c.clause_label)} <span class="qa-path">{mark_terms(c.path_text, terms)}</span>'
            f'<div class="qa-hit-text">{mark_terms(c.text, terms)}</div></li>')
    return (f'<p class="qa-muted">共 {len(hits)} 个条款包含“{esc(" ".join(terms))}”。</p>'
            f'<ol class="qa-hits">{"".join(items)}</ol>')


# --- answers -------------------------------------------------------------------


def _score(score: float) -> str:
    return f"{score:.2f}"


def sources_html(citations: Sequence[Citation], heading: str) -> str:
    """A list of clauses (label link, document title, heading, score) under a heading."""
    if not citations:
        return ""
    rows = "".join(
        f'<li>{clause_link(c.doc_id, c.clause_label, c.quote)} 《{esc(c.doc_title)}》'
        f' <span class="qa-path">{esc(c.heading_path[-1] if c.heading_path else "")}</span>'
        f' <span class="qa-score">相关度 {_score(c.score)}</span></li>'
        for c in citations)
    return f'<div class="qa-sources"><b>{esc(heading)}</b><ul>{rows}</ul></div>'


def backend_badge(backend: str) -> str:
    return f'<span class="qa-backend">回答方式：{esc(BACKEND_NAMES.get(backend, backend))}</span>'


def answer_html(answer: Answer) -> str:
    """A finished answer: notices, text with clickable citations, sources, nearest clauses, backend.

    One single-line `<div>` so the chat renders it as HTML, not as Markdown.
    """
    parts = ['<div class="qa-answer">']
    for notice in answer.notices:
        parts.append(f'<div class="qa-notice">⚠ {text_html(notice)}</div>')
    parts.append(f'<div class="qa-text">{linkify_citations(answer.text, (*answer.citations, *answer.related))}</div>')
    parts.append(sources_html(answer.citations, "出处"))
    if answer.refused:
        parts.append(sources_html(answer.related, "最相近的条款"))
    parts.append(f'<div class="qa-meta">{backend_badge(answer.backend)}</div>')
    parts.append("</div>")
    return "".join(parts)


def streaming_html(text: str) -> str:
    """An answer still arriving: the text so far, escaped, with a typing marker."""
    return f'<div class="qa-answer qa-streaming"><div class="qa-text">{text_html(text)}<span class="qa-cursor">▍</span></div></div>'


def pending_html() -> str:
    return '<div class="qa-answer qa-streaming"><span class="qa-muted">正在检索条款……</span></div>'


def question_html(question: str) -> str:
    """A user's question as shown in the chat: escaped, never interpreted."""
    return f'<div class="qa-question">{text_html(question)}</div>'


def error_html(message: str) -> str:
    return f'<div class="qa-answer qa-error">⚠ {text_html(message)}</div>'


# --- clause panel and outline ---------------------------------------------------


def clause_panel_html(clause: Clause, quote: str | None = None, document: Document | None = None) -> str:
    """The side panel: document title, heading path, full clause text with `quote` highlighted."""
    title = document.title if document else clause.doc_title
    meta = ""
    if document and (document.doc_number or document.date):
        meta = f'<div class="qa-muted">{esc(" ".join(x for x in (document.doc_number, document.date) if x))}</div>'
    found = find_quote(clause.text, quote) is not None
    note = "" if not quote or found else '<div class="qa-muted">（引用的句子未在条款原文中逐字找到）</div>'
    return (
        '<div class="qa-clause">'
        f'<div class="qa-clause-label">［{esc(clause.clause_label)}］</div>'
        f'<div class="qa-doc-title">《{esc(title)}》</div>{meta}'
        f'<div class="qa-path">{esc(clause.path_text)}</div>'
        f'<div class="qa-clause-text">{highlight_quote(clause.text, quote)}</div>{note}'
        "</div>")


def panel_message_html(message: str) -> str:
    return f'<div class="qa-clause qa-muted">{text_html(message)}</div>'


def outline_html(document: Document, clauses: Sequence[Clause]) -> str:
    """A document's outline: sections (from heading paths) → clause links, as nested lists.

    A clause's heading_path minus its last element is the section it sits in;
    sections appear in the order their first clause does.
    """
    own = [c for c in clauses if c.doc_id == document.doc_id]
    meta = "　".join(x for x in (document.doc_number, document.date, "、".join(document.issuing_bodies)) if x)
    tree: dict = {}  # heading → (clause or None, children dict)
    for clause in own:
        node = tree
        for heading in clause.heading_path[:-1]:
            node = node.setdefault(heading, [None, {}])[1]
        leaf = clause.heading_path[-1] if clause.heading_path else clause.clause_label
        entry = node.setdefault(leaf, [None, {}])
        entry[0] = clause

    def render(node: dict) -> str:
        items = []
        for heading, (clause, children) in node.items():
            label = (clause_link(clause.doc_id, clause.clause_label, text=heading) if clause
                     else f'<span class="qa-section">{esc(heading)}</span>')
            tag = f' <span class="qa-muted">［{esc(clause.clause_label)}］</span>' if clause else ""
            sub = f"<ul>{render(children)}</ul>" if children else ""
            items.append(f"<li>{label}{tag}{sub}</li>")
        return "".join(items)

    return (f'<details class="qa-outline" open><summary>《{esc(document.title)}》'
            f' <span class="qa-muted">{len(own)} 个条款</span></summary>'
            + (f'<div class="qa-muted">{esc(meta)}</div>' if meta else "")
            + f"<ul>{render(tree)}</ul></details>")


def outlines_html(documents: Sequence[Document], clauses: Sequence[Clause]) -> str:
    if not documents:
        return '<p class="qa-muted">索引中还没有文档。</p>'
    return '<div class="qa-outlines">' + "".join(outline_html(d, clauses) for d in documents) + "</div>"


# --- responsibility map ---------------------------------------------------------


def org_rows_html(orgs: Sequence[dict]) -> str:
    """The responsibility map as a table, from `qa.owners.orgs_to_json` rows
    ({"name","aliases","mentions":[{"doc","label","role","role_name","evidence"}]}); the
    organisation's name and aliases are marked in the evidence."""
    if not orgs:
        return '<p class="qa-muted">没有符合条件的部门或条款。</p>'
    rows = []
    for org in orgs:
        names = [org.get("name", ""), *org.get("aliases", [])]
        aliases = "、".join(org.get("aliases", []))
        mentions = org.get("mentions", [])
        for i, m in enumerate(mentions):
            first = i == 0
            name_cell = (f'<td rowspan="{len(mentions)}"><b>{esc(org.get("name", ""))}</b>'
                         + (f'<div class="qa-muted">{esc(aliases)}</div>' if aliases else "") + "</td>") if first else ""
            rows.append(
                f"<tr>{name_cell}<td>{clause_link(m.get('doc', ''), m.get('label', ''))}</td>"
                f"<td>{esc(m.get('role_name') or m.get('role', ''))}</td><td>{mark_terms(m.get('evidence', ''), names)}</td></tr>")
    total = sum(len(o.get("mentions", [])) for o in orgs)
    return (f'<p class="qa-muted">{len(orgs)} 个部门，{total} 处职责。</p>'
            '<table class="qa-orgs"><thead><tr><th>部门</th><th>条款</th><th>角色</th><th>依据</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')

