# The two commands a newcomer needs:
#   make demo   a real commit message from a real local model, offline (see README)
#   make test   ruff, mypy and the whole test suite (unit and integration tiers)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check src tests dev bench
	$(BIN)/ruff format --check src tests dev bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m dev.demo
