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
from .types import Answer, Citation, Clause, Hit

REFUSAL = "文件中未找到与该问题直接相关的内容。"
_SENTENCE = re.compile(r"[^。；！？\n]+[。；！？]?")
_LIST_QUESTION = re.compile(r"哪些|有哪|分别|都有|所有|各项|几项|哪几|列举|包括什么|包括哪")
_WHEN_QUESTION = re.compile(r"何时|什么时候|哪天|哪一天|日期|哪年|时间")
_NUMBER_QUESTION = re.compile(r"多少|几|文号|编号|号")
_DATE = re.compile(r"\d{4}年")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
# Specifics that policy plans often leave to later notices: asking for one the
# documents never mention is a reason to refuse, not to quote something nearby.
_SPECIFICS = re.compile(r"[亿万]元|金额|预算|多少钱|资金规模|补贴标准|工资|薪酬|待遇|起征点|税率|截止日期|申报时间|联系电话|咨询电话")
_HEADING_NUMBER = re.compile(r"^(\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、)")


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
        # Whole-word entities (jieba's plain cut): 财政部门 must not count as a mention of 财政部.
        self._corpus_entities = {e for text in search_texts for e in segmenter.entities_in(text)}

    def answer(self, question: Question, hits: list[Hit]) -> Answer:
        """A cited answer to `question` from `hits`, or a refusal saying why."""
        asked = question.text
        if question.manipulation:
            return self.refuse(asked, hits, f"问题要求“{question.manipulation}”，本助手只引用文件原文作答，不编造或泄露内容。")
        if not hits:
            return self.refuse(asked, hits, "索引中没有可用的条款。")
        weights = self._question_weights(question.search_text)
        evidence = self.evidence(question.search_text, hits, weights)
        if evidence.missing:
            return self.refuse(asked, hits, f"文件中未提及“{'、'.join(evidence.missing)}”。")
        if evidence.elsewhere:
            return self.refuse(asked, hits, f"文件中没有把这一内容与“{'、'.join(evidence.elsewhere)}”联系起来的条款。")
        if evidence.coverage < self.min_coverage:
            return self.refuse(asked, hits, "检索到的条款与问题的关键内容不符。")
        picked = self._pick(question.search_text, hits, weights, evidence)
        text = _compose(picked, numbered=bool(_LIST_QUESTION.search(question.search_text)) and len(picked) > 1)
        citations = _merge_citations([(hit, sentence) for hit, sentence in picked])
        return Answer(asked, text, citations)

    def refuse(self, question: str, hits: list[Hit], reason: str) -> Answer:
        related = tuple(Citation.of(h) for h in hits[:3])
        lines = [REFUSAL + reason]
        if related:
            lines.append("相关条款：" + "；".join(f"［{c.clause_label}］{c.heading_path[-1]}" for c in related))
        return Answer(question, "\n".join(lines), refused=True, refusal_reason=reason, related=related)

    # --- evidence ---------------------------------------------------------

    def _question_weights(self, question: str) -> dict[str, float]:
        return {t: self._idf.get(t, self._unseen_idf) for t in set(self._segmenter.terms(question))}

    def evidence(self, question: str, hits: list[Hit], weights: dict[str, float] | None = None) -> Evidence:
        weights = weights if weights is not None else self._question_weights(question)
        total = sum(weights.values())
        best_terms = self._clause_terms.get(hits[0].clause.key, set())
        coverage = sum(w for t, w in weights.items() if t in best_terms) / total if total else 0.0
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

    # --- sentence selection ------------------------------------------------

    def _pick(self, question: str, hits: list[Hit], weights: dict[str, float],
              evidence: Evidence) -> list[tuple[Hit, str]]:
        candidates = [hit for rank, hit in enumerate(hits)
                      if rank == 0 or self._clause_coverage(hit, weights) >= 0.7 * evidence.coverage]
        scored = [(score, hit, sentence) for hit in candidates
                  for score, sentence in self._scored_sentences(question, hit.clause, weights)]
        if not scored:
            return []
        is_list = bool(_LIST_QUESTION.search(question))
        best_score = max(s for s, _, _ in scored)
        picked: list[tuple[Hit, str]] = []
        seen_clauses: set[str] = set()
        for score, hit, sentence in sorted(scored, key=lambda row: -row[0]):
            key = hit.clause.key
            if score < 0.5 * best_score:
                break
            if is_list and key in seen_clauses:
                continue  # a list gathers one sentence from each clause
            if not is_list and len(picked) >= 2:
                break
            picked.append((hit, sentence))
            seen_clauses.add(key)
            if is_list and len(picked) >= 6:
                break
        order = {h.clause.key: i for i, h in enumerate(hits)}
        # Read in the documents' order inside a clause, in rank order across clauses.
        return sorted(picked, key=lambda p: (order[p[0].clause.key], p[0].clause.text.find(p[1])))

    def _scored_sentences(self, question: str, clause: Clause,
                          weights: dict[str, float]) -> list[tuple[float, str]]:
        """Body sentences of a clause with their scores. A heading only restates
        the topic, so it is not offered as an answer; what it matches counts for
        every sentence under it, and earlier sentences win ties (they open the measure)."""
        sentences = _sentences(clause.text)
        has_heading = len(clause.heading_path) > 0 and clause.heading_path[-1] not in ("前言", "通知")
        if has_heading and len(sentences) > 1:
            title_score = self._sentence_score(question, sentences[0], weights)
            body = sentences[1:]
        else:
            title_score, body = 0.0, sentences
        return [(self._sentence_score(question, s, weights) + 0.5 * title_score - 0.01 * i, s)
                for i, s in enumerate(body)]

    def _clause_coverage(self, hit: Hit, weights: dict[str, float]) -> float:
        total = sum(weights.values()) or 1.0
        terms = self._clause_terms.get(hit.clause.key, set())
        return sum(w for t, w in weights.items() if t in terms) / total

    def _sentence_score(self, question: str, sentence: str, weights: dict[str, float]) -> float:
        terms = set(self._segmenter.terms(sentence))
        score = sum(w for t, w in weights.items() if t in terms)
        if _WHEN_QUESTION.search(question) and _DATE.search(sentence):
            score += 3.0
        if _NUMBER_QUESTION.search(question) and re.search(r"\d|〔", sentence):
            score += 1.0
        return score


def _sentences(text: str) -> list[str]:
    """Sentences of a clause; the heading's number (2. / （一）) is dropped from the first."""
    out = []
    for match in _SENTENCE.finditer(text):
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
