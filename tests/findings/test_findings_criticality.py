"""The criticality notebook's findings: every branch on small frames with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError
from initlab.findings import criticality as crit


def _grid(
    acc: dict[tuple[float, int, float], list[list[float]]],
    diverged: dict[tuple[float, int, float, int], int] | None = None,
) -> pd.DataFrame:
    """A trainability frame: ``acc[(σ_w², depth, rate)][seed]`` is the validation accuracy per epoch;
    ``diverged[(σ_w², depth, rate, seed)]`` the epoch a run diverged at."""
    rows = []
    for (w, d, rate), per_seed in acc.items():
        for seed, curve in enumerate(per_seed):
            at = (diverged or {}).get((w, d, rate, seed))
            for epoch, v in enumerate(curve, start=1):
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": "deep_mlp",
                        "init": "variance_scaling",
                        "seed": seed,
                        "epoch": epoch,
                        "val_accuracy": v,
                        "test_accuracy": v,
                        "status": "diverged" if at else "ok",
                        "diverged_epoch": at,
                        "sigma_w2": w,
                        "depth": d,
                        "learning_rate": rate,
                    }
                )
    return pd.DataFrame(rows)


def test_budget_scores_count_a_run_diverged_by_then_as_zero() -> None:
    df = _grid({(1.0, 4, 0.01): [[0.5, 0.6], [0.4, 0.7]]}, diverged={(1.0, 4, 0.01, 1): 2})
    s = crit.budget_scores(df, crit.CELL, [1, 2]).set_index(["seed", "budget"])["value"]
    assert s.to_dict() == {(0, 1): 0.5, (0, 2): 0.6, (1, 1): 0.4, (1, 2): 0.0}


def test_chosen_rates_take_the_best_mean_per_budget_ties_to_the_larger_rate() -> None:
    df = _grid(
        {
            (1.0, 4, 0.01): [[0.5, 0.6], [0.5, 0.6]],
            (1.0, 4, 0.03): [[0.3, 0.9], [0.3, 0.9]],
            (1.0, 4, 0.1): [[0.5, 0.2], [0.5, 0.2]],
        }
    )
    c = crit.chosen_rates(crit.budget_scores(df, crit.CELL, [1, 2]), crit.CELL).set_index("budget")
    assert c.loc[1, ["learning_rate", "edge", "rates"]].tolist() == [0.1, "highest", 3]  # a tie: the larger
    assert c.loc[2, ["learning_rate", "edge", "score"]].tolist() == [0.03, "", 0.9]


def test_cell_grades_judge_each_cell_at_its_rate_with_most_seeds() -> None:
    df = _grid(
        {
            (1.0, 8, 0.01): [[0.8], [0.9], [0.1]],
            (1.0, 32, 0.01): [[0.1], [0.25], [0.1]],
            (1.0, 32, 0.03): [[0.1], [0.1], [0.1]],
        }
    )
    t = crit.cell_grades(df, [1], 0.2, sigma_b2=0.05).set_index("depth")
    xi = 3.627  # ξ_c of tanh at σ_w² = 1, σ_b² = 0.05 (test_meanfield pins it)
    assert t.loc[8, ["trained", "runs", "grade", "trains", "inside"]].tolist() == [2, 3, "mixed", True, True]
    assert t.loc[32, ["trained", "grade", "trains", "inside", "learning_rate"]].tolist() == [
        1,
        "mixed",
        False,
        False,
        0.01,
    ]
    assert t.loc[8, "ratio"] == pytest.approx(8 / xi, rel=1e-3) and t.loc[8, "max_depth"] == pytest.approx(
        6 * xi, rel=1e-3
    )
    assert 0 <= t.loc[32, "ci_low"] <= t.loc[32, "mean"] <= t.loc[32, "ci_high"] <= 1  # a bounded interval
    assert t.loc[8, "phase"] == "ordered"
    table = crit.cell_table(t.reset_index(), 1)
    assert table.loc[8, 1.0] == "60 (2/3) @0.01*" and table.loc[32, 1.0] == "15 (1/3) @0.01*"


@pytest.mark.parametrize(
    ("ratios", "trains", "expected"),
    [
        ([1, 2, 3, 4], [1, 1, 0, 0], (2, 3, 0)),
        ([1, 2, 3, 4, 5], [1, 0, 1, 0, 0], (1, 4, 1)),  # two best stretches, 1-2 and 3-4: the range spans both
        ([1, 2], [1, 1], (2, math.inf, 0)),  # open above
        ([1, 2], [0, 0], (0, 1, 0)),
        ([2, 2, 3], [1, 0, 0], (0, 3, 1)),  # tied ratios share a side: below 2 or below 3, one error either way
    ],
)
def test_separating_range(ratios, trains, expected) -> None:
    assert crit.separating_range(ratios, np.asarray(trains, bool)) == expected


ORDERED = (2.0, 3.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0, 14.0, 16.0, 20.0)
CHAOTIC = (1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 12.0)


def _cells(budget: int, ordered_below: float, chaotic_below: float = 6.0) -> pd.DataFrame:
    """Cells whose ratio depth / ξ_c is given, training below a multiplier per side."""
    rows = [("ordered", r, r < ordered_below) for r in ORDERED] + [("chaotic", r, r < chaotic_below) for r in CHAOTIC]
    return pd.DataFrame(
        {
            "sigma_w2": np.arange(len(rows)) / 10 + 0.5,
            "depth": 8,
            "budget": budget,
            "phase": [p for p, _, _ in rows],
            "ratio": [r for _, r, _ in rows],
            "inside": [r < 6 for _, r, _ in rows],
            "trains": [t for _, _, t in rows],
        }
    )


def test_boundary_fit_per_side_with_an_interval_from_resampled_cells() -> None:
    cells = pd.concat([_cells(1, 6.0), _cells(4, 12.0)])
    fits = crit.boundary_fit(cells, resamples=500).set_index(["budget", "phase"])
    one, four, chaotic = fits.loc[(1, "ordered")], fits.loc[(4, "ordered")], fits.loc[(4, "chaotic")]
    assert (one["low"], one["high"], one["errors"]) == (5.0, 8.0, 0)
    assert one["k"] == pytest.approx(math.sqrt(40.0)) and four["k"] == pytest.approx(math.sqrt(11.0 * 14.0))
    assert 6.0 < four["ci_low"] <= four["k"] <= four["ci_high"]  # open above (inf) where a resample drops 14-20
    assert (four["outside"], four["outside_trained"]) == (7, 4) and not four["six_in_ci"]
    assert chaotic["k"] == pytest.approx(math.sqrt(35.0)) and chaotic["ci_low"] < 6.0 and chaotic["six_in_ci"]
    assert crit.phase_verdicts(fits.reset_index()) == {"ordered": "contradicted", "chaotic": "holds"}
    assert crit.bound_verdict(fits.reset_index()) == "mixed"
    growth = crit.boundary_growth(cells, resamples=500).set_index("phase")
    assert growth.loc["ordered", "ratio"] == pytest.approx(math.sqrt(154 / 40)) and growth.loc["ordered", "ci_low"] > 1
    assert growth.loc["chaotic", "ratio"] == pytest.approx(1.0)
    words = {1: "one epoch", 4: "four epochs"}
    text = crit.bound_text(
        cells.assign(edge="", mean=0.5, learning_rate=0.01),
        fits.reset_index(),
        growth.reset_index(),
        threshold=0.2,
        budget_words=words,
        validation_images=1000,
    )
    assert "**one epoch:**" in text and "- ordered side: k = 6.3" in text
    assert "above 6: nets train beyond the bound" in text and "6 lies inside it" in text
    assert "the boundary on the ordered side grew" in text and "on the chaotic side did not move" in text
    assert "ordered side: **contradicted**; chaotic side: **holds**" in text and "prediction **mixed**" in text
    assert "11 of them below 20%" in text
    table = crit.fit_table(fits.reset_index(), words)
    assert table.loc[("one epoch", "ordered"), "k separating the cells"] == "5–8 (0 misclassified)"


def test_an_open_boundary() -> None:
    every = crit.boundary_fit(_cells(4, 100.0, 100.0), resamples=50)  # every cell trains, 20 ξ_c included
    assert np.isinf(every["k"]).all() and crit.bound_verdict(every) == "contradicted"
    shallow = _cells(4, 100.0, 100.0)
    shallow = shallow[shallow["ratio"] < 6]  # nothing beyond the bound to test it
    assert crit.bound_verdict(crit.boundary_fit(shallow, resamples=50)) == "not established"


def test_bound_verdict_and_reading() -> None:
    def fits(ci_low: float, ci_high: float = 8.0, outside: int = 2) -> pd.DataFrame:
        row = {"budget": 4, "k": 6.5, "low": 6.0, "high": 7.0, "ci_low": ci_low, "ci_high": ci_high}
        return pd.DataFrame(
            [
                {**row, "phase": "ordered", "outside": outside, "outside_trained": 1},
                {**row, "phase": "chaotic", "outside": 0, "outside_trained": 0, "ci_low": 5.0},  # none beyond
            ]
        )

    assert crit.bound_verdict(fits(5.0)) == "holds"
    assert crit.bound_verdict(fits(6.2)) == "contradicted"  # the whole interval above 6
    assert crit.bound_verdict(fits(5.0, outside=0)) == "not established"
    assert crit.bound_verdict(fits(5.0, ci_high=math.inf)) == "not established"  # cannot rule out k > 6
    reading = crit.bound_reading(fits(5.0))
    assert reading == {
        "verdict": "holds",
        "ordered": "holds",
        "chaotic": "not established",
        "k/ordered/4": 6.5,
        "k/chaotic/4": 6.5,
        "tolerances": {"k/ordered/4": 1.5, "k/chaotic/4": 1.5},
    }


def test_fmt_k() -> None:
    assert [crit.fmt_k(v) for v in (5.33, 0.412, 12.4, 0.0, math.inf)] == ["5.3", "0.41", "12", "0", "∞"]


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
                            "diverged_epoch": None,
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
    rates = crit.isometry_rates(runs)
    assert set(rates["learning_rate"]) == {0.01} and set(rates["edge"]) == {"only rate"}
    text = crit.isometry_text(t.reset_index(), 8, 4, rates=rates, budget="two epochs")
    assert "Budget: two epochs" in text and "only rate" in text
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


def test_agreement_counts_in_words() -> None:
    words = crit.agreement_counts(pd.Series(["agrees", "agrees", "undecided"]))
    assert words == (
        "The spectra's prediction agrees with 2 of 3 tests; it disagrees with 0; 1 is undecided (inconclusive tests)."
    )
    assert crit.agreement_counts(pd.Series(["disagrees"])).endswith("disagrees with 1.")


def test_the_grids_are_studies_run_by_run_grid_and_extended_at_an_edge(tmp_path) -> None:
    from initlab.rate_choice import extension
    from initlab.training.record import RESULT_COLUMNS
    from initlab.training.study import Study

    small = dict(width=8, seeds=[0, 1], train_limit=128, test_limit=64, cache_root=str(tmp_path))
    df = crit.trainability_runs(
        "mnist", [1.0, 2.0], [1, 2], sigma_b2=0.05, learning_rates=[0.05], budgets=[1], rate_limits=None, **small
    )
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
    mine = df[(df.depth == 2) & (df.sigma_w2 == 2.0)].reset_index(drop=True)
    # The same runs, whatever their stack mates: equal to a float32 rounding of the loss.
    np.testing.assert_allclose(mine["loss"], alone["loss"], rtol=1e-4)
    assert (mine["init"] == alone["init"]).all() and (mine["seed"] == alone["seed"]).all()

    limits = (0.01, 0.3)
    grid = crit.trainability_runs(
        "mnist", [1.0], [1], sigma_b2=0.05, learning_rates=[0.01, 0.03], budgets=[1, 2], rate_limits=limits, **small
    )
    means = crit.budget_scores(grid, crit.CELL, [1, 2]).groupby(["budget", "learning_rate"])["value"].mean()
    for b in (1, 2):
        assert extension(means[b].index.to_numpy(), means[b].to_numpy(), limits) is None  # nothing left to extend
    assert set(grid["learning_rate"]) <= {0.01, 0.03, 0.1, 0.3} and grid["epoch"].max() == 2
    iso = crit.isometry_runs(
        "mnist", [("tanh", 0.05), ("relu", 0.0)], depth=2, learning_rates=[0.05], epochs=1, rate_limits=None, **small
    )
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
