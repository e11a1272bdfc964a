# Two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := orchestrator
export DATABASE_URL ?= sqlite:///$(CURDIR)/instance/orchestrator.sqlite3
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv bench clean

$(STAMP): requirements.txt setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	mkdir -p instance
	$(BIN)/flask init-db
	$(BIN)/flask load-examples
	@echo "Server: http://$(HOST):$(PORT)/  (API under /api/v1, back office under /admin); worker started alongside"
	$(BIN)/flask worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/step_throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
