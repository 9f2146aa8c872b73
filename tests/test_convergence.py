"""Convergence metrics of validation curves, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab.convergence import METRICS, convergence_table, curve_metrics, reached_share, run_keys
from initlab.errors import InvalidArgumentError


def test_curve_metrics_by_hand() -> None:
    m = curve_metrics([0.5, 0.8, 0.95, 0.9], target=0.9)
    assert m["epochs_to_target"] == 3  # 0.95 at epoch 3 is the first value ≥ 0.9
    assert m["auc"] == pytest.approx(3.15 / 4)  # (0.5 + 0.8 + 0.95 + 0.9) / 4
    assert m["best_epoch"] == 3 and m["peak"] == 0.95
    assert m["final"] == 0.9
    assert m["collapse"] == pytest.approx(0.05)
    assert set(m) == set(METRICS)


def test_curve_metrics_target_reached_exactly_and_at_once() -> None:
    assert curve_metrics([0.9, 0.7], target=0.9)["epochs_to_target"] == 1  # ≥, not >
    assert curve_metrics([0.97, 0.97], target=0.5)["best_epoch"] == 1  # the first of equal peaks


def test_curve_metrics_never_reached_is_infinite() -> None:
    m = curve_metrics([0.2, 0.4, 0.6], target=0.9)
    assert m["epochs_to_target"] == np.inf
    assert m["collapse"] == 0.0 and m["best_epoch"] == 3


def test_curve_metrics_collapse() -> None:
    # learned after one epoch, then fell back to chance
    m = curve_metrics([0.70, 0.40, 0.13], target=0.5)
    assert m["epochs_to_target"] == 1 and m["best_epoch"] == 1
    assert m["collapse"] == pytest.approx(0.57)
    assert m["auc"] == pytest.approx(0.41)


def test_curve_metrics_non_finite_values() -> None:
    m = curve_metrics([0.5, np.nan, 0.95], target=0.9)
    assert m["epochs_to_target"] == 3 and m["best_epoch"] == 3 and m["peak"] == 0.95
    assert np.isnan(m["auc"])  # no area under a curve with a hole
    ended = curve_metrics([0.6, 0.8, np.inf], target=0.7)  # +inf is not a value that reaches anything
    assert ended["epochs_to_target"] == 2 and ended["peak"] == 0.8 and ended["best_epoch"] == 2
    assert np.isnan(ended["final"]) and np.isnan(ended["collapse"])
    dead = curve_metrics([np.nan, np.nan], target=0.1)
    assert dead["epochs_to_target"] == np.inf
    assert np.isnan(dead["peak"]) and np.isnan(dead["best_epoch"]) and np.isnan(dead["collapse"])


def test_curve_metrics_needs_an_epoch() -> None:
    with pytest.raises(InvalidArgumentError, match="values"):
        curve_metrics([], target=0.5)


def _runs() -> pd.DataFrame:
    curves = {  # (init, seed, depth, activation) → validation curve
        ("he", 0, 10, "relu"): [0.90, 0.96, 0.97],
        ("he", 1, 10, "relu"): [0.91, 0.95, 0.96],
        ("he", 0, 50, "relu"): [0.30, 0.50, 0.40],
        ("he", 0, 10, "tanh"): [0.97, 0.98, 0.98],
        ("zeros", 0, 10, "relu"): [0.11, 0.11, 0.11],
    }
    rows = [
        {
            "dataset": "mnist",
            "model": "mlp",
            "init": i,
            "seed": s,
            "depth": d,
            "activation": a,
            "epoch": e + 1,
            "val_accuracy": v,
            "test_accuracy": 0.0,
        }
        for (i, s, d, a), vs in curves.items()
        for e, v in enumerate(vs)
    ]
    return pd.DataFrame(rows).sample(frac=1, random_state=0)  # epochs out of order


def test_convergence_table_one_row_per_run() -> None:
    t = convergence_table(_runs(), target=0.96)
    assert len(t) == 5
    assert list(t.columns) == [*run_keys(_runs()), *METRICS]
    assert {"depth", "activation"} <= set(t.columns)
    t = t.set_index(["init", "seed", "depth", "activation"])
    assert t.loc[("he", 0, 10, "relu"), "epochs_to_target"] == 2  # epochs sorted before measuring
    assert t.loc[("he", 1, 10, "relu"), "epochs_to_target"] == 3
    assert t.loc[("he", 0, 10, "tanh"), "epochs_to_target"] == 1  # same init and seed, another activation
    assert t.loc[("he", 0, 50, "relu"), "epochs_to_target"] == np.inf  # same init and seed, another depth
    assert t.loc[("he", 0, 50, "relu"), "collapse"] == pytest.approx(0.1)
    assert t.loc[("he", 0, 10, "relu"), "auc"] == pytest.approx((0.90 + 0.96 + 0.97) / 3)


def test_convergence_table_other_value_and_unknown_value() -> None:
    df = _runs().assign(val_loss=lambda d: 1 - d["val_accuracy"])
    t = convergence_table(df, target=0.5, value="val_loss")
    assert t.set_index(["init", "depth", "activation"]).loc[("zeros", 10, "relu"), "epochs_to_target"] == 1
    with pytest.raises(InvalidArgumentError, match="val_acc"):
        convergence_table(_runs(), target=0.9, value="val_acc")


def test_reached_share() -> None:
    t = convergence_table(_runs(), target=0.96)
    share = reached_share(t[t["activation"] == "relu"], by=["init", "depth"]).set_index(["init", "depth"])
    assert share.loc[("he", 10)].tolist() == [2, 2, 2.5]  # runs, reached, median of 2 and 3
    assert share.loc[("he", 50), "reached"] == 0 and share.loc[("he", 50), "median_epochs"] == np.inf
    assert share.loc[("zeros", 10), "runs"] == 1
    mixed = pd.DataFrame({"init": ["a"] * 3, "epochs_to_target": [1.0, 2.0, np.inf]})
    r = reached_share(mixed).iloc[0]
    assert (r["runs"], r["reached"], r["median_epochs"]) == (3, 2, 2.0)  # most reached: a finite median
    most_never = pd.DataFrame({"init": ["a"] * 3, "epochs_to_target": [1.0, np.inf, np.inf]})
    assert reached_share(most_never).iloc[0]["median_epochs"] == np.inf
    half = pd.DataFrame({"init": ["a"] * 4, "epochs_to_target": [1.0, 2.0, np.inf, np.inf]})
    assert reached_share(half).iloc[0]["median_epochs"] == np.inf  # half never reached
