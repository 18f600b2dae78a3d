# Two commands matter: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the service on an embedded SQLite database, migrated and seeded when empty.
run: $(STAMP)
	$(BIN)/portal migrate
	$(BIN)/portal seed --if-empty
	$(BIN)/portal serve --host $(HOST) --port $(PORT)

## The whole suite: lint, format check, types, tests (SQLite, or PostgreSQL when
## PORTAL_TEST_DATABASE_URL is set).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## Regenerate the checked-in schema snapshot.
schema: $(STAMP)
	$(BIN)/portal schema > schema.graphql

## Benchmarks (not tests): results under bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.file_import
	$(BIN)/python -m bench.billing_run
	$(BIN)/python -m bench.delinquency_run
	bash bench/billing_postgres.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
