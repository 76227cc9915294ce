"""Exact keyword matching: the terms of a keyword query and where they occur."""
from __future__ import annotations

import re
from typing import Sequence


def search_terms(query: str) -> list[str]:
    """The keywords of a keyword search: split on spaces and commas, duplicates dropped."""
    terms = [t for t in re.split(r"[\s,，、;；]+", query or "") if t]
    return list(dict.fromkeys(terms))


def term_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of `terms` in `text`, longest term first, case-insensitive."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    for term in sorted({t.lower() for t in terms if t}, key=len, reverse=True):
        at = lowered.find(term)
        while at >= 0:
            end = at + len(term)
            if not any(at < e and s < end for s, e in taken):
                taken.append((at, end))
            at = lowered.find(term, end)
    return sorted(taken)
