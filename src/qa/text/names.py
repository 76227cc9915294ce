"""Names found by their form, not only from the domain dictionary.

Official Chinese names end in a kind word — 部, 委员会, 局, 厅, 署, 办公室, 院,
中心, 兵团, 公司, 集团, 大学, 学院, 银行, 协会, 医院 … — and jieba tags most of
them as organisation (nt) or place (ns) names. A question about 公安部 or
新疆生产建设兵团 names a body whether or not the dictionary knows it, so the
assistant can tell that the documents never mention it.
"""
from __future__ import annotations

import re

from qa.text.segment import STOPWORDS, Segmenter

ORG_ENDING = re.compile(r"(部|委员会|委|局|厅|署|办公室|科学院|研究院|研究所|中心|兵团|公司|集团|大学|学院|银行|协会|学会|"
                        r"基金会|医院|联合会)$")
# 东部、内部、干部 … end in 部 but are directions and common nouns, not bodies.
_NOT_ORG = re.compile(r"[东西南北中内外全干局总底头腹]部$|^[东西南北中]+部$")
# A bare kind word (公司, 大学) names a body only with a proper name before it (宁夏大学).
_KIND_WORDS = frozenset("公司 集团 大学 学院 银行 医院 协会 学会 中心 兵团 研究所 研究院 基金会".split())
_NAME_TAGS = ("nt", "ns", "nz", "nr", "j")
_QUESTION_WORDS = frozenset("哪 哪个 哪家 哪些 什么 谁 某 某个 有关 相关 其他".split())
_PLACE_SUFFIX = re.compile(r"(省|市|自治区|地区|州|县)$")


def organisation_names(text: str, segmenter: Segmenter) -> list[str]:
    """Organisation names in `text` by form, as written, in order, once each."""
    tagged = [(w, t) for w, t in segmenter.tag(text) if w.strip()]
    found: list[str] = []
    for i, (word, tag) in enumerate(tagged):
        name = ""
        if word in _KIND_WORDS:
            before = tagged[i - 1] if i else ("", "")
            if before[0] and before[0] not in _QUESTION_WORDS and before[1].startswith(("n", "j")):
                name = _with_qualifiers(tagged, i)
        elif len(word) >= 3 and (tag == "nt" or tag.startswith("n")) and ORG_ENDING.search(word) \
                and not _NOT_ORG.search(word):
            name = _with_qualifiers(tagged, i)
        if name and name not in found:
            found.append(name)
    return found


def _with_qualifiers(tagged: list[tuple[str, str]], at: int) -> str:
    """战略研究院 preceded by 中国/科学技术/发展 → 中国科学技术发展战略研究院: the nouns written
    before a name's last word belong to it (a verb, particle or question word ends it)."""
    start = at
    while start > 0 and at - start < 4:
        word, tag = tagged[start - 1]
        if word in _QUESTION_WORDS or word in STOPWORDS or not tag.startswith(("n", "vn", "j", "l")):
            break
        start -= 1
    return "".join(w for w, _ in tagged[start:at + 1])


# China's provincial-level divisions by their short names: a question naming one is about a
# place, whatever jieba's tag (it tags 治沙 or 长江黄河 as places too).
PROVINCES = frozenset("""北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东
    海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门""".split())
_ADMINISTRATIVE = re.compile(r"..(省|市|县|自治区|自治州|自治县|地区|盟|旗)$")


def place_names(text: str, segmenter: Segmenter) -> list[str]:
    """Administrative places in `text` (a province, or a name ending in 省/市/县/州…), once each."""
    found: list[str] = []
    for word, tag in segmenter.tag(text):
        is_place = word in PROVINCES or bare_place(word) in PROVINCES or (tag == "ns" and _ADMINISTRATIVE.match(word))
        if is_place and word not in found:
            found.append(word)
    return found


def bare_place(name: str) -> str:
    """浙江省 → 浙江; 海西州 stays (a two-character stem would be too loose)."""
    stem = _PLACE_SUFFIX.sub("", name)
    return stem if len(stem) >= 2 else name
