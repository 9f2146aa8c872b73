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
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
    n = max(int(x.size), 1)
    return max(
        SEED_SIGMAS * spread * math.sqrt(2.0 / n),
        float(resolution),
        FLOAT32_REL * abs(float(x.mean())) if x.size else 0.0,
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
    if entry["value"] in ("supported", "reversed"):
        return near[0]  # only the difference test can undo it
    return any(near)  # equivalent or inconclusive: either test could decide otherwise


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
