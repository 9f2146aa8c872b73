"""Which depths train: the cells of notebook 08's (``σ_w²``, depth) grid graded at each budget, and the depth
limit estimated from them as a multiple ``k`` of ``ξ_c``, to set beside Schoenholz et al.'s ``6 ξ_c``.

The unit is the cell, never the run: a cell *trains* at a budget when most of its seeds reach the threshold at
the learning rate it does best at on validation (:func:`initlab.findings.criticality.grid.chosen_rates`). The
boundary is the multiplier ``k`` that separates the cells that train (``depth < k ξ_c``) from those that do
not with the fewest errors; its interval comes from resampling the cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab.claims.verdicts import combine
from initlab.findings.criticality.grid import CELL, budget_scores, chosen_rates
from initlab.report import Prose
from initlab.stats import bounded_mean_ci, wilson_interval
from initlab.theory import meanfield as mf

DEPTH_FACTOR = 6.0  # Schoenholz et al.: nets deeper than about 6 ξ_c do not train
RESAMPLES = 2000  # bootstrap resamples of the cells behind a boundary's interval
PHASES = ("ordered", "chaotic", "all")
PHASE_WORDS = {"ordered": "ordered side", "chaotic": "chaotic side", "all": "both sides as one boundary"}


def max_depths(sigma_w2s: Sequence[float], sigma_b2: float, activation: str = "tanh") -> dict[float, float]:
    """``{σ_w²: 6 ξ_c}``: the depth beyond which the theory expects no training."""
    return {float(w): DEPTH_FACTOR * mf.depth_scale(float(w), sigma_b2, activation) for w in sigma_w2s}


def cell_grades(
    df: pd.DataFrame, budgets: Sequence[int], threshold: float, *, sigma_b2: float, activation: str = "tanh"
) -> pd.DataFrame:
    """Per (``σ_w²``, depth, budget), the runs at the cell's chosen rate for that budget.

    Returns:
        One row per cell and budget: ``sigma_w2, depth, budget, learning_rate, rates, edge`` (the chosen
        rate and where it sits in the rates tried), ``runs``, ``trained`` (seeds whose validation accuracy
        after ``budget`` epochs reaches ``threshold``; a diverged run did not), ``diverged``, ``mean``,
        ``ci_low``, ``ci_high`` (the validation accuracy over seeds, an interval inside 0-1), ``xi_c``,
        ``ratio`` (depth / ``ξ_c``), ``max_depth`` (``6 ξ_c``), ``inside`` (depth below it), ``phase``,
        ``grade`` (*trains*: every seed, *fails*: none, else *mixed*) and ``trains`` (most seeds did).
    """
    scores = budget_scores(df, CELL, budgets)
    chosen = chosen_rates(scores, CELL)
    at = scores.merge(
        chosen[[*CELL, "budget", "learning_rate", "rates", "edge"]], on=[*CELL, "budget", "learning_rate"]
    )
    scales = {w: mf.depth_scale(w, sigma_b2, activation) for w in at["sigma_w2"].unique()}
    phases = {w: mf.phase(mf.chi1(w, sigma_b2, activation)) for w in scales}
    rows = []
    for (w, d, b), g in at.groupby([*CELL, "budget"], sort=True):
        v = g["value"].to_numpy(float)
        k, n = int((v >= threshold).sum()), len(v)
        ci = bounded_mean_ci(v) if n >= 2 else {"mean": float(v.mean()), "ci_low": np.nan, "ci_high": np.nan}
        xi = scales[w]
        rows.append(
            {
                "sigma_w2": float(w),
                "depth": int(d),
                "budget": int(b),
                "learning_rate": float(g["learning_rate"].iloc[0]),
                "rates": int(g["rates"].iloc[0]),
                "edge": g["edge"].iloc[0],
                "runs": n,
                "trained": k,
                "diverged": int((v == 0.0).sum()),
                "mean": ci["mean"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "xi_c": xi,
                "ratio": d / xi,
                "max_depth": DEPTH_FACTOR * xi,
                "inside": bool(d < DEPTH_FACTOR * xi),
                "phase": phases[w],
                "grade": "trains" if k == n else "fails" if k == 0 else "mixed",
                "trains": bool(2 * k > n),
            }
        )
    return pd.DataFrame(rows)


def separating_range(ratios: Sequence[float], trains: Sequence[bool]) -> tuple[float, float, int]:
    """``(low, high, errors)``: the multipliers ``k`` for which "a cell trains when depth / ξ_c < k" misclassifies
    the fewest cells (``errors``) lie between ``low`` and ``high`` (0 or ``inf`` where open).

    Where several separate stretches tie, the range spans them all.
    """
    r, t = np.asarray(ratios, float), np.asarray(trains, bool)
    values = np.unique(r)
    if not values.size:
        return 0.0, np.inf, 0
    # Threshold in gap g (0..m): the cells with a ratio below values[g] are predicted to train.
    at = np.searchsorted(values, r)
    fails_below = np.r_[0, np.cumsum(np.bincount(at[~t], minlength=values.size))]
    trains_above = int(t.sum()) - np.r_[0, np.cumsum(np.bincount(at[t], minlength=values.size))]
    errors = fails_below + trains_above
    best = np.flatnonzero(errors == errors.min())
    lo, hi = int(best.min()), int(best.max())
    low = float(values[lo - 1]) if lo > 0 else 0.0
    high = float(values[hi]) if hi < values.size else np.inf
    return low, high, int(errors.min())


def _point(low: float, high: float) -> float:
    """A separating range's middle on a log scale: ``inf`` where it is open above (every cell below trains), 0
    where it is open below (no cell trains)."""
    if not np.isfinite(high):
        return np.inf
    return float(np.sqrt(low * high)) if low > 0 else 0.0


def _resampled(ratios: np.ndarray, trains: np.ndarray, draws: np.ndarray) -> np.ndarray:
    return np.array([_point(*separating_range(ratios[i], trains[i])[:2]) for i in draws])


def boundary_fit(
    cells: pd.DataFrame, *, resamples: int = RESAMPLES, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """The depth limit as a multiple of ``ξ_c``, per budget and phase, from :func:`cell_grades`.

    Returns:
        One row per (budget, phase in :data:`PHASES` with cells): ``cells``, ``cells_trained``,
        ``low, high, errors`` (:func:`separating_range`), ``k`` (its middle on a log scale), ``ci_low``,
        ``ci_high`` (percentile interval of ``k`` over resamples of the cells with replacement; ``inf`` where
        resamples put the boundary beyond every cell), ``outside`` and ``outside_trained`` (cells at depth
        ≥ 6 ξ_c, and those that train) and ``six_in_ci``.
    """
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    rows = []
    for b, at in cells.groupby("budget", sort=True):
        for phase in PHASES:
            g = at if phase == "all" else at[at["phase"] == phase]
            g = g[np.isfinite(g["ratio"])]
            if not len(g):
                continue
            r, t = g["ratio"].to_numpy(float), g["trains"].to_numpy(bool)
            low, high, errors = separating_range(r, t)
            ks = _resampled(r, t, rng.integers(0, len(g), size=(resamples, len(g))))
            ks = ks[~np.isnan(ks)]
            ci = np.quantile(ks, [tail, 1 - tail], method="inverted_cdf") if ks.size else [np.nan, np.nan]
            outside = g[~g["inside"]]
            rows.append(
                {
                    "budget": int(b),
                    "phase": phase,
                    "cells": len(g),
                    "cells_trained": int(t.sum()),
                    "low": low,
                    "high": high,
                    "errors": errors,
                    "k": _point(low, high),
                    "ci_low": float(ci[0]),
                    "ci_high": float(ci[1]),
                    "outside": len(outside),
                    "outside_trained": int(outside["trains"].sum()),
                    "six_in_ci": bool(ci[0] <= DEPTH_FACTOR <= ci[1]),
                }
            )
    return pd.DataFrame(rows)


def boundary_growth(
    cells: pd.DataFrame, *, resamples: int = RESAMPLES, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """How far the boundary moved from the shortest budget to the longest, per phase in :data:`PHASES`.

    Returns:
        One row per phase with cells: ``phase``, ``first`` and ``last`` (the budgets), ``ratio`` =
        k(longest) / k(shortest) and its percentile interval ``ci_low``, ``ci_high`` over resamples of the
        cells (the same cells at both budgets; resamples where either boundary is open are left out).
    """
    budgets = sorted(cells["budget"].unique())
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    rows = []
    for phase in PHASES:
        g = cells if phase == "all" else cells[cells["phase"] == phase]
        first, last = (g[g["budget"] == b].sort_values(list(CELL)) for b in (budgets[0], budgets[-1]))
        keep = np.isfinite(first["ratio"].to_numpy(float))
        if not keep.any():
            continue
        r = first["ratio"].to_numpy(float)[keep]
        t0, t1 = first["trains"].to_numpy(bool)[keep], last["trains"].to_numpy(bool)[keep]
        k0, k1 = _point(*separating_range(r, t0)[:2]), _point(*separating_range(r, t1)[:2])
        draws = rng.integers(0, len(r), size=(resamples, len(r)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = _resampled(r, t1, draws) / _resampled(r, t0, draws)
        ratios = ratios[np.isfinite(ratios)]
        ci = np.quantile(ratios, [tail, 1 - tail], method="inverted_cdf") if ratios.size else [np.nan, np.nan]
        rows.append(
            {
                "phase": phase,
                "first": int(budgets[0]),
                "last": int(budgets[-1]),
                "ratio": k1 / k0 if k0 > 0 and np.isfinite(k1 / k0) else np.nan,
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
            }
        )
    return pd.DataFrame(rows)


def phase_verdicts(fits: pd.DataFrame) -> dict[str, str]:
    """The ``6 ξ_c`` limit at the longest budget on each side of the critical line (:func:`boundary_fit`'s
    ``ordered`` and ``chaotic`` rows): *contradicted* where the interval of ``k`` lies above 6 (nets train beyond
    the bound); *not established* where no cell lies beyond the bound or the interval is open above (the cells
    cannot rule out training beyond it); else *holds*. "About 6" is read as 6: no margin was declared before
    the runs."""
    last = fits[fits["budget"] == fits["budget"].max()]
    out = {}
    for _, r in last[last["phase"] != "all"].iterrows():
        if not r["outside"]:
            out[r["phase"]] = "not established"
        elif r["ci_low"] > DEPTH_FACTOR:
            out[r["phase"]] = "contradicted"
        elif not np.isfinite(r["ci_high"]):
            out[r["phase"]] = "not established"
        else:
            out[r["phase"]] = "holds"
    return out


def bound_verdict(fits: pd.DataFrame) -> str:
    """The ``6 ξ_c`` limit over both sides (:func:`phase_verdicts`): the word the established sides share,
    *mixed* where they differ, *not established* where neither is."""
    words = [w for w in phase_verdicts(fits).values() if w != "not established"]
    return combine(words) if words else "not established"


def fmt_k(value: float) -> str:
    """A multiplier for the text, to two figures: ``5.3``, ``0.41``, ``12``; ``∞`` (open above) or ``0``."""
    if not np.isfinite(value):
        return "∞"
    return "0" if value <= 0 else f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def fit_table(fits: pd.DataFrame, budget_words: Mapping[int, str]) -> pd.DataFrame:
    """:func:`boundary_fit` laid out to read: per budget and phase, the cells that train, the separating range,
    the estimate with its interval, and the cells beyond ``6 ξ_c`` that train."""
    out = pd.DataFrame(
        {
            "budget": [budget_words.get(int(b), str(b)) for b in fits["budget"]],
            "phase": fits["phase"],
            "cells that train": [f"{a} of {n}" for a, n in zip(fits["cells_trained"], fits["cells"])],
            "k separating the cells": [
                f"{fmt_k(lo)}–{fmt_k(hi)} ({e} misclassified)"
                for lo, hi, e in zip(fits["low"], fits["high"], fits["errors"])
            ],
            "k [95% CI]": [
                f"{fmt_k(k)} [{fmt_k(lo)}, {fmt_k(hi)}]"
                for k, lo, hi in zip(fits["k"], fits["ci_low"], fits["ci_high"])
            ],
            "beyond 6ξ_c, trained": [f"{a} of {n}" for a, n in zip(fits["outside_trained"], fits["outside"])],
        }
    )
    return out.set_index(["budget", "phase"])


def cell_table(cells: pd.DataFrame, budget: int) -> pd.DataFrame:
    """One budget's cells to read: depths down, ``σ_w²`` across, each the mean validation accuracy (percent),
    the seeds that reached the threshold and the chosen rate (``*`` at an edge of the rates tried)."""
    t = cells[cells["budget"] == budget]

    def cell(r: Mapping) -> str:
        edge = "*" if r["edge"] else ""
        return f"{100 * r['mean']:.0f} ({r['trained']}/{r['runs']}) @{r['learning_rate']:g}{edge}"

    out = t.assign(cell=[cell(r) for r in t.to_dict("records")])
    return out.pivot(index="depth", columns="sigma_w2", values="cell").rename_axis(columns="σ_w²")


def _share(k: int, n: int) -> str:
    if not n:
        return "no cells"
    low, high = wilson_interval(k, n)
    return f"{k} of {n} cells ({k / n:.0%}, 95% CI {low:.0%}–{high:.0%})"


def bound_text(
    cells: pd.DataFrame,
    fits: pd.DataFrame,
    growth: pd.DataFrame,
    *,
    threshold: float,
    budget_words: Mapping[int, str],
    validation_images: int = 0,
) -> Prose:
    """The depth limit in words: per budget the estimated multiplier against 6, the cells on the wrong side,
    how far the boundary moved with the longer budget, and the verdict on ``6 ξ_c`` as a limit
    (``validation_images``: the size of the validation set that grades the seeds)."""
    lines = [
        f"A cell *trains* at a budget when most of its seeds reach {threshold:.0%} validation accuracy (ten "
        "classes put chance near 10%) at the learning rate the cell does best at on validation for that budget. "
        'The boundary is the multiplier k for which "depth < k ξ_c trains" misclassifies the fewest cells; its '
        f"95% interval comes from {RESAMPLES:,} resamples of the cells.",
        "",
    ]
    for b, at in cells.groupby("budget", sort=True):
        lines.append(f"**{budget_words.get(int(b), str(b))}:**")
        lines.append("")
        for phase in PHASES:
            rows = fits[(fits["budget"] == b) & (fits["phase"] == phase)]
            if not len(rows):
                continue
            row = rows.iloc[0]
            g = at if phase == "all" else at[at["phase"] == phase]
            inside, outside = g[g["inside"]], g[~g["inside"]]
            where = (
                "above 6: nets train beyond the bound"
                if row["ci_low"] > DEPTH_FACTOR
                else "below 6: within this budget training stops short of the bound"
                if row["ci_high"] < DEPTH_FACTOR
                else "6 lies inside it"
            )
            lines.append(
                f"- {PHASE_WORDS[phase]}: k = {fmt_k(row['k'])} (95% CI {fmt_k(row['ci_low'])}–"
                f"{fmt_k(row['ci_high'])}; the cells separate for any k from {fmt_k(row['low'])} to "
                f"{fmt_k(row['high'])} with {row['errors']} misclassified): {where}. Inside 6ξ_c "
                f"{_share(int(inside['trains'].sum()), len(inside))} train; beyond it "
                f"{_share(int(outside['trains'].sum()), len(outside))}."
            )
        lines.append("")
    for _, g in growth.iterrows():
        if not np.isfinite(g["ratio"]) or g["phase"] == "all":
            continue
        moved = "grew" if g["ci_low"] > 1 else "shrank" if g["ci_high"] < 1 else "did not move measurably"
        lines.append(
            f"- From {budget_words.get(g['first'], g['first'])} to {budget_words.get(g['last'], g['last'])}, the "
            f"boundary on the {g['phase']} side {moved}: k changed by a factor {fmt_k(g['ratio'])} (95% CI "
            f"{fmt_k(g['ci_low'])}–{fmt_k(g['ci_high'])})."
        )
    edged = cells[cells["edge"] != ""]
    if len(edged):
        stuck = edged[~edged["trains"]]
        lines += [
            "",
            f"Chosen rates at an edge of the rates tried (marked * in the tables): {int(edged['trains'].sum())} "
            f"cell-budgets that train (a rate beyond could only raise them) and {len(stuck)} that do not"
            + (
                ""
                if not len(stuck)
                else " (their score was flat across the rates, or the extension reached its limit: "
                + "; ".join(
                    f"σ_w² = {r['sigma_w2']:g}, depth {r['depth']}, {r['budget']} epoch(s), at {r['learning_rate']:g}"
                    for _, r in stuck.head(6).iterrows()
                )
                + ("; ..." if len(stuck) > 6 else "")
                + ")"
            )
            + ".",
        ]
    if validation_images:
        chance = 0.1
        sd = float(np.sqrt(chance * (1 - chance) / validation_images))
        lines += [
            "",
            f"The rate is chosen on the same validation accuracy that grades the cell, but the choice cannot make a "
            f"seed train: a net at chance scores {chance:.0%} of {validation_images:,} images with a standard "
            f"deviation of {100 * sd:.1f} pp, {(threshold - chance) / sd:.0f} of them below {threshold:.0%}.",
        ]
    sides = "; ".join(f"{p} side: **{w}**" for p, w in phase_verdicts(fits).items())
    lines += [
        "",
        f"As a limit at the longest budget (no net much deeper than 6ξ_c trains): {sides}; over both sides the "
        f"prediction **{bound_verdict(fits)}**.",
    ]
    return Prose("\n".join(lines))


def bound_reading(fits: pd.DataFrame) -> dict[str, Any]:
    """The ``6 ξ_c`` limit for the claims ledger (:func:`bound_verdict`), with each side's word and each
    budget's ``k`` per side where it is finite and, under ``tolerances``, the distance to the far end of its
    interval (a rerun's ``k`` is the same result within it)."""
    out: dict[str, Any] = {"verdict": bound_verdict(fits), **phase_verdicts(fits)}
    tolerances: dict[str, float] = {}
    for _, r in fits[fits["phase"] != "all"].iterrows():
        key = f"k/{r['phase']}/{int(r['budget'])}"
        if np.isfinite(r["k"]) and np.isfinite(r["ci_high"]):
            out[key] = float(r["k"])
            tolerances[key] = float(max(r["ci_high"] - r["k"], r["k"] - r["ci_low"]))
    return {**out, "tolerances": tolerances}
