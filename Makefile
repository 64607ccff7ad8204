# The project's commands: run, test, validate, bench, deploy. Each installs what it needs first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test validate bench deploy system-deps test-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip 2> >(grep -v '^WARNING: Location' >&2)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2> >(grep -v '^WARNING: Location' >&2)
	@touch $(STAMP)

# Native libraries weasyprint needs (pango, harfbuzz's subsetter for fast font subsetting, fonts);
# installed with apt-get when we are root and they are missing.
system-deps:
	@missing=""; \
	for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do \
	  ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing PDF libraries:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fontconfig >/dev/null; \
	  else echo "warning: missing$$missing; install pango, libharfbuzz-subset0 and fonts-dejavu-core"; fi; \
	fi

# Debian's Chromium for the dashboard's browser tests and the PDF benchmark's baseline (never a browser download
# of Playwright's own), qpdf for the Factur-X file checks, and ApacheBench (apache2-utils) as the latency
# benchmark's load; installed with apt-get when we are root and they are missing.
test-deps: system-deps
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium chromium-driver"; \
	command -v qpdf >/dev/null || missing="$$missing qpdf"; \
	command -v ab >/dev/null || missing="$$missing apache2-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing test tools:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $$missing >/dev/null; \
	  else echo "warning: missing$$missing: the browser, Factur-X file and benchmark smoke tests will fail"; fi; \
	fi

## make run: the local stack with demo data on http://127.0.0.1:3000 (Ctrl-C stops it all)
run: $(STAMP) system-deps
	$(VENV)/bin/billing stack

## make test: make validate, then the whole suite on real PostgreSQL, Redis, moto S3 and an SMTP sink
test: $(STAMP) test-deps validate
	$(PY) -m pytest $(PYTEST_ARGS)

## make validate: sam validate --lint and cfn-lint, with aws-sam-cli in its own virtualenv
validate:
	@bash .ci/validate

## make bench: the benchmarks (JSON on stdout and in bench/results/latest.json); never part of make test
bench: $(STAMP) test-deps
	$(PY) -m bench

## make deploy: sam build && sam deploy with the dev profile (STAGE=prod for prod)
STAGE ?= dev
deploy: validate
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-3} .venv-sam/bin/sam build && \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-3} .venv-sam/bin/sam deploy --config-env $(STAGE)

clean:
	rm -rf .aws-sam .pytest_cache bench/results
