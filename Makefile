# The two commands of a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TRANSLATIONS := crowdsource/translations
# pytest-xdist workers for `make test` (auto: one per CPU; 0: a single process)
TEST_WORKERS ?= auto
export FLASK_APP := crowdsource
# Python keeps compiled modules (and pytest its rewritten tests) in __pycache__: without them
# every process of the suite (workers, servers, commands) compiles the sources again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test typecheck test-fast test-deep test-dates install install-test compile-translations translations lint format worker cron

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-app: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app

install-test: $(VENV)/.installed-test

# Editable installs import the source tree, so its catalogs are compiled here; a built package
# (pip install ., a wheel) compiles its own copy (setup.py).
compile-translations: install
	$(BIN)/pybabel -q compile -d $(TRANSLATIONS)

# Serve the embedded default: SQLite under instance/, jobs inline, mail on the console.
run: install compile-translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask seed-demo-history
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# The whole suite: lint, format check, then tests on SQLite and PostgreSQL (when it answers),
# Redis (when it answers) and Chromium (when installed). REQUIRE_SERVICES=1 turns every
# missing service into a failure.
test: install-test compile-translations typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The money core's types (the files and settings: [mypy] in setup.cfg).
typecheck: install-test
	$(BIN)/mypy

# The edit loop: the tests on SQLite only, without the browser tests and without lint.
# `make test` before a commit still runs everything.
test-fast: install-test compile-translations
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --backend sqlite -m "not browser" $(PYTEST_ARGS)

# The property tests again with the `deep` Hypothesis profile (tests/plugin.py): ten times the
# examples, longer sequences of the stateful escrow machine (.ci/run runs it after `make test`).
PROPERTY_TESTS ?= tests/payments/test_escrow_stateful.py tests/payments/test_commission_properties.py \
	tests/accounts/test_credit_code.py tests/stats/test_disclosure.py tests/stats/test_api_conformance.py \
	tests/payments/test_settlement_properties.py tests/payments/test_chart.py \
	tests/stats/test_intruder.py
test-deep: install-test compile-translations
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --hypothesis-profile=deep \
		$(PROPERTY_TESTS) $(PYTEST_ARGS)

# The date-sensitive tests once more at one moment (TEST_NOW, see tests/clock.py): by default
# the first minute of a year in China, when UTC is still on the last day of the old year, the
# month before is in the previous year and the running month has no complete day yet.
TEST_DATES_NOW ?= 2027-01-01T00:01:00+08:00
DATE_TESTS ?= tests/stats tests/tasks/test_sweep.py tests/test_cli.py tests/disputes \
	tests/contracts tests/notifications tests/bids \
	--ignore=tests/notifications/test_mail_faults.py
test-dates: install-test compile-translations
	TEST_NOW=$(TEST_DATES_NOW) $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal \
		$(DATE_TESTS) $(PYTEST_ARGS)

# After changing visible strings: extract them and update both catalogs.
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching -w 100
	$(BIN)/python tools/fill_en_catalog.py

lint: install-test
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Background work for production (REDIS_URL must be set): a worker, and the periodic sweep.
worker: install
	$(BIN)/flask worker

cron: install
	$(BIN)/rq cron --url "$$REDIS_URL" crowdsource.cron
