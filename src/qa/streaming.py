"""Run a producer on a worker thread; consume what it emits on the caller's thread.

Used wherever text arrives over time while the caller must stay in control of
the clock: the LLM client (a server may stall mid-stream) and the web UI (it
re-renders the chat as an answer grows). The caller iterates events and may
stop at any time; leaving the loop sets the worker's cancel event.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class Emitted:
    value: Any


@dataclass(frozen=True)
class Finished:
    result: Any


@dataclass(frozen=True)
class Failed:
    error: BaseException


@dataclass(frozen=True)
class TimedOut:
    pass


Event = Emitted | Finished | Failed | TimedOut
Work = Callable[[Callable[[Any], None], threading.Event], Any]


def in_worker(work: Work, *, deadline: float | None = None, name: str = "qa-worker") -> Iterator[Event]:
    """Run `work(emit, cancel)` on a daemon thread and yield what it emits, then one
    final event: `Finished(result)`, `Failed(error)` or — when `deadline`
    (time.monotonic()) passes first — `TimedOut()`.

    A worker that is abandoned (timed out, or the loop left early) sees `cancel`
    set and should stop; it is a daemon, so it never holds the process open.
    """
    events: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def run() -> None:
        try:
            events.put(Finished(work(lambda value: events.put(Emitted(value)), cancel)))
        except BaseException as error:  # handed to the caller, who decides what it means
            events.put(Failed(error))

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                yield TimedOut()
                return
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                continue
            yield event
            if not isinstance(event, Emitted):
                return
    finally:
        cancel.set()
