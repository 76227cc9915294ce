"""Sentences of clause text, shared by every stage that quotes or checks them."""
from __future__ import annotations

import re

# A sentence of clause text: up to and including its end mark.
SENTENCE = re.compile(r"[^。；！？!?\n]+[。；！？!?]?")
# A heading number at the start of a sentence (2. / （一） / 三、): not part of what is quoted.
HEADING_NUMBER = re.compile(r"^(\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、)")


def sentences(text: str) -> list[str]:
    """The non-blank sentences of `text`, in order, as written."""
    return [s for s in SENTENCE.findall(text) if s.strip()]


def without_heading_number(sentence: str) -> str:
    """The sentence as quoted: leading heading number dropped, whitespace trimmed."""
    return HEADING_NUMBER.sub("", sentence.strip())
