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
from typing import Iterable, Sequence
from urllib.parse import quote_plus, urlencode

from qa.settings import ANSWER_BACKENDS
from qa.text.keywords import search_terms, term_spans
from qa.text.labels import CITATION
from qa.types import Answer, Citation, Clause, Document, Hit

from .owners_view import OwnerPage



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


PREVIEW_CHARS = 60  # of a clause, shown when the pointer rests on a citation


def clause_link(doc_id: str, label: str, quote: str | None = None, text: str | None = None,
                preview: str | None = None) -> str:
    """A link that opens clause `label` of `doc_id` in the clause panel, highlighting `quote`;
    resting on it shows the clause's opening (`preview`) when given."""
    shown = esc(text if text is not None else f"［{label}］")
    hint = f"［{label}］{preview[:PREVIEW_CHARS]}…" if preview else f"查看条款 {label}"
    return (f'<a class="qa-cite" href="{esc(clause_href(doc_id, label, quote))}"'
            f' title="{esc(hint)}">{shown}</a>')


def clause_url(doc_id: str, label: str) -> str:
    """The page's address that opens clause `label` of `doc_id` (`?clause=…&doc=…`), to share."""
    return "?" + urlencode({"clause": label, "doc": doc_id}, quote_via=quote_plus)


def linkify_citations(text: str, citations: Iterable[Citation]) -> str:
    """`text` as HTML with each ［label］ that names one of `citations` turned into a clause link.

    Bracketed text that is not the label of a given citation stays plain
    (escaped) text: only real citations become links.
    """
    by_label: dict[str, Citation] = {}
    for citation in citations:
        # A law's clause is cited with the law's name: ［科学技术进步法 第六条］.
        by_label.setdefault(citation.citation_label, citation)
    out: list[str] = []
    last = 0
    for match in CITATION.finditer(text):
        citation = by_label.get(match.group(1))
        if citation is None:
            continue
        out.append(text_html(text[last:match.start()]))
        out.append(clause_link(citation.doc_id, citation.clause_label, citation.quote,
                               text=f"［{citation.citation_label}］", preview=citation.clause_text))
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
            f'{clause_link(c.doc_id, c.clause_label, text=f"［{c.citation_label}］")}'
            f' <span class="qa-path">{mark_terms(c.path_text, terms)}</span>'
            f'<div class="qa-hit-text">{mark_terms(c.text, terms)}</div></li>')
    return (f'<p class="qa-muted">共 {len(hits)} 个条款包含“{esc(" ".join(terms))}”。</p>'
            f'<ol class="qa-hits">{"".join(items)}</ol>')


# --- answers -------------------------------------------------------------------


# Relevance as a reader can use it: compared with the best clause of the same answer.
RELEVANCE_LEVELS = ((0.8, "高"), (0.5, "中"), (0.0, "低"))


def relevance(score: float, best: float) -> str:
    """高, 中 or 低: how `score` compares with the best score `best` among the clauses shown together."""
    ratio = score / best if best > 0 else 0.0
    return next(level for floor, level in RELEVANCE_LEVELS if ratio >= floor)


def sources_html(citations: Sequence[Citation], heading: str, *, rated: bool = True) -> str:
    """A list of clauses (label link, document title, heading and, when `rated`, relevance) under a heading."""
    if not citations:
        return ""
    best = max(c.score for c in citations)
    rows = "".join(
        f'<li>{clause_link(c.doc_id, c.clause_label, c.quote, f"［{c.citation_label}］")} 《{esc(c.doc_title)}》'
        f' <span class="qa-path">{esc(c.heading_path[-1] if c.heading_path else "")}</span>'
        + (f' <span class="qa-score" title="与问题的相关程度（与本回答中最相关的条款相比）">'
           f'相关度：{relevance(c.score, best)}</span>' if rated else "")
        + "</li>"
        for c in citations)
    return f'<div class="qa-sources"><b>{esc(heading)}</b><ul>{rows}</ul></div>'


def backend_badge(backend: str) -> str:
    return f'<span class="qa-backend">回答方式：{esc(ANSWER_BACKENDS.get(backend, backend))}</span>'


def answer_html(answer: Answer) -> str:
    """A finished answer: notices, text with clickable citations, sources, nearest clauses, backend.

    One single-line `<div>` so the chat renders it as HTML, not as Markdown.
    """
    parts = ['<div class="qa-answer">']
    if answer.standalone_question:
        parts.append(understood_html(answer.question, answer.standalone_question))
    for notice in answer.notices:
        parts.append(f'<div class="qa-notice">⚠ {text_html(notice)}</div>')
    parts.append(f'<div class="qa-text">{linkify_citations(answer.text, (*answer.citations, *answer.related))}</div>')
    parts.append(sources_html(answer.citations, "出处"))
    if answer.refused:
        parts.append(sources_html(answer.related, "最相近的条款", rated=False))
    parts.append(f'<div class="qa-meta">{backend_badge(answer.backend)}</div>')
    parts.append("</div>")
    return "".join(parts)


def ask_href(question: str) -> str:
    """The link target that asks `question` again as a new question, without the conversation's history."""
    return "#qa-ask?" + urlencode({"question": question}, quote_via=quote_plus)


def understood_html(question: str, standalone: str) -> str:
    """How a follow-up was understood, with a link that asks it as it was typed, on its own."""
    return (f'<div class="qa-understood">理解为：{esc(standalone)}'
            f' <a class="qa-ask-standalone" href="{esc(ask_href(question))}" title="不结合前面的对话，单独回答这个问题">'
            "作为新问题</a></div>")


def queued_html(position: int) -> str:
    """A question sent while another is being answered."""
    return (f'<div class="qa-answer qa-queued"><span class="qa-muted">排队中（第 {position} 个）：'
            "当前回答完成后自动回答；点「停止」可取消。</span></div>")


def stopped_html(text: str) -> str:
    """An answer stopped by the user: what it had said so far, marked as incomplete."""
    said = f'<div class="qa-text">{text_html(text)}</div>' if text else ""
    return f'<div class="qa-answer qa-stopped">{said}<div class="qa-notice">已停止，回答不完整。</div></div>'


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
        f'<div class="qa-clause-label">［{esc(clause.citation_label)}］</div>'
        f'<div class="qa-doc-title">《{esc(title)}》</div>{meta}'
        f'<div class="qa-path">{esc(clause.path_text)}</div>'
        f'<div class="qa-clause-text">{highlight_quote(clause.text, quote)}</div>{note}'
        f'<div class="qa-permalink"><a href="{esc(clause_url(clause.doc_id, clause.clause_label))}"'
        ' title="可复制或收藏的条款链接">本条款的链接</a></div>'
        "</div>")


# What the library tells a terminal user to do, said the way the page offers it.
_CLI_HINTS = (("可用 qa docs 查看条款目录", "可在「文档」页查看条款目录"),
              ("请用 --doc 指定", "请在「文档」页中从所需文档的目录打开"))


def web_message(message: str) -> str:
    """A library message with its command-line hints replaced by what to do on the page."""
    for cli, web in _CLI_HINTS:
        message = message.replace(cli, web)
    return message


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


def owner_table_html(page: OwnerPage) -> str:
    """One page of the responsibility table: a row per mention (name, group, clause, role, evidence),
    the name and its aliases marked in the evidence."""
    if not page.total:
        return '<p class="qa-muted">没有符合条件的单位或条款。</p>'
    rows = []
    for r in page.rows:
        aliases = f'<div class="qa-muted">{esc("、".join(r.aliases))}</div>' if r.aliases else ""
        rows.append(
            f'<tr><td class="qa-org-name"><b>{esc(r.name)}</b>{aliases}</td><td class="qa-nowrap">{esc(r.group)}</td>'
            f'<td class="qa-nowrap">{clause_link(r.doc_id, r.label)}</td><td class="qa-role">{esc(r.role_name)}</td>'
            f"<td>{mark_terms(r.evidence, [r.name, *r.aliases])}</td></tr>")
    return (f'<p class="qa-muted">{page.orgs} 个单位，{page.total} 处职责；第 {page.page} / {page.pages} 页。</p>'
            '<div class="qa-table-wrap"><table class="qa-orgs"><thead><tr><th>单位</th><th>类别</th><th>条款</th>'
            f'<th>角色</th><th>依据</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _roles_html(orgs: Sequence[dict]) -> str:
    """Organisations grouped by role: 「牵头/协调：科学技术部、教育部」, one line per role."""
    by_role: dict[str, list[str]] = {}
    for o in orgs:
        by_role.setdefault(o.get("role_name") or o.get("role", ""), []).append(o.get("name", ""))
    return "".join(f'<div><span class="qa-role">{esc(role)}</span>：{esc("、".join(dict.fromkeys(names)))}</div>'
                   for role, names in by_role.items())


def who_html(result: dict) -> str:
    """Who owns a measure (`qa.owners.render.who_to_json`): each matching clause with the parties it
    names, then the owners every measure inherits from the plan, each with its clause."""
    parts = [f'<div class="qa-who"><p class="qa-muted">措施：{esc(result.get("query", ""))}</p>']
    for m in result.get("measures", []):
        heading = m.get("path", "").split(" › ")[-1]
        named = _roles_html(m.get("orgs", [])) or '<div class="qa-muted">该条款没有点名任何单位。</div>'
        parts.append(f'<div class="qa-measure">{clause_link(m.get("doc", ""), m.get("label", ""))} '
                     f'<span class="qa-path">{esc(heading)}</span>{named}</div>')
    if result.get("notice"):
        parts.append(f'<div class="qa-notice">{esc(result["notice"])}</div>')
    inherited = result.get("inherited", [])
    if inherited:
        rows = "".join(
            f'<li>{clause_link(i.get("doc", ""), i.get("label", ""))} <span class="qa-role">{esc(i.get("role_name", ""))}</span>：'
            f'{esc("、".join(o.get("name", "") for o in i.get("orgs", [])))}</li>'
            for i in inherited)
        parts.append(f'<div class="qa-inherited"><b>方案的总体分工</b>（适用于所有任务，条款本身未写明时以此为准）<ul>{rows}</ul></div>')
    parts.append("</div>")
    return "".join(parts)
