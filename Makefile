# The two commands of the README, and a few helpers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format schema bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

## make run: install, migrate, seed the demo organization, print the logins, serve on localhost.
run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: install, then run the whole suite with coverage of apps/.
test: $(BIN)/.installed
	$(BIN)/python -m pytest --create-db --cov --cov-report=term $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(BIN)/.installed
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file schema.yml

bench: $(BIN)/.installed
	bash bench/run.sh

clean:
	rm -rf $(VENV) .coverage htmlcov staticfiles
