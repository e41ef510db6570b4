# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app lms
PORT ?= 5000
HOST ?= 127.0.0.1
INSTANCE := instance
# PostgreSQL test workers, each with its own database (0: one process, on LMS_TEST_DATABASE_URL itself)
PG_WORKERS ?= 2

# Debian packages: WeasyPrint's Pango and HarfBuzz subsetting (without libharfbuzz-subset0
# WeasyPrint falls back to a 5x slower font subsetter), and for the tests Chromium,
# poppler (pdftoppm/pdftotext), zbar (QR decoding) and a Java runtime (the Nu HTML checker).
RUN_DEB := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
TEST_DEB := chromium poppler-utils zbar-tools libzbar0 default-jre-headless
# the markup checkers of tests/test_markup.py (axe-core, vnu-jar) from npm, pinned in tests/tools
CHECKERS := tests/tools/node_modules/.installed

.PHONY: run serve worker scheduler test test-pg bench install install-dev sysdeps sysdeps-test sysdeps-npm checkers migrate seed translations secret clean

run: install sysdeps migrate seed
	@echo "Serving on http://$(HOST):$(PORT)  (demo logins: see README.md)"
	LMS_SECRET_KEY="$$(cat $(INSTANCE)/secret_key)" LMS_SESSION_COOKIE_SECURE=false LMS_REMEMBER_COOKIE_SECURE=false LMS_DEMO_SHOW_CODES=true \
	  LMS_BASE_URL="http://$(HOST):$(PORT)" $(FLASK) run --host $(HOST) --port $(PORT)

# Production (README.md, "Production"): the environment gives LMS_SECRET_KEY, LMS_DATABASE_URL and the
# rest; `flask --app lms db upgrade` runs once per release before these start.
define require_env
	@for v in $(1); do [ -n "$${!v}" ] || { echo "$$v is not set (README.md, Production)"; exit 1; }; done
endef

# an app server: gunicorn with gunicorn.conf.py (GUNICORN_BIND, GUNICORN_WORKERS, … there)
serve: install sysdeps
	$(call require_env,LMS_SECRET_KEY LMS_DATABASE_URL)
	$(VENV)/bin/gunicorn -c gunicorn.conf.py

# the RQ workers (bulk certificates, messages, webhooks, "Data saya" copies) with RQ's scheduler
worker: install sysdeps
	$(call require_env,LMS_SECRET_KEY LMS_DATABASE_URL LMS_REDIS_URL)
	$(FLASK) worker

# the periodic work (reminders, retention, a notifications run every minute): one per deployment
scheduler: install
	$(call require_env,LMS_SECRET_KEY LMS_DATABASE_URL)
	$(FLASK) scheduler

test: install-dev sysdeps sysdeps-test checkers translations
	$(PY) -m pytest -q -n 2 --dist loadfile

# the database tests again on PostgreSQL (LMS_TEST_DATABASE_URL, default: local test database)
test-pg: install-dev translations
	LMS_TEST_DATABASE_URL="$${LMS_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}" \
	  $(PY) -m pytest -q -n $(PG_WORKERS) --dist loadfile -m "not browser" -p no:cacheprovider

bench: install-dev sysdeps
	$(PY) -m tests.bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev

# Install missing Debian packages when we can (root or passwordless sudo); otherwise say what is missing.
define ensure_deb
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	    echo "Please install:$$missing (apt-get install -y$$missing)"; exit 1; fi; \
	  ( $$SUDO apt-get install -y -qq $$missing >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; } ) \
	    || { echo "Could not install:$$missing"; exit 1; }; \
	fi
endef

sysdeps:
	$(call ensure_deb,$(RUN_DEB))

sysdeps-test:
	$(call ensure_deb,$(TEST_DEB))

# npm comes with Node.js; Debian's npm package brings both when neither is there
sysdeps-npm:
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory NPM_DEB=npm sysdeps-npm-deb
sysdeps-npm-deb:
	$(call ensure_deb,$(NPM_DEB))

checkers: $(CHECKERS)
# --ignore-scripts: vnu-jar's install script would download a Java runtime; Debian's is used instead
$(CHECKERS): tests/tools/package.json tests/tools/package-lock.json | sysdeps-npm
	npm ci --prefix tests/tools --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# compile the English catalogue (.po -> .mo, not committed); an error stops the build
translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile -f -d lms/translations >/dev/null

secret:
	@mkdir -p $(INSTANCE)
	@[ -s $(INSTANCE)/secret_key ] || { umask 077; $(PY) -c 'import secrets; print(secrets.token_hex(32))' > $(INSTANCE)/secret_key; }

migrate: install secret
	LMS_SECRET_KEY="$$(cat $(INSTANCE)/secret_key)" $(FLASK) db upgrade

seed: migrate
	LMS_SECRET_KEY="$$(cat $(INSTANCE)/secret_key)" $(FLASK) seed-if-empty
	@# the test authority that signs the demo's certificate PDFs, unless LMS_SIGNING_P12 names a real key
	LMS_SECRET_KEY="$$(cat $(INSTANCE)/secret_key)" $(FLASK) certificates dev-keys --if-missing

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis tests/tools/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
