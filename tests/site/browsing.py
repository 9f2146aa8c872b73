"""What the site's browser tests share: where things are, and one visit of a page in Chromium."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTEFACTS = ROOT / "site-artefacts"
VIEWPORT = (1280, 900)
NOTES: list[str] = []  # printed at the end of the run by conftest.py


def load_builder():
    """``docs/sphinx/build.py``, the module ``make site`` runs."""
    spec = importlib.util.spec_from_file_location("initlab_site_build", ROOT / "docs" / "sphinx" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def skip_with_note(reason: str) -> None:
    """Skip, and say why at the end of the run as well as in the skip's reason."""
    if reason not in NOTES:
        NOTES.append(reason)
    pytest.skip(reason)


# Everything one visit learns about a page, in one script: ids, links, images not decoded, elements that
# stick out of the viewport outside a scroll container, whether the page scrolls sideways, and its math.
PAGE_SCRIPT = """
const done = arguments[arguments.length - 1];
const imgs = [...document.images];
imgs.forEach(i => { i.loading = 'eager'; });
Promise.all(imgs.map(i => i.decode().then(() => null, () => i.currentSrc || i.src))).then(async undecoded => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const width = document.documentElement.clientWidth;
  const inScroller = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('table, figure, img, pre, div.math')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1 && !inScroller(e); })
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.')
              + ' right=' + Math.round(e.getBoundingClientRect().right));
  done({
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    undecoded: undecoded.filter(x => x !== null),
    images: imgs.length,
    wide: wide,
    scroll_width: document.documentElement.scrollWidth,
    width: width,
    math: document.querySelectorAll('.math').length,
    math_rendered: document.querySelectorAll('.math mjx-container').length,
    math_errors: document.querySelectorAll('mjx-merror').length,
  });
});
"""


@dataclass
class Page:
    """One page as the browser saw it."""

    path: str
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def network(driver) -> tuple[list[str], list[str]]:
    """Every URL requested since the last call, and those that failed (status >= 400 or no response)."""
    urls: dict[str, str] = {}
    failed = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.responseReceived":
            response = params["response"]
            if response["status"] >= 400:
                failed.append(f"{response['status']} {response['url']}")
        elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{params.get('errorText')} {urls.get(params['requestId'], params['requestId'])}")
    return list(urls.values()), failed


def html_pages(site: Path) -> list[str]:
    """Every HTML page of the site, as a path from its root."""
    skip = {"_static", "_images", "_sources", "_downloads"}
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if not skip & set(p.parts))


def visit(driver, base_url: str, path: str) -> Page:
    """Load one page, wait for its images and math, and record what it logged, requested and holds."""
    driver.get(base_url + path)
    facts = driver.execute_async_script(PAGE_SCRIPT)
    requests, failed = network(driver)
    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return Page(path=path, console=console, failed=failed, requests=requests, facts=facts)


def local_target(url: str, base_url: str) -> tuple[str, str] | None:
    """``(page path, fragment)`` of a link into the site, or None for a link elsewhere."""
    if not url.startswith(base_url):
        return None
    page, fragment = urldefrag(url)
    path = urlsplit(page).path.lstrip("/")
    return (path + "index.html" if path == "" or path.endswith("/") else path, fragment)
