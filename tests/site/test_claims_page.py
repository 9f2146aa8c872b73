"""The claims page generator (docs/sphinx/claims_page.py) on hand-made claims shaped like the ledger's."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from initlab.claims import entries
from initlab.claims.entries import Claim, Margin

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "sphinx" / "claims_page.py"
_spec = importlib.util.spec_from_file_location("claims_page", SCRIPT)
claims_page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claims_page)

_CELL_BORDER = re.compile(r"(?<!\\)\|")


def _claim(id: str, **fields) -> Claim:
    base = dict(
        source="000_5f419284b061c44b.txt",
        locator="Table 1",
        claim="He normal beats Glorot uniform on MNIST",
        phrase="beats",
        kind="ranking",
        test=entries.Test(metric="test accuracy", comparison="paired difference", family="03", training=True),
        margins=(Margin(0.5, "pp"),),
        margin_reason="half a point of accuracy",
        margin_declared="set after a first run",
        budget={"epochs": 5, "seeds": 10},
        notebook="03_mnist_four_initializers.ipynb",
        anchor=f"evidence-{id}",
    )
    return Claim(id=id, **{**base, **fields})


CLAIMS = [
    _claim("desai-ranking"),
    _claim(
        "criticality-depth",
        source="004",
        locator="section 3",
        claim="Tanh nets at $σ_w^2 = 1$ | near criticality train *deeper* than <others>",
        margins=(),
        notebook="notebooks/08_criticality.ipynb",
        anchor="#evidence-criticality-depth",
    ),
    _claim("catalogue-zeros", source="003", locator="", notebook="05_keras_catalogue.ipynb"),
]


def _rows(page: str) -> list[list[str]]:
    table = [line for line in page.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in _CELL_BORDER.split(line)[1:-1]] for line in table]


def test_one_row_per_claim_in_order_with_a_link_to_its_evidence() -> None:
    rows = _rows(claims_page.claims_page(CLAIMS))
    header, rule, body = rows[0], rows[1], rows[2:]
    assert header == ["claim", "source", "what it says", "test", "evidence"]
    assert all(set(cell) == {"-"} for cell in rule)
    assert [row[0] for row in body] == ["`desai-ranking`", "`criticality-depth`", "`catalogue-zeros`"]
    assert all(len(row) == len(header) for row in body)
    assert [re.search(r'href="([^"]+)"', row[-1])[1] for row in body] == [
        "03_mnist_four_initializers.html#evidence-desai-ranking",
        "08_criticality.html#evidence-criticality-depth",
        "05_keras_catalogue.html#evidence-catalogue-zeros",
    ]


def test_the_link_prefix_the_margin_its_reason_and_the_budget_are_stated() -> None:
    page = claims_page.claims_page(CLAIMS[:1], prefix="notebooks/")
    assert 'href="notebooks/03_mnist_four_initializers.html#evidence-desai-ranking"' in page
    assert "margin ±0.5 pp, because half a point of accuracy" in page
    assert "budget: epochs 5, seeds 10" in page
    two = claims_page.claim_row(_claim("x", margins=(Margin(0.5, "pp"), Margin(0.5, "epochs", "speed"))))
    assert "margin ±0.5 pp, ±0.5 epochs (speed)" in two
    assert "margin" not in claims_page.test_text(CLAIMS[1])


def test_verdicts_add_a_column_and_an_unjudged_claim_says_so() -> None:
    rows = _rows(claims_page.claims_page(CLAIMS, verdicts={"desai-ranking": "supported"}))
    assert rows[0][-1] == "verdict"
    assert [row[-1] for row in rows[2:]] == ["supported", "not run", "not run"]


def test_text_that_means_something_in_markdown_stays_text() -> None:
    row = _rows(claims_page.claims_page(CLAIMS))[3]
    assert len(row) == 5  # the claim's own `|` did not split the row
    assert row[2] == r"Tanh nets at \$σ\_w^2 = 1\$ \| near criticality train \*deeper\* than \<others\>"


def test_the_page_is_a_myst_table_with_a_row_per_claim() -> None:
    pytest.importorskip("myst_parser", reason="myst-parser comes with the `site` extra")
    from docutils import nodes
    from docutils.core import publish_doctree
    from myst_parser.parsers.docutils_ import Parser

    tree = publish_doctree(
        claims_page.claims_page(CLAIMS),
        parser=Parser(),
        settings_overrides={"myst_enable_extensions": ["dollarmath"], "report_level": 2, "halt_level": 2},
    )
    (table,) = tree.findall(nodes.table)
    assert len(list(table.findall(nodes.row))) == 1 + len(CLAIMS)
    assert not list(tree.findall(nodes.math))  # a `$` in a claim is not taken for math
    raw = " ".join(node.astext() for node in tree.findall(nodes.raw))
    assert raw.count("#evidence-") == len(CLAIMS)


def test_bad_claims_are_refused_with_one_clear_line() -> None:
    with pytest.raises(ValueError, match="Received twice: desai-ranking"):
        claims_page.claims_page([CLAIMS[0], CLAIMS[0]])
    with pytest.raises(ValueError, match="names no notebook or no anchor"):
        claims_page.evidence_href(_claim("y", anchor=""))


def test_a_claim_no_notebook_tests_says_why_instead_of_linking() -> None:
    page = claims_page.claims_page([_claim("z", test=None, notebook=None, anchor=None, untested="no width sweep")])
    assert "untested: no width sweep" in page and "href" not in page.split("| `z` |")[1]


def test_markdown_links_to_a_notebook_anchor_become_html_links() -> None:
    text = (
        "[the evidence](08_criticality.ipynb#evidence-depth), [the notebook](08_criticality.ipynb), "
        "[elsewhere](https://example.org/a.ipynb#b)"
    )
    assert claims_page.ipynb_anchor_links(text) == (
        '<a href="08_criticality.html#evidence-depth">the evidence</a>, [the notebook](08_criticality.ipynb), '
        "[elsewhere](https://example.org/a.ipynb#b)"
    )
