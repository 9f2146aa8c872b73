"""Statistics over seeds: means, t-based 95% confidence intervals, paired differences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from initlab.errors import InvalidArgumentError

RUN_KEYS = ["dataset", "model", "init", "seed"]


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean, sample std and the t-distribution confidence interval of the mean.

    With a single value the interval is undefined and reported as NaN.

    Returns:
        ``{"n", "mean", "std", "ci_low", "ci_high", "half_width"}``.
    """
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return {"n": 0, "mean": np.nan, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan, "half_width": np.nan}
    mean = float(x.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan, "half_width": np.nan}
    std = float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + confidence / 2, df=n - 1) * std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "half_width": half}


def final_epochs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the last epoch each run recorded."""
    keys = [k for k in RUN_KEYS if k in df.columns]
    return df.sort_values("epoch").groupby(keys, sort=False).tail(1).sort_values(keys).reset_index(drop=True)


def summarize(
    df: pd.DataFrame,
    value: str = "test_accuracy",
    by: Sequence[str] = ("init",),
    epoch: int | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean ± CI of ``value`` over seeds, for each group in ``by``.

    Args:
        df: a study's tidy frame (one row per run and epoch).
        value: the column to summarize.
        by: grouping columns (seeds are what varies inside a group).
        epoch: take this epoch's row (1-based); default the last epoch of each run.
        confidence: the interval's coverage.

    Returns:
        One row per group with ``n, mean, std, ci_low, ci_high, half_width``.
    """
    if value not in df.columns:
        raise InvalidArgumentError("value", value, f"must be a column of the results ({', '.join(df.columns)})")
    rows = final_epochs(df) if epoch is None else df[df["epoch"] == epoch]
    out = []
    for key, group in rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        out.append({**dict(zip(by, key)), **mean_ci(group[value].to_numpy(), confidence)})
    return pd.DataFrame(out)


def paired_difference(
    df: pd.DataFrame,
    a: str,
    b: str,
    value: str = "test_accuracy",
    epoch: int | None = None,
    confidence: float = 0.95,
) -> dict[str, float]:
    """CI of the mean difference ``a - b`` of ``value`` over seeds both ran.

    Runs are paired by seed (same data order within a seed), which removes the
    seed-to-seed variation the two initializers share.

    Returns:
        ``{"a", "b", "n", "mean", "std", "ci_low", "ci_high", "p_value", "supported"}``
        where ``supported`` is True when the whole interval is above zero.
    """
    rows = final_epochs(df) if epoch is None else df[df["epoch"] == epoch]
    wide = rows[rows["init"].isin([a, b])].pivot_table(index="seed", columns="init", values=value)
    for name in (a, b):
        if name not in wide.columns:
            raise InvalidArgumentError("init", name, f"must be one of the results' initializers ({', '.join(sorted(rows['init'].unique()))})")
    diff = (wide[a] - wide[b]).dropna().to_numpy()
    ci = mean_ci(diff, confidence)
    p = float(_st.ttest_1samp(diff, 0.0).pvalue) if diff.size >= 2 and np.std(diff) > 0 else np.nan
    return {"a": a, "b": b, **ci, "p_value": p, "supported": bool(ci["n"] >= 2 and ci["ci_low"] > 0)}


def ranking_verdict(df: pd.DataFrame, claimed: Sequence[str], value: str = "test_accuracy") -> pd.DataFrame:
    """Check a claimed ranking (best first) pair by adjacent pair.

    Returns:
        One row per adjacent pair ``claimed[i] > claimed[i+1]`` with the paired
        difference, its CI and a plain verdict: ``supported`` (CI above 0),
        ``reversed`` (CI below 0) or ``not resolved`` (CI contains 0).
    """
    rows = []
    for hi, lo in zip(claimed[:-1], claimed[1:]):
        d = paired_difference(df, hi, lo, value)
        verdict = "supported" if d["ci_low"] > 0 else "reversed" if d["ci_high"] < 0 else "not resolved"
        rows.append({"claim": f"{hi} > {lo}", "n": d["n"], "mean_diff": d["mean"], "ci_low": d["ci_low"],
                     "ci_high": d["ci_high"], "p_value": d["p_value"], "verdict": verdict})
    return pd.DataFrame(rows)
