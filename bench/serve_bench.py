"""Benchmark for `qa serve` (issue 13). Not a test: prints figures.

    .venv/bin/python bench/serve_bench.py [--questions eval/dev.jsonl] [--runs 3] [--requests 40]

Over a fresh index of the corpus and the offline (extractive) backend, on loopback:
- latency of POST /v1/chat/completions (JSON, and streamed: first chunk and whole reply) and of
  POST /api/ask, one request at a time, over the single-turn questions of the set;
- 20 conversations at once (a question, then a follow-up sent with its messages), per request;
- a started `qa serve`: seconds until it listens, and until its first answer.
Each figure is the median over `--runs` runs of its p50 / p95.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from qa import Assistant, Settings
from qa_ui.server import create_app

SALT = "如何打造世界级盐湖产业基地？"
CONVERSATIONS = 20


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p95) in ms."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def chat(client: httpx.Client, messages: list[dict]) -> dict:
    reply = client.post("/v1/chat/completions", json={"model": "qa", "messages": messages})
    reply.raise_for_status()
    return reply.json()


def streamed(client: httpx.Client, question: str) -> tuple[float, float]:
    """(ms to the first content chunk, ms to the end of the stream)."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/chat/completions",
                       json={"model": "qa", "stream": True, "messages": [{"role": "user", "content": question}]}) as s:
        for line in s.iter_lines():
            if first is None and '"content": "' in line and '"content": ""' not in line:
                first = (time.perf_counter() - started) * 1000
    return first or 0.0, (time.perf_counter() - started) * 1000


def conversation(base_url: str, question: str) -> list[float]:
    """A question and a follow-up, as a chat client sends them; the two latencies."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        messages = [{"role": "user", "content": question}]
        first_ms = timed(lambda: messages.append(chat(client, messages)["choices"][0]["message"]))
        messages.append({"role": "user", "content": "那西藏呢？"})
        return [first_ms, timed(lambda: chat(client, messages))]


def serve_in_thread(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.config.port}", server, thread


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_to_first_answer(index_dir: Path, data_dir: Path) -> tuple[float, float]:
    """(s until a new `qa serve` listens, s until it has answered its first question)."""
    port = free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "QA_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while True:
                try:
                    client.get("/v1/models").raise_for_status()
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            listening = time.perf_counter() - started
            chat(client, [{"role": "user", "content": SALT}])
            return listening, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def one_run(assistant: Assistant, settings: Settings, questions: list[str]) -> dict[str, tuple[float, float]]:
    url, server, thread = serve_in_thread(create_app(settings, assistant, with_ui=False))
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            chat(client, [{"role": "user", "content": SALT}])  # warm
            completions = [timed(lambda q=q: chat(client, [{"role": "user", "content": q}])) for q in questions]
            streams = [streamed(client, q) for q in questions]
            asks = [timed(lambda q=q: client.post("/api/ask", json={"question": q}).raise_for_status())
                    for q in questions]
        with concurrent.futures.ThreadPoolExecutor(CONVERSATIONS) as pool:
            started = time.perf_counter()
            together = [ms for pair in pool.map(lambda q: conversation(url, q),
                                                 (questions * CONVERSATIONS)[:CONVERSATIONS]) for ms in pair]
            wall = (time.perf_counter() - started) * 1000
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return {
        "POST /v1/chat/completions": percentiles(completions),
        "  streamed, first chunk": percentiles([first for first, _ in streams]),
        "  streamed, whole reply": percentiles([whole for _, whole in streams]),
        "POST /api/ask": percentiles(asks),
        f"{CONVERSATIONS} conversations at once, per request": percentiles(together),
        f"{CONVERSATIONS} conversations at once, all done": (wall, wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="eval/dev.jsonl")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40, help="questions per route and run")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows if not r.get("history")][:args.requests]

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load({"index_dir": Path(tmp) / "index", "data_dir": Path(tmp) / "data",
                                  "answer_backend": "extractive"})
        assistant = Assistant(settings)
        assistant.search("东西部科技合作", top_k=1)  # build the index, load the model
        runs = [one_run(assistant, settings, questions) for _ in range(args.runs)]
        starts = [start_to_first_answer(settings.index_dir, settings.data_dir) for _ in range(args.runs)]

    print(f"`qa serve`, extractive backend, loopback; {len(questions)} questions per route; "
          f"median of {args.runs} runs")
    for name in runs[0]:
        p50 = statistics.median(r[name][0] for r in runs)
        p95 = statistics.median(r[name][1] for r in runs)
        print(f"{name:48s} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    print(f"{'new `qa serve`: listening after':48s} {statistics.median(s[0] for s in starts):8.2f} s")
    print(f"{'new `qa serve`: first answer after':48s} {statistics.median(s[1] for s in starts):8.2f} s")


if __name__ == "__main__":
    main()
