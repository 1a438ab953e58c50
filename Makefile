# The two commands: `make run` (set up and start everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Development defaults for `make run`; the environment can override any of them.
DEV_ENV := DEBUG=$${DEBUG:-1}

.PHONY: run test lint install install-dev migrate seed web worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py createcachetable

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo

## run: install, migrate, load demo data, start web and worker on http://127.0.0.1:8000
run: seed
	$(DEV_ENV) bin/dev

## test: install test requirements and run the whole suite (SQLite unless DATABASE_URL is set)
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: production figures against PostgreSQL and gunicorn; prints a table, writes bench/results.json
## (install-dev: the notification pipeline's SMTP stand-in is aiosmtpd, a test requirement)
bench: install-dev
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q wrk; }; } \
		|| echo "wrk could not be installed: throughput is measured with the Python client"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
