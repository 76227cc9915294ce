"""The plan beside the laws it rests on: citations, choosing the document and the version."""
from __future__ import annotations

import pytest

from qa.answer.support import SupportChecker
from qa.answer.verify import verify
from qa.errors import UnknownLabel
from qa.types import Hit

BASIS = "东西部科技合作有什么法律依据？"


def test_plan_clauses_keep_their_labels(plan_assistant):
    answer = plan_assistant.ask("如何打造世界级盐湖产业基地？")
    assert "［二（三）2］" in answer.text and answer.citations[0].citation_label == "二（三）2"


def test_a_question_asking_for_the_legal_basis_is_answered_from_the_law(plan_assistant):
    answer = plan_assistant.ask(BASIS)
    assert "［科学技术进步法 第六条］" in answer.text
    assert answer.citations[0].doc_name == "科学技术进步法"
    assert answer.citations[0].to_json()["path"] == "《科学技术进步法》 › 第一章 总则 › 第六条"


@pytest.mark.parametrize("question, reason", [
    (BASIS, "asks for a law"),
    ("如何打造世界级盐湖产业基地？", "policy first"),
    ("科技进步法对区域科技合作有什么规定？", "named"),
    ("有关条例对科学技术奖的评审有什么规定？", "speaks of laws"),
])
def test_where_a_question_goes(plan_assistant, question, reason):
    assert plan_assistant.scoper.scope(question).reason == reason


def test_the_plan_goes_with_its_notice(plan_assistant):
    scope = plan_assistant.scoper.scope("方案是哪年印发的？")
    assert scope.doc_ids == {"east-west-plan-2022-notice", "east-west-plan-2022-plan"}


@pytest.mark.parametrize("alias, doc", [("科普法", "科学技术普及法-2024-12-25"), ("科技进步法", "科学技术进步法-2021-12-24"),
                                        ("成果转化法", "促进科技成果转化法-2015-08-29"),
                                        ("2002年版科普法", "科学技术普及法-2002-06-29"),
                                        ("修订前的科普法", "科学技术普及法-2002-06-29")])
def test_short_names_and_versions(plan_assistant, alias, doc):
    assert plan_assistant.scoper.scope(f"{alias}对科普经费有什么规定？").named == (doc,)
    assert plan_assistant.document(alias).doc_id == doc


def test_the_newest_version_answers_and_says_so(plan_assistant):
    answer = plan_assistant.ask("科普法对科普经费有什么规定？")
    assert answer.text.startswith("依据现行的《科学技术普及法》2024年修订版（另有2002年版）。")
    assert {c.doc_id for c in answer.citations} == {"科学技术普及法-2024-12-25"}
    assert "［科学技术普及法 第" in answer.text


def test_a_question_naming_the_older_year_is_answered_from_it(plan_assistant):
    answer = plan_assistant.ask("2002年版科普法对科普经费有什么规定？")
    assert answer.text.startswith("依据问题所指的《科学技术普及法》2002年版")
    assert {c.doc_id for c in answer.citations} == {"科学技术普及法-2002-06-29"}
    assert "［科学技术普及法（2002年版） 第" in answer.text


def test_a_law_question_the_plan_cannot_answer_goes_to_the_laws(plan_assistant):
    answer = plan_assistant.ask("全国科技工作者日是哪一天？")
    assert "5月30日" in answer.text and "［科学技术进步法 第十八条］" in answer.text


def test_a_plan_question_the_laws_happen_to_touch_is_still_refused(plan_assistant):
    assert plan_assistant.ask("个人所得税的起征点是多少？").refused


@pytest.mark.parametrize("label, doc, expected", [
    ("科学技术进步法 第六条", None, "科学技术进步法 第六条"),
    ("科技进步法第六条", None, "科学技术进步法 第六条"),
    ("第六条", "科学技术进步法", "科学技术进步法 第六条"),
    ("第六条", "科普法", "科学技术普及法 第六条"),
    ("科学技术普及法（2002年版） 第六条", None, "科学技术普及法（2002年版） 第六条"),
    ("国家科学技术奖励条例 第二条（三）", None, "国家科学技术奖励条例 第二条（三）"),
    ("二(三)2", None, "二（三）2"),
])
def test_show_by_citation(plan_assistant, label, doc, expected):
    assert plan_assistant.show(label, doc).citation_label == expected


def test_an_ambiguous_label_lists_the_documents(plan_assistant):
    with pytest.raises(UnknownLabel) as error:
        plan_assistant.show("第六条")
    assert "《科学技术进步法》" in str(error.value) and "《科学技术普及法（2002年版）》" in str(error.value)


def test_the_verifier_accepts_law_citations(plan_assistant):
    hits = [Hit(plan_assistant.show(label), 1.0) for label in ("科学技术进步法 第六条", "科学技术进步法 第十五条",
                                                                "国家科学技术奖励条例 第二条")]
    text = ("国家加强跨地区的科学技术合作［科学技术进步法 第六条］。国务院领导全国科学技术进步工作［第十五条］。"
            "国家设立国家技术发明奖［国家科学技术奖励条例 第二条（三）］。")
    checked = verify(text, hits, "科技合作有什么法律依据？", SupportChecker(plan_assistant.segmenter))
    assert checked.dropped_citations == ()
    assert [c.citation_label for c in checked.citations] == [
        "科学技术进步法 第六条", "科学技术进步法 第十五条", "国家科学技术奖励条例 第二条"]
    assert "［科学技术进步法 第十五条］" in checked.text  # a bare article label gets its law's name


def test_statutory_bodies_are_found_by_form(plan_assistant):
    from qa.owners.extract import ClauseReader

    reader = ClauseReader(plan_assistant.segmenter)
    found = reader.read("国务院科学技术行政部门负责制定全国科普工作规划。县级以上地方人民政府科学技术行政部门应当支持。"
                        "省、自治区、直辖市人民政府应当加强领导。")
    assert [(f.org, f.role) for f in found] == [("科学技术部", "lead"), ("县级以上地方人民政府科学技术行政部门", "named"),
                                                ("省、自治区、直辖市人民政府", "named")]


def test_who_covers_laws_without_the_plans_division_of_labour(plan_assistant):
    result = plan_assistant.who("全国科普工作规划由谁制定")
    first = result.measures[0]
    assert first.citation_label == "科学技术普及法 第十五条"
    assert ("科学技术部", "lead") in [(o.name, o.role) for o in first.orgs]
    assert result.inherited == ()  # the plan's 保障措施 do not bind a law's articles


def test_orgs_list_laws_with_their_document(plan_assistant):
    (entry,) = plan_assistant.orgs("国务院科学技术行政部门")
    assert entry.name == "科学技术部"
    cites = [m.citation_label for m in entry.mentions]
    assert "三（一）" in cites and "科学技术普及法 第十五条" in cites
