# Two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck contracts bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(VENV)/bin/linclass train --dataset digits --out runs/

# Fast checks first (seconds): style, types, import directions; then the tests.
test: lint typecheck contracts
	$(PY) -m pytest -q

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: $(STAMP_DEV)
	$(VENV)/bin/mypy

contracts: $(STAMP_DEV)
	$(VENV)/bin/lint-imports

bench: $(STAMP_DEV)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
