"""Benchmark for the core pipeline (issue 2). Not a test: prints figures.

    .venv/bin/python bench/core_bench.py [--questions eval/dev.jsonl] [--runs 3]

Reports ingest time of the corpus into a fresh index, cold `qa ask` end to
end, warm answer latency (retrieval + extractive answer, index loaded) and
retrieval accuracy (right clause first / in the top 5) on the answerable
single-turn questions of the set.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa import Assistant, Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="eval/dev.jsonl")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines() if line.strip()]

    ingest_s = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            assistant = Assistant(Settings.load({"index_dir": tmp}))
            started = time.perf_counter()
            assistant.ingest()
            ingest_s.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QA_INDEX_DIR": tmp}
        subprocess.run([sys.executable, "-m", "qa.cli", "ingest"], env=env, check=True, capture_output=True)
        cold = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa.cli", "ask", "如何打造世界级盐湖产业基地？"], env=env,
                           check=True, capture_output=True)
            cold.append(time.perf_counter() - started)

        assistant = Assistant(Settings.load({"index_dir": tmp}))
        assistant.ask("预热")  # load models and index once
        single = [r for r in rows if not r.get("history")]
        answerable = [r for r in single if r["answerable"]]
        first = first_any = top5 = 0
        for row in answerable:
            labels = [h.clause.clause_label for h in assistant.search(row["question"], top_k=5, doc_id=row.get("doc"))]
            first += bool(labels) and labels[0] == row["expected_labels"][0]
            first_any += bool(labels) and labels[0] in row["expected_labels"]
            top5 += row["expected_labels"][0] in labels
        latencies, refusal_ok = [], 0
        for row in single:
            started = time.perf_counter()
            answer = assistant.ask(row["question"])
            latencies.append((time.perf_counter() - started) * 1000)
            refusal_ok += answer.refused == (not row["answerable"])

    quantiles = statistics.quantiles(latencies, n=20)
    print(f"ingest (fresh index, {args.runs} runs): median {statistics.median(ingest_s):.2f} s")
    print(f"cold `qa ask` end to end ({args.runs} runs): median {statistics.median(cold):.2f} s")
    print(f"warm answer latency over {len(single)} questions: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {quantiles[18]:.1f} ms")
    n = len(answerable)
    print(f"right clause first (the set's best label): {first}/{n} = {first / n:.1%}; "
          f"(any expected label): {first_any}/{n} = {first_any / n:.1%}; "
          f"best label in top 5: {top5}/{n} = {top5 / n:.1%}")
    print(f"refused exactly when unanswerable: {refusal_ok}/{len(single)} = {refusal_ok / len(single):.1%}")


if __name__ == "__main__":
    main()
