"""The site's fixtures: the site built once per session, served on 127.0.0.1, one headless Chromium, one crawl.

Without Sphinx, Selenium or Chromium the browser tests are skipped, each with its reason, and a note
naming what is missing is printed at the end of the run, as is the folder of the screenshots.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import (
    ARTEFACTS,
    CHROMEDRIVER,
    CHROMIUM,
    NOTES,
    ROOT,
    VIEWPORT,
    Page,
    html_pages,
    load_builder,
    skip_with_note,
    visit,
)


def pytest_terminal_summary(terminalreporter) -> None:
    for note in NOTES:
        terminalreporter.write_line(f"note: site tests: {note}")


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``site/`` when it is newer than everything it is built from, else a fresh build."""
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        skip_with_note("Sphinx and MyST-NB are not installed (`make site` installs the `site` extra)")
    builder = load_builder()
    if builder.is_fresh(ROOT / "site"):
        return ROOT / "site"
    work = tmp_path_factory.mktemp("site-work")
    return builder.build_site(work / "site", work=work).parent


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    """The site served by a local http.server thread on 127.0.0.1."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) with its console and network logs."""
    if importlib.util.find_spec("selenium") is None:
        skip_with_note("selenium is not installed (it comes with the `dev` extra)")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        skip_with_note(
            f"no browser: {CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def crawl(browser, base_url: str, site_dir: Path) -> dict[str, Page]:
    """Every page of the site, visited once."""
    browser.get_log("performance")
    browser.get_log("browser")
    return {path: visit(browser, base_url, path) for path in html_pages(site_dir)}


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """``site-artefacts/`` (gitignored), emptied for this run."""
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir()
    NOTES.append(f"screenshots in {ARTEFACTS}")
    return ARTEFACTS
