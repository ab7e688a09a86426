# Two commands do all the set-up: `make demo` and `make test`.
# Each creates .venv when it is missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WORKSPACE ?= workspace

.PHONY: demo test lint typecheck unit bench bench-features clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,train]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/surveil --workspace $(WORKSPACE) demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	taskset -c 0 $(BIN)/python benchmarks/generate_benchmark.py --events 1000000

bench-features: $(STAMP)
	taskset -c 0 $(BIN)/python benchmarks/features_benchmark.py --events 1000000

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
