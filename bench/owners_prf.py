"""Precision, recall and F1 of the responsibility map (issue 4). Not a test: prints figures.

    .venv/bin/python bench/owners_prf.py [--expected tests/data/expected_owners.tsv] [--corpus corpus/east-west-plan-2022.txt]

Builds the map of (organisation, document, clause, role) triples for the plan
and compares it with the hand-written table; lists every missed and every
extra triple so a change in extraction shows exactly what moved.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from qa.ingest.load import load_file
from qa.owners.map import build_responsibility_map, read_triples
from qa.text.segment import Segmenter
from qa.ingest.structure import parse_clauses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expected", default="tests/data/expected_owners.tsv")
    parser.add_argument("--corpus", default="corpus/east-west-plan-2022.txt")
    args = parser.parse_args()
    documents = load_file(Path(args.corpus))
    clauses = [c for d in documents for c in parse_clauses(d)]
    segmenter = Segmenter()
    segmenter.tag("预热")  # load jieba and its POS tagger outside the timing
    started = time.perf_counter()
    rmap = build_responsibility_map(documents, clauses, segmenter)
    elapsed = time.perf_counter() - started
    predicted, expected = rmap.triples(), read_triples(Path(args.expected))
    precision, recall, f1 = rmap.scores_against(Path(args.expected))
    print(f"clauses {len(clauses)}  mentions {len(rmap.mentions)}  organisations {len(rmap.orgs())}"
          f"  build {elapsed * 1000:.0f} ms")
    print(f"triples: expected {len(expected)}  predicted {len(predicted)}  correct {len(predicted & expected)}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    for title, rows in (("missed (in table, not found)", expected - predicted),
                        ("extra (found, not in table)", predicted - expected)):
        print(f"{title}: {len(rows)}")
        for org, doc, label, role in sorted(rows, key=lambda r: (r[1], r[2], r[0])):
            print(f"  {doc}\t{label}\t{org}\t{role}")


if __name__ == "__main__":
    main()
