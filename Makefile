# Guichet — the two commands of the README are `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup check kb run test clean

setup:
	@bash scripts/setup.sh

check: setup
	$(PY) -m bot kb check

kb: setup
	$(PY) -m bot kb build

# Main job (until the bot exists): build the knowledge base and print its summary.
run: kb

test: setup
	$(PY) -m bot kb check
	$(PY) -m pytest -q tests

clean:
	rm -rf var .pytest_cache
