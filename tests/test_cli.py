"""The `qa` command: machine output contract, readable output, and bad input."""
import io
import json

import pytest

from qa.cli.main import main


@pytest.fixture
def qa(plan_index_dir, capsys, monkeypatch):
    """Run `qa ARGS…` in-process against the shared plan index; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("QA_INDEX_DIR", str(plan_index_dir))

    def run(*args, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_ask_json_contract(qa):
    code, out, _ = qa("ask", "--json", "如何打造世界级盐湖产业基地？")
    assert code == 0
    data = json.loads(out)
    assert {"question", "answer", "refused", "backend", "citations", "timings_ms"} <= set(data)
    assert data["question"] == "如何打造世界级盐湖产业基地？" and data["refused"] is False
    assert data["backend"] == "extractive"
    citation = data["citations"][0]
    assert set(citation) == {"doc", "doc_title", "label", "cite", "path", "text", "quote", "score", "support"}
    assert citation["support"] == []  # quoted verbatim: only generated sentences are checked
    assert citation["label"] == citation["cite"] == "二（三）2" and citation["doc"] == "east-west-plan-2022-plan"
    assert citation["doc_title"] == "“十四五”东西部科技合作实施方案"
    assert citation["path"].endswith("2.打造世界级盐湖产业基地")
    assert citation["quote"] in citation["text"] and citation["text"].startswith("2.打造世界级盐湖产业基地。")
    assert data["timings_ms"]["total_ms"] > 0


def test_ask_json_reads_one_question_per_line(qa):
    code, out, _ = qa("ask", "--json", "-", stdin="如何打造世界级盐湖产业基地？\n\n方案对广西有什么支持？\n   \n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 2
    assert lines[0]["citations"][0]["label"] == "二（三）2"
    assert lines[1]["refused"] is True and lines[1]["citations"] == []


def test_ask_readable_output_lists_sources(qa):
    code, out, _ = qa("ask", "绩效评估委托给哪个单位？")
    assert code == 0 and "中国农村技术开发中心" in out and "出处：" in out and "［三（三）］" in out


def test_show_prints_the_salt_lake_clause(qa):
    code, out, _ = qa("show", "二（三）2")
    assert code == 0 and "盐湖" in out and "二、重点任务 › （三）" in out
    code_half, out_half, _ = qa("show", "二(三)2")
    assert code_half == 0 and out_half == out


def test_show_json_offsets(qa):
    _, out, _ = qa("show", "--json", "三（三）")
    data = json.loads(out)
    assert data["label"] == "三（三）" and "委托中国农村技术开发中心" in data["text"]
    assert data["end"] - data["start"] == len(data["text"])


def test_docs_lists_works_and_versions(qa):
    code, out, _ = qa("docs", "--json")
    works = json.loads(out)
    docs = [v for w in works for v in w["versions"]]
    assert code == 0 and [d["doc"] for d in docs[:2]] == ["east-west-plan-2022-notice", "east-west-plan-2022-plan"]
    assert docs[1]["clauses"][:3] == ["前言", "一", "二（一）1"] and docs[0]["doc_number"] == "国科发区〔2022〕25号"
    assert docs[0]["cite_as"] == docs[1]["cite_as"] == ""  # the plan's clauses are cited by label alone
    popularisation = next(w for w in works if w["work"] == "科学技术普及法")
    assert [(v["date"], v["latest"], v["cite_as"]) for v in popularisation["versions"]] == [
        ("2002-06-29", False, "科学技术普及法（2002年版）"), ("2024-12-25", True, "科学技术普及法")]
    code, out, _ = qa("docs")
    assert "《科学技术普及法》（2 个版本，默认依据最新版本）" in out and "（旧版）" in out


@pytest.mark.parametrize("args, code, message", [
    (("ask", ""), 2, "不能为空"),
    (("ask", "   "), 2, "不能为空"),
    (("ask", "问" * 2001), 2, "过长"),
    (("show", "二（九）9"), 3, "没有编号为 二（九）9 的条款"),
    (("show", "二（三）2", "--doc", "no-such-doc"), 3, "没有这份文档"),
    (("orgs", "--org", "财政部"), 3, "文件中未提及该单位"),
])
def test_bad_input_gets_a_message_and_nonzero_exit(qa, args, code, message):
    exit_code, out, err = qa(*args)
    assert exit_code == code and message in err and "Traceback" not in err + out


def test_empty_corpus_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["--index-dir", str(tmp_path / "index"), "ingest", str(tmp_path / "empty")])
    err = capsys.readouterr().err
    assert code == 4 and "没有可读取的文档" in err and "Traceback" not in err


def test_corrupt_index_message(tmp_path, capsys):
    (tmp_path / "index" / "builds" / "x").mkdir(parents=True)
    (tmp_path / "index" / "CURRENT").write_text("x\n")
    code = main(["--index-dir", str(tmp_path / "index"), "ask", "盐湖"])
    err = capsys.readouterr().err
    assert code == 5 and "qa ingest" in err and "Traceback" not in err


def test_who_and_orgs_outputs(qa):
    code, out, _ = qa("who", "--json", "盐湖产业")
    data = json.loads(out)
    assert code == 0 and data["measures"][0]["label"] == "二（三）2"
    assert {i["label"] for i in data["inherited"]} == {"三（一）", "三（二）", "三（三）"}
    code, out, _ = qa("orgs", "--csv", "--org", "工信部")
    assert code == 0 and out.startswith("\ufeff") and "工业和信息化部" in out


def test_orgs_by_clause_label(qa):
    code, out, _ = qa("orgs", "--json", "--label", "三(一)")
    entries = json.loads(out)
    assert code == 0 and "科学技术部" in [e["name"] for e in entries]
    assert {m["label"] for e in entries for m in e["mentions"]} == {"三（一）"}
    code, out, _ = qa("orgs", "--json", "--org", "工信部", "--label", "三（一）")
    assert code == 0 and [(m["label"], m["role"]) for e in json.loads(out) for m in e["mentions"]] == [
        ("三（一）", "lead")]


def test_find_lists_clauses_with_every_keyword(qa):
    code, out, _ = qa("find", "--json", "中国农业科学院")
    labels = [row["label"] for row in json.loads(out)]
    assert code == 0 and sorted(labels) == ["二（一）2", "二（三）3", "二（二）2", "二（五）1"]
    code, out, _ = qa("find", "盐湖", "火星基地")
    assert code == 0 and "没有同时包含" in out


def test_orgs_with_an_unknown_label_names_the_nearest(qa):
    code, _, err = qa("orgs", "--label", "二（三）9")
    assert code == 3 and "没有编号为 二（三）9 的条款" in err and "二（三）" in err


def test_version_needs_no_index(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("qa 0.")


def test_qa_works_from_any_directory_once_ingested(tmp_path, monkeypatch, capsys):
    from tests.conftest import CORPUS

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("QA_EMBEDDING_BACKEND", "fake")
    (tmp_path / "somewhere").mkdir()
    monkeypatch.chdir(tmp_path / "somewhere")
    assert main(["ingest", str(CORPUS)]) == 0
    assert (tmp_path / "data" / "qa" / "index" / "CURRENT").is_file()  # the index lives in the data directory
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["show", "二（三）2"]) == 0 and "盐湖" in capsys.readouterr().out


def test_diff_of_two_versions(qa):
    code, out, _ = qa("diff", "科普法", "--json")
    data = json.loads(out)
    assert code == 0 and (data["old"], data["new"]) == ("科学技术普及法-2002-06-29", "科学技术普及法-2024-12-25")
    assert data["counts"]["added"] > 0 and data["counts"]["changed"] > 0
    code, out, _ = qa("diff", "科普法")
    assert code == 0 and out.startswith("《科学技术普及法》2002年版 → 《科学技术普及法》2024年修订版")
    code, _, err = qa("diff", "科技进步法")
    assert code != 0 and "《科学技术普及法》" in err
