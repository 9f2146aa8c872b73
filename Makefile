# Two commands do everything (see README.md):
#   make reproduce   set up if needed, then run the full reproduction
#   make test        set up if needed, then ruff (lint and format check) and the whole test suite
# and one shows the results:
#   make site        set up if needed, then build the static site into site/ (open site/index.html)
# Set-up is idempotent: a virtual environment in .venv, the package with its
# test extra, and Debian's dataset-fashion-mnist, chromium and chromium-driver
# (the site's browser tests) where apt is available; the site extra on demand.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.initlab-installed
SITE_STAMP = $(VENV)/.initlab-site-installed
FASHION = /usr/share/datasets/fashion-mnist
CHROMEDRIVER = /usr/bin/chromedriver

.PHONY: setup reproduce reproduce-quick test data lint site

setup: $(STAMP) $(FASHION) $(CHROMEDRIVER)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# $(call apt_install,PACKAGES,NOTE,NO_APT_NOTE): Debian packages, as root or through sudo; skipped
# (with a note) where apt is not usable, and never fatal: if apt-get fails (no network, dpkg locked,
# sudo refused) make goes on.
define apt_install
@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; } \
    || echo "$(2)"; \
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
  { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; } \
    || echo "$(2)"; \
else \
  echo "$(3)"; \
fi
endef

# Debian's package of Fashion-MNIST.
APT_NOTE = note: apt-get could not install dataset-fashion-mnist; Fashion-MNIST will come from INITLAB_DATA or a download

$(FASHION):
	$(call apt_install,dataset-fashion-mnist,$(APT_NOTE),note: apt not available; Fashion-MNIST will come from INITLAB_DATA or a download)

# Headless Chromium and its driver for the site's browser tests (tests/site), which skip with a note without them.
BROWSER_NOTE = note: apt-get could not install chromium and chromium-driver; the site's browser tests will be skipped

$(CHROMEDRIVER):
	$(call apt_install,chromium chromium-driver,$(BROWSER_NOTE),note: apt not available; the site's browser tests will be skipped)

# The site extra (Sphinx, MyST-NB, Furo, MathJax), installed on first use.
$(SITE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[site]'
	touch $(SITE_STAMP)

# The static site: the notebooks as committed (nothing is executed), docs/, the summary, the claims and
# the API reference, built by Sphinx with warnings as errors into site/.
site: $(SITE_STAMP)
	$(PY) docs/sphinx/build.py --out site

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

test: data lint $(SITE_STAMP)
	INITLAB_OFFLINE=1 $(PY) -m pytest
