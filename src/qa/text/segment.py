"""Stage 3 — segment: Chinese text → jieba tokens, with the domain dictionary.

One `Segmenter` is built per process (jieba's dictionary load is about half a
second) and passed to whoever needs tokens. Every alias is mapped to its
canonical name, so 工信部 in a question matches 工业和信息化部 in a clause.
"""
from __future__ import annotations

import logging
import re
import tempfile
import threading
from functools import cached_property
from pathlib import Path

import jieba
import jieba.posseg

jieba.setLogLevel(logging.WARNING)  # its INFO lines about the prefix dict are noise to users

from qa.text.domain import Domain, load_domain

# Function words and question words carry no evidence about which clause answers.
STOPWORDS = frozenset(
    """的 了 和 与 及 以及 等 在 是 为 对 中 有 由 向 从 把 被 将 要 并 其 之 或 也 还 都 而 于 上 下
    我 你 他 它 她 们 我们 你们 这 那 这个 那个 这些 那些 哪 哪个 哪些 哪里 什么 怎么 怎样 如何 为何 为什么 谁
    吗 呢 吧 啊 么 请 请问 问 一下 告诉 能否 可以 是否 哪儿 多少 几 个 方面 内容 主要 具体 相关 有关
    何时 什么时候 哪天 哪年 多久 何处 怎么样 有没有 是不是 哪方面 哪类 哪一项 分别 都 各 呀
    方案 文件 实施方案 规定 提出 提到 明确 根据 按照 关于 方面 措施 工作 哪一 一个 谈到 说 讲
    ， 。 、 ； ： ？ ！ “ ” 《 》 （ ） — … · , . ; : ? ! ( ) " ' ［ ］ [ ] 「 」""".split()
)
_TAG_CACHE_SIZE = 512
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")


class Segmenter:
    """jieba with the shipped domain dictionary, loaded once."""

    def __init__(self, domain: Domain | None = None, cache_dir: Path | None = None):
        self.domain = domain or load_domain()
        self._tokenizer = jieba.Tokenizer()
        # jieba writes its dictionary cache to the system temp dir unless told otherwise.
        self._tokenizer.tmp_dir = str(cache_dir or Path(tempfile.gettempdir()))
        self._lock = threading.Lock()
        self._ready = False
        self._tagged: dict[str, tuple[tuple[str, str], ...]] = {}

    def _ensure_ready(self) -> None:
        with self._lock:
            if self._ready:
                return
            self._tokenizer.initialize()
            for entity in self.domain.entities:
                tag = {"org": "nt", "region": "ns", "place": "ns"}.get(entity.kind, "nz")
                for name in entity.names:
                    self._tokenizer.add_word(name, freq=200000, tag=tag)
            self._ready = True

    @cached_property
    def _pos(self) -> jieba.posseg.POSTokenizer:
        self._ensure_ready()
        return jieba.posseg.POSTokenizer(self._tokenizer)

    def cut(self, text: str) -> list[str]:
        """Plain segmentation, every token kept (for display and sentence work)."""
        self._ensure_ready()
        return list(self._tokenizer.cut(text))

    def tag(self, text: str) -> tuple[tuple[str, str], ...]:
        """(word, part-of-speech) pairs; organisation names come back as `nt`.

        Tagging is the slow part of jieba, and several checks tag the same question, so the
        last few hundred results are kept."""
        tagged = self._tagged.get(text)
        if tagged is None:
            tagged = tuple((p.word, p.flag) for p in self._pos.cut(text))
            if len(self._tagged) >= _TAG_CACHE_SIZE:
                self._tagged.clear()
            self._tagged[text] = tagged
        return tagged

    def terms(self, text: str) -> list[str]:
        """Search terms: fine-grained sub-words, stopwords dropped, aliases canonicalised.

        Both clauses and questions go through this, so an alias on either side
        meets the canonical name on the other.
        """
        self._ensure_ready()
        out: list[str] = []
        for token in self._tokenizer.cut_for_search(text):
            token = token.strip()
            if not token or token in STOPWORDS or not _TOKEN_OK.search(token):
                continue
            out.append(self.domain.canonical(token))
        return out

    def canonicalise(self, text: str) -> str:
        """Rewrite every alias in `text` to its canonical name (工信部 → 工业和信息化部)."""
        return "".join(self.domain.canonical(token) for token in self.cut(text))

    def entities_in(self, text: str, kinds: tuple[str, ...] = ("org", "programme", "region", "place")) -> list[str]:
        """Canonical names of dictionary entities that `text` mentions, in order, once each."""
        found = []
        for token in self.cut(text):
            entity = self.domain.by_name.get(token)
            if entity and entity.kind in kinds and entity.canonical not in found:
                found.append(entity.canonical)
        return found
