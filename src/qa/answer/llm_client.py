"""Talking to an OpenAI-compatible chat endpoint within one time budget.

`Settings.llm_timeout` is the budget for one call — every retry and the whole
stream — so a call returns within about llm_timeout even when the server
hangs. Network reads happen on a worker thread (`qa.streaming.in_worker`);
the caller only waits, so a server that stalls mid-stream cannot hold it past
the deadline. Failures come back as `LLMFailure` with a Chinese, key-free reason.

When the caller gives up — deadline, Ctrl-C, or its token sink raising — the
request's connection is shut down at once from the caller's thread, so a
server that stops generating for closed connections (llama.cpp, vLLM, Ollama)
is free for the next question instead of finishing an answer nobody reads.
At most `llm_max_concurrency` requests go to one endpoint at a time; the rest
wait for a free slot within their own budget.
"""
from __future__ import annotations

import logging
import random
import socket
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import httpcore
import httpx
import openai

from qa.errors import BackendUnavailable
from qa.secrets import basic_auth, scrub, without_user_info
from qa.settings import Settings
from qa.streaming import Emitted, Failed, Finished, in_worker
from qa.text.prompt import strip_reasoning

log = logging.getLogger(__name__)

_RETRY_AFTER_CAP = 5.0  # never wait longer than this on a server's Retry-After


class LLMFailure(Exception):
    """An endpoint failure with a Chinese, key-free reason."""

    def __init__(self, reason: str, *, format_rejected: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.format_rejected = format_rejected  # the server refused the requested response_format


@dataclass(frozen=True)
class Reply:
    """What one call produced: the text, why the model stopped, or how the call failed."""

    text: str = ""
    finish_reason: str | None = None
    failure: LLMFailure | None = None
    partial: bool = False  # tokens had already reached the caller when it failed


class LLMClient:
    """One configured endpoint: streamed and plain completions with bounded retries."""

    def __init__(self, settings: Settings, *, backoff: float = 0.5):
        self.settings = settings
        self.backoff = backoff  # first retry waits about this long, then doubles
        self._transport = _AbortableTransport()
        self._client = openai.OpenAI(
            # Local servers (vLLM, Ollama, llama.cpp) ignore the key, but the client insists on one.
            api_key=settings.llm_api_key or "no-key",
            base_url=without_user_info(settings.llm_base_url) or None,
            default_headers=_url_auth(settings),
            max_retries=0,  # retries are ours: bounded by the overall deadline
            timeout=_timeout(settings.llm_timeout),
            http_client=openai.DefaultHttpxClient(transport=self._transport),
        )
        self._slots = _slots_for(settings.llm_base_url, settings.llm_max_concurrency)
        self._secrets = settings.secrets()

    def stream(self, messages: list[dict], on_token: Callable[[str], None] | None = None, *,
               response_format: dict | None = None) -> Reply:
        """Stream one completion, passing each piece of text to `on_token` on the caller's thread.

        Never raises for endpoint failures: they are in `Reply.failure` (with
        `format_rejected` when the server refused `response_format`). An
        exception raised by `on_token` stops the stream and propagates."""
        return self._run(self._stream_work(messages, response_format), on_token)

    def complete(self, messages: list[dict]) -> str:
        """One non-streamed completion; `BackendUnavailable` (Chinese, key-free) when it fails."""
        reply = self._run(self._complete_work(messages), None)
        if reply.failure is not None:
            raise BackendUnavailable(f"大模型服务不可用：{reply.failure.reason}") from None
        return strip_reasoning(reply.text)

    # --- plumbing ---------------------------------------------------------------

    def _run(self, work, on_token) -> Reply:
        deadline = time.monotonic() + self.settings.llm_timeout
        parts: list[str] = []
        worker: list[int] = []  # the worker thread's id, once it runs

        def in_slot(emit, cancel):
            worker.append(threading.get_ident())
            try:
                with self._slot(deadline, cancel):
                    return work(deadline, emit, cancel)
            finally:
                self._transport.sockets.forget(threading.get_ident())

        with closing(in_worker(in_slot, deadline=deadline, name="qa-llm")) as events:
            try:
                for event in events:
                    if isinstance(event, Emitted):
                        parts.append(event.value)
                        if on_token is not None:
                            on_token(event.value)
                    elif isinstance(event, Finished):
                        finish, text = event.result
                        return Reply(text if text is not None else "".join(parts), finish)
                    elif isinstance(event, Failed):
                        error = event.error
                        failure = error if isinstance(error, LLMFailure) else LLMFailure(self._describe(error))
                        return Reply(failure=failure, partial=bool(parts))
                return Reply(failure=LLMFailure(f"超过 {self.settings.llm_timeout:g} 秒仍未完成"), partial=bool(parts))
            finally:
                if worker:  # whatever ended the call, its connection goes with it
                    self._transport.sockets.cut(worker[0])

    @contextmanager
    def _slot(self, deadline: float, cancel: threading.Event):
        """One of the endpoint's `llm_max_concurrency` slots, waited for within the budget."""
        if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise LLMFailure(f"大模型服务正忙（同时最多 {self.settings.llm_max_concurrency} 个请求），"
                             f"{self.settings.llm_timeout:g} 秒内没有轮到")
        try:
            if cancel.is_set():
                raise LLMFailure("已取消")
            yield
        finally:
            self._slots.release()

    def _stream_work(self, messages, response_format: dict | None):
        def work(deadline, emit, cancel):
            stream = self._with_retries(
                lambda timeout: self._client.chat.completions.create(
                    messages=messages, stream=True, timeout=timeout, **self._params(response_format)),
                deadline, cancel, format_requested=response_format is not None)
            finish = None
            with stream:
                for chunk in stream:
                    if cancel.is_set():
                        return None, None
                    for choice in chunk.choices[:1]:
                        delta = getattr(choice.delta, "content", None) if choice.delta else None
                        if delta:
                            emit(delta)
                        finish = choice.finish_reason or finish
            return finish, None
        return work

    def _complete_work(self, messages):
        def work(deadline, emit, cancel):
            response = self._with_retries(
                lambda timeout: self._client.chat.completions.create(
                    messages=messages, stream=False, timeout=timeout, **self._params()), deadline, cancel)
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice else ""
            return (choice.finish_reason if choice else None) or "stop", text
        return work

    def _params(self, response_format: dict | None = None) -> dict:
        s = self.settings
        params = {"model": s.llm_model, "temperature": s.llm_temperature, "max_tokens": s.llm_max_tokens}
        if response_format is not None:
            params["response_format"] = response_format
        return params

    def _with_retries(self, call, deadline: float, cancel: threading.Event, *, format_requested: bool = False):
        """`call(timeout)` with bounded retries on timeouts, 429 and 5xx.

        Each attempt gets what is left of the overall budget; a retry is made
        only when its backoff still fits. Auth errors, refused connections and
        other 4xx are final at once: retrying cannot fix them.
        """
        retries = max(0, self.settings.llm_max_retries)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or cancel.is_set():
                raise LLMFailure(f"超过 {self.settings.llm_timeout:g} 秒仍未完成")
            try:
                return call(_timeout(remaining))
            except openai.APITimeoutError:
                reason, wait = "请求超时", None
            except openai.RateLimitError as error:
                reason, wait = "请求过于频繁（HTTP 429）", _retry_after(error.response)
            except openai.InternalServerError as error:
                reason, wait = f"服务出错（HTTP {error.status_code}）", None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
                raise LLMFailure(f"API 密钥被拒绝（HTTP {error.status_code}）") from None
            except openai.APIStatusError as error:
                # A server without structured output answers 400 or 422 to response_format.
                rejected = format_requested and error.status_code in (400, 422)
                raise LLMFailure(f"服务返回 HTTP {error.status_code}：{self._detail(error)}",
                                 format_rejected=rejected) from None
            except openai.APIConnectionError:
                raise LLMFailure(f"无法连接到 {self._host()}") from None
            if attempt >= retries:
                suffix = f"，已重试 {retries} 次" if retries else ""
                raise LLMFailure(reason + suffix)
            wait = wait if wait is not None else self.backoff * (2 ** attempt) * (1 + 0.25 * random.random())
            if time.monotonic() + wait >= deadline:
                raise LLMFailure(f"{reason}，剩余时间不足以重试")
            log.info("LLM request failed (%s); retry %d/%d in %.2fs", reason, attempt + 1, retries, wait)
            if cancel.wait(wait):
                raise LLMFailure("已取消")
            attempt += 1

    def _host(self) -> str:
        # Host and port only: a base URL may carry user:password.
        parts = urlsplit(self.settings.llm_base_url)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "大模型服务"

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, httpx.TimeoutException):
            return "读取回答超时"
        if isinstance(error, (httpx.TransportError, openai.APIConnectionError)):
            return "连接被中断"
        if isinstance(error, openai.APIError):
            return f"服务报告错误：{self._detail(error)}"
        return f"意外错误：{type(error).__name__}"

    def _detail(self, error: openai.APIError) -> str:
        """A short, scrubbed detail from the server's error body, for 4xx messages."""
        body = error.body
        message = body.get("message") if isinstance(body, dict) else None
        return scrub(str(message or error.message or ""), self._secrets)[:120]


def _url_auth(settings: Settings) -> dict[str, str]:
    """A URL's user-info is sent as a Basic header, and only when no API key is set: httpx would send it in
    place of the bearer key, and keeping it out of the URL keeps it out of every log line that shows the URL."""
    return {} if settings.llm_api_key else basic_auth(settings.llm_base_url)


def _timeout(seconds: float) -> httpx.Timeout:
    # Connecting should be quick even to a slow model; reading gets the whole budget.
    seconds = max(seconds, 0.05)
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def _retry_after(response: httpx.Response | None) -> float | None:
    """The server's Retry-After in seconds (capped), or None when absent or a date."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return min(max(float(value), 0.0), _RETRY_AFTER_CAP) if value is not None else None
    except ValueError:
        return None


# --- slots and abortable connections ----------------------------------------------

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _slots_for(base_url: str, limit: int) -> threading.BoundedSemaphore:
    """One set of slots per endpoint, shared by every client of it in the process
    (the UI's sessions, the follow-up rewriter and the answerer)."""
    with _SLOTS_LOCK:
        return _SLOTS.setdefault((base_url, limit), threading.BoundedSemaphore(max(1, limit)))


class _OpenSockets:
    """The sockets each worker thread has open, so another thread can cut them off:
    `shutdown` wakes a read blocked in the worker, where `close` would not."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_thread: dict[int, list[socket.socket]] = {}

    def add(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._by_thread.setdefault(threading.get_ident(), []).append(sock)

    def cut(self, thread_id: int) -> None:
        with self._lock:
            sockets = self._by_thread.pop(thread_id, [])
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the request had ended

    def forget(self, thread_id: int) -> None:
        with self._lock:
            self._by_thread.pop(thread_id, None)


class _TrackingBackend(httpcore.SyncBackend):
    def __init__(self, sockets: _OpenSockets):
        super().__init__()
        self.sockets = sockets

    def connect_tcp(self, *args, **kwargs):
        stream = super().connect_tcp(*args, **kwargs)
        self.sockets.add(stream.get_extra_info("socket"))
        return stream


class _AbortableTransport(httpx.HTTPTransport):
    """httpx's transport with a fresh connection per request, each one's socket recorded
    under the thread that opened it. Requests last seconds: reusing connections saves nothing."""

    def __init__(self):
        super().__init__()
        self.sockets = _OpenSockets()
        # httpx has no option for the network backend: its pool is rebuilt with ours.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_keepalive_connections=0,
                                             network_backend=_TrackingBackend(self.sockets))
