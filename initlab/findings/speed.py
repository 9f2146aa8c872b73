"""Convergence speed as claims: "a converges faster than b", tested three ways in one Holm family.

Built on :mod:`initlab.convergence` (per-run metrics) and the protocol of
:mod:`initlab.stats`; used wherever a source claims speed (03, 05).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from initlab.convergence import convergence_table
from initlab.report import Prose, family_lines, fmt_ci, protocol_text, verdict_counts
from initlab.stats import mean_ci, paired_test, test_family

SPEED_METRICS = {
    "epoch1": "validation accuracy after the first epoch",
    "auc": "mean validation accuracy over the epochs (area under the curve)",
    "epochs": "epochs to reach the target",
}


def seeds_phrase(table: pd.DataFrame) -> str:
    """The seeds behind a family: ``"10"``, or ``"8–10"`` when some comparisons lost seeds (diverged runs)."""
    n = table["n"] if len(table) else pd.Series([0])
    lo, hi = int(n.min()), int(n.max())
    return f"{hi}" if lo == hi else f"{lo}–{hi}"


def per_run(df: pd.DataFrame, value: str, which: str) -> pd.DataFrame:
    """One row per run: ``value`` at the first epoch or at the run's last one."""
    rows = df.sort_values("epoch")
    keys = [k for k in ("dataset", "model", "init", "seed") if k in rows.columns]
    pick = rows.groupby(keys, sort=False).head(1) if which == "first" else rows.groupby(keys, sort=False).tail(1)
    return pick[[*keys, value]]


def ordered_pairs(inits: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair ``(a, b)`` with ``a`` before ``b`` in ``inits`` (e.g. a ranking, best first)."""
    return list(combinations(inits, 2))


def speed_values(df: pd.DataFrame, target: float, value: str = "val_accuracy") -> pd.DataFrame:
    """Per run: ``epoch1`` (``value`` after the first epoch), ``auc`` (mean of the curve), ``epochs``
    (first epoch reaching ``target``; a run that never does counts as one epoch past the study's
    last, a lower bound on its time) and ``reached``."""
    conv = convergence_table(df, target, value)
    keys = [k for k in ("dataset", "model", "init", "seed") if k in conv.columns]
    first = per_run(df, value, "first").rename(columns={value: "epoch1"})
    out = conv.merge(first, on=keys, how="left")
    out["reached"] = np.isfinite(out["epochs_to_target"])
    out["epochs"] = np.where(out["reached"], out["epochs_to_target"], float(df["epoch"].max()) + 1)
    return out[[*keys, "epoch1", "auc", "epochs", "reached", "best_epoch", "collapse"]]


def speed_family(
    df: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    target: float,
    *,
    delta: float,
    delta_epochs: float,
    value: str = "val_accuracy",
) -> pd.DataFrame:
    """Claims "a converges faster than b", each measured by :data:`SPEED_METRICS`: one Holm family.

    A positive difference always favours ``a``: higher accuracy after epoch 1, higher
    mean accuracy over the epochs, fewer epochs to ``target`` (``b``'s minus ``a``'s). For
    epochs, seeds where neither run reached the target are tied by censoring and left
    out; a pair with fewer than 2 seeds left is *not tested* (and not in the family).

    Args:
        delta: equivalence margin for the two accuracy measures (fraction).
        delta_epochs: equivalence margin in epochs (the claims ledger states both for each claim of speed).

    Returns:
        One row per (metric, pair): ``metric, claim, name, a, b, delta, unit, scale, seeds_reached``
        (``unit`` and ``scale``: how a difference is printed, pp or epochs),
        :func:`initlab.stats.paired_test`'s columns, then ``p_adj, p_equiv_adj, verdict,
        borderline`` (verdict ``not tested`` where the target was too rarely reached).
    """
    runs = speed_values(df, target, value)
    rows = []
    for metric in SPEED_METRICS:
        wide = runs.pivot_table(index="seed", columns="init", values=metric, dropna=False)
        reached = runs.pivot_table(index="seed", columns="init", values="reached", aggfunc="max")
        for a, b in pairs:
            w = wide[[a, b]].dropna()
            if metric == "epochs":
                keep = reached.loc[w.index, [a, b]].astype(bool).any(axis=1)
                diff, margin, n_reached = (w[b] - w[a])[keep], delta_epochs, int(keep.sum())
            else:
                diff, margin, n_reached = w[a] - w[b], delta, np.nan
            rows.append(
                {
                    "metric": metric,
                    "claim": f"{a} faster than {b}",
                    "name": f"{metric}/{a} > {b}",
                    "a": a,
                    "b": b,
                    "delta": margin,
                    "unit": "epochs" if metric == "epochs" else "pp",
                    "scale": 1.0 if metric == "epochs" else 100.0,
                    "seeds_reached": n_reached,
                    **paired_test(diff.to_numpy(dtype=float), margin),
                }
            )
    t = pd.DataFrame(rows)
    untested = (t["metric"] == "epochs") & (t["seeds_reached"] < 2)
    tested = (
        test_family(t[~untested])
        if (~untested).any()
        else t[~untested].assign(p_adj=np.nan, p_equiv_adj=np.nan, verdict=[], borderline=[])
    )
    skipped = t[untested].assign(p_adj=np.nan, p_equiv_adj=np.nan, verdict="not tested", borderline=False)
    return pd.concat([tested, skipped]).sort_index().reset_index(drop=True)


def speed_table(df: pd.DataFrame, target: float, value: str = "val_accuracy") -> pd.DataFrame:
    """Per initializer: mean ± 95% CI of ``epoch1`` and ``auc`` (percent), runs reaching ``target``,
    the median epochs to it (``never`` when most runs do not), the median best epoch and the mean collapse."""
    runs = speed_values(df, target, value)
    rows = []
    for init, g in runs.groupby("init", sort=False):
        e1, auc, col = mean_ci(g["epoch1"]), mean_ci(g["auc"]), mean_ci(g["collapse"])
        med = float(np.median(np.where(g["reached"], g["epochs"], np.inf)))
        rows.append(
            {
                "init": init,
                "epoch 1 (%)": fmt_ci(e1["mean"], e1["half_width"]),
                "mean over epochs (%)": fmt_ci(auc["mean"], auc["half_width"]),
                f"reached {100 * target:g}%": f"{int(g['reached'].sum())} of {len(g)}",
                f"median epochs to {100 * target:g}%": f"{med:g}" if np.isfinite(med) else "never",
                "median best epoch": f"{float(np.median(g['best_epoch'])):g}",
                "collapse (pp)": f"{100 * col['mean']:.2f}" if np.isfinite(col["mean"]) else "n/a",
            }
        )
    return pd.DataFrame(rows).set_index("init")


def speed_lines(table: pd.DataFrame, target: float) -> list[str]:
    """Markdown bullets of a :func:`speed_family` table, grouped by metric."""
    lines: list[str] = []
    for metric, label in SPEED_METRICS.items():
        sub = table[table["metric"] == metric]
        if not len(sub):
            continue
        title = label + (f" ({100 * target:g}% validation accuracy)" if metric == "epochs" else "")
        lines += [f"*{title[0].upper() + title[1:]}*:", ""]
        tested = sub[sub["verdict"] != "not tested"]
        scale, unit = (1.0, "epochs") if metric == "epochs" else (100.0, "pp")
        if len(tested):
            lines += family_lines(tested, float(tested["delta"].iloc[0]), scale, unit=unit)
        for _, r in sub[sub["verdict"] == "not tested"].iterrows():
            lines.append(
                f"- {r['claim']}: the target was reached, by either run, in {int(r['seeds_reached'])} "
                f"seed(s) → not tested"
            )
        lines.append("")
    return lines


def speed_text(table: pd.DataFrame, target: float, family: str) -> Prose:
    """The speed family's verdicts, then its method: the measures, the censoring, Holm, the seeds."""
    tested = table[table["verdict"] != "not tested"]
    n = seeds_phrase(tested)
    acc_delta = table.loc[table["metric"] != "epochs", "delta"]
    ep_delta = table.loc[table["metric"] == "epochs", "delta"]
    lines = speed_lines(table, target)
    lines.append(
        f"Of {len(tested)} tested claims: {verdict_counts(tested)}."
        + (
            f" {len(table) - len(tested)} claim(s) on epochs to the target were not tested: the target "
            "was reached in fewer than 2 seeds."
            if len(tested) < len(table)
            else ""
        )
    )
    lines += [
        "",
        protocol_text(family, len(tested), n, delta=float(acc_delta.iloc[0]) if len(acc_delta) else 0.0, table=tested)
        + (
            f" For epochs to the target the margin is ±{float(ep_delta.iloc[0]):g} epochs, a run that never "
            "reaches it counts as one epoch past the last (a lower bound, which can only shrink a "
            "difference), and seeds where neither run reaches it are left out."
            if len(ep_delta)
            else ""
        ),
    ]
    return Prose("\n".join(lines))
