# Quick start: `make demo` and `make test`. Both create .venv from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-all install lint clean browser-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Install the CPU torch first so the package's `torch>=2.4` is already satisfied
# and pip never resolves a (multi-GB) CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,text,studio,music]' $(TORCH)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gankit train --out runs/demo --steps 3000
	@echo "Samples: runs/demo/samples/  (last grid: runs/demo/samples/latest.png)"

# The studio's browser tests drive Debian's chromium (never a Playwright browser download).
browser-deps:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq chromium) || \
	  echo "note: /usr/bin/chromium missing and not installable here; the studio browser tests will skip"; }

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q

test-all: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q -m ""

lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf runs .pytest_cache build dist src/*.egg-info
