"""Questions about a document itself: its metadata and its structure.

「方案什么时候印发的？」「文号是多少？」 are answered from the document's
metadata (read from its cover notice at load time); 「重点任务一共有几项？」
「第（五）项讲的是什么？」「正文分成哪几个部分？」 from its outline. Every
statement cites the clause that shows it: the cover notice for metadata, and
for a heading the first clause under it.
"""
from __future__ import annotations

import re
from typing import Sequence

from qa.answer.base import TokenSink
from qa.ingest.outline import Section
from qa.ingest.structure import cn_number
from qa.query.question import Question
from qa.text.segment import Segmenter
from qa.text.sentences import sentences, without_heading_number
from qa.types import Answer, Citation, Clause, Document, Hit

_PERIOD = re.compile(r"“([^”]{1,6}五)”|(“?十[一二三四五六七八九]五”?)")


class DocumentAnswerer:
    """Answers metadata and structure questions (see `qa.query.intent`); declines the rest."""

    def __init__(self, documents: Sequence[Document], clauses: Sequence[Clause], outline: dict[str, Section],
                 segmenter: Segmenter):
        self.documents = {d.doc_id: d for d in documents}
        self.clauses = {(c.doc_id, c.clause_label): c for c in clauses}
        self.outline = outline
        self.segmenter = segmenter

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer | None:
        intent = question.intent
        if intent.kind == "metadata":
            return self._metadata(question, hits)
        if intent.kind == "structure":
            return self._structure(question, hits)
        return None

    # --- metadata ------------------------------------------------------------------

    def _metadata(self, question: Question, hits: Sequence[Hit]) -> Answer | None:
        doc = self._document_asked(hits)
        if doc is None:
            return None
        cover = self._cover_of(doc)
        lead = self._lead_clause(cover)
        if lead is None:
            return None
        field = question.intent.detail
        named = self.segmenter.entities_in(question.search_text, kinds=("org",))
        if field == "issuers" and any(org not in cover.issuing_bodies for org in named):
            return None  # 「财政部作为印发单位…」: not about the issuers this document has
        statement = self._metadata_statement(field, doc, cover, lead)
        if statement is None:
            return None
        text, quote = statement
        text = _correction(question.search_text, field, cover) + text
        return Answer(question.text, f"{text}［{lead.citation_label}］",
                      (self._citation(lead, quote, hits),))

    def _metadata_statement(self, field: str, doc: Document, cover: Document,
                            lead: Clause) -> tuple[str, str] | None:
        """(the sentence to say, the span of the cited clause that shows it), or None when unknown."""
        name = f"《{doc.title}》"
        if field == "doc_number" and cover.doc_number:
            return f"{name}的文号为{cover.doc_number}。", cover.doc_number
        if field == "date" and cover.date:
            shown = _chinese_date(cover.date)
            return f"{name}于{shown}印发。", shown
        if field == "issuers" and cover.issuing_bodies:
            signature = _signature(lead.text)
            bodies = "、".join(self._as_signed(body, signature) for body in cover.issuing_bodies)
            short = _issuer_phrase(cover.title)
            by = f"{short}（{bodies}）" if short else bodies
            return f"{name}由{by}联合印发，共{len(cover.issuing_bodies)}个部门。", signature
        if field == "addressees":
            addressees = _addressees(cover, lead.text)
            return (f"印发通知的主送单位是“{addressees}”。", addressees) if addressees else None
        if field == "period":
            match = _PERIOD.search(doc.title)
            if match:
                period = (match.group(1) or match.group(2)).strip("“”")
                return f"{name}是“{period}”时期的文件（见文件标题）。", f"“{period}”"
            return None
        if field == "title":
            if cover.doc_id != doc.doc_id:
                return f"文件全称为{name}，随《{cover.title}》印发。", doc.title
            return f"文件全称为{name}。", doc.title
        return None

    def _as_signed(self, body: str, signature: str) -> str:
        """科学技术部 → 科学技术部（科技部） when the signature uses the short name."""
        entity = self.segmenter.domain.by_name.get(body)
        short = next((a for a in (entity.aliases if entity else ()) if a in signature and a not in body), "")
        return f"{body}（{short}）" if short else body

    def _document_asked(self, hits: Sequence[Hit]) -> Document | None:
        """The document the question is about: the top retrieved one, its plan preferred
        over the cover notice that carries it (people ask about 「方案」)."""
        if not hits:
            return next(iter(self.documents.values()), None)
        top = self.documents.get(hits[0].clause.doc_id)
        if top is not None and top.kind == "notice":
            attached = [d for d in self.documents.values() if d.kind == "plan" and d.source_path == top.source_path]
            return attached[0] if attached else top
        return top

    def _cover_of(self, doc: Document) -> Document:
        """The cover notice that carries `doc` (the metadata is signed there), else `doc`."""
        if doc.kind == "plan":
            for other in self.documents.values():
                if other.kind == "notice" and other.source_path == doc.source_path:
                    return other
        return doc

    def _lead_clause(self, doc: Document) -> Clause | None:
        root = self.outline.get(doc.doc_id)
        return self.clauses.get((doc.doc_id, root.clause_label)) if root and root.clause_label else None

    # --- structure -----------------------------------------------------------------

    def _structure(self, question: Question, hits: Sequence[Hit]) -> Answer | None:
        intent = question.intent
        section = self._section_asked(question.search_text, hits)
        if section is None:
            return None
        parts = section.numbered_children
        if intent.detail == "position":
            return self._position(question, hits, section)
        if intent.detail == "heading":
            return self._say(question, hits, [(f"该部分的标题是“{section.title}”。", section)])
        if intent.detail == "ordinal":
            if not 1 <= intent.ordinal <= len(parts):
                return None
            return self._describe(question, hits, parts[intent.ordinal - 1], f"{_name(section)}的第{intent.ordinal}项是")
        if not parts:
            return None
        lines = [(f"{_name(section)}共有{len(parts)}项（部分）：", None)]
        lines += [(f"{i}. {without_heading_number(part.title)}", part) for i, part in enumerate(parts, 1)]
        return self._say(question, hits, lines, joiner="\n")

    def _position(self, question: Question, hits: Sequence[Hit], section: Section) -> Answer | None:
        """「“科技入滇”排在第几项？」: where the section stands among its parent's parts."""
        parent = next((p for root in self._roots(hits) for p, _ in _walk(root) if section in p.numbered_children), None)
        if parent is None or not section.label:
            return None
        place = parent.numbered_children.index(section) + 1
        return self._say(question, hits, [(f"“{without_heading_number(section.title)}”是{_name(parent)}的第{place}项"
                                           f"（{_heading_number(section.title) or place}）。", section)])

    def _describe(self, question: Question, hits: Sequence[Hit], part: Section, lead: str) -> Answer:
        """One part: its heading, then either its items or its opening sentence."""
        lines = [(f"{lead}“{part.title}”。", part)]
        if part.numbered_children:
            lines += [(f"{i}. {without_heading_number(child.title)}", child)
                      for i, child in enumerate(part.numbered_children, 1)]
        else:
            clause = self.clauses.get((part.doc_id, part.clause_label))
            body = _body_sentences(clause, part.title) if clause else []
            if body:
                lines.append((body[0], part))
        return self._say(question, hits, lines, joiner="\n")

    def _section_asked(self, text: str, hits: Sequence[Hit]) -> Section | None:
        """The heading the question names (科技兴蒙 → （六）实施“科技兴蒙”…): the one sharing the
        longest run of characters with the question, higher headings first on ties; the whole
        document when no heading shares two characters or more."""
        best, best_score = None, 0.0
        for root in self._roots(hits):
            for section, depth in _walk(root):
                if not section.children and depth > 1:
                    continue  # a leaf has no structure to tell
                score = _longest_common_run(text, without_heading_number(section.title)) - 0.01 * depth
                if score > best_score:
                    best, best_score = section, score
        if best is not None and best_score >= 2:
            return best
        roots = self._roots(hits)
        return roots[0] if roots else None

    def _roots(self, hits: Sequence[Hit]) -> list[Section]:
        """Document outlines, the retrieved documents first; cover notices last (they have no parts)."""
        order = list(dict.fromkeys([h.clause.doc_id for h in hits] + list(self.outline)))
        roots = [self.outline[d] for d in order if d in self.outline]
        return sorted(roots, key=lambda r: len(r.numbered_children) == 0)

    # --- composing -----------------------------------------------------------------

    def _say(self, question: Question, hits: Sequence[Hit], lines: list[tuple[str, Section | None]],
             joiner: str = "") -> Answer:
        """Lines, each citing the first clause under its section; one citation per clause."""
        out, citations = [], {}
        for text, section in lines:
            if section is None:
                out.append(text)
                continue
            clause = self.clauses.get((section.doc_id, section.clause_label))
            if clause is None:
                out.append(text)
                continue
            out.append(f"{text}［{clause.citation_label}］")
            citations.setdefault(clause.key, self._citation(clause, section.title, hits))
        return Answer(question.text, joiner.join(out), tuple(citations.values()))

    @staticmethod
    def _citation(clause: Clause, quote: str, hits: Sequence[Hit]) -> Citation:
        score = next((h.score for h in hits if h.clause.key == clause.key), 0.0)
        return Citation.of(Hit(clause, score), quote=quote)


def _longest_common_run(a: str, b: str) -> int:
    """Length of the longest substring `a` and `b` share (headings are short: quadratic is fine)."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def _walk(section: Section, depth: int = 0):
    yield section, depth
    for child in section.children:
        yield from _walk(child, depth + 1)


def _name(section: Section) -> str:
    """How a section is named in an answer: 「“重点任务”」, or the document's title at the root."""
    if not section.label:
        return f"《{section.title}》"
    return f"“{without_heading_number(section.title)}”"


def _body_sentences(clause: Clause, title: str) -> list[str]:
    body = clause.text[len(title):] if clause.text.startswith(title) else clause.text
    return [s.strip() for s in sentences(body.lstrip("。；： ")) if len(s.strip()) >= 4]


def _correction(question: str, field: str, cover: Document) -> str:
    """A premise the question states wrongly is corrected first: 「是2021年底印发的，具体是哪天？」,
    「是七个部门联合印发的，是哪七个？」."""
    if field == "date" and cover.date:
        actual = cover.date[:4]
        stated = [y for y in re.findall(r"(?<!\d)(?:19|20)\d{2}(?=年)", question) if y != actual]
        return f"文件并非{stated[0]}年印发。" if stated else ""
    if field == "issuers" and cover.issuing_bodies:
        counts = [cn_number(n) for n in re.findall(r"([一二两三四五六七八九十\d]{1,3})个?(?:部门|部委|单位)", question)]
        wrong = [n for n in counts if n and n != len(cover.issuing_bodies)]
        return f"文件不是由{wrong[0]}个部门印发的。" if wrong else ""
    return ""


def _heading_number(title: str) -> str:
    """（四）实施“科技入滇”… → （四）; 2.建设… → 2."""
    match = re.match(r"[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|\d+[.．]", title)
    return match.group().rstrip("、.．") if match else ""


def _chinese_date(iso: str) -> str:
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{year}年{month}月{day}日"


def _issuer_phrase(notice_title: str) -> str:
    """科技部等九部门关于印发《…》的通知 → 科技部等九部门: how the notice names its issuers."""
    match = re.match(r"(.{2,30}?)关于印发", notice_title)
    return match.group(1) if match else ""


def _signature(text: str) -> str:
    """The signature block: the run of body names just before the date at the end."""
    last = sentences(text)
    return last[-1].strip() if last else text


def _addressees(cover: Document, text: str) -> str:
    """主送机关: what stands between the 文号 and the first colon of a notice (各有关单位)."""
    start = text.find(cover.doc_number) + len(cover.doc_number) if cover.doc_number and cover.doc_number in text else 0
    head = text[start:start + 40]
    colon = re.search(r"[:：]", head)
    return head[:colon.start()].strip() if colon and colon.start() > 0 else ""
