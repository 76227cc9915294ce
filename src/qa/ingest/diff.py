"""What changed between two versions of a law: articles aligned by content, then compared.

A revision renumbers articles (科学技术普及法 2002 第六条 is 2024 第九条), so articles
are paired by what they say, not by their number: every old article with every new
one by the character pairs they share, best pairs first, each article in at
most one pair. A pair below `MIN_SIMILARITY` is no pair: the old article was
removed and the new one added. A paired article whose text differs is changed;
its sentences are compared in order, and a replaced sentence is shown beside the
one it replaces with the changed characters marked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Sequence

from qa.text.sentences import SENTENCE
from qa.types import Clause

# `similarity` at which two articles are one article revised. Unrelated articles of one law
# share its vocabulary (科普, 国家, 应当) and stay well below this.
MIN_SIMILARITY = 0.4
_ARTICLE = re.compile(r"^第[〇零一二三四五六七八九十百千两]+条(之[一二三四五六七八九十]+)?")


@dataclass(frozen=True)
class Span:
    """Part of a sentence: `changed` parts differ from the other version."""

    text: str
    changed: bool


@dataclass(frozen=True)
class SentenceChange:
    """One sentence replaced, removed ("" new) or added ("" old), with its marked parts."""

    old: str
    new: str
    old_spans: tuple[Span, ...]
    new_spans: tuple[Span, ...]


@dataclass(frozen=True)
class ArticleChange:
    """One article in the two versions: kind is "changed", "unchanged", "added" or "removed"."""

    kind: str
    old: Clause | None
    new: Clause | None
    similarity: float = 0.0
    sentences: tuple[SentenceChange, ...] = ()

    @property
    def renumbered(self) -> bool:
        return self.old is not None and self.new is not None and self.old.clause_label != self.new.clause_label


@dataclass(frozen=True)
class VersionDiff:
    """Every article of both versions, in the new version's order (removed ones where they stood)."""

    old_doc: str
    new_doc: str
    articles: tuple[ArticleChange, ...]

    def of_kind(self, kind: str) -> list[ArticleChange]:
        return [a for a in self.articles if a.kind == kind]


def body(clause: Clause) -> str:
    """An article's text without its number (第六条 ), which changes when nothing else does."""
    return _ARTICLE.sub("", clause.text).strip()


def diff_versions(old: Sequence[Clause], new: Sequence[Clause], old_doc: str = "", new_doc: str = "") -> VersionDiff:
    """Align the articles of `old` and `new` by content and describe each pair (see the module doc)."""
    old = [c for c in old if _ARTICLE.match(c.text)]
    new = [c for c in new if _ARTICLE.match(c.text)]
    pairs = align(old, new)
    partner_of_new = {j: (i, score) for i, j, score in pairs}
    matched_old = {i for i, _, _ in pairs}
    changes: list[ArticleChange] = []
    for j, clause in enumerate(new):
        if j in partner_of_new:
            i, score = partner_of_new[j]
            changes.append(_compare(old[i], clause, score))
        else:
            changes.append(ArticleChange("added", None, clause))
    # A removed article goes after the article its predecessor became, so it reads in place.
    for i in sorted(set(range(len(old))) - matched_old):
        at = _position_after(i, changes, old)
        changes.insert(at, ArticleChange("removed", old[i], None))
    return VersionDiff(old_doc, new_doc, tuple(changes))


def align(old: Sequence[Clause], new: Sequence[Clause]) -> list[tuple[int, int, float]]:
    """(old index, new index, similarity) pairs, each article in at most one, best first."""
    grams_old = [_bigrams(body(c)) for c in old]
    grams_new = [_bigrams(body(c)) for c in new]
    scored = sorted(((similarity(a, b), i, j) for i, a in enumerate(grams_old) for j, b in enumerate(grams_new)),
                    key=lambda row: (-row[0], abs(row[1] - row[2])))
    used_old, used_new, pairs = set(), set(), []
    for score, i, j in scored:
        if score < MIN_SIMILARITY:
            break
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j, score))
    return pairs


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """The mean of the overlap of two sets of character pairs (Dice) and the share of the smaller
    found in the larger: an article a revision extended with new paragraphs still pairs with
    its old self."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return (2 * shared / (len(a) + len(b)) + shared / min(len(a), len(b))) / 2


def _bigrams(text: str) -> frozenset[str]:
    text = re.sub(r"\s", "", text)
    return frozenset(text[k:k + 2] for k in range(len(text) - 1))


def _compare(old: Clause, new: Clause, score: float) -> ArticleChange:
    if body(old) == body(new):
        return ArticleChange("unchanged", old, new, score)
    return ArticleChange("changed", old, new, score, tuple(sentence_changes(body(old), body(new))))


def sentence_changes(old: str, new: str) -> list[SentenceChange]:
    """The sentences that differ, in order: a replaced run is paired sentence by sentence."""
    a, b = _sentences(old), _sentences(new)
    out: list[SentenceChange] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            out.append(_marked(olds[k] if k < len(olds) else "", news[k] if k < len(news) else ""))
    return out


def _sentences(text: str) -> list[str]:
    return [m.group().strip() for m in SENTENCE.finditer(text) if m.group().strip()]


def _marked(old: str, new: str) -> SentenceChange:
    """The two sentences cut into parts the other version shares and parts it does not."""
    old_spans: list[Span] = []
    new_spans: list[Span] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i2 > i1:
            old_spans.append(Span(old[i1:i2], tag != "equal"))
        if j2 > j1:
            new_spans.append(Span(new[j1:j2], tag != "equal"))
    return SentenceChange(old, new, tuple(old_spans), tuple(new_spans))


def _position_after(i: int, changes: list[ArticleChange], old: Sequence[Clause]) -> int:
    """Where removed old article `i` goes: after the entry of the nearest earlier old article."""
    for k in range(i - 1, -1, -1):
        for at, change in enumerate(changes):
            if change.old is old[k]:
                return at + 1
    return 0
