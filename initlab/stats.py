"""Statistics over seeds, and the protocol every verdict follows.

* A published number is **one run**: it is judged against a *prediction interval*
  for one new run of ours (:func:`prediction_interval`, :func:`judge_published`),
  never against the confidence interval of our mean.
* A ranking claim ``A > B`` is a **paired difference over seeds** (:func:`paired_test`):
  a two-sided t-test for a difference and two one-sided tests (TOST) for equivalence
  within ±δ, the smallest difference that matters. Its verdict (:data:`VERDICTS`) is
  *negligible* (machine word ``"equivalent"``) when equivalence is shown, whatever the
  sign; *supported* or *reversed* when a difference is shown and its 95% CI does not lie
  inside ±δ; otherwise *inconclusive*, with the seeds that would resolve the gap at 80%
  power and their interval (:func:`seeds_needed`, :func:`seeds_needed_interval`).
* Tests asked together form a **family**: the difference and the equivalence p-values of
  all its claims are corrected together by Holm's step-down method, no step multiplying
  by more than the number of claims (a claim's two null hypotheses exclude each other)
  (:func:`holm`, :func:`test_family`). A verdict whose deciding adjusted p-value lies
  within a factor of 2 of the threshold is marked *borderline* (another machine's float32
  rounding could move it across). A negligible verdict also says whether it would hold
  at δ/2 and at 2δ.
* Runs that fail to train are a **failure rate** with a Wilson interval
  (:func:`wilson_interval`, :func:`failure_summary`, :func:`failure_threshold` for a
  bimodal set), beside the mean of the runs that trained; the mean of a bounded quantity
  gets an interval inside its range (:func:`bounded_mean_ci`, logit-t).

A difference that is the same in every seed (zero spread, at least ``MIN_EXACT`` = 3
seeds; two may coincide by chance) is taken as exact: the outcome does not depend on the seed (a constant
predictor, say), so its size decides (inside ±δ: negligible; otherwise its sign) and no interval is drawn
around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

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
CONFIDENCE = 0.95  # the coverage of every printed confidence interval of a difference
SEEDS_RANGE = 100.0  # a seeds-needed estimate is shown only when its interval's ends lie within this factor
BIMODAL_GAP = 0.10  # a gap between two clusters of runs at least this wide (accuracy: 10 pp) ...
BIMODAL_RATIO = 3.0  # ... and this many times the spread inside either cluster splits them
# The machine-readable verdicts (recorded, compared, counted): stable words. ``"equivalent"`` is printed
# as *negligible* (:data:`VERDICT_WORDS`): the difference, whatever its sign, lies within ±δ.
VERDICTS = ("supported", "reversed", "equivalent", "inconclusive")
_MARGINS = {"p_equiv": 1.0, "p_equiv_half": 0.5, "p_equiv_double": 2.0}  # equivalence p-values: margin / δ
VERDICT_WORDS = {
    "supported": "supported",
    "reversed": "reversed",
    "equivalent": "negligible",
    "inconclusive": "inconclusive",
}


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


def failure_threshold(
    values: Sequence[float],
    *,
    fail_below: float | None = None,
    min_gap: float = BIMODAL_GAP,
    ratio: float = BIMODAL_RATIO,
) -> float:
    """The value below which a run counts as failed, or NaN when every run trained alike.

    In order: ``fail_below`` when some run lies below it; else, when the finite values
    fall into two clusters (the widest gap between sorted values is at least ``min_gap``
    and at least ``ratio`` times the range inside either cluster), the middle of that gap
    (the lower cluster failed: the values are accuracies, higher is better); else ``-inf``
    when some run is non-finite (diverged: only those failed); else NaN. Such a set is
    reported as a failure rate (:func:`failure_summary`), never as a mean ± CI.
    """
    raw = np.asarray(list(values), dtype=float)
    x = np.sort(raw[np.isfinite(raw)])
    if fail_below is not None and np.any(x < fail_below):
        return float(fail_below)
    if x.size >= 2:
        gaps = np.diff(x)
        i = int(np.argmax(gaps))
        spread = max(x[i] - x[0], x[-1] - x[i + 1])
        if gaps[i] >= min_gap and gaps[i] >= ratio * spread:
            return float((x[i] + x[i + 1]) / 2)
    return -np.inf if x.size < raw.size else np.nan


def bounded_mean_ci(
    values: Sequence[float], *, low: float = 0.0, high: float = 1.0, confidence: float = 0.95, eps: float = 1e-4
) -> dict[str, float]:
    """The mean of a quantity bounded to ``[low, high]`` (an accuracy) with an interval inside that range.

    A logit-t interval: the values, rescaled to (0, 1) and clipped to ``[eps, 1 - eps]``
    (an accuracy of exactly 0 or 1 has no logit), are mapped by ``log(u / (1 - u))``, the
    t-interval of their mean is taken there, with ``n - 1`` degrees of freedom as for
    :func:`mean_ci`, and mapped back. Student's quantile keeps the width honest at 3 to 10
    seeds, where a bootstrap has too few distinct resamples and covers too little.
    ``mean`` is the plain mean; with one value, or identical ones, as :func:`mean_ci`.

    Returns:
        ``{"n", "mean", "ci_low", "ci_high"}``.
    """
    if not (np.isfinite(low) and np.isfinite(high) and high > low):
        raise InvalidArgumentError("high", high, f"must be finite and above low = {low}")
    if not 0 < eps < 0.5:
        raise InvalidArgumentError("eps", eps, "must lie between 0 and 0.5")
    x = _finite(values)
    ci = mean_ci(x, confidence)
    out = {"n": ci["n"], "mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}
    if ci["n"] < 2 or ci["std"] == 0.0:
        return out
    if np.any((x < low) | (x > high)):
        raise InvalidArgumentError("values", f"{x.min():g} to {x.max():g}", f"must lie in [{low:g}, {high:g}]")
    u = np.clip((x - low) / (high - low), eps, 1 - eps)
    z = np.log(u / (1 - u))
    zc = mean_ci(z, confidence)
    expit = lambda v: low + (high - low) / (1 + np.exp(-v))  # noqa: E731
    return {**out, "ci_low": float(expit(zc["ci_low"])), "ci_high": float(expit(zc["ci_high"]))}


def holm(pvalues: Sequence[float], *, max_true: int | None = None) -> np.ndarray:
    """Holm's step-down adjustment; NaN p-values stay NaN and do not count in the family.

    Step ``j`` (1-based, p-values sorted) multiplies by ``m - j + 1``, the number of null
    hypotheses that may still be true. ``max_true`` caps that number where logic does
    (Shaffer's refinement): a claim's "no difference" and "a difference of at least δ"
    cannot both be true, so a family of ``k`` claims tested both ways has at most ``k``
    true nulls among its ``2k`` p-values. It stays a valid family-wise correction: the
    first true null rejected, at step ``j``, had ``p <= α / t`` with ``t`` true nulls.
    """
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    if max_true is not None and max_true < 1:
        raise InvalidArgumentError("max_true", max_true, "must be at least 1 (or None: no cap)")
    cap = m if max_true is None else min(m, int(max_true))
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, min(cap, m - rank) * p[i]))
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


def seeds_needed_interval(
    gap: float,
    sd: float,
    n: int,
    alpha: float = ALPHA,
    *,
    confidence: float = 0.95,
    power: float = POWER,
    max_seeds: int = MAX_SEEDS,
) -> tuple[float, float]:
    """How uncertain :func:`seeds_needed` is: its values at the ends of the spread's confidence interval.

    ``sd``, from ``n`` seeds, has the chi-square interval ``sd * sqrt((n - 1) / q)`` with
    ``q`` the chi-square quantiles at ``(1 ± confidence) / 2`` and ``n - 1`` degrees of
    freedom; the seeds needed grow with the spread, so they lie between the seeds needed
    at its two ends. With 3 seeds the spread may be 0.52 to 6.3 times ``sd``, and the seeds
    needed about 0.3 to 40 times the estimate. ``(nan, nan)`` where :func:`seeds_needed`
    is NaN or ``n < 2``; ends beyond ``max_seeds`` are ``inf``.
    """
    if n < 2 or np.isnan(seeds_needed(gap, sd, alpha, power=power, max_seeds=max_seeds)):
        return (np.nan, np.nan)
    df = n - 1
    lo_sd = sd * np.sqrt(df / _st.chi2.ppf(0.5 + confidence / 2, df))
    hi_sd = sd * np.sqrt(df / _st.chi2.ppf(0.5 - confidence / 2, df))
    return (
        seeds_needed(gap, lo_sd, alpha, power=power, max_seeds=max_seeds),
        seeds_needed(gap, hi_sd, alpha, power=power, max_seeds=max_seeds),
    )


def seeds_shown(low: float, high: float, *, span: float = SEEDS_RANGE) -> bool:
    """The rule for printing a seeds-needed estimate: its interval is bounded (``high`` at most
    :data:`MAX_SEEDS`) and its ends lie within a factor ``span`` (an interval from 5 to 2,000 says
    nothing a reader can plan with)."""
    return bool(np.isfinite(low) and np.isfinite(high) and high <= span * low)


def tost_p(mean: float, std: float, n: int, delta: float) -> float:
    """The two one-sided tests' p-value (the larger one) that a mean difference lies within ±``delta``,
    from its mean, sample std and ``n`` (Student's t with ``n - 1`` degrees of freedom)."""
    if n < 2 or not (np.isfinite(mean) and np.isfinite(std)) or std <= 0:
        return np.nan
    se = std / np.sqrt(n)
    return float(max(_st.t.sf((mean + delta) / se, n - 1), _st.t.sf((delta - mean) / se, n - 1)))


def gap_outside_ci(gap: float, ci_low: float, ci_high: float) -> bool:
    """Whether a claimed gap is ruled out as too large: the confidence interval lies wholly on zero's side
    of it (``gap > 0`` above the interval, ``gap < 0`` below it). Only then may a text say the gap is not
    there; a gap inside the interval may be there, however many seeds ran."""
    if not (np.isfinite(gap) and np.isfinite(ci_low) and np.isfinite(ci_high)) or gap == 0:
        return False
    return bool(ci_high < gap if gap > 0 else ci_low > gap)


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
        ``{"n", "dropped", "mean", "std", "ci_low", "ci_high", "p", "p_equiv", "p_equiv_half",
        "p_equiv_double", "exact", "seeds_needed", "seeds_low", "seeds_high"}``: ``p`` two-sided
        for a difference, ``p_equiv`` the two one-sided tests' (the larger of the two p-values)
        against ±``delta``, ``p_equiv_half`` and ``p_equiv_double`` the same against ±δ/2 and
        ±2δ, ``exact`` for zero spread, ``seeds_low`` and ``seeds_high`` the 95% interval of
        ``seeds_needed`` (:func:`seeds_needed_interval`).
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
        "p_equiv_half": np.nan,
        "p_equiv_double": np.nan,
        "exact": False,
        "seeds_needed": np.nan,
        "seeds_low": np.nan,
        "seeds_high": np.nan,
    }
    if ci["n"] < 2:
        return out
    if ci["std"] == 0.0:
        if ci["n"] < MIN_EXACT:
            return out  # two identical differences may be chance: no test, inconclusive
        m = ci["mean"]
        inside = {k: 0.0 if abs(m) < f * delta else 1.0 for k, f in _MARGINS.items()}
        return {**out, "exact": True, "p": 0.0 if m != 0 else 1.0, **inside}
    p = float(_st.ttest_1samp(x, 0.0).pvalue)
    p_low = float(_st.ttest_1samp(x, -delta, alternative="greater").pvalue)
    p_high = float(_st.ttest_1samp(x, delta, alternative="less").pvalue)
    size = ci["mean"] if gap is None or not np.isfinite(gap) else gap
    low, high = seeds_needed_interval(size, ci["std"], ci["n"])
    return {
        **out,
        "p": p,
        "p_equiv": max(p_low, p_high),
        "p_equiv_half": tost_p(ci["mean"], ci["std"], ci["n"], delta / 2),
        "p_equiv_double": tost_p(ci["mean"], ci["std"], ci["n"], 2 * delta),
        "seeds_needed": seeds_needed(size, ci["std"]),
        "seeds_low": low,
        "seeds_high": high,
    }


RUN_FAIL_BELOW = 0.2  # a run whose test accuracy stays below 20% did not train: ten classes put chance near 10%


def sign_test(a: Sequence[float], b: Sequence[float], *, fail_below: float | None = None) -> dict[str, float]:
    """Exact two-sided sign test of "a > b" per seed, a failed run ranking below any that trained.

    A run failed when it diverged (non-finite) or, with ``fail_below``, ended below it. Seeds where both failed
    (whatever their numbers: failure is a rate, not a level) or both are equal are ties and left out.

    Returns:
        ``{"n", "wins", "losses", "ties", "both_failed", "mean", "p"}`` with ``mean = (wins - losses) / n``
        (in [-1, 1]) and ``p`` NaN when no seed is untied.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    floor = -np.inf if fail_below is None else fail_below
    ok_x, ok_y = np.isfinite(x) & (x >= floor), np.isfinite(y) & (y >= floor)
    x, y = np.where(ok_x, x, -np.inf), np.where(ok_y, y, -np.inf)
    wins, losses = int((x > y).sum()), int((x < y).sum())
    n = wins + losses
    p = float(_st.binomtest(wins, n, 0.5).pvalue) if n else np.nan
    return {
        "n": n,
        "wins": wins,
        "losses": losses,
        "ties": int(x.size - n),
        "both_failed": int((~ok_x & ~ok_y).sum()),
        "mean": (wins - losses) / n if n else np.nan,
        "p": p,
    }


def failure_test(failed_a: Sequence[bool], failed_b: Sequence[bool]) -> dict[str, Any]:
    """Fisher's exact test (two-sided) that "a" fails less often than "b": runs that fail are a rate.

    Returns:
        ``{"n", "a_failed", "b_failed", "mean", "p"}``: ``n`` runs a side, ``mean`` = b's failure rate minus
        a's (positive when a trains more often).
    """
    fa, fb = np.asarray(failed_a, bool), np.asarray(failed_b, bool)
    ka, kb, n = int(fa.sum()), int(fb.sum()), int(fa.size)
    p = float(_st.fisher_exact([[ka, n - ka], [kb, int(fb.size) - kb]]).pvalue) if n else np.nan
    return {"n": n, "a_failed": ka, "b_failed": kb, "mean": (kb / fb.size - ka / n) if n else np.nan, "p": p}


def failure_row(failed_a: Sequence[bool], failed_b: Sequence[bool]) -> dict[str, Any]:
    """A claim decided on failure rates (:func:`failure_test`, ``test = "failures"``) as a row of a
    :func:`test_family` table: :func:`paired_test`'s columns, with no interval and no equivalence test."""
    return {
        "test": "failures",
        **failure_test(failed_a, failed_b),
        "dropped": 0,
        "std": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_equiv": np.nan,
        "p_equiv_half": np.nan,
        "p_equiv_double": np.nan,
        "exact": False,
        "seeds_needed": np.nan,
        "seeds_low": np.nan,
        "seeds_high": np.nan,
    }


def paired_or_failures(
    a: pd.Series,
    b: pd.Series,
    delta: float,
    *,
    failed_a: pd.Series | None = None,
    failed_b: pd.Series | None = None,
    gap: float | None = None,
) -> dict[str, Any]:
    """The test of "a > b" over the seeds both sides ran (``a``, ``b``: values indexed by seed).

    Where every one of those runs trained, a paired t-test with the equivalence tests (:func:`paired_test`,
    ``test = "t"``). Where a run failed (``failed_a``/``failed_b``, True by seed; a non-finite value fails too),
    averaging would fold a failure into a level, so the claim is decided on the failure rates instead
    (:func:`failure_test`, ``test = "failures"``): no equivalence test and no interval; ``mean`` is the
    difference of the two rates.
    """
    seeds = a.index.intersection(b.index)
    x, y = a.loc[seeds].to_numpy(float), b.loc[seeds].to_numpy(float)
    fa = ~np.isfinite(x) | (failed_a.reindex(seeds).fillna(False).to_numpy(bool) if failed_a is not None else False)
    fb = ~np.isfinite(y) | (failed_b.reindex(seeds).fillna(False).to_numpy(bool) if failed_b is not None else False)
    if not (np.any(fa) or np.any(fb)):
        return {"test": "t", **paired_test(x - y, delta, gap)}
    return failure_row(fa, fb)


def decide(mean: float, p_adj: float, p_equiv_adj: float, *, alpha: float = ALPHA, ci_inside: bool = False) -> str:
    """One of :data:`VERDICTS` from a claim's mean difference and Holm-adjusted p-values.

    Equivalence comes first: a difference shown to lie within ±δ is ``"equivalent"``
    (printed *negligible*) whatever its sign, even when a difference is shown too. A
    shown difference is ``"supported"`` or ``"reversed"`` unless its confidence interval
    lies inside ±δ (``ci_inside``) while equivalence does not survive the correction:
    then ``"inconclusive"``, never a supported claim whose every plausible size is
    negligible.
    """
    if np.isfinite(p_equiv_adj) and p_equiv_adj < alpha:
        return "equivalent"
    if np.isfinite(p_adj) and p_adj < alpha and not ci_inside:
        return "supported" if mean > 0 else "reversed"
    return "inconclusive"


def is_borderline(p_adj: float, p_equiv_adj: float, alpha: float = ALPHA, *, band: float = BORDERLINE) -> bool:
    """Whether a deciding p-value lies within ``band``× of ``alpha`` either way."""
    return any(np.isfinite(p) and alpha / band <= p <= alpha * band for p in (p_adj, p_equiv_adj))


def _column(t: pd.DataFrame, name: str) -> np.ndarray:
    return t[name].to_numpy(dtype=float) if name in t.columns else np.full(len(t), np.nan)


def test_family(tests: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Holm-correct a family of :func:`paired_test` results and decide each claim.

    ``tests`` holds one row per claim with at least ``mean, p, p_equiv, exact``. The
    difference and the equivalence p-values of all claims are one Holm family
    (:func:`holm` with at most one true null per claim). Exact rows (zero spread) are
    decided by their size and take no part in the correction. Where the rows have
    ``p_equiv_half`` / ``p_equiv_double`` (:func:`paired_test`), each is adjusted as the
    family would adjust the claim's equivalence p-value had its margin been δ/2 or 2δ.

    Returns:
        ``tests`` with ``p_adj, p_equiv_adj, p_equiv_half_adj, p_equiv_double_adj,
        ci_inside, verdict, borderline`` added; ``ci_inside``: the 95% CI lies inside ±δ
        (the equivalence p-value below 2.5%, the same thing).
    """
    t = tests.copy()
    k = len(t)
    exact = t["exact"].astype(bool).to_numpy() if k else np.zeros(0, bool)
    raw = {name: _column(t, name) for name in ("p", *_MARGINS)}
    p = np.where(exact, np.nan, raw["p"])
    q = np.where(exact, np.nan, raw["p_equiv"])
    tested = int((np.isfinite(p) | np.isfinite(q)).sum())  # claims with a test: at most one true null each

    def adjust(q_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        both = holm(np.concatenate([p, q_row]), max_true=max(tested, 1))
        return both[:k], both[k:]

    p_adj, q_adj = adjust(q)
    t["p_adj"] = np.where(exact, raw["p"], p_adj)
    t["p_equiv_adj"] = np.where(exact, raw["p_equiv"], q_adj)
    for name in ("p_equiv_half", "p_equiv_double"):
        other = np.where(exact, np.nan, raw[name])
        adj = np.full(k, np.nan)
        for i in np.flatnonzero(np.isfinite(other) & np.isfinite(q)):
            adj[i] = adjust(np.where(np.arange(k) == i, other, q))[1][i]
        t[f"{name}_adj"] = np.where(exact, raw[name], adj)
    t["ci_inside"] = ~exact & (raw["p_equiv"] < (1 - CONFIDENCE) / 2)
    t["verdict"] = [
        decide(m, a, e, alpha=alpha, ci_inside=bool(c))
        for m, a, e, c in zip(t["mean"], t["p_adj"], t["p_equiv_adj"], t["ci_inside"])
    ]
    # negligible turns only on the equivalence test (it is decided first); supported, reversed and
    # inconclusive on either (equivalence passing elsewhere would make a supported row negligible).
    t["borderline"] = [
        bool(not x and (is_borderline(np.nan, e, alpha) if v == "equivalent" else is_borderline(a, e, alpha)))
        for x, v, a, e in zip(exact, t["verdict"], t["p_adj"], t["p_equiv_adj"])
    ]
    return t


def _seeds_note(row: pd.Series | dict, scale: float, unit: str) -> str:
    """``"about 14 seeds (95% CI 6–140) would resolve a 0.30 pp gap"``, or ``""`` where not shown."""
    need = row.get("seeds_needed", np.nan)
    gap = row.get("gap", np.nan)
    size = gap if np.isfinite(gap) else row.get("mean", np.nan)
    low, high = row.get("seeds_low", np.nan), row.get("seeds_high", np.nan)
    if np.isnan(low) and np.isfinite(row.get("std", np.nan)) and np.isfinite(size):
        low, high = seeds_needed_interval(size, row["std"], int(row["n"]))
    if np.isinf(low):
        return f"no feasible number of seeds resolves it: more than {MAX_SEEDS:,}, even at the spread's lower 95% bound"
    if not (np.isfinite(need) and seeds_shown(low, high)):
        return ""
    return (
        f"about {int(need)} seeds (95% CI {int(low)}–{int(high):,}) would resolve a {abs(size) * scale:.2f} {unit} gap"
    )


def near_end(row: pd.Series | dict) -> float:
    """The end of a supported (reversed) claim's 95% CI nearest zero: ``ci_low`` (``ci_high``); NaN otherwise."""
    v = row.get("verdict")
    if v not in ("supported", "reversed") or row.get("exact", False):
        return np.nan
    return float(row.get("ci_low", np.nan) if v == "supported" else row.get("ci_high", np.nan))


def reaches_inside(row: pd.Series | dict, delta: float) -> bool:
    """Whether a supported or reversed claim's 95% CI reaches inside ±``delta`` (it may be too small to matter)."""
    near = near_end(row)
    return bool(np.isfinite(near) and np.isfinite(delta) and abs(near) < delta)


def _margin_word(row: pd.Series | dict, margin: float, shown: bool) -> str:
    """``yes``; ``not shown``; or, where the 95% CI lies inside ±margin but the corrected test does not pass,
    ``not shown after Holm (CI inside)``."""
    if shown:
        return "yes"
    low, high = row.get("ci_low", np.nan), row.get("ci_high", np.nan)
    inside = np.isfinite(low) and np.isfinite(high) and -margin < low and high < margin
    return "not shown after Holm (CI inside)" if inside else "not shown"


def verdict_label(row: pd.Series | dict, delta: float, scale: float = 100.0, *, unit: str = "pp") -> str:
    """A verdict in words, generated from the row's numbers (:func:`test_family`'s columns):

    * ``"supported"``, ``"reversed"``, with a note where the 95% CI still reaches inside ±δ;
    * ``"negligible: equivalent within ±0.5 pp (within ±0.25 pp: not shown, ±1 pp: yes)"``, with
      ``"nonzero: +0.14 pp; "`` first when a difference is shown too;
    * ``"inconclusive (…)"`` with what is known: the seeds it needs, a test that passes alone but not
      after the correction, a claimed gap the CI rules out, the seeds that would resolve the gap with
      their interval (shown by the rule of :func:`seeds_shown`);
    * marks ``", borderline (Holm-adjusted p = 0.041)"`` or ``" (exact: the same in all 5 seeds)"``.
    """
    v = row["verdict"]
    alpha = ALPHA
    notes: list[str] = []
    text = VERDICT_WORDS.get(v, v)
    if v == "equivalent":
        text += f": equivalent within ±{delta * scale:g} {unit}"
        mean, p_adj = row.get("mean", np.nan), row.get("p_adj", np.nan)
        if np.isfinite(p_adj) and p_adj < alpha and np.isfinite(mean) and mean != 0:
            notes.append(f"nonzero: {mean * scale:+.2f} {unit}")
        margins = [
            f"±{f * delta * scale:g} {unit}: {_margin_word(row, f * delta, row.get(c, np.nan) < alpha)}"
            for c, f in (("p_equiv_half_adj", 0.5), ("p_equiv_double_adj", 2.0))
            if np.isfinite(row.get(c, np.nan))
        ]
        if margins:
            notes.append("within " + ", ".join(margins))
    elif v == "inconclusive":
        n = int(row["n"])
        p, p_adj = row.get("p", np.nan), row.get("p_adj", np.nan)
        q, q_adj = row.get("p_equiv", np.nan), row.get("p_equiv_adj", np.nan)
        if row.get("test") == "sign" and n == 0 and int(row.get("ties", 0) or 0):
            notes.append(f"every one of {int(row['ties'])} seeds tied: nothing to rank")
        elif n < 2:
            notes.append("needs at least 2 seeds")
        elif row.get("std", np.nan) == 0.0 and n < MIN_EXACT:
            notes.append(f"identical in {n} seeds: needs at least {MIN_EXACT} to call it exact")
        elif bool(row.get("ci_inside", False)):
            notes.append(
                f"a {row['mean'] * scale:+.2f} {unit} difference whose 95% CI lies inside ±{delta * scale:g} {unit}, "
                f"but equivalence does not pass the correction over the family (Holm-adjusted p = {q_adj:.3f})"
            )
        else:
            for name, raw, adj in (("", p, p_adj), ("equivalence ", q, q_adj)):
                if np.isfinite(raw) and raw < alpha <= adj:
                    notes.append(f"{name}p = {raw:.3f} alone: the correction over the family leaves it open")
            gap = row.get("gap", np.nan)
            if gap_outside_ci(gap, row.get("ci_low", np.nan), row.get("ci_high", np.nan)):
                side = "above" if gap > 0 else "below"
                notes.append(
                    f"the claimed {gap * scale:+.2f} {unit} lies {side} the 95% CI: a gap that large is not there"
                )
            else:
                seeds = _seeds_note(row, scale, unit)
                notes += [seeds] if seeds else []
    elif reaches_inside(row, delta):
        notes.append(
            f"its 95% CI reaches {near_end(row) * scale:+.2f} {unit}, inside ±{delta * scale:g} {unit}: it may be too "
            "small to matter"
        )
    if notes:
        text += f" ({'; '.join(notes)})"
    if row.get("exact", False):
        text += f" (exact: the same in all {int(row['n'])} seeds)"
    elif row.get("borderline", False):
        tests = [("", row.get("p_adj", np.nan)), ("equivalence ", row.get("p_equiv_adj", np.nan))]
        if v == "equivalent":
            tests.reverse()
        name, p = next(((k, p) for k, p in tests if is_borderline(p, np.nan)), tests[0])
        text += f", borderline (Holm-adjusted {name}p = {p:.3f})"
    return text


def verdict_mark(row: pd.Series | dict, delta: float, scale: float = 100.0, *, unit: str = "pp") -> str:
    """A verdict in a few words, for a table cell or a summary line: the word, ``(exact)``, and what
    :func:`verdict_label`'s line adds about the margin: a CI inside ±δ that Holm's equivalence test does not
    confirm, a shown difference whose CI reaches inside ±δ, a borderline p-value."""
    v = row["verdict"]
    word = VERDICT_WORDS.get(v, v)
    if row.get("exact", False):
        return f"{word} (exact)"
    d = f"±{delta * scale:g} {unit}"
    notes = []
    if v == "inconclusive" and bool(row.get("ci_inside", False)):
        notes.append(f"CI inside {d}, equivalence not shown after Holm")
    if reaches_inside(row, delta):
        notes.append(f"CI reaches inside {d}")
    if row.get("borderline", False):
        notes.append("borderline")
    return word + (f" ({'; '.join(notes)})" if notes else "")


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
        "p_equiv_half",
        "p_equiv_double",
        "exact",
        "seeds_needed",
        "seeds_low",
        "seeds_high",
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
