"""Clause structure of the real plan, and of the numbering styles other notices use."""
from collections import Counter

import pytest

from qa.ingest.load import load_file
from qa.ingest.structure import cn_number, parse_clauses
from qa.types import Document
from tests.conftest import PLAN_FILE


@pytest.fixture(scope="module")
def clauses():
    return [c for doc in load_file(PLAN_FILE) for c in parse_clauses(doc)]


def test_plan_tree_has_the_published_shape(clauses):
    labels = [c.clause_label for c in clauses]
    items = Counter(label[:4] for label in labels if label.startswith("二（"))
    assert [items[f"二（{n}）"] for n in "一二三四五六七"] == [3, 3, 3, 3, 3, 3, 2]
    assert [label for label in labels if label.startswith("三")] == ["三（一）", "三（二）", "三（三）"]
    assert labels[:3] == ["通知", "前言", "一"]
    assert len(labels) == 26


def test_labels_paths_and_offsets_round_trip(clauses):
    docs = {d.doc_id: d for d in load_file(PLAN_FILE)}
    for clause in clauses:
        assert docs[clause.doc_id].text[clause.start:clause.end] == clause.text
    salt = next(c for c in clauses if c.clause_label == "二（三）2")
    assert salt.heading_path == ("二、重点任务", "（三）实施“科技援青”，共建青藏高原生态文明高地", "2.打造世界级盐湖产业基地")
    assert salt.text.startswith("2.打造世界级盐湖产业基地。深化青海与天津")


def test_brackets_that_are_not_headings_stay_in_the_text(clauses):
    local = next(c for c in clauses if c.clause_label == "三（二）")
    assert "各省（自治区、直辖市）科技管理部门要履行主体责任" in local.text
    assert "鼓励各省（自治区、直辖市）科技管理部门会同财政部门" in local.text


def test_level_one_title_without_full_stop_is_split_from_its_body(clauses):
    general = next(c for c in clauses if c.clause_label == "一")
    assert general.heading_path == ("一、总体要求",)
    assert general.text.startswith("一、总体要求以习近平新时代中国特色社会主义思想为指导")


def _doc(text: str) -> Document:
    return Document("t", "测试", text)


def test_chapters_and_articles_are_labelled_by_article():
    text = ("第一章 总则\n第一条 为规范管理，制定本办法。\n第二条 本办法适用于科技合作项目。\n"
            "第二章 职责\n第三条 科技部负责统筹。（一）制定规划；（二）组织评估。")
    labels = [c.clause_label for c in parse_clauses(_doc(text))]
    assert labels == ["第一条", "第二条", "第三条", "第三条（一）", "第三条（二）"]


def test_cross_references_and_out_of_sequence_numbers_are_not_headings():
    text = ("一、总体要求\n坚持合作。按照（三）所列要求推进，详见第2.1节。\n"
            "二、重点任务\n（一）加强合作。1.共建平台。（1）联合攻关。（2）成果转化。2.人才交流。")
    clauses = parse_clauses(_doc(text))
    labels = [c.clause_label for c in clauses]
    assert labels == ["一", "二（一）1（1）", "二（一）1（2）", "二（一）2"]  # 1. has only a title over its items
    assert "按照（三）所列要求推进" in clauses[0].text


@pytest.mark.parametrize("numeral, value", [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("7", 7)])
def test_chinese_numerals(numeral, value):
    assert cn_number(numeral) == value
