"""Stage 6 — answer (offline default): hits → a short cited Chinese `Answer`.

Extractive: it only ever repeats sentences of the retrieved clauses, each
followed by its clause label ［二（三）2］, so it cannot invent. Evidence is
judged by how much of the question's information (IDF-weighted terms) the
best clause covers; too little, or a place or year the documents never
mention, gives a refusal with the nearest clauses instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import Sequence

from qa.answer.base import TokenSink, refusal
from qa.query.question import Question
from qa.text.segment import Segmenter
from qa.text.sentences import SENTENCE, without_heading_number
from qa.text.vocabulary import Vocabulary
from qa.types import Answer, Citation, Clause, Hit

_BROAD = re.compile(r"具体(有|是|怎么|如何|安排|内容|措施)|哪些(安排|内容|措施|举措)|(怎么|如何)安排|方面")
_WHEN_QUESTION = re.compile(r"何时|什么时候|哪天|哪一天|日期|哪年|哪一年|年份|时间")
_NUMBER_QUESTION = re.compile(r"多少|几|文号|编号|号")
_DATE = re.compile(r"\d{4}年")


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
    elsewhere: tuple[str, ...]  # places the documents name, but not in the best clause


class ExtractiveAnswerer:
    """Answers by quoting the best sentences of the best clauses."""

    # Below this share of the question's information in the best clause the
    # answer would be a guess. Low on purpose: paraphrases share few words with
    # the plan, and the explicit checks in `evidence` catch most unanswerables.
    min_coverage = 0.12
    # A word the documents never use is as likely the asker's own paraphrase (种果树 for 林果)
    # as a missing concept — missing names and values are the guard's (answerability) — so it
    # weighs less than the rarest word they do use.
    unseen_share = 0.4

    def __init__(self, segmenter: Segmenter, clauses: tuple[Clause, ...], vocabulary: Vocabulary):
        self._segmenter = segmenter
        self._vocabulary = vocabulary
        self._clause_terms = {c.key: terms for c, terms in zip(clauses, vocabulary.term_sets)}
        self._texts = {c.key: text for c, text in zip(clauses, vocabulary.texts)}
        self._sentence_terms: dict[str, frozenset[str]] = {}

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer:
        """A cited answer to `question` from `hits`, or a refusal saying why (never None)."""
        asked = question.text
        hits = list(hits)
        if not hits:
            return refusal(question, hits, "索引中没有可用的条款。")
        text = question.search_text
        weights = self._question_weights(text)
        top3 = hits[:3]
        hits = self._best_evidence_first(text, hits, weights)
        evidence = self.evidence(text, hits, weights)
        if evidence.elsewhere:
            return refusal(question, hits, f"文件中没有把这一内容与“{'、'.join(evidence.elsewhere)}”联系起来的条款。")
        if evidence.coverage < self.min_coverage:
            return refusal(question, hits, "检索到的条款与问题的关键内容不符。")
        if question.intent.asks_for == "time":
            hits = _dated_first(top3, hits)
        # A structure question the document answerer declined (「包括哪些子任务」) still asks for a list.
        is_list = question.intent.kind in ("list", "structure")
        picked = self._gather(text, hits, weights) if is_list else self._pick(text, hits, weights)
        if is_list and len({h.clause.key for h, _ in picked}) == 1 and _BROAD.search(text):
            picked = self._pick(text, [picked[0][0]], weights)  # one clause lists it all: quote more of it
        return Answer(asked, _compose(picked, numbered=is_list and len(picked) > 1), _merge_citations(picked))

    # --- evidence ---------------------------------------------------------

    def _question_weights(self, question: str) -> QuestionTerms:
        """The question's terms grouped into concepts (see `QuestionTerms`), IDF-weighted."""
        terms = set(self._segmenter.terms(question))
        idf = {t: self._vocabulary.idf.get(t, self.unseen_share * self._vocabulary.unseen_idf) for t in terms}
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
        # Names the documents never use are refused earlier (`qa.answer.answerability`).
        named = self._segmenter.entities_in(question, kinds=("region", "place", "org"))
        # A question about one region must not be answered with another region's measure.
        best_text = self._texts[hits[0].clause.key]
        domain = self._segmenter.domain
        elsewhere = [name for name in named if domain.by_name[name].kind in ("region", "place")
                     and not any(alias in best_text for alias in domain.by_name[name].names)]
        return Evidence(coverage, tuple(elsewhere))

    def _clause_coverage(self, hit: Hit, weights: QuestionTerms) -> float:
        return weights.credit(self._clause_terms.get(hit.clause.key, set())) / (weights.total or 1.0)

    # --- sentence selection ------------------------------------------------

    def _pick(self, question: str, hits: list[Hit], weights: QuestionTerms) -> list[tuple[Hit, str]]:
        """One or two sentences, from the best clause unless another clause says it better."""
        top = hits[0]
        if self._asks_about_whole_measure(question, top.clause, weights) or _BROAD.search(question):
            # 「具体有哪些安排？」「人才方面呢？」 ask for the measure, not one matching sentence.
            scored = self._scored_sentences(question, top.clause, weights)
            best = sorted(scored, key=lambda row: -row[0])[:3]
            return [(top, s) for score, s in scored if (score, s) in best]
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


def _dated_first(top: list[Hit], narrowed: list[Hit]) -> list[Hit]:
    """「目标年份是哪一年？」: a clause of the top three that states a date comes first, even
    if it shares fewer words with the question — only such a clause can answer when."""
    dated = [h for h in top if _DATE.search(h.clause.text)]
    return dated + [h for h in narrowed if h not in dated] if dated else narrowed


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
        sentence = without_heading_number(match.group())
        if len(sentence) >= 4:
            # Each quoted sentence is shown as a statement of its own.
            out.append(sentence[:-1] + "。" if sentence[-1] == "；" else
                       sentence if sentence[-1] in "。！？" else sentence + "。")
    return out


def _compose(picked: list[tuple[Hit, str]], numbered: bool) -> str:
    """Each sentence followed by its citation; a list answer gets one numbered line per clause."""
    if numbered:
        return "\n".join(f"{i}. {s}［{h.clause.citation_label}］" for i, (h, s) in enumerate(picked, 1))
    return "".join(f"{s}［{h.clause.citation_label}］" for h, s in picked)


def _merge_citations(picked: list[tuple[Hit, str]]) -> tuple[Citation, ...]:
    """One citation per clause, quoting the first sentence used from it."""
    seen: dict[str, Citation] = {}
    for hit, sentence in picked:
        seen.setdefault(hit.clause.key, Citation.of(hit, quote=sentence.rstrip("。；！？")))
    return tuple(seen.values())
