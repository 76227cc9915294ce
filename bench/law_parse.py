"""How well law Markdown parses: articles found, paragraphs lost, numbering gaps.

    .venv/bin/python bench/law_parse.py [FOLDER] [--every N]

By default every 75th file (sorted by path) of ../shared/corpora/laws-national/, files
nobody tuned the reader on. A file passes when it parses into articles, every source
paragraph is in exactly one clause in the original order, and the articles are numbered
1, 2, 3 … without a gap (a gap means two articles were read as one).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.ingest.law import INFO_END
from qa.ingest.load import load_file
from qa.ingest.structure import parse_clauses
from qa.text.numerals import cn_number

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "laws-national"


def source_paragraphs(raw: str) -> list[str]:
    """The body paragraphs as the file has them: what the clauses must hold, in order."""
    body = raw.replace("\r\n", "\n").partition(INFO_END)[2]
    lines = (line.replace("\xa0", " ").strip(" \t\u3000") for line in body.split("\n"))
    return [line for line in lines if line and not line.startswith(("#", "<!--"))]


def check(path: Path) -> dict:
    raw = path.read_text(encoding="utf-8")
    docs = load_file(path)
    clauses = [c for d in docs for c in parse_clauses(d) if c.clause_label != "题注"]
    articles = [c for c in clauses if c.clause_label.startswith("第") and "条" in c.clause_label]
    source = source_paragraphs(raw)
    if docs[0].kind == "law":
        lost = [line for c in clauses for line in c.text.split("\n")] != source
    else:  # read by its numbering: headings may sit inline, so look for each paragraph's words
        held = "".join(c.text + "".join(c.heading_path) for c in clauses)
        lost = any("".join(p.split()) not in "".join(held.split()) for p in source)
    numbers = [cn_number(c.clause_label[1:c.clause_label.index("条")]) for c in articles if "之" not in c.clause_label]
    gaps = [n for prev, n in zip(numbers, numbers[1:]) if n != prev + 1]
    return {"file": str(path), "kind": docs[0].kind, "articles": len(articles), "clauses": len(clauses),
            "lost": lost, "gaps": gaps}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--every", type=int, default=75)
    args = parser.parse_args()
    files = sorted(args.folder.rglob("*.md"))[::args.every]
    passed = kept = 0
    for path in files:
        row = check(path)
        ok = row["articles"] > 0 and not row["lost"] and not row["gaps"]
        passed += ok
        kept += not row["lost"]
        print(f"{'ok ' if ok else 'NO '} {row['articles']:4d} articles {row['clauses']:4d} clauses "
              f"lost={row['lost']!s:5} gaps={row['gaps'][:3]} {path.relative_to(args.folder)}")
    print(f"{kept}/{len(files)} files with no text lost; "
          f"{passed}/{len(files)} parse into articles with no text lost and no numbering gap")
    return 0 if passed == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
