# Two front doors: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[asyncpg]" "pytest-asyncio>=0.23"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/python -m pytest examples -v -p no:cacheprovider

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check tripwire tripwire_core tripwire_drivers tests examples benchmarks
	$(BIN)/ruff format --check tripwire tripwire_core tripwire_drivers tests examples benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy
	$(BIN)/mypy --strict tests/typecheck

pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# Not part of `make test`: a few minutes, and the numbers are for reading.
bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
