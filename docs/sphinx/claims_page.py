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
    """The fields of ``initlab.claims.ledger.Claim`` this page reads."""

    id: str
    source: str
    locator: str
    claim: str
    kind: str
    test: str
    margin: Any
    margin_reason: str | None
    margin_declared: bool
    notebook: str
    anchor: str


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


def _margin(claim: ClaimLike) -> str:
    if claim.margin is None or claim.margin == "":
        return ""
    who = "the source's" if claim.margin_declared else "ours"
    reason = f": {claim.margin_reason}" if claim.margin_reason else ""
    return f"; margin {claim.margin} ({who}{reason})"


def claim_row(claim: ClaimLike, *, prefix: str = "", verdict: str | None = None) -> str:
    """One claim as a Markdown table row (with a verdict cell when ``verdict`` is given)."""
    link = html.escape(evidence_href(claim, prefix=prefix), quote=True)
    label = html.escape(PurePosixPath(str(claim.notebook)).stem)
    cells = [
        f"`{claim.id}`" if "`" not in str(claim.id) else cell_text(claim.id),
        cell_text(f"{claim.source}, {claim.locator}" if claim.locator else claim.source),
        cell_text(claim.claim),
        cell_text(f"{claim.kind}: {claim.test}{_margin(claim)}" if claim.kind else f"{claim.test}{_margin(claim)}"),
        f'<a href="{link}">{label}</a>',
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
        ValueError: two claims share an id, or a claim names no notebook or anchor.
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
