"""Loading and cleaning, on the real scraped plan page and on small files of each type."""
from pathlib import Path

import docx
import pytest

from qa.errors import EmptyCorpus
from qa.ingest.load import clean_text, decode_bytes, load_file, load_paths, repair_kangxi
from tests.conftest import PLAN_FILE

NINE = ("科学技术部", "教育部", "工业和信息化部", "自然资源部", "生态环境部",
        "国务院国有资产监督管理委员会", "中国科学院", "中国工程院", "中国科学技术协会")


@pytest.fixture(scope="module")
def plan_docs():
    return load_file(PLAN_FILE)


def test_plan_page_becomes_notice_and_plan_with_metadata(plan_docs):
    notice, plan = plan_docs
    assert notice.kind == "notice" and plan.kind == "plan"
    assert notice.title == "科技部等九部门关于印发《“十四五”东西部科技合作实施方案》的通知"
    assert plan.title == "“十四五”东西部科技合作实施方案"
    for doc in plan_docs:
        assert doc.doc_number == "国科发区〔2022〕25号"
        assert doc.date == "2022-03-03"
        assert doc.issuing_bodies == NINE
        assert doc.source_url == ("http://www.most.gov.cn/xxgk/xinxifenlei/fdzdgknr/fgzc/gfxwj/"
                                  "gfxwj2022/202203/t20220304_179644.html")
    assert notice.text.endswith("（此件主动公开）")


def test_cleaning_drops_scrape_furniture(plan_docs):
    raw = PLAN_FILE.read_text(encoding="utf-8")
    assert "VIP" in raw and "—3—" in raw and "微信客服" in raw  # the page really has them
    text = "\n".join(d.text for d in plan_docs)
    for furniture in ("VIP", "—3—", "—1—", "微信客服", "QQ客服", "碎片内容", "资料来源", "付费下载", "西技合"):
        assert furniture not in text
    assert all("\n" not in d.text for d in plan_docs)  # the garbled preview lines are gone


def test_cleaning_keeps_the_full_text(plan_docs):
    raw = PLAN_FILE.read_text(encoding="utf-8")
    body = max(raw.split("\n"), key=len)
    body = body.split("资料来源")[0]
    for marker in ("—1—", "—2—", "—3—", "—4—", "—5—", "—6—", "—7—", "—8—", "—9—"):
        body = body.replace(marker, "")
    text = "".join(d.text for d in plan_docs)
    # Same characters once punctuation widths are set aside: nothing of the body was lost.
    squash = lambda s: "".join(ch for ch in s if ch.isalnum())  # noqa: E731
    assert squash(text) == squash(body)
    assert "建设青藏高原综合科学研究中心" in text  # a page marker sat inside this phrase


def test_half_width_punctuation_becomes_full_width(plan_docs):
    plan = plan_docs[1]
    assert "各省（自治区、直辖市）科技管理部门" in plan.text
    assert "高质量发展，" in plan.text and "," not in plan.text


def test_gbk_file_is_detected(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("关于支持科技合作的通知\n一、总体要求\n加强合作。".encode("gbk"))
    (doc,) = load_file(path)
    assert "一、总体要求" in doc.text and doc.title == "关于支持科技合作的通知"


def test_undecodable_bytes_are_reported_not_guessed(tmp_path):
    with pytest.raises(Exception) as error:
        decode_bytes(b"\x81\x00\xff\xfe\x00\x81" * 3 + b"\x00", tmp_path / "x.txt")
    assert "x.txt" in str(error.value) and "编码" in str(error.value)


def test_kangxi_radicals_are_repaired_and_punctuation_kept():
    assert repair_kangxi("⼯业和信息化部（⽂件），") == "工业和信息化部（文件），"


def test_html_loader_drops_scripts(tmp_path):
    path = tmp_path / "n.html"
    path.write_text("<html><head><script>var a='脚本';</script></head><body><p>一、总体要求</p>"
                    "<p>加强东西部合作。</p><nav>网站导航</nav></body></html>", encoding="utf-8")
    (doc,) = load_file(path)
    assert "加强东西部合作。" in doc.text and "脚本" not in doc.text and "网站导航" not in doc.text


def test_docx_loader_reads_paragraphs_and_tables(tmp_path):
    path = tmp_path / "n.docx"
    document = docx.Document()
    document.add_paragraph("一、总体要求")
    document.add_paragraph("推动区域协同创新。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "牵头单位"
    table.rows[0].cells[1].text = "科技部"
    document.save(path)
    (doc,) = load_file(path)
    assert "推动区域协同创新。" in doc.text and "牵头单位" in doc.text and "科技部" in doc.text


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a real text layer (Helvetica, ASCII), offsets computed."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_unreadable_pdf_is_named_and_skipped_while_good_files_load(tmp_path):
    (tmp_path / "good.pdf").write_bytes(_minimal_pdf("Policy notice text"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (tmp_path / "good.txt").write_text("一、总体要求\n推进合作。", encoding="utf-8")
    report = load_paths([tmp_path])
    assert sorted(Path(d.source_path).name for d in report.documents) == ["good.pdf", "good.txt"]
    assert "Policy notice text" in next(d.text for d in report.documents if d.source_path.endswith(".pdf"))
    assert [Path(p.path).name for p in report.skipped] == ["broken.pdf"]
    assert "broken.pdf" in str(report.skipped[0]) and "跳过" in str(report.skipped[0])


def test_empty_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyCorpus) as error:
        load_paths([tmp_path])
    assert str(tmp_path) in str(error.value)


def test_page_markers_inside_a_line_are_removed():
    assert clean_text("综合科学—4—研究中心") == "综合科学研究中心"
