"""Tables a reviewer can quote and verdicts written from the results, never by hand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.sources import desai_table
from initlab.stats import (ALPHA, BORDERLINE, VERDICTS, failure_summary, final_epochs, mean_ci, ranking_verdict,
                           summarize, verdict_label)


def fmt_ci(mean: float, half: float, scale: float = 100.0, digits: int = 2) -> str:
    """``"97.41 ± 0.12"`` (accuracies as percent by default); no interval with one seed."""
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(half):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def fmt_p(p: float) -> str:
    """``"= 0.042"``, or ``"< 0.001"`` for smaller p-values (never a bare 0 or 1 that reads as exact)."""
    if not np.isfinite(p):
        return "= n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


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
                  by: Sequence[str] = ("init",), fail_below: float | None = None) -> pd.DataFrame:
    """Mean ± CI of each value per group, plus the number of seeds and diverged runs.

    With ``fail_below`` (an accuracy), runs below it count as failures: a ``failed``
    column gives their number and rate with a Wilson interval, and every value is
    averaged over the runs that trained only.
    """
    runs = final_epochs(df)
    if fail_below is not None:
        ok = runs["test_accuracy"].ge(fail_below) & np.isfinite(runs["test_accuracy"])
        kept = runs[ok].assign(epoch=runs["epoch"].max())
    else:
        kept = runs
    out = None
    for value in values:
        s = summarize(kept, value, by=by).reindex(columns=[*by, "mean", "half_width"]) if len(kept) else \
            pd.DataFrame(columns=[*by, "mean", "half_width"])
        scale = 100.0 if "accuracy" in value else 1.0
        digits = 2 if "accuracy" in value else 4
        s[value] = [fmt_ci(m, h, scale, digits) for m, h in zip(s["mean"], s["half_width"])]
        s = s[[*by, value]]
        out = s if out is None else out.merge(s, on=list(by), how="outer")
    groups = runs.groupby(list(by), sort=False)
    seeds = groups.agg(seeds=("seed", "nunique"),
                       diverged=("status", lambda x: int((x == "diverged").sum()))).reset_index()
    table = seeds.merge(out, on=list(by), how="left")
    for value in values:
        table[value] = table[value].fillna("no run trained")
    if fail_below is not None:
        cells = []
        for _, g in groups:
            f = failure_summary(g["test_accuracy"].to_numpy(dtype=float), fail_below)
            cells.append(f"{f['failed']} of {f['n']} ({f['rate']:.0%}, 95% CI {f['rate_low']:.0%}–{f['rate_high']:.0%})")
        table["failed"] = cells
    return table.set_index(list(by))[[*values, "seeds", "diverged", *(["failed"] if fail_below is not None else [])]]


def protocol_text(family: str, n_tests: int, seeds: int | str, delta: float, scale: float = 100.0,
                  unit: str = "pp") -> str:
    """The sentence that names a family of tests, its correction and its seeds."""
    return (f"*Method.* The family is {family}: {n_tests} test(s), each a paired t-test over {seeds} seeds "
            f"(two-sided, for a difference) and two one-sided tests (for equivalence within "
            f"±{delta * scale:g} {unit}), Holm-corrected together at α = {ALPHA:g}. A claim is *supported* or "
            f"*reversed* when the corrected difference test rejects, *equivalent* when the corrected "
            f"equivalence test does, and otherwise *inconclusive*, with the seeds that would give 80% power "
            f"against the gap claimed (that test alone). *Borderline* marks a corrected p-value within a "
            f"factor of {BORDERLINE:g} of α: another machine's rounding could move it across.")


def family_lines(table: pd.DataFrame, delta: float, scale: float = 100.0, unit: str = "pp",
                 label: str = "claim") -> list[str]:
    """One Markdown bullet per tested claim: difference, CI, corrected p-value and verdict."""
    lines = []
    for _, r in table.iterrows():
        if r["n"] < 2:
            stats_part = f"{scale * r['mean']:+.2f} {unit} from one seed" if np.isfinite(r["mean"]) else "no paired seeds"
        elif r["exact"]:
            stats_part = f"{scale * r['mean']:+.2f} {unit} in every seed"
        else:
            stats_part = (f"{scale * r['mean']:+.2f} {unit}, 95% CI [{scale * r['ci_low']:+.2f}, "
                          f"{scale * r['ci_high']:+.2f}], Holm p {fmt_p(r['p_adj'])}")
        lines.append(f"- {r[label]}: {stats_part} → **{verdict_label(r, delta, scale, unit)}**")
    return lines


def verdict_counts(table: pd.DataFrame) -> str:
    """``"2 supported, 1 inconclusive"``: the verdicts of a family, counted (zero counts left out)."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts) or "no tests"


def ranking_text(df: pd.DataFrame, claimed: Sequence[str], delta: float, value: str = "test_accuracy",
                 source: str = "the source", gaps: Sequence[float | None] | None = None) -> str:
    """A Markdown verdict on a claimed ranking (best first): each adjacent step a paired test, one Holm family.

    Args:
        df: the study's tidy frame.
        claimed: initializers, best first.
        delta: the equivalence margin (units of ``value``; accuracies as fractions).
        gaps: per step the gap the source reports (for the seeds-needed estimate).
    """
    if len(claimed) < 2:
        raise InvalidArgumentError("claimed", list(claimed), "must rank at least two initializers")
    v = ranking_verdict(df, claimed, delta, value, gaps=gaps)
    n = int(v["n"].min()) if len(v) else 0
    lines = [f"Claimed ranking by {source}: **{' > '.join(claimed)}** ({value.replace('_', ' ')}), "
             f"differences in percentage points:", "", *family_lines(v, delta), ""]
    supported = int((v["verdict"] == "supported").sum())
    whole = ("**holds**" if supported == len(v) else
             "**is not established**" if not (v["verdict"] == "reversed").any() else "**is contradicted**")
    lines += [f"Of {len(v)} adjacent steps: {verdict_counts(v)}; the ranking as a whole {whole}.", "",
              protocol_text(f"the {len(v)} adjacent steps of this ranking", len(v), n, delta)]
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
    last = final_epochs(df)
    runs = last.groupby("init")["status"].agg(lambda st: (int((st == "diverged").sum()), len(st)))
    diverged = [f"{init} ({d} of {n} runs)" for init, (d, n) in runs.items() if d]
    if diverged:
        lines.append(f"- Diverged (left out of the means above): {', '.join(diverged)}.")
    return "\n".join(lines)


def _factor(word: str, ratio: float, per_layer: float) -> str:
    """``"vanishes ×0.71 per layer"``, ``"underflows to 0"``, ``"overflows"``, ``"kept"``."""
    if word == "keeps":
        return "kept"
    if ratio == 0:
        return "underflows to 0"
    if not np.isfinite(ratio):
        return "overflows"
    return f"{word} ×{per_layer:.3g} per layer"


def propagation_text(verdicts: pd.DataFrame) -> str:
    """Per activation: which inits keep the signal both ways at initialization, and what the others do.

    ``verdicts`` is :func:`initlab.depth.growth_verdicts`' table.
    """
    lines = []
    for activation, v in verdicts.groupby("activation", sort=False):
        kept = v[(v["forward"] == "keeps") & (v["backward"] == "keeps")]
        others = []
        for _, r in v.drop(kept.index).iterrows():
            note = (f"; {r['last_saturated']:.0%} of the last layer saturated"
                    if np.isfinite(r["last_saturated"]) and r["last_saturated"] > 0.5 else "")
            others.append(f"{r['init']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])}, "
                          f"backwards {_factor(r['backward'], r['backward_ratio'], r['backward_per_layer'])}{note})")
        lines.append(f"- **{activation}** ({int(v['depth'].max())} layers): kept both ways by "
                     f"{', '.join(kept['init']) or 'none'}; not by {'; '.join(others) or 'none'}.")
    return "\n".join(lines)


def _acc(r: pd.Series) -> str:
    return "diverged" if r["diverged"] and not np.isfinite(r["mean"]) else f"{fmt_ci(r['mean'], r['half_width'])}%"


def trainability_text(table: pd.DataFrame, diag: pd.DataFrame) -> str:
    """How many set-ups train at each depth, and why the deepest ones that fail do (from their start).

    ``table`` is :func:`initlab.depth.trainability`'s, ``diag`` :func:`initlab.depth.init_diagnostics`'.
    """
    from initlab.depth import FAILS, TRAINS, failure_reasons

    lines = []
    for depth, t in table.groupby("depth"):
        counts = t["status"].value_counts()
        lines.append(f"- depth {depth}: {counts.get('trains', 0)} of {len(t)} set-ups train (mean test accuracy "
                     f"≥ {TRAINS:.0%}), {counts.get('partial', 0)} partly, {counts.get('fails', 0)} fail "
                     f"(< {FAILS:.0%}), {counts.get('diverged', 0)} diverge.")
    deepest = int(table["depth"].max())
    t = table[table["depth"] == deepest]
    good = [f"{r['activation']} + {r['init']} ({_acc(r)})" for _, r in t.iterrows() if r["status"] == "trains"]
    lines += ["", f"At depth {deepest}, training succeeds with: {', '.join(good) or 'none'}. "
              "The others, with what their untrained network shows:", ""]
    d = diag.set_index(["depth", "activation", "init"])
    for _, r in t[t["status"] != "trains"].iterrows():
        key = (deepest, r["activation"], r["init"])
        reasons = failure_reasons(d.loc[key]) if key in d.index else []
        why = "; ".join(reasons) if reasons else "no defect found at initialization, so the shortfall arises in training"
        lines.append(f"- {r['activation']} + {r['init']}: {r['status']} ({_acc(r)}); {why}.")
    return "\n".join(lines)


def _cells(rows: pd.DataFrame, a: str = "a", b: str = "b") -> str:
    """``"tanh at depth 20 (+3.1 pp, CI [+1.0, +5.2])"`` for each comparison row."""
    out = []
    for _, r in rows.iterrows():
        ci = (f", CI [{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]" if np.isfinite(r["ci_low"]) else "")
        diff = f"{100 * r['mean_diff']:+.1f} pp{ci}" if np.isfinite(r["mean_diff"]) else "no paired seeds"
        out.append(f"{r['a_activation']} at depth {r['depth']} ({diff})")
    return "; ".join(out) or "none"


def _comparison_summary(cmp: pd.DataFrame, better: str, worse: str) -> list[str]:
    held = cmp[cmp["verdict"] == "a better"]
    lines = [f"  - {better} better: {_cells(held)}.",
             f"  - {worse} better: {_cells(cmp[cmp['verdict'] == 'b better'])}.",
             f"  - no difference resolved: {_cells(cmp[cmp['verdict'] == 'no difference resolved'])}.",
             f"  - both fail: {_cells(cmp[cmp['verdict'] == 'both fail'])}.",
             f"  - Verdict: the claim holds in {len(held)} of {len(cmp)} (activation, depth) cells."]
    return lines


def claims_text(comparisons: pd.DataFrame, table: pd.DataFrame, verdicts: pd.DataFrame | None = None) -> str:
    """Verdicts on ``004``'s three claims, from :func:`initlab.depth.claim_comparisons` and the trainability table.

    Differences are in test accuracy, paired by seed, with 95% CIs (percentage points).
    """
    lines = []
    cmp = comparisons[comparisons["claim"] == "orthogonal"]
    if len(cmp):
        lines.append("**Orthogonal initialization helps deep networks.** Orthogonal against glorot_normal "
                     "(the same variance for a square layer, without the orthogonality), paired by seed:")
        lines += _comparison_summary(cmp, "orthogonal", "glorot_normal")
        if verdicts is not None:
            o = verdicts[verdicts["init"] == "orthogonal"]
            kept = o[(o["forward"] == "keeps") & (o["backward"] == "keeps")]["activation"]
            lost = [f"{r['activation']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])})"
                    for _, r in o.iterrows() if r["activation"] not in set(kept)]
            tail = (f"; not for {', '.join(lost)}: with gain 1 it preserves norms only where the activation does"
                    if lost else "")
            lines.append(f"  - At initialization orthogonal keeps the signal both ways for "
                         f"{', '.join(kept) or 'none'}{tail}.")
    cmp = comparisons[comparisons["claim"] == "variance scaling"]
    if len(cmp):
        pairs = ", ".join(f"{a}: {i} vs {j}" for a, i, j in
                          cmp[["a_activation", "a_init", "b_init"]].drop_duplicates().itertuples(index=False))
        lines += ["", f"**Variance scaling adapts to the activation.** The usual scaling for each activation "
                  f"against a mismatched one ({pairs}):"]
        lines += _comparison_summary(cmp, "matched", "mismatched")
    snn = comparisons[comparisons["claim"] == "snn"]
    if len(snn):
        lines += ["", "**Self-normalizing networks converge even from random or zero initialization.** SELU "
                  "networks started from each such initializer:"]
        t = table.set_index(["depth", "activation", "init"])
        holds = total = 0
        for init in dict.fromkeys(snn["a_init"]):
            s = snn[snn["a_init"] == init]
            for depth in sorted(set(s["depth"])):
                r = t.loc[(depth, "selu", init)]
                parts = []
                for _, v in s[s["depth"] == depth].iterrows():
                    rival = "SELU + lecun_normal" if v["b_init"] == "lecun_normal" else f"{v['b_activation']} + {init}"
                    ci = (f" [{100 * v['ci_low']:+.1f}, {100 * v['ci_high']:+.1f}]" if np.isfinite(v["ci_low"]) else "")
                    diff = f"{100 * v['mean_diff']:+.1f} pp{ci}" if np.isfinite(v["mean_diff"]) else "no paired seeds"
                    word = {"a better": "SELU better", "b better": f"{rival} better"}.get(v["verdict"], v["verdict"])
                    parts.append(f"against {rival} {diff}, {word}")
                ref = s[(s["depth"] == depth) & (s["b_init"] == "lecun_normal")]
                ok = r["status"] == "trains" and not (len(ref) and ref["verdict"].iloc[0] == "b better")
                holds += bool(ok)
                total += 1
                lines.append(f"  - SELU + {init}, depth {depth}: {r['status']} ({_acc(r)}); " + "; ".join(parts) + ".")
        rivals = snn[snn["b_init"] != "lecun_normal"]
        beat = int((rivals["verdict"] == "a better").sum())
        lines.append(f"  - Verdict: the claim holds in {holds} of {total} (initializer, depth) cells (SELU trains from "
                     f"that start and does no worse than with lecun_normal) and fails in the other {total - holds}. "
                     f"From the same start SELU beats ReLU or tanh in {beat} of {len(rivals)} paired comparisons.")
    return "\n".join(lines)


def deep_networks_text(verdicts: pd.DataFrame, table: pd.DataFrame, diag: pd.DataFrame,
                       comparisons: pd.DataFrame) -> str:
    """The deep-network notebook's findings: propagation, trainability and ``004``'s claims, in that order."""
    return "\n".join(["**Signal propagation at initialization** (activation std forwards, gradient norm "
                      "backwards; a change of more than 10× over the depth counts):", "",
                      propagation_text(verdicts), "", "**Trainability in the fixed budget:**", "",
                      trainability_text(table, diag), "", claims_text(comparisons, table, verdicts)])


def trainability_table(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`initlab.depth.trainability` table laid out to quote: inits by (activation, depth).

    Each cell is the mean test accuracy ± the 95% CI half-width (percent) and the grade.
    """
    t = table.assign(cell=[f"{_acc(r)} ({r['status']})" for _, r in table.iterrows()])
    wide = t.pivot(index="init", columns=["activation", "depth"], values="cell")
    wide = wide.reindex(index=list(dict.fromkeys(table["init"])),
                        columns=list(dict.fromkeys(table[["activation", "depth"]].itertuples(index=False, name=None))))
    wide.columns = pd.MultiIndex.from_tuples(wide.columns, names=["activation", "depth"])
    return wide


def comparison_table(comparisons: pd.DataFrame) -> pd.DataFrame:
    """:func:`initlab.depth.claim_comparisons` laid out to quote (differences in percentage points)."""
    rows = []
    for _, r in comparisons.iterrows():
        ci = (f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]" if np.isfinite(r["ci_low"]) else "n/a")
        rows.append({"claim": r["claim"], "a": f"{r['a_activation']} + {r['a_init']}",
                     "b": f"{r['b_activation']} + {r['b_init']}", "depth": r["depth"],
                     "a (%)": f"{100 * r['a_mean']:.1f}", "b (%)": f"{100 * r['b_mean']:.1f}",
                     "a - b (pp)": f"{100 * r['mean_diff']:+.1f}" if np.isfinite(r["mean_diff"]) else "n/a",
                     "95% CI": ci, "seeds": r["n"], "verdict": r["verdict"]})
    return pd.DataFrame(rows).set_index(["claim", "a", "b", "depth"])


def gradient_table(grads: pd.DataFrame, value: str = "kernel_grad_norm") -> pd.DataFrame:
    """Gradient norms per (init, stage) and hidden layer, to three significant digits."""
    wide = grads.pivot_table(index=["init", "stage"], columns="layer", values=value, sort=False)
    return wide.map(lambda v: float(f"{v:.3g}"))


def gradient_text(grads: pd.DataFrame, value: str = "kernel_grad_norm", threshold: float = 10.0) -> str:
    """One sentence on the ratio of the first to the last hidden layer's kernel gradient norm, per init and stage.

    ``grads`` is :func:`initlab.diagnostics.gradients_before_after`'s frame; a ratio
    beyond ``threshold`` either way is called vanishing or exploding towards the input.
    """
    layers = list(dict.fromkeys(grads["layer"]))
    stages = list(dict.fromkeys(grads["stage"]))
    first, last = layers[0], layers[-1]
    g = grads.set_index(["init", "stage", "layer"])[value]
    parts, zero, outside = [], [], []
    for init in dict.fromkeys(grads["init"]):
        if (g.loc[init] == 0).all():
            zero.append(init)
            continue
        ratios = []
        for stage in stages:
            a, b = g.loc[(init, stage, first)], g.loc[(init, stage, last)]
            ratio = a / b if b > 0 else (0.0 if a == 0 else np.inf)
            ratios.append(f"{ratio:.2g}")
            if not 1 / threshold <= ratio <= threshold:
                outside.append(f"{init} ({stage})")
        parts.append(f"{init} {' → '.join(ratios)}")
    verdict = (f"outside a factor of {threshold:g}: {', '.join(outside)}" if outside else
               f"every one within a factor of {threshold:g} of 1, so no gradient vanishes or explodes across "
               f"these {len(layers)} hidden layers")
    tail = f"; {', '.join(zero)} gives every hidden kernel an exactly zero gradient throughout" if zero else ""
    return (f"The first hidden layer's kernel gradient norm over the last's ({first} / {last}, "
            f"{' → '.join(stages)}): {'; '.join(parts) or 'none'}; {verdict}{tail}.")
