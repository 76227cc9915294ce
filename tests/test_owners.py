"""Issue 4: organisations, roles and the responsibility map, on the real 2022 plan.

The whole map of (organisation, document, clause, role) triples is compared
with tests/data/expected_owners.tsv, written by hand from the text.
No index and no embeddings here: hits are built with a tiny substring matcher.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from qa.errors import BadQuestion, QAError, UnknownLabel
from qa.ingest.load import load_file
from qa.owners.answer import answer_ownership, is_ownership_question
from qa.owners.map import (ROLE_NAMES, OrgMention, ResponsibilityMap, UnknownOrganisation, build_responsibility_map,
                           org_report, read_triples, who)
from qa.owners.render import format_orgs, format_who, orgs_to_csv, orgs_to_json, who_to_json
from qa.owners.extract import ClauseReader
from qa.text.segment import Segmenter
from qa.ingest.structure import parse_clauses
from qa.types import Answer, Citation, Document, Hit

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "east-west-plan-2022.txt"
EXPECTED = Path(__file__).parent / "data" / "expected_owners.tsv"
NINE = ("科学技术部", "教育部", "工业和信息化部", "自然资源部", "生态环境部",
        "国务院国有资产监督管理委员会", "中国科学院", "中国工程院", "中国科学技术协会")


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter()


@pytest.fixture(scope="module")
def documents():
    return load_file(CORPUS)


@pytest.fixture(scope="module")
def clauses(documents):
    return [c for d in documents for c in parse_clauses(d)]


@pytest.fixture(scope="module")
def rmap(documents, clauses, segmenter):
    return build_responsibility_map(documents, clauses, segmenter)


def hits_for(clauses, *words):
    """Stand-in for the retriever: clauses containing any of the words, in document order."""
    matched = [c for c in clauses if any(w in c.text for w in words)]
    return [Hit(c, 1.0 - 0.05 * i) for i, c in enumerate(matched)]


# --- the whole map against the hand-written table ------------------------------

def test_expected_table_is_well_formed(clauses):
    rows = read_triples(EXPECTED)
    labels = {c.clause_label for c in clauses}
    assert len(rows) > 100
    assert {doc for _, doc, _, _ in rows} == {"notice", "plan"}
    assert {label for _, _, label, _ in rows} <= labels
    assert {role for *_, role in rows} <= set(ROLE_NAMES)


def test_scores_against_a_tiny_hand_made_table(tmp_path):
    # Predicted: four distinct triples (the fifth mention repeats one). Expected: three rows,
    # two of them predicted. By hand: precision 2/4, recall 2/3, F1 = 2·(1/2)·(2/3) / (1/2 + 2/3) = 4/7.
    def mention(org, label, role):
        return OrgMention(org, (), "p", label, (label,), role, "")

    rmap = ResponsibilityMap((mention("科学技术部", "三（一）", "lead"), mention("教育部", "三（一）", "lead"),
                              mention("财政部门", "三（二）", "partner"), mention("科学技术部", "三（一）", "lead"),
                              mention("中国农业科学院", "二（一）2", "partner")),
                             documents=(Document("p", "方案", "", kind="plan"),))
    table = tmp_path / "expected.tsv"
    table.write_text("# org\tdoc\tlabel\trole\n科学技术部\tplan\t三（一）\tlead\n"
                     "财政部门\tplan\t三（二）\tpartner\n中国农村技术开发中心\tplan\t三（三）\tentrusted\n",
                     encoding="utf-8")
    assert rmap.scores_against(table) == pytest.approx((0.5, 2 / 3, 4 / 7))


def test_triples_precision_and_recall(rmap):
    predicted, expected = rmap.triples(), read_triples(EXPECTED)
    precision, recall, f1 = rmap.scores_against(EXPECTED)
    print(f"\nowners: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} "
          f"({len(predicted & expected)} of {len(expected)} expected, {len(predicted)} predicted)")
    print("missed:", sorted(expected - predicted))
    print("extra:", sorted(predicted - expected))
    assert precision >= 0.9
    assert recall >= 0.9


@pytest.mark.parametrize("row", [
    # the examples
    *[("中国农业科学院", "plan", label, "partner") for label in ("二（一）2", "二（二）2", "二（三）3", "二（五）1")],
    ("中国农村技术开发中心", "plan", "三（三）", "entrusted"),
    *[(org, "notice", "通知", "issuer") for org in NINE],
    *[(org, "plan", "三（一）", "lead") for org in NINE],
    ("财政部门", "plan", "三（二）", "partner"),
    ("各省（自治区、直辖市）科技管理部门", "plan", "三（二）", "main_responsibility"),
    ("各省（自治区、直辖市）科技管理部门", "plan", "三（二）", "funding"),
    ("西部省区科技管理部门", "plan", "三（二）", "main_responsibility"),
    ("张江国家自主创新示范区", "plan", "二（四）2", "partner"),
    ("张江国家自主创新示范区", "plan", "二（七）2", "partner"),
    # generic kinds, regions as parties, zones named by their city
    ("行业龙头企业", "plan", "二（二）2", "partner"),
    ("民族医药企业", "plan", "二（二）3", "supported"),
    ("新疆", "plan", "二（一）2", "supported"),
    ("深圳", "plan", "二（四）2", "partner"),
    ("青藏高原综合科学研究中心", "plan", "二（二）1", "built"),
])
def test_must_have_rows(rmap, row):
    assert row in rmap.triples()


@pytest.mark.parametrize("row", [
    ("财政部", "plan", "三（二）", "partner"),  # only 财政部门 is in the plan
    ("云南", "plan", "二（四）2", "supported"),  # 云南昆明: a qualifier, not a party
    ("新疆", "plan", "二（一）1", "partner"),
    ("高校", "plan", "二（五）3", "named"),  # 高等学校毕业生: graduates, not the university
])
def test_rows_that_must_not_appear(rmap, row):
    assert row not in rmap.triples()
    assert not any(org == "国科发区" for org, *_ in rmap.triples())  # jieba tags the doc number nt


def test_issuers_come_from_the_signature_block(documents, rmap):
    notice = documents[0]
    assert notice.kind == "notice" and notice.issuing_bodies == NINE
    issuers = [m for m in rmap.mentions if m.role == "issuer"]
    assert {m.org for m in issuers} == set(NINE)
    assert all(m.doc_id == notice.doc_id and m.clause_label == "通知" for m in issuers)
    run = "科技部教育部工业和信息化部自然资源部生态环境部国资委中科院工程院中国科协"
    assert all(run in m.evidence for m in issuers if m.org != "科学技术部")


def test_every_mention_has_evidence_from_its_clause(rmap):
    for m in rmap.mentions:
        clause = rmap.clause(m.doc_id, m.clause_label)
        assert m.evidence and m.evidence in clause.text
        assert m.role in ROLE_NAMES
        assert m.heading_path == clause.heading_path


# --- names and aliases -----------------------------------------------------------

def test_alias_finds_canonical_and_back(rmap):
    by_alias, = org_report(rmap, "工信部")
    assert by_alias.name == "工业和信息化部" and {m.org for m in by_alias.mentions} == {"工业和信息化部"}
    assert [by_alias] == org_report(rmap, "工业和信息化部")
    assert {(m.clause_label, m.role) for m in by_alias.mentions} == {("通知", "issuer"), ("三（一）", "lead")}
    assert "工信部" in by_alias.aliases
    assert rmap.resolve("中科院") == ["中国科学院"]
    assert rmap.resolve("农科院") == ["中国农业科学院"]
    assert rmap.resolve("中国科学院") == ["中国科学院"]  # not 中国农业科学院


def test_zhangjiang_by_short_name(rmap):
    labels = {m.clause_label for e in org_report(rmap, "张江") for m in e.mentions}
    assert labels == {"二（四）2", "二（七）2"}


def test_org_report_by_clause_label(rmap):
    entries = org_report(rmap, label="三（一）")
    named = {m.org for m in rmap.mentions if m.clause_label == "三（一）"}
    assert [e.name for e in entries] == [o for o in rmap.orgs() if o in named]
    assert entries and all(m.clause_label == "三（一）" for e in entries for m in e.mentions)
    lead, = org_report(rmap, "工信部", "三（一）")
    assert [(m.clause_label, m.role) for m in lead.mentions] == [("三（一）", "lead")]
    assert org_report(rmap, "张江", "三（一）") == []  # named elsewhere, not in this clause


def test_generic_name_finds_its_scoped_forms(rmap):
    assert rmap.resolve("科技管理部门") == ["各省（自治区、直辖市）科技管理部门", "西部省区科技管理部门"]
    assert rmap.resolve("科技厅") == ["各省（自治区、直辖市）科技管理部门"]
    assert rmap.resolve("各省(自治区、直辖市)科技管理部门") == ["各省（自治区、直辖市）科技管理部门"]
    assert set(rmap.resolve("企业")) >= {"企业", "行业龙头企业", "民族医药企业"}


def test_ministry_of_finance_is_not_the_finance_departments(rmap):
    assert rmap.resolve("财政部") == []
    with pytest.raises(UnknownOrganisation) as caught:
        org_report(rmap, "财政部")
    error = caught.value
    assert isinstance(error, UnknownLabel) and isinstance(error, QAError)
    assert str(error).startswith("文件中未提及该单位：财政部")
    assert "财政部门" in error.suggestions  # suggested, never matched


def test_empty_names_and_questions_are_refused(rmap, clauses):
    with pytest.raises(BadQuestion):
        org_report(rmap, "  ")
    with pytest.raises(BadQuestion):
        who("", rmap, hits_for(clauses, "棉花"))


def test_org_report_without_name_lists_every_org(rmap):
    entries = org_report(rmap, None)
    assert [e.name for e in entries] == rmap.orgs()
    assert sum(len(e.mentions) for e in entries) == len(rmap.mentions)


# --- who owns a measure ------------------------------------------------------------

def test_who_for_a_measure_that_names_no_ministry(rmap, clauses):
    result = who("新疆棉花由谁牵头", rmap, hits_for(clauses, "棉花"))
    measure, = result.measures
    assert measure.label == "二（一）2"
    assert {(o.name, o.role) for o in measure.orgs} == {("新疆", "supported"), ("中国农业科学院", "partner")}
    assert not measure.names_owner and result.no_owner_named and result.notice
    inherited = [(i.label, i.role, tuple(o.name for o in i.orgs)) for i in result.inherited]
    assert inherited == [
        ("三（一）", "lead", NINE),
        ("三（二）", "main_responsibility", ("各省（自治区、直辖市）科技管理部门", "西部省区科技管理部门")),
        ("三（三）", "entrusted", ("中国农村技术开发中心",)),
    ]
    assert "协调推进机制" in result.inherited[0].evidence


def test_who_for_a_measure_that_names_its_owner(rmap, clauses):
    result = who("谁来评估", rmap, hits_for(clauses, "绩效评估"))
    measure, = result.measures
    assert measure.label == "三（三）" and measure.names_owner and not result.no_owner_named
    assert [o.name for o in measure.orgs if o.role == "entrusted"] == ["中国农村技术开发中心"]
    assert "三（三）" not in [i.label for i in result.inherited]  # kept apart, not repeated
    assert result.notice == ""


def test_who_json_shape(rmap, clauses):
    data = who_to_json(who("新疆棉花由谁牵头", rmap, hits_for(clauses, "棉花")))
    assert {"measures", "inherited"} <= set(data)
    measure = data["measures"][0]
    assert {"label", "path", "orgs"} <= set(measure) and measure["label"] == "二（一）2"
    assert {"name", "aliases", "role", "evidence"} <= set(measure["orgs"][0])
    assert isinstance(measure["orgs"][0]["aliases"], list)
    assert {"label", "evidence", "orgs", "role"} <= set(data["inherited"][0])
    assert data["no_owner_named"] is True


def test_format_who_groups_roles_under_cited_evidence(rmap, clauses):
    text = format_who(who("新疆棉花由谁牵头", rmap, hits_for(clauses, "棉花")))
    lines = text.splitlines()
    header = lines.index("［二（一）2］2.推动新疆棉花、林果特色农业创新发展")
    assert lines[header + 1].startswith("  依据：「支持新疆与中国农业科学院等联合开展良种培育")
    assert "    合作方：中国农业科学院" in lines[header + 2:header + 4]
    assert "    支持对象：新疆" in lines[header + 2:header + 4]
    inherited = [line for line in lines if line.startswith("  ［三（")]
    assert any("受委托方：中国农村技术开发中心" in line for line in inherited)
    assert "没有点名" in text


# --- reports: JSON, CSV, text ----------------------------------------------------------

def test_orgs_json_shape(rmap):
    data = orgs_to_json(org_report(rmap, "农科院"))
    assert data[0]["name"] == "中国农业科学院" and "农科院" in data[0]["aliases"]
    assert [m["label"] for m in data[0]["mentions"]] == ["二（一）2", "二（二）2", "二（三）3", "二（五）1"]
    assert {"doc", "label", "role", "evidence"} <= set(data[0]["mentions"][0])


def test_csv_has_bom_and_round_trips(rmap):
    entries = org_report(rmap)
    text = orgs_to_csv(entries)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["单位", "别名"]
    assert len(body) == len(rmap.mentions)
    expected = [(e.name, m.clause_label, m.role, m.evidence) for e in entries for m in e.mentions]
    assert [(r[0], r[3], r[4], r[6]) for r in body] == expected


def test_format_orgs_cites_every_mention(rmap):
    text = format_orgs(org_report(rmap, "中国农村技术开发中心"))
    lines = text.splitlines()
    assert lines[0].startswith("中国农村技术开发中心")
    assert lines[1].startswith("  ［三（三）］受委托方：")


# --- ownership questions in `qa ask` -----------------------------------------------------

@pytest.mark.parametrize("question", [
    "哪个部门负责东西部科技合作？", "新疆棉花的技术攻关由谁牵头", "国资委参与了什么", "工信部在方案里负责什么？",
    "绩效评估委托给谁", "谁来评估", "高校参与了哪些合作",
])
def test_ownership_questions_are_recognised(question, segmenter):
    assert is_ownership_question(question, segmenter)


@pytest.mark.parametrize("question", [
    "新疆棉花有哪些措施", "东西部科技合作的目标是什么", "宁夏引才引智怎么做", "2025年要达到什么目标",
])
def test_other_questions_are_not(question, segmenter):
    assert not is_ownership_question(question, segmenter)


def _check_cited(answer: Answer, rmap):
    """Every line ends with ［label］ of a citation whose clause holds the quoted text."""
    labels = {c.clause_label for c in answer.citations}
    for line in answer.text.splitlines():
        label = re.search(r"［([^］]+)］$", line).group(1)
        assert label in labels
        for quote in re.findall(r"「([^」]+)」", line):
            assert any(quote in c.clause_text for c in answer.citations if c.clause_label == label)
    assert all(isinstance(c, Citation) and c.quote for c in answer.citations)


def test_answer_about_a_named_ministry(rmap, clauses, segmenter):
    answer = answer_ownership("工信部在方案里负责什么？", rmap, hits_for(clauses, "工业和信息化部"), segmenter)
    assert answer is not None and not answer.refused and answer.backend == "extractive"
    assert [c.clause_label for c in answer.citations] == ["通知", "三（一）"]
    assert "工业和信息化部" in answer.text and "牵头/协调" in answer.text
    _check_cited(answer, rmap)


def test_answer_when_the_measure_names_no_ministry(rmap, clauses, segmenter):
    answer = answer_ownership("新疆棉花由谁牵头", rmap, hits_for(clauses, "棉花"), segmenter)
    assert [c.clause_label for c in answer.citations] == ["二（一）2", "三（一）"]
    assert "没有点名" in answer.text and "科学技术部" in answer.text
    _check_cited(answer, rmap)


def test_answer_who_evaluates(rmap, clauses, segmenter):
    answer = answer_ownership("谁来评估", rmap, hits_for(clauses, "评估"), segmenter)
    assert [c.clause_label for c in answer.citations] == ["三（三）"]
    assert "中国农村技术开发中心" in answer.text
    _check_cited(answer, rmap)


def test_partner_only_org_is_told_it_owns_nothing(rmap, clauses, segmenter):
    answer = answer_ownership("中国农业科学院负责什么", rmap, [], segmenter)
    labels = [c.clause_label for c in answer.citations]
    assert labels == ["二（一）2", "二（二）2", "二（三）3", "二（五）1", "三（一）"]
    assert "方案没有写明由中国农业科学院牵头或负责的任务" in answer.text
    _check_cited(answer, rmap)


def test_ministry_of_finance_question_is_refused(rmap, clauses, segmenter):
    answer = answer_ownership("财政部负责什么", rmap, hits_for(clauses, "财政"), segmenter)
    assert answer.refused and "财政部" in answer.refusal_reason
    assert "［" not in answer.text and not answer.citations  # nothing cited as if it were 财政部


def test_non_ownership_question_falls_back(rmap, clauses, segmenter):
    assert answer_ownership("新疆棉花有哪些措施", rmap, hits_for(clauses, "棉花"), segmenter) is None
    assert answer_ownership("   ", rmap, [], segmenter) is None  # blank questions never get here (read_question)


# --- the cue rules on sentences the table was not written from --------------------------

@pytest.mark.parametrize("sentence, expected", [
    ("由工业和信息化部牵头，会同生态环境部制定实施细则。", {("工业和信息化部", "lead"), ("生态环境部", "partner")}),
    ("科技部负责统筹协调，教育部、中国科学院按职责分工负责。",
     {("科学技术部", "lead"), ("教育部", "lead"), ("中国科学院", "lead")}),
    ("委托中国科学技术协会开展第三方评估。", {("中国科学技术协会", "entrusted")}),
    ("推动重庆市与广东省开展结对合作。", {("重庆", "partner"), ("广东", "partner")}),
    ("各省（自治区、直辖市）财政部门要加强资金保障。", {("各省（自治区、直辖市）财政部门", "funding")}),
    ("支持甘肃省科技厅会同兰州大学建设联合研究院。", {("科技管理部门", "supported"), ("兰州大学", "partner")}),
])
def test_cues_on_unseen_sentences(segmenter, sentence, expected):
    found = {(f.org, f.role) for f in ClauseReader(segmenter).read(sentence)}
    assert found == expected


def test_ownership_in_chat_agrees_with_qa_who_for_every_measure(plan_assistant):
    """Asked in chat or through `qa who`, 「X由谁负责？」 names owners from the same clauses."""
    plan = {d.doc_id for d in plan_assistant.documents if d.kind != "law"}
    measures = [c for c in plan_assistant.clauses if c.doc_id in plan and c.clause_label not in ("前言", "通知", "一")]
    assert len(measures) > 20
    for clause in measures:
        topic = clause.heading_path[-1].lstrip("0123456789.（）()一二三四五六七八九十、")
        query = f"{topic}由谁负责？"
        result = plan_assistant.who(query)
        shown = {m.label for m in result.measures} | {i.label for i in result.inherited}
        answer = plan_assistant.ask(query)
        cited = {c.clause_label for c in answer.citations}
        assert cited and cited <= shown, (query, cited, shown)
