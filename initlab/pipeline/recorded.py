"""Named results a notebook reports, kept inside the executed notebook.

``record(name, value)`` stores a value as a display output of its own MIME
type (``application/vnd.initlab.record+json``; JupyterLab draws nothing for
it), so the results travel with the executed notebook wherever it is run,
and :func:`read_records` gets them back from the file. Outside a kernel the
values are kept in :data:`RECORDED`.

Each value carries the tolerance within which another run of the same code
counts as the same result, by one of three rules (see :data:`RULES`):

* ``exact``: words, verdicts, counts (str, bool, int);
* ``float32``: arithmetic without training (statistics of initial weights,
  gradients at initialization): ``FLOAT32_REL`` relative;
* ``seeds``: a mean over seeds of a trained quantity, where another CPU's
  rounding may send every seed down another trajectory: ``SEED_SIGMAS`` standard
  errors of a difference of two such means, ``4 · s · sqrt(2 / n)``, never below
  the ``resolution`` the caller states;
* ``verdict``: a test's verdict word (:func:`record_family`), exact unless either
  run's deciding Holm-adjusted p-value lies within a factor ``VERDICT_BAND`` of the level,
  where another CPU's rounding may legitimately move it across.

A notebook's verdict on a claim of the claims ledger goes under ``claim/<id>/...``
(:func:`record_verdict`, :func:`record_tested`, :func:`record_published`), which
refuses an id the ledger does not hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from initlab.claims.ledger import load_ledger
from initlab.claims.verdicts import check_claim_id, combine_published, combiner, nearest_to_level, record_name, tally
from initlab.errors import InvalidArgumentError
from initlab.stats import ALPHA, RUN_KEYS

MIME = "application/vnd.initlab.record+json"
# float32 arithmetic: a sum of n terms in another order differs by about sqrt(n)·eps relative
# (eps = 1.19e-7); reductions here run over up to ~10^6 terms, so sqrt(n)·eps ≈ 1.2e-4.
FLOAT32_REL = 2e-4
SEED_SIGMAS = 4.0
VERDICT_BAND = 4.0
RULES = ("exact", "float32", "seeds", "verdict")
RECORDED: dict[str, dict[str, Any]] = {}


def _entry(name: str, value: Any, rule: str, tolerance: float) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("name", name, "must be a non-empty string")
    return {"name": name, "value": value, "rule": rule, "tolerance": tolerance}


def _emit(entry: dict[str, Any]) -> dict[str, Any]:
    RECORDED[entry["name"]] = entry
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the package's dependencies
        return entry
    if get_ipython() is not None:
        display({MIME: entry}, raw=True)
    return entry


def _plain(value: Any) -> Any:
    """``value`` as a JSON scalar (numpy scalars included); non-finite floats as strings."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, str):
        return value
    raise InvalidArgumentError("value", value, "must be a str, bool, int or float")


def record(name: str, value: Any, rule: str | None = None, *, scale: float = 0.0) -> dict[str, Any]:
    """Record a named result: words and counts exactly, a float to float32 precision.

    Args:
        name: a unique name within the notebook, e.g. ``"test_accuracy/he_normal"``.
        value: str, bool or int (rule ``exact``) or a float (rule ``float32``).
        rule: override the rule (``"exact"`` compares a float exactly).
        scale: the size of the numbers ``value`` was computed with (a float32 result is
            only as exact as ``FLOAT32_REL`` of that): a norm that should be zero but is
            rounding noise, say, is compared at the scale of the other norms.
    """
    value = _plain(value)
    rule = rule or ("float32" if isinstance(value, float) else "exact")
    if rule not in RULES[:2]:
        raise InvalidArgumentError("rule", rule, "must be 'exact' or 'float32' (use record_seeds for means over seeds)")
    tolerance = FLOAT32_REL * max(abs(value), float(scale)) if rule == "float32" and isinstance(value, float) else 0.0
    return _emit(_entry(name, value, rule, tolerance))


def seed_tolerance(values: Sequence[float], resolution: float = 0.0) -> float:
    """How far a mean over ``len(values)`` seeds may move when every seed is redrawn."""
    x = np.asarray([v for v in values if np.isfinite(v)], float)
    spread = float(x.std(ddof=1)) if x.size >= 2 else 0.0
    return mean_tolerance(spread, int(x.size), mean=float(x.mean()) if x.size else 0.0, resolution=resolution)


def mean_tolerance(std: float, n: int, *, mean: float = 0.0, resolution: float = 0.0) -> float:
    """How far a mean over ``n`` seeds of spread ``std`` may move when every seed is redrawn:
    ``SEED_SIGMAS`` standard errors of a difference of two such means, never below ``resolution``
    nor float32's precision at ``mean`` (a non-finite ``std`` counts as no spread)."""
    spread = float(std) if np.isfinite(std) else 0.0
    return max(
        SEED_SIGMAS * spread * math.sqrt(2.0 / max(int(n), 1)),
        float(resolution),
        FLOAT32_REL * abs(float(mean)) if np.isfinite(mean) else 0.0,
    )


def record_seeds(name: str, values: Iterable[float], resolution: float = 0.0) -> dict[str, Any]:
    """Record the mean over seeds of a trained quantity (NaNs, i.e. diverged runs, left out).

    Args:
        values: one value per seed.
        resolution: the smallest change that counts for this quantity (the tolerance's floor).
    """
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v)]
    mean = float(np.mean(finite)) if finite else math.nan
    return _emit(_entry(name, _plain(mean), "seeds", seed_tolerance(finite, resolution)))


def record_summary(
    df, value: str, by: Sequence[str] = ("init",), *, resolution: float = 0.0, epoch: int | None = None
) -> list[dict[str, Any]]:
    """Record ``value``'s mean over seeds for each group of a study's results (last epoch by default).

    Names are ``value/<group values joined by '/'>``, e.g. ``test_accuracy/mnist/he_normal``.
    """

    runs = list(dict.fromkeys([k for k in RUN_KEYS if k in df.columns] + list(by)))
    rows = df.sort_values("epoch").groupby(runs, sort=False).tail(1) if epoch is None else df[df["epoch"] == epoch]
    out = []
    for key, group in rows.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        label = "/".join(str(k) for k in key)
        suffix = "" if epoch is None else f"/epoch{epoch}"
        out.append(record_seeds(f"{value}{suffix}/{label}", group[value].to_numpy(), resolution))
    return out


def record_family(table, prefix: str, label: str = "claim") -> list[dict[str, Any]]:
    """Record each verdict of a tested family (:func:`initlab.stats.test_family`'s table).

    Names are ``prefix/<the row's label>``; the value is the verdict word, kept with
    its Holm-adjusted p-values (``None`` for an exact, zero-spread comparison).
    """
    out = []
    for _, row in table.iterrows():
        exact = bool(row.get("exact", False))
        p = [None if exact else _plain(float(row[c])) for c in ("p_adj", "p_equiv_adj")]
        entry = _entry(f"{prefix}/{row[label]}", str(row["verdict"]), "verdict", 0.0)
        out.append(_emit({**entry, "p": p}))
    return out


def _near_level(entry: dict[str, Any]) -> bool:
    """Whether the p-values that decided (or could overturn) this verdict lie near the level."""

    p = entry.get("p") or [None, None]
    near = [isinstance(v, float) and ALPHA / VERDICT_BAND <= v <= ALPHA * VERDICT_BAND for v in p]
    if entry["value"] == "equivalent":
        return near[1]  # decided first (:func:`initlab.stats.decide`): only the equivalence test can undo it
    return any(near)  # supported, reversed or inconclusive: either test could decide otherwise


def read_records(path: str | Path) -> dict[str, dict[str, Any]]:
    """The records an executed notebook holds, by name (the last one wins)."""
    nb = json.loads(Path(path).read_text())
    found: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            entry = out.get("data", {}).get(MIME)
            if isinstance(entry, dict) and "name" in entry:
                found[entry["name"]] = entry
    return found


def compare(reference: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between two notebooks' records, beyond each reference value's tolerance."""
    problems = [f"{name}: recorded in the reference, missing now" for name in reference if name not in current]
    problems += [f"{name}: new, not in the reference" for name in current if name not in reference]
    for name, ref in reference.items():
        if name not in current:
            continue
        a, b = ref["value"], current[name]["value"]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        if ref["rule"] == "verdict":
            if a != b and not (_near_level(ref) or _near_level(current[name])):
                problems.append(
                    f"{name}: verdict {b!r} differs from the reference {a!r}, and neither run's "
                    f"adjusted p-value is within {VERDICT_BAND:g}x of the level"
                )
        elif ref["rule"] == "exact" or not numeric:
            if a != b:
                problems.append(f"{name}: {b!r} differs from the reference {a!r} ({ref['rule']})")
        elif abs(float(a) - float(b)) > ref["tolerance"]:
            problems.append(
                f"{name}: {b:.6g} is {abs(a - b):.3g} from the reference {a:.6g}, "
                f"beyond its tolerance {ref['tolerance']:.3g} ({ref['rule']})"
            )
    return problems


def record_column(
    frame, keys: Sequence[str], column: str, *, prefix: str | None = None, scale: float = 0.0
) -> list[dict[str, Any]]:
    """Record one value per row of ``frame`` (words and counts exactly, floats to float32
    precision at ``scale``), named ``prefix/<keys' values joined by '/'>``."""
    return [
        record(f"{prefix or column}/{'/'.join(str(row[k]) for k in keys)}", row[column], scale=scale)
        for _, row in frame.iterrows()
    ]


def record_within(name: str, value: Any, tolerance: float) -> dict[str, Any]:
    """Record a trained quantity to be compared within ``tolerance`` (rule ``seeds``): a difference of means
    over seeds, say, or the bound of an interval drawn from them."""
    return _emit(_entry(name, _plain(value), "seeds", float(tolerance)))


# --------------------------------------------------------------------------- verdicts on the ledger's claims


def record_verdict(
    claim_id: str,
    verdict: str,
    *,
    p: Sequence[float | None] | None = None,
    tolerances: Mapping[str, float] | None = None,
    **numbers: Any,
) -> list[dict[str, Any]]:
    """Record a notebook's verdict on claim ``claim_id`` of the ledger, and the numbers behind it, under
    ``claim/<claim_id>/...`` (:mod:`initlab.claims.verdicts` names the fields and words).

    Args:
        claim_id: an id of the claims ledger.
        verdict: the verdict word.
        p: the Holm-adjusted p-values (difference, equivalence; ``None`` where there is none) of the test
            that decided it, if a test did: the verdict is then compared as :func:`record_family`'s are,
            exactly unless a p-value lies near the level, and so are the words recorded beside it (a
            tally, each setting's word), which turn with it; otherwise exactly.
        tolerances: per number, the tolerance of a trained quantity (rule ``seeds``); other floats are
            compared to float32 precision, words and counts exactly.
        numbers: field name -> value (str, bool, int or float).

    Raises:
        UnknownClaimError: the ledger has no claim ``claim_id`` (the message lists the closest ids).
    """
    check_claim_id(claim_id)
    if not isinstance(verdict, str) or not verdict:
        raise InvalidArgumentError("verdict", verdict, "must be a non-empty word")
    plain = None if p is None else [None if v is None else _plain(float(v)) for v in p]

    def word(name: str, value: str) -> dict[str, Any]:
        return _emit(
            _entry(name, value, "exact", 0.0) if plain is None else {**_entry(name, value, "verdict", 0.0), "p": plain}
        )

    out = [word(record_name(claim_id, "verdict"), verdict)]
    tolerances = tolerances or {}
    for field, value in numbers.items():
        where = record_name(claim_id, field)
        if field in tolerances:
            out.append(record_within(where, value, tolerances[field]))
        else:
            out.append(word(where, value) if isinstance(value, str) else record(where, value))
    return out


def _selected(table, rows: Sequence[str] | None, label: str):
    """The rows of ``table`` whose ``label`` is one of ``rows`` (all when ``None``), in the table's order."""
    if rows is None or not len(table):
        return table
    return table[table[label].isin(list(rows))]


def _test_numbers(tested, unit: str, scale: float) -> tuple[dict[str, Any], dict[str, float]]:
    """The numbers of a claim's tests: one test's difference with its CI, several tests' smallest and
    largest difference (when they share a unit, sign and failure tests left out), each with the tolerance a
    rerun's seeds allow; a sign test alone (``test`` column ``sign``) gives its wins, losses and ties instead,
    a failure test (``failures``) its two failure counts: their ``mean`` is not a difference."""
    if "mean" not in tested.columns or not len(tested):
        return {}, {}
    signs = tested[tested["test"].isin(["sign", "failures"])] if "test" in tested.columns else tested.iloc[:0]
    if len(signs) == len(tested) == 1:  # a sign test's or a failure test's mean is not a difference
        r = signs.iloc[0]
        keys = ("wins", "losses", "ties") if r["test"] == "sign" else ("a_failed", "b_failed", "n")
        return {k: int(r[k]) for k in keys}, {}
    found = []
    for _, r in tested.drop(index=signs.index).iterrows():
        u = str(r["unit"]) if "unit" in r and isinstance(r["unit"], str) else unit
        k = float(r["scale"]) if "scale" in r and np.isfinite(r.get("scale", np.nan)) else scale
        n, std = int(r["n"]), float(r.get("std", np.nan))
        mean, low, high = (float(r[c]) * k for c in ("mean", "ci_low", "ci_high"))
        tol = mean_tolerance(std * k, n, mean=mean, resolution=0.01)
        half = (high - low) / 2 if np.isfinite(high - low) else 0.0
        bound = tol + (SEED_SIGMAS * half / math.sqrt(2.0 * (n - 1)) if n > 1 else 0.0)
        found.append((u, mean, low, high, tol, bound, n))
    if len(found) == 1 and len(tested) == 1:
        u, mean, low, high, tol, bound, n = found[0]
        numbers = {"difference": mean, "ci_low": low, "ci_high": high, "unit": u, "seeds": n}
        return numbers, {"difference": tol, "ci_low": bound, "ci_high": bound}
    finite = [f for f in found if np.isfinite(f[1])]
    if not finite or len({f[0] for f in found}) > 1:
        return {}, {}
    tol = max(f[4] for f in finite)
    numbers = {"difference_min": min(f[1] for f in finite), "difference_max": max(f[1] for f in finite)}
    return {**numbers, "unit": found[0][0]}, {"difference_min": tol, "difference_max": tol}


def record_tested(
    claim_id: str,
    table,
    rows: Sequence[str] | None = None,
    *,
    label: str = "claim",
    combine: str = "each",
    unit: str = "pp",
    scale: float = 100.0,
) -> list[dict[str, Any]]:
    """Record the verdict on claim ``claim_id`` from the tests of a family that bear on it.

    Args:
        table: a tested family (:func:`initlab.stats.test_family`'s table, or one with its columns).
        rows: the values of ``label`` naming the tests that decide the claim; ``None``: every row.
            Tests the table lacks (a notebook run with fewer initializers) are left out; with none
            left the verdict is *not tested*.
        combine: how the tests' verdicts add up (:data:`initlab.claims.verdicts.COMBINERS`): ``each``
            (the word they share, else *mixed*) or ``ranking``.
        unit, scale: the unit of the differences and the factor to it, for tables without ``unit`` and
            ``scale`` columns (default: accuracy in percentage points).

    Records ``verdict`` (with the p-values of the test nearest to turning), ``tally`` and ``tests``, and
    for one test its ``difference``, ``ci_low``, ``ci_high``, ``unit`` and ``seeds``, for several their
    ``difference_min`` and ``difference_max`` (:mod:`initlab.claims.verdicts`).
    """
    check_claim_id(claim_id)
    chosen = _selected(table, rows, label)
    words = [str(v) for v in chosen["verdict"]] if len(chosen) else []
    tested = chosen[chosen["verdict"] != "not tested"] if len(chosen) else chosen
    verdict = combiner(combine)([str(v) for v in tested["verdict"]] if len(tested) else [])
    p = nearest_to_level(tested.to_dict("records")) if len(tested) else None
    numbers, tolerances = _test_numbers(tested, unit, scale)
    return record_verdict(
        claim_id, verdict, p=p, tolerances=tolerances, tally=tally(words) or "none", tests=len(words), **numbers
    )


def record_tests(
    table, claims: Mapping[str, Sequence[str] | None] | Sequence[str], **options: Any
) -> list[dict[str, Any]]:
    """:func:`record_tested` for each claim of ``claims`` on one table: claim id -> the rows deciding it
    (``None``: every row), or a list of ids each decided by every row."""
    chosen = claims if isinstance(claims, Mapping) else dict.fromkeys(claims)
    return [entry for claim_id, rows in chosen.items() for entry in record_tested(claim_id, table, rows, **options)]


PUBLISHED_COLUMNS = ("paper", "ours_mean", "ours_pi_low", "ours_pi_high", "verdict")


def record_published(
    table_name: str, rows, *, key: str, label: str = "init", resolution: float = 0.01
) -> list[dict[str, Any]]:
    """Record the verdict on every numeric claim of the ledger that cites published table ``table_name``.

    Args:
        table_name: a name of :func:`initlab.sources.published_tables`.
        rows: one row per published number judged against our prediction interval, with columns ``key``
            (the published table's column, e.g. ``test_acc`` or ``mnist``), ``label`` (its row), and
            :data:`PUBLISHED_COLUMNS`, numbers as printed.
        resolution: the smallest printed step of the numbers, the tolerance's floor.

    Per claim: ``verdict`` (:func:`initlab.claims.verdicts.combine_published`), ``tally``, and per row
    ``<row>/verdict``, ``<row>/ours``, ``<row>/low``, ``<row>/high`` (tolerance: half the interval's width)
    and ``<row>/paper``. A claim none of whose rows ``rows`` holds gets *no runs*.

    Raises:
        InvalidArgumentError: no numeric claim of the ledger cites ``table_name``, or ``rows`` lacks a column.
    """
    claims = [c for c in load_ledger() if c.numeric is not None and c.numeric.table == table_name]
    if not claims:
        tables = sorted({c.numeric.table for c in load_ledger() if c.numeric is not None})
        raise InvalidArgumentError("table_name", table_name, f"must be a table claims cite ({', '.join(tables)})")
    missing = [c for c in (key, label, *PUBLISHED_COLUMNS) if c not in rows.columns]
    if missing:
        raise InvalidArgumentError("rows", list(rows.columns), f"must have the columns {', '.join(missing)}")
    out = []
    for claim in claims:
        sub = rows[rows[key] == claim.numeric.column]
        if claim.numeric.rows is not None:
            sub = sub[sub[label].isin(claim.numeric.rows)]
        numbers: dict[str, Any] = {}
        tolerances: dict[str, float] = {}
        for _, r in sub.iterrows():
            low, high = float(r["ours_pi_low"]), float(r["ours_pi_high"])
            half = max((high - low) / 2 if np.isfinite(high - low) else 0.0, resolution)
            row = str(r[label])
            numbers.update(
                {
                    f"{row}/verdict": str(r["verdict"]),
                    f"{row}/ours": float(r["ours_mean"]),
                    f"{row}/low": low,
                    f"{row}/high": high,
                    f"{row}/paper": float(r["paper"]),
                }
            )
            tolerances.update({f"{row}/ours": half, f"{row}/low": half, f"{row}/high": half})
        words = [str(v) for v in sub["verdict"]]
        verdict = combine_published(words) if words else "no runs"
        out += record_verdict(claim.id, verdict, tolerances=tolerances, tally=tally(words) or "none", **numbers)
    return out
