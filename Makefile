# bestby: two commands. `make demo` sets up and runs the sample workspace;
# `make test` installs the test dependencies and runs the whole suite on
# SQLite and on PostgreSQL ($BESTBY_TEST_POSTGRES_URL).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
BESTBY_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
TEST_HOME := $(CURDIR)/.bestby-test

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

demo: install
	BESTBY_HOME=$${BESTBY_HOME:-$(CURDIR)/demo-home} $(BIN)/bestby demo

test: install-test
	rm -rf $(TEST_HOME) && mkdir -p $(TEST_HOME)
	BESTBY_HOME=$(TEST_HOME) BESTBY_DATABASE_URL=sqlite:///$(TEST_HOME)/bestby.sqlite3 $(BIN)/python -m pytest
	BESTBY_HOME=$(TEST_HOME) BESTBY_DATABASE_URL=$(BESTBY_TEST_POSTGRES_URL) BESTBY_TEST_PASS=postgres $(BIN)/python -m pytest

bench: install-test
	$(BIN)/python bench/bench_synth.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_pages.py
	$(BIN)/python bench/bench_forecast.py
	$(BIN)/python bench/bench_crm_import.py
	$(BIN)/python bench/stress.py --db sqlite --seconds 300
	$(BIN)/python bench/stress.py --db postgres --seconds 300 --postgres-url $(BESTBY_TEST_POSTGRES_URL)

clean:
	rm -rf $(VENV) $(TEST_HOME) demo-home
