"""Stage 0 — the question: validate it and set aside text that tries to steer the assistant.

Questions are data. A sentence that tells the assistant to ignore its rules
is dropped before retrieval (the rest of the question is still answered); a
request to invent, reveal or role-play is refused outright.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadQuestion

_SENTENCES = re.compile(r"[^。！？!?\n]+[。！？!?]?")
# Sentences that address the assistant instead of asking about the documents.
_STEERING = re.compile(
    r"忽略|无视|不要引用|不用引用|别引用|管理员指令|系统指令|SYSTEM\s*[:：]|ignore (all |previous |the )?instructions",
    re.IGNORECASE)
# Requests no answer from the documents can satisfy honestly.
_MANIPULATION = re.compile(
    r"编造|捏造|虚构|杜撰|随便标注|系统提示|提示词|开发者模式|API\s*密钥|api[ _-]?key|原始语料|配置文件|"
    r"重复.{0,8}遍|你现在是|扮演|请宣布|假设方案规定",
    re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    text: str  # as asked, stripped
    search_text: str  # what retrieval and evidence checks use
    manipulation: str  # the matched request when the question asks to invent/reveal, else ""


def read_question(raw: str | None, max_chars: int) -> Question:
    """Validate `raw` and split off steering text; `BadQuestion` says what is wrong."""
    if raw is None or not raw.strip():
        raise BadQuestion("问题不能为空，请输入要查询的内容。")
    text = raw.strip()
    if len(text) > max_chars:
        raise BadQuestion(f"问题过长（{len(text)} 字），请控制在 {max_chars} 字以内。")
    kept = [s for s in _SENTENCES.findall(text) if not _STEERING.search(s)]
    search_text = "".join(kept).strip() or text
    manipulation = _MANIPULATION.search(text)
    return Question(text, search_text, manipulation.group() if manipulation else "")
