"""Chinese numerals as documents write them: 一, 十二, 二十三, 一百零五, 一千二百."""
from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_number(text: str) -> int:
    """Chinese numeral (一 … 九千九百九十九) or ASCII digits → int; 0 when it is neither.

    Laws run past a hundred articles (第一百零五条), so the hundreds matter."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            # 十二 has no digit before 十: one ten.
            total += (digit or 1) * _UNITS[ch]
            digit = 0
        else:
            return 0
    return total + digit
