"""Convergence speed, per run: how soon, how much on the way, and what is lost at the end.

Every source claims something about speed ("converges faster", "accelerates
convergence") and reports at most the first and the last epoch. From a run's
validation curve this module measures:

* ``epochs_to_target``: the first epoch whose value reaches ``target`` (``inf``
  when the run never does: a censored time, never averaged);
* ``auc``: the mean of the curve over its epochs (the area under it, per epoch),
  which rewards reaching a level early;
* ``best_epoch`` and ``peak``: where and how high the curve tops out;
* ``final`` and ``collapse``: the last value and ``peak - final`` (a run that
  learned and then fell back has a large collapse).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.stats import RUN_KEYS, RUN_SETTING_KEYS

METRICS = ("epochs_to_target", "auc", "best_epoch", "peak", "final", "collapse")


def run_keys(df: pd.DataFrame) -> list[str]:
    """The columns that identify one run in a study's tidy frame."""
    return [k for k in [*RUN_KEYS, *RUN_SETTING_KEYS] if k in df.columns]


def curve_metrics(values: Sequence[float], target: float) -> dict[str, float]:
    """:data:`METRICS` of one curve (epoch 1 first); non-finite values count as never reaching anything."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        raise InvalidArgumentError("values", "[]", "needs at least one epoch")
    clean = np.where(np.isfinite(v), v, -np.inf)
    reached = np.flatnonzero(clean >= target)
    best = int(np.argmax(clean))
    peak = float(clean[best]) if np.isfinite(clean[best]) else np.nan
    final = float(v[-1]) if np.isfinite(v[-1]) else np.nan
    return {
        "epochs_to_target": float(reached[0] + 1) if reached.size else np.inf,
        "auc": float(np.mean(v)) if np.all(np.isfinite(v)) else np.nan,
        "best_epoch": float(best + 1) if np.isfinite(peak) else np.nan,
        "peak": peak,
        "final": final,
        "collapse": peak - final if np.isfinite(peak) and np.isfinite(final) else np.nan,
    }


def convergence_table(df: pd.DataFrame, target: float, value: str = "val_accuracy") -> pd.DataFrame:
    """One row per run of a study: its keys and :data:`METRICS` for the ``value`` curve.

    Args:
        df: a study's tidy frame (one row per run and epoch).
        target: the level ``epochs_to_target`` waits for (e.g. 0.97 validation accuracy).
        value: the curve (a column of ``df``), default validation accuracy.
    """
    if value not in df.columns:
        raise InvalidArgumentError("value", value, f"must be a column of the results ({', '.join(df.columns)})")
    keys = run_keys(df)
    rows = []
    for key, run in df.sort_values("epoch").groupby(keys, sort=False, dropna=False):
        rows.append({**dict(zip(keys, key)), **curve_metrics(run[value].to_numpy(), target)})
    return pd.DataFrame(rows, columns=[*keys, *METRICS]).sort_values(keys, ignore_index=True)


def reached_share(table: pd.DataFrame, by: Sequence[str] = ("init",)) -> pd.DataFrame:
    """Per group: runs, runs that reached the target, and the median epochs among all runs
    (``inf`` when half of the runs or more never did)."""
    g = table.groupby(list(by), sort=False)["epochs_to_target"]
    return pd.DataFrame(
        {"runs": g.size(), "reached": g.apply(lambda x: int(np.isfinite(x).sum())), "median_epochs": g.median()}
    ).reset_index()
