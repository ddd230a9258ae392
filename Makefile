# Tally: `make run` to try it, `make test` to test it. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= full
PYTEST_ARGS ?=

.PHONY: run test bench install clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tally needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(BIN)/.installed

# The demo runs in development mode (generated secrets, demo logins); DEBUG is off by default.
run: export DEBUG ?= 1
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --simulator-port $${TALLY_SIMULATOR_PORT:-8001}
	$(BIN)/python manage.py run_tally

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf $(VENV) var
