"""Wall-clock time of the regression evaluation (issue 6). Not a test: prints figures.

    .venv/bin/python bench/eval_speed.py [--runs 3] [--index-dir DIR] [-- extra eval arguments]

Each run is a fresh process, as CI runs it: interpreter start, model and index
load, both question splits on the extractive backend, report writing. The
index is built once beforehand (in a temp folder unless --index-dir is given),
so the figures are for evaluation, not ingest. Prints every run and the median.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("extra", nargs="*", help="more `qa eval` arguments, e.g. --compare naive or --split dev")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        index_dir = args.index_dir or Path(scratch) / "index"
        command = [sys.executable, "-m", "qa.cli", "--index-dir", str(index_dir), "eval", "--backend",
                   "extractive", "--out", str(Path(scratch) / "out"), "--baseline", str(Path(scratch) / "b.json"),
                   "--update-baseline", *args.extra]
        subprocess.run(command, check=True, capture_output=True)  # builds the index when missing
        seconds = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            seconds.append(time.perf_counter() - started)
            print(f"run {run}: {seconds[-1]:.1f} s", flush=True)
    print(f"median of {len(seconds)}: {statistics.median(seconds):.1f} s  ({' '.join(args.extra) or 'assistant only'})")


if __name__ == "__main__":
    main()
