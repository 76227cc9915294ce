"""Stage 6 — verify: check an LLM answer against the clauses it was given.

A generated answer is trusted only as far as its citations hold. Everything
here is a pure function of (answer text, hits): no network, no model, so the
same checks run in tests, in the benchmark and after every streamed answer.

The checks, in order:

1. Citations ［二（三）2］ (also [..] and 【..】) are parsed; a label that is not
   among the given clauses is removed from the text and reported.
2. A quoted span 「…」 or “…” must occur in a clause the sentence cites
   (compared after NFKC, ignoring punctuation and spacing); if it does not,
   that sentence's citations are removed and a notice says why.
3. Sentences left without a citation are listed in a notice.
4. An answer with no valid citation left that is not a refusal is replaced by
   the fallback (extractive) answer, with a note saying why.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Callable, Sequence

from .structure import SENTENCE
from .types import Answer, Citation, Hit

# Phrases with which the model says the documents do not answer the question
# (the system prompt asks for the first one; the rest are common variants).
REFUSAL_PHRASES = (
    "文件中未找到", "未找到相关", "没有找到相关", "未能找到", "文件未涉及", "条款未涉及",
    "未涉及", "没有涉及", "未提及", "没有提及", "无法回答", "无法根据",
)
_REFUSAL_REASON = "大模型判断检索到的条款没有涉及这个问题"

# A citation mark: full-width ［］, ASCII [] or 【】, short, on one line.
_MARK = re.compile(r"[［\[【]([^［\]］【】\[\n]{1,60})[］\]】]")
_LABEL_SPLIT = re.compile(r"[、，,；;／/|\s]+")
_MORE_NUMBERING = re.compile(r"[\d〇一二三四五六七八九十百(（]")
_LOOKS_LIKE_LABEL = re.compile(r"^(第?[〇一二三四五六七八九十百]+|[（(][〇一二三四五六七八九十百\d]+[）)]|\d|通知|前言)")
_QUOTE = re.compile(r"「([^「」\n]{1,400})」|“([^“”\n]{1,400})”")
_TERMINATORS = "。！？!?；;\n"
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
_MIN_SENTENCE_CHARS = 4  # shorter fragments ("是的。") carry no claim worth a citation


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer: its span and the citation marks it owns."""

    start: int
    end: int
    text: str  # the sentence with citation marks removed, stripped
    marks: tuple[int, ...]  # indices into the answer's list of marks


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one answer against its clauses."""

    text: str  # the answer with invalid citations removed and labels in canonical ［］ form
    citations: tuple[Citation, ...]
    dropped_citations: tuple[str, ...]
    notices: tuple[str, ...]
    refused: bool
    uncited: tuple[str, ...]  # sentences that cite nothing
    bad_quotes: tuple[str, ...]

    @property
    def grounded(self) -> bool:
        return bool(self.citations)


def normalise(text: str) -> str:
    """Comparison form: NFKC (full/half width folded), lower case, only letters and digits.

    Used only for comparing; text shown to users is never normalised.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def label_key(label: str) -> str:
    """Comparison form of a clause label: 二（三）2, 二(三)2 and 二、(三)、2 are one label."""
    folded = unicodedata.normalize("NFKC", label).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "、.。,，·:：")


def strip_reasoning(text: str) -> str:
    """Drop a <think>…</think> block that reasoning models put before the answer."""
    return _THINK.sub("", text).strip()


def is_refusal(sentence: str) -> bool:
    """True when the sentence says the documents do not cover the question."""
    return any(phrase in sentence for phrase in REFUSAL_PHRASES)


def quote_in(quote: str, source: str) -> bool:
    """Does `quote` occur in `source`, ignoring punctuation, spacing and width?

    An exact match of the normalised forms is required for short quotes; a
    quote of eight characters or more may differ in about one character in ten
    (a model copying a long span often slips on one character).
    """
    q, s = normalise(quote), normalise(source)
    if not q:
        return True  # nothing checkable (a quoted punctuation mark)
    if q in s:
        return True
    if len(q) < 8:
        return False
    matcher = SequenceMatcher(None, q, s, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return False
    matched = sum(b.size for b in blocks)
    span = blocks[-1].b + blocks[-1].size - blocks[0].b
    # Matching characters scattered over the clause are not a quote: bound the span.
    return matched >= 0.9 * len(q) and span <= 1.2 * len(q)


def find_marks(text: str) -> list[re.Match]:
    """Every citation mark in `text`, in order."""
    return list(_MARK.finditer(text))


def as_data(text: str) -> str:
    """Text placed inside the prompt's data tags: angle brackets become full-width,
    so a clause or a question cannot forge </条款> or </问题> and escape its block."""
    return text.replace("<", "＜").replace(">", "＞")


def split_sentences(text: str, marks: Sequence[re.Match] | None = None) -> list[Sentence]:
    """Split an answer into sentences and give each the citation marks it owns.

    Sentences end at 。！？； or a line break, never inside a quotation. A mark
    that follows the full stop (…水平。［二（三）2］) belongs to the sentence it
    follows, since models put the citation on either side of the stop.
    """
    marks = find_marks(text) if marks is None else marks
    protected = [(m.start(), m.end()) for m in _QUOTE.finditer(text)] + [(m.start(), m.end()) for m in marks]
    inside = set()
    for start, end in protected:
        inside.update(range(start + 1, end - 1))
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch in _TERMINATORS and i not in inside:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))

    owner: dict[int, int] = {}
    for index, mark in enumerate(marks):
        s = next(k for k, (a, b) in enumerate(spans) if a <= mark.start() < b)
        lead = text[spans[s][0]:mark.start()]
        # Only whitespace and other marks before it: the mark closes the previous sentence.
        if s > 0 and not _MARK.sub("", lead).strip():
            s -= 1
        owner[index] = s
    sentences = []
    for k, (a, b) in enumerate(spans):
        own = tuple(i for i, s in owner.items() if s == k)
        body = _MARK.sub("", text[a:b]).strip()
        sentences.append(Sentence(a, b, body, own))
    return sentences


def _resolve(content: str, known: dict[str, str]) -> tuple[list[str], list[str]]:
    """Labels in one mark's content → (canonical labels found, raw labels not found)."""
    found, missing = [], []
    whole = label_key(content)
    if whole in known:  # the common case, and labels never contain separators
        return [known[whole]], []
    for part in (p for p in _LABEL_SPLIT.split(content.strip()) if p):
        key = label_key(part)
        label = known.get(key)
        if label is None:
            # Tolerate a heading after the label (［二（三）2打造世界级盐湖产业基地］): the longest
            # known label that is a prefix and is not followed by more numbering (［十一］ is not ［十］).
            prefixes = [k for k in known if key.startswith(k) and not _MORE_NUMBERING.match(key[len(k):])]
            label = known[max(prefixes, key=len)] if prefixes else None
        if label:
            found.append(label)
        elif _LOOKS_LIKE_LABEL.match(part):
            missing.append(part)
        # Anything else is words after a label (［二（三）2 打造…］), not a citation of its own.
    if not found and not missing:
        missing.append(content.strip())
    return found, missing


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


def _pick_hit(label: str, sentence: str, by_label: dict[str, list[Hit]]) -> Hit:
    """Two documents may share a label (一, 前言): take the clause closest to the sentence."""
    candidates = by_label[label]
    if len(candidates) == 1:
        return candidates[0]
    wanted = _bigrams(sentence)
    return max(candidates, key=lambda h: len(wanted & _bigrams(h.clause.text)))


def _snippet(text: str, limit: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def verify(text: str, hits: Sequence[Hit]) -> Verification:
    """Check `text` (an LLM answer) against the clauses of `hits`; see the module docstring."""
    text = strip_reasoning(text)
    by_label: dict[str, list[Hit]] = {}
    for hit in hits:
        by_label.setdefault(hit.clause.clause_label, []).append(hit)
    known = {label_key(label): label for label in by_label}

    marks = find_marks(text)
    sentences = split_sentences(text, marks)
    resolved = [_resolve(m.group(1), known) for m in marks]
    dropped: list[str] = [raw for _, missing in resolved for raw in missing]
    keep: dict[int, list[str]] = {i: list(found) for i, (found, _) in enumerate(resolved)}

    notices: list[str] = []
    if dropped:
        notices.append(f"回答引用了检索结果中没有的条款［{'、'.join(dict.fromkeys(dropped))}］，已删除这些引用。")

    bad_quotes: list[str] = []
    chosen: dict[str, tuple[Hit, str | None, float]] = {}  # clause key → (hit, quote, score)
    order: list[str] = []
    uncited: list[str] = []
    refusal_sentences = 0
    for sentence in sentences:
        labels = list(dict.fromkeys(label for i in sentence.marks for label in keep[i]))
        quotes = [m.group(1) or m.group(2) for m in _QUOTE.finditer(text[sentence.start:sentence.end])]
        sources = [h for label in labels for h in by_label[label]] or list(hits)
        for quote in quotes:
            if any(quote_in(quote, h.clause.text + "".join(h.clause.heading_path)) for h in sources):
                continue
            bad_quotes.append(quote)
            if labels:
                # The sentence claims the clause says something it does not: its citations go.
                for i in sentence.marks:
                    dropped.extend(keep[i])
                    keep[i] = []
                notices.append(f"引文「{_snippet(quote)}」在所引条款［{'、'.join(labels)}］中找不到，已删除该句的引用。")
                labels = []
            else:
                notices.append(f"引文「{_snippet(quote)}」在检索到的条款中找不到，请谨慎采信。")
        if is_refusal(sentence.text) and not labels:
            refusal_sentences += 1
            continue
        if not labels:
            if len(normalise(sentence.text)) >= _MIN_SENTENCE_CHARS and not sentence.text.endswith(("：", ":")):
                uncited.append(sentence.text)
            continue
        for label in labels:
            hit = _pick_hit(label, sentence.text, by_label)
            quote = next((best_sentence(q, hit.clause.text, 0.5) for q in quotes if quote_in(q, hit.clause.text)), None)
            quote = quote or best_sentence(sentence.text, hit.clause.text)
            score = len(_bigrams(sentence.text) & _bigrams(quote or "")) if quote else 0
            key = hit.clause.key
            if key not in chosen:
                order.append(key)
            if key not in chosen or score > chosen[key][2]:
                chosen[key] = (hit, quote, score)

    if uncited and chosen:
        notices.append("以下内容没有注明出处，请谨慎采信：" + "；".join(f"「{_snippet(s)}」" for s in uncited))
    citations = tuple(Citation.of(chosen[k][0], chosen[k][1]) for k in order)
    refused = not citations and refusal_sentences > 0 and not uncited
    return Verification(
        text=_rebuild(text, marks, keep),
        citations=citations,
        dropped_citations=tuple(dict.fromkeys(dropped)),
        notices=tuple(notices),
        refused=refused,
        uncited=tuple(uncited),
        bad_quotes=tuple(bad_quotes),
    )


def _rebuild(text: str, marks: Sequence[re.Match], keep: dict[int, list[str]]) -> str:
    """The answer with every mark rewritten as ［label］ for the labels it keeps."""
    out, pos = [], 0
    for i, mark in enumerate(marks):
        out.append(text[pos:mark.start()])
        out.append("".join(f"［{label}］" for label in dict.fromkeys(keep[i])))
        pos = mark.end()
    out.append(text[pos:])
    rebuilt = "".join(out)
    # A removed mark can leave a space before the full stop.
    return re.sub(r"[ \t]+([。！？；，])", r"\1", rebuilt).strip()


def grounded_answer(
    question: str,
    text: str,
    hits: Sequence[Hit],
    fallback: Callable[[str, list[Hit]], Answer],
) -> Answer:
    """Verify `text` and turn it into the `Answer` the user gets.

    A refusal stays a refusal (with the nearest clauses as `related`); an
    answer without any valid citation is replaced by `fallback(question, hits)`
    with a note saying why, and the dropped labels are kept.
    """
    v = verify(text, hits)
    if v.refused:
        return Answer(
            question, v.text, refused=True, refusal_reason=_REFUSAL_REASON,
            related=tuple(Citation.of(h) for h in list(hits)[:3]),
            backend="llm", notices=v.notices, dropped_citations=v.dropped_citations,
        )
    if v.grounded:
        return Answer(
            question, v.text, v.citations, backend="llm",
            notices=v.notices, dropped_citations=v.dropped_citations,
        )
    if not v.text:
        why = "回答为空"
    elif v.bad_quotes and v.dropped_citations:
        why = "引文与所引条款原文不符"
    elif v.dropped_citations:
        why = "引用的条款编号不在检索结果中"
    else:
        why = "回答没有引用任何检索到的条款"
    extractive = fallback(question, list(hits))
    note = f"大模型的回答未通过引用核验（{why}），以下为离线摘录答案。"
    return replace(
        extractive,
        notices=(note, *extractive.notices),
        dropped_citations=tuple(dict.fromkeys((*v.dropped_citations, *extractive.dropped_citations))),
    )
