"""How questions are read on the real plan: new topics vs follow-ups, structure and metadata
questions answered from the document, wrong premises corrected."""
from __future__ import annotations

from qa.query.intent import understand


def test_a_question_with_its_own_topic_is_not_rewritten_after_an_unrelated_one(plan_assistant):
    understood = plan_assistant.understand("如何打造世界级盐湖产业基地？", ["工业和信息化部负责什么？"])
    assert understood.text == "如何打造世界级盐湖产业基地？"
    understood = plan_assistant.understand("西部地区人才培养有什么措施？", ["那西藏呢？"])
    assert understood.text == "西部地区人才培养有什么措施？"


def test_real_follow_ups_are_still_rewritten(plan_assistant):
    assert "西藏" in plan_assistant.understand("那西藏呢？", ["青海的特色农牧业有什么措施？"]).text
    # 清洁能源 is new, but a clause speaks of 内蒙古 and 清洁能源 together: a continuation.
    rewritten = plan_assistant.understand("要开发哪些清洁能源技术？", ["内蒙古能源转型依托哪个城市群？"]).text
    assert "内蒙古" in rewritten
    assert "科技援藏" in plan_assistant.understand("第二项呢？", ["科技援藏的第一项讲的是什么？"]).text


def test_a_pointer_with_its_measure_word_is_replaced_whole(plan_assistant):
    rewritten = plan_assistant.understand("这一条依托的是哪个城市群？", ["科技兴蒙里能源资源绿色转型讲了哪些内容？"]).text
    assert "一条" not in rewritten and "能源资源绿色转型" in rewritten


def test_ordinal_follow_ups_walk_the_outline(plan_assistant):
    history = []
    for turn in ("科技援藏一共安排了几项任务？", "第一项讲的是什么？"):
        history.append(plan_assistant.understand(turn, history).text)
    answer = plan_assistant.ask("第二项呢？", history=history)
    assert answer.citations[0].clause_label == "二（二）2" and "农牧业" in answer.text


def test_structure_words_that_count_contents_are_not_structure_questions():
    assert understand("东西部科技合作要坚持哪几条原则？").kind != "structure"
    assert understand("重点任务一共有几项？").detail == "count"
    assert understand("“科技援藏”这一项下面包括哪些子任务？").detail == "parts"
    assert understand("“科技入滇”排在重点任务的第几项？").detail == "position"
    assert understand("这一条依托的是哪个城市群？").kind == "fact"


def test_position_of_a_part_among_its_siblings(plan_assistant):
    answer = plan_assistant.ask("“科技入滇”排在重点任务的第几项？")
    assert "第4项" in answer.text and answer.citations[0].clause_label == "二（四）1"


def test_issuers_only_when_the_question_is_about_the_document_itself(plan_assistant):
    issuers = plan_assistant.ask("是哪个部门领衔、和其他部门一起制定的这个方案？")
    assert "科技部等九部门" in issuers.text and issuers.citations[0].clause_label == "通知"
    other_plan = plan_assistant.ask("西部省份的落实方案由谁负责制定？")
    assert other_plan.citations[0].clause_label == "三（二）"


def test_wrong_premises_about_the_document_are_corrected(plan_assistant):
    date = plan_assistant.ask("这个方案是2021年底印发的，具体是哪天？")
    assert "并非2021年" in date.text and "2022年3月3日" in date.text
    count = plan_assistant.ask("这个实施方案是科技部等七个部门联合印发的，具体是哪七个？")
    assert "不是由7个部门" in count.text and "教育部" in count.text


def test_an_aspect_follow_up_narrows_the_previous_subject(plan_assistant):
    rewritten = plan_assistant.understand("人才方面有啥具体安排没", ["甘肃兰白和上海张江是怎么合作的？"]).text
    assert "兰白" in rewritten and "人才" in rewritten
    answer = plan_assistant.ask("人才方面有啥具体安排没", history=["甘肃兰白和上海张江是怎么合作的？"])
    assert answer.citations[0].clause_label == "二（七）2" and "双聘" in answer.text


def test_a_long_question_naming_its_own_region_stands_alone(plan_assistant):
    question = "云南昆明、玉溪那几个高新区是跟谁结对共建的？"
    assert plan_assistant.understand(question, ["贵州和中关村合作哪些领域？"]).text == question


def test_a_broad_question_gets_the_measure_not_one_sentence(plan_assistant):
    answer = plan_assistant.ask("宁夏引才引智方面具体有哪些安排？")
    assert answer.citations[0].clause_label == "二（五）3"
    assert "现代学徒制" in answer.text and "人才飞地" in answer.text
