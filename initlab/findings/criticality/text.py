"""Notebook 08's words: the sources' named scales on the phase diagram, the correlation map checked in simulation,
and the closing findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab.claims import resolve_margin
from initlab.findings.criticality.bound import DEPTH_FACTOR, bound_verdict, fmt_k, phase_verdicts
from initlab.findings.criticality.isometry import MARGIN_CLAIM, agreement_counts
from initlab.report import Prose
from initlab.stats import ALPHA, mean_ci
from initlab.theory import meanfield as mf
from initlab.theory.isometry import NEAR

# σ_w² of the named scales for a square layer (fan_in = fan_out), biases at zero.
NAMED_SCALES = {"Glorot": 1.0, "LeCun": 1.0, "He": 2.0}
ADVICE_002 = {"tanh": ("Glorot", "LeCun"), "relu": ("He",)}  # 002's advice per activation
SOURCE_002 = "`002_aee8d08a7a4b8178.txt`"
SOURCE_004 = "`004_89339e7897266897.txt`"


def named_points(activations: Sequence[str] = ("tanh", "relu"), sigma_b2: float = 0.0) -> pd.DataFrame:
    """The named scales (:data:`NAMED_SCALES`) on each activation's phase diagram: ``scale, activation,
    sigma_w2, sigma_b2, chi1, phase, max_depth`` (``6 ξ_c``)."""
    rows = []
    for activation in activations:
        for name, w in NAMED_SCALES.items():
            chi = mf.chi1(w, sigma_b2, activation)
            rows.append(
                {
                    "scale": name,
                    "activation": activation,
                    "sigma_w2": w,
                    "sigma_b2": sigma_b2,
                    "chi1": chi,
                    "phase": mf.phase(chi),
                    "max_depth": DEPTH_FACTOR * mf.depth_scale(w, sigma_b2, activation),
                }
            )
    return pd.DataFrame(rows)


def _point(r: Mapping) -> str:
    depth = "no depth limit" if not np.isfinite(r["max_depth"]) else f"6ξ_c = {r['max_depth']:.1f} layers"
    return (
        f"{r['scale']} (σ_w² = {r['sigma_w2']:g}) is {r['phase']} for {r['activation']}: χ₁ = {r['chi1']:.3f}, {depth}"
    )


def advice_verdict(points: pd.DataFrame) -> str:
    """``002``'s advice on the map: *holds* when every advised scale is critical for its activation
    and every other named scale is not."""
    ok = True
    for activation, advised in ADVICE_002.items():
        p = points[points["activation"] == activation]
        ok &= bool((p[p["scale"].isin(advised)]["phase"] == "critical").all())
        ok &= bool((p[~p["scale"].isin(advised)]["phase"] != "critical").all())
    return "holds" if ok else "is contradicted"


def sources_text(points: pd.DataFrame, critical: Mapping[str, float], tests: pd.DataFrame | None = None) -> Prose:
    """``002``'s and ``004``'s claims placed on the phase diagram (``points``: :func:`named_points` at
    ``σ_b² = 0``; ``critical``: ``{label: critical σ_w²}``; ``tests``: :func:`isometry_tests`)."""
    lines = [
        f"- {SOURCE_002} advises Glorot or LeCun for tanh and He for ReLU. Without biases: "
        + "; ".join(_point(r) for _, r in points.iterrows())
        + f'. Read as "start at the critical point", the advice **{advice_verdict(points)}**.'
    ]
    crit = "; ".join(f"{k}: {v:.4f}" for k, v in critical.items())
    nearest = {k: min(NAMED_SCALES, key=lambda n: abs(NAMED_SCALES[n] - v)) for k, v in critical.items()}
    lines.append(
        f"- {SOURCE_004}: variance scaling adapts to the activation. The critical σ_w² does depend on it "
        f"({crit}), so a fixed scale cannot be critical for every activation; but it also depends on the "
        f"bias variance, which none of the named scales looks at (nearest named scale: "
        + "; ".join(f"{k} → {n}" for k, n in nearest.items())
        + ")."
    )
    if tests is not None and len(tests):
        sup = [r["setup"] for _, r in tests.iterrows() if r["verdict"] == "supported"]
        rest = [f"{r['setup']} ({r['verdict']})" for _, r in tests.iterrows() if r["verdict"] != "supported"]
        lines.append(
            f"- {SOURCE_004} and {SOURCE_002}: orthogonal kernels help deep nets. At the critical point, "
            f"orthogonal kernels learned faster for: {'; '.join(sup) or 'no set-up'}"
            + (f". Not shown for: {'; '.join(rest)}" if rest else "")
            + " (the isometry family above)."
        )
    return Prose("\n".join(lines))


def simulation_table(check: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per ``σ_w²``: how the seed-mean of the measured correlation sits around the prediction, over every
    (starting correlation, layer ≥ 1): ``points``, ``mean_abs_error``, ``max_abs_error`` and
    ``covered`` (the share of points whose 95% t-interval over seeds holds the prediction)."""
    rows = []
    for w, g in check[check["layer"] > 0].groupby("sigma_w2", sort=True):
        errs, covered = [], []
        for _, p in g.groupby(["c0", "layer"], sort=False):
            ci = mean_ci(p["correlation"].to_numpy(dtype=float), confidence)
            pred = float(p["predicted"].iloc[0])
            errs.append(ci["mean"] - pred)
            covered.append(bool(ci["ci_low"] <= pred <= ci["ci_high"]) if np.isfinite(ci["ci_low"]) else np.nan)
        e = np.abs(np.asarray(errs))
        rows.append(
            {
                "sigma_w2": float(w),
                "points": len(errs),
                "seeds": int(g["seed"].nunique()),
                "mean_abs_error": float(e.mean()),
                "max_abs_error": float(e.max()),
                "covered": float(np.nanmean(covered)) if np.isfinite(covered).any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def simulation_text(table: pd.DataFrame, width: int, confidence: float = 0.95) -> Prose:
    """The simulation check in words: per ``σ_w²``, the error of the seed-mean and the interval coverage."""
    lines = [
        f"Nets of width {width}; per σ_w², every starting correlation and layer after the first is one point, "
        f"its measurement the mean over {int(table['seeds'].iloc[0])} nets. If the theory is exact at this "
        f"width, about {confidence:.0%} of the points' {confidence:.0%} intervals hold the prediction.",
        "",
    ]
    for _, r in table.iterrows():
        cover = "no interval (one net)" if not np.isfinite(r["covered"]) else f"{r['covered']:.0%} of intervals hold it"
        lines.append(
            f"- σ_w² = {r['sigma_w2']:g}: mean |measured − predicted| = {r['mean_abs_error']:.3f} "
            f"(largest {r['max_abs_error']:.3f}) over {int(r['points'])} points; {cover}."
        )
    return Prose("\n".join(lines))


def findings_text(
    *,
    critical: float,
    sigma_b2: float,
    sim: pd.DataFrame,
    fits: pd.DataFrame,
    threshold: float,
    budget_words: Mapping[int, str],
    tests: pd.DataFrame,
    points: pd.DataFrame,
    seeds: int,
    isometry_seeds: int,
    depth: int,
    deepest_spectrum: pd.DataFrame,
    delta: float | None = None,
) -> Prose:
    """The notebook's closing text, generated from its tables, with the method behind every verdict.

    ``fits``: :func:`~initlab.findings.criticality.bound.boundary_fit`; ``deepest_spectrum``:
    :func:`initlab.theory.isometry.spectrum_summary` rows at the deepest depth; ``delta``: the isometry tests'
    margin, default the claims ledger's.
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
    kept = deepest_spectrum[deepest_spectrum["near_share"] >= 0.9]
    kept_words = ", ".join(f"{r['setup']} with {r['kernel']} kernels" for _, r in kept.iterrows()) or "none"
    deepest = int(deepest_spectrum["depth"].max()) if len(deepest_spectrum) else 0
    per_phase = []
    for phase in ("ordered", "chaotic"):
        rows = fits[fits["phase"] == phase].sort_values("budget")
        if len(rows):
            per_phase.append(
                f"on the {phase} side "
                + ", ".join(
                    f"k = {fmt_k(r['k'])} (95% CI {fmt_k(r['ci_low'])}–{fmt_k(r['ci_high'])}) after "
                    f"{budget_words.get(int(r['budget']), r['budget'])}"
                    for _, r in rows.iterrows()
                )
            )
    sides = ", ".join(f"{p} side **{w}**" for p, w in phase_verdicts(fits).items())
    lines = [
        f"**The map.** At σ_b² = {sigma_b2:g} the tanh order-to-chaos transition lies at σ_w² = {critical:.4f}. "
        f"In simulation the measured correlations follow the predicted map: mean |error| "
        + ", ".join(f"{r['mean_abs_error']:.3f} at σ_w² = {r['sigma_w2']:g}" for _, r in sim.iterrows())
        + ".",
        "",
        f"**Trainability.** Estimated from the cells, the depth limit k ξ_c has {'; '.join(per_phase)}; "
        f"Schoenholz et al. put k near {DEPTH_FACTOR:g} on both sides. As a limit at the longest budget, "
        f"{DEPTH_FACTOR:g}ξ_c: {sides}; over both sides **{bound_verdict(fits)}**.",
        "",
        f"**Dynamical isometry.** At depth {deepest}, the spectra kept at least 90% of singular values within a "
        f"factor {NEAR:g} of 1 for: {kept_words}. In training at depth {depth}, each kernel at its best rate: "
        + "; ".join(f"{r['setup']}: **{r['verdict']}**" for _, r in tests.iterrows())
        + " (orthogonal > Gaussian in learning speed). "
        + agreement_counts(tests["agreement"]),
        "",
        f'**The sources.** {SOURCE_002}\'s advice per activation, read as "start at the critical point", '
        f"**{advice_verdict(points)}** without biases; with biases the critical σ_w² moves, which no named scale "
        f"follows.",
        "",
        f"*Method.* The isometry claim is one family of {len(tests)} paired t-tests over {isometry_seeds} seeds "
        f"(paired by seed: the same batches for both kernels) with two one-sided tests for equivalence within "
        f"±{delta * 100:g} pp, Holm-corrected at α = {ALPHA:g}. Trainability is judged cell by cell ({seeds} seeds "
        f"per cell, a cell trains when most reach {threshold:.0%} validation accuracy at its best rate); the "
        f"multiplier's interval resamples the cells. The simulation's intervals are t-intervals over nets. The "
        f"mean-field numbers are quadratures (Gauss–Legendre on the normal density), not fits.",
    ]
    return Prose("\n".join(lines))


def advice_reading(points: pd.DataFrame) -> dict[str, Any]:
    """``002``'s advice on the map (:func:`advice_verdict`: *holds* or *contradicted*), with each named
    scale's phase per activation (``<activation>/<scale>``)."""
    phases = {f"{r['activation']}/{r['scale']}": str(r["phase"]) for _, r in points.iterrows()}
    return {"verdict": advice_verdict(points).removeprefix("is "), **phases}
