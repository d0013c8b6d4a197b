# The two commands of the quick start are `make demo` and `make test`; both set up .venv first.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-newest-moto test-minimum lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/rdsca demo

test: venv
	scripts/system-deps.sh
	$(BIN)/pytest

# The sandbox on the newest moto, past the pin (CI runs it after `make test`).
test-newest-moto:
	scripts/newest-moto.sh

# The suite on the minimum version of every runtime dependency: the lower bounds are true.
test-minimum:
	scripts/minimum-versions.sh

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .venv-newest-moto .venv-minimum .pytest_cache .mypy_cache .ruff_cache
