"""Can the documents answer this question at all? Checked before any answerer quotes.

A nearby quote is worse than a refusal when the question depends on something
the documents never say: to a policy reader it looks as if the plan said it.
The checks follow from how such questions and documents are written:

* **Names.** A question about a body, place or document (公安部, 浙江省,
  《…规划》) that the documents never name cannot be answered from them.
* **Foreign concepts.** A noun none of whose two-character pieces occurs in
  the documents (医保, 特派员) is a concept they never touch — unlike a
  paraphrase (高原病 for 高原医学), which shares pieces with the text.
* **The thing asked for.** A question asking for an amount, a frequency, a
  month, a time, a company or a count is answered only by a sentence holding
  one; plans often leave these to later notices.
* **Place and topic together.** 「西藏的盐湖产业」 needs a clause about both; a
  西藏 clause and a 盐湖 clause do not make one.

A yes/no or premise question whose only unknown is a wrong name is not
refused but corrected: 「文件中没有提到“浙江”」, then what the clause says.
"""
from __future__ import annotations

import re
from typing import Sequence

from qa.answer.base import TokenSink, refusal
from qa.query.question import Question
from qa.text.names import bare_place, organisation_names, place_names
from qa.text.segment import STOPWORDS, Segmenter
from qa.text.sentences import SENTENCE, without_heading_number
from qa.text.vocabulary import Vocabulary
from qa.types import Answer, Citation, Clause, Hit, close_hits

# Nouns that frame a question rather than name its subject (目的, 思路 …): a paraphrase
# may use them although the documents do not.
_FRAME_NOUNS = frozenset("""目的 目标 思路 意义 作用 办法 途径 举措 方式 方法 内容 情况 重点 亮点 特点 背景 原因 问题
    好处 政策 细节 路径 手段 安排 计划 规划 步骤 机制 体系 方向 领域 部署 要点 概况 大意 主旨 宗旨 核心 总体 整体
    事情 东西 事项 条款 原文 文件 方案 通知 部门 单位 地方 地区 省份 城市 人员 同志 领导 职责 任务 措施 要求 哪方面""".split())
# Abbreviations (医保, 环评) and unknown proper names (jieba's nr) name specific things; common
# nouns are left alone, since a paraphrase may use words the documents do not.
_NOUN_TAGS = ("j", "nr")

# What a sentence must hold to answer a question asking for a kind of value.
_VALUE = {
    "amount": re.compile(r"\d[\d.,]*\s*(亿|万|千)?元|[一二三四五六七八九十百千两]+(亿|万)元|\d+(\.\d+)?\s*%|百分之"),
    "frequency": re.compile(r"每(年|季度|月|半年|两年|三年|五年|\d+年)|[一二两三四五\d]年一次|年度"),
    "duration": re.compile(r"(?<!\d)\d{1,2}\s*(年|个月)|[一二两三四五六七八九十]{1,2}(年(?!级)|个月)|年限|期限"),
    "month": re.compile(r"\d{1,2}月|[一二三四五六七八九十]{1,2}月"),
    "time": re.compile(r"\d{4}年|\d{1,2}月|[一二三四五六七八九十]{1,2}月|十[一二三四五]五|年底|年内|之前"),
    "name": re.compile(r"[\u4e00-\u9fff]{2,}(公司|集团)"),
    "deadline": re.compile(r"\d{4}年|\d{1,2}月|[一二三四五六七八九十]{1,2}月|年底|年内|之前|以前|截止"),
    "location": re.compile(r"(?!相关县|有关县|各县)[\u4e00-\u9fff]{2}(县|旗)|落户|设在|位于"),
    "headcount": re.compile(r"\d+\s*(名|人|位)|[一二两三四五六七八九十百千万]+(名|位)|[一二两三四五六七八九十百千万]+人(?!才|群|员)"),
    "person": re.compile(r"[\u4e00-\u9fff]{2,3}(院士|教授|同志)|院士[\u4e00-\u9fff]{2,3}"),
    "contact": re.compile(r"\d{3,4}-?\d{7,8}|@|https?://|www\."),
    # A plan states intentions; results are reported later, in the past tense.
    "outcome": re.compile(r"已经|已(取得|建成|完成|实现)|取得了|累计|截至|截止到"),
    "procedure": re.compile(r"申报|申请|审批|程序|流程|材料|手续"),
}
_STATED_ABOUT = frozenset({"deadline", "month", "frequency", "amount", "headcount"})
_ASKS_MONTH = re.compile(r"几月|哪个月|哪一个月|月份")
_WHAT_IS_MISSING = {"amount": "具体金额或比例", "frequency": "频次", "month": "具体月份", "time": "具体时间",
                    "name": "具体的公司或企业名称", "duration": "期限或时长", "deadline": "截止时间",
                    "location": "具体地点", "person": "具体人员", "headcount": "具体人数", "contact": "联系方式",
                    "outcome": "实施成效或评估结果（它是工作方案，只写要做什么）", "procedure": "申请或审批的程序和材料"}
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?=年|\D|$)")
_DOCUMENT_TITLE = re.compile(r"《([^》]{2,40})》")
_CHECKED_HITS = 3


class AnswerabilityGuard:
    """Refuses (or corrects) questions the documents cannot answer; declines the rest."""

    def __init__(self, segmenter: Segmenter, vocabulary: Vocabulary):
        self.segmenter = segmenter
        self.vocabulary = vocabulary

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer | None:
        if question.intent.kind == "metadata":
            return None  # the document answerer answers (and corrects) these from the metadata
        text = question.search_text
        bodies, others = self.unknown_names(text)
        unknown = bodies + others
        if unknown:
            # A question about a body the documents never name is about that body; a place or a
            # year may only be the asker's context (「我们是浙江的一家公司…」) or a wrong premise.
            asks_whether = question.intent.yes_no or question.intent.premise
            context_only = not bodies and all(_is_context(name, text) for name in others)
            corrected = self._correction(question, hits, unknown, asks_whether) if asks_whether or context_only else None
            if corrected is not None:
                return corrected
            return refusal(question, hits, f"文件中未提及“{'、'.join(unknown)}”。")
        gap = "" if question.intent.kind == "structure" else self.value_gap(question, hits)
        if gap:
            return refusal(question, hits, f"文件没有给出{gap}。")
        # Only a yes/no question asks whether the documents say this very thing; elsewhere an
        # unfamiliar abbreviation (环保, 治沙) is as likely a paraphrase.
        foreign = self.foreign_concepts(text) if question.intent.yes_no else []
        if foreign:
            return refusal(question, hits, f"文件中未提及“{'、'.join(foreign)}”。")
        if question.intent.kind == "structure":
            return None
        unlinked = self.unlinked(text)
        if unlinked:
            place, topic = unlinked
            return refusal(question, hits, f"文件中没有把“{topic}”与“{place}”联系起来的条款。")
        return None

    # --- the checks ----------------------------------------------------------------

    def unknown_names(self, text: str) -> tuple[list[str], list[str]]:
        """(bodies, other names: places, documents, years) the question names and the documents never do."""
        vocabulary = self.vocabulary
        places = place_names(text, self.segmenter)
        named = self.segmenter.entities_in(text, kinds=("org", "region", "place"))
        orgs = organisation_names(text, self.segmenter) + [n for n in named if self.segmenter.domain.by_name[n].kind == "org"]
        bodies = [n for n in dict.fromkeys(orgs) if not vocabulary.names(n)]
        others = [n for n in dict.fromkeys(places + [n for n in named if n not in orgs])
                  if n not in bodies and not vocabulary.names(n) and not vocabulary.names(bare_place(n))
                  and not vocabulary.names_place(bare_place(n))]
        others += [f"《{t}》" for t in _DOCUMENT_TITLE.findall(text) if not vocabulary.says(t.strip("“”\""))]
        others += [m.group() + "年" for m in _YEAR.finditer(text) if not vocabulary.says(m.group())]
        return bodies, list(dict.fromkeys(others))

    def foreign_concepts(self, text: str) -> list[str]:
        """Nouns of the question none of whose pieces the documents use (see the module doc)."""
        return [w for w, tag in self.segmenter.tag(text)
                if tag.startswith(_NOUN_TAGS) and len(w) >= 2 and w not in STOPWORDS and w not in _FRAME_NOUNS
                and self.vocabulary.is_foreign(w)]

    def value_gap(self, question: Question, hits: Sequence[Hit]) -> str:
        """What the question asks for that no retrieved sentence holds ('' when one does).

        A deadline, month, frequency or amount must stand in a sentence about what is asked —
        one sharing a distinctive word with the question — so the date in a notice's signature
        does not answer 「最晚什么时候报送」."""
        wanted = question.intent.asks_for
        if wanted == "instrument":
            return self._instrument_gap(question.intent.detail, hits)
        if wanted == "frequency" and _ASKS_MONTH.search(question.search_text):
            wanted = "month"
        pattern = _VALUE.get(wanted)
        if pattern is None or not hits:
            return ""
        checked = hits[:1] if wanted == "month" else hits[:_CHECKED_HITS] if wanted == "time" else \
            close_hits(hits)[:_CHECKED_HITS]
        if wanted not in _STATED_ABOUT:
            return "" if any(pattern.search(h.clause.text) for h in checked) else _WHAT_IS_MISSING[wanted]
        size = len(self.vocabulary.texts)
        # Body names (科技部) are shared with a notice's signature; the shared word must be content.
        asked = {t for t in self.segmenter.terms(question.search_text) if len(t) >= 2
                 and t not in self.segmenter.domain.by_name and 0 < self.vocabulary.df.get(t, 0) <= max(2, size // 4)}
        for hit in checked:
            for sentence in _sentences(hit.clause):
                if pattern.search(sentence) and asked & set(self.segmenter.terms(sentence)):
                    return ""
        return _WHAT_IS_MISSING[wanted]

    def _instrument_gap(self, instrument: str, hits: Sequence[Hit]) -> str:
        """「个人所得税有没有减免」: a tax, insurance, land or housing rule is answered only by a
        clause that names it; implementation plans leave these to the policies that govern them."""
        stem = instrument[-2:] if len(instrument) > 2 else instrument
        if any(stem in h.clause.text for h in close_hits(hits)[:_CHECKED_HITS]):
            return ""
        return f"关于“{instrument}”的规定"

    def unlinked(self, text: str) -> tuple[str, str] | None:
        """(place, topic) when the question ties a place to a topic that no clause ties to it."""
        domain = self.segmenter.domain
        places = self.segmenter.entities_in(text, kinds=("region", "place"))
        # Only name-like topics (盐湖, 枸杞: jieba tags ns/nz/nt) belong to a place; common
        # nouns (模式, 园区) are shared words, and a paraphrase may put them anywhere.
        named_like = {w for w, tag in self.segmenter.tag(text) if tag in ("ns", "nz", "nt")}
        topics = [t for t in dict.fromkeys(self.segmenter.terms(text))
                  if t in named_like and self.vocabulary.is_topical(t) and t not in domain.by_name and len(t) >= 2]
        for place in places:
            aliases = domain.by_name[place].names
            for topic in topics:
                if not any(topic in terms and any(a in clause for a in aliases)
                           for terms, clause in zip(self.vocabulary.term_sets, self.vocabulary.texts)):
                    return place, topic
        return None

    # --- a corrected premise ----------------------------------------------------------

    def _correction(self, question: Question, hits: Sequence[Hit], unknown: list[str],
                    asks_whether: bool) -> Answer | None:
        """「方案是否要求浙江和青海共建盐湖基地？」: say the name is not there, then quote what the
        best clause says — when the rest of the question matches that clause well (and, unless
        the question asks whether, names a topic of that clause: 「浙江有什么任务」 names none)."""
        if not hits:
            return None
        rest = question.search_text
        for name in unknown:
            rest = rest.replace(name.rstrip("年"), "")
        terms = list(dict.fromkeys(self.segmenter.terms(rest)))
        top = hits[0]
        clause_terms = set(self.segmenter.terms(top.clause.text))
        # Words the documents never use (the asker's own) can match no clause: judge the rest.
        known = [t for t in terms if t in self.vocabulary.df]
        total = sum(self.vocabulary.weight(t) for t in known)
        covered = sum(self.vocabulary.weight(t) for t in known if t in clause_terms)
        topical = [t for t in terms if t in clause_terms and self.vocabulary.is_topical(t)
                   and t not in self.segmenter.domain.by_name]
        if not total or covered / total < 0.5 or not (asks_whether or topical):
            return None
        ranked = sorted(_sentences(top.clause), key=lambda s: -len(set(self.segmenter.terms(s)) & set(terms)))
        shown = [s for s in _sentences(top.clause) if s in ranked[:2]]
        names = "、".join(unknown)
        label = top.clause.citation_label
        text = f"文件中没有提到“{names}”。相关条款的表述是：" + "".join(f"{s}［{label}］" for s in shown)
        return Answer(question.text, text, (Citation.of(top, quote=shown[0].rstrip("。")),),
                      notices=(f"问题中的“{names}”在文件中没有出现，以下是文件的原文表述。",))


_OPENING = re.compile(r"^(那么|那|请问|听说|据说|我想问|想问|方案|文件|本方案|这个方案)?(里|中|对)?")


def _is_context(name: str, question: str) -> bool:
    """Is a place only the asker's context (「我们是浙江的一家公司…」「跟北京哪个地方合作」)
    rather than what the question is about (「广西的盐湖产业…」「浙江有什么任务」)? A place that
    opens the question is its subject; a year is always what is asked about."""
    if name.endswith("年") or name.startswith("《"):
        return False
    at = question.find(bare_place(name))
    opening = _OPENING.match(question)
    return at > (opening.end() if opening else 0) + 1


def _sentences(clause: Clause) -> list[str]:
    """The clause's sentences after its heading line (a heading only restates the topic)."""
    title = clause.heading_path[-1] if clause.heading_path else ""
    body = clause.text[len(title):].lstrip("。；： ") if title and clause.text.startswith(title) else clause.text
    found = [without_heading_number(m.group()).rstrip("；") for m in SENTENCE.finditer(body)]
    return [s if s.endswith(("。", "！", "？")) else s + "。" for s in found if len(s) >= 4] or [clause.text]
