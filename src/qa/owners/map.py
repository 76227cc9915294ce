"""Who owns a measure: the organisations each clause names, their roles, and
the ownership every measure inherits from the plan's 保障措施.

Most measures of a plan name no ministry ("支持新疆与中国农业科学院等联合开展…").
`who` says so plainly, lists what the clause itself names, and separately gives
what the plan says about all measures: who coordinates (三（一）), who carries
main responsibility (三（二）) and who is entrusted with evaluation (三（三）).

Public API (renderers and the `qa ask` hook live in owners_render / owners_ask
and are re-exported here):

    rmap = build_responsibility_map(documents, clauses, segmenter)
    who(query, rmap, hits) -> WhoResult
    org_report(rmap, org | None, label | None) -> list[OrgEntry]
    who_to_json, orgs_to_json, orgs_to_csv, format_who, format_orgs
    is_ownership_question, answer_ownership
"""
from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cached_property
from pathlib import Path

from qa.errors import BadQuestion, UnknownLabel
from qa.owners.extract import ClauseReader
from qa.text.sentences import sentences, without_heading_number
from qa.text.segment import Segmenter
from qa.types import Clause, Document, Hit, cite_label, close_hits

# Stable role ids → the Chinese shown to users.
ROLE_NAMES = {
    "issuer": "发文单位",
    "lead": "牵头/协调",
    "main_responsibility": "主体责任",
    "entrusted": "受委托方",
    "funding": "资金渠道",
    "partner": "合作方",
    "supported": "支持对象",
    "built": "共建/建设对象",
    "named": "提及",
}
# Roles that make an organisation answerable for a measure (the rest take part in it).
OWNER_ROLES = frozenset({"issuer", "lead", "main_responsibility", "entrusted", "funding"})
# What every measure of a plan inherits from its 保障措施, in this order.
INHERITED_ROLES = ("lead", "main_responsibility", "entrusted")


@dataclass(frozen=True)
class OrgMention:
    """One organisation named in one clause, in one role, with the sentence that says so."""

    org: str  # canonical name
    aliases: tuple[str, ...]
    doc_id: str
    clause_label: str
    heading_path: tuple[str, ...]
    role: str  # one of ROLE_NAMES
    evidence: str
    kind: str = "org"  # "org" (a named body), "generic" (企业, 高校 …) or "region"
    doc_name: str = ""  # how citations name the document ("" for the plan): see `Clause.doc_name`

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)

    @property
    def citation_label(self) -> str:
        return cite_label(self.doc_name, self.clause_label)


class UnknownOrganisation(UnknownLabel):
    """A name that no clause of the documents mentions; carries the nearest known names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = list(suggestions)
        hint = f"相近的单位：{'、'.join(self.suggestions)}。" if self.suggestions else ""
        super().__init__(f"文件中未提及该单位：{name}。{hint}")


@dataclass(frozen=True)
class ResponsibilityMap:
    """Every organisation mention in the documents, in document order.

    `clauses` and `documents` are kept for citations and are not part of equality.
    """

    mentions: tuple[OrgMention, ...]
    clauses: tuple[Clause, ...] = field(default=(), repr=False, compare=False)
    documents: tuple[Document, ...] = field(default=(), repr=False, compare=False)

    def orgs(self) -> list[str]:
        """Canonical names, in order of first mention."""
        return list(dict.fromkeys(m.org for m in self.mentions))

    def aliases_of(self, org: str) -> tuple[str, ...]:
        return next((m.aliases for m in self.mentions if m.org == org), ())

    def resolve(self, name: str) -> list[str]:
        """The canonical names a user's name refers to: itself, the body it is an
        alias of (工信部 → 工业和信息化部), and scoped forms of a generic name
        (科技管理部门 → 各省（自治区、直辖市）科技管理部门, 西部省区科技管理部门).
        Only whole names match: 财政部 does not find 财政部门."""
        query = normalise_name(name)
        if not query:
            return []
        bases = {query, *self._alias_index.get(query, ())}
        known = self.orgs()
        matched = {o for o in known for b in bases if o == b or (len(b) >= 2 and o.endswith(b))}
        return [o for o in known if o in matched]

    def for_clause(self, doc_id: str, label: str) -> list[OrgMention]:
        return [m for m in self.mentions if m.doc_id == doc_id and m.clause_label == label]

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Known organisations whose names (or aliases) look like `name`."""
        query = normalise_name(name)
        scored: dict[str, float] = {}
        for alias, orgs in self._alias_index.items():
            score = SequenceMatcher(None, query, alias).ratio()
            if score >= 0.5:
                for org in orgs:
                    scored[org] = max(scored.get(org, 0.0), score)
        return sorted(scored, key=lambda o: -scored[o])[:limit]

    def triples(self) -> set[tuple[str, str, str, str]]:
        """(org, document kind or id, clause label, role) rows, for comparing with
        a hand-made table (tests/data/expected_owners.tsv)."""
        kinds = {d.doc_id: d.kind or d.doc_id for d in self.documents}
        return {(m.org, kinds.get(m.doc_id, m.doc_id), m.clause_label, m.role) for m in self.mentions}

    def scores_against(self, table: Path) -> tuple[float, float, float]:
        """(precision, recall, F1) of `triples()` against a hand-made TSV table
        (org, doc kind, clause label, role; '#' lines are comments)."""
        expected = read_triples(table)
        predicted = self.triples()
        hit = len(predicted & expected)
        precision = hit / len(predicted) if predicted else 0.0
        recall = hit / len(expected) if expected else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    def clause(self, doc_id: str, label: str) -> Clause | None:
        return self._clauses.get((doc_id, label))

    @cached_property
    def _alias_index(self) -> dict[str, tuple[str, ...]]:
        index: dict[str, list[str]] = {}
        for m in self.mentions:
            for name in (m.org, *m.aliases):
                if m.org not in index.setdefault(name, []):
                    index[name].append(m.org)
        return {k: tuple(v) for k, v in index.items()}

    @cached_property
    def _clauses(self) -> dict[tuple[str, str], Clause]:
        return {(c.doc_id, c.clause_label): c for c in self.clauses}


def read_triples(table: Path) -> set[tuple[str, str, str, str]]:
    """The rows of an expected-ownership table: (org, doc kind, clause label, role)."""
    rows = set()
    for line in Path(table).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            org, doc, label, role = line.split("\t")
            rows.add((org, doc, label, role))
    return rows


def normalise_name(name: str) -> str:
    """Strip spaces and use the full-width brackets the documents use."""
    return "".join(name.split()).replace("(", "（").replace(")", "）")


# --- building the map --------------------------------------------------------

def build_responsibility_map(documents: list[Document], clauses: list[Clause],
                             segmenter: Segmenter) -> ResponsibilityMap:
    """Read every clause and return all organisation mentions with their roles.

    `documents` supply the issuing bodies (from the signature block) and kinds;
    `clauses` are what `parse_clauses` gives for those documents.
    """
    reader = ClauseReader(segmenter)
    docs = {d.doc_id: d for d in documents}
    last_clauses = {c.doc_id: c for c in clauses}  # later clauses overwrite earlier ones
    mentions: dict[tuple[str, str, str, str], OrgMention] = {}
    for clause in clauses:
        issuers = _issuers_of(docs.get(clause.doc_id), clause, last_clauses)
        found = reader.read(clause.text, issuers)
        for f in found:
            mention = OrgMention(f.org, f.aliases, clause.doc_id, clause.clause_label,
                                 clause.heading_path, f.role, f.evidence, f.kind, clause.doc_name)
            mentions.setdefault((f.org, clause.doc_id, clause.clause_label, f.role), mention)
        # The signature block is read by the loader (names run together there);
        # make sure every issuing body is recorded even if segmentation missed one.
        for org in issuers:
            key = (org, clause.doc_id, clause.clause_label, "issuer")
            if key not in mentions:
                mentions[key] = OrgMention(org, _domain_aliases(segmenter, org), clause.doc_id,
                                           clause.clause_label, clause.heading_path, "issuer",
                                           _signature_sentence(clause.text))
    return ResponsibilityMap(tuple(mentions.values()), tuple(clauses), tuple(documents))


def _issuers_of(doc: Document | None, clause: Clause, last_clauses: dict[str, Clause]) -> tuple[str, ...]:
    """Issuing bodies sign a cover notice (every clause of it) or, in a standalone
    document, its last clause (`last_clauses`: doc id → last clause). An attached
    plan has no signature of its own."""
    if doc is None or not doc.issuing_bodies or doc.kind == "plan":
        return ()
    if doc.kind == "notice":
        return doc.issuing_bodies
    return doc.issuing_bodies if clause is last_clauses[doc.doc_id] else ()


def _domain_aliases(segmenter: Segmenter, org: str) -> tuple[str, ...]:
    entity = segmenter.domain.by_name.get(org)
    return entity.aliases if entity else ()


def _signature_sentence(text: str) -> str:
    parts = sentences(text)
    return without_heading_number(parts[-1]) if parts else text


# --- who owns a measure --------------------------------------------------------

@dataclass(frozen=True)
class OrgRole:
    """An organisation as shown in an answer: name, aliases, role and evidence."""

    name: str
    aliases: tuple[str, ...]
    role: str
    evidence: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


@dataclass(frozen=True)
class MeasureOwners:
    """A retrieved clause and the organisations it names itself."""

    doc_id: str
    label: str
    path: tuple[str, ...]
    orgs: tuple[OrgRole, ...]
    doc_name: str = ""

    @property
    def citation_label(self) -> str:
        return cite_label(self.doc_name, self.label)

    @property
    def names_owner(self) -> bool:
        """True when the clause itself names who leads or answers for it."""
        return any(o.role in OWNER_ROLES for o in self.orgs)


@dataclass(frozen=True)
class InheritedOwner:
    """What the plan says about all its measures, with the clause that says it."""

    doc_id: str
    label: str
    path: tuple[str, ...]
    role: str
    orgs: tuple[OrgRole, ...]
    evidence: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


@dataclass(frozen=True)
class WhoResult:
    query: str
    measures: tuple[MeasureOwners, ...]
    inherited: tuple[InheritedOwner, ...]
    notice: str = ""

    @property
    def no_owner_named(self) -> bool:
        """True when none of the retrieved clauses names who leads or answers for it."""
        return not any(m.names_owner for m in self.measures)


NO_OWNER_NOTICE = "条款本身没有点名负责部门；按方案的保障措施，由下列单位统筹、负责和评估。"
NO_HITS_NOTICE = "没有找到与问题相关的条款；下面是方案对全部任务的总体分工。"


def who(query: str, rmap: ResponsibilityMap, hits: list[Hit]) -> WhoResult:
    """Who owns the measures in `hits` (the retrieval results for `query`).

    Returns the organisations each clause names (with role and evidence) and,
    kept apart, the owners every measure inherits from the plan (三（一）…).
    Raises BadQuestion for an empty query.
    """
    if not query or not query.strip():
        raise BadQuestion("问题为空：请说明想了解哪项措施由谁负责，例如「新疆棉花由谁牵头」。")
    measures: dict[tuple[str, str], MeasureOwners] = {}
    for hit in hits:
        c = hit.clause
        if (c.doc_id, c.clause_label) not in measures:
            orgs = tuple(OrgRole(m.org, m.aliases, m.role, m.evidence)
                         for m in rmap.for_clause(c.doc_id, c.clause_label))
            measures[(c.doc_id, c.clause_label)] = MeasureOwners(c.doc_id, c.clause_label, c.heading_path, orgs,
                                                                 c.doc_name)
    docs = _families(rmap, {doc for doc, _ in measures})
    inherited = tuple(i for i in inherited_owners(rmap, docs) if (i.doc_id, i.label) not in measures)
    owners_named = any(m.names_owner for m in measures.values())  # what WhoResult.no_owner_named reports
    notice = NO_HITS_NOTICE if not measures else "" if owners_named else NO_OWNER_NOTICE
    return WhoResult(query.strip(), tuple(measures.values()), inherited, notice)


def inherited_owners(rmap: ResponsibilityMap, doc_ids: set[str] | None = None) -> list[InheritedOwner]:
    """The plan-wide owners (lead, main responsibility, entrusted), one entry per
    clause and role, in document order; limited to `doc_ids` when given. A law has no
    plan-wide owners: each article says who is charged with what it orders."""
    laws = {d.doc_id for d in rmap.documents if d.kind == "law"}
    groups: dict[tuple[str, str, str], list[OrgMention]] = {}
    for m in rmap.mentions:
        if m.role in INHERITED_ROLES and (doc_ids is None or m.doc_id in doc_ids) and m.doc_id not in laws:
            groups.setdefault((m.doc_id, m.clause_label, m.role), []).append(m)
    return [InheritedOwner(doc, label, ms[0].heading_path, role,
                           tuple(OrgRole(m.org, m.aliases, m.role, m.evidence) for m in ms), ms[0].evidence)
            for (doc, label, role), ms in groups.items()]


def _families(rmap: ResponsibilityMap, doc_ids: set[str]) -> set[str] | None:
    """A notice and its attached plan come from one file: ownership stated in the
    plan covers the notice too. None (= all documents) when nothing was retrieved."""
    if not doc_ids:
        return None
    sources = {d.source_path for d in rmap.documents if d.doc_id in doc_ids and d.source_path}
    return doc_ids | {d.doc_id for d in rmap.documents if d.source_path in sources}


# --- per-organisation report ---------------------------------------------------

@dataclass(frozen=True)
class OrgEntry:
    """One organisation with every clause that names it."""

    name: str
    aliases: tuple[str, ...]
    mentions: tuple[OrgMention, ...]


def org_report(rmap: ResponsibilityMap, org: str | None = None, label: str | None = None) -> list[OrgEntry]:
    """All organisations (org=None) or those `org` refers to, each with its mentions;
    with `label` (a clause label as the index writes it, 二（三）2), only the
    mentions in that clause and the organisations it names.

    Raises BadQuestion for an empty name and UnknownOrganisation (with the
    nearest known names) for a name no clause mentions.
    """
    if org is None:
        names = rmap.orgs()
    else:
        if not org.strip():
            raise BadQuestion("单位名称为空：请输入要查询的单位，例如「工信部」或「中国农业科学院」。")
        names = rmap.resolve(org)
        if not names:
            raise UnknownOrganisation(org.strip(), rmap.suggest(org))
    entries = [OrgEntry(n, rmap.aliases_of(n), tuple(m for m in rmap.mentions
                                                     if m.org == n and (label is None or m.clause_label == label)))
               for n in names]
    return [e for e in entries if e.mentions]  # only a label filter leaves an organisation with none
