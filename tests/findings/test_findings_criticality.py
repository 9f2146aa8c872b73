"""The criticality notebook's findings: every branch on small frames with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError
from initlab.findings import criticality as crit


def _grid(acc: dict[tuple[float, int], list[float]], status: dict | None = None) -> pd.DataFrame:
    """A trainability frame: ``acc[(σ_w², depth)][seed]`` is the test accuracy (one epoch)."""
    rows = []
    for (w, d), values in acc.items():
        for seed, v in enumerate(values):
            rows.append(
                {
                    "dataset": "mnist",
                    "model": "deep_mlp",
                    "init": "variance_scaling",
                    "seed": seed,
                    "epoch": 1,
                    "test_accuracy": v,
                    "val_accuracy": v,
                    "wall_time": 1.0,
                    "status": (status or {}).get((w, d, seed), "ok"),
                    "sigma_w2": w,
                    "depth": d,
                }
            )
    return pd.DataFrame(rows)


LIMITS = {1.0: 20.0, 2.0: 100.0}  # 6 ξ_c per σ_w²


def test_trainability_table_grades_each_cell_run_by_run() -> None:
    df = _grid(
        {(1.0, 8): [0.8, 0.9, 0.7], (1.0, 32): [0.1, 0.1, 0.1], (2.0, 32): [0.6, 0.15, math.nan]},
        status={(2.0, 32, 2): "diverged"},
    )
    t = crit.trainability_table(df, 0.2, LIMITS).set_index(["sigma_w2", "depth"])
    assert t.loc[(1.0, 8), ["trained", "runs", "grade", "inside"]].tolist() == [3, 3, "trains", True]
    assert t.loc[(1.0, 32), ["trained", "grade", "inside"]].tolist() == [0, "fails", False]
    mixed = t.loc[(2.0, 32)]
    assert (mixed["trained"], mixed["grade"], mixed["diverged"]) == (1, "mixed", 1)  # a diverged run did not train
    assert mixed["mean"] == pytest.approx(0.375)  # over the finished runs
    assert t.loc[(1.0, 8), "mean"] == pytest.approx(0.8)
    assert t.loc[(1.0, 8), "max_depth"] == 20.0
    cells = crit.cell_table(t.reset_index())
    assert cells.loc[32, 1.0].startswith("10.0 ± 0.0 (0/3)") and cells.loc[32, 2.0].endswith("(1/3)")
    assert crit.trained_flags(t.reset_index(), inside=True).tolist() == [1, 1, 1, 1, 0, 0]
    assert crit.trained_flags(t.reset_index(), inside=False).tolist() == [0, 0, 0]


def test_prediction_holds_when_nothing_outside_trains() -> None:
    df = _grid({(1.0, 8): [0.8, 0.9, 0.7], (1.0, 32): [0.1, 0.1, 0.1], (2.0, 32): [0.6, 0.15, 0.5]})
    t = crit.trainability_table(df, 0.2, LIMITS)
    s = crit.prediction_summary(t)
    assert s.loc["inside", ["runs", "trained", "cells_trained"]].tolist() == [6, 5, 1]
    assert s.loc["outside", ["runs", "trained", "cells_failed"]].tolist() == [3, 0, 1]
    # Fisher, one-sided: P(≥ 5 of the 5 trained runs fall among the 6 inside, out of 9) = C(6,5)·C(3,0)/C(9,5)
    assert crit.fisher_p(s) == pytest.approx(6 / 126)
    text = crit.prediction_text(t, 0.2, "one epoch")
    assert "**holds**" in text and "5 of 6 runs" in text
    assert "σ_w² = 2, depth 32 (6ξ_c = 100; 2 of 3 trained)" in text  # inside but not every seed trained


def test_prediction_is_contradicted_by_a_deep_net_that_trains() -> None:
    df = _grid({(1.0, 8): [0.8, 0.9], (1.0, 32): [0.5, 0.1]})
    text = crit.prediction_text(crit.trainability_table(df, 0.2, LIMITS), 0.2, "one epoch")
    assert "**is contradicted**" in text and "σ_w² = 1, depth 32 (6ξ_c = 20; 1 of 2 trained)" in text
    assert "Every cell inside the bound trained" in text
    inside_only = crit.trainability_table(_grid({(1.0, 8): [0.8, 0.9]}), 0.2, LIMITS)
    assert "**is not established**" in crit.prediction_text(inside_only, 0.2, "one epoch")
    assert math.isnan(crit.fisher_p(crit.prediction_summary(inside_only)))


def _iso_runs(auc: dict[str, dict[str, list[float]]], epochs: int = 2) -> pd.DataFrame:
    """Isometry runs whose validation curve is flat at ``auc[setup][kernel][seed]``."""
    rows = []
    for setup, kernels in auc.items():
        for kernel, values in kernels.items():
            for seed, v in enumerate(values):
                for epoch in range(1, epochs + 1):
                    rows.append(
                        {
                            "dataset": "mnist",
                            "model": "deep_mlp",
                            "init": crit.KERNEL_INIT[kernel],
                            "seed": seed,
                            "epoch": epoch,
                            "val_accuracy": v,
                            "test_accuracy": v,
                            "depth": 8,
                            "activation": setup.split(",")[0],
                            "setup": setup,
                            "kernel": kernel,
                            "learning_rate": 0.01,
                            "status": "ok",
                        }
                    )
    return pd.DataFrame(rows)


def _summary(near: dict[str, tuple[float, float]], depth: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"setup": s, "kernel": k, "depth": depth, "near_share": v}
            for s, (o, g) in near.items()
            for k, v in (("orthogonal", o), ("gaussian", g))
        ]
    )


def test_isometry_tests_pair_by_seed_and_compare_with_the_spectra() -> None:
    runs = _iso_runs(
        {
            "linear": {"orthogonal": [0.90, 0.92, 0.91, 0.93], "gaussian": [0.80, 0.81, 0.79, 0.80]},
            "relu": {"orthogonal": [0.50, 0.52, 0.51, 0.50], "gaussian": [0.501, 0.519, 0.511, 0.499]},
        }
    )
    t = crit.isometry_tests(runs, _summary({"linear": (1.0, 0.1), "relu": (0.05, 0.05)})).set_index("setup")
    assert t.loc["linear", "mean"] == pytest.approx(0.115)
    assert t.loc["linear", ["predicted", "verdict", "agreement"]].tolist() == ["orthogonal", "supported", "agrees"]
    assert t.loc["relu", ["predicted", "verdict", "agreement"]].tolist() == ["neither", "equivalent", "agrees"]
    assert t.loc["linear", "p_adj"] >= t.loc["linear", "p"]  # one Holm family of two tests
    text = crit.isometry_text(t.reset_index(), 8, 4)
    assert "Holm" in text and "linear: orthogonal 100%, Gaussian 10%" in text and "the prediction agrees" in text
    with pytest.raises(InvalidArgumentError, match="depth 8"):
        crit.isometry_tests(runs, _summary({"linear": (1.0, 0.1), "relu": (0.05, 0.05)}, depth=4))
    speed = crit.speed_runs(runs)
    assert len(speed) == 16 and set(speed["kernel"]) == {"orthogonal", "gaussian"}
    assert crit.speed_table(speed).loc[("linear", "orthogonal"), "area under validation curve"].startswith("91.50 ±")


def test_agreement_table() -> None:
    assert crit.agreement("orthogonal", "supported") == "agrees"
    assert crit.agreement("orthogonal", "equivalent") == "disagrees"
    assert crit.agreement("gaussian", "reversed") == "agrees"
    assert crit.agreement("gaussian", "supported") == "disagrees"
    assert crit.agreement("neither", "supported") == "disagrees"
    assert crit.agreement("orthogonal", "inconclusive") == "undecided"


def test_named_scales_on_the_map_and_the_advice_of_002() -> None:
    p = crit.named_points(("tanh", "relu")).set_index(["activation", "scale"])
    assert p.loc[("tanh", "Glorot"), "phase"] == p.loc[("tanh", "LeCun"), "phase"] == "critical"
    assert p.loc[("tanh", "He"), "phase"] == "chaotic"
    assert p.loc[("relu", "He"), "phase"] == "critical"
    assert p.loc[("relu", "Glorot"), "chi1"] == pytest.approx(0.5)
    assert p.loc[("relu", "Glorot"), "max_depth"] == pytest.approx(6 / math.log(2))  # ξ_c = −1 / ln(1/2)
    assert crit.advice_verdict(p.reset_index()) == "holds"
    swapped = p.reset_index().assign(phase=lambda t: np.where(t["scale"] == "He", "critical", t["phase"]))
    assert crit.advice_verdict(swapped) == "is contradicted"  # He critical for tanh too: not the advice
    text = crit.sources_text(p.reset_index(), {"tanh, σ_b² = 0.05": 1.761, "relu": 2.0})
    assert "`002_aee8d08a7a4b8178.txt`" in text and "`004_89339e7897266897.txt`" in text
    assert "**holds**" in text and "tanh, σ_b² = 0.05 → He; relu → He" in text


def test_simulation_table_counts_covered_points() -> None:
    rows = []
    for layer in (0, 1, 2):
        for seed, noise in enumerate((-0.01, 0.0, 0.01)):
            shift = 0.2 if layer == 2 else 0.0  # layer 2 misses the prediction by far more than its interval
            rows.append(
                {
                    "sigma_w2": 1.0,
                    "c0": 0.5,
                    "layer": layer,
                    "seed": seed,
                    "predicted": 0.6,
                    "correlation": 0.6 + noise + shift,
                }
            )
    t = crit.simulation_table(pd.DataFrame(rows)).iloc[0]
    assert (t["points"], t["seeds"]) == (2, 3)  # layer 0 is the exact start, not a point
    assert t["covered"] == pytest.approx(0.5) and t["max_abs_error"] == pytest.approx(0.2)
    assert t["mean_abs_error"] == pytest.approx(0.1)
    assert "50% of intervals hold it" in crit.simulation_text(pd.DataFrame([t]), 100)


def test_run_parameters() -> None:
    assert crit.gaussian_params(1.5) == {"scale": 1.5, "mode": "fan_in", "distribution": "untruncated_normal"}
    assert crit.net_params(4, 16, "tanh", sigma_b2=0.05)["bias_std"] == pytest.approx(math.sqrt(0.05))
    assert "bias_std" not in crit.net_params(
        4, 16, "relu", sigma_b2=0.0
    )  # zeros: the model's default, its cache key unchanged
    assert crit.max_depths([1.0], 0.05)[1.0] == pytest.approx(6 * 3.627, abs=0.01)


def test_bound_verdict_words() -> None:
    def table(outside_trained: int | None) -> pd.DataFrame:
        rows = [{"inside": True, "trained": 3, "runs": 3}]
        if outside_trained is not None:
            rows.append({"inside": False, "trained": outside_trained, "runs": 3})
        return pd.DataFrame(rows)

    assert crit.bound_verdict(table(0)) == "holds"
    assert crit.bound_verdict(table(1)) == "is contradicted"
    assert crit.bound_verdict(table(None)) == "is not established"


def test_agreement_counts_in_words() -> None:
    words = crit._agreement_counts(pd.Series(["agrees", "agrees", "undecided"]))
    assert words == (
        "The spectra's prediction agrees with 2 of 3 tests; it disagrees with 0; 1 is undecided (inconclusive tests)."
    )
    assert crit._agreement_counts(pd.Series(["disagrees"])).endswith("disagrees with 1.")


def test_the_grids_are_studies_run_by_run_grid_with_the_numbers_of_studies_of_their_own(tmp_path) -> None:
    from initlab.training.record import RESULT_COLUMNS
    from initlab.training.study import Study

    small = dict(
        width=8, seeds=[0, 1], learning_rate=0.05, epochs=1, train_limit=128, test_limit=64, cache_root=str(tmp_path)
    )
    df = crit.trainability_runs("mnist", [1.0, 2.0], [1, 2], sigma_b2=0.05, **small)
    assert list(df.columns) == RESULT_COLUMNS + [
        "sigma_w2",
        "sigma_b2",
        "depth",
        "width",
        "activation",
        "learning_rate",
        "kernel",
    ]
    assert list(df[["depth", "sigma_w2", "seed"]].itertuples(index=False, name=None)) == [
        (d, w, s) for d in (1, 2) for w in (1.0, 2.0) for s in (0, 1)
    ]
    alone = Study(
        "mnist",
        "deep_mlp",
        ("variance_scaling",),
        seeds=(0, 1),
        epochs=1,
        optimizer="sgd",
        learning_rate=0.05,
        train_limit=128,
        test_limit=64,
        init_params={"variance_scaling": crit.gaussian_params(2.0)},
        model_params=crit.net_params(2, 8, "tanh", sigma_b2=0.05),
    ).run(cache=False)
    mine = df[(df.depth == 2) & (df.sigma_w2 == 2.0)][RESULT_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine.drop(columns="wall_time"), alone.drop(columns="wall_time"))  # same stacks
    iso = crit.isometry_runs("mnist", [("tanh", 0.05), ("relu", 0.0)], depth=2, **small)
    assert list(iso[["activation", "kernel"]].drop_duplicates().itertuples(index=False, name=None)) == [
        ("tanh", "gaussian"),
        ("tanh", "orthogonal"),
        ("relu", "gaussian"),
        ("relu", "orthogonal"),
    ]
    assert list(iso.columns)[len(RESULT_COLUMNS) :] == [
        "sigma_w2",
        "sigma_b2",
        "depth",
        "width",
        "activation",
        "setup",
        "learning_rate",
        "kernel",
    ]
