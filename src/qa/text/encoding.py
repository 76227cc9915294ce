"""Text that arrived as bytes: parts that were not valid UTF-8 are found, never passed on.

Python keeps the undecodable bytes of argv (and of stdin in a C locale) as lone
surrogates (U+DC80–U+DCFF), and a browser's JSON can carry lone surrogates too.
No stage can use them: embedding, printing and JSON output would all fail on them.
"""
from __future__ import annotations


def has_undecodable(text: str) -> bool:
    """True when `text` holds a lone surrogate, i.e. bytes that were not valid UTF-8."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def printable(text: str) -> str:
    """`text` with each lone surrogate shown as U+FFFD, so it can be echoed back safely."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
