"""Test-wide guards: no network beyond loopback, no real user state, shared fixtures."""
from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

from qa.ingest.embed import register_embedder
from tests.fakes import FakeEmbedder

pytest_plugins = ["tests.fake_openai"]  # the `fake_llm` fixture: a scripted OpenAI-protocol server

# `embedding_backend = "fake"`: for tests that build indexes but are not about embedding quality.
register_embedder("fake", FakeEmbedder)

# Nothing here switches off telemetry through the environment: the code passes
# its own options (Chroma settings, gradio's analytics_enabled), and the socket
# guard below proves no test reaches the network.
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_MODEL"):
    os.environ.pop(_name, None)
for _name in [n for n in os.environ if n.startswith("QA_")]:
    os.environ.pop(_name)
# No user's ~/.config/qa/qa.toml is read and nothing is saved in their ~/.local/share/qa.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="qa-test-config-")
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="qa-test-data-")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
PLAN_FILE = CORPUS / "east-west-plan-2022.txt"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if not _is_loopback(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _socket_guard(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    yield


@pytest.fixture(autouse=True)
def _no_user_state(tmp_path, monkeypatch):
    """Every test runs in an empty folder: no developer's ./qa.toml, index or corpus is ever read."""
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(scope="session")
def plan_index_dir(tmp_path_factory, worker_id):
    """One index of the real plan with the real embedding model, built once per test run
    (shared by the xdist workers through a lock) and used read-only."""
    from qa import Assistant, Settings

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    index_dir = shared / "plan-index"
    with FileLock(str(shared / "plan-index.lock")):
        if not (index_dir / "CURRENT").exists():
            Assistant(Settings.load({"index_dir": index_dir, "corpus_dir": CORPUS}, env={})).ingest()
    return index_dir


@pytest.fixture(scope="session")
def plan_assistant(plan_index_dir):
    """An Assistant over the real plan, offline backend, shared by read-only tests."""
    from qa import Assistant, Settings

    return Assistant(Settings.load({"index_dir": plan_index_dir, "corpus_dir": CORPUS}, env={}), auto_build=False)
