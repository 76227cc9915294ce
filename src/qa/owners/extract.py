"""Find the organisations one clause names and the role each plays there.

Used by `qa.owners`; nothing here knows about maps, questions or output.
A clause is read sentence by sentence (a sentence is the evidence we quote).
In each sentence we first collect *name spans* from four sources, most
specific first:

1. scoped departments (各省（自治区、直辖市）科技管理部门), which jieba cannot keep
   whole because of the brackets;
2. the domain dictionary: orgs, and regions/places as possible parties;
3. public bodies as laws name them (国务院科学技术行政部门, 县级以上地方人民政府有关部门);
4. suffix patterns (…中心, …实验室, …联盟 …) over jieba's tokens;
5. generic kinds of body (企业, 高校, 科研院所 …), optionally scoped by a region
   (宁夏企业, 东部省市园区), and groups of regions (东部省市, 沿黄河省区).

Then each span gets a role from the words around it inside its phrase (the
text between commas): the last cue word on its left (委托, 会同, 与, 支持, 共建 …)
and what follows it (…要履行主体责任, …联合建立…机制, …与Y结对). A region
only counts as an organisation when such a cue makes it a party; otherwise it
is just the place a measure happens in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.domain import Domain
from qa.text.segment import Segmenter
from qa.text.sentences import sentences, without_heading_number

# Left cues: the *last* of these before a name (inside its phrase) sets its role.
# "supported!" is explicit support (支持X, 鼓励X), which beats what follows the
# name; plain "supported" (提升X能力 …) is weaker than any other cue.
_LEFT_CUES = {
    "委托": "entrusted",
    "会同": "partner", "与": "partner", "联合": "partner", "携手": "partner",
    "引入": "partner", "引进": "partner", "—": "partner", "+": "partner",
    "支持": "supported!", "鼓励": "supported!",
    "共建": "built", "建设": "built", "建立": "built", "组建": "built", "培育": "built",
    "设立": "built", "加快": "built",
    "激发": "supported", "提升": "supported", "增强": "supported", "提高": "supported",
    "推动": "supported", "促进": "supported",
}
_LEFT_CUE_RE = re.compile("|".join(sorted(map(re.escape, _LEFT_CUES), key=len, reverse=True)))
# A region is a party only through these, and only when the cue is right before it.
_REGION_LEFT_ROLES = ("entrusted", "partner", "supported!")
_LINK_CUES = ("与", "联合", "会同", "—", "+")

_RIGHT_MAIN = re.compile(r"^要?(履行|落实|承担)主体责任|^要?制定落实方案")
# Laws say 应当 where plans say 要, and give a body its charge with 主管, 领导 or 组织实施.
_RIGHT_LEAD = re.compile(r"^(联合|共同|分别|要|应当|按职责(分工)?|按照[^，。；]{0,8}职责(分工)?)?"
                         r"(建立[^，。；]*机制|牵头|负责|统筹|协调|主管|领导|组织实施)")
_RIGHT_PAIR = re.compile(r"^(与|—|\+|联合|结对)")
_RIGHT_PARTNER_WORDS = re.compile(r"合作|结对|协同|联动|联合")
_RIGHT_BUILT = re.compile(r"^建设")
_FUNDING = re.compile(r"资金|经费")

# People and other non-bodies a name can modify: 高等学校毕业生, 东部省市科研人员.
_PERSON_NOUNS = re.compile(r"^(毕业生|科研人员|人员|团队|人才|学生)")
_LIST_SEPARATORS = ("以及", "、", "及", "和", "“", "”", "等")

# Suffixes that make a run of nouns an organisation name (青藏高原综合科学研究中心).
_ORG_SUFFIXES = ("中心", "实验室", "研究院", "研究所", "联盟", "示范区", "实验区", "试验区",
                 "高新区", "协会", "学会", "委员会", "科学院", "工程院", "大学", "学院", "部", "委")
_NAME_POS = frozenset("n nz ns nt nr nrt nrfg vn l j b an".split())
# Words jieba tags as verbs that still sit inside names (成渝科技创新中心).
_NAME_VERBS = frozenset("创新 发展 研究 开发 转化 推广 保护 监测 服务 评价 示范 育种".split())
_PROPER_POS = frozenset("ns nt nz nr nrt nrfg".split())

# Generic kinds of body, canonical name → other spellings. Longest first when matching.
GENERIC_KINDS: dict[str, tuple[str, ...]] = {
    "行业龙头企业": ("龙头企业",),
    "民族医药企业": (),
    "盐湖化工企业": (),
    "企业": (),
    "高校": ("高等学校", "高等院校"),
    "科研院所": ("科研机构",),
    "用人单位": (),
    "战略投资者": ("投资者",),
    "园区运营商": (),
    "农业科技园区": (),
    "科技园区": (),
    "创新型城市": (),
}
# Every spelling of a generic kind: what a clause or a question may say.
GENERIC_NAMES = (*GENERIC_KINDS, *(a for v in GENERIC_KINDS.values() for a in v))
# Kinds that only name a body when a region scopes them (东部省市园区, not 共建园区).
_SCOPED_ONLY = ("园区",)
# Groups of provinces that act as one party.
REGION_GROUPS = ("东部省市", "东部地区", "西部地区", "沿黄河省区", "东部省份", "西部省份")
# Prefixes that make a department name provincial (各省（自治区、直辖市）科技管理部门).
_DEPT_SCOPES = ("各省（自治区、直辖市）",)
# Public bodies as laws name them, by form: a government (国务院, 县级以上地方人民政府,
# 省、自治区、直辖市人民政府) and optionally one of its departments (…科学技术行政部门, …有关部门).
_GOVERNMENT = (r"(?:国务院|(?:省、自治区、直辖市|县级以上(?:地方)?各级|县级以上(?:地方)?|设区的市级?|县级|乡、镇|乡级"
               r"|地方各级|各级|本级|上级|民族自治地方的?)人民政府)")
_STATUTORY_BODY = re.compile(_GOVERNMENT + r"(?:(?:其他)?(?:有关)?部门|(?:(?![和与及或的])[\u4e00-\u9fff]){2,8}?(?:行政|主管)部门)?")


@dataclass(frozen=True)
class Found:
    """One organisation mention in a clause, with its role and evidence sentence."""

    org: str
    aliases: tuple[str, ...]
    kind: str  # "org" (named body), "generic" (kind of body) or "region"
    role: str
    evidence: str


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    org: str
    aliases: tuple[str, ...]
    kind: str  # org, generic, region


@dataclass(frozen=True)
class _Token:
    word: str
    flag: str
    start: int
    end: int


class ClauseReader:
    """Reads clauses with one segmenter and domain; cheap to build, reuse for many clauses."""

    def __init__(self, segmenter: Segmenter):
        self.segmenter = segmenter
        self.domain: Domain = segmenter.domain
        self._generic_re = _alternation([*GENERIC_NAMES, *_SCOPED_ONLY])
        self._group_re = _alternation(REGION_GROUPS)
        departments = [e.canonical for e in self.domain.of_kind("org") if e.canonical.endswith("部门")]
        self._dept_re = re.compile("(" + "|".join(map(re.escape, _DEPT_SCOPES)) + ")("
                                   + "|".join(map(re.escape, sorted(departments, key=len, reverse=True))) + ")"
                                   ) if departments else None

    def read(self, text: str, issuers: tuple[str, ...] = ()) -> list[Found]:
        """Every organisation mention in a clause's text. Names in `issuers` are
        given the issuer role (the caller passes them for a cover notice only)."""
        found: list[Found] = []
        for sentence in sentences(text):
            evidence = without_heading_number(sentence)
            for span, role in self.read_sentence(sentence, issuers):
                found.append(Found(span.org, span.aliases, span.kind, role, evidence))
        return found

    def read_sentence(self, sentence: str, issuers: tuple[str, ...] = ()) -> list[tuple[_Span, str]]:
        """(name span, role) for each organisation one sentence names as a party."""
        tokens = self._tokens(sentence)
        spans = self._spans(sentence, tokens)
        parties = [s for s in spans if not _is_qualifier(s, spans) and not _PERSON_NOUNS.match(sentence[s.end:])]
        out = []
        for span in parties:
            role = "issuer" if span.org in issuers else _role(span, sentence, spans)
            if role is None or (span.kind == "region" and _is_modifier(span, sentence, spans, tokens)):
                continue
            out.append((span, role))
        return out

    # --- name spans -------------------------------------------------------

    def _tokens(self, sentence: str) -> list[_Token]:
        tokens, pos = [], 0
        for word, flag in self.segmenter.tag(sentence):
            tokens.append(_Token(word, flag, pos, pos + len(word)))
            pos += len(word)
        return tokens

    def _spans(self, sentence: str, tokens: list[_Token]) -> list[_Span]:
        """Non-overlapping name spans, the more specific source winning."""
        bounds = {t.start for t in tokens} | {t.end for t in tokens}
        taken: list[_Span] = []
        names = self._dictionary(tokens)
        # Places lose to longer names built on them (青藏高原 in 青藏高原综合科学研究中心).
        for source in (self._departments(sentence), [s for s in names if s.kind == "org"],
                       self._statutory(sentence), self._patterns(tokens), self._generics(sentence, bounds),
                       self._groups(sentence, bounds), [s for s in names if s.kind == "region"]):
            for span in sorted(source, key=lambda s: s.start - s.end):
                if all(span.end <= t.start or span.start >= t.end for t in taken):
                    taken.append(span)
        # A region right before a generic kind scopes it (宁夏 + 企业): one span, not two.
        return sorted(_merge_scopes(taken, sentence), key=lambda s: s.start)

    def _departments(self, sentence: str) -> list[_Span]:
        out = []
        for m in self._dept_re.finditer(sentence) if self._dept_re else ():
            base = self.domain.by_name.get(m.group(2))
            aliases = ("各省" + m.group(2), "省级" + m.group(2), *(base.aliases if base else ()))
            out.append(_Span(m.start(), m.end(), m.group(), aliases, "org"))
        return out

    def _statutory(self, sentence: str) -> list[_Span]:
        """Governments and their departments named by form (see `_STATUTORY_BODY`); one the
        dictionary knows under another name (国务院科学技术行政部门 = 科学技术部) was taken above."""
        out = []
        for m in _STATUTORY_BODY.finditer(sentence):
            entity = self.domain.by_name.get(m.group())
            name, aliases = (entity.canonical, entity.aliases) if entity else (m.group(), ())
            out.append(_Span(m.start(), m.end(), name, aliases, "org"))
        return out

    def _dictionary(self, tokens: list[_Token]) -> list[_Span]:
        out = []
        for t in tokens:
            entity = self.domain.by_name.get(t.word)
            if entity is None or entity.kind == "programme":
                continue
            kind = "org" if entity.kind == "org" else "region"
            out.append(_Span(t.start, t.end, entity.canonical, entity.aliases, kind))
        return out

    def _patterns(self, tokens: list[_Token]) -> list[_Span]:
        """Runs of nouns ending in an org suffix. A run needs a proper name in it
        (青藏高原…中心), or must be coordinated with one that has (…中心和科学数据中心):
        bare 示范区 or 技术创新中心 name no particular body."""
        out: list[_Span] = []
        for i, t in enumerate(tokens):
            if not t.word.endswith(_ORG_SUFFIXES) or t.flag == "f" or t.word in self.domain.by_name:
                continue
            j = i
            while j > 0 and self._joins_name(tokens[j - 1]):
                j -= 1
            run = tokens[j:i + 1]
            name = "".join(x.word for x in run)
            if len(name) < 3 or name in _ORG_SUFFIXES:
                continue
            proper = (any(x.flag in _PROPER_POS or x.word in self.domain.by_name for x in run[:-1])
                      or (t.flag == "nt" and t.word not in _ORG_SUFFIXES))  # jieba knows 清华大学 whole
            coordinated = (j >= 2 and tokens[j - 1].word in ("和", "、", "及")
                           and any(s.end == tokens[j - 2].end for s in out))
            if proper or coordinated:
                out.append(_Span(run[0].start, t.end, name, (), "org"))
        return out

    def _joins_name(self, token: _Token) -> bool:
        entity = self.domain.by_name.get(token.word)
        if entity is not None and entity.kind == "org":
            return False  # a named body next to a suffix is its own mention
        return (token.flag in _NAME_POS or token.word in _NAME_VERBS) and token.word not in _LEFT_CUES

    def _generics(self, sentence: str, bounds: set[int]) -> list[_Span]:
        out = []
        for m in self._generic_re.finditer(sentence):
            if m.start() not in bounds or m.end() not in bounds:
                continue  # inside a longer word (呼包鄂创新型城市群)
            canonical = _generic_canonical(m.group())
            out.append(_Span(m.start(), m.end(), canonical, _generic_aliases(canonical), "generic"))
        return out

    def _groups(self, sentence: str, bounds: set[int]) -> list[_Span]:
        return [_Span(m.start(), m.end(), m.group(), (), "region")
                for m in self._group_re.finditer(sentence)
                if m.start() in bounds and m.end() in bounds]


def _merge_scopes(spans: list[_Span], sentence: str) -> list[_Span]:
    """宁夏 + 企业 → 宁夏企业: a region right before a generic kind scopes it (one span,
    not two). A scoped-only kind (园区) without a region names no body: dropped."""
    by_end = {s.end: s for s in spans if s.kind == "region"}
    merged, dropped = [], set()
    for span in spans:
        if span.kind != "generic":
            continue
        scope = by_end.get(span.start)
        if scope is not None:
            merged.append(_Span(scope.start, span.end, sentence[scope.start:span.end], (), "generic"))
            dropped |= {scope, span}
        elif span.org in _SCOPED_ONLY:
            dropped.add(span)
    return [s for s in spans if s not in dropped] + merged


def _is_qualifier(span: _Span, spans: list[_Span]) -> bool:
    """云南昆明, 甘肃兰白, 黄河流域内蒙古段: a region directly before another name qualifies it."""
    return span.kind == "region" and any(s.start == span.end for s in spans)


# --- roles -----------------------------------------------------------------

def _role(span: _Span, sentence: str, spans: list[_Span]) -> str | None:
    """The role of one name from its phrase; None for a region that is no party."""
    start, end = _phrase_bounds(sentence, span)
    masked = _mask(sentence, spans)
    left = _strip_left(masked[start:span.start])
    right_raw = _strip_right(sentence[span.end:end], span.end, spans)
    right = _strip_right(masked[span.end:end], span.end, spans)
    region = span.kind == "region"
    cue = _last_cue(left, adjacent=region)
    if region and cue not in _REGION_LEFT_ROLES:
        cue = None
    if cue in ("entrusted", "partner"):
        return cue
    if _RIGHT_MAIN.match(right_raw):
        return "main_responsibility"
    if _RIGHT_LEAD.match(right_raw):
        return "lead"
    if not region and _FUNDING.search(sentence[span.end:]):
        return "funding"
    if cue == "supported!":
        return "supported"
    if _RIGHT_PAIR.match(right) or _RIGHT_PARTNER_WORDS.search(right):
        return "partner"
    if not region and (cue == "built" or _RIGHT_BUILT.match(right)):
        return "built"
    head = _list_head(span, sentence, spans)
    if head is not None:
        return _role(head, sentence, spans)
    if region:
        return None
    return "supported" if cue == "supported" else "named"


def _is_modifier(span: _Span, sentence: str, spans: list[_Span], tokens: list[_Token]) -> bool:
    """新疆绿色发展, 西藏特色农牧业: a region followed by a noun is the topic, not a party.
    A link word right before it (与东部地区互派…) makes it a party anyway."""
    start, _ = _phrase_bounds(sentence, span)
    if _strip_left(_mask(sentence, spans)[start:span.start]).endswith(_LINK_CUES):
        return False
    nxt = next((t for t in tokens if t.start == span.end), None)
    return nxt is not None and nxt.flag[:1] in ("n", "a", "b", "j", "f", "s", "l", "m")


def _phrase_bounds(sentence: str, span: _Span) -> tuple[int, int]:
    """The phrase around a span: from the comma (or colon) before it to the one after."""
    seps = "，：:,"
    start = max((sentence.rfind(c, 0, span.start) for c in seps), default=-1) + 1
    ends = [i for i in (sentence.find(c, span.end) for c in seps + "。；") if i >= 0]
    return start, min(ends, default=len(sentence))


def _mask(sentence: str, spans: list[_Span]) -> str:
    """Names replaced by □, so cue words inside names (…合作协调推进机制) are not read as cues."""
    chars = list(sentence)
    for s in spans:
        chars[s.start:s.end] = "□" * (s.end - s.start)
    return "".join(chars)


def _strip_left(left: str) -> str:
    """Drop the list before a name (中关村、张江和 → '') so the cue before the list shows."""
    while True:
        trimmed = left.rstrip("□")
        for sep in _LIST_SEPARATORS:
            if trimmed.endswith(sep):
                trimmed = trimmed[: -len(sep)]
                break
        if trimmed == left:
            return left
        left = trimmed


def _strip_right(right: str, offset: int, spans: list[_Span]) -> str:
    """Drop the rest of a list after a name (、山东、安徽 …) so what follows the list shows."""
    pos = 0
    while True:
        sep = next((s for s in ("以及", "、", "及", "和", "“", "”") if right.startswith(s, pos)), None)
        if sep is None:
            return right[pos:]
        after = pos + len(sep)
        nxt = next((s for s in spans if s.start == offset + after), None)
        if nxt is None and sep not in "“”":
            return right[pos:]
        pos = after + (nxt.end - nxt.start if nxt else 0)


def _last_cue(left: str, adjacent: bool) -> str | None:
    matches = list(_LEFT_CUE_RE.finditer(left))
    if not matches:
        return None
    last = matches[-1]  # finditer's matches do not overlap: the last one ends last
    if adjacent and last.end() != len(left):
        return None
    return _LEFT_CUES[last.group()]


def _list_head(span: _Span, sentence: str, spans: list[_Span]) -> _Span | None:
    """昆明、玉溪、楚雄等国家高新区: the name after 等 that the listed names belong to."""
    starts = {s.start: s for s in spans}
    pos = span.end
    while pos < len(sentence) and sentence[pos] in "、和及" and pos + 1 in starts:
        pos = starts[pos + 1].end
    head = starts.get(pos + 1) if sentence.startswith("等", pos) else None
    return head if head is not None and head.kind != "region" else None


# --- generic kinds -----------------------------------------------------------

def _alternation(words) -> re.Pattern:
    return re.compile("|".join(map(re.escape, sorted(set(words), key=len, reverse=True))))


def _generic_canonical(word: str) -> str:
    for canonical, aliases in GENERIC_KINDS.items():
        if word == canonical or word in aliases:
            return canonical
    return word


def _generic_aliases(canonical: str) -> tuple[str, ...]:
    return GENERIC_KINDS.get(canonical, ())
