"""The reproduction summary: hand-computed rows from synthetic runs, and atomic writes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from initlab import summary

T_975_2 = 4.302652729749464  # the 97.5% quantiles of Student's t with 2 and 1 degrees of freedom
T_975_1 = 12.706204736174694
SQRT3 = math.sqrt(3.0)
TIDY = ["dataset", "model", "init", "seed", "epoch", "loss", "accuracy", "val_loss", "val_accuracy",
        "test_loss", "test_accuracy", "status"]
DESAI_INITS = ["random_normal", "random_uniform", "glorot_uniform", "he_normal"]
PATEL_INITS = ["zeros", "randn_001", "randn_lecun", "randn_he"]
DATASETS = ["mnist", "cifar10", "fashion_mnist"]
PARAMS = {"model": "m", "epochs": 2, "batch_size": 32, "validation_split": 0.2, "train_limit": None,
          "test_limit": None}


def _frame(dataset: str, inits: list[str], seeds: list[int], value) -> pd.DataFrame:
    """Two epochs per (init, seed); ``value(dataset, init, seed, epoch, column)`` gives each number.

    ``value`` returns None for "not specified", which becomes a filler of 0.5.
    """
    rows = []
    for init in inits:
        for seed in seeds:
            for epoch in (1, 2):
                row = {"dataset": dataset, "model": "m", "init": init, "seed": seed, "epoch": epoch,
                       "status": "ok"}
                for column in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
                    v = value(dataset, init, seed, epoch, column)
                    row[column] = 0.5 if v is None else v
                rows.append(row)
    return pd.DataFrame(rows, columns=TIDY)


def _fake_study(monkeypatch: pytest.MonkeyPatch, value) -> list[tuple]:
    """Replace the runner's ``run_study`` by synthetic frames; returns the calls it receives."""
    calls = []

    def run_study(dataset, model, inits, seeds=(0,), **kwargs):
        calls.append((dataset, model, tuple(inits), tuple(seeds), kwargs.get("epochs")))
        return _frame(dataset, list(inits), list(seeds), value)

    monkeypatch.setattr(summary.runner, "run_study", run_study)
    return calls


def _pick(rows: list[dict], table: str, dataset: str, init: str, quantity: str) -> dict:
    found = [r for r in rows if (r["table"], r["dataset"], r["init"], r["quantity"]) == (table, dataset, init, quantity)]
    assert len(found) == 1, (table, dataset, init, quantity)
    return found[0]


def _assert_ci(row: dict, mean: float, half: float) -> None:
    assert row["ours_mean"] == pytest.approx(mean, abs=1e-9)
    assert row["ours_ci_low"] == pytest.approx(mean - half, abs=1e-9)
    assert row["ours_ci_high"] == pytest.approx(mean + half, abs=1e-9)


# --- 000, Table 1 ---------------------------------------------------------------------------------

DESAI_VALUES = {  # he_normal, per seed 0, 1, 2
    ("accuracy", 1): [0.80, 0.82, 0.84],
    ("accuracy", 2): [0.97, 0.98, 0.99],
    ("val_accuracy", 1): [0.95, 0.96, 0.97],
    ("val_accuracy", 2): [0.50, 0.50, 0.50],
    ("test_accuracy", 1): [0.90, 0.92, 0.94],  # a run's test numbers repeat on every epoch row
    ("test_accuracy", 2): [0.90, 0.92, 0.94],
}


def _desai_value(dataset, init, seed, epoch, column):
    if init == "he_normal" and (column, epoch) in DESAI_VALUES:
        return DESAI_VALUES[column, epoch][seed]
    return None


def test_desai_rows_hand_computed(monkeypatch) -> None:
    calls = _fake_study(monkeypatch, _desai_value)
    rows = summary.desai_rows({**PARAMS, "dataset": "mnist", "inits": DESAI_INITS, "seeds": [0, 1, 2]})
    assert calls == [("mnist", "m", tuple(DESAI_INITS), (0, 1, 2), 2)]
    assert len(rows) == 4 * 5 and {r["source"] for r in rows} == {"000"}

    test = _pick(rows, "Table 1", "mnist", "he_normal", "test accuracy (%)")
    # values 90, 92, 94 (in %): mean 92, sample std 2, half-width t(0.975, 2) * 2 / sqrt(3)
    _assert_ci(test, 92.0, T_975_2 * 2.0 / SQRT3)
    assert test["seeds"] == 3 and test["paper"] == 97.54 and test["paper_inside_ci"] is False

    first = _pick(rows, "Table 1", "mnist", "he_normal", "train accuracy, first epoch (%)")
    _assert_ci(first, 82.0, T_975_2 * 2.0 / SQRT3)  # epoch 1, not the last
    assert first["paper_inside_ci"] is False  # 91.91 is far above [77.0, 87.0]
    last = _pick(rows, "Table 1", "mnist", "he_normal", "train accuracy, last epoch (%)")
    _assert_ci(last, 98.0, T_975_2 * 1.0 / SQRT3)
    assert last["paper_inside_ci"] is True  # 98.46 lies in [95.52, 100.48]
    val_first = _pick(rows, "Table 1", "mnist", "he_normal", "validation accuracy, first epoch (%)")
    _assert_ci(val_first, 96.0, T_975_2 * 1.0 / SQRT3)
    assert val_first["paper_inside_ci"] is True  # 95.57 lies in [93.52, 98.48]
    val_last = _pick(rows, "Table 1", "mnist", "he_normal", "validation accuracy, last epoch (%)")
    _assert_ci(val_last, 50.0, 0.0)
    assert val_last["paper_inside_ci"] is False


def test_desai_rows_with_one_seed_have_no_interval_and_no_verdict(monkeypatch) -> None:
    _fake_study(monkeypatch, _desai_value)
    rows = summary.desai_rows({**PARAMS, "dataset": "mnist", "inits": DESAI_INITS, "seeds": [1]})
    assert all(r["seeds"] == 1 and r["paper_inside_ci"] is None for r in rows)
    assert all(math.isnan(r["ours_ci_low"]) and math.isnan(r["ours_ci_high"]) for r in rows)
    test = _pick(rows, "Table 1", "mnist", "he_normal", "test accuracy (%)")
    assert test["ours_mean"] == pytest.approx(92.0)


# --- 001, Tables 1 and 2 --------------------------------------------------------------------------

PATEL_VALUES = {  # randn_he's last epoch, per seed 0, 1, 2
    ("mnist", "test_accuracy"): [0.99, 0.99, 0.99],
    ("cifar10", "test_accuracy"): [0.78, 0.81, 0.84],
    ("fashion_mnist", "test_accuracy"): [0.93, 0.96, 0.99],  # per-seed averages: 0.90, 0.92, 0.94
    ("mnist", "test_loss"): [0.03, 0.03, 0.03],
    ("cifar10", "test_loss"): [0.50, 0.60, 0.70],
    ("fashion_mnist", "test_loss"): [0.07, 0.12, 0.17],  # per-seed averages: 0.20, 0.25, 0.30
}


def _patel_value(dataset, init, seed, epoch, column):
    if epoch == 1:
        return 0.1 if "accuracy" in column else 2.0  # the first epoch must never be used
    if init == "randn_he":
        return PATEL_VALUES.get((dataset, column), [None] * 3)[seed]
    return None  # every other init: 0.5 everywhere


def _patel(monkeypatch, value=_patel_value) -> list[dict]:
    calls = _fake_study(monkeypatch, value)
    rows = summary.patel_rows({**PARAMS, "datasets": DATASETS, "inits": PATEL_INITS, "seeds": [0, 1, 2]})
    assert [c[0] for c in calls] == DATASETS and all(c[3] == (0, 1, 2) for c in calls)
    return rows


def test_patel_rows_per_dataset_hand_computed(monkeypatch) -> None:
    rows = _patel(monkeypatch)
    assert len(rows) == 4 * 3 * 2 + 4 * 2 and {r["source"] for r in rows} == {"001"}

    cifar = _pick(rows, "Table 1", "cifar10", "randn_he", "test accuracy (%)")
    _assert_ci(cifar, 81.0, T_975_2 * 3.0 / SQRT3)  # accuracies in %: 78, 81, 84
    assert cifar["paper"] == 80.17 and cifar["paper_inside_ci"] is True
    mnist = _pick(rows, "Table 1", "mnist", "randn_he", "test accuracy (%)")
    _assert_ci(mnist, 99.0, 0.0)
    assert mnist["paper_inside_ci"] is False  # 98.92 is not 99

    loss = _pick(rows, "Table 2", "cifar10", "randn_he", "test loss")
    _assert_ci(loss, 0.6, T_975_2 * 0.1 / SQRT3)  # losses are not scaled
    assert loss["paper"] == 0.5647 and loss["paper_inside_ci"] is True


def test_patel_average_rows_average_each_seed_across_datasets(monkeypatch) -> None:
    rows = _patel(monkeypatch)
    acc = _pick(rows, "Table 1", "average", "randn_he", "test accuracy (%)")
    # per seed: (99 + 78 + 93) / 3 = 90, 92, 94 -> 3 values, not the 9 pooled runs
    assert acc["seeds"] == 3
    _assert_ci(acc, 92.0, T_975_2 * 2.0 / SQRT3)
    assert acc["paper"] == 91.41 and acc["paper_inside_ci"] is True

    loss = _pick(rows, "Table 2", "average", "randn_he", "test loss")
    assert loss["seeds"] == 3
    _assert_ci(loss, 0.25, T_975_2 * 0.05 / SQRT3)
    assert loss["paper"] == 0.2425 and loss["paper_inside_ci"] is True

    zeros = _pick(rows, "Table 1", "average", "zeros", "test accuracy (%)")
    _assert_ci(zeros, 50.0, 0.0)
    assert zeros["paper_inside_ci"] is False  # the paper's 10.28


def test_patel_average_leaves_out_a_seed_with_a_diverged_run(monkeypatch) -> None:
    def value(dataset, init, seed, epoch, column):
        if (dataset, init, seed, epoch) == ("cifar10", "randn_he", 2, 2) and column.startswith("test_"):
            return math.nan  # a diverged run has no test numbers
        return _patel_value(dataset, init, seed, epoch, column)

    rows = _patel(monkeypatch, value)
    assert _pick(rows, "Table 1", "cifar10", "randn_he", "test accuracy (%)")["seeds"] == 2
    acc = _pick(rows, "Table 1", "average", "randn_he", "test accuracy (%)")
    # seed 2 lacks CIFAR-10: averaging its other two datasets (99%) would bias the average up
    assert acc["seeds"] == 2
    _assert_ci(acc, 91.0, T_975_1 * math.sqrt(2.0) / math.sqrt(2.0))  # 90 and 92: std sqrt(2), n 2


# --- write ----------------------------------------------------------------------------------------

def _table(paper: float) -> pd.DataFrame:
    row = {"source": "000", "table": "Table 1", "dataset": "mnist", "init": "he_normal",
           "quantity": "test accuracy (%)", "paper": paper, "ours_mean": 92.0, "ours_ci_low": 87.0,
           "ours_ci_high": 97.0, "seeds": 3, "paper_inside_ci": False}
    return pd.DataFrame([row], columns=summary.COLUMNS)


def test_write_replaces_both_files_and_leaves_nothing_else(tmp_path: Path) -> None:
    summary.write(_table(97.54), tmp_path)
    csv, md = summary.write(_table(12.34), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv", "summary.md"]
    assert pd.read_csv(csv)["paper"].tolist() == [12.34]
    assert "| 12.34 |" in md.read_text() and "97.54" not in md.read_text()
    mask = os.umask(0o022)
    os.umask(mask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~mask for p in (csv, md))  # not a temporary file's 0600


def test_interrupted_write_keeps_the_previous_summary(tmp_path: Path, monkeypatch) -> None:
    summary.write(_table(97.54), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_to_csv = pd.DataFrame.to_csv

    def interrupted(self, path_or_buf=None, *args, **kwargs):
        text = real_to_csv(self, None, *args, **kwargs)
        if path_or_buf is not None:  # written straight to the file: half of it, then the interruption
            Path(path_or_buf).write_text(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        summary.write(_table(12.34), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failure_before_the_move_keeps_both_files_and_removes_the_temporary_ones(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    summary.write(_table(97.54), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        summary.write(_table(12.34), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
