# Two entry points (see README): `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo ui test browser eval-gate bench clean

# The venv is rebuilt when the pins change.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	@# This machine's pip config warns about every missing local index folder: keep the log, show it on failure.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]' 2> $(VENV)/pip-install.log || { cat $(VENV)/pip-install.log; exit 1; }
	touch $@

install: $(BIN)/.installed

# Install, build the index on first use, answer a sample question with a clause citation.
demo: install
	$(BIN)/qa ask "如何打造世界级盐湖产业基地？"
	@echo
	@echo "More: $(BIN)/qa chat  |  $(BIN)/qa ui  (http://127.0.0.1:7860)  |  $(BIN)/qa --help"

ui: install
	$(BIN)/qa ui

# Debian's Chromium and CJK fonts for the browser tests (Playwright drives /usr/bin/chromium).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "browser tests need: sudo apt-get install chromium fonts-noto-cjk"; fi; \
	fi

# pytest exit code 5 means no test ran: that is a failure, not a pass.
test: install browser
	$(BIN)/pytest -q -p no:cacheprovider -n auto; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc
	$(MAKE) --no-print-directory eval-gate

# Accuracy regression gate: both question splits (eval/dev.jsonl, held-out eval/test.jsonl) on the
# extractive backend against the committed per-split baseline. The only place the full sets run.
eval-gate: install
	$(BIN)/qa eval --backend extractive --baseline eval/baseline.json --out eval/out

bench: install
	$(BIN)/python bench/core_bench.py
	$(BIN)/python bench/owners_prf.py
	$(BIN)/python bench/verify_overhead.py
	$(BIN)/python bench/concurrent_chats.py
	$(BIN)/python bench/serve_bench.py

clean:
	rm -rf $(VENV) index/CURRENT index/builds eval/out tests/artifacts
