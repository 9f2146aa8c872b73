"""Tables a reviewer can quote and verdicts written from the results, never by hand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.sources import desai_table
from initlab.stats import final_epochs, mean_ci, ranking_verdict, summarize


def fmt_ci(mean: float, half: float, scale: float = 100.0, digits: int = 2) -> str:
    """``"97.41 ± 0.12"`` (accuracies as percent by default); no interval with one seed."""
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(half):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def _cell(df: pd.DataFrame, init: str, value: str, epoch: int | None) -> str:
    rows = df[df["init"] == init]
    rows = final_epochs(rows) if epoch is None else rows[rows["epoch"] == epoch]
    ci = mean_ci(rows[value].to_numpy())
    return fmt_ci(ci["mean"], ci["half_width"])


def desai_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of ``000`` with our mean ± 95% CI beside each paper value (percent)."""
    paper = desai_table().set_index("init")
    first = int(df["epoch"].min())
    cols = [("train_acc_first", "accuracy", first), ("train_acc_last", "accuracy", None),
            ("val_acc_first", "val_accuracy", first), ("val_acc_last", "val_accuracy", None),
            ("test_acc", "test_accuracy", None)]
    rows = []
    for init in paper.index:
        if init not in set(df["init"]):
            continue
        row = {"init": init}
        for col, value, epoch in cols:
            row[f"{col} paper"] = f"{paper.loc[init, col]:.2f}"
            row[f"{col} ours"] = _cell(df, init, value, epoch)
        rows.append(row)
    return pd.DataFrame(rows).set_index("init")


def summary_table(df: pd.DataFrame, values: Sequence[str] = ("test_accuracy", "test_loss"),
                  by: Sequence[str] = ("init",)) -> pd.DataFrame:
    """Mean ± CI of each value per group, plus the number of seeds and diverged runs."""
    runs = final_epochs(df)
    out = None
    for value in values:
        s = summarize(df, value, by=by)
        scale = 100.0 if "accuracy" in value else 1.0
        digits = 2 if "accuracy" in value else 4
        s[value] = [fmt_ci(m, h, scale, digits) for m, h in zip(s["mean"], s["half_width"])]
        s = s[[*by, value]]
        out = s if out is None else out.merge(s, on=list(by))
    seeds = runs.groupby(list(by)).agg(seeds=("seed", "nunique"),
                                       diverged=("status", lambda x: int((x == "diverged").sum())))
    return out.merge(seeds.reset_index(), on=list(by)).set_index(list(by))


def ranking_text(df: pd.DataFrame, claimed: Sequence[str], value: str = "test_accuracy",
                 source: str = "the source") -> str:
    """A Markdown verdict on a claimed ranking (best first), from paired differences."""
    v = ranking_verdict(df, claimed, value)
    n = int(v["n"].min()) if len(v) else 0
    lines = [f"Claimed ranking by {source}: **{' > '.join(claimed)}** ({value.replace('_', ' ')}). "
             f"Each adjacent pair is tested on the {n} seeds both ran (paired by seed, 95% CI of the mean "
             "difference in percentage points):", ""]
    for _, r in v.iterrows():
        ci = (f"[{100 * r['ci_low']:+.2f}, {100 * r['ci_high']:+.2f}]" if np.isfinite(r["ci_low"])
              else "(needs at least 2 seeds)")
        lines.append(f"- {r['claim']}: mean difference {100 * r['mean_diff']:+.2f} pp, CI {ci} → **{r['verdict']}**")
    supported = int((v["verdict"] == "supported").sum())
    reversed_ = int((v["verdict"] == "reversed").sum())
    if supported == len(v):
        tail = "the ranking as a whole holds."
    else:
        tail = (f"the ranking as a whole is not supported: {len(v) - supported - reversed_} step(s) are within "
                f"seed-to-seed noise and {reversed_} reversed.")
    lines += ["", f"{supported} of {len(v)} adjacent steps of the claimed ranking are supported by our runs; {tail}"]
    return "\n".join(lines)


def symmetry_text(grads: pd.DataFrame, sym: pd.DataFrame, df: pd.DataFrame, layer: str = "hidden_1") -> str:
    """The symmetry notebook's findings, written from its tables."""
    runs = final_epochs(df)
    last = sym[sym["layer"] == layer].sort_values("epoch").groupby("init").tail(1).set_index("init")
    first = sym[(sym["layer"] == layer) & (sym["epoch"] == 0)].set_index("init")
    g = grads[grads["layer"] == layer].set_index("init")
    lines = []
    for init in dict.fromkeys(df["init"]):
        acc = mean_ci(runs.loc[runs["init"] == init, "test_accuracy"].to_numpy())
        lines.append(
            f"- **{init}**: {layer} starts with {int(first.loc[init, 'distinct_units'])} distinct unit(s) and ends "
            f"with {int(last.loc[init, 'distinct_units'])} after {int(last.loc[init, 'epoch'])} epochs "
            f"(mean distance between units {first.loc[init, 'unit_spread']:.3g} → {last.loc[init, 'unit_spread']:.3g}); "
            f"its kernel gradient at initialization has norm {g.loc[init, 'kernel_grad_norm']:.3g}; "
            f"test accuracy {fmt_ci(acc['mean'], acc['half_width'])}% over {acc['n']} seed(s).")
    return "\n".join(lines)


def histogram_text(table: pd.DataFrame, last_layer: str) -> str:
    """Findings of the activation-histogram notebook from its per-layer table.

    ``table`` has columns ``init, stage ("at init" / "trained"), layer, mean, std, frac_zero``.
    """
    t = table.set_index(["init", "stage", "layer"])
    lines = []
    for init in dict.fromkeys(table["init"]):
        i0, i1 = t.loc[(init, "at init", last_layer)], t.loc[(init, "trained", last_layer)]
        lines.append(f"- **{init}**: {last_layer} std {i0['std']:.3g} at initialization, {i1['std']:.3g} after "
                     f"training; exactly-zero activations {i0['frac_zero']:.0%} → {i1['frac_zero']:.0%}.")
    trained_last = table[(table["stage"] == "trained") & (table["layer"] == last_layer)]
    majority = trained_last[trained_last["frac_zero"] > 0.5]["init"].tolist()
    lines += ["", f"The source's remark that the last hidden layer's activations concentrate at zero for every "
              f"method: after training, more than half of {last_layer}'s activations are exactly zero for "
              f"{len(majority)} of {len(trained_last)} initializers ({', '.join(majority) or 'none'})."]
    return "\n".join(lines)


def patel_comparison(df: pd.DataFrame, value: str = "test_accuracy") -> pd.DataFrame:
    """Table 1 (accuracy, %) or Table 2 (loss) of ``001`` laid out as printed, the paper beside ours.

    Rows are the four schemes, columns each dataset and the average across datasets
    (ours: the mean over datasets of the per-dataset seed means).
    """
    from initlab.sources import PATEL_AVERAGES, PATEL_LABELS, patel_tables

    paper = patel_tables().set_index(["init", "dataset"])
    pcol = "test_acc" if value == "test_accuracy" else "test_loss"
    scale, digits = (100.0, 2) if value == "test_accuracy" else (1.0, 4)
    datasets = [d for d in ("mnist", "cifar10", "fashion_mnist") if d in set(df["dataset"])]
    s = summarize(df, value, by=("init", "dataset")).set_index(["init", "dataset"])
    rows = []
    for init, label in PATEL_LABELS.items():
        if init not in set(df["init"]):
            continue
        row = {"scheme": f"{label} ({init})"}
        for d in datasets:
            row[f"{d} paper"] = f"{paper.loc[(init, d), pcol]:.{digits}f}"
            row[f"{d} ours"] = fmt_ci(s.loc[(init, d), "mean"], s.loc[(init, d), "half_width"], scale, digits)
        avg_paper = PATEL_AVERAGES[init][0 if value == "test_accuracy" else 1]
        row["average paper"] = f"{avg_paper:.{digits}f}"
        row["average ours"] = f"{np.mean([s.loc[(init, d), 'mean'] for d in datasets]) * scale:.{digits}f}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("scheme")


def patel_text(df: pd.DataFrame) -> str:
    """Findings of the three-dataset notebook: the paper's ranking He > Xavier > Random > Zero per dataset."""
    claimed = ["randn_he", "randn_lecun", "randn_001", "zeros"]
    lines = []
    for d in dict.fromkeys(df["dataset"]):
        sub = df[df["dataset"] == d]
        v = ranking_verdict(sub, [c for c in claimed if c in set(sub["init"])])
        steps = "; ".join(f"{r['claim']}: {r['verdict']} ({100 * r['mean_diff']:+.2f} pp)" for _, r in v.iterrows())
        lines.append(f"- **{d}**: {steps}.")
    return ("The paper ranks He > Xavier > Random > Zero on every dataset. Paired by seed, each step "
            "on our runs (95% CI of the difference in test accuracy):\n\n" + "\n".join(lines))


def catalogue_text(df: pd.DataFrame) -> str:
    """Findings of the catalogue notebook: the best group, the failures, and what is indistinguishable."""
    s = summarize(df, "test_accuracy").sort_values("mean", ascending=False).reset_index(drop=True)
    best = s.iloc[0]
    tied = [r["init"] for _, r in s.iterrows()
            if r["init"] == best["init"] or (np.isfinite(r["ci_high"]) and r["ci_high"] >= best["ci_low"])]
    failed = [f"{r['init']} ({100 * r['mean']:.1f}%)" for _, r in s.iterrows() if r["mean"] < 0.5]
    lines = [f"- Best mean test accuracy: **{best['init']}** ({fmt_ci(best['mean'], best['half_width'])}%).",
             f"- Initializers whose 95% interval reaches the best one's (not separable with these seeds): "
             f"{', '.join(tied)}.",
             f"- Failures (mean below 50%): {', '.join(failed) or 'none'}."]
    return "\n".join(lines)
