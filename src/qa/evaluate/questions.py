"""Question sets: the JSON Lines format of eval/README.md, and the splits a
regression run is made of.

A split is a named question set. ``dev`` holds the questions the team may tune
on; ``test`` is held out: reports of a held-out split give aggregate and
per-type figures and the ids of failing questions, never a question's text,
its answer or its missed facts, so nobody tunes rules by reading them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from qa.errors import QAError

# Display order of the question types documented in eval/README.md; the set is
# open-ended, and any other type is shown after these (see `ordered_types`).
QUESTION_TYPES = ("fact", "paraphrase", "ownership", "alias", "date_number", "list", "multi_turn",
                  "unanswerable", "adversarial")
# Splits whose reports hide every question's text, answer and missed facts.
HELD_OUT_SPLITS = frozenset({"test"})


class QuestionSetError(QAError):
    """A question file that is missing or does not follow eval/README.md."""

    exit_code = 2


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question file (format: eval/README.md)."""

    id: str
    question: str
    expected_labels: tuple[str, ...]
    key_facts: tuple[tuple[str, ...], ...]
    answerable: bool
    type: str
    history: tuple[str, ...] = ()
    doc: str | None = None


def ordered_types(types: Iterable[str]) -> list[str]:
    """`types` without repeats: the documented types in README order, then any others sorted."""
    present = set(types)
    return [t for t in QUESTION_TYPES if t in present] + sorted(present - set(QUESTION_TYPES))


def load_questions(paths: Sequence[Path]) -> tuple[EvalQuestion, ...]:
    """Read one or more JSONL question files; ids must be unique across all of them."""
    questions: list[EvalQuestion] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise QuestionSetError(f"找不到问题集文件 {path}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path} 第 {number} 行"
            question = _parse_question(line, where)
            if question.id in seen:
                raise QuestionSetError(f"{where}：问题 id {question.id} 与 {seen[question.id]} 重复")
            seen[question.id] = where
            questions.append(question)
    if not questions:
        raise QuestionSetError(f"问题集为空：{'、'.join(str(p) for p in paths)}")
    return tuple(questions)


def load_splits(files: Mapping[str, Sequence[Path]]) -> dict[str, tuple[EvalQuestion, ...]]:
    """Each split's questions (split name → its files), in the order given.

    Ids must be unique across splits too: one question in two splits would
    leak a held-out question into the set that is tuned on.
    """
    splits = {name: load_questions(paths) for name, paths in files.items()}
    owner: dict[str, str] = {}
    for name, questions in splits.items():
        for question in questions:
            if question.id in owner:
                raise QuestionSetError(f"问题 id {question.id} 同时出现在 {owner[question.id]} 和 {name} 两个划分中")
            owner[question.id] = name
    return splits


def _parse_question(line: str, where: str) -> EvalQuestion:
    try:
        row = json.loads(line)
        question = EvalQuestion(
            id=str(row["id"]),
            question=str(row["question"]),
            expected_labels=tuple(str(label) for label in row["expected_labels"]),
            key_facts=tuple(tuple(str(w) for w in fact) for fact in row["key_facts"]),
            answerable=bool(row["answerable"]),
            type=str(row["type"]),
            history=tuple(str(h) for h in row.get("history") or ()),
            doc=row.get("doc") or None,
        )
    except json.JSONDecodeError as error:
        raise QuestionSetError(f"{where} 不是有效的 JSON：{error.msg}") from None
    except KeyError as error:
        raise QuestionSetError(f"{where} 缺少字段 {error.args[0]}") from None
    except TypeError:
        raise QuestionSetError(f"{where} 的字段类型不对（见 eval/README.md）") from None
    if question.answerable and not question.expected_labels:
        raise QuestionSetError(f"{where}：可回答的问题必须给出 expected_labels")
    if any(not fact for fact in question.key_facts):
        raise QuestionSetError(f"{where}：key_facts 中每个事实至少要有一种说法")
    return question


__all__ = ["HELD_OUT_SPLITS", "QUESTION_TYPES", "EvalQuestion", "QuestionSetError", "load_questions", "load_splits",
           "ordered_types"]
