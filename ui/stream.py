"""An answer as it is produced, for the shells that show it growing (the chat page, the SSE API)."""
from __future__ import annotations

import time
from typing import Any, Iterator

from qa import Answer, Assistant
from qa.streaming import Emitted, Failed, Finished, TimedOut, in_worker

STREAM_TIMEOUT_S = 600  # a worker that says nothing for this long is given up on


def stream_answer(assistant: Assistant, question: str, **ask_kwargs: Any) -> Iterator[str | Answer]:
    """Run `assistant.ask` in a worker thread; yield the text so far after each piece, then the Answer.

    Exceptions from `ask` are re-raised here, in the caller's thread. Leaving the
    loop early tells the worker to stop.
    """
    text = ""
    work = lambda emit, cancel: assistant.ask(question, on_token=emit, **ask_kwargs)  # noqa: E731
    for event in in_worker(work, deadline=time.monotonic() + STREAM_TIMEOUT_S, name="qa-ask"):
        if isinstance(event, Emitted):
            text += event.value
            yield text
        elif isinstance(event, Finished):
            yield event.result
        elif isinstance(event, Failed):
            raise event.error
        elif isinstance(event, TimedOut):
            raise TimeoutError(f"no answer within {STREAM_TIMEOUT_S} s")
