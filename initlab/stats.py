"""Statistics over seeds, and the protocol every verdict follows.

* A published number is **one run**: it is judged against a *prediction interval*
  for one new run of ours (:func:`prediction_interval`, :func:`judge_published`),
  never against the confidence interval of our mean.
* A ranking claim ``A > B`` is a **paired difference over seeds**
  (:func:`paired_test`) answered *supported*, *reversed*, *equivalent within ±δ*
  (two one-sided tests) or *inconclusive*, with the number of seeds that would
  resolve a gap of the claimed size at 80% power (:func:`seeds_needed`).
* Tests asked together form a **family**; their p-values are corrected with
  Holm's step-down method (:func:`holm`, :func:`test_family`), and a verdict whose
  adjusted p-value lies within a factor of 2 of the threshold is marked *borderline*
  (another machine's float32 rounding could move it across).
* Runs that fail to train are a **failure rate** with a Wilson interval
  (:func:`wilson_interval`, :func:`failure_summary`), beside the mean of the runs
  that trained.

A difference that is the same in every seed (zero spread, at least ``MIN_EXACT`` = 3
seeds; two may coincide by chance) is taken as exact: the outcome does not depend on the seed (a constant
predictor, say), so its sign decides and no interval is drawn around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from initlab.errors import InvalidArgumentError

RUN_KEYS = ["dataset", "model", "init", "seed"]
# columns that, where a frame has them, also tell runs apart (a depth study, a grid of optimizers and rates)
RUN_SETTING_KEYS = (
    "depth",
    "activation",
    "learning_rate",
    "optimizer",
    "momentum",
    "nesterov",
    "optimizer_setting",
    "preprocess",
)
ALPHA = 0.05  # the level of every test (family-wise, after Holm)
POWER = 0.8  # the power asked of a "seeds needed" estimate
BORDERLINE = 2.0  # an adjusted p in [ALPHA / 2, ALPHA * 2] is marked borderline
RESOLUTION = 1e-6  # paired differences are rounded to this before testing (float32 results
# carry about 7 significant digits: below it a difference is rounding noise)
MIN_EXACT = 3  # identical values in at least this many seeds count as seed-independent (two may
# coincide by chance on a small test set)
MAX_SEEDS = 10_000  # beyond this many seeds a gap counts as unresolvable in practice
VERDICTS = ("supported", "reversed", "equivalent", "inconclusive")


def _finite(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values), dtype=float)
    return x[np.isfinite(x)]


def _constant(x: np.ndarray) -> bool:
    """Whether every value is identical (their computed std may still be ~1e-17 off zero)."""
    return bool(x.size >= 2 and np.all(x == x[0]))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean, sample std and the t-distribution confidence interval of the mean.

    Non-finite values are left out. With a single value the interval is undefined
    (NaN); with zero spread it has zero width.

    Returns:
        ``{"n", "mean", "std", "ci_low", "ci_high", "half_width"}``.
    """
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return {"n": 0, "mean": np.nan, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan, "half_width": np.nan}
    mean = float(x[0]) if _constant(x) else float(x.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan, "half_width": np.nan}
    std = 0.0 if _constant(x) else float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + confidence / 2, df=n - 1) * std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "half_width": half}


def prediction_interval(values: Sequence[float], confidence: float = 0.95) -> dict[str, float | bool]:
    """Where one new run is expected to land: mean ± t·s·sqrt(1 + 1/n).

    Non-finite values are left out. One value gives no interval (NaN); values that
    are all identical give the exact value (``exact`` True, zero width).

    Returns:
        ``{"n", "mean", "std", "low", "high", "half_width", "exact"}``.
    """
    x = _finite(values)
    n = int(x.size)
    out: dict[str, float | bool] = {
        "n": n,
        "mean": np.nan,
        "std": np.nan,
        "low": np.nan,
        "high": np.nan,
        "half_width": np.nan,
        "exact": False,
    }
    if n == 0:
        return out
    if _constant(x) and n >= MIN_EXACT:
        v = float(x[0])
        return {**out, "mean": v, "std": 0.0, "low": v, "high": v, "half_width": 0.0, "exact": True}
    out["mean"] = float(x[0]) if _constant(x) else float(x.mean())
    if n < 2 or _constant(x):
        return out  # one seed, or two identical ones: no interval either way
    std = float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + confidence / 2, df=n - 1) * std * np.sqrt(1 + 1 / n))
    return {**out, "std": std, "low": out["mean"] - half, "high": out["mean"] + half, "half_width": half}


def judge_published(
    values: Sequence[float], published: float, scale: float = 100.0, *, digits: int = 2, confidence: float = 0.95
) -> dict[str, object]:
    """Is a published single run where one new run of ours would land?

    The bounds are rounded to ``digits`` after scaling (as printed), and the verdict
    compares the published number with the *printed* bounds, so what a reader sees
    and what is decided agree.

    Args:
        values: our runs' values (one per seed), unscaled.
        published: the paper's number, on the printed scale (e.g. percent).
        scale: factor from our values to the printed scale.
        digits: decimals printed.

    Returns:
        ``{"n", "mean", "low", "high", "published", "verdict", "reason"}`` with ``mean``,
        ``low`` and ``high`` scaled and rounded; ``verdict`` is ``"inside"``, ``"above"``,
        ``"below"``, ``"equal"`` / ``"differs"`` (every seed identical: compared exactly),
        ``"one seed"`` (no interval), ``"too few seeds"`` (fewer than :data:`MIN_EXACT`
        identical ones) or ``"no runs"``.
    """
    if not np.isfinite(published):
        raise InvalidArgumentError("published", published, "must be a finite number (the paper's value)")
    pi = prediction_interval(values, confidence)
    r = lambda v: round(float(v) * scale, digits) if np.isfinite(v) else np.nan  # noqa: E731
    pub = round(float(published), digits)
    out = {"n": pi["n"], "mean": r(pi["mean"]), "low": r(pi["low"]), "high": r(pi["high"]), "published": pub}
    if pi["n"] == 0:
        return {**out, "verdict": "no runs", "reason": "no run finished with a finite value"}
    if pi["n"] == 1:
        return {**out, "verdict": "one seed", "reason": "one run gives no interval for the next"}
    if not pi["exact"] and not np.isfinite(pi["low"]):
        return {
            **out,
            "verdict": "too few seeds",
            "reason": f"{pi['n']} identical seeds: too few to call the value seed-independent, and no spread to "
            "draw an interval",
        }
    if pi["exact"]:
        word = "equal" if out["mean"] == pub else "differs"
        return {
            **out,
            "verdict": word,
            "reason": f"every one of {pi['n']} seeds gives {out['mean']:.{digits}f}, so the value is compared exactly",
        }
    verdict = "below" if pub < out["low"] else "above" if pub > out["high"] else "inside"
    return {
        **out,
        "verdict": verdict,
        "reason": f"{confidence:.0%} prediction interval for one run over {pi['n']} seeds",
    }


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``k`` in ``n`` (NaN, NaN for n = 0)."""
    if n <= 0:
        return (np.nan, np.nan)
    if not 0 <= k <= n:
        raise InvalidArgumentError("k", k, f"must lie between 0 and n = {n}")
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def failure_summary(values: Sequence[float], threshold: float, confidence: float = 0.95) -> dict[str, float]:
    """Runs below ``threshold`` (or non-finite) as a failure rate, the rest as a mean.

    Returns:
        ``{"n", "failed", "rate", "rate_low", "rate_high", "trained_n", "trained_mean",
        "trained_half_width"}`` (the Wilson interval of the rate; the t-interval of the
        mean of the runs that trained).
    """
    x = np.asarray(list(values), dtype=float)
    ok = np.isfinite(x) & (x >= threshold)
    n, failed = int(x.size), int((~ok).sum())
    low, high = wilson_interval(failed, n, confidence)
    ci = mean_ci(x[ok], confidence)
    return {
        "n": n,
        "failed": failed,
        "rate": failed / n if n else np.nan,
        "rate_low": low,
        "rate_high": high,
        "trained_n": ci["n"],
        "trained_mean": ci["mean"],
        "trained_half_width": ci["half_width"],
    }


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment; NaN p-values stay NaN and do not count in the family."""
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def seeds_needed(
    gap: float, sd: float, alpha: float = ALPHA, *, power: float = POWER, max_seeds: int = MAX_SEEDS
) -> float:
    """Seeds a paired t-test (two-sided, level ``alpha``) needs to detect ``gap`` with ``power``.

    ``sd`` is the standard deviation of the paired differences. Returns NaN when the
    gap or the spread is unknown or zero, and ``inf`` beyond ``max_seeds``.
    """
    if not (np.isfinite(gap) and np.isfinite(sd)) or gap == 0 or sd <= 0:
        return np.nan
    effect = abs(gap) / sd

    def achieved(n: int) -> float:
        df = n - 1
        crit = _st.t.ppf(1 - alpha / 2, df)
        nc = effect * np.sqrt(n)
        return float(_st.nct.sf(crit, df, nc) + _st.nct.cdf(-crit, df, nc))

    if achieved(max_seeds) < power:
        return np.inf
    lo, hi = 2, max_seeds
    while lo < hi:  # the smallest n that reaches the power (it grows with n)
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if achieved(mid) < power else (lo, mid)
    return float(lo)


def paired_test(
    diff: Sequence[float], delta: float, gap: float | None = None, *, resolution: float = RESOLUTION
) -> dict[str, float | bool]:
    """The raw (unadjusted) tests on paired differences ``a - b`` over seeds.

    Args:
        diff: one difference per seed (non-finite ones are left out and counted).
        delta: the equivalence margin (same units as ``diff``), > 0.
        gap: the gap the claim is about (e.g. the paper's); default our mean difference.
        resolution: differences are rounded to this first, so that float32 rounding noise
            (30 test images in every seed stored as 0.00300002, 0.00299996, ...) reads as
            the exact, seed-independent difference it is.

    Returns:
        ``{"n", "dropped", "mean", "std", "ci_low", "ci_high", "p", "p_equiv", "exact",
        "seeds_needed"}``: ``p`` two-sided for a difference, ``p_equiv`` the two one-sided
        tests' (the larger of the two p-values), ``exact`` for zero spread.
    """
    if not (np.isfinite(delta) and delta > 0):
        raise InvalidArgumentError("delta", delta, "must be a finite, positive equivalence margin")
    raw = np.asarray(list(diff), dtype=float)
    x = raw[np.isfinite(raw)]
    if resolution > 0:
        x = np.round(x / resolution) * resolution
    ci = mean_ci(x)
    out = {
        "n": ci["n"],
        "dropped": int(raw.size - x.size),
        "mean": ci["mean"],
        "std": ci["std"],
        "ci_low": ci["ci_low"],
        "ci_high": ci["ci_high"],
        "p": np.nan,
        "p_equiv": np.nan,
        "exact": False,
        "seeds_needed": np.nan,
    }
    if ci["n"] < 2:
        return out
    if ci["std"] == 0.0:
        if ci["n"] < MIN_EXACT:
            return out  # two identical differences may be chance: no test, inconclusive
        m = ci["mean"]
        return {**out, "exact": True, "p": 0.0 if m != 0 else 1.0, "p_equiv": 0.0 if abs(m) < delta else 1.0}
    p = float(_st.ttest_1samp(x, 0.0).pvalue)
    p_low = float(_st.ttest_1samp(x, -delta, alternative="greater").pvalue)
    p_high = float(_st.ttest_1samp(x, delta, alternative="less").pvalue)
    size = ci["mean"] if gap is None or not np.isfinite(gap) else gap
    return {**out, "p": p, "p_equiv": max(p_low, p_high), "seeds_needed": seeds_needed(size, ci["std"])}


def decide(mean: float, p_adj: float, p_equiv_adj: float, *, alpha: float = ALPHA) -> str:
    """One of :data:`VERDICTS` from a claim's mean difference and Holm-adjusted p-values."""
    if np.isfinite(p_adj) and p_adj < alpha:
        return "supported" if mean > 0 else "reversed"
    if np.isfinite(p_equiv_adj) and p_equiv_adj < alpha:
        return "equivalent"
    return "inconclusive"


def is_borderline(p_adj: float, p_equiv_adj: float, alpha: float = ALPHA, *, band: float = BORDERLINE) -> bool:
    """Whether a deciding p-value lies within ``band``× of ``alpha`` either way."""
    return any(np.isfinite(p) and alpha / band <= p <= alpha * band for p in (p_adj, p_equiv_adj))


def test_family(tests: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Holm-correct a family of :func:`paired_test` results and decide each claim.

    ``tests`` holds one row per claim with at least ``mean, p, p_equiv, exact``. Exact
    rows (zero spread) are decided by their sign and take no part in the correction.

    Returns:
        ``tests`` with ``p_adj, p_equiv_adj, verdict, borderline`` added.
    """
    t = tests.copy()
    exact = t["exact"].astype(bool).to_numpy() if len(t) else np.zeros(0, bool)
    p = np.where(exact, np.nan, t["p"].to_numpy(dtype=float)) if len(t) else np.zeros(0)
    q = np.where(exact, np.nan, t["p_equiv"].to_numpy(dtype=float)) if len(t) else np.zeros(0)
    t["p_adj"] = np.where(exact, t["p"].to_numpy(dtype=float) if len(t) else 0, holm(p))
    t["p_equiv_adj"] = np.where(exact, t["p_equiv"].to_numpy(dtype=float) if len(t) else 0, holm(q))
    t["verdict"] = [decide(m, a, e, alpha=alpha) for m, a, e in zip(t["mean"], t["p_adj"], t["p_equiv_adj"])]
    # supported/reversed turn only on p_adj (the difference test comes first); equivalent and
    # inconclusive turn on either p-value (an equivalent row whose p_adj nears the level may become supported).
    t["borderline"] = [
        bool(
            not x
            and (is_borderline(a, np.nan, alpha) if v in ("supported", "reversed") else is_borderline(a, e, alpha))
        )
        for x, v, a, e in zip(exact, t["verdict"], t["p_adj"], t["p_equiv_adj"])
    ]
    return t


def verdict_label(row: pd.Series | dict, delta: float, scale: float = 100.0, *, unit: str = "pp") -> str:
    """A verdict in words: ``"supported"``, ``"equivalent within ±0.5 pp"``,
    ``"inconclusive (about 14 seeds would resolve a 0.30 pp gap)"``, with
    ``", borderline (Holm-adjusted p = 0.041)"`` or ``" (exact: the same in every seed)"`` marks."""
    v = row["verdict"]
    text = f"equivalent within ±{delta * scale:g} {unit}" if v == "equivalent" else v
    if v == "inconclusive":
        need, n = row.get("seeds_needed", np.nan), int(row["n"])
        if n < 2:
            text += " (needs at least 2 seeds)"
        elif row.get("std", np.nan) == 0.0 and n < MIN_EXACT:
            text += f" (identical in {n} seeds: needs at least {MIN_EXACT} to call it exact)"
        elif np.isinf(need):
            text += f" (no feasible number of seeds resolves it: more than {MAX_SEEDS:,})"
        elif np.isfinite(need):
            gap = row.get("gap", np.nan)
            size = abs(gap if np.isfinite(gap) else row["mean"]) * scale
            if need <= n and np.isfinite(gap) and abs(row["mean"]) < abs(gap):
                # enough seeds for the claimed gap: what was measured is smaller
                text += (
                    f" (about {int(need)} seeds would resolve a {size:.2f} {unit} gap and {n} ran: "
                    f"the gap measured, {row['mean'] * scale:+.2f} {unit}, is smaller)"
                )
            elif need <= n:  # enough seeds for this test alone: the family's correction leaves it open
                text += (
                    f" (about {int(need)} seeds would resolve a {size:.2f} {unit} gap in this test alone and "
                    f"{n} ran: the correction over the family leaves it open)"
                )
            else:
                text += f" (about {int(need)} seeds would resolve a {size:.2f} {unit} gap)"
    if row.get("exact", False):
        text += f" (exact: the same in all {int(row['n'])} seeds)"
    elif row.get("borderline", False):
        tests = [("", row["p_adj"]), ("equivalence ", row["p_equiv_adj"])]
        if v == "equivalent":
            tests.reverse()
        name, p = next(((k, p) for k, p in tests if is_borderline(p, np.nan)), tests[0])
        text += f", borderline (Holm-adjusted {name}p = {p:.3f})"
    return text


def final_epochs(df: pd.DataFrame, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run: the last epoch each run recorded, sorted by the run's keys.

    ``keys``: the columns that, with ``seed``, tell runs apart (default: :data:`RUN_KEYS`
    and those of :data:`RUN_SETTING_KEYS` the frame has).
    """
    keys = [k for k in [*RUN_KEYS, *RUN_SETTING_KEYS] if k in df.columns] if keys is None else [*keys, "seed"]
    last = df.sort_values("epoch").groupby(keys, sort=False, dropna=False).tail(1)
    return last.sort_values(keys).reset_index(drop=True)


def summarize(
    df: pd.DataFrame,
    value: str = "test_accuracy",
    by: Sequence[str] = ("init",),
    *,
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


def paired_values(
    df: pd.DataFrame, a: str, b: str, *, value: str = "test_accuracy", epoch: int | None = None, key: str = "init"
) -> pd.DataFrame:
    """``value`` of ``a`` and ``b`` (values of column ``key``) side by side, one row per seed both ran.

    A seed only one side ran is left out; a non-finite value (a diverged run) is kept, for
    :func:`paired_test` to leave out and count. ``df`` must hold one run per seed and side
    (filter other datasets, depths... first).
    """
    if value not in df.columns:
        raise InvalidArgumentError("value", value, f"must be a column of the results ({', '.join(df.columns)})")
    rows = (
        final_epochs(df)
        if epoch is None and "epoch" in df.columns
        else (df if epoch is None else df[df["epoch"] == epoch])
    )
    for name in (a, b):
        if name not in set(rows[key]):
            raise InvalidArgumentError(
                key,
                name,
                f"must be one of the results' {key} values ({', '.join(map(str, sorted(rows[key].unique())))})",
            )
    sel = rows[rows[key].isin([a, b])]
    if sel.duplicated(["seed", key]).any():
        varying = [
            c
            for c in [*RUN_KEYS, *RUN_SETTING_KEYS, "epoch"]
            if c in sel.columns and c not in ("seed", key) and sel[c].nunique(dropna=False) > 1
        ]
        raise InvalidArgumentError(
            "df",
            f"{len(sel)} rows",
            f"must hold one run per seed of {a!r} and {b!r} "
            f"(filter it first; columns that vary: {', '.join(varying) or 'none'})",
        )
    wide = sel.pivot(index="seed", columns=key, values=value)
    both = sel.groupby("seed")[key].nunique() == (1 if a == b else 2)
    # A seed one side did not run is left out; a run with a non-finite value stays (paired_test counts it).
    return wide.loc[both[both].index, [a, b]].set_axis(["a", "b"], axis=1)


def paired_difference(
    df: pd.DataFrame,
    a: str,
    b: str,
    *,
    value: str = "test_accuracy",
    epoch: int | None = None,
    confidence: float = 0.95,
) -> dict[str, float]:
    """CI of the mean difference ``a - b`` of ``value`` over seeds both ran (paired by seed)."""
    w = paired_values(df, a, b, value=value, epoch=epoch)
    diff = (w["a"] - w["b"]).to_numpy()
    return {"a": a, "b": b, **mean_ci(diff, confidence)}


def compare_pairs(
    df: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    delta: float,
    *,
    value: str = "test_accuracy",
    epoch: int | None = None,
    gaps: Sequence[float | None] | None = None,
    key: str = "init",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """A family of claims ``a > b`` tested on paired differences, Holm-corrected.

    Args:
        df: a study's tidy frame.
        pairs: the claims, ``(a, b)`` meaning "a is higher than b".
        delta: the equivalence margin (units of ``value``).
        value, epoch: what is compared (default the final epoch).
        gaps: per claim the gap claimed (e.g. the paper's ``a - b``), for the seeds-needed estimate.
        key: the column that names the two sides.

    Returns:
        One row per claim: ``claim, a, b, gap`` and :func:`paired_test`'s and
        :func:`test_family`'s columns.
    """
    gaps = list(gaps) if gaps is not None else [None] * len(pairs)
    if len(gaps) != len(pairs):
        raise InvalidArgumentError("gaps", gaps, f"must give one gap (or None) per claim: {len(pairs)} claim(s)")
    rows = []
    for (a, b), gap in zip(pairs, gaps):
        w = paired_values(df, a, b, value=value, epoch=epoch, key=key)
        rows.append(
            {
                "claim": f"{a} > {b}",
                "a": a,
                "b": b,
                "gap": np.nan if gap is None else float(gap),
                **paired_test((w["a"] - w["b"]).to_numpy(), delta, gap),
            }
        )
    cols = [
        "claim",
        "a",
        "b",
        "gap",
        "n",
        "dropped",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "p",
        "p_equiv",
        "exact",
        "seeds_needed",
    ]
    return test_family(pd.DataFrame(rows, columns=cols), alpha)


def ranking_verdict(
    df: pd.DataFrame,
    claimed: Sequence[str],
    delta: float,
    *,
    value: str = "test_accuracy",
    gaps: Sequence[float | None] | None = None,
) -> pd.DataFrame:
    """A claimed ranking (best first) tested pair by adjacent pair: one Holm family.

    Returns:
        :func:`compare_pairs`' table, one row per step ``claimed[i] > claimed[i+1]``,
        with ``mean_diff`` as an alias of ``mean``.
    """
    v = compare_pairs(df, list(zip(claimed[:-1], claimed[1:])), delta, value=value, gaps=gaps)
    return v.assign(mean_diff=v["mean"])
