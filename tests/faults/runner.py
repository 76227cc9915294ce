"""`python -m tests.faults.runner ARGS…` is `qa ARGS…` with the tests' fake embedder registered,
for fault tests that need a real process (kill -9, two ingests at once, raw bytes on stdin)."""
from __future__ import annotations

import os
import sys
import time

from qa.cli.main import main
from qa.ingest.embed import register_embedder
from tests.fakes import FakeEmbedder

# QA_FAULT_PAUSE_AT=<function in qa.ingest.index>: print "paused" when the ingest reaches it, then wait
# for SIGKILL. Tests kill the process at exactly that point of the build.
PAUSE_AT = "QA_FAULT_PAUSE_AT"


def _pause_before(name: str) -> None:
    from qa.ingest import index

    getattr(index, name)  # a misspelt name fails here, not as a test that never pauses

    def paused(*args, **kwargs):
        print(f"paused at {name}", file=sys.stderr, flush=True)
        while True:  # until the test's kill -9
            time.sleep(1)

    setattr(index, name, paused)


if __name__ == "__main__":
    register_embedder("fake", FakeEmbedder)
    if os.environ.get(PAUSE_AT):
        _pause_before(os.environ[PAUSE_AT])
    sys.exit(main(sys.argv[1:]))
