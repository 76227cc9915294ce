"""Clause labels and the citation marks that carry them in answers.

A label is the document's own numbering joined top-down with full-width
brackets: 二（三）2, 三（一）, 第六条. Answers cite it as ［二（三）2］, and a clause of a
document other than the primary one with the document's name: ［科学技术进步法 第六条］.
"""
from __future__ import annotations

import re
import unicodedata

_CN = "〇零一二三四五六七八九十百千两"
# The label at the end of a citation that names its document: 第二十三条（三）, 第十条之一, 二（三）2.
_TRAILING_LABEL = re.compile(rf"(第[{_CN}]+条(?:之[{_CN}]+)?(?:（[{_CN}]+）)?|题注|序言|前言)$")
# An item of an article: 第二十三条（三） → (第二十三条, （三）).
_ARTICLE_ITEM = re.compile(rf"^(.*第[{_CN}]+条(?:之[{_CN}]+)?)(（[{_CN}]+）)$")

# A citation as the assistant writes it: ［label］.
CITATION = re.compile(r"［([^［］\n]{1,60})］")
# A citation as a model may write it: ［］, ASCII [] or 【】, short, on one line.
LOOSE_CITATION = re.compile(r"[［\[【]([^［\]］【】\[\n]{1,60})[］\]】]")


def normalise_label(label: str) -> str:
    """User-typed label → the index's form: full-width brackets, no spaces, brackets or trailing dots
    (二(三)2, ［二（三）2］ and 二 （三） 2 all become 二（三）2)."""
    label = re.sub(r"\s+", "", label or "")
    label = label.replace("(", "（").replace(")", "）").replace("［", "").replace("］", "")
    return label.rstrip(".．、")


def label_key(label: str) -> str:
    """Comparison form of a label: 二（三）2, 二(三)2 and 二、(三)、2 are one label."""
    folded = unicodedata.normalize("NFKC", label).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "、.。,，·:：")


def strip_citations(text: str) -> str:
    """`text` without its ［label］ marks, so a label never counts as content."""
    return CITATION.sub("", text)


def split_citation(text: str) -> tuple[str, str]:
    """「科学技术进步法 第六条」 → (科学技术进步法, 第六条); a bare label → ("", label). The document
    part is whatever stands before the label (a name, an alias, a year): the caller resolves it."""
    label = normalise_label(text)
    match = _TRAILING_LABEL.search(label)
    if match and match.start() > 0:
        return label[:match.start()], match.group()
    return "", label


def article_and_item(label: str) -> tuple[str, str] | None:
    """第二十三条（三） → (第二十三条, （三）); None when `label` is not an item of an article."""
    match = _ARTICLE_ITEM.match(label)
    return (match.group(1), match.group(2)) if match else None
