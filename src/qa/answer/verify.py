"""Stage 6 — verify: check an LLM answer sentence by sentence against the clauses it was given.

A generated sentence is shown only when a given clause supports it (see
`qa.answer.support`). Everything here is a pure function of (answer text,
question, hits): no network, no model, so the same checks run in tests, in the
benchmark and on every sentence of a streamed answer as it completes.

Per sentence (`SentenceChecker.check`):

1. Citation marks ［二（三）2］ (also [..] and 【..】) are parsed; a label that is not
   among the given clauses is removed and reported.
2. A cited clause must support the sentence. When none of the cited clauses does
   but exactly one other given clause does, the citation is corrected to it.
3. A sentence without a (valid) label gets the label of the clause that supports
   it (the best one, when several do); supported by none, it is dropped.
4. A sentence that only restates the question or the document's title, asks a
   question, or echoes the prompt's data tags says nothing a clause could support: dropped.
5. A lead-in ending in ： is shown only before a sentence that is, and only when
   the names and numbers it carries occur in a given clause.
6. A refusal (文件中未找到相关内容) is never streamed: whether it stands is
   decided once the whole answer is in (`Verification.refused`).

`VerifiedStream` runs these as text arrives and hands back only checked text;
`verify` does the same for a whole answer.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Sequence

from qa.answer.base import RELATED_SHOWN
from qa.answer.splitter import SentenceSplitter
from qa.answer.support import ClauseEvidence, Finding, SupportChecker, normalise, quotes_in, without_layout
from qa.text.labels import LOOSE_CITATION, label_key
from qa.text.sentences import SENTENCE
from qa.types import Answer, Citation, Hit, Support

# Phrases with which the model says the documents do not answer the question
# (the system prompt asks for the first one; the rest are common variants).
REFUSAL_PHRASES = (
    "文件中未找到", "未找到相关", "没有找到相关", "未能找到", "文件未涉及", "条款未涉及",
    "未涉及", "没有涉及", "未提及", "没有提及", "无法回答", "无法根据",
)
_REFUSAL_REASON = "大模型判断检索到的条款没有涉及这个问题"

_LABEL_SPLIT = re.compile(r"[、，,；;／/|\s]+")
_LIST_SPLIT = re.compile(r"[、，,；;／/|]+")
_ITEM = re.compile(r"^[（(][〇一二三四五六七八九十百]+[）)]$")
_MORE_NUMBERING = re.compile(r"[\d〇一二三四五六七八九十百(（]")
_LOOKS_LIKE_LABEL = re.compile(r"^(第?[〇一二三四五六七八九十百]+|[（(][〇一二三四五六七八九十百\d]+[）)]|\d|通知|前言)")
_STOPS = "。！？!?；;…"
_LEAD_END = ("：", ":")
_QUESTION_END = ("？", "?")
# The data tags of the prompt (qa.answer.llm.build_messages), which small models echo.
_PROMPT_TAG = re.compile(r"[<＜]\s*/?\s*(问题|条款)")
_NOTICE_EXAMPLES = 3  # dropped sentences named in a notice; the rest are counted


@dataclass(frozen=True)
class Verdict:
    """What the check decided about one sentence of the answer."""

    raw: str  # as the model wrote it, marks and trailing space included
    body: str  # without marks, layout or surrounding space
    kind: str  # "claim", "lead" (ends in ：), "refusal", "blank" (nothing but layout)
    shown: str = ""  # the sentence as displayed, with canonical ［label］ marks; "" when not shown
    cited: tuple[tuple[Hit, Finding], ...] = ()  # the clauses it is shown with and how each supports it
    reason: str = ""  # why it is not shown
    unknown_labels: tuple[str, ...] = ()  # cited labels that are not among the given clauses
    removed_labels: tuple[str, ...] = ()  # given labels taken off it (unsupported)
    added: bool = False  # it cited no given clause; the check chose one
    corrected: bool = False  # its citation did not support it; another given clause did
    echo: bool = False  # dropped for its form (a question, prompt tags, the question restated), not a claim

    @property
    def dropped(self) -> bool:
        """A claim that is not shown (lead-ins and refusals are not claims)."""
        return self.kind == "claim" and not self.shown

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(hit.clause.citation_label for hit, _ in self.cited)


class SentenceChecker:
    """Checks sentences of one answer against the clauses the model was given."""

    def __init__(self, hits: Sequence[Hit], question: str, support: SupportChecker):
        self.hits = tuple(hits)
        self.support = support
        self._evidence = {h.clause.key: support.evidence(h.clause) for h in self.hits}
        self._by_label: dict[str, list[Hit]] = {}
        for hit in self.hits:
            self._by_label.setdefault(hit.clause.citation_label, []).append(hit)
        self._known = {label_key(label): label for label in self._by_label}
        # A law's article cited without the law's name (［第六条］) is still its article when only one
        # given clause has that label.
        bare: dict[str, set[str]] = {}
        for hit in self.hits:
            bare.setdefault(label_key(hit.clause.clause_label), set()).add(hit.clause.citation_label)
        self._known.update({key: labels.pop() for key, labels in bare.items() if len(labels) == 1 and key not in self._known})
        # Words the user already gave (and the documents' titles): a sentence made only of
        # these restates the question and answers nothing.
        given = [question, *dict.fromkeys(h.clause.doc_title for h in self.hits)]
        self._given_words = {normalise(w) for text in given for w in support.content_words(text)}

    def check(self, raw: str) -> Verdict:
        marks = list(LOOSE_CITATION.finditer(raw))
        body = LOOSE_CITATION.sub("", raw).strip()
        plain = without_layout(body).strip()
        if not normalise(plain):
            return Verdict(raw, body, "blank")
        found, unknown = self._resolve_marks(marks)
        if is_refusal(plain) and not found:
            return Verdict(raw, body, "refusal", unknown_labels=unknown)
        if plain.endswith(_LEAD_END):
            return self._lead(raw, body, plain, unknown)
        reason = self._not_a_claim(plain)
        if reason:
            return Verdict(raw, body, "claim", reason=reason, unknown_labels=unknown, removed_labels=found, echo=True)
        verdict = self._claim(raw, body, plain, found, unknown)
        if verdict.shown and self._restates(plain):
            return replace(verdict, shown="", cited=(), reason="只是复述了问题", added=False, corrected=False,
                           removed_labels=found, echo=True)
        return verdict

    def _not_a_claim(self, plain: str) -> str:
        """Why a sentence cannot be a statement from the clauses at all; "" when it can."""
        if _PROMPT_TAG.search(plain):
            return "这是提示中的格式标记"
        if plain.endswith(_QUESTION_END):
            return "这是问句而不是回答"
        if not self.support.content_words(plain):
            return "没有可以核实的内容"
        return ""

    def _restates(self, plain: str) -> bool:
        """Only the question's (and the documents' titles') words: true, and no answer."""
        return all(normalise(w) in self._given_words for w in self.support.content_words(plain))

    def _claim(self, raw: str, body: str, plain: str, found: tuple[str, ...], unknown: tuple[str, ...]) -> Verdict:
        cited = [(hit, self._find(plain, hit)) for label in found for hit in [self._pick_hit(label, plain)]]
        backing = [(hit, finding) for hit, finding in cited if finding.ok]
        if not backing and len(cited) > 1:
            # One sentence summing up two clauses it cites: together they must support it.
            together = self.support.check(plain, self.support.evidence(*(hit.clause for hit, _ in cited)))
            backing = [(hit, together) for hit, _ in cited] if together.ok else []
        if backing:
            removed = tuple(hit.clause.citation_label for hit, f in cited if not f.ok)
            return Verdict(raw, body, "claim", _display(body, backing), tuple(backing),
                           unknown_labels=unknown, removed_labels=removed)
        others = [(hit, self._find(plain, hit)) for hit in self.hits if hit.clause.citation_label not in found]
        supporting = [(hit, f) for hit, f in others if f.ok]
        if supporting:
            best = max(supporting, key=lambda pair: pair[1].overlap)
            return Verdict(raw, body, "claim", _display(body, [best]), (best,), unknown_labels=unknown,
                           removed_labels=found, added=not found, corrected=bool(found))
        closest = max(cited or others, key=lambda pair: pair[1].overlap, default=None)
        reason = closest[1].reason if closest else "没有可以核对的条款"
        if not found:
            reason = f"未注明出处，最接近的条款也不支持它（{reason}）" if closest else reason
        return Verdict(raw, body, "claim", reason=reason, unknown_labels=unknown, removed_labels=found)

    def _lead(self, raw: str, body: str, plain: str, unknown: tuple[str, ...]) -> Verdict:
        """A lead-in («主要措施如下：») carries no claim of its own, but its names and numbers must hold."""
        problems = [self.support.fact_problem(plain, self._evidence[h.clause.key]) for h in self.hits]
        if problems and not all(problems):
            return Verdict(raw, body, "lead", _display(body, []), unknown_labels=unknown)
        return Verdict(raw, body, "claim", reason=problems[0] if problems else "没有可以核对的条款",
                       unknown_labels=unknown)

    def _find(self, plain: str, hit: Hit) -> Finding:
        evidence: ClauseEvidence = self._evidence[hit.clause.key]
        return self.support.check(plain, evidence)

    def _resolve_marks(self, marks: Sequence[re.Match]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found, unknown = [], []
        for mark in marks:
            labels, missing = _resolve(mark.group(1), self._known)
            found += labels
            unknown += missing
        return tuple(dict.fromkeys(found)), tuple(dict.fromkeys(unknown))

    def _pick_hit(self, label: str, sentence: str) -> Hit:
        """Two documents may share a label (一, 前言): take the clause that supports the sentence best."""
        candidates = self._by_label[label]
        if len(candidates) == 1:
            return candidates[0]
        return max(candidates, key=lambda h: self.support.overlap(sentence, self._evidence[h.clause.key]))


def is_refusal(sentence: str) -> bool:
    """True when the sentence says the documents do not cover the question."""
    return any(phrase in sentence for phrase in REFUSAL_PHRASES)


def _display(body: str, cited: Sequence[tuple[Hit, Finding]]) -> str:
    """The sentence as shown: Markdown emphasis dropped, its labels before the closing stop."""
    text = body.replace("**", "").replace("__", "")
    marks = "".join(f"［{label}］" for label in dict.fromkeys(h.clause.citation_label for h, _ in cited))
    core = text.rstrip(_STOPS)
    return core + marks + text[len(core):]


def _resolve(content: str, known: dict[str, str]) -> tuple[list[str], list[str]]:
    """Labels in one mark's content → (canonical labels found, raw labels not found)."""
    found, missing = [], []
    whole = label_key(content)
    if whole in known:  # the common case, and labels never contain separators
        return [known[whole]], []
    # A law's citation has a space inside (科学技术进步法 第六条): each listed part is tried whole first.
    parts = [p for listed in _LIST_SPLIT.split(content.strip()) if listed
             for p in ([listed] if _lookup(label_key(listed), known) else _LABEL_SPLIT.split(listed)) if p]
    for part in parts:
        label = _lookup(label_key(part), known)
        if label:
            found.append(label)
        elif _LOOKS_LIKE_LABEL.match(part):
            missing.append(part)
        # Anything else is words after a label (［二（三）2 打造…］), not a citation of its own.
    if not found and not missing:
        missing.append(content.strip())
    return found, missing


def _lookup(key: str, known: dict[str, str]) -> str | None:
    """The label `key` names: itself, or the longest known label it starts with when what follows
    is a heading (［二（三）2打造世界级盐湖产业基地］) or an item of an article (［第二十三条（三）］ cites
    第二十三条), not more numbering (［十一］ is not ［十］)."""
    if key in known:
        return known[key]
    prefixes = [k for k in known if key.startswith(k) and
                (not _MORE_NUMBERING.match(key[len(k):]) or k.endswith("条") and _ITEM.match(key[len(k):]))]
    return known[max(prefixes, key=len)] if prefixes else None


# --- the whole answer --------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one answer: every sentence's verdict and what is shown."""

    verdicts: tuple[Verdict, ...]
    text: str  # exactly what was shown, in order
    hits: tuple[Hit, ...] = ()
    check_ms: float = field(default=0.0, compare=False)

    @property
    def shown(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.shown and v.kind == "claim")

    @property
    def dropped(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.dropped)

    @property
    def refusals(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.kind == "refusal")

    @property
    def grounded(self) -> bool:
        return bool(self.shown)

    @property
    def refused(self) -> bool:
        """The model declined, and said nothing else that could be a claim (echoing the question is not one)."""
        return bool(self.refusals) and not self.shown and all(v.echo for v in self.dropped)

    @property
    def dropped_citations(self) -> tuple[str, ...]:
        """Labels taken out of the answer: not given, or given but not supporting the sentence."""
        return tuple(dict.fromkeys(label for v in self.verdicts for label in (*v.unknown_labels, *v.removed_labels)))

    @property
    def citations(self) -> tuple[Citation, ...]:
        """One per clause, in order of first use, with the clause sentence closest to what was said
        and every shown sentence that rests on it."""
        order: dict[str, tuple[Hit, list[Support], list[str]]] = {}
        for v in self.shown:
            for hit, finding in v.cited:
                _, supports, bodies = order.setdefault(hit.clause.key, (hit, [], []))
                supports.append(Support(_strip_layout(v.body), finding.overlap, finding.facts,
                                        v.added or v.corrected))
                bodies.append(v.body)
        return tuple(Citation.of(hit, _quote_for(bodies, hit), tuple(supports)) for hit, supports, bodies in order.values())

    @property
    def notices(self) -> tuple[str, ...]:
        notices = []
        unknown = tuple(dict.fromkeys(label for v in self.verdicts for label in v.unknown_labels))
        if unknown:
            notices.append(f"回答引用了检索结果中没有的条款［{'、'.join(unknown)}］，已删除这些引用。")
        added = [v for v in self.shown if v.added]
        if added:
            labels = "、".join(dict.fromkeys(label for v in added for label in v.labels))
            notices.append(f"有 {len(added)} 句回答没有注明出处，已按支持它的条款补上［{labels}］。")
        corrected = [v for v in self.shown if v.corrected]
        if corrected:
            labels = "、".join(dict.fromkeys(label for v in corrected for label in v.labels))
            notices.append(f"有 {len(corrected)} 句回答所注的出处不支持其内容，已改为支持它的条款［{labels}］。")
        dropped = self.dropped
        if dropped and self.shown:
            notices.append(dropped_notice(dropped))
        if self.refusals and self.shown:
            notices.append("回答中称文件未涉及某些内容，这类说法无法逐条核实，已略去。")
        return tuple(notices)


def dropped_notice(dropped: Sequence[Verdict]) -> str:
    """«已删除 2 句无法在所给条款中核实的内容：所说的金额在条款［三（二）］中找不到；只是复述了问题。»
    Reasons, not the sentences: the notice must not display what it warns about."""
    reasons = list(dict.fromkeys(v.reason for v in dropped))
    more = "等" if len(reasons) > _NOTICE_EXAMPLES else ""
    return f"已删除 {len(dropped)} 句无法在所给条款中核实的内容：{'；'.join(reasons[:_NOTICE_EXAMPLES])}{more}。"


def failure_reason(v: Verification) -> str:
    """Why an answer with nothing shown failed verification, for the user's notice."""
    if not v.verdicts or all(x.kind == "blank" for x in v.verdicts):
        return "回答为空"
    dropped = v.dropped
    if not dropped:
        return "回答没有可以核实的内容"
    first = dropped[0]
    if len(dropped) == 1:
        return f"唯一的一句无法核实：{first.reason}"
    return f"{len(dropped)} 句都无法在所给条款中核实，例如：{first.reason}"


class VerifiedStream:
    """An answer arriving piece by piece → the checked text to display, sentence by sentence.

    `feed` and `close` return only text that has passed the check (possibly ""),
    so whatever a caller displays is exactly `verification().text` in the end."""

    def __init__(self, checker: SentenceChecker):
        self.checker = checker
        self._splitter = SentenceSplitter()
        self._verdicts: list[Verdict] = []
        self._shown: list[str] = []
        self._lead: Verdict | None = None  # a lead-in waiting for a sentence to introduce
        self._lead_break = False
        self._break = False  # a line break before the next displayed sentence
        self._check_s = 0.0

    def feed(self, piece: str) -> str:
        return "".join(self._admit(raw) for raw in self._splitter.feed(piece))

    def close(self) -> str:
        return "".join(self._admit(raw) for raw in self._splitter.close())

    def verification(self) -> Verification:
        return Verification(tuple(self._verdicts), "".join(self._shown), self.checker.hits, self._check_s * 1000)

    def _admit(self, raw: str) -> str:
        started = time.perf_counter()
        verdict = self.checker.check(raw)
        self._check_s += time.perf_counter() - started
        self._verdicts.append(verdict)
        ends_line = "\n" in raw
        if verdict.kind == "lead" and verdict.shown:
            self._lead, self._lead_break = verdict, ends_line
            return ""
        if verdict.kind != "claim" or not verdict.shown:
            self._break = self._break or (ends_line and bool(self._shown))
            return ""
        out = []
        if self._lead is not None:
            out.append(self._separator() + self._lead.shown)
            self._shown.append(out[-1])
            self._break = self._lead_break
            self._lead = None
        out.append(self._separator() + verdict.shown)
        self._shown.append(out[-1])
        self._break = ends_line
        return "".join(out)

    def _separator(self) -> str:
        return "\n" if self._break and self._shown else ""


def verify(text: str, hits: Sequence[Hit], question: str, support: SupportChecker) -> Verification:
    """Check a whole answer (see the module docstring)."""
    stream = VerifiedStream(SentenceChecker(hits, question, support))
    stream.feed(text)
    stream.close()
    return stream.verification()


def verified_answer(question: str, v: Verification) -> Answer | None:
    """The verified model answer as the user gets it; None when nothing in it could be shown and it
    is not a refusal (the caller answers otherwise and says why: `failure_reason`).
    A refusal stays a refusal, with the nearest clauses as `related`."""
    if v.refused:
        return Answer(
            question, "".join(r.body for r in v.refusals[:1]), refused=True, refusal_reason=_REFUSAL_REASON,
            related=tuple(Citation.of(h) for h in v.hits[:RELATED_SHOWN]),
            backend="llm", notices=v.notices, dropped_citations=v.dropped_citations,
        )
    if v.grounded:
        return Answer(question, v.text, v.citations, backend="llm",
                      notices=v.notices, dropped_citations=v.dropped_citations)
    return None


def _bigrams(text: str) -> set[str]:
    t = normalise(text)
    return {t[i:i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def best_sentence(answer_sentence: str, clause_text: str, min_overlap: float = 0.2) -> str | None:
    """The clause sentence that best supports `answer_sentence` (bigram overlap), or None."""
    wanted = _bigrams(answer_sentence)
    if not wanted:
        return None
    best, best_score = None, 0.0
    for candidate in (m.group(0).strip() for m in SENTENCE.finditer(clause_text)):
        have = _bigrams(candidate)
        score = len(wanted & have) / len(wanted)
        if score > best_score:
            best, best_score = candidate, score
    return best if best_score >= min_overlap else None


def _quote_for(bodies: Sequence[str], hit: Hit) -> str | None:
    """The clause sentence to highlight: the one a quotation came from, else the one closest
    to the first sentence that cites the clause."""
    for quote in (q for body in bodies for q in quotes_in(body)):
        found = best_sentence(quote, hit.clause.text, 0.5)
        if found:
            return found
    return best_sentence(bodies[0], hit.clause.text) if bodies else None


def _strip_layout(body: str) -> str:
    return without_layout(body).strip()

