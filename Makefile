# Django Automations: development entry points.
#
#   make run      install into $(VENV), migrate, load the demo, serve http://127.0.0.1:8000 (DJANGO_DEBUG=1)
#   make test     install into $(VENV) and axe-core into node_modules (npm), system checks,
#                 migrations check, ruff, mypy, pytest
#   make test-bench  the benchmarks' smoke runs (pytest -m bench), which `make test` leaves out
#   make bench    run the benchmarks (BENCH_ARGS="--peers" side by side with DBOS and Viewflow,
#                 BENCH_ARGS="--embedded" wake-ups in embedded mode; see bench/README.md)
#
# Variables (override on the command line, e.g. `make test VENV=.venv-py311 PYTHON=python3.11`):
#   VENV         virtual environment directory (created on first use)
#   PYTHON       interpreter that creates $(VENV); empty: the newest Python >= $(PY_MIN) found
#   PY_MIN       lowest Python version accepted when searching (default 3.11)
#   PY_MAX       highest Python minor version accepted when searching (default: any)
#   PYTEST_ARGS  extra arguments for pytest, e.g. PYTEST_ARGS="-x -k scheduler"
#   EXTRAS       extras installed into $(VENV) (default test,cms; CI also checks plain `test`)
#   SERVE        management command that serves the site in `make run`
#   ADDR         address `make run` serves on

VENV ?= .venv
EXTRAS ?= test,cms
PYTHON ?=
PY_MIN ?= 3.11
PY_MAX ?= 3.99
PYTEST_ARGS ?=
BENCH_ARGS ?=
SERVE ?= automation_server
ADDR ?= 127.0.0.1:8000

VENV_PYTHON := $(VENV)/bin/python
# axe-core, which the browser tests load into every page to check its accessibility.
AXE := node_modules/axe-core/axe.min.js

# manage.py defaults to the site settings and pytest reads tests.settings from pyproject.toml;
# a DJANGO_SETTINGS_MODULE left in the caller's environment would silently override both.
unexport DJANGO_SETTINGS_MODULE

SHELL := /bin/bash
comma := ,
VENV_STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
py_min_tuple := ($(subst .,$(comma),$(PY_MIN)))
py_max_tuple := ($(subst .,$(comma),$(PY_MAX)))

# Prints "X.Y.Z /path/to/python" for each interpreter in [PY_MIN, PY_MAX], oldest first.
# Candidates: every CPython that pyenv knows (its bare shims like python3.12 only work for the
# active pyenv version, so the real binaries are used), then python3.x and python3 on PATH.
# Each candidate is asked for its own version; ones that do not run are skipped.
define find_pythons
{ \
  if command -v pyenv >/dev/null 2>&1; then \
    root=$$(pyenv root); \
    for v in $$(pyenv versions --bare --skip-aliases 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$$'); do \
      echo "$$root/versions/$$v/bin/python3"; \
    done; \
  fi; \
  for n in python3.14 python3.13 python3.12 python3.11 python3; do command -v $$n; done; \
} 2>/dev/null | while read -r p; do \
  "$$p" -c 'import sys; v = sys.version_info; $(py_min_tuple) <= v[:2] <= $(py_max_tuple) and print("%d.%d.%d" % v[:3], sys.executable)' </dev/null 2>/dev/null; \
done | sort -u -V
endef

.DEFAULT_GOAL := help
.PHONY: help venv test test-bench run bench clean distclean which-python

help:
	@echo "make run           install into $(VENV), migrate, load the demo, serve http://$(ADDR)"
	@echo "make test          install into $(VENV) (and axe-core with npm), checks, migrations check, ruff, mypy, pytest"
	@echo "make test-bench    the benchmarks' smoke runs (left out of make test)"
	@echo "make bench         run the benchmarks"
	@echo "make venv          create or update $(VENV) only"
	@echo "make which-python  print the interpreter that would create a new venv"
	@echo "make clean         remove caches, build artifacts and the test database"
	@echo "make distclean     clean, and remove the virtual environments and db.sqlite3"

which-python:
	@if [ -n "$(PYTHON)" ]; then command -v "$(PYTHON)" || { echo "PYTHON=$(PYTHON) not found" >&2; exit 1; }; \
	else \
	  found=$$($(find_pythons) | tail -n 1 | cut -d' ' -f2-); \
	  if [ -z "$$found" ]; then echo "No Python between $(PY_MIN) and $(PY_MAX) found." >&2; exit 1; fi; \
	  echo "$$found"; \
	fi

venv: $(VENV_STAMP)
	@:

# The stamp is rebuilt (pip install re-run) when pyproject.toml changes. An existing $(VENV)
# is reused whatever interpreter made it: remove it (make distclean) to switch interpreters.
$(VENV_STAMP): pyproject.toml
	@if [ ! -x "$(VENV_PYTHON)" ] || ! "$(VENV_PYTHON)" -c '' 2>/dev/null; then \
	  py="$$($(MAKE) --no-print-directory -s which-python)" || exit 1; \
	  echo "Creating $(VENV) with $$py ($$("$$py" -c 'import platform; print(platform.python_version())'))"; \
	  rm -rf "$(VENV)"; \
	  "$$py" -m venv "$(VENV)" || exit 1; \
	fi
	$(VENV_PYTHON) -m pip install --progress-bar off -e ".[$(EXTRAS)]"
	@touch $@

# axe-core at the version of package-lock.json. Without npm the accessibility tests skip, except
# in CI and with ATM_REQUIRE_SERVICES=1, where they fail.
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "npm not found: the accessibility tests (tests/people/test_accessibility.py) will skip." >&2; \
	fi

# The site's settings are production settings unless DJANGO_DEBUG=1: the checks of the development
# setup run with it; pytest runs without it (tests/settings.py has a key of its own, and the
# production settings are checked by tests/test_deploy_settings.py). mypy keeps its cache in $(VENV):
# each venv has a Django of its own, and django-stubs reads the models from it.
test: venv $(AXE)
	@mkdir -p var
	DJANGO_DEBUG=1 $(VENV_PYTHON) manage.py check
	DJANGO_DEBUG=1 $(VENV_PYTHON) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --cache-dir $(VENV)/.mypy_cache automations consumers
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The benchmarks' smoke runs: each benchmark runs once, small, to show that it still works.
test-bench: venv
	@mkdir -p var
	$(VENV)/bin/pytest -m bench $(PYTEST_ARGS)

# The demo is a development site: DEBUG on, the demo secret key, demo users with known passwords.
run: export DJANGO_DEBUG = 1
run: venv
	$(VENV_PYTHON) manage.py migrate --noinput
	$(VENV_PYTHON) manage.py load_demo
	$(VENV_PYTHON) manage.py $(SERVE) $(ADDR)

bench: venv
	$(VENV_PYTHON) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv .venv-py311 .venv-py312plus $(VENV) node_modules db.sqlite3 db.sqlite3-shm db.sqlite3-wal
