"""Test-wide guards: no network beyond loopback, no real user state."""
from __future__ import annotations

import ipaddress
import os
import socket

import pytest

pytest_plugins = ["tests.fake_openai"]  # the `fake_llm` fixture: a scripted OpenAI-protocol server

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_MODEL", "QA_CONFIG"):
    os.environ.pop(_name, None)
for _name in [n for n in os.environ if n.startswith("QA_")]:
    os.environ.pop(_name)

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


REPO = __import__("pathlib").Path(__file__).resolve().parent.parent
PLAN_FILE = REPO / "corpus" / "east-west-plan-2022.txt"


@pytest.fixture(scope="session")
def plan_index_dir(tmp_path_factory):
    """One index of the real plan, built once per test session (embedding takes seconds)."""
    from qa import Assistant, Settings

    index_dir = tmp_path_factory.mktemp("plan-index")
    Assistant(Settings.load({"index_dir": index_dir, "corpus_dir": REPO / "corpus"})).ingest()
    return index_dir


@pytest.fixture(scope="session")
def plan_assistant(plan_index_dir):
    """An Assistant over the real plan, offline backend, shared by read-only tests."""
    from qa import Assistant, Settings

    return Assistant(Settings.load({"index_dir": plan_index_dir, "corpus_dir": REPO / "corpus"}), auto_build=False)
