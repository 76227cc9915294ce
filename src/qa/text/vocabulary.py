"""What the indexed documents say, as words: which terms occur where, and how often.

Built once per index from the clause texts. The answerers use it to tell a
question's words apart: a term in one clause is distinctive (a topic), one in
every clause says nothing, and a name or term the documents never use means
the documents cannot answer a question that depends on it.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from qa.text.segment import Segmenter


class Vocabulary:
    """Term statistics and whole-word mentions over a set of clause texts."""

    def __init__(self, segmenter: Segmenter, texts: Sequence[str]):
        self.texts = tuple(texts)
        self.text = "\n".join(self.texts)
        self.term_sets = tuple(frozenset(segmenter.terms(text)) for text in self.texts)
        self.df: dict[str, int] = {}
        for terms in self.term_sets:
            for term in terms:
                self.df[term] = self.df.get(term, 0) + 1
        size = max(len(self.texts), 1)
        self.idf = {t: math.log((size + 1) / (d + 0.5)) for t, d in self.df.items()}
        self.unseen_idf = math.log((size + 1) / 0.5)
        # Whole-word entities (jieba's plain cut): 财政部门 must not count as a mention of 财政部.
        self.entities = frozenset(e for text in self.texts for e in segmenter.entities_in(text))
        self._bigrams = frozenset(self.text[i:i + 2] for i in range(len(self.text) - 1))
        self._words = frozenset(w for text in self.texts for w in segmenter.cut(text))
        self._segmenter = segmenter

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)

    def says(self, words: str) -> bool:
        """Do the documents contain `words` verbatim?"""
        return words in self.text

    def names(self, name: str) -> bool:
        """Do the documents name `name` as a whole word (or through an alias)? 财政部 is not
        named by 财政部门; a name jieba splits into pieces counts where it occurs verbatim."""
        domain = self._segmenter.domain
        if domain.canonical(name) in self.entities or name in self._words:
            return True
        return len(self._segmenter.cut(name)) > 1 and name in self.text

    def names_place(self, stem: str) -> bool:
        """Is `stem` (海南, from 海南州) the start of a place name the documents use
        (海南藏族自治州)? Short forms of prefectures drop everything but the first name."""
        return re.search(re.escape(stem) + r"[\u4e00-\u9fff]{0,6}?(自治州|自治县|自治区|省|市|州|县|盟|旗)", self.text) is not None

    def is_foreign(self, word: str) -> bool:
        """No two-character piece of `word` occurs in the documents (医保, 特派员): a concept
        they never touch, as opposed to a paraphrase of one they do (高原病 ~ 高原医学)."""
        pieces = [word[i:i + 2] for i in range(len(word) - 1)]
        return bool(pieces) and not any(p in self._bigrams for p in pieces)

    def is_topical(self, term: str) -> bool:
        """A term few clauses use (盐湖, 人才飞地): it names what a question is about.
        Terms in many clauses (合作, 科技) frame a question but do not set its topic."""
        df = self.df.get(term, 0)
        return 0 < df <= max(2, len(self.texts) // 8)

    def together(self, *words: str) -> bool:
        """Does one clause contain all of `words`?"""
        return any(all(w in text for w in words) for text in self.texts)
