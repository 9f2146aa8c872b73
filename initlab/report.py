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
            f"with {int(last.loc[init, 'distinct_units'])} after {int(last.loc[init, 'epoch'])} epochs; "
            f"its kernel gradient at initialization has norm {g.loc[init, 'kernel_grad_norm']:.3g}; "
            f"test accuracy {fmt_ci(acc['mean'], acc['half_width'])}% over {acc['n']} seed(s).")
    return "\n".join(lines)
