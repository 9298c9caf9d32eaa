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

# Test processes (pytest-xdist): one per core of the 2-core CI machine; `make test
# TEST_WORKERS=0` runs in one process. The order is shuffled (pytest-randomly; the seed is
# printed; `.venv/bin/python -m pytest --randomly-seed=N` repeats an order, `-p no:randomly`
# keeps the file order).
TEST_WORKERS ?= 2

# Fast checks first (seconds): style, types, import directions; then the tests.
test: lint typecheck contracts
	@# Byte-compile the package first: where PYTHONDONTWRITEBYTECODE is set, every CLI
	@# subprocess and Dask worker the tests start would compile it again (0.3 s each).
	$(PY) -m compileall -q src
	$(PY) -m pytest -q -n $(TEST_WORKERS)

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
