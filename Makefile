# Set-up and everyday commands. Everything installs into .venv from requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: setup app test bench demo-cli browser

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-cache-dir -r requirements.txt  # a cache would double the disk used
	touch $@

setup: $(BIN)/.installed

## Run the dashboard on the bundled demo data (assets/demo).
app: setup
	$(BIN)/streamlit run app.py --server.port $(PORT)

## Run the test suite (the browser test needs Debian's chromium: `make browser`).
test: setup
	$(BIN)/python -m pytest

## Benchmark every method on ../shared/data; prints a table and writes bench_results/.
bench: setup
	$(BIN)/python -m vqi_core.bench

## Train PatchCore on the demo bottle category from the command line.
demo-cli: setup
	$(BIN)/python -m vqi_core train --data assets/demo/bottle --method patchcore --runs runs

## Install Debian's headless Chromium for the end-to-end browser test (needs root).
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
