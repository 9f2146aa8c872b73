"""Sphinx configuration of initlab's static site.

``docs/sphinx/build.py`` (``make site``) lays the pages out in a staging folder (README, ``docs/*.md``, the
notebooks, the summary, the claims page, the API reference) and builds it with this file. Everything the site
needs is served from its own folder: the Furo theme bundles its CSS and scripts, MathJax 3 is copied into
``_static/mathjax`` from the ``sphinx-mathjax-offline`` package (see ``build.py``), and no notebook is executed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # autodoc documents this checkout, not another installed copy

project = "initlab"
html_title = "initlab"
html_show_copyright = False
root_doc = "index"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]

# Notebooks are shown as committed: their outputs come from `initlab reproduce`, never from this build.
nb_execution_mode = "off"
nb_render_markdown_format = "myst"  # the findings' Markdown outputs hold tables
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no widgets, and their default scripts load from a CDN
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 4  # links such as `testing.md#what-holds-across-machines` resolve as on GitHub

# MathJax from the site's own folder: build.py lays it out in a second static folder, which it adds with
# `-D html_static_path=_static,<folder>`; Sphinx copies both into the site's `_static/`.
mathjax_path = "mathjax/tex-chtml.js"
html_static_path = ["_static"]
html_css_files = ["initlab.css"]

html_theme = "furo"
html_favicon = "favicon.svg"  # without one, browsers ask the server for /favicon.ico and log a 404
html_copy_source = False  # the notebooks' JSON would double the site for nothing a reader uses
html_show_sourcelink = False

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
