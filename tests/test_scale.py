"""Scale: builds larger than one Chroma write, bounded dense queries, ingest progress."""
import chromadb
import pytest

from qa import Assistant, Settings
from qa.ingest import store as store_module

_DIGITS = "零一二三四五六七八九"


def _cn(n: int) -> str:
    """1-99 in Chinese numerals, as article headings write them."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _DIGITS[tens]) + "十" if tens else "") + (_DIGITS[ones] if ones else "")


def _law_files(folder, files: int, articles: int = 99):
    folder.mkdir()
    for f in range(files):
        body = "\n".join(f"第{_cn(a)}条 第{f}号办法规定事项{f * 100 + a}。" for a in range(1, articles + 1))
        (folder / f"law{f:03d}.txt").write_text(f"测试办法第{f}号\n{body}", encoding="utf-8")


def test_ingest_above_chromas_max_batch_size_writes_every_clause(tmp_path):
    # 57 × 99 = 5,643 clauses: more than chromadb's 5,461 per add.
    _law_files(tmp_path / "corpus", 57)
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": tmp_path / "corpus",
                              "embedding_backend": "fake"})
    report = Assistant(settings).ingest()
    assert report.status == "built" and report.clauses == 57 * 99 > 5461
    build = settings.index_dir / "builds" / report.build
    collection = store_module.chroma_client(settings, build).get_collection(f"qa-{report.build}")
    assert collection.count() == report.clauses
    fresh = Assistant(settings, auto_build=False)
    keys = {c.key for c in fresh.clauses}
    stored = set(collection.get(include=[])["ids"])
    assert stored == keys and len(keys) == report.clauses
    hits = fresh.search("第56号办法规定事项5650")
    assert hits and hits[0].clause.doc_id == "law056" and hits[0].clause.clause_label == "第五十条"


def test_writes_are_split_at_the_clients_batch_size(tmp_path, monkeypatch):
    sizes = []
    from llama_index.vector_stores.chroma import ChromaVectorStore

    original = ChromaVectorStore.add

    def recording(self, nodes, **kwargs):
        sizes.append(len(nodes))
        return original(self, nodes, **kwargs)

    monkeypatch.setattr(ChromaVectorStore, "add", recording)
    monkeypatch.setattr(store_module, "write_batch_size", lambda client: 40)
    _law_files(tmp_path / "corpus", 1)
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": tmp_path / "corpus",
                              "embedding_backend": "fake"})
    report = Assistant(settings).ingest()
    assert sizes == [40, 40, 19] and report.clauses == 99


def test_client_batch_size_falls_back_to_a_safe_constant():
    class Old:
        def get_max_batch_size(self):
            raise RuntimeError("no such endpoint")

    assert store_module.write_batch_size(Old()) == store_module.FALLBACK_BATCH_SIZE <= 5461
    assert store_module.write_batch_size(chromadb.EphemeralClient()) >= 1000


def test_dense_side_asks_the_store_for_a_bounded_number_of_clauses(tmp_path, monkeypatch):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from qa.query import retrieve

    _law_files(tmp_path / "corpus", 3)
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": tmp_path / "corpus",
                              "embedding_backend": "fake"})
    assistant = Assistant(settings)
    assistant.ingest()
    asked = []
    original = ChromaVectorStore.query

    def recording(self, query, **kwargs):
        asked.append(query.similarity_top_k)
        return original(self, query, **kwargs)

    monkeypatch.setattr(ChromaVectorStore, "query", recording)
    questions = ["第1号办法规定事项150", "第2号办法规定事项277", "第0号办法规定事项42"]
    bounded = [[(h.clause.key, round(h.score, 6)) for h in assistant.search(q, top_k=5)][:1] for q in questions]
    assert asked == [200] * 3 and len(assistant.clauses) == 297
    assert assistant.search("第2号办法规定事项277", top_k=5, doc_id="law001")[0].clause.doc_id == "law001"
    assert asked[-1] == 99  # a document filter: that document's clauses, no more
    monkeypatch.setattr(retrieve, "DENSE_K_MIN", 10_000)  # every clause, as before
    full = [[(h.clause.key, round(h.score, 6)) for h in assistant.search(q, top_k=5)][:1] for q in questions]
    assert asked[-1] == 297
    assert [b[0][0] for b in bounded] == [f[0][0] for f in full]


def test_dense_k_is_bounded_and_never_more_than_the_candidates():
    from qa.query.retrieve import dense_k

    assert dense_k(5, 26) == 26  # the plan: every clause, so scores are exactly the full ones
    assert dense_k(5, 64_000) == 200 and dense_k(30, 64_000) == 300 and dense_k(5, 0) == 1


def test_embedding_reports_count_rate_and_eta(tmp_path, monkeypatch):
    from qa.ingest import index as index_module

    monkeypatch.setattr(index_module, "EMBED_BATCH", 40)
    monkeypatch.setattr(index_module, "PROGRESS_EVERY", 0.0)
    _law_files(tmp_path / "corpus", 1)
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": tmp_path / "corpus",
                              "embedding_backend": "fake"})
    messages = []
    Assistant(settings, progress=messages.append).ingest()
    lines = [m for m in messages if m.startswith("向量 ")]
    assert [line.split()[1] for line in lines] == ["40/99", "80/99", "99/99"]  # pytest's stderr is no terminal
    assert all("条/秒" in line for line in lines)
    assert "预计还需" in lines[0] and "用时" in lines[-1]


def test_progress_line_wording():
    from qa.ingest.index import progress_line

    assert progress_line(1200, 23724, 52.0) == "向量 1,200/23,724 条 · 23.1 条/秒 · 预计还需 16分16秒"
    assert progress_line(10, 100_000, 1.0) == "向量 10/100,000 条 · 10.0 条/秒 · 预计还需 2小时46分"
