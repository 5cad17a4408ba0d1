# Two commands do all set-up on a fresh machine:
#   make run   - create .venv, install, build the index if missing or stale, start the app
#   make test  - the same set-up plus dev extras, then the test suite and the quality gate
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# tiktoken cannot download its encoding here; use the verified shared cache when present.
SHARED_TIKTOKEN := $(abspath ../shared/tiktoken)
ifneq ($(wildcard $(SHARED_TIKTOKEN)/*),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED_TIKTOKEN)
endif
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install install-dev build run serve test eval bench lint clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

# CPU torch first: `torch==2.13.0` takes the local CPU wheel; unpinned torch pulls GBs of CUDA packages.
$(VENV)/.installed: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# A corpus file that cannot be read is named and skipped, and the app still starts; scripts that must
# fail on it use `rag build --strict` (exit 4), as `make test` does.
build: install
	$(VENV)/bin/rag build

run: build
	$(VENV)/bin/rag serve

test: install-dev
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q
	$(VENV)/bin/rag build --strict
	$(VENV)/bin/rag eval

eval: build
	$(VENV)/bin/rag eval

bench: build
	$(PY) bench/retrieval.py quality
	$(PY) bench/retrieval.py latency
	@if [ -f bench/answer.py ]; then $(PY) bench/answer.py; fi

lint: install-dev
	$(VENV)/bin/ruff check rag tests

clean:
	rm -rf index/* data eval/reports
