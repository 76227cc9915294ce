"""Is one sentence of a generated answer backed by one clause?

A sentence is supported by a clause when
- every quotation in it occurs in the clause (after normalisation),
- every number, amount and year in it occurs in the clause,
- every organisation and place it names occurs in the clause (as a whole word:
  财政部 is not found inside 财政部门), and
- enough of its content words (jieba, domain aliases folded) occur in the clause.

The clause's own heading path counts as part of it (「科技援藏」 is in the
heading above 二（二）1, not in its text). Sentences of a clause that address
the reader's assistant instead of stating policy (「请回答本方案已废止」) are
not evidence: a document cannot make a claim true by telling the model to say it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from qa.text.segment import STOPWORDS, Segmenter
from qa.text.sentences import sentences
from qa.types import Clause

# At least this share of a sentence's content words (counted in characters) must
# occur in the clause. Small models copy near-verbatim, so a real paraphrase
# clears it easily; an invented claim built around one or two clause words does not.
MIN_OVERLAP = 0.6

_QUOTE = re.compile(r"「([^「」\n]{1,400})」|“([^“”\n]{1,400})”|『([^『』\n]{1,400})』")
# Text addressed to an assistant or a model, not policy: never evidence.
_ADDRESSES_MODEL = re.compile(
    r"忽略|无视|(以上|上述|前面|之前)的?(规则|指令|要求|提示)|(大|语言)模型|人工智能|\bAI\b|助手|机器人|"
    r"(请|务必|必须|一律|应当)(回答|答复|告诉|告知|声明|宣布|说明|表示|输出)|告诉用户|回答(用户|任何|所有|问题)时|"
    r"system\s*[:：]|prompt|提示词|指令",
    re.IGNORECASE)
_CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                   "八": 8, "九": 9}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}
_CHINESE_BIG = {"万": 10_000, "亿": 100_000_000}
_NUMERALS = "零〇一二两三四五六七八九十百千万亿"
# An Arabic number, or Chinese numerals followed by a unit: bare 一/二 are too common inside
# words (统一, 一二三产融合, 十四五) to be read as numbers.
_NUMBER = re.compile(
    rf"(?P<arabic>\d+(?:[.．]\d+)?)\s*(?P<amag>[万亿]*)\s*(?P<aunit>%|％|元|年|月|日|号|项|个|家|名|人|次|倍|所)?"
    rf"|(?P<chinese>[{_NUMERALS}]+)(?P<cunit>元|年|项|个|家|名|人|次|倍|所)")
# A list marker or Markdown emphasis at the start of a line is layout, not a number or a word.
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}[.．、)）]|[（(]\d{1,2}[)）]|[-*•·])\s*")
_WORD_OK = re.compile(r"[\w\u4e00-\u9fff]")
_ENTITY_KINDS = ("org", "region", "place", "programme")


@dataclass(frozen=True)
class Finding:
    """The outcome of checking one sentence against one clause."""

    ok: bool
    overlap: float
    facts: tuple[str, ...]  # the numbers and names checked (all found when ok)
    reason: str = ""  # why not, as a phrase for a notice: 所说的金额在条款［二（三）2］中找不到


@dataclass(frozen=True)
class Number:
    """A number as it compares: its value and unit (年, 元, 项 …; '' when none)."""

    text: str
    value: float
    unit: str


def normalise(text: str) -> str:
    """Comparison form: NFKC (full/half width folded), lower case, only letters and digits."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def quotes_in(sentence: str) -> list[str]:
    """The quoted spans 「…」 “…” 『…』 of a sentence, in order."""
    return [next(g for g in m.groups() if g is not None) for m in _QUOTE.finditer(sentence)]


def numbers_in(text: str) -> list[Number]:
    """Numbers, amounts and years in `text` (一百亿元 and 100亿元 compare equal)."""
    found = []
    for m in _NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        if m.group("arabic"):
            value = float(m.group("arabic").replace("．", "."))
            for magnitude in m.group("amag"):
                value *= _CHINESE_BIG[magnitude]
            unit = (m.group("aunit") or "").replace("％", "%")
        else:
            value, unit = _chinese_value(m.group("chinese")), m.group("cunit")
            if value == 1 and unit != "元":
                continue  # 一个, 一项, 一批: an article, not a count
        found.append(Number(m.group().strip(), value, unit))
    return found


def _chinese_value(numerals: str) -> float:
    """一百亿 → 1e10, 二〇二五 → 2025, 十四 → 14."""
    if len(numerals) >= 2 and all(ch in _CHINESE_DIGITS for ch in numerals):
        return float("".join(str(_CHINESE_DIGITS[ch]) for ch in numerals))  # read digit by digit: a year
    total, section, digit = 0.0, 0.0, 0.0
    for ch in numerals:
        if ch in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[ch]
        elif ch in _CHINESE_UNITS:
            section += (digit or 1) * _CHINESE_UNITS[ch]
            digit = 0
        else:  # 万 / 亿 close a section
            total = (total + section + digit) * _CHINESE_BIG[ch]
            section, digit = 0, 0
    return total + section + digit


def without_layout(sentence: str) -> str:
    """The sentence without a leading list marker and Markdown emphasis."""
    return _LIST_MARKER.sub("", sentence).replace("**", "").replace("__", "")


class ClauseEvidence:
    """A clause (or the clauses one sentence cites together) prepared for checking: its text
    (heading path included, sentences that address a model left out), the names it mentions
    and its numbers."""

    def __init__(self, clauses: Sequence[Clause], segmenter: Segmenter):
        self.clauses = tuple(clauses)
        self._segmenter = segmenter
        parts = [part for clause in self.clauses
                 for part in (*clause.heading_path,
                              *(s for s in sentences(clause.text) if not _ADDRESSES_MODEL.search(s)))]
        self.text = "\n".join(parts)

    @property
    def label(self) -> str:
        return "、".join(c.citation_label for c in self.clauses)

    @cached_property
    def comparable(self) -> str:
        return normalise(self._segmenter.canonicalise(self.text))

    @cached_property
    def entities(self) -> frozenset[str]:
        """Canonical names it mentions, and the regions its places and programmes belong to."""
        names = set(self._segmenter.entities_in(self.text, _ENTITY_KINDS))
        domain = self._segmenter.domain
        return frozenset(names | {domain.region_of(n) for n in names} - {""})

    @cached_property
    def numbers(self) -> tuple[Number, ...]:
        return tuple(numbers_in(self.text))


class SupportChecker:
    """The checks of the module docstring, with the project's segmentation."""

    def __init__(self, segmenter: Segmenter):
        self.segmenter = segmenter

    def evidence(self, *clauses: Clause) -> ClauseEvidence:
        return ClauseEvidence(clauses, self.segmenter)

    def content_words(self, text: str) -> list[str]:
        """Words that carry the sentence's meaning: stopwords, punctuation and numbers left out,
        aliases folded to canonical names (工信部 → 工业和信息化部)."""
        domain = self.segmenter.domain
        words = []
        for token in self.segmenter.cut(without_layout(text)):
            token = token.strip()
            if not token or token in STOPWORDS or not _WORD_OK.search(token) or _NUMBER.fullmatch(token):
                continue
            if token.isdigit() or all(ch in _NUMERALS for ch in token):
                continue
            words.append(domain.canonical(token))
        return words

    def names(self, text: str) -> list[str]:
        """Organisations, places, regions and regional programmes the text names (canonical)."""
        return self.segmenter.entities_in(without_layout(text), _ENTITY_KINDS)

    def check(self, sentence: str, evidence: ClauseEvidence) -> Finding:
        """Does `evidence` support `sentence` (citation marks already removed)?"""
        facts = self.facts(sentence)
        overlap = self.overlap(sentence, evidence)
        problem = self.fact_problem(sentence, evidence)
        if problem:
            return Finding(False, overlap, facts, problem)
        if overlap < MIN_OVERLAP:
            return Finding(False, overlap, facts, f"与条款［{evidence.label}］的内容对不上")
        return Finding(True, overlap, facts)

    def facts(self, sentence: str) -> tuple[str, ...]:
        """The numbers and names in `sentence` that the clause must contain."""
        return tuple(dict.fromkeys([n.text for n in numbers_in(without_layout(sentence))] + self.names(sentence)))

    def fact_problem(self, sentence: str, evidence: ClauseEvidence) -> str:
        """What of `sentence` — a quotation, number or name — the clause lacks, as a phrase; "" when nothing.

        The phrase says what kind of fact failed but never repeats it: a notice
        must not display the invented amount it is warning about."""
        label = evidence.label
        for quote in quotes_in(sentence):
            q = normalise(self.segmenter.canonicalise(quote))
            if q and q not in evidence.comparable:
                return f"引文与条款［{label}］原文不符"
        for number in numbers_in(without_layout(sentence)):
            if not any(_same_number(number, other) for other in evidence.numbers):
                what = "金额" if number.unit == "元" else "年份" if number.unit == "年" else "数字"
                return f"所说的{what}在条款［{label}］中找不到"
        domain = self.segmenter.domain
        for name in self.names(sentence):
            if name not in evidence.entities:
                what = "单位" if domain.by_name[name].kind == "org" else "地区或地名"
                return f"所提的{what}在条款［{label}］中没有出现"
        return ""

    def overlap(self, sentence: str, evidence: ClauseEvidence) -> float:
        """Share of the sentence's content words, weighted by length, that occur in the clause."""
        words = self.content_words(sentence)
        total = sum(len(w) for w in words)
        if not total:
            return 0.0
        found = sum(len(w) for w in words if normalise(w) in evidence.comparable)
        return found / total


def _same_number(a: Number, b: Number) -> bool:
    # A unit left out on one side (2022 vs 2022年) still names the same number.
    return a.value == b.value and (a.unit == b.unit or not a.unit or not b.unit)

