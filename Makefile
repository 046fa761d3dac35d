# Datatorg — two commands: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# make demo SIMULATE=1: also run the MQTT broker, the sensor ingest worker and the simulator
SIMULATE ?=

.PHONY: install demo serve test lint typecheck pytest pytest-sqlite pytest-postgresql system-deps bench messages migration clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## The platform with the Halden demo world, on SQLite and a local lake under ./var
demo: install
	mkdir -p var
	$(BIN)/datatorg db upgrade
	$(BIN)/datatorg demo load
	$(BIN)/datatorg serve --host $(HOST) --port $(PORT) $(if $(SIMULATE),--simulate,)

serve: install
	$(BIN)/datatorg serve --host $(HOST) --port $(PORT)

## Debian packages the test suite drives for real: PostgreSQL, Chromium, Mosquitto
system-deps:
	@bash scripts/system-deps.sh

test: install system-deps lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

pytest: pytest-sqlite pytest-postgresql

pytest-sqlite: install
	$(BIN)/pytest -p no:cacheprovider

# The same suite against a real PostgreSQL server started by tests/pg.py (browser tests ran above).
pytest-postgresql: install
	DATATORG_TEST_DB=postgresql $(BIN)/pytest -p no:cacheprovider -m "not browser"

bench: install system-deps
	$(BIN)/python -m bench

## Developer helpers
messages: install
	$(BIN)/pybabel extract -F babel.cfg -o src/datatorg/web/locale/messages.pot src
	$(BIN)/pybabel update -i src/datatorg/web/locale/messages.pot -d src/datatorg/web/locale -l nb --no-fuzzy-matching
	$(BIN)/python scripts/translate.py || echo "translate the strings above in src/datatorg/web/locale/nb/LC_MESSAGES/messages.po"

migration: install
	$(BIN)/datatorg db revision -m "$(m)"

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf var .mypy_cache .ruff_cache
