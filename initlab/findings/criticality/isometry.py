"""Dynamical isometry in notebook 08: the Jacobian spectra's tables, and orthogonal against Gaussian kernels at
criticality, each at the learning rate it does best at on validation, paired by seed in learning speed (the area
under the validation-accuracy curve), one Holm family; the spectra predict the side whose singular values lie
nearer 1."""

from __future__ import annotations

import pandas as pd

from initlab.claims import resolve_margin
from initlab.convergence import convergence_table
from initlab.errors import InvalidArgumentError
from initlab.findings.criticality.grid import (
    INIT_KERNEL,
    ISOMETRY_CELL,
    KERNEL_INIT,
    at_chosen,
    budget_scores,
    chosen_rates,
)
from initlab.report import Prose, family_lines, fmt_ci, protocol_text, verdict_counts
from initlab.stats import final_epochs, mean_ci, paired_test, paired_values, test_family
from initlab.theory.isometry import NEAR

MARGIN_CLAIM = "08-isometry-speed"  # the ledger entry whose margin (δ) the isometry family uses
ISOMETRY_FAMILY = (
    "orthogonal against Gaussian kernels of the same variance, per activation at its critical "
    "point and each kernel at its best learning rate on validation, in the area under the validation-accuracy "
    "curve (its mean over the epochs)"
)


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


def isometry_rates(runs: pd.DataFrame) -> pd.DataFrame:
    """Each (set-up, kernel)'s learning rate: the best mean final validation accuracy over seeds, a diverged
    run counting 0 (:func:`initlab.findings.criticality.grid.chosen_rates`), with ``rates`` and ``edge``."""
    epochs = int(runs["epoch"].max())
    chosen = chosen_rates(budget_scores(runs, ISOMETRY_CELL, [epochs]), ISOMETRY_CELL)
    return chosen.drop(columns="budget")


def at_best(runs: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The isometry runs at each (set-up, kernel)'s chosen rate (:func:`isometry_rates`)."""
    return at_chosen(runs, rates, ISOMETRY_CELL)


def rate_table(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`isometry_rates` to read: per set-up and kernel the chosen rate, the rates tried and the score."""
    return pd.DataFrame(
        {
            "setup": rates["setup"],
            "kernel": rates["kernel"],
            "learning rate": [
                f"{r:g}" + (f" ({e} tried)" if e else "") for r, e in zip(rates["learning_rate"], rates["edge"])
            ],
            "rates tried": rates["rates"],
            "final validation accuracy (%)": (100 * rates["score"]).round(2),
        }
    ).set_index(["setup", "kernel"])


def speed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per isometry run (at one rate per set-up and kernel, :func:`at_best`): ``setup, activation,
    kernel, seed, auc`` (the mean of its validation-accuracy curve) and ``test_accuracy`` (after the last epoch)."""
    frames = []
    for setup, g in runs.groupby("setup", sort=False):
        conv = convergence_table(g, target=1.0)
        final = final_epochs(g, ["init"])[["init", "seed", "test_accuracy"]]
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


def agreement_counts(agreement: pd.Series) -> str:
    """``"The spectra's prediction agrees with 2 of 3 tests; 1 is undecided."``"""
    n = len(agreement)
    counts = {k: int((agreement == k).sum()) for k in ("agrees", "disagrees", "undecided")}
    parts = [f"agrees with {counts['agrees']} of {n} tests", f"disagrees with {counts['disagrees']}"]
    text = "The spectra's prediction " + "; it ".join(parts)
    undecided = counts["undecided"]
    return text + (
        f"; {undecided} {'is' if undecided == 1 else 'are'} undecided (inconclusive tests)." if undecided else "."
    )


def isometry_text(
    tests: pd.DataFrame, depth: int, seeds: int, *, rates: pd.DataFrame, budget: str, delta: float | None = None
) -> Prose:
    """The isometry family in words: method, one line per test, the spectra's prediction beside it, the budget
    and any chosen rate at an edge of the rates tried (``rates``: :func:`isometry_rates`; ``delta``: the margin
    the tests used, default the claims ledger's)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    edges = rates[rates["edge"] != ""]
    edge_words = (
        "Every chosen rate lies inside the rates tried."
        if not len(edges)
        else "At an edge of the rates tried (the best may lie beyond): "
        + "; ".join(f"{r['setup']} {r['kernel']} at {r['learning_rate']:g} ({r['edge']})" for _, r in edges.iterrows())
        + "."
    )
    lines = [
        f"Budget: {budget}, each kernel at its own best rate on validation. {edge_words}",
        "",
        protocol_text(ISOMETRY_FAMILY, len(tests), seeds, delta=delta, table=tests),
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
