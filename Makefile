# Two commands do everything (see README.md):
#   make reproduce   set up if needed, then run the full reproduction
#   make test        set up if needed, then ruff (lint and format check) and the whole test suite
# Set-up is idempotent: a virtual environment in .venv, the package with its
# test extra, and Debian's dataset-fashion-mnist where apt is available.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.initlab-installed
FASHION = /usr/share/datasets/fashion-mnist

.PHONY: setup reproduce reproduce-quick test data lint

setup: $(STAMP) $(FASHION)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's package of Fashion-MNIST; skipped (with a note) where apt is not usable, and
# never fatal: if apt-get fails (no network, dpkg locked, sudo refused) make goes on.
APT_NOTE = note: apt-get could not install dataset-fashion-mnist; Fashion-MNIST will come from INITLAB_DATA or a download

$(FASHION):
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; } \
	    || echo "$(APT_NOTE)"; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	  { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; } \
	    || echo "$(APT_NOTE)"; \
	else \
	  echo "note: apt not available; Fashion-MNIST will come from INITLAB_DATA or a download"; \
	fi

# Finds every dataset (INITLAB_DATA, data/, Debian, Keras cache), downloading what is missing.
data: setup
	$(VENV)/bin/initlab data fetch

reproduce: data
	$(VENV)/bin/initlab reproduce

reproduce-quick: data
	$(VENV)/bin/initlab reproduce --quick

# ruff first (lint, then formatting), then the whole suite.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: data lint
	INITLAB_OFFLINE=1 $(PY) -m pytest
