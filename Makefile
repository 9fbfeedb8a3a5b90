# Reachkit — the menu. `make run` starts the whole product; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= 8000
MAILSINK_PORT ?= 1025
# The suite runs in one process per core (pytest-xdist); PYTEST_ARGS="-n 0" runs it in one.
PYTEST_ARGS ?= -n auto

export PATH := $(BIN):$(PATH)

.PHONY: help run manage test lint fmt bench fuzz install install-dev

help:
	@echo "make run    start web, workers, beat and a mail sink on SQLite + a file broker (http://127.0.0.1:$(PORT))"
	@echo "make manage ARGS=\"send_due\"   a manage.py command with the settings of the last make run"
	@echo "make test   run the whole suite (DATABASE_URL / CELERY_BROKER_URL pick real services)"
	@echo "make lint   ruff, formatting, mypy, the import contracts and the migrations check"
	@echo "make fmt    format and auto-fix"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make fuzz   fuzz every API operation of a live server on PostgreSQL (Schemathesis, .ci/fuzz)"

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit("Reachkit needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed-run: $(VENV)/.python-ok requirements.txt
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

# make run's development environment, in one place: `run` starts with it, and records it in
# $(RUN_ENV) for the commands run beside it (`make manage ARGS=…`, reachkit/devenv.py).
# $(RUN_ENV) itself is made from these defaults when `make manage` comes before any `make run`.
RUN_ENV ?= var/run.env
DEV := run $(RUN_ENV)
$(DEV): export REACHKIT_DEBUG := 1
$(DEV): export PORT := $(PORT)
$(DEV): export REACHKIT_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
$(DEV): export MAILSINK_PORT := $(MAILSINK_PORT)
# The demo's emails show up one a minute instead of one every 3-7 minutes (the default, for
# real mailboxes). Sending from your own inboxes with make run? Set it back:
# REACHKIT_SEND_GAP_SECONDS=180,420 make run
$(DEV): export REACHKIT_SEND_GAP_SECONDS ?= 20,40
# Inbox hosts may not resolve to private or loopback addresses, except in these networks:
# the demo inbox sends to the mail sink on 127.0.0.1. Add your own mail server's network, or
# set it to nothing to try the production default.
$(DEV): export REACHKIT_INBOX_ALLOWED_NETWORKS ?= 127.0.0.0/8
# Webhooks may go to a receiver on this machine or your network (production: public only).
$(DEV): export REACHKIT_WEBHOOK_ALLOW_PRIVATE ?= 1
# Each process's lines show as they happen, not when a pipe's buffer fills.
run: export PYTHONUNBUFFERED := 1
# runserver's warning that it is a development server: this is one, and the README says so.
run: export DJANGO_RUNSERVER_HIDE_WARNING := true
# The Procfile's processes under honcho, stopped cleanly by Ctrl-C (reachkit/devrun.py).
run: $(VENV)/.installed-run
	@python -m reachkit.devenv $(RUN_ENV)
	python manage.py migrate --noinput -v0
	python manage.py setup_demo
	python -m reachkit.devrun --port $(PORT)

$(RUN_ENV): | $(VENV)/.installed-run
	@python -m reachkit.devenv $(RUN_ENV)

# Any manage.py command with the settings of the last `make run` (its port in links, its send
# gap, its database): make manage ARGS="send_due", make manage ARGS="create_api_key --workspace
# Acme --name zapier". Variables set on the command line still win.
manage: $(RUN_ENV) $(VENV)/.installed-run
	@REACHKIT_ENV_FILE=$(RUN_ENV) python manage.py $(ARGS)

test: $(VENV)/.installed-dev
	python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	ruff check .
	ruff format --check .
	mypy reachkit blocklist campaigns leads inboxes unibox
	lint-imports
	DJANGO_SETTINGS_MODULE=tests.settings python manage.py makemigrations --check --dry-run

fmt: $(VENV)/.installed-dev
	ruff format .
	ruff check --fix .

# A throwaway PostgreSQL database (FUZZ_DATABASE, default reachkit_fuzz) on FUZZ_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432); FUZZ_SEED and FUZZ_MAX_EXAMPLES as you like.
fuzz: $(VENV)/.installed-dev
	.ci/fuzz

bench: $(VENV)/.installed-dev
	@for script in bench/[!_]*.py; do echo "== $$script"; python $$script || exit 1; done
