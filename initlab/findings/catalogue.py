"""The Keras initializer catalogue on MNIST (``003``): the twelve initializers compared, and the page's claims tested.

* :func:`catalogue_table`: test accuracy and loss per initializer, runs that fail as a
  rate with a Wilson interval beside the mean of the runs that trained.
* :func:`reference_family`: every initializer against a reference chosen beforehand,
  paired by seed, one Holm family (replaces "overlapping intervals").
* :func:`group_family`: the page's conclusion, He/Glorot/LeCun (the mean of the six,
  per seed) against each simpler scheme.
* Repeatability: :func:`draw_repeatability` (a seeded draw repeats exactly),
  :func:`spread_table` (seed-to-seed spread) and :func:`spread_family` (Pitman–Morgan
  tests of "random normal/uniform vary more than He/Glorot/LeCun").
* Vanishing and exploding gradients: :func:`gradient_summary` (gradient norms at
  initialization, per layer, against a reference) and :func:`blowup_table` (training
  losses that climb, diverged runs).
* :func:`catalogue_text`: the closing summary.

Convergence speed (``orthogonal accelerates convergence``) uses
:func:`initlab.findings.speed.speed_family`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from initlab import probe, training
from initlab.data.datasets import load_dataset
from initlab.errors import InvalidArgumentError
from initlab.findings.speed import seeds_phrase
from initlab.nets.initializers import get_initializer
from initlab.report import Prose, family_lines, protocol_text, summary_table, verdict_counts
from initlab.stats import (
    ALPHA,
    BORDERLINE,
    final_epochs,
    holm,
    is_borderline,
    paired_test,
    paired_values,
    sign_test,
    test_family,
    verdict_label,
    wilson_interval,
)
from initlab.training.spec import fit_examples

VARIANCE_SCALING = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_uniform", "lecun_normal")
SIMPLER = ("zeros", "ones", "orthogonal", "identity", "random_normal", "random_uniform")
WARNED = ("random_normal", "random_uniform")  # the page's "not repeatable", "vanishing and exploding gradients"
GROUP = "he_glorot_lecun_mean"
ROUNDOFF = 1e-6  # a hidden gradient norm below this fraction of the largest layer's is float32 round-off of 0


def catalogue_table(df: pd.DataFrame, fail_below: float) -> pd.DataFrame:
    """:func:`initlab.report.summary_table` with failures, best mean of the runs that trained first."""
    table = summary_table(df, ["test_accuracy", "test_loss"], fail_below=fail_below)
    runs = final_epochs(df)
    ok = runs[runs["test_accuracy"].ge(fail_below)]
    order = ok.groupby("init")["test_accuracy"].mean().sort_values(ascending=False).index.tolist()
    return table.loc[order + [i for i in table.index if i not in order]]


def trained_inits(df: pd.DataFrame, fail_below: float) -> list[str]:
    """The initializers none of whose runs failed (final test accuracy at least ``fail_below``), in study order."""
    runs = final_epochs(df)
    ok = runs.assign(ok=runs["test_accuracy"].ge(fail_below)).groupby("init")["ok"].all()
    return [i for i in dict.fromkeys(df["init"]) if ok.get(i, False)]


def failures(df: pd.DataFrame, fail_below: float) -> pd.DataFrame:
    """One row per run: ``init, seed, failed`` (1.0 when the final test accuracy is below ``fail_below`` or not
    finite, a diverged run; else 0.0)."""
    runs = final_epochs(df)
    return runs[["init", "seed"]].assign(failed=(~runs["test_accuracy"].ge(fail_below)).astype(float).to_numpy())


def compare_with_failures(
    df: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    delta: float,
    *,
    value: str = "test_accuracy",
    fail_below: float | None = None,
) -> pd.DataFrame:
    """Claims ``a > b`` on the final ``value``, paired by seed, one Holm family, failed runs included.

    A pair whose runs all trained is a paired t-test with two one-sided equivalence tests
    (:func:`initlab.stats.paired_test`). A pair where a run failed (it diverged, or ended below
    ``fail_below``) would average a failure into a level, so it is a sign test instead
    (:func:`sign_test`): a failed run counts below any run that trained, two failed runs tie; it has no
    equivalence test.

    Returns:
        One row per claim: ``claim, a, b, test`` (``"t"`` or ``"sign"``), ``wins, losses, ties``
        (sign tests), :func:`initlab.stats.paired_test`'s columns and ``p_adj, p_equiv_adj,
        verdict, borderline``.
    """
    rows = []
    for a, b in pairs:
        w = paired_values(df, a, b, value=value)
        base = {"claim": f"{a} > {b}", "a": a, "b": b, "gap": np.nan}
        values = w.to_numpy(dtype=float)
        failed = ~np.isfinite(values) | (values < (-np.inf if fail_below is None else fail_below))
        if not failed.any():
            rows.append({**base, "test": "t", **paired_test((w["a"] - w["b"]).to_numpy(dtype=float), delta)})
        else:
            sign = sign_test(w["a"], w["b"], fail_below=fail_below)
            rows.append(
                {
                    **base,
                    "test": "sign",
                    **sign,
                    "dropped": 0,
                    "std": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_equiv": np.nan,
                    "exact": False,
                    "seeds_needed": np.nan,
                }
            )
    return test_family(pd.DataFrame(rows))


def comparison_lines(table: pd.DataFrame, delta: float) -> list[str]:
    """One Markdown bullet per :func:`compare_with_failures` claim, in the table's order
    (:func:`initlab.report.family_lines`, sign tests included)."""
    return family_lines(table, delta)


def family_text(table: pd.DataFrame, family: str, delta: float) -> Prose:
    """A :func:`compare_with_failures` family in Markdown: its claims, then its method."""
    signs = int((table["test"] == "sign").sum())
    note = (
        f" {signs} claim(s) involve a run that failed (diverged, or below the failure threshold): each is an "
        "exact two-sided sign test over the seeds instead (a failed run ranks below any run that trained, two "
        "failed runs tie; ties left out), with no equivalence test, in the same Holm family."
        if signs
        else ""
    )
    return Prose(
        "\n".join(
            [
                *comparison_lines(table, delta),
                "",
                protocol_text(family, len(table), seeds_phrase(table), delta=delta, table=table) + note,
            ]
        )
    )


def reference_family(
    df: pd.DataFrame, reference: str, delta: float, *, value: str = "test_accuracy", fail_below: float | None = None
) -> pd.DataFrame:
    """Claims ``reference > x`` for every other initializer ``x``, paired by seed, one Holm family
    (:func:`compare_with_failures`)."""
    others = [i for i in dict.fromkeys(df["init"]) if i != reference]
    return compare_with_failures(df, [(reference, x) for x in others], delta, value=value, fail_below=fail_below)


def group_runs(
    df: pd.DataFrame, group: Sequence[str], label: str = GROUP, *, value: str = "test_accuracy"
) -> pd.DataFrame:
    """The final-epoch runs of ``df`` plus one pseudo-run per seed: the mean of ``value`` over ``group``
    (NaN when a member's run is missing or not finite)."""
    runs = final_epochs(df)
    members = runs[runs["init"].isin(group)]
    wide = members.pivot_table(index="seed", columns="init", values=value, dropna=False)
    wide = wide.reindex(columns=list(group))
    first = members.groupby("seed").head(1).set_index("seed")
    pseudo = first.assign(init=label, **{value: wide.mean(axis=1, skipna=False)}).reset_index()
    return pd.concat([runs, pseudo[runs.columns]], ignore_index=True)


def group_family(
    df: pd.DataFrame,
    group: Sequence[str],
    others: Sequence[str],
    *,
    delta: float,
    value: str = "test_accuracy",
    label: str = GROUP,
    extra: Sequence[tuple[str, str]] = (),
    fail_below: float | None = None,
) -> pd.DataFrame:
    """Claims "the group (the mean of its members, per seed) > x" for each ``x`` in ``others``, then the
    ``extra`` claims ``a > b`` between single initializers: one Holm family (``fail_below``: as in
    :func:`compare_with_failures`)."""
    pairs = [(label, x) for x in others] + list(extra)
    runs = group_runs(df, group, label, value=value)
    return compare_with_failures(runs, pairs, delta, value=value, fail_below=fail_below)


def draw_repeatability(inits: Sequence[str], shape: tuple[int, ...], seeds: tuple[int, int] = (0, 1)) -> pd.DataFrame:
    """Per initializer: does a draw with one seed repeat exactly, and does another seed draw differently?

    ``random`` is False for a deterministic initializer (the second seed changes nothing).
    """
    rows = []
    for name in inits:
        a = np.asarray(get_initializer(name, seed=seeds[0])(shape))
        again = np.asarray(get_initializer(name, seed=seeds[0])(shape))
        other = np.asarray(get_initializer(name, seed=seeds[1])(shape))
        rows.append(
            {
                "init": name,
                "same seed repeats": bool(np.array_equal(a, again)),
                "random": not bool(np.array_equal(a, other)),
            }
        )
    return pd.DataFrame(rows).set_index("init")


def spread_table(df: pd.DataFrame, value: str = "test_accuracy", confidence: float = 0.95) -> pd.DataFrame:
    """Per initializer: seeds, the std over seeds of the final ``value`` (pp) with its chi-square interval,
    and the range."""
    runs = final_epochs(df)
    rows = []
    for init, g in runs.groupby("init", sort=False):
        x = g[value].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        n = x.size
        sd = float(x.std(ddof=1)) if n >= 2 else np.nan
        if n >= 2 and sd > 0:
            lo = sd * np.sqrt((n - 1) / _st.chi2.ppf(0.5 + confidence / 2, n - 1))
            hi = sd * np.sqrt((n - 1) / _st.chi2.ppf(0.5 - confidence / 2, n - 1))
            interval = f"{100 * lo:.3f} – {100 * hi:.3f}"
        else:
            interval = "n/a" if n < 2 else "0 (every seed identical)"
        rows.append(
            {
                "init": init,
                "seeds": n,
                "std over seeds (pp)": round(100 * sd, 3) if np.isfinite(sd) else np.nan,
                "95% CI of the std (pp)": interval,
                "lowest – highest (%)": f"{100 * x.min():.2f} – {100 * x.max():.2f}" if n else "n/a",
            }
        )
    return pd.DataFrame(rows).set_index("init")


def pitman_morgan(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Pitman–Morgan test of equal variances for paired samples (pairs with a non-finite value are left out).

    ``var(x) = var(y)`` exactly when ``x + y`` and ``x - y`` are uncorrelated; the test is
    Pearson's on that correlation (n - 2 degrees of freedom), two-sided.

    Returns:
        ``{"n", "sd_a", "sd_b", "ratio", "r", "p"}`` (``ratio = sd_a / sd_b``); ``p`` is NaN
        with fewer than 3 pairs or when both samples are constant.
    """
    a, b = np.asarray(list(x), float), np.asarray(list(y), float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)

    def sd(v: np.ndarray) -> float:  # identical values have no spread, whatever their rounding
        return np.nan if n < 2 else 0.0 if np.all(v == v[0]) else float(v.std(ddof=1))

    sd_a, sd_b = sd(a), sd(b)
    ratio = sd_a / sd_b if n >= 2 and sd_b > 0 else (np.inf if n >= 2 and sd_a > 0 else np.nan)
    out = {"n": n, "sd_a": sd_a, "sd_b": sd_b, "ratio": ratio, "r": np.nan, "p": np.nan}
    s, d = a + b, a - b
    if n < 3 or np.all(s == s[0]) or np.all(d == d[0]):
        if n >= 3 and (sd_a == 0) != (sd_b == 0):  # one constant side: the other varies more, exactly
            out.update(r=1.0 if sd_a > 0 else -1.0, p=0.0)
        return out
    r, p = _st.pearsonr(s, d)
    return {**out, "r": float(r), "p": float(p)}


def spread_family(
    df: pd.DataFrame, claimed: Sequence[str], rivals: Sequence[str], *, value: str = "test_accuracy"
) -> pd.DataFrame:
    """Claims "a's seed-to-seed spread is larger than b's" for a in ``claimed``, b in ``rivals``: one Holm family.

    Returns:
        One row per claim: ``claim, a, b`` and :func:`pitman_morgan`'s columns, ``p_adj``,
        ``p_equiv_adj`` (NaN: no equivalence test here), ``exact`` (False), ``verdict``
        (supported / reversed / inconclusive) and ``borderline``.
    """
    runs = final_epochs(df)
    wide = runs.pivot_table(index="seed", columns="init", values=value, dropna=False)
    rows = [
        {"claim": f"{a} varies more than {b}", "a": a, "b": b, **pitman_morgan(wide[a], wide[b])}
        for a in claimed
        for b in rivals
    ]
    t = pd.DataFrame(rows, columns=["claim", "a", "b", "n", "sd_a", "sd_b", "ratio", "r", "p"])
    t["p_adj"] = holm(t["p"].to_numpy(dtype=float))
    t["p_equiv_adj"] = np.nan
    t["exact"] = False
    t["verdict"] = [
        "inconclusive" if not (np.isfinite(p) and p < ALPHA) else "supported" if r > 0 else "reversed"
        for p, r in zip(t["p_adj"], t["r"])
    ]
    t["borderline"] = [is_borderline(p, np.nan) for p in t["p_adj"]]
    return t


def spread_lines(table: pd.DataFrame) -> list[str]:
    """One Markdown bullet per :func:`spread_family` claim."""
    lines = []
    for _, r in table.iterrows():
        sds = f"std {100 * r['sd_a']:.3f} against {100 * r['sd_b']:.3f} pp" if np.isfinite(r["sd_a"]) else "no spread"
        if r["n"] < 3:
            tail = "inconclusive (needs at least 3 seeds)"
        else:
            tail = r["verdict"] + (f", borderline (Holm-adjusted p = {r['p_adj']:.3f})" if r["borderline"] else "")
        p = f", Holm p = {r['p_adj']:.3g}" if np.isfinite(r["p_adj"]) else ""
        lines.append(f"- {r['claim']}: {sds} (ratio {r['ratio']:.2f}){p} → **{tail}**")
    return lines


def spread_text(table: pd.DataFrame, draws: pd.DataFrame) -> Prose:
    """Repeatability in both senses: a seeded draw repeats; and how far seeds move the result."""
    random = draws[draws["random"]]
    repeat = draws["same seed repeats"]
    n = seeds_phrase(table)
    lines = [
        f"With a fixed seed, {int(repeat.sum())} of {len(draws)} initializers draw exactly the same kernel twice "
        f"({len(random)} of them are random: a second seed draws differently), and each run's training is seeded "
        "the same way (one seed, the same numbers on one machine)"
        + (
            ": with its seed fixed, no initializer is unrepeatable. "
            if repeat.all()
            else f"; {', '.join(draws.index[~repeat])} did not repeat its draw. "
        )
        + "What the seed changes is the result; the page's claim read that way, that random "
        "normal and uniform vary more from seed to seed than He, Glorot and LeCun:",
        "",
        *spread_lines(table),
        "",
        f"Of {len(table)} claims: {verdict_counts(table)}.",
        "",
        f"*Method.* The family is every (warned, variance-scaling) pair: {len(table)} Pitman–Morgan tests "
        f"of equal variance for paired samples (the correlation of sum and difference, two-sided) over {n} seeds, "
        f"Holm-corrected together at α = {ALPHA:g}; *inconclusive* means the spreads are not resolved, not that "
        f"they are equal. *Borderline* marks a corrected p-value within a factor of {BORDERLINE:g} of α.",
    ]
    return Prose("\n".join(lines))


def gradients_at_init(
    dataset: str,
    model: str,
    inits: Sequence[str],
    *,
    seeds: Sequence[int],
    train_limit: int | None = None,
    n_samples: int = 512,
    model_params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`initlab.probe.runs.gradients_at_init` for every (init, seed): per-layer gradient norms of the
    untrained model (built with ``model_params``, e.g. a ``deep_mlp``'s depth and width) on the first
    ``n_samples`` training images (a second or so per model)."""

    params = dict(model_params or {})
    frames = [
        probe.gradients_at_init(
            training.RunSpec(
                dataset=dataset, model=model, init=init, seed=int(seed), train_limit=train_limit, model_params=params
            ),
            n_samples,
        )
        for init in inits
        for seed in seeds
    ]
    return pd.concat(frames, ignore_index=True)


def _seed_spread(grads: pd.DataFrame, value: str) -> pd.Series:
    """Per initializer, the largest (max − min) / median over seeds of ``value`` in any layer."""
    with np.errstate(invalid="ignore"):  # an infinite norm (ones in a deep net) has no spread
        return (
            grads.groupby(["init", "layer"])[value]
            .agg(lambda x: (x.max() - x.min()) / x.median() if x.median() > 0 else 0.0)
            .groupby("init")
            .max()
        )


GRADIENT_RULES = ("profile", "scale")


def _gradient_verdict(hidden_zero: bool, measure: float, threshold: float) -> str:
    """``zero``, ``vanishes``, ``explodes`` or ``neither``, from the hidden gradients and the rule's measure."""
    return (
        "zero"
        if hidden_zero
        else "vanishes"
        if measure < 1 / threshold
        else "explodes"
        if measure > threshold
        else "neither"
    )


def gradient_summary(
    grads: pd.DataFrame,
    reference: str = "he_normal",
    threshold: float = 10.0,
    *,
    value: str = "kernel_grad_norm",
    rule: str = "profile",
) -> pd.DataFrame:
    """Gradient norms at initialization per initializer, read against ``reference``.

    ``grads`` is :func:`initlab.probe.runs.gradients_at_init`'s frames concatenated (columns
    ``init, seed, layer`` and ``value``). Per initializer: the median over seeds of each
    layer's norm; ``scale``, the geometric mean over layers of the ratio to the reference's
    norm in the same layer (how much smaller or larger the whole gradient is); ``profile``,
    the first layer's norm over the last's, divided by the reference's (how much more the
    gradient shrinks, < 1, or grows, > 1, on its way back to the input); ``largest`` and
    ``largest_layer``, the largest per-layer ratio to the reference and where; ``seed_spread``, the
    largest (max − min) / median over seeds in any layer; and ``verdict``: ``zero`` (every
    hidden kernel's gradient exactly zero), ``vanishes`` / ``explodes`` (the ``rule``'s measure,
    ``"profile"`` or ``"scale"``, beyond ``threshold`` either way) or ``neither``. In a deep net the
    forward activations shrink or grow with the gradients, so every layer's gradient can shrink
    together, leaving the profile near 1: there the ``"scale"`` rule sees it.
    """
    if rule not in GRADIENT_RULES:
        raise InvalidArgumentError("rule", rule, f"must be one of {', '.join(GRADIENT_RULES)}")
    layers = list(dict.fromkeys(grads["layer"]))
    med = grads.pivot_table(index="init", columns="layer", values=value, aggfunc="median")[layers]
    spread = _seed_spread(grads, value)
    ref = med.loc[reference]
    ref_profile = ref[layers[0]] / ref[layers[-1]]
    rows = []
    for init in dict.fromkeys(grads["init"]):
        g = med.loc[init]
        mine = grads.loc[grads["init"] == init]
        largest = mine.groupby("seed")[value].transform("max")
        hidden = mine["layer"] != layers[-1]
        # zero in exact arithmetic: float32 leaves round-off of the order of eps times the largest norm; a layer
        # that overflowed (inf) is no reference for round-off: that net explodes, it is not zero
        finite = bool(np.isfinite(mine[value]).all())
        hidden_zero = finite and bool((mine.loc[hidden, value] <= ROUNDOFF * largest[hidden]).all())
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = (g / ref).to_numpy(dtype=float)
            scale = float(np.exp(np.mean(np.log(ratios)))) if np.all(ratios > 0) else np.nan
            profile = float(g[layers[0]] / g[layers[-1]] / ref_profile) if g[layers[-1]] > 0 else np.nan
        top = int(np.nanargmax(np.where(np.isfinite(ratios), ratios, -np.inf)))
        rows.append(
            {
                "init": init,
                **{f"{l}": float(f"{g[l]:.3g}") for l in layers},
                "scale": scale,
                "profile": profile,
                "largest": float(ratios[top]),
                "largest_layer": layers[top],
                "seed_spread": float(spread.loc[init]),
                "verdict": _gradient_verdict(hidden_zero, profile if rule == "profile" else scale, threshold),
            }
        )
    return pd.DataFrame(rows).set_index("init")


def blowup_table(df: pd.DataFrame, factor: float = 1.1) -> pd.DataFrame:
    """Per initializer: runs that diverged, and runs whose training loss later rose above ``factor`` times its
    first-epoch value (a blow-up), as a count and a rate with a Wilson interval."""

    def blew_up(loss: np.ndarray) -> bool:
        later = loss[1:]
        return bool(np.any(~np.isfinite(later)) or np.any(later > factor * loss[0]))

    rows = []
    ordered = df.sort_values("epoch")
    for init in dict.fromkeys(df["init"]):
        g = ordered[ordered["init"] == init]
        runs = [
            (bool((r["status"] == "diverged").any()), blew_up(r["loss"].to_numpy(dtype=float)))
            for _, r in g.groupby("seed")
        ]
        bad = sum(d or u for d, u in runs)
        lo, hi = wilson_interval(bad, len(runs))
        rows.append(
            {
                "init": init,
                "runs": len(runs),
                "diverged": sum(d for d, _ in runs),
                "loss blow-ups": sum(u for _, u in runs),
                "either, rate (95% CI)": f"{bad / len(runs):.0%} ({lo:.0%}–{hi:.0%})",
            }
        )
    return pd.DataFrame(rows).set_index("init")


def gradient_text(
    *,
    summary: pd.DataFrame,
    blowups: pd.DataFrame,
    warned: Sequence[str] = WARNED,
    reference: str = "he_normal",
    threshold: float = 10.0,
    seeds: int = 1,
    n_samples: int = 512,
    factor: float = 1.1,
) -> Prose:
    """The page's warning about vanishing and exploding gradients, answered from the measurements.

    Args:
        summary: :func:`gradient_summary`; blowups: :func:`blowup_table` (with the same ``factor``).
        seeds, n_samples: what the gradients at initialization were measured on.
    """

    def describe(init: str) -> str:
        r = summary.loc[init]
        if r["verdict"] == "zero":
            return (
                f"{init}: every hidden kernel's gradient is zero (exactly, or float32 round-off below "
                f"{ROUNDOFF:g} of the largest layer's) → **zero**"
            )
        size = f"{r['scale']:.2g}× {reference}'s overall" if np.isfinite(r["scale"]) else "zero in some layer"
        word = "neither vanishes nor explodes" if r["verdict"] == "neither" else r["verdict"]
        big = (
            f" (its {r['largest_layer']} gradient is {r['largest']:.2g}× {reference}'s)"
            if r["largest"] > threshold
            else ""
        )
        return f"{init}: {size}; first-to-last layer ratio {r['profile']:.2g}× {reference}'s → **{word}**" + big

    w = [i for i in warned if i in summary.index]
    flagged = [describe(i) for i in summary.index if summary.loc[i, "verdict"] != "neither" and i not in w]
    trouble = [
        f"{i}: {int(r['diverged'])} diverged, {int(r['loss blow-ups'])} blow-up(s)"
        for i, r in blowups.iterrows()
        if r["diverged"] > 0 or r["loss blow-ups"] > 0
    ]
    moving = sum(summary.loc[i, "verdict"] in ("vanishes", "explodes", "zero") for i in w)
    lines = [
        f"At initialization ({seeds} seed(s), the first {n_samples} training images; between seeds a layer's "
        f"norm moves by at most {100 * summary['seed_spread'].max():.0f}%):",
        "",
        *[f"- {describe(i)}." for i in w],
        "",
        f"A gradient vanishes or explodes on its way back to the input when its first-to-last layer ratio is "
        f"more than {threshold:g}× smaller or larger than {reference}'s. Of the {len(w)} initializers the page "
        f"warns about, {moving} do so here. Elsewhere in the catalogue: {'; '.join(flagged) or 'none'}.",
        "",
        f"In training: {int(blowups['diverged'].sum())} of {int(blowups['runs'].sum())} runs diverged and "
        f"{int(blowups['loss blow-ups'].sum())} had a training loss that later rose above {factor:g}× its "
        f"first-epoch value" + (f" ({'; '.join(trouble)})" if trouble else "") + ". A gradient that is "
        "uniformly smaller or larger does not by itself slow Adam, whose steps are divided by a running "
        "estimate of the gradient's own size.",
    ]
    return Prose("\n".join(lines))


def _failures_bullet(table: pd.DataFrame, fail_below: float) -> str:
    """The closing summary's bullet on runs that failed, per initializer."""
    failed = [
        f"{i} failed in {r['failed']}"
        + (f", {int(r['diverged'])} of them diverged" if r["diverged"] else "")
        + ", runs that trained: "
        + (f"{r['test_accuracy']}%" if r["test_accuracy"] != "no run trained" else "none")
        for i, r in table.iterrows()
        if not str(r["failed"]).startswith("0 of")
    ]
    return (
        f"- **Failures** (a run below {100 * fail_below:g}% test accuracy; a rate with its Wilson interval, beside the "
        f"mean ± 95% CI of the runs that trained): {'; '.join(failed) or 'none'}."
    )


def _reference_bullet(reference: pd.DataFrame, delta: float, ref_name: str) -> str:
    """The closing summary's bullet on every initializer against the reference."""
    eq = reference.loc[reference["verdict"] == "equivalent", "b"].tolist()
    worse = reference.loc[reference["verdict"] == "supported", "b"].tolist()
    better = reference.loc[reference["verdict"] == "reversed", "b"].tolist()
    open_ = reference.loc[reference["verdict"] == "inconclusive", "b"].tolist()
    return (
        f"- **Against {ref_name}** (chosen beforehand: He et al.'s initializer for ReLU networks; paired t-tests and "
        f"two one-sided tests against ±{100 * delta:g} pp over {seeds_phrase(reference)} seeds, sign tests where a "
        f"run failed (diverged, or below the failure threshold), Holm over {len(reference)} comparisons): "
        f"{verdict_counts(reference)}. Worse than {ref_name}: "
        f"{', '.join(worse) or 'none'}; better: {', '.join(better) or 'none'}; equivalent within ±{100 * delta:g} pp: "
        f"{', '.join(eq) or 'none'}; unresolved: {', '.join(open_) or 'none'}."
    )


def _conclusion_bullet(group: pd.DataFrame, delta: float) -> str:
    """The closing summary's bullet on the page's conclusion, He/Glorot/LeCun above the simpler schemes."""
    grp = "; ".join(
        f"{'vs ' + r['b'] if r['a'] == GROUP else r['claim']} **{verdict_label(r, delta)}**"
        for _, r in group.iterrows()
    )
    return (
        f"- **The page's conclusion**, He/Glorot/LeCun above the simpler schemes (the six's mean per seed against "
        f"each scheme, and any single comparison it adds; same tests over {seeds_phrase(group)} seeds, Holm over "
        f"{len(group)}): {grp}."
    )


def _repeatability_bullet(draws: pd.DataFrame, spread: pd.DataFrame) -> str:
    """The closing summary's bullet on seeded draws and seed-to-seed spread."""
    return (
        f"- **Repeatability**: a seeded draw repeats exactly for {int(draws['same seed repeats'].sum())} of "
        f"{len(draws)} initializers; seed-to-seed spread of random normal and "
        f"uniform against the six ({len(spread)} Pitman–Morgan tests over {seeds_phrase(spread)} seeds, Holm): "
        f"{verdict_counts(spread)}."
    )


def _gradient_bullet(grads: pd.DataFrame, blowups: pd.DataFrame, ref_name: str) -> str:
    """The closing summary's bullet on vanishing or exploding gradients and blow-ups in training."""
    words = {"neither": "neither vanishes nor explodes"}
    warned = ", ".join(
        f"{i} **{words.get(grads.loc[i, 'verdict'], grads.loc[i, 'verdict'])}**" for i in WARNED if i in grads.index
    )
    return (
        f"- **Vanishing or exploding gradients** at initialization: {warned or 'no warned initializer measured'}"
        f" (first-to-last layer ratio of kernel-gradient norms against {ref_name}'s, a factor of 10 either way); "
        f"{int(blowups['diverged'].sum())} diverged runs and {int(blowups['loss blow-ups'].sum())} loss blow-ups in "
        f"{int(blowups['runs'].sum())} runs."
    )


def _orthogonal_bullet(speed: pd.DataFrame, target: float) -> str:
    """The closing summary's bullet on the claim that orthogonal initialization accelerates convergence."""
    tested = speed[speed["verdict"] != "not tested"]
    measure = {"epoch1": "after epoch 1", "auc": "mean over epochs", "epochs": f"epochs to {100 * target:g}%"}
    orth = "; ".join(
        f"{r['claim']} ({measure.get(r['metric'], r['metric'])}) **"
        + (
            verdict_label(r, r["delta"], 1.0, unit="epochs")
            if r["metric"] == "epochs"
            else verdict_label(r, r["delta"], 100.0, unit="pp")
        )
        + "**"
        for _, r in tested.iterrows()
    )
    untested = len(speed) - len(tested)
    return (
        f"- **Orthogonal accelerates convergence** (paired t-tests over {seeds_phrase(tested)} seeds on three speed "
        f"measures, target {100 * target:g}%, Holm over the {len(tested)} tested claims): {orth or 'nothing tested'}"
        + (
            f"; {untested} claim(s) on epochs to the target not tested (the target was too rarely reached)"
            if untested
            else ""
        )
        + "."
    )


def catalogue_text(
    *,
    table: pd.DataFrame,
    reference: pd.DataFrame,
    group: pd.DataFrame,
    draws: pd.DataFrame,
    spread: pd.DataFrame,
    speed: pd.DataFrame,
    grads: pd.DataFrame,
    blowups: pd.DataFrame,
    delta: float,
    fail_below: float,
    target: float,
    ref_name: str,
) -> Prose:
    """The closing summary: one bullet per question, each naming its test, correction and seeds.

    Args:
        table: :func:`catalogue_table`.
        reference: :func:`reference_family`.
        group: :func:`group_family`.
        draws: :func:`draw_repeatability`.
        spread: :func:`spread_family`.
        speed: the orthogonal claims' :func:`initlab.findings.speed.speed_family`.
        grads: :func:`gradient_summary`.
        blowups: :func:`blowup_table`.
    """
    lines = [
        _failures_bullet(table, fail_below),
        _reference_bullet(reference, delta, ref_name),
        _conclusion_bullet(group, delta),
        _repeatability_bullet(draws, spread),
        _gradient_bullet(grads, blowups, ref_name),
        _orthogonal_bullet(speed, target),
    ]
    return Prose("\n".join(lines))


def gradient_reading(
    summary: pd.DataFrame, deep: pd.DataFrame | None = None, inits: Sequence[str] = WARNED
) -> dict[str, Any]:
    """The page's warning on vanishing and exploding gradients, with :func:`gradient_summary`'s word for each
    of ``inits`` in the source's model (``<init>/gradient``) and, given ``deep`` (the same summary for a deep
    net), there (``<init>/gradient_deep``).

    The source's model has three kernels: its gradient crosses two layers on its way back, too few for the
    factor-10 rule to be reached by Keras' default scales, so on that model alone the words are shown and
    nothing is decided (*descriptive*). The deep net is where the rule can fail: *holds* when every warned
    initializer vanishes or explodes there, *fails* when none does, otherwise *mixed*."""
    present = [i for i in inits if i in summary.index]
    words = {f"{i}/gradient": str(summary.loc[i, "verdict"]) for i in present}
    if deep is None:
        return {"verdict": "descriptive", **words}
    deep_words = {i: str(deep.loc[i, "verdict"]) for i in inits if i in deep.index}
    bad = [w in ("vanishes", "explodes") for w in deep_words.values()]
    verdict = "holds" if bad and all(bad) else "fails" if not any(bad) else "mixed"
    return {"verdict": verdict, **words, **{f"{i}/gradient_deep": w for i, w in deep_words.items()}}


def deep_gradient_text(
    deep: pd.DataFrame, *, depth: int, width: int, reference: str, inits: Sequence[str] = WARNED
) -> Prose:
    """The warned initializers' gradients at initialization in a deep net (:func:`gradient_summary` of it),
    in words: the profile against ``reference`` and its verdict."""
    lines = [
        f"- {i}: the whole gradient {deep.loc[i, 'scale']:.2g}× {reference}'s; first-to-last layer ratio "
        f"{deep.loc[i, 'profile']:.2g}× {reference}'s → **{deep.loc[i, 'verdict']}**"
        for i in inits
        if i in deep.index
    ]
    reading = gradient_reading(deep, deep, inits)["verdict"]
    return Prose(
        "\n".join(
            [
                f"In a ReLU MLP of {depth} hidden layers of width {width} (the same data and seeds; the verdict "
                "reads the whole gradient's size against the same factor of 10, since activations shrink "
                "with the gradients and leave the first-to-last ratio near 1):",
                "",
                *lines,
                "",
                f"The page's warning there: **{reading}** (every warned initializer vanishes or explodes: holds; "
                "none: fails).",
            ]
        )
    )


def inked_counts(images: np.ndarray, pixels: Sequence[int]) -> dict[int, int]:
    """Per ``p`` in ``pixels``: how many of ``images`` ink (are nonzero in) any of their first ``p`` pixels, in
    row-major order (the pixels a layer with identity kernels reads)."""
    flat = np.asarray(images).reshape(len(images), -1)
    return {int(p): int(np.count_nonzero(flat[:, : int(p)].any(axis=1))) for p in pixels}


def inked_text(
    dataset: str, *, pixels: Sequence[int], validation_split: float, train_limit: int | None = None
) -> Prose:
    """How many training images (the study's training split) ink the first pixels each identity layer reads."""
    x = load_dataset(dataset).x_train[:train_limit]
    x = x[: fit_examples(len(x), validation_split)]
    counts = inked_counts(x, pixels)
    parts = [f"pixels 0–{p - 1}: {n:,} of {len(x):,} images ({n / len(x):.2%})" for p, n in counts.items()]
    return Prose(f"Training images that ink any of the first pixels (row-major): {'; '.join(parts)}.")
