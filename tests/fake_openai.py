"""A scripted OpenAI-protocol server on 127.0.0.1 for tests.

It serves POST /v1/chat/completions, streamed (SSE over chunked HTTP/1.1,
ending in ``data: [DONE]``) or not, following a script: a queue of behaviours,
one per request, the last repeating (so ``script(status(500))`` is "500
forever"). It records every request so tests can inspect the prompt.

    def test_x(fake_llm):
        fake_llm.script(status(429), answer("……［二（三）2］。"))
        settings = Settings(llm_base_url=fake_llm.base_url, ...)
"""
from __future__ import annotations

import json
import select
import socket
import threading
import sys
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    kind: str  # answer | status | echo | hang | cut | stall | no_finish | stream_error
    text: str = ""
    status: int = 200
    message: str = ""
    seconds: float = 0.0
    chunks: int = 0  # chunks sent before the failure (cut, stall, stream_error)
    finish_reason: str = "stop"
    headers: tuple[tuple[str, str], ...] = ()
    chunk_chars: int = 4
    pause: float = 0.0  # seconds between streamed chunks, like a model generating


def answer(text: str, finish_reason: str = "stop", chunk_chars: int = 4, pause: float = 0.0) -> Behaviour:
    """A normal completion of `text` (streamed in pieces of `chunk_chars`, `pause` seconds apart)."""
    return Behaviour("answer", text=text, finish_reason=finish_reason, chunk_chars=chunk_chars, pause=pause)


def status(code: int, message: str = "", headers: dict[str, str] | None = None) -> Behaviour:
    """An error status with an OpenAI-style JSON error body.

    For 401 the body echoes the bearer token, like real providers partly do,
    so tests can check that the client scrubs it.
    """
    return Behaviour("status", status=code, message=message, headers=tuple((headers or {}).items()))


def echo_headers(code: int = 400) -> Behaviour:
    """An error status whose message echoes every request header (`Authorization=Basic …` included),
    as some proxies do: what the client shows of it must not carry a credential."""
    return Behaviour("echo", status=code)


def hang(seconds: float) -> Behaviour:
    """Accept the request and say nothing for `seconds`."""
    return Behaviour("hang", seconds=seconds)


def cut_after(text: str, chunks: int) -> Behaviour:
    """Stream `chunks` pieces of `text`, then drop the connection mid-body."""
    return Behaviour("cut", text=text, chunks=chunks)


def stall_after(text: str, chunks: int, seconds: float) -> Behaviour:
    """Stream `chunks` pieces of `text`, then go silent for `seconds`."""
    return Behaviour("stall", text=text, chunks=chunks, seconds=seconds)


def no_finish(text: str) -> Behaviour:
    """Stream all of `text` and end the body cleanly, but with no finish_reason or [DONE]."""
    return Behaviour("no_finish", text=text)


def stream_error(text: str, chunks: int, message: str = "model crashed") -> Behaviour:
    """Stream `chunks` pieces, then an SSE event carrying an error object."""
    return Behaviour("stream_error", text=text, chunks=chunks, message=message)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict

    @property
    def system(self) -> str:
        return next(m["content"] for m in self.body["messages"] if m["role"] == "system")

    @property
    def user(self) -> str:
        """The last user message: the one with the clauses and the question (earlier ones are examples)."""
        return [m["content"] for m in self.body["messages"] if m["role"] == "user"][-1]


class _QuietServer(ThreadingHTTPServer):
    """Clients that give up (the timeout tests) close the socket mid-reply; that is expected."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


@dataclass
class FakeOpenAI:
    """The server, its script and what it received."""

    requests: list[Recorded] = field(default_factory=list)
    # Set when a client closed its connection while the server was still hanging or stalling on
    # purpose: a real server would stop generating there.
    disconnected: threading.Event = field(default_factory=threading.Event)
    most_at_once: int = 0  # the most chat requests that were being served at the same time
    _in_flight: int = 0
    _script: list[Behaviour] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: "_QuietServer | None" = None

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script = list(behaviours)

    def _next(self) -> Behaviour:
        with self._lock:
            if not self._script:
                return status(500, "no behaviour scripted")
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeOpenAI":
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name="fake-openai").start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers that are hanging on purpose
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FakeOpenAI

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        body = json.loads(raw or b"{}")
        self.owner.requests.append(Recorded(self.path, dict(self.headers), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
        behaviour = self.owner._next()
        with self.owner._lock:
            self.owner._in_flight += 1
            self.owner.most_at_once = max(self.owner.most_at_once, self.owner._in_flight)
        try:
            self._reply(behaviour, body)
        finally:
            with self.owner._lock:
                self.owner._in_flight -= 1

    def _reply(self, behaviour: Behaviour, body: dict) -> None:
        model = body.get("model", "fake")
        if behaviour.kind in ("status", "echo"):
            return self._status(behaviour)
        if behaviour.kind == "hang":
            self._wait(behaviour.seconds)
            self.close_connection = True
            return
        if not body.get("stream"):
            return self._json(200, _completion(model, behaviour.text, behaviour.finish_reason))
        self._stream(behaviour, model)

    def _wait(self, seconds: float) -> None:
        """Say nothing for `seconds`, watching for the client to close the connection."""
        deadline = threading.Event()
        timer = threading.Timer(seconds, deadline.set)
        timer.start()
        try:
            while not deadline.is_set() and not self.owner._stop.is_set():
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    self.owner.disconnected.set()
                    return
        except OSError:
            self.owner.disconnected.set()
        finally:
            timer.cancel()

    # ---------------------------------------------------------------- replies

    def _json(self, code: int, payload: dict, headers: tuple = ()) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _status(self, b: Behaviour) -> None:
        message = b.message or f"fake error {b.status}"
        if b.status == 401:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            message = f"Incorrect API key provided: {token}"
        if b.kind == "echo":
            message = "bad request; headers: " + "; ".join(f"{k}={v}" for k, v in self.headers.items())
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(b.status, "server_error")
        self._json(b.status, {"error": {"message": message, "type": kind, "code": b.status}}, b.headers)

    def _stream(self, b: Behaviour, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = [b.text[i:i + b.chunk_chars] for i in range(0, len(b.text), b.chunk_chars)]
        self._event(_chunk(model, {"role": "assistant", "content": ""}))
        limit = b.chunks if b.kind in ("cut", "stall", "stream_error") else len(pieces)
        for piece in pieces[:limit]:
            if b.pause and self.owner._stop.wait(b.pause):
                return
            self._event(_chunk(model, {"content": piece}))
        if b.kind == "cut":
            # Drop the TCP connection in the middle of the chunked body.
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if b.kind == "stall":
            self._wait(b.seconds)
            self.close_connection = True
            return
        if b.kind == "stream_error":
            self._event({"error": {"message": b.message, "type": "server_error"}})
            self._end()
            return
        if b.kind == "no_finish":
            self._end()
            return
        self._event(_chunk(model, {}, finish_reason=b.finish_reason))
        self._write_chunk(b"data: [DONE]\n\n")
        self._end()

    def _event(self, payload: dict) -> None:
        self._write_chunk(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _chunk(model: str, delta: dict, finish_reason: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _completion(model: str, text: str, finish_reason: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def fake_llm():
    """A running FakeOpenAI; import this fixture into a test module to use it."""
    server = FakeOpenAI().start()
    yield server
    server.stop()
