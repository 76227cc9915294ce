"""Streamed model text → whole sentences, each with the citation marks it owns.

A sentence ends at 。！？； or a line break, never inside a quotation 「…」 or a
citation mark. A mark that follows the stop (…水平。［二（三）2］) still belongs to
the sentence before it, since models put the citation on either side of the
stop; so a sentence is complete only once the next sentence's first character
has arrived (or the stream has ended). A <think>…</think> block that reasoning
models write first is never part of the answer.
"""
from __future__ import annotations

_TERMINATORS = "。！？!?；;\n"
# Closing punctuation after the stop stays with the sentence: 「……。」 or ……。）
_TRAILING = "。！？!?；;）)」”』…"
_MARK_CLOSE = {"［": "］", "[": "]", "【": "】"}
_QUOTE_CLOSE = {"「": "」", "“": "”", "『": "』"}
_MARK_MAX = 60  # a citation mark is short; a longer bracket is text
_QUOTE_MAX = 400  # a quotation left open this long is a stray mark, not a quotation
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class SentenceSplitter:
    """Feed text as it arrives; get back the sentences that are complete."""

    def __init__(self):
        self._buffer = ""
        self._reasoning_done = False

    def feed(self, piece: str) -> list[str]:
        """The sentences that `piece` completed, as written (marks and trailing space included)."""
        self._buffer += piece
        return self._take(final=False)

    def close(self) -> list[str]:
        """The stream has ended: whatever is left, as the last sentences."""
        done = self._take(final=True)
        if self._buffer.strip():
            done.append(self._buffer)
        self._buffer = ""
        return done

    def _take(self, final: bool) -> list[str]:
        if not self._skip_reasoning(final):
            return []
        done = []
        while (end := self._sentence_end(final)) is not None:
            done.append(self._buffer[:end])
            self._buffer = self._buffer[end:]
        return done

    def _skip_reasoning(self, final: bool) -> bool:
        """Drop a leading <think> block; False while one may still be arriving."""
        if self._reasoning_done:
            return True
        head = self._buffer.lstrip()
        if head.startswith(_THINK_OPEN):
            close = head.find(_THINK_CLOSE)
            if close < 0:
                if final:
                    self._buffer = ""
                return final
            self._buffer = head[close + len(_THINK_CLOSE):].lstrip()
        elif _THINK_OPEN.startswith(head) and head and not final:
            return False  # "<thi": wait to see whether a reasoning block opens
        self._reasoning_done = bool(head) or final
        return True

    def _sentence_end(self, final: bool) -> int | None:
        """Where the first complete sentence of the buffer ends, or None when it is not complete yet."""
        text, i, quote_close, quote_start = self._buffer, 0, None, 0
        while i < len(text):
            ch = text[i]
            if ch == "\n":
                quote_close = None  # quotations never span lines
            elif quote_close is not None:
                if ch == quote_close or i - quote_start > _QUOTE_MAX:
                    quote_close = None
                i += 1
                continue
            if ch in _MARK_CLOSE:
                close = _mark_end(text, i)
                if close == _PENDING:
                    if not final:
                        return None  # a mark still arriving
                    close = None
                i = close if close is not None else i + 1
                continue
            if ch in _QUOTE_CLOSE:
                quote_close, quote_start = _QUOTE_CLOSE[ch], i
            elif ch in _TERMINATORS:
                return self._after_stop(i + 1, final)
            i += 1
        return None

    def _after_stop(self, j: int, final: bool) -> int | None:
        """The sentence runs on through closing punctuation, spaces and marks after its stop."""
        text = self._buffer
        while j < len(text):
            ch = text[j]
            if ch in _TRAILING or ch.isspace():
                j += 1
            elif ch in _MARK_CLOSE:
                close = _mark_end(text, j)
                if close == _PENDING and not final:
                    return None
                if close is None or close == _PENDING:
                    return j  # a bracket that is not a mark opens the next sentence
                j = close
            else:
                return j
        return j if final else None


_PENDING = -1


def _mark_end(text: str, start: int) -> int | None:
    """The index after the mark opening at `start`; None when the bracket is not a mark
    (too long, or broken by a line); `_PENDING` when its end has not arrived yet."""
    closer = _MARK_CLOSE[text[start]]
    for k in range(start + 1, min(len(text), start + _MARK_MAX + 2)):
        if text[k] == closer:
            return k + 1
        if text[k] == "\n" or text[k] in _MARK_CLOSE:
            return None
    return _PENDING if len(text) - start <= _MARK_MAX + 1 else None


def split_sentences(text: str) -> list[str]:
    """A whole answer's sentences, as the stream would give them."""
    splitter = SentenceSplitter()
    return [*splitter.feed(text), *splitter.close()]
