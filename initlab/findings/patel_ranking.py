"""Patel, Nandu & Raut (``001_…``): the paper's ranking tested, the speed table, and the closing summary.

The paper ranks He > Xavier > Random > Zero on every dataset. :func:`ranking_family`
tests every adjacent step on every dataset, on the metric its tables report (training
accuracy, see :mod:`initlab.findings.patel`) and on test accuracy, as one Holm family of
paired tests with the paper's own gaps as the sizes to resolve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.claims import resolve_margin
from initlab.findings.patel import CLAIMED, FAIL_BELOW, identified
from initlab.report import Prose, fmt_ci, fmt_diff_ci, fmt_seeds, protocol_text, verdict_counts
from initlab.sources import patel_tables
from initlab.stats import gap_outside_ci, mean_ci, paired_test, paired_values, test_family, verdict_label

MARGIN_CLAIM = "001-ranking-mnist"  # the ledger entry whose margin (δ) the ranking family uses (one for its claims)
METRIC_NAMES = {"accuracy": "training accuracy", "test_accuracy": "test accuracy"}


def trained_or_all(df: pd.DataFrame) -> pd.DataFrame:
    """Each initializer's runs as Table 1's rows are judged: where some runs failed (test accuracy below
    :data:`~initlab.findings.patel.FAIL_BELOW`, or diverged) and others trained, the runs that trained; where
    none trained, all of them (the row is a failure, compared at chance). A paired step keeps the seeds both
    initializers have left, so a failed run is counted as a failure, never averaged into a difference."""
    if "test_accuracy" not in df.columns:  # nothing to judge a run by: every run counts
        return df
    last = df.sort_values("epoch").groupby(["init", "seed"], sort=False).tail(1)
    ok = np.isfinite(last["test_accuracy"]) & (last["test_accuracy"] >= FAIL_BELOW)
    keep = []
    for init, g in last.assign(ok=ok.to_numpy()).groupby("init", sort=False):
        seeds = g.loc[g["ok"], "seed"] if g["ok"].any() else g["seed"]
        keep += [(init, s) for s in seeds]
    kept = pd.MultiIndex.from_tuples(keep, names=["init", "seed"])
    return df[pd.MultiIndex.from_frame(df[["init", "seed"]]).isin(kept)]


def _seed_range(family: pd.DataFrame) -> int | str:
    """The seeds the family's tests paired: ``5``, or ``"4 to 5"`` where a failed run left a step fewer."""
    if not len(family):
        return 0
    low, high = int(family["n"].min()), int(family["n"].max())
    return low if low == high else f"{low} to {high}"


def ranking_family(
    df: pd.DataFrame, values: Sequence[str] = ("accuracy", "test_accuracy"), delta: float | None = None
) -> pd.DataFrame:
    """The paper's ranking (:data:`CLAIMED`), each adjacent step on each dataset and metric: one Holm family.

    Each step is a paired test over the seeds both initializers keep (:func:`trained_or_all`; a failed run
    is a failure, not a value to average) (:func:`initlab.stats.paired_test`) with the
    paper's own gap (its Table 1, same step and dataset) as the size to resolve, and the
    equivalence margin ``delta`` (default: the claims ledger's, :data:`MARGIN_CLAIM`).

    Returns:
        :func:`initlab.stats.test_family`'s table with ``dataset, metric, claim, a, b, gap, name``
        (``name``: ``metric/dataset/a > b``, for the record).
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
    paper = patel_tables().set_index(["init", "dataset"])["acc"]
    rows = []
    for value in values:
        for dataset in dict.fromkeys(df["dataset"]):
            sub = trained_or_all(df[df["dataset"] == dataset])
            present = [c for c in CLAIMED if c in set(sub["init"])]
            for a, b in zip(present[:-1], present[1:]):
                gap = (paper[(a, dataset)] - paper[(b, dataset)]) / 100.0
                w = paired_values(sub, a, b, value=value)
                rows.append(
                    {
                        "dataset": dataset,
                        "metric": METRIC_NAMES.get(value, value),
                        "claim": f"{a} > {b}",
                        "a": a,
                        "b": b,
                        "gap": gap,
                        "name": f"{value}/{dataset}/{a} > {b}",
                        **paired_test((w["a"] - w["b"]).to_numpy(), delta, gap),
                    }
                )
    return test_family(pd.DataFrame(rows))


def ranking_markdown(family: pd.DataFrame, delta: float | None = None) -> Prose:
    """The family as a Markdown table: paper gap, our difference with its CI, Holm p, verdict, seeds for the
    paper's gap with their 95% interval (:func:`initlab.report.fmt_seeds`: "—" where not shown; ``delta``: the
    margin it was tested with, default the ledger's)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    head = [
        "dataset",
        "metric",
        "step",
        "paper gap (pp)",
        "ours (pp) [95% CI]",
        "Holm p",
        "verdict",
        "seeds for the paper's gap (95% CI)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in family.iterrows():
        if r["exact"]:
            ours, p = f"{100 * r['mean']:+.2f} (every seed)", "exact"
        elif r["n"] < 2:
            ours, p = "one seed" if r["n"] == 1 else "no seeds", "—"
        else:
            ours = fmt_diff_ci(r["mean"], r["ci_low"], r["ci_high"], unit=None, label=None)
            p = f"{r['p_adj']:.3g}"
        need = fmt_seeds(r["seeds_needed"], r.get("seeds_low", np.nan), r.get("seeds_high", np.nan))
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {r['claim']} | {100 * r['gap']:+.2f} | {ours} | {p} | "
            f"**{verdict_label(r, delta)}** | {need} |"
        )
    return Prose("\n".join(lines))


def ranking_text(family: pd.DataFrame, delta: float | None = None) -> Prose:
    """Per dataset and metric, whether the whole ranking holds; then the protocol sentence."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    seeds = _seed_range(family)
    lines = []
    for (dataset, metric), g in family.groupby(["dataset", "metric"], sort=False):
        whole = (
            "holds"
            if (g["verdict"] == "supported").all()
            else "is contradicted"
            if (g["verdict"] == "reversed").any()
            else "is not established"
        )
        marks = int(g["borderline"].sum())
        tail = f" ({marks} of them borderline)" if marks else ""
        lines.append(f"- {dataset}, {metric}: {verdict_counts(g)}{tail}; the ranking {whole}.")
    open_ = family[family["verdict"] == "inconclusive"]
    absent = open_[[gap_outside_ci(g, lo, hi) for g, lo, hi in zip(open_["gap"], open_["ci_low"], open_["ci_high"])]]
    if len(absent):
        named = "; ".join(absent["dataset"] + ", " + absent["metric"] + ": " + absent["claim"])
        lines += [
            "",
            f"{len(absent)} inconclusive step(s) ({named}) have a 95% CI that excludes the paper's gap, on the "
            f"side of zero: a gap as large as the paper's is not there, though a smaller one may be (each CI "
            f"on its own, not corrected over the family). A CI that contains the paper's gap says nothing of "
            f"its absence, however many seeds ran.",
        ]
    n_data, n_metrics = family["dataset"].nunique(), family["metric"].nunique()
    family_name = (
        f"the paper's ranking He > Xavier > Random > Zero, every adjacent step on each of the "
        f"{n_data} datasets, on {n_metrics} metrics ({', '.join(dict.fromkeys(family['metric']))})"
    )
    return Prose("\n".join(lines + ["", protocol_text(family_name, len(family), seeds, delta=delta, table=family)]))


def ranking_section(family: pd.DataFrame, delta: float | None = None) -> Prose:
    """The ranking's table (:func:`ranking_markdown`) followed by its reading (:func:`ranking_text`)."""
    return Prose(ranking_markdown(family, delta) + "\n\n" + ranking_text(family, delta))


# --- speed ----------------------------------------------------------------------------------------


CURVE_NAMES = {"val_accuracy": "validation accuracy", "accuracy": "training accuracy"}


def convergence_summary(conv: pd.DataFrame, df: pd.DataFrame, *, value: str = "val_accuracy") -> pd.DataFrame:
    """Per (dataset, init): the ``value`` curve's first epoch and its area under the curve (mean ± CI over the
    runs that trained where some failed, as Table 1's rows are judged: :func:`trained_or_all`, ``(n = 4)``
    then), and how many runs reached the target (``conv`` is :func:`initlab.convergence.convergence_table`'s
    for that curve)."""
    kept = {
        (d, s) for d, g in df.groupby("dataset") for s in trained_or_all(g)[["init", "seed"]].itertuples(index=False)
    }
    first = df[df["epoch"] == df["epoch"].min()]
    name = CURVE_NAMES.get(value, value)
    out = []
    for (dataset, init), g in conv.groupby(["dataset", "init"], sort=False):
        seeds = [s for s in g["seed"] if (dataset, (init, s)) in kept]
        n = f" (n = {len(seeds)})" if len(seeds) < len(g) else ""
        sel = first[(first["dataset"] == dataset) & (first["init"] == init) & first["seed"].isin(seeds)]
        f = mean_ci(sel[value].to_numpy(float))
        a = mean_ci(g.loc[g["seed"].isin(seeds), "auc"].to_numpy(float))
        reached = np.isfinite(g["epochs_to_target"].to_numpy(float))
        out.append(
            {
                "dataset": dataset,
                "init": init,
                f"{name}, epoch 1": fmt_ci(f["mean"], f["half_width"]) + n,
                "mean over epochs (AUC)": fmt_ci(a["mean"], a["half_width"]) + n,
                "reached the target": f"{int(reached.sum())} of {len(g)}",
                "median epochs to it": (
                    f"{np.median(g['epochs_to_target']):g}" if reached.mean() > 0.5 else "never (most runs)"
                ),
            }
        )
    return pd.DataFrame(out).set_index(["dataset", "init"])


def _row_counts(rows: pd.DataFrame) -> str:
    """How many of ``rows`` fall under each verdict against the paper, in a fixed order: the trained schemes'
    dataset rows, then the zero rows apart (they chose the metric, so they cannot test it) and the averages."""
    order = ("inside", "above", "below", "equal", "differs", "one seed", "no runs")

    def counted(part: pd.DataFrame) -> str:
        c = part["verdict"].value_counts()
        return ", ".join(f"{int(c[v])} {v}" for v in order if v in c) or "none"

    per_dataset = rows["dataset"] != "average"
    trained = rows[per_dataset & (rows["init"] != "zeros")]
    zero = rows[per_dataset & (rows["init"] == "zeros")]
    averages = rows[~per_dataset]
    return (
        f"{counted(trained)} of the {len(trained)} trained rows (the {len(zero)} zero rows, which identified the "
        f"metric: {counted(zero)}; the {len(averages)} averages: {counted(averages)})"
    )


def _ident_phrase(candidates: pd.DataFrame) -> str:
    """What the paper's tables measure, as far as its zero row pins it down."""
    agree = identified(candidates)
    metric = agree[0] if len(agree) == 1 else None
    replays = int(candidates["runs"].min())
    loss = (
        ", in its accuracy and its loss table alike"
        if metric in identified(candidates, "loss")
        else ". Its loss table matches no running loss: it holds the settled loss of the full training set, so "
        "Table 2's trained rows are set beside our running training loss as the nearest number we record, not "
        "as a test"
    )
    return (
        f"the paper's tables most likely report the last epoch's **{metric}** (the only metric of a "
        f"zero-initialized network that agrees with its zero row's accuracy on every dataset; {replays} replays "
        f"per metric, each compared with a 95% prediction interval, or exactly when every replay is the same)"
        f"{loss}"
        if metric
        else "which metric the paper's tables report is not pinned down by its zero row (see above)"
    )


def _fail_phrase(acc_rows: pd.DataFrame) -> str:
    """The (dataset, scheme) rows with runs that did not train, zero initialization aside."""
    failures = acc_rows[(acc_rows["failed"] > 0) & (acc_rows["init"] != "zeros")]
    return (
        "; ".join(
            f"{r['dataset']} {r['init']}: {int(r['failed'])} of {int(r['runs'])}"
            + ("" if r["judged_on"] == "runs that trained" else " (no run trained)")
            for _, r in failures.iterrows()
        )
        or "none among the schemes meant to train"
    )


def closing_text(
    *,
    acc_rows: pd.DataFrame,
    loss_rows: pd.DataFrame,
    family: pd.DataFrame,
    candidates: pd.DataFrame,
    delta: float | None = None,
) -> Prose:
    """The notebook's closing summary: each verdict with the test, correction and seeds behind it."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    seeds = int(acc_rows.loc[(acc_rows["source"] == "runs") & (acc_rows["dataset"] != "average"), "seeds"].max())
    zero_runs = acc_rows.loc[(acc_rows["source"] == "replay") & (acc_rows["dataset"] != "average"), "seeds"]
    lines = [
        f"- **What the tables measure**: {_ident_phrase(candidates)}.",
        f"- **Table 1** (the paper beside our training accuracy, last epoch): {_row_counts(acc_rows)}; **Table 2** "
        f"(training loss): {_row_counts(loss_rows)}. Each paper number is one run, judged against a 95% prediction "
        f"interval for one new run of ours over {seeds} seeds (t-based, sqrt(1 + 1/n) wide), rounded as the "
        f"paper prints; rows whose seeds all agree are compared exactly; "
        + (
            f"the zero row against {int(zero_runs.max())} replays of the zero-initialized network on the full "
            f"training set, as the paper trained."
            if len(zero_runs)
            else "the zero row against our zero runs."
        ),
        f"- **Runs that did not train** (test accuracy below {FAIL_BELOW:.0%}; zero initialization aside): "
        f"{_fail_phrase(acc_rows)}. Where some seeds trained, the row is judged on those, and the failure rate is "
        f"given with a 95% Wilson interval above.",
        f"- **Ranking** He > Xavier > Random > Zero: {verdict_counts(family)} over {len(family)} steps "
        f"({int(family['borderline'].sum())} borderline). "
        + protocol_text(
            "every adjacent step of the paper's ranking on every dataset and both metrics",
            len(family),
            _seed_range(family),
            delta=delta,
            table=family,
        ).replace("*Method.* ", ""),
    ]
    return Prose("\n".join(lines))
