"""Server mode: the same code against a real `chroma run` on 127.0.0.1."""
import shutil
import subprocess
import sys
from pathlib import Path

import chromadb
import pytest

from qa import Assistant, Settings
from tests.conftest import CORPUS
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.server


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    log = open(tmp_path / "chroma.log", "w")
    process = subprocess.Popen([chroma, "run", "--host", "127.0.0.1", "--port", str(port),
                                "--path", str(tmp_path / "server-data")], stdout=log, stderr=subprocess.STDOUT,
                               env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    wait_for_port(port, process)
    yield f"http://127.0.0.1:{port}", port
    process.terminate()
    process.wait(timeout=10)


def test_ingest_and_answer_through_a_chroma_server(chroma_server, plan_index_dir, tmp_path):
    url, port = chroma_server
    settings = Settings.load({"index_dir": tmp_path / "index", "chroma_url": url,
                              "corpus_dir": Path(__file__).resolve().parent.parent / "corpus"})
    report = Assistant(settings).ingest()
    # The vectors live on the server, not in the local build folder.
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    assert [c.name for c in client.list_collections()] == [f"qa-{report.build}"]
    assert client.get_collection(f"qa-{report.build}").count() == report.clauses
    assert not (tmp_path / "index" / "builds" / report.build / "chroma").exists()

    answer = Assistant(settings, auto_build=False).ask("如何打造世界级盐湖产业基地？")
    assert answer.citations[0].clause_label == "二（三）2"
    # Same ranking as the embedded store over the same corpus.
    embedded = Assistant(Settings.load({"index_dir": plan_index_dir}), auto_build=False)
    question = "青海的锂钾资源怎么开发利用？"
    server_hits = Assistant(settings, auto_build=False).search(question)
    assert [h.clause.clause_label for h in server_hits] == [h.clause.clause_label for h in embedded.search(question)]


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = Settings.load({"index_dir": tmp_path / "index", "chroma_url": f"http://127.0.0.1:{free_port()}",
                              "corpus_dir": CORPUS, "embedding_backend": "fake"})
    from qa.errors import QAError

    with pytest.raises(QAError) as error:
        Assistant(settings).ingest()
    assert "Chroma" in str(error.value)
    assert not (tmp_path / "index" / "CURRENT").exists()
