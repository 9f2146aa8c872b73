"""The static site (`make site`) in headless Chromium: every page, link, image, formula, table and the search.

The site is built once per session (or ``site/`` reused when it is newer than its sources), served on
127.0.0.1 and crawled once; each test below reads the crawl. Without a browser they are skipped with a note.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from browsing import VIEWPORT, Page, load_builder, local_target

NOTEBOOKS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb"))
CLAIMS = "notebooks/claims.html"
MATH_PAGE = "docs/statistics.html"


def _problems(crawl: dict[str, Page], what) -> dict[str, list[str]]:
    return {path: found for path, page in crawl.items() if (found := what(page))}


def test_the_site_holds_the_notebooks_docs_summary_and_reference(crawl: dict[str, Page]) -> None:
    wanted = {"index.html", "README.html", "notebooks/summary.html", "reference/index.html", "search.html"}
    wanted |= {f"notebooks/{name}.html" for name in NOTEBOOKS}
    wanted |= {f"docs/{p.stem}.html" for p in (Path(__file__).resolve().parents[2] / "docs").glob("*.md")}
    assert len(NOTEBOOKS) == 8
    assert wanted <= set(crawl)
    assert any(path.startswith("reference/generated/initlab.stats") for path in crawl)


def test_no_page_logs_a_console_error(crawl: dict[str, Page]) -> None:
    assert _problems(crawl, lambda page: page.console) == {}


def test_every_request_succeeds_and_stays_on_the_site(crawl: dict[str, Page], base_url: str) -> None:
    assert _problems(crawl, lambda page: page.failed) == {}
    outside = _problems(crawl, lambda page: [u for u in page.requests if not u.startswith((base_url, "data:"))])
    assert outside == {}, "the site must work offline: every file it loads comes from its own folder"


def test_every_image_decodes(crawl: dict[str, Page]) -> None:
    assert _problems(crawl, lambda page: page.facts["undecoded"]) == {}
    for name in NOTEBOOKS:  # the figures are there: each notebook has at least one
        assert crawl[f"notebooks/{name}.html"].facts["images"] > 0, name


def test_every_internal_link_lands_on_a_page_and_an_element_with_its_id(crawl: dict[str, Page], base_url: str) -> None:
    def broken(page: Page) -> list[str]:
        out = []
        for url in page.facts["links"]:
            target = local_target(url, base_url)
            if target is None or not target[0].endswith(".html"):
                continue
            path, fragment = target
            if path not in crawl:
                out.append(f"{url}: no such page")
            elif fragment and fragment not in crawl[path].facts["ids"]:
                out.append(f"{url}: no element with id {fragment!r}")
        return out

    assert _problems(crawl, broken) == {}


def test_every_link_to_another_file_is_served(crawl: dict[str, Page], base_url: str) -> None:
    import urllib.request

    files = {
        target[0]
        for page in crawl.values()
        for url in page.facts["links"]
        if (target := local_target(url, base_url)) and not target[0].endswith(".html")
    }
    for path in sorted(files):
        with urllib.request.urlopen(base_url + quote(path)) as response:
            assert response.status == 200, path


def test_math_is_typeset_offline(crawl: dict[str, Page]) -> None:
    facts = crawl[MATH_PAGE].facts
    assert facts["math"] >= 3
    assert facts["math_rendered"] == facts["math"]
    assert _problems(crawl, lambda page: page.facts["math_errors"]) == {}
    assert any("/_static/mathjax/" in url for url in crawl[MATH_PAGE].requests)


def test_nothing_sticks_out_of_a_1280_px_viewport(crawl: dict[str, Page]) -> None:
    assert crawl["index.html"].facts["width"] <= VIEWPORT[0]
    assert _problems(crawl, lambda page: page.facts["wide"]) == {}
    sideways = _problems(
        crawl,
        lambda page: [f"{page.facts['scroll_width']} px"] if page.facts["scroll_width"] > page.facts["width"] else [],
    )
    assert sideways == {}


def search(browser, base_url: str, word: str) -> list[str]:
    """The pages the site's search lists for ``word``, once it says it has finished."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}search.html?q={quote(word)}")
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "const s = document.querySelector('#search-results p.search-summary');"
            "return s !== null && !/searching/i.test(s.textContent) && s.textContent.length > 0;"
        )
    )
    links = browser.execute_script(
        "return [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)"
    )
    return [local_target(link, base_url)[0] for link in links if local_target(link, base_url)]


def test_the_search_finds_a_page_by_a_word_of_its_text(browser, base_url: str, crawl: dict[str, Page]) -> None:
    assert MATH_PAGE in search(browser, base_url, "Holm")


def ledger():
    """The claims of the ledger."""
    from initlab.claims.ledger import load_ledger

    return load_ledger()


def test_the_search_finds_a_claim_by_a_word_of_its_text(browser, base_url: str, crawl: dict[str, Page]) -> None:
    claim = next((c for c in ledger() if re.search(r"[A-Za-z]{7,}", c.claim)), None)
    assert claim is not None, "no claim has a word of seven letters or more to search for"
    word = max(re.findall(r"[A-Za-z]{7,}", claim.claim), key=len)
    assert CLAIMS in search(browser, base_url, word)


def test_every_claim_links_to_its_evidence(crawl: dict[str, Page], base_url: str) -> None:
    claims = ledger()
    page_module = load_builder().claims_page
    links = [local_target(u, base_url) for u in crawl[CLAIMS].facts["links"] if "#" in u]
    for claim in (c for c in claims if c.test is not None):
        path, fragment = ("notebooks/" + page_module.evidence_href(claim)).split("#")
        assert (path, fragment) in links, claim.id
        assert fragment in crawl[path].facts["ids"], claim.id


@pytest.mark.parametrize("path", [CLAIMS, "notebooks/08_criticality.html"], ids=["claims", "notebook 08"])
def test_a_screenshot_is_kept(path: str, browser, base_url: str, crawl: dict[str, Page], artefacts: Path) -> None:
    if path not in crawl:
        if path == CLAIMS:
            ledger()
        pytest.fail(f"{path} is not in the site")
    browser.get(base_url)
    browser.execute_script("localStorage.clear(); sessionStorage.clear();")  # no search terms highlighted
    browser.get(base_url + path)
    shot = artefacts / (Path(path).stem + ".png")
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
