# Two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := orchestrator
export DATABASE_URL ?= sqlite:///$(CURDIR)/instance/orchestrator.sqlite3
# The session signing key: SECRET_KEY from the environment wins; otherwise the app reads this file,
# which `make run` writes once (mode 600) and reuses.
export SECRET_KEY_FILE ?= $(CURDIR)/instance/secret_key
HOST ?= 127.0.0.1
PORT ?= 5000
# The suite runs on every CPU (pytest-xdist): each test has its own database, so workers share nothing.
PYTEST_ARGS ?= -n auto

.PHONY: run test venv bench clean screenshots client

$(STAMP): requirements.txt constraints.txt setup.cfg package.json package-lock.json admin/static/modeler-entry.js
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pybabel compile -d admin/translations
	# bpmn-js for the back office's diagrams (served from node_modules; the pages fall back to a
	# server-side SVG rendering when it is missing)
	if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the back office will show server-rendered diagrams only"; fi
	# the modeler with its properties panel: one bundle (esbuild, from node_modules) in build/, git-ignored
	if [ -x node_modules/.bin/esbuild ]; then npx --no-install esbuild admin/static/modeler-entry.js --bundle \
	  --minify --format=iife --target=es2019 --log-level=warning --outfile=build/admin-assets/modeler.bundle.js; \
	else echo "esbuild missing: the modeler opens without its properties panel"; fi
	# DejaVu fonts: the Vietnamese glyphs of the PDF documents (Debian's fonts-dejavu-core)
	if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y --no-install-recommends fonts-dejavu-core || \
	     (apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core) || \
	     echo "could not install fonts-dejavu-core: PDF documents will lack Vietnamese glyphs"); \
	  else echo "fonts-dejavu-core missing: install it for the PDF documents"; fi; \
	fi
	# Debian's chromium for the browser tests (never a downloaded browser build)
	if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y --no-install-recommends chromium || \
	     (apt-get update && apt-get install -y --no-install-recommends chromium) || \
	     echo "could not install chromium: browser tests will be skipped (and fail when CI=true)"); \
	  else echo "chromium missing: install it (apt-get install chromium) to run the browser tests"; fi; \
	fi
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	mkdir -p instance
	[ -n "$$SECRET_KEY" ] || [ -s "$$SECRET_KEY_FILE" ] || (umask 077 && \
	  $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > "$$SECRET_KEY_FILE")
	$(BIN)/flask init-db
	$(BIN)/flask load-examples
	@echo "Server: http://$(HOST):$(PORT)/  (API under /api/v1, back office under /admin); worker started alongside"
	$(BIN)/flask worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A typed Python client generated from the OpenAPI document (examples/portal_flow.py uses it).
client: $(STAMP)
	mkdir -p build/client
	SECRET_KEY=$$($(BIN)/python -c "import secrets; print(secrets.token_hex(32))") \
	  $(BIN)/flask openapi write --format json build/openapi.json
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/openapi-python-client generate --path build/openapi.json --meta none \
	  --output-path build/client/orchestrator_api_client --overwrite
	@echo "Generated build/client/orchestrator_api_client; try: $(BIN)/python examples/portal_flow.py --api-key ok_..."

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

screenshots: $(STAMP)
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q $(wildcard tests/test_*browser.py)

clean:
	rm -rf $(VENV) instance .pytest_cache build
