"""How long does verifying one LLM answer take?

Builds realistic answers over the real clauses of the 2022 plan — clause
sentences paraphrased with citations after the stop or before it, quotes, a
hallucinated label, an uncited sentence — and times `qa.verify.grounded_answer`
on each, 200 rounds. Prints the median per answer.

    .venv/bin/python bench/verify_overhead.py
"""
from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from qa.load import load_file
from qa.structure import parse_clauses
from qa.types import Answer, Hit
from qa.verify import grounded_answer, verify

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 200


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；])", text) if len(s) > 8]


def realistic_answers(hits: list[Hit]) -> list[str]:
    """Answers shaped like what a model writes from these five clauses."""
    answers = []
    for i in range(len(hits)):
        window = hits[i:i + 3] or hits[:3]
        parts = []
        for j, hit in enumerate(window):
            label = hit.clause.clause_label
            sentences = _sentences(hit.clause.text)[1:3] or [hit.clause.text[:60]]
            for k, sentence in enumerate(sentences):
                body = sentence.rstrip("。；")
                head, comma, rest = body.partition("，")
                if k == 0 and comma and len(head) >= 6:
                    body = f"方案提出「{head}」，{rest}"  # a faithful quote of the first phrase
                mark = f"［{label}］" if (j + k) % 2 == 0 else f"[{label}]"
                parts.append(f"{body}{mark}。" if k % 2 == 0 else f"{body}。{mark}")
        parts.append("此外各地还将配套相应资金支持。")  # uncited
        parts.append("相关内容另见「全面取消审批手续」［九（九）9］。")  # bad quote + invented label
        answers.append("\n".join(parts))
    return answers


def main() -> None:
    clauses = [c for d in load_file(ROOT / "corpus" / "east-west-plan-2022.txt") for c in parse_clauses(d)]
    tasks = [c for c in clauses if c.clause_label.startswith("二（")]
    hits_sets = [[Hit(c, 1.0 - k / 10) for k, c in enumerate(tasks[i:i + 5])] for i in range(0, len(tasks) - 4, 3)]
    fallback = lambda q, h: Answer(q, h[0].clause.text, backend="extractive")  # noqa: E731
    cases = [(hits, text) for hits in hits_sets for text in realistic_answers(hits)]

    sample = verify(cases[0][1], cases[0][0])
    chars = statistics.mean(len(text) for _, text in cases)
    timings = []
    for _ in range(ROUNDS):
        for hits, text in cases:
            started = time.perf_counter()
            grounded_answer("问题", text, hits, fallback)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"answers: {len(cases)} (mean {chars:.0f} chars, 5 clauses each), rounds: {ROUNDS}")
    print(f"sample: {len(sample.citations)} citations, dropped {list(sample.dropped_citations)}, "
          f"{len(sample.notices)} notices")
    print(f"verification median: {statistics.median(timings):.3f} ms per answer "
          f"(p95 {timings[int(len(timings) * 0.95)]:.3f} ms)")


if __name__ == "__main__":
    main()
