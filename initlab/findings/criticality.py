"""What the criticality notebook found: mean-field predictions beside training, and the sources on the map.

* *Trainability* (Schoenholz et al. 2017): a plain tanh net of depth ``L`` trains only
  when ``L`` is below about ``6 ξ_c``; the (``σ_w²``, depth) grid is graded run by run
  (a run *trains* when its test accuracy reaches a stated threshold) and the runs inside
  and outside the bound are counted, with Wilson intervals and a one-sided Fisher test.
* *Dynamical isometry* (Saxe et al. 2014; Pennington et al. 2017): per activation, the
  claim "orthogonal kernels learn faster than Gaussian ones of the same variance" on the
  area under the validation-accuracy curve, paired by seed, one Holm family; the
  Jacobian spectra predict the side whose singular values lie nearer 1.
* *The sources*: the Glorot, LeCun and He scales as points (``σ_w²``, ``σ_b² = 0``) of the
  phase diagram, and ``002``'s and ``004``'s claims in its terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from initlab.claims import resolve_margin
from initlab.convergence import convergence_table
from initlab.errors import InvalidArgumentError
from initlab.report import Prose, family_lines, fmt_ci, fmt_p, protocol_text, verdict_counts
from initlab.stats import ALPHA, final_epochs, mean_ci, paired_test, paired_values, test_family, wilson_interval
from initlab.theory import meanfield as mf
from initlab.theory.isometry import NEAR, critical_point, setup_label
from initlab.training.study import Study, run_each, run_options

MARGIN_CLAIM = "08-isometry-speed"  # the ledger entry whose margin (δ) the isometry family uses
DEPTH_FACTOR = 6.0  # Schoenholz et al.: nets deeper than about 6 ξ_c do not train
KERNEL_INIT = {"gaussian": "variance_scaling", "orthogonal": "orthogonal"}
INIT_KERNEL = {v: k for k, v in KERNEL_INIT.items()}
# σ_w² of the named scales for a square layer (fan_in = fan_out), biases at zero.
NAMED_SCALES = {"Glorot": 1.0, "LeCun": 1.0, "He": 2.0}
ADVICE_002 = {"tanh": ("Glorot", "LeCun"), "relu": ("He",)}  # 002's advice per activation
ISOMETRY_FAMILY = (
    "orthogonal against Gaussian kernels of the same variance, per activation at its critical "
    "point, in the area under the validation-accuracy curve (its mean over the epochs)"
)
SOURCE_002 = "`002_aee8d08a7a4b8178.txt`"
SOURCE_004 = "`004_89339e7897266897.txt`"


def gaussian_params(sigma_w2: float) -> dict:
    """``variance_scaling`` parameters for ``N(0, σ_w² / fan_in)`` kernels (untruncated)."""
    return {"scale": float(sigma_w2), "mode": "fan_in", "distribution": "untruncated_normal"}


def net_params(depth: int, width: int, activation: str, *, sigma_b2: float) -> dict:
    """``deep_mlp`` options; hidden biases ``N(0, σ_b²)`` when ``σ_b² > 0`` (zeros otherwise)."""
    params = {"depth": int(depth), "width": int(width), "activation": activation}
    return {**params, "bias_std": math.sqrt(sigma_b2)} if sigma_b2 > 0 else params


# --------------------------------------------------------------------------- runs


def _labelled(
    studies: Sequence, labels: Sequence[Mapping], parts: Sequence[Sequence[int]] | None, run: Mapping
) -> pd.DataFrame:
    """Each study's rows, trained by :func:`initlab.training.study.run_each` (``parts``: see there), with its labels."""

    frames = run_each(studies, parts=parts, **run)
    return pd.concat([df.assign(**label) for df, label in zip(frames, labels)], ignore_index=True)


def trainability_runs(
    dataset: str,
    sigma_w2s: Sequence[float],
    depths: Sequence[int],
    *,
    sigma_b2: float,
    width: int,
    seeds: Sequence[int],
    learning_rate: float,
    epochs: int = 1,
    train_limit: int | None = None,
    test_limit: int | None = None,
    batch_size: int = 32,
    activation: str = "tanh",
    **run: object,
) -> pd.DataFrame:
    """Train a ``deep_mlp`` of every (``σ_w²``, depth) with each seed, plain SGD at one learning rate.

    One :class:`~initlab.training.study.Study` per (depth, ``σ_w²``), run by
    :func:`~initlab.training.study.run_grid` one ``σ_w²`` at a time (its studies differ in depth,
    so no run shares a stack with another study's). ``run`` goes to ``run_grid`` (``cache``...)
    or, for a study field (``engine``...), to every study. Returns the studies' rows with
    ``sigma_w2, sigma_b2, depth, width, activation, learning_rate, kernel`` added.
    """

    setup, grid = run_options(run)
    studies, labels = [], []
    for depth in depths:
        for w in sigma_w2s:
            studies.append(
                Study(
                    dataset,
                    "deep_mlp",
                    ("variance_scaling",),
                    seeds=tuple(seeds),
                    epochs=epochs,
                    batch_size=batch_size,
                    optimizer="sgd",
                    learning_rate=float(learning_rate),
                    train_limit=train_limit,
                    test_limit=test_limit,
                    init_params={"variance_scaling": gaussian_params(w)},
                    model_params=net_params(depth, width, activation, sigma_b2=sigma_b2),
                    **setup,
                )
            )
            labels.append(
                dict(
                    sigma_w2=float(w),
                    sigma_b2=float(sigma_b2),
                    depth=int(depth),
                    width=int(width),
                    activation=activation,
                    learning_rate=float(learning_rate),
                    kernel="gaussian",
                )
            )
    parts = [[i for i, lab in enumerate(labels) if lab["sigma_w2"] == float(w)] for w in dict.fromkeys(sigma_w2s)]
    return _labelled(studies, labels, parts, grid)


def isometry_runs(
    dataset: str,
    setups: Sequence[tuple[str, float]],
    *,
    depth: int,
    width: int,
    seeds: Sequence[int],
    learning_rate: float,
    epochs: int,
    train_limit: int | None = None,
    test_limit: int | None = None,
    batch_size: int = 32,
    **run: object,
) -> pd.DataFrame:
    """Gaussian and orthogonal kernels of the critical variance, per ``(activation, σ_b²)`` set-up.

    Both kernels have entries of variance ``σ_w² / fan_in`` (orthogonal: gain ``√σ_w²``), so
    the pair differs only in the kernels' singular values. One study per set-up, all run by
    :func:`~initlab.training.study.run_grid` (set-ups differ in their network, so never share
    a stack). Rows as :func:`trainability_runs`'.
    """

    setup, grid = run_options(run)
    studies, labels = [], []
    for activation, sigma_b2 in setups:
        sw2, sb2 = critical_point(activation, sigma_b2)
        studies.append(
            Study(
                dataset,
                "deep_mlp",
                tuple(KERNEL_INIT.values()),
                seeds=tuple(seeds),
                epochs=epochs,
                batch_size=batch_size,
                optimizer="sgd",
                learning_rate=float(learning_rate),
                train_limit=train_limit,
                test_limit=test_limit,
                init_params={"variance_scaling": gaussian_params(sw2), "orthogonal": {"gain": math.sqrt(sw2)}},
                model_params=net_params(depth, width, activation, sigma_b2=sb2),
                **setup,
            )
        )
        labels.append(
            dict(
                sigma_w2=sw2,
                sigma_b2=sb2,
                depth=int(depth),
                width=int(width),
                activation=activation,
                setup=setup_label(activation, sb2),
                learning_rate=float(learning_rate),
            )
        )
    df = _labelled(studies, labels, None, grid)
    return df.assign(kernel=df["init"].map(INIT_KERNEL))


# --------------------------------------------------------------------------- trainability


def max_depths(sigma_w2s: Sequence[float], sigma_b2: float, activation: str = "tanh") -> dict[float, float]:
    """``{σ_w²: 6 ξ_c}``: the depth beyond which the theory expects no training."""
    return {float(w): DEPTH_FACTOR * mf.depth_scale(float(w), sigma_b2, activation) for w in sigma_w2s}


def final_runs(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per run (its last recorded epoch); ``keys`` with ``seed`` identify a run."""
    return final_epochs(df, keys)


def trainability_table(df: pd.DataFrame, threshold: float, limits: Mapping[float, float]) -> pd.DataFrame:
    """Per (``σ_w²``, depth): runs, runs that trained (test accuracy ≥ ``threshold``; a diverged run
    did not), mean test accuracy ± CI over the finished runs, ``6 ξ_c`` and whether the depth is
    inside it, and a grade: *trains* (every run), *fails* (none) or *mixed*."""
    rows = []
    for (w, d), g in final_runs(df, ["sigma_w2", "depth"]).groupby(["sigma_w2", "depth"], sort=True):
        acc = g["test_accuracy"].to_numpy(dtype=float)
        ok = np.isfinite(acc) & (np.nan_to_num(acc, nan=-1.0) >= threshold)
        ci = mean_ci(acc[np.isfinite(acc)]) if np.isfinite(acc).any() else {"mean": np.nan, "ci_high": np.nan}
        k, n = int(ok.sum()), len(acc)
        limit = float(limits[float(w)])
        rows.append(
            {
                "sigma_w2": float(w),
                "depth": int(d),
                "runs": n,
                "trained": k,
                "mean": ci["mean"],
                "half_width": ci["ci_high"] - ci["mean"],
                "diverged": int((g["status"] == "diverged").sum()),
                "max_depth": limit,
                "inside": bool(d < limit),
                "grade": "trains" if k == n else "fails" if k == 0 else "mixed",
            }
        )
    return pd.DataFrame(rows)


def cell_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`trainability_table` laid out to read: depths down, ``σ_w²`` across, each cell the mean test
    accuracy ± 95% CI (percent) and the runs that trained (``k/n``)."""

    def cell(r: Mapping) -> str:
        runs = f"({r['trained']}/{r['runs']})"
        if not np.isfinite(r["mean"]):
            return f"diverged {runs}" if r["diverged"] else f"n/a {runs}"
        if not np.isfinite(r["half_width"]):
            return f"{100 * r['mean']:.1f} {runs}"
        return f"{100 * r['mean']:.1f} ± {100 * r['half_width']:.1f} {runs}"

    out = table.assign(cell=[cell(r) for r in table.to_dict("records")])
    return out.pivot(index="depth", columns="sigma_w2", values="cell").rename_axis(columns="σ_w²")


def trained_flags(table: pd.DataFrame, inside: bool) -> np.ndarray:
    """One value per run inside (or outside) the bound: 1.0 when it trained, 0.0 otherwise."""
    t = table[table["inside"] == inside]
    return np.repeat([1.0, 0.0], [int(t["trained"].sum()), int((t["runs"] - t["trained"]).sum())])


def prediction_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Inside and outside ``depth < 6 ξ_c``: cells, runs, trained runs, their share and 95% Wilson interval."""
    rows = []
    for where, t in (("inside", table[table["inside"]]), ("outside", table[~table["inside"]])):
        k, n = int(t["trained"].sum()), int(t["runs"].sum())
        low, high = wilson_interval(k, n)
        rows.append(
            {
                "where": where,
                "cells": len(t),
                "runs": n,
                "trained": k,
                "share": k / n if n else np.nan,
                "low": low,
                "high": high,
                "cells_trained": int((t["grade"] == "trains").sum()),
                "cells_failed": int((t["grade"] == "fails").sum()),
            }
        )
    return pd.DataFrame(rows).set_index("where")


def fisher_p(summary: pd.DataFrame) -> float:
    """One-sided Fisher exact test: runs inside the bound train more often than runs outside it."""
    i, o = summary.loc["inside"], summary.loc["outside"]
    if not (i["runs"] and o["runs"]):
        return np.nan
    table = [[i["trained"], i["runs"] - i["trained"]], [o["trained"], o["runs"] - o["trained"]]]
    return float(st.fisher_exact(table, alternative="greater").pvalue)


def bound_verdict(table: pd.DataFrame) -> str:
    """The ``6 ξ_c`` bound as a limit: *holds* (runs lie outside it and none trained), *is contradicted*
    (some did) or *is not established* (no run lies outside it)."""
    outside = table[~table["inside"]]
    if not len(outside):
        return "is not established"
    return "is contradicted" if int(outside["trained"].sum()) else "holds"


def _cell(r: Mapping) -> str:
    return (
        f"σ_w² = {r['sigma_w2']:g}, depth {int(r['depth'])} (6ξ_c = {r['max_depth']:.0f}; "
        f"{int(r['trained'])} of {int(r['runs'])} trained)"
    )


def _share(r: Mapping) -> str:
    if not r["runs"]:
        return "no runs"
    return f"{int(r['trained'])} of {int(r['runs'])} runs ({r['share']:.0%}, 95% CI {r['low']:.0%}–{r['high']:.0%})"


def prediction_text(table: pd.DataFrame, threshold: float, budget: str) -> Prose:
    """Where the ``6 ξ_c`` bound holds and where it does not, from :func:`trainability_table`."""
    s = prediction_summary(table)
    p = fisher_p(s)
    outside_trained = table[~table["inside"] & (table["trained"] > 0)]
    inside_failed = table[table["inside"] & (table["grade"] != "trains")]
    verdict = bound_verdict(table)
    word = f"**{verdict}**" + (" (no run lies outside it)" if verdict == "is not established" else "")
    lines = [
        f"A run *trains* when its test accuracy reaches {threshold:.0%} (ten classes put chance near 10%). "
        f"Inside the bound (depth < 6ξ_c), {_share(s.loc['inside'])} trained; outside it, "
        f"{_share(s.loc['outside'])}. One-sided Fisher exact test that runs inside train more often: "
        f"p {fmt_p(p)}.",
        "",
        f"As a limit (no net deeper than 6ξ_c trains), the prediction {word} in this grid.",
    ]
    if len(outside_trained):
        lines += [
            "",
            "Outside the bound but trained (against the prediction):",
            "",
            *[f"- {_cell(r)}" for _, r in outside_trained.iterrows()],
        ]
    if len(inside_failed):
        lines += [
            "",
            f"Inside the bound but not trained by every seed within {budget}: the bound is a necessary "
            "condition only, and says nothing of how many steps a trainable depth needs:",
            "",
            *[f"- {_cell(r)}" for _, r in inside_failed.iterrows()],
        ]
    else:
        lines += ["", f"Every cell inside the bound trained with every seed within {budget}."]
    return Prose("\n".join(lines))


# --------------------------------------------------------------------------- isometry


def spectrum_table(summary: pd.DataFrame, value: str = "near_share") -> pd.DataFrame:
    """One row per (set-up, kernel), one column per depth: the share of singular values within a
    factor :data:`NEAR` of 1 (percent), or another column of :func:`initlab.theory.isometry.spectrum_summary`."""
    fmt = (lambda v: f"{100 * v:.0f}%") if value == "near_share" else (lambda v: f"{v:.3g}")
    wide = summary.pivot_table(index=["setup", "kernel"], columns="depth", values=value, sort=False)
    return wide.map(fmt).rename_axis(columns="depth")


def mean_sq_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (set-up, kernel), one column per depth: the mean squared singular value over the draws
    with its 95% bootstrap interval, ``1.08 [0.61, 1.72]`` (theory: 1 at criticality)."""
    cells = summary.assign(
        cell=[
            f"{m:.3g} [{lo:.3g}, {hi:.3g}]"
            for m, lo, hi in zip(summary["mean_sq"], summary["mean_sq_low"], summary["mean_sq_high"])
        ]
    )
    wide = cells.pivot(index=["setup", "kernel"], columns="depth", values="cell")
    order = list(dict.fromkeys(zip(summary["setup"], summary["kernel"])))
    return wide.loc[order].rename_axis(columns="depth")


def speed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per isometry run: ``setup, activation, kernel, seed, auc`` (the mean of its validation-accuracy
    curve) and ``test_accuracy`` (after the last epoch)."""
    frames = []
    for setup, g in runs.groupby("setup", sort=False):
        conv = convergence_table(g, target=1.0)
        final = final_runs(g, ["init"])[["init", "seed", "test_accuracy"]]
        frames.append(
            conv[["activation", "init", "seed", "auc"]]
            .merge(final, on=["init", "seed"])
            .assign(setup=setup, kernel=lambda t: t["init"].map(INIT_KERNEL))
        )
    return pd.concat(frames, ignore_index=True)[
        ["setup", "activation", "kernel", "init", "seed", "auc", "test_accuracy"]
    ]


def speed_table(speed: pd.DataFrame) -> pd.DataFrame:
    """Per (set-up, kernel): mean ± 95% CI over seeds of the area under the validation curve and of the
    final test accuracy (percent)."""
    rows = []
    for (setup, kernel), g in speed.groupby(["setup", "kernel"], sort=False):
        row = {"setup": setup, "kernel": kernel, "seeds": len(g)}
        for col, name in (("auc", "area under validation curve"), ("test_accuracy", "final test accuracy")):
            ci = mean_ci(g[col].to_numpy(dtype=float))
            row[name] = fmt_ci(ci["mean"], ci["ci_high"] - ci["mean"])
        rows.append(row)
    return pd.DataFrame(rows).set_index(["setup", "kernel"])


def isometry_tests(runs: pd.DataFrame, summary: pd.DataFrame, delta: float | None = None) -> pd.DataFrame:
    """Orthogonal against Gaussian kernels per set-up: paired by seed on the area under the
    validation-accuracy curve, one Holm family with margin ``delta`` (default: the claims ledger's,
    :data:`MARGIN_CLAIM`); with the spectra's prediction at the training depth.

    Returns:
        One row per set-up: ``setup, claim, near_orthogonal, near_gaussian, predicted`` (the kernel
        whose singular values lie nearer 1, or ``"neither"``), :func:`initlab.stats.paired_test`'s and
        :func:`initlab.stats.test_family`'s columns, and ``agreement``.
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
    depth = int(runs["depth"].iloc[0])
    rows = []
    for setup in dict.fromkeys(runs["setup"]):
        at = summary[(summary["setup"] == setup) & (summary["depth"] == depth)].set_index("kernel")["near_share"]
        if len(at) < 2:
            raise InvalidArgumentError("summary", setup, f"must hold both kernels' spectra at depth {depth}")
        conv = convergence_table(runs[runs["setup"] == setup], target=1.0)  # only its auc is used
        w = paired_values(conv, KERNEL_INIT["orthogonal"], KERNEL_INIT["gaussian"], value="auc", key="init")
        o, g = float(at["orthogonal"]), float(at["gaussian"])
        rows.append(
            {
                "setup": setup,
                "claim": f"{setup}: orthogonal > gaussian",
                "near_orthogonal": o,
                "near_gaussian": g,
                "predicted": "orthogonal" if o > g else "gaussian" if g > o else "neither",
                "auc_orthogonal": float(w["a"].mean()),
                "auc_gaussian": float(w["b"].mean()),
                **paired_test((w["a"] - w["b"]).to_numpy(), delta),
            }
        )
    table = test_family(pd.DataFrame(rows))
    table["agreement"] = [agreement(p, v) for p, v in zip(table["predicted"], table["verdict"])]
    return table


AGREEMENT_WORDS = {
    "agrees": "the prediction agrees",
    "disagrees": "the prediction disagrees",
    "undecided": "too few seeds to say",
}


def agreement(predicted: str, verdict: str) -> str:
    """Whether the spectra's prediction matches the test: *agrees*, *disagrees* or *undecided*."""
    if verdict == "inconclusive":
        return "undecided"
    expected = {"orthogonal": "supported", "gaussian": "reversed", "neither": "equivalent"}[predicted]
    return "agrees" if verdict == expected else "disagrees"


def _agreement_counts(agreement: pd.Series) -> str:
    """``"The spectra's prediction agrees with 2 of 3 tests; 1 is undecided."``"""
    n = len(agreement)
    counts = {k: int((agreement == k).sum()) for k in ("agrees", "disagrees", "undecided")}
    parts = [f"agrees with {counts['agrees']} of {n} tests", f"disagrees with {counts['disagrees']}"]
    text = "The spectra's prediction " + "; it ".join(parts)
    undecided = counts["undecided"]
    return text + (
        f"; {undecided} {'is' if undecided == 1 else 'are'} undecided (inconclusive tests)." if undecided else "."
    )


def isometry_text(tests: pd.DataFrame, depth: int, seeds: int, *, delta: float | None = None) -> Prose:
    """The isometry family in words: method, one line per test, the spectra's prediction beside it (``delta``:
    the margin the tests used, default the claims ledger's)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    lines = [
        protocol_text(ISOMETRY_FAMILY, len(tests), seeds, delta=delta),
        "",
        *family_lines(tests, delta),
        "",
        f"Of {len(tests)} tests: {verdict_counts(tests)}.",
        "",
        f"The spectra at depth {depth} (share of singular values within a factor {NEAR:g} of 1) against the test:",
        "",
    ]
    for _, r in tests.iterrows():
        lines.append(
            f"- {r['setup']}: orthogonal {r['near_orthogonal']:.0%}, Gaussian {r['near_gaussian']:.0%}, "
            f"so the spectra favour {r['predicted']}; the test is **{r['verdict']}**: "
            f"{AGREEMENT_WORDS[r['agreement']]}."
        )
    return Prose("\n".join(lines))


# --------------------------------------------------------------------------- the sources


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


# --------------------------------------------------------------------------- simulation


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


# --------------------------------------------------------------------------- closing


def findings_text(
    *,
    critical: float,
    sigma_b2: float,
    sim: pd.DataFrame,
    table: pd.DataFrame,
    threshold: float,
    tests: pd.DataFrame,
    points: pd.DataFrame,
    seeds: int,
    isometry_seeds: int,
    depth: int,
    deepest_spectrum: pd.DataFrame,
    delta: float | None = None,
) -> Prose:
    """The notebook's closing text, generated from its tables, with the method behind every verdict.

    ``deepest_spectrum``: :func:`initlab.theory.isometry.spectrum_summary` rows at the deepest depth;
    ``delta``: the isometry tests' margin, default the claims ledger's.
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
    s = prediction_summary(table)
    bound = f"**{bound_verdict(table)}**"
    kept = deepest_spectrum[deepest_spectrum["near_share"] >= 0.9]
    kept_words = ", ".join(f"{r['setup']} with {r['kernel']} kernels" for _, r in kept.iterrows()) or "none"
    deepest = int(deepest_spectrum["depth"].max()) if len(deepest_spectrum) else 0
    lines = [
        f"**The map.** At σ_b² = {sigma_b2:g} the tanh order-to-chaos transition lies at σ_w² = {critical:.4f}. "
        f"In simulation the measured correlations follow the predicted map: mean |error| "
        + ", ".join(f"{r['mean_abs_error']:.3f} at σ_w² = {r['sigma_w2']:g}" for _, r in sim.iterrows())
        + ".",
        "",
        f"**Trainability.** As a depth limit, 6ξ_c {bound} in the grid: outside it {_share(s.loc['outside'])} "
        f"trained, inside it {_share(s.loc['inside'])} (a run trains at {threshold:.0%} test accuracy).",
        "",
        f"**Dynamical isometry.** At depth {deepest}, the spectra kept at least 90% of singular values within a "
        f"factor {NEAR:g} of 1 for: {kept_words}. In training at depth {depth}: "
        + "; ".join(f"{r['setup']}: **{r['verdict']}**" for _, r in tests.iterrows())
        + " (orthogonal > Gaussian in learning speed). "
        + _agreement_counts(tests["agreement"]),
        "",
        f'**The sources.** {SOURCE_002}\'s advice per activation, read as "start at the critical point", '
        f"**{advice_verdict(points)}** without biases; with biases the critical σ_w² moves, which no named scale "
        f"follows.",
        "",
        f"*Method.* The isometry claim is one family of {len(tests)} paired t-tests over {isometry_seeds} seeds "
        f"(paired by seed: the same batches for both kernels) with two one-sided tests for equivalence within "
        f"±{delta * 100:g} pp, Holm-corrected at α = {ALPHA:g}. Trainability is graded run by run ({seeds} seeds per "
        f"cell), shares with 95% Wilson intervals and a one-sided Fisher exact test; the simulation's intervals are "
        f"t-intervals over nets. The mean-field numbers are quadratures (Gauss–Legendre on the normal density), "
        f"not fits.",
    ]
    return Prose("\n".join(lines))


# --------------------------------------------------------------------------- readings for the claims ledger


def bound_reading(table: pd.DataFrame) -> dict[str, Any]:
    """The ``6 ξ_c`` bound as a limit (:func:`bound_verdict`: *holds*, *contradicted* or *not established*),
    with the runs inside and outside it and how many of each trained."""
    s = prediction_summary(table)
    return {
        "verdict": bound_verdict(table).removeprefix("is "),
        **{f"{where}/{k}": int(s.loc[where, k]) for where in ("inside", "outside") for k in ("runs", "trained")},
    }


def advice_reading(points: pd.DataFrame) -> dict[str, Any]:
    """``002``'s advice on the map (:func:`advice_verdict`: *holds* or *contradicted*), with each named
    scale's phase per activation (``<activation>/<scale>``)."""
    phases = {f"{r['activation']}/{r['scale']}": str(r["phase"]) for _, r in points.iterrows()}
    return {"verdict": advice_verdict(points).removeprefix("is "), **phases}
