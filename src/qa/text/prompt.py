"""Text going into an LLM prompt as data, and what comes back."""
from __future__ import annotations

import re

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)


def as_data(text: str) -> str:
    """Text placed inside the prompt's data tags: angle brackets become full-width,
    so a clause or a question cannot forge </条款> or </问题> and escape its block."""
    return text.replace("<", "＜").replace(">", "＞")


def strip_reasoning(text: str) -> str:
    """Drop a <think>…</think> block that reasoning models put before the answer."""
    return _THINK.sub("", text).strip()
