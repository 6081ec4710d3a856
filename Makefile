# The two commands the README promises. Both build their own virtualenv from nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

demo: $(STAMP)
	$(BIN)/python -m examples.demo

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run --repeat 2 --contention --soak 100000 --drain-timeout 300
	$(BIN)/python -m bench.scale

lint: $(STAMP)
	$(BIN)/python -m ruff check alsek tests
	$(BIN)/python -m mypy alsek

clean:
	rm -rf $(VENV) build *.egg-info
