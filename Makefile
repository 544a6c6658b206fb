# medshare: two commands matter, `make demo` and `make test` (`make test-fast`: unit tests only).
# Everything downloaded or built (Python wheels, Kafka jars, server binaries) is cached
# under MEDSHARE_CACHE, so a second run on the same machine starts in seconds.

MEDSHARE_CACHE ?= $(HOME)/.cache/medshare
export MEDSHARE_CACHE
export UV_CACHE_DIR := $(MEDSHARE_CACHE)/uv
export UV_LINK_MODE := copy
PYTHON ?= python3
BOOTSTRAP := $(MEDSHARE_CACHE)/bootstrap
UV := $(BOOTSTRAP)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
MEDSHARE := $(VENV)/bin/medshare
PACKAGES := -e shared -e infra/local -e services/ingest -e services/anonymizer -e services/inference -e services/catalog -e infra/bench
STAMP := $(VENV)/.installed

.PHONY: install system-packages demo test test-fast check-chart lint infra-up infra-down infra-status clean

install: $(STAMP) system-packages

# Debian peers the tests drive for real (dcmtk's storescu, headless Chromium).
system-packages:
	@infra/local/system-packages.sh

$(UV):
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv

$(STAMP): $(UV) shared/pyproject.toml infra/*/pyproject.toml services/*/pyproject.toml tests/requirements.txt
	test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) $(PACKAGES) -r tests/requirements.txt
	touch $(STAMP)

demo: install
	$(MEDSHARE) demo

test: install
	$(PY) -m pytest

# The unit tests only (pure logic, no servers), without the detector's training: under a
# minute. `make test` runs those too.
test-fast: install
	$(PY) -m pytest tests/unit -q -p no:randomly -m "not slow"

# The Helm chart, without a cluster: lint, render, schemas, invariants (builds helm once).
check-chart: install
	$(PY) -m pytest tests/deploy -q

lint: install
	$(VENV)/bin/ruff check shared services infra tests
	$(VENV)/bin/ruff format --check shared services infra tests
	$(VENV)/bin/mypy

infra-up: install
	$(MEDSHARE) infra up

infra-down: install
	$(MEDSHARE) infra down

infra-status: install
	$(MEDSHARE) infra status

clean:
	rm -rf $(VENV)
