"""The reproduction summary: hand-computed rows from synthetic runs, and atomic writes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from initlab.pipeline import summary

T_975_2 = 4.302652729749464  # the 97.5% quantiles of Student's t with 2 and 1 degrees of freedom
T_975_1 = 12.706204736174694
TIDY = [
    "dataset",
    "model",
    "init",
    "seed",
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "status",
]
DESAI_INITS = ["random_normal", "random_uniform", "glorot_uniform", "he_normal"]
PATEL_INITS = ["zeros", "randn_001", "randn_lecun", "randn_he"]
DATASETS = ["mnist", "cifar10", "fashion_mnist"]
PARAMS = {"model": "m", "epochs": 2, "batch_size": 32, "validation_split": 0.2, "train_limit": None, "test_limit": None}


def _frame(dataset: str, inits: list[str], seeds: list[int], value) -> pd.DataFrame:
    """Two epochs per (init, seed); ``value(dataset, init, seed, epoch, column)`` gives each number.

    ``value`` returns None for "not specified", which becomes a filler of 0.5.
    """
    rows = []
    for init in inits:
        for seed in seeds:
            for epoch in (1, 2):
                row = {"dataset": dataset, "model": "m", "init": init, "seed": seed, "epoch": epoch, "status": "ok"}
                for column in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
                    v = value(dataset, init, seed, epoch, column)
                    row[column] = 0.5 if v is None else v
                rows.append(row)
    return pd.DataFrame(rows, columns=TIDY)


def _fake_study(monkeypatch: pytest.MonkeyPatch, value) -> list[tuple]:
    """Replace ``Study.run`` by synthetic frames; returns the studies it runs (their set-up in short)."""
    calls = []

    def run(study, **kwargs):
        calls.append((study.dataset, study.model, tuple(study.inits), tuple(study.seeds), study.epochs))
        return _frame(study.dataset, list(study.inits), list(study.seeds), value)

    monkeypatch.setattr(summary.Study, "run", run)
    return calls


def _fake_replays(monkeypatch: pytest.MonkeyPatch, accuracy: dict[str, float]) -> list[tuple]:
    """Replace the zero-initialized replay by runs that give ``accuracy[dataset]`` (loss 2.3013) every time."""
    calls = []

    def replay_study(dataset, seeds, epochs=5, batch_size=32, validation_split=0.2, *args, **kwargs):
        seeds = list(seeds)
        calls.append((dataset, len(seeds), epochs, batch_size, validation_split))
        return pd.DataFrame(
            {
                "dataset": dataset,
                "init": "zeros",
                "seed": seeds,
                "epoch": epochs,
                "accuracy": accuracy[dataset],
                "loss": 2.3013,
                "test_accuracy": 0.1,
                "test_loss": 2.3026,
            }
        )

    monkeypatch.setattr(summary.zero_init, "replay_study", replay_study)
    return calls


def _pick(rows: list[dict], table: str, dataset: str, init: str, quantity: str) -> dict:
    found = [
        r for r in rows if (r["table"], r["dataset"], r["init"], r["quantity"]) == (table, dataset, init, quantity)
    ]
    assert len(found) == 1, (table, dataset, init, quantity)
    return found[0]


def _assert_pi(row: dict, mean: float, low: float, high: float, verdict: str, seeds: int = 3) -> None:
    """Our side as printed (rounded like the paper's number) and the verdict decided on it."""
    digits = 2 if "accuracy" in row["quantity"] else 4
    assert (row["ours_mean"], row["ours_pi_low"], row["ours_pi_high"]) == (
        round(mean, digits),
        round(low, digits),
        round(high, digits),
    )
    assert row["verdict"] == verdict and row["seeds"] == seeds


def _pi(values: list[float], scale: float = 100.0) -> tuple[float, float, float]:
    """Mean and 95% prediction interval for one more run, by the textbook formula, on the printed scale."""
    x = [v * scale for v in values]
    n, mean = len(x), sum(x) / len(x)
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = {2: T_975_1, 3: T_975_2}[n] * sd * math.sqrt(1 + 1 / n)
    return mean, mean - half, mean + half


# --- 000, Table 1 ---------------------------------------------------------------------------------

DESAI_VALUES = {  # he_normal, per seed 0, 1, 2
    ("accuracy", 1): [0.7997005, 0.8197005, 0.8397005],  # high bound 91.9066: 91.91 once printed
    ("accuracy", 2): [0.90, 0.91, 0.92],
    ("val_accuracy", 1): [0.99, 0.995, 1.0],
    ("val_accuracy", 2): [0.50, 0.50, 0.50],
    ("test_accuracy", 1): [0.90, 0.92, 0.94],  # a run's test numbers repeat on every epoch row
    ("test_accuracy", 2): [0.90, 0.92, 0.94],
}


def _desai_value(dataset, init, seed, epoch, column):
    if init == "he_normal" and (column, epoch) in DESAI_VALUES:
        return DESAI_VALUES[column, epoch][seed]
    if init == "random_normal" and column == "test_accuracy":
        return 0.973  # the paper's 97.30 in every seed
    return None


def test_desai_rows_hand_computed(monkeypatch) -> None:
    calls = _fake_study(monkeypatch, _desai_value)
    rows = summary.desai_rows({**PARAMS, "dataset": "mnist", "inits": DESAI_INITS, "seeds": [0, 1, 2]})
    assert calls == [("mnist", "m", tuple(DESAI_INITS), (0, 1, 2), 2)]
    assert len(rows) == 4 * 5 and {r["source"] for r in rows} == {"000"}

    first = _pick(rows, "Table 1", "mnist", "he_normal", "train accuracy, first epoch (%)")
    mean, low, high = _pi(DESAI_VALUES["accuracy", 1])  # epoch 1, not the last
    assert high < 91.91 == round(high, 2)  # outside the exact bound, on the printed one: decided as printed
    _assert_pi(first, mean, low, high, "inside")
    assert first["paper"] == 91.91
    assert first["compared_with"] == (
        "training accuracy, epoch 1 (the epoch's mean over its batches, on the first 80% of the training set)"
    )
    last = _pick(rows, "Table 1", "mnist", "he_normal", "train accuracy, last epoch (%)")
    _assert_pi(last, *_pi(DESAI_VALUES["accuracy", 2]), "above")  # 98.46 > 95.97
    val_first = _pick(rows, "Table 1", "mnist", "he_normal", "validation accuracy, first epoch (%)")
    mean, low, _ = _pi(DESAI_VALUES["val_accuracy", 1])
    _assert_pi(val_first, mean, low, 100.0, "below")  # 95.57 < 97.02; the bound 101.98 is clipped at 100%
    assert val_first["compared_with"] == "validation accuracy, epoch 1 (last 20% of the training set)"
    val_last = _pick(rows, "Table 1", "mnist", "he_normal", "validation accuracy, last epoch (%)")
    _assert_pi(val_last, 50.0, 50.0, 50.0, "differs")  # every seed 50%: compared exactly with 97.42
    test = _pick(rows, "Table 1", "mnist", "he_normal", "test accuracy (%)")
    mean, low, _ = _pi(DESAI_VALUES["test_accuracy", 2])
    _assert_pi(test, mean, low, 100.0, "inside")
    assert test["compared_with"] == "test accuracy, after the last epoch"
    equal = _pick(rows, "Table 1", "mnist", "random_normal", "test accuracy (%)")
    _assert_pi(equal, 97.3, 97.3, 97.3, "equal")


def test_desai_rows_with_one_seed_have_no_interval(monkeypatch) -> None:
    _fake_study(monkeypatch, _desai_value)
    rows = summary.desai_rows({**PARAMS, "dataset": "mnist", "inits": DESAI_INITS, "seeds": [1]})
    assert all(r["seeds"] == 1 and r["verdict"] == "one seed" for r in rows)
    assert all(math.isnan(r["ours_pi_low"]) and math.isnan(r["ours_pi_high"]) for r in rows)
    test = _pick(rows, "Table 1", "mnist", "he_normal", "test accuracy (%)")
    assert test["ours_mean"] == 92.0 and summary.ours_text(pd.Series(test)) == "92.00 (one seed)"


# --- 001, Tables 1 and 2 --------------------------------------------------------------------------

PATEL_VALUES = {  # randn_he's last epoch, per seed 0, 1, 2
    ("mnist", "accuracy"): [0.99, 0.99, 0.99],
    ("cifar10", "accuracy"): [0.78, 0.81, 0.84],
    ("fashion_mnist", "accuracy"): [0.93, 0.96, 0.99],  # per-seed averages: 0.90, 0.92, 0.94
    ("mnist", "loss"): [0.03, 0.03, 0.03],
    ("cifar10", "loss"): [0.50, 0.60, 0.70],
    ("fashion_mnist", "loss"): [0.07, 0.12, 0.17],  # per-seed averages: 0.20, 0.25, 0.30
}
ZERO_REPLAYS = {"mnist": 0.11237, "cifar10": 0.0975, "fashion_mnist": 0.0985}  # the paper's zero row


def _patel_value(dataset, init, seed, epoch, column):
    if epoch == 1:
        return 0.1 if "accuracy" in column else 2.0  # the first epoch must never be used
    if init == "randn_he":
        return PATEL_VALUES.get((dataset, column), [None] * 3)[seed]
    return None  # every other init: 0.5 everywhere (trained: the test accuracy is above 20%)


def _patel(monkeypatch, value=_patel_value) -> list[dict]:
    calls = _fake_study(monkeypatch, value)
    replays = _fake_replays(monkeypatch, ZERO_REPLAYS)
    rows = summary.patel_rows({**PARAMS, "datasets": DATASETS, "inits": PATEL_INITS, "seeds": [0, 1, 2], "replays": 7})
    assert [c[0] for c in calls] == DATASETS and all(c[3] == (0, 1, 2) for c in calls)
    # the zero row's replays: trained on the full training set, the notebook's epochs and batch size
    assert replays == [(d, 7, 2, 32, 0.0) for d in DATASETS]
    return rows


def test_patel_rows_per_dataset_hand_computed(monkeypatch) -> None:
    rows = _patel(monkeypatch)
    assert len(rows) == (4 * 3 + 4) * 2 and {r["source"] for r in rows} == {"001"}

    cifar = _pick(rows, "Table 1", "cifar10", "randn_he", "model accuracy (%)")
    _assert_pi(cifar, *_pi(PATEL_VALUES["cifar10", "accuracy"]), "inside")  # 80.17 in [66.10, 95.90]
    assert cifar["paper"] == 80.17
    assert cifar["compared_with"] == (
        "training accuracy, last epoch (the epoch's mean over its batches, on the first 80% of the training set)"
    )
    mnist = _pick(rows, "Table 1", "mnist", "randn_he", "model accuracy (%)")
    _assert_pi(mnist, 99.0, 99.0, 99.0, "differs")  # 99% in every seed, the paper 98.92

    loss = _pick(rows, "Table 2", "cifar10", "randn_he", "model loss")
    _assert_pi(loss, *_pi(PATEL_VALUES["cifar10", "loss"], scale=1.0), "inside")  # losses are not scaled
    assert loss["paper"] == 0.5647 and loss["compared_with"].startswith("training loss, last epoch")

    zero = _pick(rows, "Table 1", "mnist", "zeros", "model accuracy (%)")
    _assert_pi(zero, 11.24, 11.24, 11.24, "equal", seeds=7)
    assert zero["compared_with"] == (
        "training accuracy, last epoch, of the zero-initialized net replayed from the "
        "labels on the full training set (7 shuffles)"
    )
    zero_loss = _pick(rows, "Table 2", "mnist", "zeros", "model loss")
    _assert_pi(zero_loss, 2.3013, 2.3013, 2.3013, "differs", seeds=7)  # the paper's 2.3012


def test_patel_average_rows_average_each_seed_across_datasets(monkeypatch) -> None:
    rows = _patel(monkeypatch)
    acc = _pick(rows, "Table 1", "average", "randn_he", "model accuracy (%)")
    # per seed: (99 + 78 + 93) / 3 = 90, 92, 94 -> 3 values, not the 9 pooled runs; 101.94 clipped at 100
    mean, low, _ = _pi([0.90, 0.92, 0.94])
    _assert_pi(acc, mean, low, 100.0, "inside")
    assert acc["paper"] == 91.41 and acc["compared_with"].endswith("; each seed's mean over the three datasets")

    loss = _pick(rows, "Table 2", "average", "randn_he", "model loss")
    _assert_pi(loss, *_pi([0.20, 0.25, 0.30], scale=1.0), "inside")  # 0.2425

    zeros = _pick(rows, "Table 1", "average", "zeros", "model accuracy (%)")
    _assert_pi(zeros, 10.28, 10.28, 10.28, "equal", seeds=7)  # (11.237 + 9.75 + 9.85) / 3 in every replay
    other = _pick(rows, "Table 1", "average", "randn_001", "model accuracy (%)")
    _assert_pi(other, 50.0, 50.0, 50.0, "differs")


def test_patel_rows_judge_the_runs_that_trained(monkeypatch) -> None:
    def value(dataset, init, seed, epoch, column):
        if (dataset, init, seed, epoch) == ("cifar10", "randn_he", 2, 2) and column.startswith("test_"):
            return 0.1 if column == "test_accuracy" else 2.3  # stayed at chance: did not train
        if (dataset, init, seed, epoch) == ("fashion_mnist", "randn_he", 1, 2) and column.startswith("test_"):
            return math.nan  # a diverged run has no test numbers
        return _patel_value(dataset, init, seed, epoch, column)

    rows = _patel(monkeypatch, value)
    cifar = _pick(rows, "Table 1", "cifar10", "randn_he", "model accuracy (%)")
    mean, low, _ = _pi([0.78, 0.81])
    _assert_pi(cifar, mean, low, 100.0, "inside", seeds=2)  # 80.17; seed 2 left out, the bound clipped
    assert cifar["compared_with"].endswith("; the 2 of 3 runs that trained")
    acc = _pick(rows, "Table 1", "average", "randn_he", "model accuracy (%)")
    # seed 2 failed on CIFAR-10 and seed 1 diverged on Fashion-MNIST: only seed 0's average (90%) is left
    assert acc["seeds"] == 1 and acc["ours_mean"] == 90.0 and acc["verdict"] == "one seed"


# --- write ----------------------------------------------------------------------------------------


def _table(paper: float, verdict: str = "above", quantity: str = "test accuracy (%)") -> pd.DataFrame:
    row = {
        "source": "000",
        "table": "Table 1",
        "dataset": "mnist",
        "init": "he_normal",
        "quantity": quantity,
        "compared_with": "test accuracy, after the last epoch",
        "paper": paper,
        "ours_mean": 92.0,
        "ours_pi_low": 87.0,
        "ours_pi_high": 97.0,
        "seeds": 3,
        "verdict": verdict,
    }
    return pd.DataFrame([row], columns=summary.COLUMNS)


def test_markdown_prints_each_verdict_with_the_bounds_it_was_decided_on() -> None:
    md = summary.markdown(pd.concat([_table(97.54), _table(0.05, "differs", "model loss")], ignore_index=True))
    assert "| compared with | paper | ours (95% PI, one run) | seeds | verdict |" in md
    assert (
        "| 000 | Table 1 | mnist | he_normal | test accuracy (%) | test accuracy, after the last epoch | 97.54 "
        "| 92.00 [87.00, 97.00] | 3 | above |"
    ) in md
    assert "| model loss | test accuracy, after the last epoch | 0.0500 | every seed: 92.0000 | 3 | differs |" in md
    assert "prediction interval" in md and "95% CI" not in md


def test_write_replaces_both_files_and_leaves_nothing_else(tmp_path: Path) -> None:
    summary.write(_table(97.54), tmp_path)
    csv, md = summary.write(_table(12.34), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv", "summary.md"]
    assert pd.read_csv(csv)["paper"].tolist() == [12.34]
    assert "| 12.34 |" in md.read_text() and "97.54" not in md.read_text()
    mask = os.umask(0o022)
    os.umask(mask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~mask for p in (csv, md))  # not a temporary file's 0600


def test_interrupted_write_keeps_the_previous_summary(tmp_path: Path, interrupt_csv_writes) -> None:
    summary.write(_table(97.54), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    interrupt_csv_writes()
    with pytest.raises(KeyboardInterrupt):
        summary.write(_table(12.34), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failure_before_the_move_keeps_both_files_and_removes_the_temporary_ones(tmp_path: Path, monkeypatch) -> None:
    summary.write(_table(97.54), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        summary.write(_table(12.34), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
