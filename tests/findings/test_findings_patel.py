"""Patel et al. (001): the constant predictor's arithmetic, the replay, and every writer on hand-made frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError
from initlab.findings import patel, patel_ranking, zero_init

T_975_1 = 12.706204736174694  # Student's t, 97.5% quantile, 1 and 2 degrees of freedom
T_975_2 = 4.302652729749464
LN3 = math.log(3.0)
SPLIT = "training (training split)"


# --- label arithmetic -----------------------------------------------------------------------------


def test_label_stats_hand_counts() -> None:
    s = zero_init.label_stats([0, 0, 0, 1, 1, 2], [0, 1, 1, 2], n_classes=3)
    assert s["examples"] == 6 and s["majority"] == 0 and s["majority_share"] == 0.5
    # fitted on frequencies (1/4, 1/2, 1/4): predicts class 1, which is 2 of the 6 labels
    assert s["predicted"] == 1 and s["predicted_share"] == pytest.approx(1 / 3)
    # entropy of (1/2, 1/3, 1/6)
    assert s["entropy"] == pytest.approx(0.5 * math.log(2) + math.log(3) / 3 + math.log(6) / 6)
    assert s["cross_entropy"] == pytest.approx(0.5 * math.log(4) + math.log(2) / 3 + math.log(4) / 6)
    assert s["uniform_loss"] == pytest.approx(LN3)


def test_label_stats_on_its_own_labels_a_tie_and_a_missing_class() -> None:
    own = zero_init.label_stats([1, 0, 1, 0], n_classes=2)
    assert own["majority"] == 0 and own["predicted"] == 0  # a tie goes to the first class, as argmax does
    assert own["cross_entropy"] == pytest.approx(own["entropy"]) == pytest.approx(math.log(2))
    blind = zero_init.label_stats([0, 1], [1, 1], n_classes=2)  # class 0 never seen in training
    assert blind["cross_entropy"] == math.inf and blind["predicted_share"] == 0.5
    for bad in ([0, 3], [0.5, 1.0], []):
        with pytest.raises(InvalidArgumentError, match="labels"):
            zero_init.label_stats(bad, n_classes=3)


def test_label_sets_hold_out_the_end_and_fit_on_the_training_labels() -> None:
    y, y_test = np.arange(10) % 3, np.array([2, 2])
    sets = zero_init.label_sets(y, y_test, 0.2)
    assert list(sets) == ["full training set", "training split (first 80%)", "validation split (last 20%)", "test set"]
    train, fit = sets["training split (first 80%)"]
    assert train.tolist() == fit.tolist() == y[:8].tolist()
    val, fit = sets["validation split (last 20%)"]
    assert val.tolist() == [2, 0] and fit.tolist() == y[:8].tolist()
    assert sets["test set"][0].tolist() == [2, 2] and sets["test set"][1].tolist() == y.tolist()


# --- the replay -----------------------------------------------------------------------------------


def test_one_adam_step_by_hand() -> None:
    """One batch of all six labels: the bias starts at zero, so the first prediction is class 0
    (a tie) and every loss is ln 3; Adam's first step moves each bias by about lr against the
    sign of its gradient p - counts/B = (1/6, 0, -1/6)."""
    out = zero_init.replay(
        [0, 1, 1, 2, 2, 2], [0], epochs=1, batch_size=6, evaluate={"test": [2, 2, 1, 0]}, n_classes=3
    )
    row = out.iloc[0]
    assert row["accuracy"] == pytest.approx(1 / 6) and row["loss"] == pytest.approx(LN3, rel=1e-6)
    g = 1 / 6
    step = 1e-3 * math.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / (math.sqrt(0.001) * g + 1e-7)
    bias = np.array([-step, 0.0, step])
    logp = bias - math.log(np.exp(bias).sum())
    assert row["test_accuracy"] == 0.5  # class 2 now leads: 2 of the 4 test labels
    assert row["test_loss"] == pytest.approx(-(2 * logp[2] + logp[1] + logp[0]) / 4, rel=1e-6)


def test_replay_checks_its_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="y_fit"):
        zero_init.replay([0, 10], [0])
    with pytest.raises(InvalidArgumentError, match="epochs"):
        zero_init.replay([0, 1], [0], epochs=0)
    with pytest.raises(InvalidArgumentError, match="evaluate"):
        zero_init.replay([0, 1], [0], evaluate={"val": [11]})


def test_replay_is_the_zero_initialized_network_trained_by_the_engine() -> None:
    from initlab.training.study import Study

    setup = dict(epochs=2, batch_size=32, validation_split=0.1, train_limit=1000, test_limit=300)
    runs = Study("mnist", "mlp_128", ("zeros",), seeds=(0, 3), **setup).run(cache=False)
    replayed = zero_init.replay_study("mnist", [0, 3], **setup)
    cols = zero_init.METRICS
    ours, theirs = runs.sort_values(["seed", "epoch"])[cols].to_numpy(), replayed[cols].to_numpy()
    accuracy = [c.endswith("accuracy") for c in cols]
    # an argmax between biases a float32 rounding apart may go either way: at most one batch's hits
    assert np.abs(ours[:, accuracy] - theirs[:, accuracy]).max() <= 32 / 900
    np.testing.assert_allclose(ours[:, ~np.array(accuracy)], theirs[:, ~np.array(accuracy)], rtol=1e-5)
    assert list(replayed["init"].unique()) == ["zeros"] and replayed["epoch"].tolist() == [1, 2, 1, 2]


# --- what the tables measure ----------------------------------------------------------------------


def _replays(dataset: str, columns: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"dataset": dataset, "init": "zeros", "seed": range(n), "epoch": 1, **columns})


def _zero_protocols(split_accuracy: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MNIST replays: the full training set gives the paper's 11.24% and 2.3012 in every run."""
    full = _replays(
        "mnist",
        {
            "accuracy": [0.11237] * 3,
            "loss": [2.30141, 2.30139, 2.30137],
            "test_accuracy": [0.1135] * 3,
            "test_loss": [2.30102] * 3,
        },
    )
    split = _replays(
        "mnist",
        {
            "accuracy": split_accuracy,
            "loss": [2.30108] * 3,
            "val_accuracy": [0.105] * 3,
            "val_loss": [2.30196] * 3,
            "test_accuracy": [0.1135] * 3,
            "test_loss": [2.30102] * 3,
        },
    )
    return full, split


def test_candidate_table_and_the_one_metric_that_agrees() -> None:
    c = patel.candidate_table(*_zero_protocols([0.11319] * 3)).set_index("metric")
    assert list(c.index) == list(patel.CANDIDATES)
    assert c.loc[patel.FULL_SET, "acc_verdict"] == "equal" and c.loc[patel.FULL_SET, "acc_ours"] == "every run: 11.24"
    # running losses 2.30141, 2.30139, 2.30137: mean 2.30139, s = 2e-5, half = t(2)·s·sqrt(4/3)
    half = T_975_2 * 2e-5 * math.sqrt(4 / 3)
    assert c.loc[patel.FULL_SET, "loss_ours"] == f"2.3014 [{2.30139 - half:.4f}, {2.30139 + half:.4f}]"
    assert c.loc[patel.FULL_SET, "loss_verdict"] == "below"  # 2.3012 < 2.3013
    assert c.loc[SPLIT, "acc_verdict"] == "differs"  # 11.32 in every run
    assert c.loc["validation (validation split)", "acc_verdict"] == "differs"
    assert c.loc["test (trained on the training split)", "loss_verdict"] == "differs"  # 2.3010, exactly
    assert patel.identified(c.reset_index()) == [patel.FULL_SET]
    assert patel.identified(c.reset_index(), "loss") == []
    view = patel.candidate_view(c.reset_index())
    assert view.index[0] == ("mnist (paper: 11.24%, 2.3012)", patel.FULL_SET) and len(view.columns) == 4


def _labels(rows: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    sets = ["full training set", "training split (first 90%)", "validation split (last 10%)", "test set"]
    return pd.DataFrame(
        [
            {"dataset": d, "set": s, "predicted_share": share, "cross_entropy": loss}
            for d, values in rows.items()
            for s, (share, loss) in zip(sets, values)
        ]
    )


LABELS = _labels(
    {
        "mnist": [(0.11237, 2.30116), (0.11319, 2.30108), (0.105, 2.30196), (0.1135, 2.30102)],
        "fashion_mnist": [(0.1, 2.302585), (0.10083, 2.30257), (0.0925, 2.30279), (0.1, 2.302585)],
    }
)


def _two_datasets(split_fashion: list[float]) -> pd.DataFrame:
    full, split = _zero_protocols([0.11319] * 3)
    fashion_full = _replays(
        "fashion_mnist",
        {
            "accuracy": [0.0975, 0.0985, 0.0995],
            "loss": [2.30278] * 3,
            "test_accuracy": [0.1] * 3,
            "test_loss": [2.302585] * 3,
        },
    )
    fashion_split = _replays(
        "fashion_mnist",
        {
            "accuracy": split_fashion,
            "loss": [2.30278] * 3,
            "val_accuracy": [0.0925] * 3,
            "val_loss": [2.30279] * 3,
            "test_accuracy": [0.1] * 3,
            "test_loss": [2.302585] * 3,
        },
    )
    return patel.candidate_table(pd.concat([full, fashion_full]), pd.concat([split, fashion_split]))


def test_identification_text_names_the_metric_and_how_sure() -> None:
    text = patel.identification_text(LABELS, _two_datasets([0.1008] * 3))
    assert "The accuracy matches full training set; the loss full training set." in text  # mnist
    assert "The accuracy matches no set; the loss full training set, training split (first 90%) and test set." in text
    assert "Only one metric agrees" in text and f"**{patel.FULL_SET}**" in text
    assert "How sure: high on mnist" in text and "consistent on fashion_mnist" in text
    # the replays' running loss lies above the paper's: the sentence on the loss, with the test sets' values
    assert "on the test sets the converged loss would be 2.3010, 2.3026" in text


def test_identification_text_when_two_metrics_agree_or_none() -> None:
    two = patel.identification_text(LABELS, _two_datasets([0.0975, 0.0985, 0.0995]))
    # fashion's split now agrees as well, but mnist's split (11.32) does not: still one metric
    assert "Only one metric agrees" in two
    c = _two_datasets([0.0975, 0.0985, 0.0995])
    c.loc[(c["dataset"] == "mnist") & (c["metric"] == SPLIT), "acc_verdict"] = "inside"
    text = patel.identification_text(LABELS, c)
    assert "2 metrics agree" in text and "does not pin" in text and "training accuracy either way" in text
    c.loc[c["metric"] == "test (trained on the full training set)", "acc_verdict"] = "inside"
    assert "3 metrics agree" in patel.identification_text(LABELS, c)
    assert "either way" not in patel.identification_text(LABELS, c)
    c["acc_verdict"] = "differs"
    assert "0 metrics agree" in patel.identification_text(LABELS, c)


# --- the paper beside ours ------------------------------------------------------------------------

SEEDS = [0, 1, 2]


def _study(special: dict[tuple[str, str, str], list[float]]) -> pd.DataFrame:
    """Three datasets × four schemes × three seeds, one epoch; trained schemes default to 90% training
    accuracy (loss 0.3) and 85% test accuracy (loss 0.4), zero init to 11.32% and 11.35%."""
    rows = []
    for dataset in ("mnist", "cifar10", "fashion_mnist"):
        for init in patel.CLAIMED:
            for i, seed in enumerate(SEEDS):
                base = (
                    {"accuracy": 0.1132, "loss": 2.3011, "test_accuracy": 0.1135, "test_loss": 2.3010}
                    if init == "zeros"
                    else {"accuracy": 0.9, "loss": 0.3, "test_accuracy": 0.85, "test_loss": 0.4}
                )
                row = {
                    "dataset": dataset,
                    "model": "m",
                    "init": init,
                    "seed": seed,
                    "epoch": 1,
                    "val_accuracy": 0.5,
                    "status": "ok",
                    **base,
                }
                for column in base:
                    if (dataset, init, column) in special:
                        row[column] = special[(dataset, init, column)][i]
                rows.append(row)
    return pd.DataFrame(rows)


STUDY = _study(
    {
        ("mnist", "randn_he", "accuracy"): [0.99] * 3,
        ("cifar10", "randn_001", "accuracy"): [0.10, 0.74, 0.76],
        ("cifar10", "randn_001", "test_accuracy"): [0.10, 0.70, 0.72],
        ("fashion_mnist", "randn_lecun", "accuracy"): [0.90, 0.92, 0.94],
    }
)
ZERO_REPLAY = pd.concat(
    [
        _replays(d, {"accuracy": [a] * 4, "loss": [2.3013] * 4, "test_accuracy": [0.1] * 4})
        for d, a in (("mnist", 0.11237), ("cifar10", 0.0975), ("fashion_mnist", 0.0985))
    ]
)


def _at(rows: pd.DataFrame, dataset: str, init: str) -> pd.Series:
    found = rows[(rows["dataset"] == dataset) & (rows["init"] == init)]
    assert len(found) == 1
    return found.iloc[0]


def test_comparison_rows_hand_computed() -> None:
    rows = patel.comparison_rows(STUDY, "accuracy", zero_replay=ZERO_REPLAY)
    assert list(rows["dataset"]) == ["mnist"] * 4 + ["cifar10"] * 4 + ["fashion_mnist"] * 4 + ["average"] * 4
    assert list(rows["init"][:4]) == ["zeros", "randn_001", "randn_lecun", "randn_he"]

    he = _at(rows, "mnist", "randn_he")  # 99% in every seed: compared exactly with 98.92
    assert he["verdict"] == "differs" and he["ours_mean"] == 99.0 and he["source"] == "runs"

    bimodal = _at(rows, "cifar10", "randn_001")  # seed 0 did not train: judged on 74% and 76%
    half = T_975_1 * math.sqrt(2.0) * math.sqrt(1.5)
    assert (bimodal["failed"], bimodal["runs"], bimodal["seeds"]) == (1, 3, 2)
    assert bimodal["judged_on"] == "runs that trained"
    assert bimodal["ours_pi_low"] == round(75 - half, 2) and bimodal["ours_pi_high"] == round(75 + half, 2)
    assert bimodal["verdict"] == "inside"  # 74.58

    lecun = _at(rows, "fashion_mnist", "randn_lecun")  # 90, 92, 94: [82.06, 101.94], clipped at 100
    assert lecun["ours_pi_low"] == round(92 - T_975_2 * 2 * math.sqrt(4 / 3), 2) and lecun["ours_pi_high"] == 100.0
    assert lecun["verdict"] == "inside"

    zero = _at(rows, "mnist", "zeros")  # the replays: 11.24 in every run, the paper's number
    assert zero["verdict"] == "equal" and zero["source"] == "replay" and zero["seeds"] == 4
    assert math.isnan(zero["failed"])

    avg = _at(rows, "average", "randn_001")  # seed 0 left out: (90 + 74 + 90)/3 and (90 + 76 + 90)/3
    means = np.array([254 / 3, 256 / 3])
    half = T_975_1 * means.std(ddof=1) * math.sqrt(1.5)
    assert avg["seeds"] == 2 and avg["ours_mean"] == round(means.mean(), 2)
    assert avg["ours_pi_low"] == round(means.mean() - half, 2) and avg["verdict"] == "inside"  # 88.34


def test_the_zero_average_is_compared_exactly() -> None:
    rows = patel.comparison_rows(STUDY, "accuracy", zero_replay=ZERO_REPLAY)
    avg = _at(rows, "average", "zeros")
    # every replay gives the same average, so it is compared exactly: 10.28, the paper's number
    assert avg["ours_mean"] == round((11.237 + 9.75 + 9.85) / 3, 2) == 10.28 and avg["verdict"] == "equal"


def test_comparison_rows_without_a_replay_use_our_zero_runs_and_losses_keep_four_decimals() -> None:
    rows = patel.comparison_rows(STUDY, "loss")
    zero = _at(rows, "mnist", "zeros")
    assert zero["source"] == "runs" and zero["ours_mean"] == 2.3011 and zero["verdict"] == "differs"  # 2.3012
    assert _at(rows, "cifar10", "randn_he")["verdict"] == "differs"  # 0.3000 every seed, paper 0.5647


def test_comparison_table_marks_replays_and_runs_that_trained() -> None:
    rows = patel.comparison_rows(STUDY, "accuracy", zero_replay=ZERO_REPLAY)
    table = patel.comparison_table(rows, STUDY)
    assert table.loc[("mnist", "Zero (zeros)"), "ours (95% PI, one run)"] == "every run: 11.24 †"
    assert table.loc[("cifar10", "Random (randn_001)"), "ours (95% PI, one run)"].endswith(" ‡")
    assert table.loc[("cifar10", "Random (randn_001)"), "failed runs"] == "1 of 3"
    # the failed run (10%) is counted beside, not averaged: the mean of 70 and 72
    assert table.loc[("cifar10", "Random (randn_001)"), "our test accuracy (mean ± CI)"].startswith("71.00 ± ")
    assert table.loc[("mnist", "Zero (zeros)"), "failed runs"] == "—"  # a replay of zero init fails by design
    assert table.loc[("average", "He-et-al (randn_he)"), "our test accuracy (mean ± CI)"] == "—"
    assert table.loc[("mnist", "He-et-al (randn_he)"), "our test accuracy (mean ± CI)"] == "85.00 ± 0.00"


def test_shortfall_text_hand_computed() -> None:
    rows = patel.comparison_rows(STUDY, "accuracy", zero_replay=ZERO_REPLAY)
    text = patel.shortfall_text(rows, STUDY)
    # mnist: paper 98.34, 98.60, 98.92; ours train 90, 90, 99 and test 85 each
    assert (
        "**mnist** (means over 3 scheme(s)): the paper lies 13.62 pp above our test accuracy, 5.62 pp above "
        "our training accuracy; our training accuracy is 8.00 pp above our test accuracy."
    ) in text
    assert "for training accuracy: 3 differs." in text  # every seed gives 90 or 99: compared exactly
    nothing = STUDY.assign(test_accuracy=np.where(STUDY["dataset"] == "cifar10", 0.1, STUDY["test_accuracy"]))
    assert "- **cifar10**: no run of a scheme that should train did." in patel.shortfall_text(rows, nothing)


# --- the ranking ----------------------------------------------------------------------------------


def _ranked(special: dict[tuple[str, str, str], list[float]] | None = None) -> pd.DataFrame:
    """He 99%, Xavier 98%, random 97%, zero 10% in every seed (training and test), except ``special``."""
    level = {"randn_he": 0.99, "randn_lecun": 0.98, "randn_001": 0.97, "zeros": 0.1}
    df = _study({})
    for column in ("accuracy", "test_accuracy"):
        df[column] = df["init"].map(level)
    for (dataset, init, column), values in (special or {}).items():
        sel = (df["dataset"] == dataset) & (df["init"] == init)
        df.loc[sel, column] = values
    return df


def test_ranking_family_is_one_holm_family_over_datasets_and_metrics() -> None:
    # one step with differences 1.0, 0.5, 1.5 pp: t = 2·sqrt(3), two-sided p = 1 - t / sqrt(t² + 2) (2 df)
    p = 1 - 2 * math.sqrt(3) / math.sqrt(14)
    one = patel_ranking.ranking_family(_ranked({("mnist", "randn_he", "test_accuracy"): [0.99, 0.985, 0.995]}))
    assert len(one) == 18 and set(one["metric"]) == {"training accuracy", "test accuracy"}
    row = one.set_index("name").loc["test_accuracy/mnist/randn_he > randn_lecun"]
    assert row["gap"] == pytest.approx(0.0032) and row["p"] == pytest.approx(p)
    assert row["p_adj"] == pytest.approx(p) and row["verdict"] == "inconclusive" and row["borderline"]
    assert (one.drop(index=one.index[one["name"] == row.name])["verdict"] == "supported").all()  # exact steps
    # a second such step on another dataset joins the same family: Holm doubles the smaller p
    two = patel_ranking.ranking_family(
        _ranked(
            {
                ("mnist", "randn_he", "test_accuracy"): [0.99, 0.985, 0.995],
                ("cifar10", "randn_he", "test_accuracy"): [0.99, 0.985, 0.995],
            }
        )
    )
    adjusted = two.set_index("name").loc["test_accuracy/cifar10/randn_he > randn_lecun"]
    assert adjusted["p_adj"] == pytest.approx(2 * p) and not adjusted["borderline"]


def test_ranking_writers() -> None:
    family = patel_ranking.ranking_family(
        _ranked(
            {
                ("cifar10", "randn_he", "accuracy"): [0.97] * 3,
                ("mnist", "randn_he", "test_accuracy"): [0.99, 0.985, 0.995],
            }
        )
    )
    table = patel_ranking.ranking_markdown(family)
    lines = table.splitlines()
    assert len(lines) == 2 + 18 and lines[0].startswith("| dataset | metric | step | paper gap (pp)")
    he = next(line for line in lines if line.startswith("| mnist | training accuracy | randn_he > randn_lecun"))
    assert "| +0.32 | +1.00 (every seed) | exact | **supported (exact: the same in all 3 seeds)** | — |" in he
    test = next(line for line in lines if line.startswith("| mnist | test accuracy | randn_he > randn_lecun"))
    assert "+1.00 [" in test and "**inconclusive (about" in test and ", borderline (Holm-adjusted p = " in test
    text = patel_ranking.ranking_text(family)
    assert "- mnist, training accuracy: 3 supported; the ranking holds." in text
    assert "- cifar10, training accuracy: 2 supported, 1 reversed; the ranking is contradicted." in text
    assert (
        "- mnist, test accuracy: 2 supported, 1 inconclusive (1 of them borderline); the ranking is not established."
    ) in text
    assert "18 test(s), each a paired t-test over 3 seeds" in text and "on 2 metrics" in text
    assert "is not there" not in text  # mnist's inconclusive step measured more than the paper's gap
    # cifar10's test step: +0.2 pp, CI [-0.05, +0.45] (sd 0.1 pp, 3 seeds), where the paper claims 2.41 pp:
    # the CI excludes it, so its absence may be said
    small = patel_ranking.ranking_family(_ranked({("cifar10", "randn_he", "test_accuracy"): [0.981, 0.982, 0.983]}))
    step = small.set_index("name").loc["test_accuracy/cifar10/randn_he > randn_lecun"]
    assert step["seeds_needed"] == 2 and (step["seeds_low"], step["seeds_high"]) == (2, 3)
    assert step["ci_high"] == pytest.approx(0.002 + T_975_2 * 0.001 / math.sqrt(3)) and step["ci_high"] < 0.0241
    assert (
        "1 inconclusive step(s) (cifar10, test accuracy: randn_he > randn_lecun) have a 95% CI that excludes the "
        "paper's gap, on the side of zero: a gap as large as the paper's is not there"
    ) in patel_ranking.ranking_text(small)
    row = next(
        line
        for line in patel_ranking.ranking_markdown(small).splitlines()
        if "cifar10 | test accuracy | randn_he" in line
    )
    assert "the claimed +2.41 pp lies above the 95% CI: a gap that large is not there" in row
    # notebook 04's CIFAR-10 row: +1.70 pp, CI [+0.18, +3.22] around the paper's +2.41: nothing said of absence
    wide = patel_ranking.ranking_family(
        _ranked({("cifar10", "randn_he", "test_accuracy"): [0.98 + d for d in (0.0109, 0.0170, 0.0231)]})
    )
    step = wide.set_index("name").loc["test_accuracy/cifar10/randn_he > randn_lecun"]
    assert step["ci_low"] < 0.0241 < step["ci_high"]
    assert "not there" not in patel_ranking.ranking_text(wide) and "not there" not in patel_ranking.ranking_markdown(
        wide
    )


# --- speed, the replay check, the closing text ----------------------------------------------------


def test_convergence_summary_counts_runs_that_reached_the_target() -> None:
    conv = pd.DataFrame(
        {
            "dataset": "mnist",
            "init": "randn_he",
            "seed": [0, 1, 2],
            "epochs_to_target": [1.0, 2.0, np.inf],
            "auc": [0.8, 0.9, 1.0],
        }
    )
    df = pd.DataFrame(
        {"dataset": "mnist", "init": "randn_he", "seed": [0, 1, 2], "epoch": 1, "val_accuracy": [0.5, 0.6, 0.7]}
    )
    row = patel_ranking.convergence_summary(conv, df).loc[("mnist", "randn_he")]
    half = 100 * T_975_2 * 0.1 / math.sqrt(3)
    assert row["validation accuracy, epoch 1"] == f"60.00 ± {half:.2f}"
    assert row["mean over epochs (AUC)"] == f"90.00 ± {half:.2f}"
    assert row["reached the target"] == "2 of 3" and row["median epochs to it"] == "2"
    conv["epochs_to_target"] = [1.0, np.inf, np.inf]
    assert patel_ranking.convergence_summary(conv, df).iloc[0]["median epochs to it"] == "never (most runs)"


def test_replay_check_text_both_ways() -> None:
    runs = _study({})
    replayed = runs[runs["init"] == "zeros"].copy()
    for c in ("val_loss", "val_accuracy"):
        runs[c] = replayed[c] = 0.5
    same = patel.replay_check_text(runs, replayed)
    assert "our 9 zero-initialized runs" in same and "identical in every epoch; losses within 0.0e+00" in same
    replayed["accuracy"] = replayed["accuracy"] + 0.001
    assert "within 0.100 pp" in patel.replay_check_text(runs, replayed)


def test_closing_text_names_the_test_correction_and_seeds() -> None:
    acc = patel.comparison_rows(STUDY, "accuracy", zero_replay=ZERO_REPLAY)
    loss = patel.comparison_rows(STUDY, "loss", zero_replay=ZERO_REPLAY)
    family = patel_ranking.ranking_family(_ranked())
    full, split = _zero_protocols([0.11319] * 3)
    text = patel_ranking.closing_text(
        acc_rows=acc, loss_rows=loss, family=family, candidates=patel.candidate_table(full, split)
    )
    assert f"report the last epoch's **{patel.FULL_SET}** (the only metric" in text
    # the zero rows chose the metric: they are counted apart from the trained rows they cannot test
    assert "of the 9 trained rows (the 3 zero rows, which identified the metric:" in text
    assert "Its loss table matches no running loss" in text and "not as a test" in text  # replays' loss: below
    loss_too = patel.candidate_table(full, split).assign(loss_verdict="inside")
    both = patel_ranking.closing_text(acc_rows=acc, loss_rows=loss, family=family, candidates=loss_too)
    assert "in its accuracy and its loss table alike" in both and "not as a test" not in both
    assert "3 replays per metric" in text
    assert "over 3 seeds (t-based" in text and "against 4 replays" in text
    assert "cifar10 randn_001: 1 of 3." in text
    stuck = STUDY.assign(test_accuracy=np.where(STUDY["dataset"] == "cifar10", 0.1, STUDY["test_accuracy"]))
    acc_stuck = patel.comparison_rows(stuck, "accuracy", zero_replay=ZERO_REPLAY)
    assert (
        "cifar10 randn_001: 3 of 3 (no run trained); cifar10 randn_lecun: 3 of 3 (no run trained)"
        in patel_ranking.closing_text(
            acc_rows=acc_stuck, loss_rows=loss, family=family, candidates=patel.candidate_table(full, split)
        )
    )
    assert "18 supported over 18 steps (0 borderline)" in text and "Holm-corrected together" in text
    none = patel.candidate_table(*_zero_protocols([0.11319] * 3)).assign(acc_verdict="differs")
    assert "is not pinned down" in patel_ranking.closing_text(
        acc_rows=acc, loss_rows=loss, family=family, candidates=none
    )


def test_replay_check_without_a_validation_split() -> None:
    """Runs on the full training set have no validation columns: the check compares training and test only."""
    runs = _study({}).assign(val_accuracy=np.nan, val_loss=np.nan)
    replayed = runs[runs["init"] == "zeros"].drop(columns=["val_accuracy", "val_loss"])
    text = patel.replay_check_text(runs, replayed)
    assert "training and test accuracy identical in every epoch" in text and "validation" not in text
    replayed["test_loss"] = replayed["test_loss"] + 1e-4
    assert patel.replay_gaps(runs, replayed)[1] == pytest.approx(1e-4)


def test_convergence_summary_on_the_training_curve() -> None:
    conv = pd.DataFrame(
        {"dataset": "mnist", "init": "randn_he", "seed": [0, 1], "epochs_to_target": [1.0, 1.0], "auc": [0.9, 0.9]}
    )
    df = pd.DataFrame({"dataset": "mnist", "init": "randn_he", "seed": [0, 1], "epoch": 1, "accuracy": [0.8, 0.8]})
    row = patel_ranking.convergence_summary(conv, df, value="accuracy").loc[("mnist", "randn_he")]
    assert row["training accuracy, epoch 1"].startswith("80.00") and row["reached the target"] == "2 of 2"


def test_a_failed_run_leaves_the_ranking_its_seed_never_enters_a_difference() -> None:
    # randn_001's seed 1 on mnist failed (test accuracy 12%): its steps use seeds 0 and 2 only
    df = _ranked({("mnist", "randn_001", "test_accuracy"): [0.97, 0.12, 0.97]})
    kept = patel_ranking.trained_or_all(df[df["dataset"] == "mnist"])
    assert sorted(kept.loc[kept["init"] == "randn_001", "seed"].unique()) == [0, 2]
    assert sorted(kept.loc[kept["init"] == "zeros", "seed"].unique()) == [0, 1, 2]  # none trained: all kept
    family = patel_ranking.ranking_family(df).set_index("name")
    step = family.loc["test_accuracy/mnist/randn_001 > zeros"]
    assert step["n"] == 2 and step["mean"] == pytest.approx(0.87)  # 97 - 10 on the two seeds that trained
    assert family.loc["test_accuracy/mnist/randn_lecun > randn_001", "n"] == 2
