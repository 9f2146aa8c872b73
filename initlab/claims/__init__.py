"""The claims ledger: what the five sources claim about initialization, and where the notebooks test it.

The entries live in ``ledger.yaml`` (package data); :mod:`initlab.claims.entries` holds an entry as objects,
:mod:`initlab.claims.ledger` reads the file, looks entries up and checks them; :mod:`initlab.claims.verdicts` names
the notebooks' recorded verdicts on them and :mod:`initlab.claims.table` lays them out, one row per claim.
"""

from initlab.claims.entries import Claim, Margin, NumericRef, RankingRef, Test, parse_entries
from initlab.claims.ledger import (
    KINDS,
    get_claim,
    ledger_problems,
    load_ledger,
    margin,
    resolve_margin,
    validate_ledger,
)

__all__ = [
    "KINDS",
    "Claim",
    "Margin",
    "NumericRef",
    "RankingRef",
    "Test",
    "get_claim",
    "ledger_problems",
    "load_ledger",
    "margin",
    "parse_entries",
    "resolve_margin",
    "validate_ledger",
]
