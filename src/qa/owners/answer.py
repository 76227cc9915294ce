"""Ownership questions in `qa ask`: 「哪个部门负责…」「工信部在方案里负责什么？」.

`answer_ownership` answers from the responsibility map instead of picking
sentences by word overlap, so 「财政部负责什么」 is refused rather than answered
with a sentence about 财政部门. Every sentence quotes its evidence 「…」 and
ends with the ［label］ it comes from, as the extractive answers do.
"""
from __future__ import annotations

import re
from dataclasses import replace

from typing import Sequence

from qa.answer.base import REFUSAL, TokenSink
from qa.owners.extract import GENERIC_NAMES
from qa.owners.map import (OWNER_ROLES, ROLE_NAMES, MeasureOwners, OrgRole, ResponsibilityMap,
                           UnknownOrganisation, close_hits, inherited_owners, normalise_name, who)
from qa.query.question import Question
from qa.text.segment import Segmenter
from qa.types import Answer, Citation, Hit

_ASKS_WHO = re.compile(
    r"(哪个|哪些|哪家|什么)(部门|单位|机构|部委|部|委)|由谁|谁(来|在|负责|牵头|组织|实施|落实|承担|协调|主管|管|评估|考核|出资|出钱)"
    r"|委托(给)?(了)?(谁|哪)|(牵头|负责|主管|责任)(单位|部门)|主体责任|职责|分工")
# With an organisation named: 「国资委参与了什么」「工信部在方案里负责什么」.
# 「临沧示范区要做什么」「提到了哪些园区」 ask what a measure says, not who owns it: no 做/提到/涉及 here.
_ASKS_ROLE = re.compile(r"(负责|参与|承担|牵头|协调|作用|角色|职责|任务)了?(什么|哪些|啥|哪)"
                        r"|(作用|角色|职责|任务|分工)")
# Words in a question that ask for one role in particular.
_ROLE_WORDS = (
    (re.compile(r"评估|考核|跟踪|委托"), "entrusted"),
    (re.compile(r"牵头|协调|统筹|推进机制"), "lead"),
    (re.compile(r"主体责任|落实"), "main_responsibility"),
    (re.compile(r"资金|经费|出钱|出资"), "funding"),
)
# ROLE_NAMES lists the roles from most to least answerable: answers follow that order.
_ROLE_ORDER = tuple(ROLE_NAMES)
_MAX_PER_ORG = 6

# How one mention reads in an answer: 「{name}{phrase}：「evidence」」.
_ROLE_PHRASES = {
    "issuer": "是本文件的发文单位之一",
    "lead": "承担牵头/协调职责",
    "main_responsibility": "承担主体责任",
    "entrusted": "受委托承担相关工作",
    "funding": "负责落实资金渠道",
    "partner": "作为合作方参与",
    "supported": "是支持对象",
    "built": "是要共建或建设的对象",
    "named": "在条款中被提及",
}


def is_ownership_question(question: str, segmenter: Segmenter) -> bool:
    """True for questions about who leads, answers for or takes part in a measure
    (organisation names come from `segmenter`'s domain dictionary)."""
    text = "".join(question.split())
    if _ASKS_WHO.search(text):
        return True
    return bool(_ASKS_ROLE.search(text)) and _names_an_org(text, segmenter)


def _names_an_org(text: str, segmenter: Segmenter) -> bool:
    names = [n for n, e in segmenter.domain.by_name.items() if e.kind == "org"]
    return any(n in text for n in (*names, *GENERIC_NAMES))


class OwnershipAnswerer:
    """Answers 「谁负责…」-style questions from the responsibility map (see `answer_ownership`)."""

    def __init__(self, rmap: ResponsibilityMap, segmenter: Segmenter):
        self.rmap = rmap
        self.segmenter = segmenter

    def answer(self, question: Question, hits: Sequence[Hit], *, on_token: TokenSink | None = None) -> Answer | None:
        owned = answer_ownership(question.search_text, self.rmap, list(hits), self.segmenter)
        return None if owned is None else replace(owned, question=question.text)


def answer_ownership(question: str, rmap: ResponsibilityMap, hits: list[Hit],
                     segmenter: Segmenter) -> Answer | None:
    """An answer from the responsibility map, or None when the question is not
    about ownership or nothing in the map fits (fall back to the normal answer).

    A question naming an organisation gets that organisation's roles; one naming
    an organisation the documents never mention is refused; otherwise the top
    retrieved measure's own owners, or — when it names none — the plan-wide owners.
    """
    if not is_ownership_question(question, segmenter):
        return None
    named, unknown = orgs_in_question(question, rmap, segmenter)
    scores = {(h.clause.doc_id, h.clause.clause_label): h.score for h in hits}
    if unknown and not named:
        return _refusal(question, unknown, rmap, hits)
    notices = tuple(str(UnknownOrganisation(n, rmap.suggest(n))) for n in unknown)
    # 「兰白和张江的合作由哪个部门负责」 asks who owns a measure; the names only say which.
    if named and not _ASKS_WHO.search("".join(question.split())):
        answer = _org_answer(question, named, rmap, scores)
    else:
        answer = _measure_answer(question, rmap, hits, scores)
    return replace(answer, notices=answer.notices + notices) if answer and notices else answer


def orgs_in_question(question: str, rmap: ResponsibilityMap, segmenter: Segmenter) -> tuple[list[str], list[str]]:
    """(organisations of the map the question names, dictionary organisations it
    names that no clause mentions). Regions are left out: 「新疆…由谁牵头」 asks
    about a measure in Xinjiang, not about Xinjiang's own role."""
    text = normalise_name(question)
    names = sorted({n for m in rmap.mentions if m.kind != "region" for n in (m.org, *m.aliases)},
                   key=len, reverse=True)
    found: list[str] = []
    for name in names:
        if name in text:
            found.extend(o for o in rmap.resolve(name) if o not in found)
            text = text.replace(name, "□" * len(name))  # 中国科协 must not also match 科协
    unknown = [o for o in segmenter.entities_in(question, kinds=("org",))
               if not rmap.resolve(o) and o not in found]
    return found, unknown


def _org_answer(question: str, orgs: list[str], rmap: ResponsibilityMap, scores: dict) -> Answer:
    parts: list[tuple[str, str, str, str]] = []
    owning_nothing, docs = [], set()
    for org in orgs[:3]:
        mentions = sorted((m for m in rmap.mentions if m.org == org), key=lambda m: _ROLE_ORDER.index(m.role))
        name = _display(org, rmap.aliases_of(org))
        for m in mentions[:_MAX_PER_ORG]:
            sentence = f"{name}{_ROLE_PHRASES[m.role]}：「{_quote(m.evidence)}」"
            parts.append((sentence, m.doc_id, m.clause_label, m.evidence))
        if not any(m.role in OWNER_ROLES for m in mentions):
            owning_nothing.append(org)
            docs |= {m.doc_id for m in mentions}
    # Say plainly that they own nothing, and who does (cited where the plan says so).
    for lead in inherited_owners(rmap, docs)[:1] if owning_nothing else ():
        names = "、".join(o.name for o in lead.orgs)
        parts.append((f"方案没有写明由{'、'.join(owning_nothing)}牵头或负责的任务；全部任务由{names}"
                      f"{_ROLE_PHRASES[lead.role]}：「{_quote(lead.evidence)}」",
                      lead.doc_id, lead.label, lead.evidence))
    return _answer(question, parts, rmap, scores)


def _refusal(question: str, unknown: list[str], rmap: ResponsibilityMap, hits: list[Hit]) -> Answer:
    reasons = [str(UnknownOrganisation(name, rmap.suggest(name))) for name in unknown]
    reason = "".join(reasons)
    related = tuple(Citation.of(h) for h in hits[:3])
    text = REFUSAL + reason
    return Answer(question, text, refused=True, refusal_reason=reason, related=related)


def _measure_answer(question: str, rmap: ResponsibilityMap, hits: list[Hit], scores: dict) -> Answer | None:
    asked = [role for pattern, role in _ROLE_WORDS if pattern.search(question)]
    result = who(question, rmap, close_hits(hits))
    primary = _primary(result.measures, asked)
    parts: list[tuple[str, str, str, str]] = []
    if primary is not None and primary.names_owner:
        for role, orgs in _by_role([o for o in primary.orgs if o.role in OWNER_ROLES]):
            parts.append((_group_sentence("", orgs, role), primary.doc_id, primary.label, orgs[0].evidence))
        return _answer(question, parts, rmap, scores)
    if primary is not None:
        parts.append(_no_owner_sentence(primary))
    elif not asked:
        return None  # nothing retrieved and no particular role asked for
    inherited = [i for i in (result.inherited or inherited_owners(rmap)) if not asked or i.role in asked]
    inherited.sort(key=lambda i: asked.index(i.role) if i.role in asked else len(asked))
    for i in inherited:
        parts.append((_group_sentence("按方案的保障措施，", i.orgs, i.role), i.doc_id, i.label, i.evidence))
    return _answer(question, parts, rmap, scores) if parts else None


def _primary(measures: tuple[MeasureOwners, ...], asked: list[str]) -> MeasureOwners | None:
    """The measure to answer about: the first retrieved clause that names an owner
    in an asked-for role (谁来评估 → 三（三）), else the top retrieved clause."""
    for m in measures:
        if asked and any(o.role in asked for o in m.orgs):
            return m
    return measures[0] if measures else None


def _no_owner_sentence(m: MeasureOwners) -> tuple[str, str, str, str]:
    title = m.path[-1] if m.path else m.label
    if not m.orgs:
        return (f"该条款（{title}）没有点名牵头或负责的部门", m.doc_id, m.label, "")
    roles: dict[str, list[str]] = {}
    for o in m.orgs:
        roles.setdefault(o.name, []).append(o.role_name)
    named = "、".join(f"{name}（{'、'.join(dict.fromkeys(r))}）" for name, r in roles.items())
    first = m.orgs[0]
    return (f"该条款（{title}）没有点名牵头或负责的部门，只写明了{named}：「{_quote(first.evidence)}」",
            m.doc_id, m.label, first.evidence)


def _group_sentence(prefix: str, orgs: tuple[OrgRole, ...] | list[OrgRole], role: str) -> str:
    names = "、".join(o.name for o in orgs)
    return f"{prefix}{names}{_ROLE_PHRASES.get(role, ROLE_NAMES.get(role, role))}：「{_quote(orgs[0].evidence)}」"


def _by_role(orgs: list[OrgRole]) -> list[tuple[str, list[OrgRole]]]:
    groups: dict[str, list[OrgRole]] = {}
    for o in orgs:
        groups.setdefault(o.role, []).append(o)
    return sorted(groups.items(), key=lambda kv: _ROLE_ORDER.index(kv[0]))


def _answer(question: str, parts: list[tuple[str, str, str, str]], rmap: ResponsibilityMap,
            scores: dict) -> Answer:
    """Sentences, each ending 。［label］; one citation per clause quoting its first evidence."""
    lines, citations = [], {}
    for sentence, doc_id, label, quote in parts:
        clause = rmap.clause(doc_id, label)
        lines.append(f"{sentence}。［{clause.citation_label if clause else label}］")
        if (doc_id, label) not in citations:
            citations[(doc_id, label)] = _citation(rmap, doc_id, label, quote, scores.get((doc_id, label), 0.0))
    return Answer(question, "\n".join(lines), tuple(c for c in citations.values() if c is not None),
                  backend="extractive")


def _citation(rmap: ResponsibilityMap, doc_id: str, label: str, quote: str, score: float) -> Citation | None:
    clause = rmap.clause(doc_id, label)
    if clause is None:
        return None
    return Citation(doc_id, clause.doc_title, label, clause.heading_path, clause.text,
                    _quote(quote) or None, score, doc_name=clause.doc_name)


def _quote(evidence: str) -> str:
    return evidence.rstrip("。；！？ ")


def _display(name: str, aliases: tuple[str, ...]) -> str:
    return f"{name}（{'、'.join(aliases)}）" if aliases else name
