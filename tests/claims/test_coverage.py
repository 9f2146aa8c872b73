"""After a reproduction every claim the ledger tests has a verdict, and every verdict names a claim of the
ledger: checked on the committed notebooks (full runs) and on the quick baselines' recorded numbers; and the
committed claims table is the one those notebooks give."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from initlab.claims import get_claim, load_ledger
from initlab.claims import table as claims_table
from initlab.claims.verdicts import record_name
from initlab.pipeline.recorded import read_records

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NUMBERS = ROOT / "tests" / "baselines" / "numbers.json"
UNDECIDED = ("not tested", "no runs")  # words a run at the defaults must not leave a tested claim with


@functools.cache
def _committed() -> dict[str, dict[str, Any]]:
    return {p.name: read_records(p) for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}


@functools.cache
def _baselines() -> dict[str, dict[str, Any]]:
    return json.loads(NUMBERS.read_text())


SOURCES: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
    "committed notebooks": _committed,
    "quick baselines": _baselines,
}


@pytest.mark.parametrize("where", SOURCES)
def test_every_tested_claim_has_a_verdict(where: str) -> None:
    records = SOURCES[where]()
    tested = [c for c in load_ledger() if c.test is not None]
    missing = [c.id for c in tested if record_name(c.id, "verdict") not in records.get(c.notebook, {})]
    assert missing == [], f"{len(missing)} tested claim(s) without a verdict in the {where}"
    undecided = {
        c.id: records[c.notebook][record_name(c.id, "verdict")]["value"]
        for c in tested
        if records[c.notebook][record_name(c.id, "verdict")]["value"] in UNDECIDED
    }
    assert undecided == {}


@pytest.mark.parametrize("where", SOURCES)
def test_every_verdict_names_a_claim_of_the_ledger_in_its_notebook(where: str) -> None:
    ids = [c.id for c in load_ledger()]
    records = SOURCES[where]()
    stray = {nb: claims_table.unknown_claims(r, ids) for nb, r in records.items()}
    assert {nb: s for nb, s in stray.items() if s} == {}
    elsewhere = {
        (nb, claim_id)
        for nb, r in records.items()
        for claim_id in claims_table.claim_records(r)
        if get_claim(claim_id).notebook != nb
    }
    assert elsewhere == set()


def test_the_committed_claims_table_is_the_one_the_notebooks_give() -> None:
    rows = claims_table.claim_rows(load_ledger(), _committed())
    assert (NOTEBOOKS / claims_table.CSV_FILE).read_text() == claims_table.csv_text(rows)
    assert (NOTEBOOKS / claims_table.MD_FILE).read_text() == claims_table.markdown(rows)
    untested = [r for r in rows if r.verdict.startswith("untested: ")]
    assert len(untested) == sum(c.test is None for c in load_ledger())
    assert not [r for r in rows if r.verdict in (claims_table.NOT_RUN, claims_table.NO_VERDICT)]
