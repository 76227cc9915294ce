"""How long does verifying one LLM answer take, and what survives it?

Two sets of answers over the real clauses of the 2022 plan, each verified the
way the assistant does it — streamed in 3-character pieces through
`VerifiedStream`, every sentence checked as it completes:

- the replies of a real 0.5B model recorded in ../shared/llm-replays/ (skipped
  when that folder is absent), against the clauses of their recorded prompts;
- scripted answers: clause sentences paraphrased with citations before or after
  the stop, faithful quotes, plus an uncited invented amount and a bad quote with
  an invented label in every answer; and the same answers as structured output
  (JSON, one object per sentence) read through `StructuredReader`. The recorded
  replies exist only as plain text: structured output needs the model again.

Prints, per set: sentences shown and dropped, answers kept / refused / left with
nothing (the fallback answers), and the median verification time per answer
over ROUNDS rounds. Measured, not asserted: the machines are shared.

    .venv/bin/python bench/verify_overhead.py
"""
from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

from qa.answer.splitter import split_sentences
from qa.answer.structured import StructuredReader
from qa.answer.support import SupportChecker
from qa.answer.verify import SentenceChecker, Verification, VerifiedStream
from qa.text.labels import LOOSE_CITATION
from qa.ingest.load import load_file
from qa.ingest.structure import parse_clauses
from qa.text.segment import Segmenter
from qa.types import Clause, Hit

ROOT = Path(__file__).resolve().parents[1]
REPLAYS = ROOT.parent / "shared" / "llm-replays" / "qwen2.5-coder-0.5b.jsonl"
ROUNDS = 20
CHUNK = 3  # characters per streamed piece


def streamed(text: str, hits: list[Hit], question: str, support: SupportChecker,
             structured: bool = False) -> Verification:
    stream = VerifiedStream(SentenceChecker(hits, question, support))
    read = StructuredReader().feed if structured else (lambda piece: piece)
    for start in range(0, len(text), CHUNK):
        stream.feed(read(text[start:start + CHUNK]))
    stream.feed(read(""))
    stream.close()
    return stream.verification()


def as_structured(text: str) -> str:
    """A plain cited answer as the JSON a model with structured output writes."""
    items = []
    for sentence in split_sentences(text):
        mark = LOOSE_CITATION.search(sentence)
        items.append({"text": LOOSE_CITATION.sub("", sentence).strip(), "label": mark.group(1) if mark else "无"})
    return json.dumps({"sentences": items}, ensure_ascii=False)


def replay_cases(clauses: dict[str, Clause]) -> list[tuple[str, list[Hit], str]]:
    """(question, hits, reply) for each recorded answer (the follow-up rewrite has no clauses)."""
    cases = []
    for line in REPLAYS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        user = [m["content"] for m in record["messages"] if m["role"] == "user"][-1]
        labels = re.findall(r'标签="([^"]+)"', user)
        if labels:
            question = re.search(r"<问题>\n(.*)\n</问题>", user, re.S).group(1)
            cases.append((question, [Hit(clauses[l], 1.0 - k / 10) for k, l in enumerate(labels)], record["reply"]))
    return cases


def scripted_cases(clauses: dict[str, Clause]) -> list[tuple[str, list[Hit], str]]:
    """Answers shaped like what a model writes from five clauses of 二、重点任务."""
    tasks = [c for c in clauses.values() if c.clause_label.startswith("二（")]
    cases = []
    for i in range(0, len(tasks) - 4, 3):
        hits = [Hit(c, 1.0 - k / 10) for k, c in enumerate(tasks[i:i + 5])]
        parts = []
        for j, hit in enumerate(hits[:3]):
            label = hit.clause.clause_label
            for k, sentence in enumerate(_sentences(hit.clause.text)[1:3] or [hit.clause.text[:60]]):
                body = sentence.rstrip("。；")
                head, comma, rest = body.partition("，")
                if k == 0 and comma and len(head) >= 6:
                    body = f"方案提出「{head}」，{rest}"  # a faithful quote of the first phrase
                mark = f"［{label}］" if (j + k) % 2 == 0 else f"[{label}]"
                parts.append(f"{body}{mark}。" if k % 2 == 0 else f"{body}。{mark}")
        parts.append("此外各地还将配套一千万元资金支持。")  # uncited, invented amount
        parts.append("相关内容另见「全面取消审批手续」［九（九）9］。")  # bad quote + invented label
        cases.append((hits[0].clause.heading_path[-1] + "有哪些措施？", hits, "\n".join(parts)))
    return cases


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；])", text) if len(s) > 8]


def report(name: str, cases: list[tuple[str, list[Hit], str]], support: SupportChecker,
           structured: bool = False) -> None:
    results = [streamed(reply, hits, question, support, structured) for question, hits, reply in cases]
    timings = []
    for _ in range(ROUNDS):
        for question, hits, reply in cases:
            started = time.perf_counter()
            streamed(reply, hits, question, support, structured)
            timings.append((time.perf_counter() - started) * 1000)
    shown = sum(len(v.shown) for v in results)
    dropped = sum(len(v.dropped) for v in results)
    kept = sum(v.grounded for v in results)
    refused = sum(v.refused for v in results)
    print(f"{name}: {len(cases)} answers, mean {statistics.mean(len(c[2]) for c in cases):.0f} chars")
    print(f"  sentences shown {shown}, dropped {dropped}; answers kept {kept}, refusals {refused}, "
          f"nothing left (fallback) {len(cases) - kept - refused}")
    print(f"  verification median {statistics.median(timings):.2f} ms per answer "
          f"(p95 {sorted(timings)[int(len(timings) * 0.95)]:.2f} ms, {ROUNDS} rounds)")


def main() -> None:
    clauses = {c.clause_label: c for d in load_file(ROOT / "corpus" / "east-west-plan-2022.txt")
               for c in parse_clauses(d)}
    support = SupportChecker(Segmenter())
    support.segmenter.cut("预热")  # jieba loads its dictionary once per process: not part of any answer
    if REPLAYS.exists():
        report("recorded replies (qwen2.5-coder-0.5b)", replay_cases(clauses), support)
    else:
        print(f"recorded replies: skipped, {REPLAYS} not found")
    scripted = scripted_cases(clauses)
    report("scripted answers", scripted, support)
    report("scripted answers as structured output", [(q, h, as_structured(t)) for q, h, t in scripted], support,
           structured=True)


if __name__ == "__main__":
    main()
