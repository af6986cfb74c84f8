# ATLAS × QFS — `make run` serves on the embedded defaults, `make test` runs everything.
SHELL := /bin/bash
# Debian's python3.11 is built with PGO + LTO; a source-built one (pyenv's default) runs this code
# 10-25 % slower (docs/benchmarks.md). Use it when present; any CPython 3.11 works.
PYTHON ?= $(shell test -x /usr/bin/python3.11 && /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null && echo /usr/bin/python3.11 || echo python3.11)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed$(subst /,_,$(PYTHON))
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: install run test test-embedded test-real lint typecheck openapi web web-check e2e bench clean

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): $(UV) pyproject.toml uv.lock
	@# a .venv made by another interpreter is rebuilt (uv sync keeps it otherwise)
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print(sys._base_executable)' 2>/dev/null)" != "$$(readlink -f $$(command -v $(PYTHON)))" ]; then rm -rf $(VENV); fi
	$(UV) sync --frozen --all-extras --quiet
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/atlas db upgrade
	$(VENV)/bin/atlas serve --host 127.0.0.1 --port 8000

lint: install
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/mypy

openapi: install
	$(PY) -m atlas.openapi_dump > openapi.json

test: install
	@bash scripts/test.sh

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache
