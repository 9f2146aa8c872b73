"""The site's claims page: the claims ledger as one MyST Markdown table, a row per claim.

Each row links to the notebook cell that holds the claim's evidence, through the invisible anchor
``<a id="evidence-..."></a>`` the notebook keeps in the Markdown cell before it. The links are raw HTML
(``notebooks/<nb>.html#<anchor>`` from the site's root) because Sphinx does not know ids written in raw HTML
and would reject a Markdown link to one; the site's browser tests check that every such link lands on an
element with that id.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any, Protocol

TITLE = "Claims and their evidence"
INTRO = (
    "Every claim of the five source documents that initlab tests, as listed in the claims ledger "
    "(`initlab/claims/ledger.yaml`): where the source makes it, what it says (in our words), the test that "
    "decides it and its margin, and a link to the notebook cell that holds the evidence."
)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|$])")


class ClaimLike(Protocol):
    """The fields of :class:`initlab.claims.entries.Claim` this page reads."""

    id: str
    source: str | None
    locator: str
    claim: str
    kind: str
    test: Any  # a Test (metric, comparison, family) or None: no notebook tests the claim
    margins: tuple[Any, ...]  # Margin objects (value, unit, applies_to)
    margin_reason: str | None
    budget: Mapping[str, Any] | None
    notebook: str | None
    anchor: str | None
    untested: str | None


def cell_text(value: object) -> str:
    """``value`` as the text of one Markdown table cell: one line, Markdown's special characters escaped."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def evidence_href(claim: ClaimLike, *, prefix: str = "") -> str:
    """The claim's evidence as a URL: ``<prefix><notebook stem>.html#<anchor>``.

    ``notebook`` may be a stem (``08_criticality``), a file name or a path; ``anchor`` may start with ``#``.
    """
    stem = PurePosixPath(str(claim.notebook)).stem
    anchor = str(claim.anchor).lstrip("#")
    if not stem or not anchor:
        raise ValueError(
            f"Claim {claim.id!r} names no notebook or no anchor. Received: {claim.notebook=}, {claim.anchor=}"
        )
    return f"{prefix}{stem}.html#{anchor}"


def test_text(claim: ClaimLike) -> str:
    """How the claim is tested, in one line: kind, metric, comparison, family, margin (with its reason) and budget."""
    if claim.test is None:
        return f"{claim.kind}; untested: {claim.untested or 'no notebook tests it'}"
    parts = [f"{claim.kind}: {claim.test.metric}", claim.test.comparison]
    if claim.test.family:
        parts.append(f"family: {claim.test.family}")
    if claim.margins:
        values = ", ".join(
            f"±{m.value:g} {m.unit}" + (f" ({m.applies_to})" if m.applies_to else "") for m in claim.margins
        )
        parts.append(f"margin {values}" + (f", because {claim.margin_reason}" if claim.margin_reason else ""))
    if claim.budget:
        parts.append("budget: " + ", ".join(f"{k} {v}" for k, v in claim.budget.items()))
    return "; ".join(parts)


def claim_row(claim: ClaimLike, *, prefix: str = "", verdict: str | None = None) -> str:
    """One claim as a Markdown table row (with a verdict cell when ``verdict`` is given)."""
    if claim.notebook and claim.anchor:
        link = html.escape(evidence_href(claim, prefix=prefix), quote=True)
        evidence = f'<a href="{link}">{html.escape(PurePosixPath(str(claim.notebook)).stem)}</a>'
    else:  # a claim no notebook tests says why in its test cell
        evidence = "none"
    cells = [
        f"`{claim.id}`" if "`" not in str(claim.id) else cell_text(claim.id),
        cell_text(f"{claim.source}, {claim.locator}" if claim.locator else claim.source),
        cell_text(claim.claim),
        cell_text(test_text(claim)),
        evidence,
    ]
    if verdict is not None:
        cells.append(cell_text(verdict))
    return "| " + " | ".join(cells) + " |"


def claims_page(
    claims: Iterable[ClaimLike], *, verdicts: Mapping[str, str] | None = None, prefix: str = "", title: str = TITLE
) -> str:
    """The claims as a MyST Markdown page: a title, what the table holds, and one row per claim.

    Args:
        claims: the ledger's claims, in the order to show them.
        verdicts: a verdict per claim id; adds a ``verdict`` column (a claim without one shows "not run").
        prefix: put before each evidence link (the path from the page to the notebooks' pages).
        title: the page's title.

    Raises:
        ValueError: two claims share an id.
    """
    claims = list(claims)
    ids = [c.id for c in claims]
    doubles = sorted({i for i in ids if ids.count(i) > 1})
    if doubles:
        raise ValueError(f"Claim ids must be unique. Received twice: {', '.join(map(str, doubles))}")
    header = ["claim", "source", "what it says", "test", "evidence"] + (["verdict"] if verdicts is not None else [])
    lines = [f"# {title}", "", INTRO, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for claim in claims:
        verdict = None if verdicts is None else verdicts.get(claim.id, "not run")
        lines.append(claim_row(claim, prefix=prefix, verdict=verdict))
    return "\n".join(lines) + "\n"


_IPYNB_ANCHOR_LINK = re.compile(r"\[([^\]]+)\]\(([^()\s:]+?)\.ipynb#([^()\s]+)\)")  # relative links only


def ipynb_anchor_links(markdown: str) -> str:
    """Markdown links to a notebook's raw-HTML anchor (``[t](nb.ipynb#evidence-x)``) as HTML links to its page.

    GitHub follows such a link inside a notebook; Sphinx knows no id written in raw HTML and would reject it,
    so the site gets ``<a href="nb.html#evidence-x">t</a>`` instead.
    """

    def to_html(match: re.Match[str]) -> str:
        href = html.escape(f"{match[2]}.html#{match[3]}", quote=True)
        return f'<a href="{href}">{html.escape(match[1])}</a>'

    return _IPYNB_ANCHOR_LINK.sub(to_html, markdown)
