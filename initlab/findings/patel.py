"""Patel, Nandu & Raut (``001_…``), Tables 1 and 2: what they measure, and the paper beside ours.

* **What the tables measure.** The paper's zero-initialization row cannot be a test
  accuracy: a zero-initialized network is a constant predictor
  (:mod:`initlab.findings.zero_init`), and no constant predictor scores 11.24% on
  MNIST's test set or below 10% on the balanced test sets. :func:`candidate_table`
  sets the paper's zero row beside five metrics of that network (replayed exactly from
  the labels) and :func:`identified` names those that agree on every dataset.
* **The paper beside ours** (:func:`comparison_rows`): each published number is one
  run, judged against a 95% prediction interval for one run of ours over seeds
  (:func:`initlab.stats.judge_published`), on the metric the tables were identified to
  report; a run that did not train is counted as a failure (Wilson interval) and the
  interval is drawn over the runs that trained.

The ranking He > Xavier > Random > Zero is tested in :mod:`initlab.findings.patel_ranking`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.report import Prose, fmt_ci, fmt_pi
from initlab.sources import PATEL_AVERAGES, PATEL_LABELS, patel_tables
from initlab.stats import RUN_FAIL_BELOW, failure_summary, final_epochs, judge_published, mean_ci

CLAIMED = ["randn_he", "randn_lecun", "randn_001", "zeros"]  # the paper's ranking, best first
FAIL_BELOW = RUN_FAIL_BELOW  # a run whose test accuracy stays below 20% (chance: 10%) did not train
SCALES = {"accuracy": (100.0, 2), "loss": (1.0, 4)}  # printed scale and decimals of the paper's numbers
PAPER_COLUMN = {"accuracy": "acc", "loss": "loss"}  # sources' names for the printed columns
FULL_SET = "training (full training set)"
CANDIDATES = {  # a metric of the zero-initialized net -> (the replays' protocol, column stem)
    FULL_SET: ("full", ""),
    "training (training split)": ("split", ""),
    "validation (validation split)": ("split", "val_"),
    "test (trained on the full training set)": ("full", "test_"),
    "test (trained on the training split)": ("split", "test_"),
}
AGREE = ("inside", "equal")
PAPER_DATASETS = ("mnist", "cifar10", "fashion_mnist")  # the columns of the paper's tables, in its order


def _kind(value: str) -> str:
    return "loss" if value.endswith("loss") else "accuracy"


def _paper(init: str, dataset: str, kind: str) -> float:
    t = patel_tables().set_index(["init", "dataset"])
    return float(t.loc[(init, dataset), PAPER_COLUMN[kind]])


def judge(values: Sequence[float] | np.ndarray, paper: float, kind: str) -> dict:
    """:func:`initlab.stats.judge_published` at the paper's printed scale for ``kind`` (``"accuracy"``
    in percent, 2 decimals; ``"loss"``, 4 decimals), the interval clipped to what the quantity can
    take (0–100%, a loss ≥ 0); clipping never changes the verdict on a number in that range."""
    scale, digits = SCALES[kind]
    j = judge_published(values, paper, scale, digits=digits)
    top = 100.0 if kind == "accuracy" else np.inf
    if np.isfinite(j["low"]):
        j["low"], j["high"] = max(j["low"], 0.0), min(j["high"], top)
    return j


# --- what the tables measure ----------------------------------------------------------------------


def candidate_table(full: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """The paper's zero row beside each :data:`CANDIDATES` metric of a zero-initialized net.

    Args:
        full: replays trained on the full training set (``validation_split=0``), one run per
            seed, in ``Study.run``'s columns (:func:`initlab.findings.zero_init.replay_study`).
        split: replays under our protocol (the training split, validation on the rest).

    Returns:
        One row per (dataset, candidate): for accuracy and for loss the judged interval
        (``acc_ours``, ``acc_paper``, ``acc_verdict``; ``loss_ours``, ...), compared at the
        paper's printed precision; ``runs`` the number of replays.
    """
    frames = {"full": final_epochs(full), "split": final_epochs(split)}
    rows = []
    for dataset in dict.fromkeys(full["dataset"]):
        for name, (protocol, stem) in CANDIDATES.items():
            runs = frames[protocol][frames[protocol]["dataset"] == dataset]
            row = {"dataset": dataset, "metric": name, "runs": len(runs)}
            for kind, column in (("acc", f"{stem}accuracy"), ("loss", f"{stem}loss")):
                digits = SCALES[_kind(column)][1]
                j = judge(runs[column].to_numpy(), _paper("zeros", dataset, _kind(column)), _kind(column))
                ours = fmt_pi(j["mean"], j["low"], j["high"], verdict=j["verdict"], digits=digits)
                row.update(
                    {
                        f"{kind}_ours": ours,
                        f"{kind}_paper": f"{j['published']:.{digits}f}",
                        f"{kind}_verdict": j["verdict"],
                    }
                )
            rows.append(row)
    return pd.DataFrame(rows)


def identified(candidates: pd.DataFrame, on: str = "acc") -> list[str]:
    """The candidate metrics whose verdict on ``on`` (``"acc"`` or ``"loss"``) is inside or equal on every dataset."""
    ok = candidates.assign(ok=candidates[f"{on}_verdict"].isin(AGREE)).groupby("metric", sort=False)["ok"].all()
    return [m for m, good in ok.items() if good]


def _names(items: Sequence[str]) -> str:
    items = list(items)
    return "no set" if not items else items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _label_evidence(labels: pd.DataFrame) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """Per dataset, a bullet comparing the paper's zero row with a constant predictor on each set, and the
    evidence :func:`identification_text` weighs: the datasets matched exactly by the full training set, those
    whose paper accuracy lies below a balanced set's 10%, the matched losses and the test sets' losses."""
    lines, exact, balanced, entropy, test_losses = [], [], [], [], []
    for dataset, t in labels.groupby("dataset", sort=False):
        acc, loss = round(_paper("zeros", dataset, "accuracy"), 2), round(_paper("zeros", dataset, "loss"), 4)
        shares = {s: round(100 * v, 2) for s, v in zip(t["set"], t["predicted_share"])}
        losses = {s: round(v, 4) for s, v in zip(t["set"], t["cross_entropy"])}
        by_acc = [s for s in shares if shares[s] == acc]
        by_loss = [s for s in shares if losses[s] == loss]
        listed = "; ".join(f"{s}: {shares[s]:.2f}%, {losses[s]:.4f}" for s in shares)
        lines.append(
            f"- **{dataset}**: the paper prints {acc:.2f}% and {loss:.4f}. A constant predictor fitted on the "
            f"training labels scores ({listed}). The accuracy matches {_names(by_acc)}; the loss "
            f"{_names(by_loss)}."
        )
        if by_acc == ["full training set"] and "full training set" in by_loss:
            exact.append(dataset)
        if shares.get("test set") == 10.0 and shares.get("full training set") == 10.0 and acc < 10.0:
            balanced.append(dataset)
        if "full training set" in by_loss:
            entropy.append(f"{loss:.4f}")
        if "test set" in losses:
            test_losses.append(f"{losses['test set']:.4f}")
    return lines, exact, balanced, entropy, test_losses


def _replay_line(candidates: pd.DataFrame) -> str:
    """The replays' verdicts on the paper's zero-initialization accuracy, metric by metric."""
    verdicts = "; ".join(f"{m}: {', '.join(g['acc_verdict'])}" for m, g in candidates.groupby("metric", sort=False))
    return (
        f"Replayed from the labels ({int(candidates['runs'].min())} shuffles each), the paper's zero-"
        f"initialization accuracy against each metric of the zero-initialized network "
        f"({', '.join(dict.fromkeys(candidates['dataset']))} in turn): {verdicts}."
    )


def _unidentified(agree: list[str], n_data: int) -> str:
    """The identification paragraph when no metric, or more than one, agrees on every dataset."""
    either_way = (
        " All of them are training numbers, so the tables report training accuracy either way; which "
        "part of the training set it was measured on is left open."
        if len(agree) > 1 and all(a.startswith("training") for a in agree)
        else ""
    )
    return (
        f"**Identification.** {len(agree)} metrics agree with the paper's zero-initialization accuracy "
        f"on all {n_data} datasets ({_names(agree) if agree else 'none'}): the zero row does not pin "
        f"down what the tables measure.{either_way}"
    )


def _how_sure(exact: list[str], balanced: list[str]) -> list[str]:
    """The line on how sure the identification is, if some dataset makes it so."""
    sure = []
    if exact:
        sure.append(
            f"high on {_names(exact)}, where the accuracy and the loss equal the full training set's to "
            f"every printed digit and no other set gives the accuracy"
        )
    if balanced:
        sure.append(
            f"consistent on {_names(balanced)}, where the paper's accuracy lies below the exact 10.00% any "
            f"constant predictor scores on the balanced full training and test sets (so it is no evaluated "
            f"test accuracy), and inside the interval of the replays' running mean on the full training set"
        )
    return [f"How sure: {'; '.join(sure)}."] if sure else []


def _loss_lines(
    candidates: pd.DataFrame, name: str, loss_agree: list[str], entropy: list[str], test_losses: list[str]
) -> list[str]:
    """Why the paper's loss row sits below the replays' running loss, when the metric is the full training set's."""
    if not (name == FULL_SET and name not in loss_agree and entropy):
        return []
    replayed = candidates.loc[candidates["metric"] == name, "loss_ours"]
    return [
        f"The loss row ({', '.join(entropy)}) is what a converged constant predictor scores on the full "
        f"training set (the entropy of its labels); the replays' running loss ({'; '.join(replayed)}) "
        f"sits a little above it, because with Adam at batch 32 the bias keeps jittering around the "
        f"frequencies (the paper does not state its optimizer or batch size); on the test sets the "
        f"converged loss would be {', '.join(test_losses)}. So the loss table most likely holds the trained "
        f"network evaluated on its training set after training, a number our runs do not record. While a "
        f"network still learns, the running mean over an epoch lies above such an evaluation, so Table 2's "
        f"trained rows are expected to read *below* our running loss: they are shown, not tested."
    ]


def identification_text(labels: pd.DataFrame, candidates: pd.DataFrame) -> Prose:
    """What the paper's zero row is, with the evidence: the label arithmetic, then the replays.

    ``labels`` is :func:`initlab.findings.zero_init.label_table`'s frame (with a
    ``"full training set"`` and a ``"test set"`` row per dataset), ``candidates``
    :func:`candidate_table`'s (whose :data:`FULL_SET` rows are replays on the full training set).
    """
    lines, exact, balanced, entropy, test_losses = _label_evidence(labels)
    n_data = candidates["dataset"].nunique()
    agree, loss_agree = identified(candidates), identified(candidates, "loss")
    lines += ["", _replay_line(candidates)]
    if len(agree) != 1:
        return Prose("\n".join([*lines, "", _unidentified(agree, n_data)]))
    name = agree[0]
    lines += [
        "",
        f"**Identification.** Only one metric agrees with the paper's zero-initialization accuracy on all "
        f"{n_data} datasets: **{name}**, the last epoch's mean over its batches, as Keras' `fit` reports "
        f"it. "
        + (
            "The paper's tables most likely report training accuracy and training loss of the last epoch, "
            "trained on the whole training set."
            if name in loss_agree
            else "The paper's accuracy table most likely reports the training accuracy of the last epoch, "
            "trained on the whole training set; its loss table does not report the running training loss "
            "(below)."
        ),
        *_how_sure(exact, balanced),
        *_loss_lines(candidates, name, loss_agree, entropy, test_losses),
    ]
    return Prose("\n".join(lines))


# --- the paper beside ours ------------------------------------------------------------------------


def _judge(values: np.ndarray, test: np.ndarray, paper: float, kind: str) -> dict:
    """Judge ``paper`` against ``values`` (one per run), the runs whose test accuracy shows they trained."""
    f = failure_summary(test, FAIL_BELOW)
    keep = np.isfinite(test) & (test >= FAIL_BELOW)
    partial = 0 < f["failed"] < f["n"]
    j = judge(values[keep] if partial else values, paper, kind)
    return {**j, "failed": f["failed"], "runs": f["n"], "judged_on": "runs that trained" if partial else "all runs"}


_COMPARISON_COLUMNS = [
    "dataset",
    "init",
    "scheme",
    "paper",
    "ours_mean",
    "ours_pi_low",
    "ours_pi_high",
    "seeds",
    "verdict",
    "reason",
    "failed",
    "runs",
    "judged_on",
    "source",
]


def _dataset_row(
    runs: pd.DataFrame, value: str, kind: str, *, dataset: str, init: str, own: bool
) -> tuple[dict, pd.Series]:
    """One (dataset, init) row judged against the paper, and the seeds' values that enter its average."""
    r = runs[(runs["dataset"] == dataset) & (runs["init"] == init)].sort_values("seed")
    j = _judge(r[value].to_numpy(float), r["test_accuracy"].to_numpy(float), _paper(init, dataset, kind), kind)
    row = {
        "dataset": dataset,
        "init": init,
        **j,
        "source": "replay" if own else "runs",
        **({"failed": np.nan} if own else {}),
    }  # a replay of zero init fails by design
    seeds = r.set_index("seed")
    trained = seeds["test_accuracy"] >= FAIL_BELOW
    return row, seeds[value].where(trained | (j["judged_on"] == "all runs"))


def _average_row(per_seed: list[pd.Series], kind: str, *, init: str, own: bool) -> dict:
    """The ``"average"`` row of ``init``: each seed's mean over the datasets, judged against the paper's."""
    # a seed's average needs every dataset: a seed with a non-finite value (a diverged run, or
    # a run that did not train where others did) is left out
    wide = pd.concat(per_seed, axis=1)
    avg = wide.mean(axis=1, skipna=False).to_numpy(float)
    j = judge(avg, PATEL_AVERAGES[init][0 if kind == "accuracy" else 1], kind)
    return {
        "dataset": "average",
        "init": init,
        **j,
        "failed": np.nan,
        "runs": len(avg),
        "judged_on": "each seed's mean over the datasets",
        "source": "replay" if own else "runs",
    }


def _comparison_frame(rows: list[dict], datasets: list[str]) -> pd.DataFrame:
    """The rows as a frame: named for the page, with each scheme's label, in dataset and the paper's init order."""
    out = pd.DataFrame(rows).rename(
        columns={"mean": "ours_mean", "low": "ours_pi_low", "high": "ours_pi_high", "n": "seeds", "published": "paper"}
    )
    out.insert(2, "scheme", out["init"].map(PATEL_LABELS))
    order = {d: i for i, d in enumerate([*datasets, "average"])}
    out = out.sort_values(
        ["dataset", "init"],
        key=lambda c: c.map(order) if c.name == "dataset" else c.map({init: -i for i, init in enumerate(CLAIMED)}),
        ignore_index=True,
    )
    return out[_COMPARISON_COLUMNS]


def comparison_rows(df: pd.DataFrame, value: str = "accuracy", zero_replay: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 1 (``value="accuracy"``) or 2 (``"loss"``) of ``001``: each paper number beside ours.

    Args:
        df: the study's tidy frame (datasets × the four schemes × seeds).
        value: our metric set beside the paper's (``accuracy``/``loss``: training, last epoch;
            ``test_accuracy``/``test_loss``).
        zero_replay: if given, the zero row is judged against these replays of the zero-initialized
            net (:func:`initlab.findings.zero_init.replay_study`, e.g. trained on the full
            training set as the paper did) instead of our zero runs.

    Returns:
        One row per (dataset, init) and one ``"average"`` row per init (each seed's mean over
        the datasets, then judged): ``dataset, init, scheme, paper, ours_mean, ours_pi_low,
        ours_pi_high, seeds, verdict, reason, failed, runs, judged_on, source`` with
        our numbers rounded as printed (accuracies in percent).
    """
    kind = _kind(value)
    runs = final_epochs(df)
    zeros = final_epochs(zero_replay) if zero_replay is not None else None
    rows = []
    datasets = list(dict.fromkeys(df["dataset"]))
    for init in reversed(CLAIMED):
        if init not in set(runs["init"]):
            continue
        own = init == "zeros" and zeros is not None
        per_seed = []
        for dataset in datasets:
            row, values = _dataset_row(zeros if own else runs, value, kind, dataset=dataset, init=init, own=own)
            rows.append(row)
            per_seed.append(values)
        if set(datasets) == set(PAPER_DATASETS):
            rows.append(_average_row(per_seed, kind, init=init, own=own))
    return _comparison_frame(rows, datasets)


def comparison_table(rows: pd.DataFrame, df: pd.DataFrame, test_value: str = "test_accuracy") -> pd.DataFrame:
    """:func:`comparison_rows` laid out for a page: one row per (dataset, scheme), our test numbers beside
    (over the runs that trained where some failed, as the row is judged: ‡)."""
    kind = _kind(test_value)
    scale, digits = SCALES[kind]
    runs = final_epochs(df)
    out = []
    for _, r in rows.iterrows():
        if r["dataset"] == "average":
            test = "—"
        else:
            sel = runs[(runs["dataset"] == r["dataset"]) & (runs["init"] == r["init"])]
            if r["judged_on"] == "runs that trained":  # the runs that failed are counted beside, not averaged
                sel = sel[sel["test_accuracy"] >= FAIL_BELOW]
            ci = mean_ci(sel[test_value].to_numpy(float))
            test = fmt_ci(ci["mean"], ci["half_width"], scale, digits=digits)
        failed = "—" if not np.isfinite(r["failed"]) else f"{int(r['failed'])} of {int(r['runs'])}"
        ours = fmt_pi(r["ours_mean"], r["ours_pi_low"], r["ours_pi_high"], verdict=r["verdict"], digits=digits)
        out.append(
            {
                "dataset": r["dataset"],
                "scheme": f"{r['scheme']} ({r['init']})",
                "paper": f"{r['paper']:.{digits}f}",
                "ours (95% PI, one run)": ours
                + (" †" if r["source"] == "replay" else "")
                + (" ‡" if r["judged_on"] == "runs that trained" else ""),
                "verdict": r["verdict"],
                f"our {test_value.replace('_', ' ')} (mean ± CI)": test,
                "failed runs": failed,
            }
        )
    return pd.DataFrame(out).set_index(["dataset", "scheme"])


def shortfall_text(train_rows: pd.DataFrame, df: pd.DataFrame) -> Prose:
    """How far the paper lies from our training and from our test accuracy, per dataset.

    Means over the schemes that train (all but zero), each over its runs that trained;
    ``train_rows`` is :func:`comparison_rows`' table for training accuracy.
    """
    runs = final_epochs(df)
    runs = runs[np.isfinite(runs["test_accuracy"]) & (runs["test_accuracy"] >= FAIL_BELOW)]
    lines = []
    for dataset in dict.fromkeys(df["dataset"]):
        rows = train_rows[(train_rows["dataset"] == dataset) & (train_rows["init"] != "zeros")]
        gaps = []
        for _, r in rows.iterrows():
            sel = runs[(runs["dataset"] == dataset) & (runs["init"] == r["init"])]
            if len(sel):
                train, test = 100 * sel["accuracy"].mean(), 100 * sel["test_accuracy"].mean()
                gaps.append((r["paper"] - test, r["paper"] - train, train - test))
        if not gaps:
            lines.append(f"- **{dataset}**: no run of a scheme that should train did.")
            continue
        to_test, to_train, own = np.mean(gaps, axis=0)
        c = rows["verdict"].value_counts()
        counted = ", ".join(
            f"{int(c[v])} {v}" for v in ("inside", "above", "below", "equal", "differs", "one seed") if v in c
        )
        side = lambda gap: f"{abs(gap):.2f} pp {'above' if gap > 0 else 'below'}"  # noqa: E731
        lines.append(
            f"- **{dataset}** (means over {len(gaps)} scheme(s)): the paper lies {side(to_test)} our test "
            f"accuracy, {side(to_train)} our training accuracy; our training accuracy is {side(own)} our "
            f"test accuracy. The paper's numbers against our prediction intervals for training accuracy: "
            f"{counted}."
        )
    return Prose("\n".join(lines))


# --- views and texts for the notebook -------------------------------------------------------------


def label_view(labels: pd.DataFrame) -> pd.DataFrame:
    """:func:`initlab.findings.zero_init.label_table` for a page: shares in percent, losses in nats."""
    share = lambda c, v: [f"{m} ({100 * x:.2f})" for m, x in zip(labels[c], labels[v])]  # noqa: E731
    return pd.DataFrame(
        {
            "dataset": labels["dataset"],
            "set": labels["set"],
            "examples": labels["examples"],
            "most frequent class (%)": share("majority", "majority_share"),
            "fitted class (%)": share("predicted", "predicted_share"),
            "entropy": labels["entropy"].map(lambda v: f"{v:.5f}"),
            "loss of the fitted frequencies": labels["cross_entropy"].map(lambda v: f"{v:.5f}"),
        }
    ).set_index(["dataset", "set"])


def candidate_view(candidates: pd.DataFrame) -> pd.DataFrame:
    """:func:`candidate_table` for a page, the paper's zero row in the dataset's label."""
    label = {
        d: f"{d} (paper: {g['acc_paper'].iloc[0]}%, {g['loss_paper'].iloc[0]})"
        for d, g in candidates.groupby("dataset", sort=False)
    }
    return pd.DataFrame(
        {
            "dataset": candidates["dataset"].map(label),
            "metric": candidates["metric"],
            "accuracy %: replays (95% PI)": candidates["acc_ours"],
            "verdict": candidates["acc_verdict"],
            "loss: replays (95% PI)": candidates["loss_ours"],
            "verdict ": candidates["loss_verdict"],
        }
    ).set_index(["dataset", "metric"])


def _compared(ours: pd.DataFrame, mine: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """The columns of ``names`` both frames hold and our runs filled (no validation columns without a split)."""
    return [c for c in names if c in ours.columns and c in mine.columns and ours[c].notna().any()]


def replay_gaps(runs: pd.DataFrame, replayed: pd.DataFrame) -> tuple[float, float, int]:
    """How far the replay lies from our zero-initialized runs, every epoch of every run: the largest
    accuracy difference (training, validation when held out, test), the largest loss difference, and the runs
    compared."""
    keys = ["dataset", "seed", "epoch"]
    ours = runs[runs["init"] == "zeros"].set_index(keys).sort_index()
    mine = replayed.set_index(keys).reindex(ours.index)
    acc = max(
        float(np.nanmax(np.abs(ours[c] - mine[c])))
        for c in _compared(ours, mine, ("accuracy", "val_accuracy", "test_accuracy"))
    )
    loss = max(
        float(np.nanmax(np.abs(ours[c] - mine[c]))) for c in _compared(ours, mine, ("loss", "val_loss", "test_loss"))
    )
    return acc, loss, len(ours.reset_index()[["dataset", "seed"]].drop_duplicates())


def replay_check_text(runs: pd.DataFrame, replayed: pd.DataFrame) -> Prose:
    """Whether the replay reproduces our zero-initialized runs: every epoch's accuracy and loss, run by run."""
    acc, loss, n = replay_gaps(runs, replayed)
    zero = runs[runs["init"] == "zeros"]
    epochs = zero["epoch"].nunique()
    held_out = "val_accuracy" in zero.columns and zero["val_accuracy"].notna().any()
    same = (
        "identical in every epoch"
        if acc == 0
        else f"within {100 * acc:.3f} pp (an argmax between near-equal biases can round either way)"
    )
    return Prose(
        f"Replayed from the labels, our {n} zero-initialized runs (every dataset and seed, "
        f"{epochs} epoch(s)): {'training, validation and test' if held_out else 'training and test'} accuracy "
        f"{same}; losses within {loss:.1e} (float32 sums in another order)."
    )
