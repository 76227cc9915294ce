"""Structured output: a JSON schema with one object per cited sentence, read as it streams.

OpenAI, vLLM, llama.cpp and Ollama accept `response_format` with a JSON schema;
constrained decoding then makes even a small model emit a label for every
sentence, drawn from the labels given. The reader turns the streamed JSON back
into plain sentences with ［label］ marks, so the verification that follows is
the same as for a plain-text answer.
"""
from __future__ import annotations

import json
import re
from typing import Sequence

NO_LABEL = "无"  # what the schema lets a refusal cite
_STOPS = "。！？!?；;"
_SENTENCES_KEY = re.compile(r'"sentences"\s*:\s*\[')


def response_format(labels: Sequence[str]) -> dict:
    """The `response_format` request parameter for an answer citing only `labels`."""
    sentence = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "label": {"type": "string", "enum": [*labels, NO_LABEL]}},
        "required": ["text", "label"],
        "additionalProperties": False,
    }
    schema = {"type": "object", "properties": {"sentences": {"type": "array", "items": sentence}},
              "required": ["sentences"], "additionalProperties": False}
    return {"type": "json_schema", "json_schema": {"name": "cited_answer", "strict": True, "schema": schema}}


class StructuredReader:
    """Streamed JSON → plain sentences, each as soon as its object is complete.

    A server that ignores `response_format` sends plain text: that is passed
    through unchanged. JSON that breaks off yields the sentences before the break."""

    def __init__(self):
        self._buffer = ""
        self._plain: bool | None = None  # decided by the first non-blank character
        self._passed = 0  # plain text already passed on
        self._pos: int | None = None  # where the next sentence object may start
        self._decoder = json.JSONDecoder()

    def feed(self, piece: str) -> str:
        self._buffer += piece
        if self._plain is None and self._buffer.strip():
            self._plain = not self._buffer.lstrip().startswith(("{", "```"))
        if self._plain:
            out, self._passed = self._buffer[self._passed:], len(self._buffer)
            return out
        return self._sentences()

    def close(self) -> str:
        return self.feed("")

    def _sentences(self) -> str:
        if self._pos is None:
            key = _SENTENCES_KEY.search(self._buffer)
            if key is None:
                return ""
            self._pos = key.end()
        out = []
        while True:
            rest = self._buffer[self._pos:]
            skipped = len(rest) - len(rest.lstrip(" \t\r\n,"))
            start = self._pos + skipped
            if start >= len(self._buffer) or self._buffer[start] != "{":
                break
            try:
                item, end = self._decoder.raw_decode(self._buffer, start)
            except json.JSONDecodeError:
                break  # the object is still arriving
            self._pos = end
            out.append(_as_sentence(item))
        return "".join(out)


def _as_sentence(item: object) -> str:
    """{"text": "…水平。", "label": "二（三）2"} → 「…水平［二（三）2］。」"""
    if not isinstance(item, dict):
        return ""
    text, label = str(item.get("text") or "").strip(), str(item.get("label") or "").strip()
    if not text:
        return ""
    core = text.rstrip(_STOPS)
    mark = f"［{label}］" if label and label != NO_LABEL else ""
    return core + mark + (text[len(core):] or "。")
