"""Law Markdown (the national laws database form): metadata, articles, items, no text lost."""
from dataclasses import replace
from pathlib import Path

import pytest

from qa.ingest.law import INFO_END, heading_title, item_clause, law_document, short_title
from qa.ingest.load import load_file, load_paths
from qa.ingest.structure import parse_clauses
from qa.text.numerals import cn_number
from tests.conftest import CORPUS

LAW_FILES = [p for p in sorted(CORPUS.glob("*.md")) if p.name != "README.md"]

SAMPLE = """# 中华人民共和国示例法

1990年1月2日 第七届全国人民代表大会常务委员会第十次会议通过

2020年3月4日 第十三届全国人民代表大会常务委员会第五次会议修订

2020年6月1日 施行

<!-- INFO END -->

## 第一章 总 则

第一条 为了示例，制定本法。

第二条 国家支持下列活动：

（一）研究；

（二）开发；

（三）推广。

前款活动由国务院科学技术行政部门负责。

## 第二章 分 则

### 第一节 一般规定

第三条 县级以上人民政府应当支持。

<!-- FORCE BREAK -->

第三条之一 新增的一条。

第四条 本法自公布之日起施行。
"""


def source_paragraphs(raw: str) -> list[str]:
    """The body paragraphs as the file writes them (read here independently of the parser)."""
    body = raw.partition(INFO_END)[2]
    lines = (line.strip(" \t\u3000") for line in body.split("\n"))
    return [line for line in lines if line and not line.startswith(("#", "<!--"))]


@pytest.fixture()
def sample(tmp_path):
    path = tmp_path / "示例法(2020-03-04).md"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def test_law_metadata_comes_from_the_text(sample):
    (doc,) = load_file(sample)
    assert doc.kind == "law"
    assert doc.title == "中华人民共和国示例法" and doc.short_title == "示例法"
    assert doc.date == "2020-03-04"  # the last revision, not the date it came into force
    assert doc.issuing_bodies == ("全国人民代表大会常务委员会",)
    assert doc.history[0].startswith("1990年1月2日") and len(doc.history) == 3


def test_version_date_falls_back_to_the_file_name(tmp_path):
    path = tmp_path / "某条例(2019-03-24).md"
    path.write_text("# 某条例\n\n<!-- INFO END -->\n\n第一条 本条例自公布之日起施行。\n", encoding="utf-8")
    (doc,) = load_file(path)
    assert doc.date == "2019-03-24" and doc.history == ()


def test_articles_chapters_sections_and_items(sample):
    (doc,) = load_file(sample)
    clauses = parse_clauses(doc)
    assert [c.clause_label for c in clauses] == ["题注", "第一条", "第二条", "第三条", "第三条之一", "第四条"]
    second = clauses[2]
    assert second.heading_path == ("第一章 总则", "第二条")
    assert second.text.startswith("第二条 国家支持下列活动：\n（一）研究；")
    assert second.text.endswith("前款活动由国务院科学技术行政部门负责。")  # an article runs over paragraphs
    assert clauses[3].heading_path == ("第二章 分则", "第一节 一般规定", "第三条")
    for clause in clauses:
        assert doc.text[clause.start:clause.end] == clause.text
    item = item_clause(second, "（二）")
    assert item.clause_label == "第二条（二）" and item.text == "（二）开发；"
    assert doc.text[item.start:item.end] == item.text
    assert item_clause(second, "（九）") is None


def test_a_law_cited_by_name_shows_it_in_its_path(sample):
    (doc,) = load_file(sample)
    clause = parse_clauses(replace(doc, cite_as="示例法"))[1]
    assert clause.citation_label == "示例法 第一条"
    assert clause.path_text == "《示例法》 › 第一章 总则 › 第一条"


def test_text_without_articles_or_headings_is_read_by_its_numbering(tmp_path):
    path = tmp_path / "决定.md"
    path.write_text("# 关于修改某解释的决定\n\n<!-- INFO END -->\n\n根据需要，作如下修改：\n\n一、修改某解释\n\n"
                    "1.将引言修改为：\n\n“为正确审理案件。”\n", encoding="utf-8")
    (doc,) = load_file(path)
    assert doc.kind == "" and "#" not in doc.text
    assert [c.clause_label for c in parse_clauses(doc)][:2] == ["前言", "一1"]


@pytest.mark.parametrize("path", LAW_FILES, ids=[p.stem for p in LAW_FILES])
def test_no_text_lost(path):
    """Every paragraph of the law is in exactly one clause, in the file's order, and the
    articles are numbered without a gap (a gap would mean two articles read as one)."""
    raw = path.read_text(encoding="utf-8")
    (doc,) = load_file(path)
    clauses = parse_clauses(doc)
    body = [c for c in clauses if c.clause_label != "题注"]
    assert [line for c in body for line in c.text.split("\n")] == source_paragraphs(raw)
    numbers = [cn_number(c.clause_label[1:-1]) for c in body
               if c.clause_label.startswith("第") and "之" not in c.clause_label]
    assert numbers == list(range(1, len(numbers) + 1))
    headings = {heading_title(line.lstrip("#")) for line in raw.split("\n") if line.startswith("## ")}
    assert headings <= {h for c in clauses for h in c.heading_path}


def test_the_corpus_holds_the_seven_related_texts():
    assert len(LAW_FILES) == 7
    documents = load_paths([CORPUS]).documents
    assert sorted(d.short_title for d in documents if d.kind == "law") == sorted(
        ["科学技术进步法", "促进科技成果转化法", "科学技术普及法", "科学技术普及法", "乡村振兴促进法", "民族区域自治法",
         "国家科学技术奖励条例"])
    assert not any("README" in d.source_path for d in documents)


@pytest.mark.parametrize("text, value", [("一百", 100), ("一百零五", 105), ("一百一十七", 117), ("两千", 2000),
                                         ("十", 10), ("", 0), ("甲", 0)])
def test_numerals_past_a_hundred(text, value):
    assert cn_number(text) == value


def test_names_and_headings():
    assert short_title("中华人民共和国科学技术进步法") == "科学技术进步法"
    assert short_title("国家科学技术奖励条例") == "国家科学技术奖励条例"
    assert heading_title("第一章 总 则") == "第一章 总则"
    assert heading_title("序 言") == "序言"
    assert law_document(SAMPLE, Path("x.md"), "x").text.startswith("# 中华人民共和国示例法\n1990年")
