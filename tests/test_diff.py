"""What changed between the 2002 and 2024 versions of 科学技术普及法: three changes read from the texts."""
from __future__ import annotations

import pytest

from qa.cli.diff import diff_to_json, format_diff
from qa.ingest.diff import diff_versions
from qa.ingest.load import load_paths
from qa.ingest.structure import parse_clauses
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def diff():
    docs = load_paths([CORPUS / "科学技术普及法(2002-06-29).md", CORPUS / "科学技术普及法(2024-12-25).md"]).documents
    old, new = (parse_clauses(d) for d in docs)
    return diff_versions(old, new, docs[0].doc_id, docs[1].doc_id)


def _by_new(diff, label):
    return next(a for a in diff.articles if a.new is not None and a.new.clause_label == label)


def test_a_new_article_is_added(diff):
    # 2024 第三条 「坚持中国共产党对科普事业的全面领导」 has no counterpart in 2002.
    assert _by_new(diff, "第三条").kind == "added"


def test_a_renumbered_article_pairs_by_content(diff):
    # 2002 第六条 is 2024 第九条, word for word; and 2002 第三条 (who must popularise science) is 2024
    # 第七条, which adds 「每年9月为全国科普月。」.
    moved = _by_new(diff, "第九条")
    assert moved.kind == "unchanged" and moved.old.clause_label == "第六条" and moved.renumbered
    seventh = _by_new(diff, "第七条")
    assert seventh.kind == "changed" and seventh.old.clause_label == "第三条"
    assert any(s.old == "" and s.new == "每年9月为全国科普月。" for s in seventh.sentences)


def test_changed_sentences_side_by_side(diff):
    # 2002 第二条: 「（以下称科普）…公众易于理解」 → 2024 第二条: 「（以下简称科普）…公众易于接触、理解」;
    # 2002 第二十三条 「列入同级财政预算」 → 2024 第四十四条 「列入本级预算」.
    second = _by_new(diff, "第二条")
    assert second.kind == "changed" and second.old.clause_label == "第二条"
    (sentence,) = second.sentences
    assert "（以下称科普）" in sentence.old and "（以下简称科普）" in sentence.new
    assert [s.text for s in sentence.new_spans if s.changed] == ["简", "接触、"]
    budget = _by_new(diff, "第四十四条")
    assert budget.old.clause_label == "第二十三条" and budget.kind == "changed"
    assert "同级财政预算" in budget.sentences[0].old and "本级预算" in budget.sentences[0].new


def test_every_article_is_accounted_for_once(diff):
    olds = [a.old.clause_label for a in diff.articles if a.old]
    news = [a.new.clause_label for a in diff.articles if a.new]
    assert len(olds) == len(set(olds)) == 34 and len(news) == len(set(news)) == 60
    assert [a.new.clause_label for a in diff.articles if a.new][:3] == ["第一条", "第二条", "第三条"]


def test_views(diff):
    data = diff_to_json(diff)
    assert data["counts"]["added"] == len(diff.of_kind("added")) and data["articles"][1]["old_label"] == "第二条"
    text = format_diff(diff, "《科学技术普及法》2002年版", "《科学技术普及法》2024年修订版")
    assert "（以下{+简+}称科普）" in text and "【新增】旧 — → 新 第三条" in text
