# Everything runs from the project's own virtual environment, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: install demo test test-sqlite test-postgres lint format migrations-check messages bench run clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Moonvault needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	DEBUG=1 $(BIN)/moonvault migrate --noinput
	DEBUG=1 $(BIN)/moonvault load-demo
	DEBUG=1 $(BIN)/moonvault runserver 127.0.0.1:$(PORT)

run: $(STAMP)
	DEBUG=1 $(BIN)/moonvault runserver 127.0.0.1:$(PORT)

test: $(STAMP) test-sqlite test-postgres

test-sqlite: $(STAMP)
	@echo "== tests on SQLite"
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== tests on PostgreSQL ($(PG_URL))"
	@if $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' '$(PG_URL)' 2>/dev/null; then \
		DATABASE_URL='$(PG_URL)' $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_URL) is not reachable, and CI requires it."; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL at $(PG_URL) is not reachable; only the SQLite run counted."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(STAMP)
	DEBUG=1 $(BIN)/moonvault makemigrations --check --dry-run

# Refresh the Chinese catalog from the code, then compile it; translate new entries in between.
messages: $(STAMP)
	DEBUG=1 $(BIN)/moonvault makemessages -l zh_Hans --no-obsolete -i .venv -i tests -i var -i build -i bench
	DEBUG=1 $(BIN)/moonvault compilemessages -l zh_Hans -i .venv

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build src/*.egg-info
