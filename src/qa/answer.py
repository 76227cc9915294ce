"""Stage 6 — answer (offline default): hits → a short cited Chinese `Answer`.

Extractive: it only ever repeats sentences of the retrieved clauses, each
followed by its clause label ［二（三）2］, so it cannot invent. Evidence is
judged by how much of the question's information (IDF-weighted terms) the
best clause covers; too little, or a place or year the documents never
mention, gives a refusal with the nearest clauses instead.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .question import Question
from .segment import Segmenter
from .structure import SENTENCE
from .types import Answer, Citation, Clause, Hit

REFUSAL = "文件中未找到与该问题直接相关的内容。"
_LIST_QUESTION = re.compile(r"哪些|有哪|分别|都有|所有|各项|几项|哪几|列举|包括什么|包括哪")
_WHEN_QUESTION = re.compile(r"何时|什么时候|哪天|哪一天|日期|哪年|哪一年|年份|时间")
_NUMBER_QUESTION = re.compile(r"多少|几|文号|编号|号")
_DATE = re.compile(r"\d{4}年")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
# Specifics that policy plans often leave to later notices: asking for one the
# documents never mention is a reason to refuse, not to quote something nearby.
_SPECIFICS = re.compile(r"[亿万]元|金额|预算|多少钱|资金规模|补贴标准|工资|薪酬|待遇|起征点|税率|截止日期|申报时间|联系电话|咨询电话")
_HEADING_NUMBER = re.compile(r"^(\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、)")


@dataclass(frozen=True)
class QuestionTerms:
    """The question's information as concepts with IDF weights.

    jieba's search mode yields a long word and its pieces (东西部科技合作, 东西部,
    西部 …). Counted separately they would give one concept several votes, so each
    longest term is one concept; a text that holds only a piece of it (健康 for
    身体健康) earns that piece's weight, at most the concept's."""

    concepts: tuple[tuple[float, tuple[tuple[str, float], ...]], ...]

    @property
    def total(self) -> float:
        return sum(weight for weight, _ in self.concepts)

    def credit(self, terms: set[str]) -> float:
        return sum(min(weight, max((w for t, w in pieces if t in terms), default=0.0))
                   for weight, pieces in self.concepts)


@dataclass(frozen=True)
class Evidence:
    """How well the retrieved clauses cover the question's information."""

    coverage: float  # share of the question's IDF weight found in the best clause
    missing: tuple[str, ...]  # places, organisations, years or specifics absent from the documents
    elsewhere: tuple[str, ...]  # places the documents name, but not in the best clause


class ExtractiveAnswerer:
    """Answers by quoting the best sentences of the best clauses."""

    # Below this share of the question's information in the best clause the
    # answer would be a guess. Low on purpose: paraphrases share few words with
    # the plan, and the explicit checks in `evidence` catch most unanswerables.
    min_coverage = 0.12

    def __init__(self, segmenter: Segmenter, clauses: tuple[Clause, ...], search_texts: tuple[str, ...]):
        self._segmenter = segmenter
        self._corpus_text = "\n".join(search_texts)
        term_sets = [set(segmenter.terms(text)) for text in search_texts]
        n = max(len(term_sets), 1)
        df: dict[str, int] = {}
        for terms in term_sets:
            for term in terms:
                df[term] = df.get(term, 0) + 1
        self._idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}
        self._unseen_idf = math.log((n + 1) / 0.5)
        self._clause_terms = {c.key: terms for c, terms in zip(clauses, term_sets)}
        self._texts = {c.key: text for c, text in zip(clauses, search_texts)}
        self._sentence_terms: dict[str, frozenset[str]] = {}
        # Whole-word entities (jieba's plain cut): 财政部门 must not count as a mention of 财政部.
        self._corpus_entities = {e for text in search_texts for e in segmenter.entities_in(text)}

    def answer(self, question: Question, hits: list[Hit]) -> Answer:
        """A cited answer to `question` from `hits`, or a refusal saying why."""
        asked = question.text
        if question.manipulation:
            return self.refuse(asked, hits, f"问题要求“{question.manipulation}”，本助手只引用文件原文作答，不编造或泄露内容。")
        if not hits:
            return self.refuse(asked, hits, "索引中没有可用的条款。")
        text = question.search_text
        weights = self._question_weights(text)
        hits = self._best_evidence_first(text, hits, weights)
        evidence = self.evidence(text, hits, weights)
        if evidence.missing:
            return self.refuse(asked, hits, f"文件中未提及“{'、'.join(evidence.missing)}”。")
        if evidence.elsewhere:
            return self.refuse(asked, hits, f"文件中没有把这一内容与“{'、'.join(evidence.elsewhere)}”联系起来的条款。")
        if evidence.coverage < self.min_coverage:
            return self.refuse(asked, hits, "检索到的条款与问题的关键内容不符。")
        is_list = bool(_LIST_QUESTION.search(text))
        picked = self._gather(text, hits, weights) if is_list else self._pick(text, hits, weights)
        return Answer(asked, _compose(picked, numbered=is_list and len(picked) > 1), _merge_citations(picked))

    def refuse(self, question: str, hits: list[Hit], reason: str) -> Answer:
        related = tuple(Citation.of(h) for h in hits[:3])
        lines = [REFUSAL + reason]
        if related:
            lines.append("相关条款：" + "；".join(f"［{c.clause_label}］{c.heading_path[-1]}" for c in related))
        return Answer(question, "\n".join(lines), refused=True, refusal_reason=reason, related=related)

    # --- evidence ---------------------------------------------------------

    def _question_weights(self, question: str) -> QuestionTerms:
        """The question's terms grouped into concepts (see `QuestionTerms`), IDF-weighted."""
        terms = set(self._segmenter.terms(question))
        idf = {t: self._idf.get(t, self._unseen_idf) for t in terms}
        whole = [t for t in terms if not any(t != other and t in other for other in terms)]
        return QuestionTerms(tuple((idf[w], tuple((t, idf[t]) for t in terms if t in w)) for w in sorted(whole)))

    def _best_evidence_first(self, question: str, hits: list[Hit], weights: QuestionTerms) -> list[Hit]:
        """Retrieval order, narrowed to what can answer: clauses naming every place the
        question names (「宁夏的特色农牧业」 is not answered from a 西藏 clause), and
        clauses covering at least 70% of what the best-covering clause covers (so a
        generic term shared by every clause does not outvote the one distinctive word)."""
        places = self._segmenter.entities_in(question, kinds=("region", "place"))
        names = [self._segmenter.domain.by_name[p].names for p in places]
        local = [h for h in hits if all(any(n in self._texts[h.clause.key] for n in ns) for ns in names)]
        pool = local or hits
        coverage = {h.clause.key: self._clause_coverage(h, weights) for h in pool}
        best = max(coverage.values())
        return [h for h in pool if coverage[h.clause.key] >= 0.7 * best]

    def evidence(self, question: str, hits: list[Hit], weights: QuestionTerms | None = None) -> Evidence:
        """How well `hits[0]` covers the question, and what the question names that the documents do not."""
        weights = weights if weights is not None else self._question_weights(question)
        coverage = self._clause_coverage(hits[0], weights)
        # Named entities are checked as terms, so 财政部 is not found inside 财政部门.
        named = self._segmenter.entities_in(question, kinds=("region", "place", "org"))
        missing = [name for name in named if name not in self._corpus_entities]
        missing += [m.group() + "年" for m in _YEAR.finditer(question) if m.group() not in self._corpus_text]
        missing += [m.group() for m in _SPECIFICS.finditer(question) if m.group() not in self._corpus_text]
        # A question about one region must not be answered with another region's measure.
        best_text = self._texts[hits[0].clause.key]
        domain = self._segmenter.domain
        elsewhere = [name for name in named if name not in missing and domain.by_name[name].kind in ("region", "place")
                     and not any(alias in best_text for alias in domain.by_name[name].names)]
        return Evidence(coverage, tuple(dict.fromkeys(missing)), tuple(elsewhere))

    def _clause_coverage(self, hit: Hit, weights: QuestionTerms) -> float:
        return weights.credit(self._clause_terms.get(hit.clause.key, set())) / (weights.total or 1.0)

    # --- sentence selection ------------------------------------------------

    def _pick(self, question: str, hits: list[Hit], weights: QuestionTerms) -> list[tuple[Hit, str]]:
        """One or two sentences, from the best clause unless another clause says it better."""
        top = hits[0]
        if self._asks_about_whole_measure(question, top.clause, weights):
            return [(top, s) for _, s in self._scored_sentences(question, top.clause, weights)[:2]]
        scored = sorted(((score, i, hit, sentence) for i, hit in enumerate(hits[:3])
                         for score, sentence in self._scored_sentences(question, hit.clause, weights)),
                        key=lambda row: (-row[0], row[1]))
        best = scored[0][0]
        picked = [(hit, sentence) for score, _, hit, sentence in scored[:2] if score >= 0.5 * best]
        return _in_reading_order(picked, hits)

    def _gather(self, question: str, hits: list[Hit], weights: QuestionTerms) -> list[tuple[Hit, str]]:
        """A list question: the best sentence of each clause that retrieval ranks close to
        the first, or that covers the question about as fully as the best-covering one."""
        coverage = {h.clause.key: self._clause_coverage(h, weights) for h in hits}
        most = max(coverage.values())
        close = [h for h in hits if h.score >= 0.75 * hits[0].score or coverage[h.clause.key] >= 0.9 * most][:6]
        picked = []
        for hit in close:
            scored = self._scored_sentences(question, hit.clause, weights)
            if scored:
                picked.append((hit, max(scored, key=lambda row: row[0])[1]))
        # A list reads in the documents' order (二（一）1 before 二（一）3), whatever the ranking.
        return sorted(picked, key=lambda p: (p[0].clause.doc_id, p[0].clause.start))

    def _scored_sentences(self, question: str, clause: Clause,
                          weights: QuestionTerms) -> list[tuple[float, str]]:
        """Body sentences of a clause with their scores, in document order. What the
        heading path matches counts for every sentence under it, and earlier
        sentences win ties (they open the measure)."""
        sentences, heading_score = self._body(question, clause, weights)
        return [(self._sentence_score(question, s, weights) + 0.5 * heading_score - 0.01 * i, s)
                for i, s in enumerate(sentences)]

    def _body(self, question: str, clause: Clause, weights: QuestionTerms) -> tuple[list[str], float]:
        """The clause's sentences without its heading line (a heading only restates the
        topic), and how well its heading path matches the question."""
        if not clause.heading_path or clause.clause_label in ("前言", "通知"):
            return _sentences(clause.text), 0.0
        title = clause.heading_path[-1]
        body = clause.text[len(title):] if clause.text.startswith(title) else clause.text
        sentences = _sentences(body.lstrip("。；： ")) or _sentences(clause.text)
        return sentences, self._sentence_score(question, " ".join(clause.heading_path), weights)

    def _asks_about_whole_measure(self, question: str, clause: Clause, weights: QuestionTerms) -> bool:
        """「临沧示范区要做什么？」: the heading matches better than any sentence under it,
        so the answer is the measure's opening sentences rather than one stray match."""
        sentences, heading_score = self._body(question, clause, weights)
        return heading_score > 0 and all(self._sentence_score(question, s, weights) < heading_score
                                         for s in sentences)

    def _terms_of(self, text: str) -> frozenset[str]:
        """Search terms of a clause sentence or heading path, segmented once per process:
        the same few hundred sentences come back question after question."""
        terms = self._sentence_terms.get(text)
        if terms is None:
            terms = self._sentence_terms[text] = frozenset(self._segmenter.terms(text))
        return terms

    def _sentence_score(self, question: str, sentence: str, weights: QuestionTerms) -> float:
        score = weights.credit(self._terms_of(sentence))
        if _WHEN_QUESTION.search(question) and _DATE.search(sentence):
            score += 3.0
        if _NUMBER_QUESTION.search(question) and re.search(r"\d|〔", sentence):
            score += 1.0
        return score


def _in_reading_order(picked: list[tuple[Hit, str]], hits: list[Hit]) -> list[tuple[Hit, str]]:
    """Rank order across clauses, document order inside a clause."""
    rank = {h.clause.key: i for i, h in enumerate(hits)}
    return sorted(picked, key=lambda p: (rank[p[0].clause.key], _position(p[0].clause, p[1])))


def _position(clause: Clause, sentence: str) -> int:
    # Sentences were given a closing 。 for display; find them without it.
    return clause.text.find(sentence.rstrip("。；！？"))


def _sentences(text: str) -> list[str]:
    """Sentences of a text; a leading heading number (2. / （一）) is dropped."""
    out = []
    for match in SENTENCE.finditer(text):
        sentence = _HEADING_NUMBER.sub("", match.group().strip())
        if len(sentence) >= 4:
            # Each quoted sentence is shown as a statement of its own.
            out.append(sentence[:-1] + "。" if sentence[-1] == "；" else
                       sentence if sentence[-1] in "。！？" else sentence + "。")
    return out


def _compose(picked: list[tuple[Hit, str]], numbered: bool) -> str:
    """Each sentence followed by its citation; a list answer gets one numbered line per clause."""
    if numbered:
        return "\n".join(f"{i}. {s}［{h.clause.clause_label}］" for i, (h, s) in enumerate(picked, 1))
    return "".join(f"{s}［{h.clause.clause_label}］" for h, s in picked)


def _merge_citations(picked: list[tuple[Hit, str]]) -> tuple[Citation, ...]:
    """One citation per clause, quoting the first sentence used from it."""
    seen: dict[str, Citation] = {}
    for hit, sentence in picked:
        seen.setdefault(hit.clause.key, Citation.of(hit, quote=sentence.rstrip("。；！？")))
    return tuple(seen.values())
