"""Verdicts on the ledger's claims as the notebooks record them: the names they go under, the ids they may
name, and how the verdicts of several tests add up to one claim's.

A notebook records what it decides about claim ``<id>`` under ``claim/<id>/<field>``
(:func:`record_name`; :mod:`initlab.pipeline.recorded` writes them): ``verdict`` always, and the numbers
behind it. A claim decided by one paired test adds ``difference``, ``ci_low``, ``ci_high`` (its 95% CI) and
``unit``, with the Holm-adjusted p-values kept beside the verdict; one decided by several adds ``tally``
(:func:`tally`), ``tests`` and, when they share a unit, ``difference_min`` and ``difference_max``; a
published number adds, per row of the table, ``<row>/verdict``, ``<row>/ours``, ``<row>/low``,
``<row>/high`` and ``<row>/paper``.

The words (:data:`WORDS`):

* a paired test (:mod:`initlab.stats`): *supported*, *reversed*, *equivalent*, *inconclusive*; an
  equivalence family's *not shown equivalent*; a test that could not run, *not tested*;
* several tests of one claim (:func:`combine`): the word they share, otherwise *mixed*; a ranking
  (:func:`ranking_word`): *holds* when every step is supported, *contradicted* when one is reversed,
  otherwise *not established*;
* a published number against our prediction interval: *inside*, *above*, *below* (*equal* or *differs*
  where every seed agrees); a table's rows together (:func:`combine_published`);
* a rule the notebook applies (exact counts, a signal kept within a factor 10, a bound): *holds*,
  *fails* or *mixed*, or the notebook's own words (*consistent*, *washed out*, ...);
* *descriptive*: the ledger's test shows the numbers and decides nothing (no test, no rule).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from initlab.claims.ledger import load_ledger
from initlab.errors import UnknownClaimError, UnknownNameError
from initlab.stats import ALPHA

PREFIX = "claim"
TESTED = ("supported", "reversed", "equivalent", "inconclusive", "not shown equivalent", "not tested")
PUBLISHED = ("inside", "above", "below", "equal", "differs", "one seed", "too few seeds", "no runs")
RULED = ("holds", "fails", "contradicted", "not established")
WORDS = (*TESTED, "mixed", *RULED, *PUBLISHED, "descriptive")
CLOSE = 5  # close matches an unknown id's error lists


def record_name(claim_id: str, field: str) -> str:
    """``claim/<claim_id>/<field>``: where a notebook records one thing it decided about a claim."""
    return f"{PREFIX}/{claim_id}/{field}"


def split_record_name(name: str) -> tuple[str, str] | None:
    """``(claim id, field)`` of a :func:`record_name`, ``None`` for a record of anything else."""
    head, _, rest = name.partition("/")
    claim_id, _, field = rest.partition("/")
    return (claim_id, field) if head == PREFIX and claim_id and field else None


def check_claim_id(claim_id: str, ids: Iterable[str] | None = None) -> str:
    """``claim_id`` itself when the ledger (or ``ids``) holds it.

    Raises:
        UnknownClaimError: it does not; the one-line message lists the ids closest to it.
    """
    known = [c.id for c in load_ledger()] if ids is None else list(ids)
    if claim_id in known:
        return claim_id
    close = difflib.get_close_matches(str(claim_id), known, n=CLOSE, cutoff=0.6)
    raise UnknownClaimError(claim_id, close)


def combine(words: Sequence[str]) -> str:
    """One claim's verdict from its tests' words: the word they share, otherwise *mixed* (*not tested*
    when there are none)."""
    found = set(words)
    return words[0] if len(found) == 1 else "mixed" if found else "not tested"


def ranking_word(words: Sequence[str]) -> str:
    """A claimed order's verdict from its steps' words: *holds* (every step supported), *contradicted*
    (a step reversed) or *not established*."""
    if words and all(w == "supported" for w in words):
        return "holds"
    return "contradicted" if "reversed" in words else "not established"


def combine_published(words: Sequence[str]) -> str:
    """A table's rows against our prediction intervals: *inside* when every row is inside (or equal to a
    value every seed repeats), otherwise the word they share, otherwise *mixed*."""
    if words and all(w in ("inside", "equal") for w in words):
        return "inside"
    return combine(words)


def combine_rule(holds: Sequence[bool]) -> str:
    """A rule applied item by item: *holds* for every item, *fails* for none, otherwise *mixed*."""
    if not holds:
        return "not tested"
    return "holds" if all(holds) else "fails" if not any(holds) else "mixed"


COMBINERS: dict[str, Callable[[Sequence[str]], str]] = {"each": combine, "ranking": ranking_word}


def combiner(name: str) -> Callable[[Sequence[str]], str]:
    """The rule :data:`COMBINERS` names ``name``.

    Raises:
        UnknownNameError: no rule has that name (the message lists them).
    """
    if name not in COMBINERS:
        raise UnknownNameError("combiner", name, COMBINERS)
    return COMBINERS[name]


def tally(words: Iterable[str]) -> str:
    """``"2 supported, 1 inconclusive"``: the words counted, in the order of :data:`WORDS` (others after,
    alphabetically)."""
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    order = sorted(counts, key=lambda w: (WORDS.index(w) if w in WORDS else len(WORDS), w))
    return ", ".join(f"{counts[w]} {w}" for w in order)


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def deciding_p(verdict: str, p_adj: Any, p_equiv_adj: Any) -> list[float | None]:
    """The p-values that could overturn a test's ``verdict``: the difference test's alone for *supported*
    and *reversed* (it decided), both otherwise; ``None`` where there is none."""
    p, q = _finite(p_adj), _finite(p_equiv_adj)
    return [p, None] if verdict in ("supported", "reversed") else [p, q]


def _distance(p: Sequence[float | None]) -> float:
    """How far (in decades) the nearest of ``p`` lies from the level; infinite with none."""
    logs = [abs(math.log10(v / ALPHA)) for v in p if v is not None and v > 0]
    return min(logs, default=math.inf)


def nearest_to_level(rows: Sequence[Mapping[str, Any]]) -> list[float | None] | None:
    """Of several tests (mappings with ``verdict``, ``p_adj``, ``p_equiv_adj``), the deciding p-values
    (:func:`deciding_p`) of the one nearest to turning: its p-value lies closest to the level. ``None``
    when no test has a finite p-value (exact or untested rows)."""
    best, where = math.inf, None
    for r in rows:
        if bool(r.get("exact", False)):
            continue
        p = deciding_p(str(r["verdict"]), r.get("p_adj"), r.get("p_equiv_adj"))
        d = _distance(p)
        if where is None or d < best:
            best, where = d, p
    if where is None or all(v is None for v in where):
        return None
    return where
