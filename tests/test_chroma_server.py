"""Server mode: the same code against a real `chroma run` on 127.0.0.1."""
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from qa import Assistant, Settings

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    log = open(tmp_path / "chroma.log", "w")
    process = subprocess.Popen([chroma, "run", "--host", "127.0.0.1", "--port", str(port),
                                "--path", str(tmp_path / "server-data")], stdout=log, stderr=subprocess.STDOUT,
                               env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("chroma run did not start: " + (tmp_path / "chroma.log").read_text())
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
    assert client.get_collection(f"qa-{report.build}").count() == 26
    assert not (tmp_path / "index" / "builds" / report.build / "chroma").exists()

    answer = Assistant(settings, auto_build=False).ask("如何打造世界级盐湖产业基地？")
    assert answer.citations[0].clause_label == "二（三）2"
    # Same ranking as the embedded store over the same corpus.
    embedded = Assistant(Settings.load({"index_dir": plan_index_dir}), auto_build=False)
    question = "青海的锂钾资源怎么开发利用？"
    server_hits = Assistant(settings, auto_build=False).search(question)
    assert [h.clause.clause_label for h in server_hits] == [h.clause.clause_label for h in embedded.search(question)]


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = Settings.load({"index_dir": tmp_path / "index", "chroma_url": f"http://127.0.0.1:{_free_port()}"})
    from qa.errors import QAError

    with pytest.raises(QAError) as error:
        Assistant(settings).ingest()
    assert "Chroma" in str(error.value)
    assert not (tmp_path / "index" / "CURRENT").exists()
