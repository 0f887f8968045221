# Dropgate build. `make demo` and `make test` are the two commands the README promises;
# both work on a fresh machine (as root, `system-deps` installs the Debian packages).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_PY := $(VENV)/bin/python
# Written after a successful install; re-install only when pyproject.toml is newer.
VENV_STAMP := $(VENV)/.dropgate-installed

# The first interpreter that is at least 3.11, preferring python3.11 itself.
PYTHON_CANDIDATES ?= python3.11 python3.12 python3.13 python3
PYTHON ?= $(shell for c in $(PYTHON_CANDIDATES); do \
	p=$$(command -v $$c 2>/dev/null) || continue; \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
	done)

# Debian packages the suite needs: Chromium for browser tests, SoftHSM2 for the HSM keystore,
# redis-server for the Redis tests of a run that has no REDIS_URL (a private one on a free port).
SYSTEM_PACKAGES ?= chromium softhsm2 redis-server

JS_DIR := static/js
MYPY_TARGETS := paywall channels_app fraud disputes compliance ops agents clients/approver/dropgate_approver.py

# The suite keeps its SQLite files, broker queue and generated secrets apart from the
# demo's (./var) unless the caller chose a data dir.
TEST_DATA_DIR ?= $(CURDIR)/var/test
# Key-encryption keys the suite generates (one per data dir), apart from the data dirs and out
# of the user's own config dir.
TEST_SECRETS_DIR ?= $(CURDIR)/var/test-secrets
PYTEST_ARGS ?=

.PHONY: help venv system-deps js js-test lint format test audit demo migrate clean distclean

help:
	@echo "make demo         run the demo (paywall service + demo publisher site)"
	@echo "make test         set up everything needed and run the test suite (PYTEST_ARGS=...)"
	@echo "make lint         ruff check, ruff format --check, mypy"
	@echo "make audit        known vulnerabilities in the pinned Python and npm dependencies (AUDIT_ARGS=...)"
	@echo "make format       ruff format and ruff check --fix"
	@echo "make venv         create .venv and install the project with its dev extras"
	@echo "make system-deps  as root, apt-get install: $(SYSTEM_PACKAGES)"
	@echo "make js           build the browser SDK in $(JS_DIR) (when it exists)"
	@echo "make migrate      apply database migrations to the configured database"
	@echo "make clean        remove caches and test state; distclean also removes .venv and var/"

# --- Python -----------------------------------------------------------------------------------

venv: $(VENV_STAMP)

$(VENV_PY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "venv: no Python >= 3.11 found (tried: $(PYTHON_CANDIDATES))" >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(VENV_STAMP): pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# The off-the-shelf x402 v2 XRPL client the agents interop test pays with, unchanged. Its
	# own pins (fastapi<0.116, uvicorn<0.31, openai, google-cloud-storage…) are for its server
	# half and clash with ours; its client half needs only xrpl-py, requests and pydantic.
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check --no-deps 'x402-xrpl==0.3.4'
	@touch $@

# --- System packages --------------------------------------------------------------------------

# Fast when everything is present: one dpkg-query per package, no apt.
system-deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "system-deps: not a Debian system; install by hand: $(SYSTEM_PACKAGES)"; exit 0; fi; \
	missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "system-deps: missing:$$missing (not root, skipping; tests that need them will skip or fail)"; \
		exit 0; fi; \
	echo "system-deps: installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing </dev/null

# --- Browser SDK ------------------------------------------------------------------------------

# npm installs only when package.json or the lock changed; the build itself always runs.
js:
	@if [ ! -f $(JS_DIR)/package.json ]; then \
		echo "js: $(JS_DIR)/package.json not present yet, nothing to build"; exit 0; fi; \
	cd $(JS_DIR); \
	stamp=node_modules/.dropgate-installed; \
	if [ ! -f $$stamp ] || [ package.json -nt $$stamp ] \
		|| { [ -f package-lock.json ] && [ package-lock.json -nt $$stamp ]; }; then \
		if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
		else npm install --no-audit --no-fund; fi || exit 1; \
		touch $$stamp; \
	fi; \
	npm run build --if-present

# --- Checks -----------------------------------------------------------------------------------

# All three run even when one fails, so one pass reports every problem.
lint: venv
	@rc=0; \
	for cmd in "ruff check ." "ruff format --check ." "mypy $(MYPY_TARGETS)"; do \
		echo "$(VENV)/bin/$$cmd"; $(VENV)/bin/$$cmd || rc=1; \
	done; \
	exit $$rc

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The SDK's own unit tests (vitest under Node).
js-test: js
	@if [ -f $(JS_DIR)/package.json ]; then cd $(JS_DIR) && npm test --silent; fi

# SDK=0 skips building and unit-testing the SDK first (CI does both once, before its suites).
SDK ?= 1
test: venv system-deps $(if $(filter 0,$(SDK)),,js js-test)
	DROPGATE_DATA_DIR="$${DROPGATE_DATA_DIR:-$(TEST_DATA_DIR)}" \
	DROPGATE_SECRETS_DIR="$${DROPGATE_SECRETS_DIR:-$(TEST_SECRETS_DIR)}" \
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

# Exit 0 clean, 1 vulnerable, 3 some packages could not be checked (no advisory service
# reached), 2 the audit could not run; AUDIT_ARGS=--allow-unchecked accepts 3.
AUDIT_ARGS ?=
audit: venv
	$(VENV_PY) -m scripts.supply_chain $(AUDIT_ARGS)

# --- Running ----------------------------------------------------------------------------------

demo: venv js
	$(VENV_PY) -m scripts.demo

migrate: venv
	$(VENV_PY) manage.py migrate --noinput

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache var/test var/test-secrets var/ci-embedded var/ci-postgres
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var $(JS_DIR)/node_modules *.egg-info
