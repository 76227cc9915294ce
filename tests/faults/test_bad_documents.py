"""Bad documents: text is never lost silently, and a file that cannot be read is named and skipped.

Originally `clean_text` cut everything after the first 「资料来源:」 line: a 30 MB file made of
repeated copies of the plan page kept 0.05 % of its text, with no warning."""
from __future__ import annotations

import pytest

from qa.cli.main import main
from qa.ingest.load import clean_text, load_paths
from tests.conftest import PLAN_FILE

PHRASE = "建设青藏高原综合科学研究中心"  # once in each copy of the plan, with a page marker inside it


@pytest.fixture
def big_folder(tmp_path):
    """About 30 MB: copies of the scraped plan page, each with its own source line and site footer."""
    folder = tmp_path / "big"
    folder.mkdir()
    page = PLAN_FILE.read_bytes()
    copies = 30_000_000 // len(page) + 1
    (folder / "copies.txt").write_bytes(page * copies)
    return folder, copies


def test_a_30_mb_file_of_repeated_pages_keeps_every_copy(big_folder):
    folder, copies = big_folder
    report = load_paths([folder])
    text = "".join(d.text for d in report.documents)
    assert text.count(PHRASE) == copies
    assert report.losses == ()  # only the last footer and the page markers went


def test_furniture_is_cut_only_at_the_end():
    body = "一、总体要求\n推动合作。资料来源:http://example.gov.cn/a.html\n二、重点任务\n" + "支持平台建设。" * 400
    assert clean_text(body).endswith("支持平台建设。")  # text after a source line is text
    footer = body + "\n资料来源:http://example.gov.cn/b.html\n客服邮箱\n回到顶部"
    assert clean_text(footer) == clean_text(body)  # the trailing footer goes


def test_the_real_plan_page_is_not_reported(tmp_path):
    assert load_paths([PLAN_FILE]).losses == ()


def test_heavy_cleaning_is_reported_per_file_and_the_rest_still_indexed(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # One long line with page markers looks like a scraped page's full text, so the cleaner keeps only it:
    # here the other lines are real text, and losing them must be said.
    page = "一、总体要求—1—推动东西部科技合作。" + "支持宁夏共建研发平台。" * 100 + "—2—结束。"
    lines = "\n".join(f"第{i}条 其他正文内容保持不变，共有若干字。" for i in range(10))
    (corpus / "mixed.txt").write_text(lines + "\n" + page + "\n" + lines, encoding="utf-8")
    (corpus / "clean.txt").write_text("关于盐湖产业的通知\n一、总体要求\n提升盐湖资源开发利用水平。", encoding="utf-8")
    code = main(["--index-dir", str(tmp_path / "index"), "--embedding-backend", "fake", "ingest", str(corpus)])
    out, err = capsys.readouterr()
    assert code == 0 and "索引已更新：2 份文档" in out
    warnings = [line for line in err.splitlines() if line.startswith("警告：")]
    assert len(warnings) == 1 and "mixed.txt" in warnings[0] and "清理后只保留了" in warnings[0]


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "没有文字"),
    ("spaces.txt", b" \n\t\n", "没有文字"),
    ("binary.txt", b"\x00\x01\x02\xff" * 100, "无法识别文字编码"),
    ("fake.pdf", b"%PDF-1.4\nnot a pdf", "PDF 无法解析"),
    ("fake.docx", b"PK\x03\x04 not a zip", "Word 文件无法解析"),
    ("only-markers.txt", "—1—\n—2—\n".encode(), "清理后没有正文"),
    ("table.xlsx", b"whatever", "不支持的文件类型"),
])
def test_an_unreadable_file_is_named_and_skipped(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text("一、总体要求\n推进合作。", encoding="utf-8")
    paths = [tmp_path] if not name.endswith(".xlsx") else [tmp_path, tmp_path / name]
    report = load_paths(paths)
    assert [d.source_path.rsplit("/", 1)[-1] for d in report.documents] == ["good.txt"]
    assert len(report.skipped) == 1 and name in str(report.skipped[0]) and reason in str(report.skipped[0])


def test_an_unreadable_file_in_ingest_is_a_warning_not_a_traceback(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\nnot a pdf")
    (corpus / "good.txt").write_text("一、总体要求\n推进合作。", encoding="utf-8")
    code = main(["--index-dir", str(tmp_path / "index"), "--embedding-backend", "fake", "ingest", str(corpus)])
    out, err = capsys.readouterr()
    assert code == 0 and "broken.pdf" in err and "跳过" in err and "Traceback" not in err
