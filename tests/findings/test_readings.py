"""The findings' readings for the claims ledger (the words and numbers a notebook records under a claim's id),
each on a hand-made frame whose answer is known, every branch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab.findings import catalogue, deep, desai, histograms, patel, symmetry
from initlab.findings import criticality as crit
from initlab.findings import optimizers as opt


def _sym(units: dict[str, list[int]]) -> pd.DataFrame:
    """hidden_1's distinct units per epoch (0 first), one seed."""
    return pd.DataFrame(
        [
            {"init": init, "seed": 0, "epoch": e, "layer": layer, "unit_spread": 0.0, "distinct_units": n}
            for init, per_epoch in units.items()
            for e, n in enumerate(per_epoch)
            for layer in ("hidden_1", "output")
        ]
    )


def test_units_reading() -> None:
    sym = _sym({"zeros": [1, 1, 1], "ones": [1, 1, 1], "he_normal": [4, 4, 4]})
    assert symmetry.units_reading(sym, ["zeros", "ones"], ["he_normal"]) == {
        "verdict": "holds",
        "constant_units_max": 1,
        "random_units_min": 4,
        "units": 4,
    }
    broken = _sym({"zeros": [1, 2, 2], "ones": [1, 1, 1], "he_normal": [4, 3, 4]})
    assert symmetry.units_reading(broken, ["zeros", "ones"], ["he_normal"])["verdict"] == "mixed"
    assert symmetry.units_reading(broken, ["zeros"])["verdict"] == "fails"
    assert symmetry.units_reading(broken, ["constant"]) == {"verdict": "not tested"}  # not run: left out


def test_zero_gradient_reading() -> None:
    grads = pd.DataFrame(
        [
            {"init": i, "layer": layer, "precision": p, "kernel_grad_norm": v}
            for i, v in (("zeros", 0.0), ("ones", 4e-15))
            for layer in ("hidden_1", "output")
            for p in ("float32", "float64")
        ]
    )
    assert symmetry.zero_gradient_reading(grads) == {"verdict": "holds", "largest_norm": 0.0}
    assert symmetry.zero_gradient_reading(grads, "ones")["verdict"] == "fails"
    assert symmetry.zero_gradient_reading(grads, "he_normal") == {"verdict": "not tested"}


def test_zero_histogram_reading() -> None:
    stats = pd.DataFrame(
        [
            {"init": "zeros", "stage": s, "layer": f"hidden_{k}", "seed": 0, "frac_zero": f}
            for s, f in (("trained", 1.0), ("at init", 0.5))
            for k in (1, 2)
        ]
    )
    assert histograms.zero_reading(stats) == {"verdict": "holds", "frac_zero_min": 1.0}
    assert histograms.zero_reading(stats, stage="at init")["verdict"] == "fails"
    assert histograms.zero_reading(stats[stats["init"] == "he_normal"]) == {"verdict": "not tested"}


def test_gradient_reading_shows_the_words_and_decides_nothing() -> None:
    inits = ["random_normal", "random_uniform", "zeros"]
    summary = pd.DataFrame({"verdict": ["neither", "explodes", "zero"]}, index=inits)
    assert catalogue.gradient_reading(summary) == {
        "verdict": "descriptive",
        "random_normal/gradient": "neither",
        "random_uniform/gradient": "explodes",
    }


def _growth() -> pd.DataFrame:
    rows = [
        ("relu", "he_normal", "keeps", "keeps"),
        ("tanh", "he_normal", "keeps", "explodes"),
        ("relu", "random_normal_1", "explodes", "explodes"),
        ("tanh", "random_normal_1", "keeps", "vanishes"),
        ("relu", "orthogonal", "vanishes", "keeps"),
    ]
    return pd.DataFrame(rows, columns=["activation", "init", "forward", "backward"])


def test_propagation_reading() -> None:
    v = _growth()
    he_relu = deep.propagation_reading(v, inits=["he_normal"], activations=["relu"])
    assert he_relu == {"verdict": "holds", "relu/he_normal/forward": "keeps", "relu/he_normal/backward": "keeps"}
    assert deep.propagation_reading(v, inits=["he_normal"])["verdict"] == "mixed"
    assert deep.propagation_reading(v, inits=["random_normal_1"], keeps=False)["verdict"] == "holds"
    assert deep.propagation_reading(v, inits=["random_normal_1"])["verdict"] == "fails"
    backward = deep.propagation_reading(v, inits=["orthogonal"], directions=["backward"])
    assert backward == {"verdict": "holds", "relu/orthogonal/backward": "keeps"}
    assert deep.propagation_reading(v, inits=["lsuv"]) == {"verdict": "not tested"}


def test_snn_reading_and_trains_by_depth() -> None:
    answers = pd.DataFrame({"answer": ["holds", "fails", "fails"]})
    assert deep.snn_reading(answers) == {"verdict": "mixed", "tally": "1 holds, 2 fails"}
    assert deep.snn_reading(answers.iloc[:1])["verdict"] == "holds"
    table = pd.DataFrame(
        {
            "depth": [5, 5, 50, 50, 50],
            "preprocess": ["scale", "scale", "scale", "scale", "standardize"],
            "status": ["trains", "fails", "fails", "diverged", "trains"],
        }
    )
    assert deep.trains_by_depth(table) == {
        "trains/depth 5": 1,
        "setups/depth 5": 2,
        "trains/depth 50": 0,
        "setups/depth 50": 2,
    }


def _tests() -> pd.DataFrame:
    rows = []
    for model, condition, setting, verdicts in (
        ("mlp_128", "default", "adam", ["supported", "supported"]),
        ("mlp_128", "default", "sgd", ["supported", "reversed"]),
        ("mlp_128", "best", "adam", ["equivalent", "equivalent"]),
        ("mlp_128", "best", "sgd", ["equivalent", "inconclusive"]),
    ):
        for k, v in enumerate(verdicts):
            p = {"supported": 1e-4, "reversed": 0.03, "equivalent": 0.6, "inconclusive": 0.3}[v]
            q = 0.01 if v == "equivalent" else 0.5
            rows.append(
                {"model": model, "condition": condition, "optimizer_setting": setting, "claim": f"{setting}: {k}"}
                | {"verdict": v, "p_adj": p, "p_equiv_adj": q, "exact": False}
            )
    return pd.DataFrame(rows)


def test_ranking_and_washout_readings() -> None:
    tests = _tests()
    default = opt.ranking_reading(tests, "mlp_128", "default")
    assert default == {"verdict": "mixed", "p": [0.03, None], "adam": "holds", "sgd": "contradicted"}
    best = opt.ranking_reading(tests, "mlp_128", "best")
    assert best["verdict"] == "not established" and best["p"] == [0.6, 0.01]
    washout = opt.washout_reading(tests)
    assert washout["verdict"] == "mixed" and washout["tally"] == "2 not washed out, 1 undecided, 1 washed out"
    assert washout["mlp_128/best/adam"] == "washed out" and washout["mlp_128/best/sgd"] == "undecided"


def test_scale_and_window_readings() -> None:
    gaps = pd.DataFrame({"verdict": ["supported", "supported"], "p_adj": [0.001, 0.02], "p_equiv_adj": [0.9, 0.9]})
    ratios = pd.DataFrame({"optimizer": ["adam", "sgd"], "step_ratio": [0.5, 0.001]})
    assert opt.scale_reading(gaps, ratios) == {"verdict": "consistent", "p": [0.02, None], "tally": "2 supported"}
    best = pd.DataFrame(
        {"trains": [True, True, False], "edge": ["", "lowest", "highest"], "window_max": [0.5, np.inf, np.inf]}
    )
    assert opt.window_reading(best) == {
        "verdict": "descriptive",
        "setups": 3,
        "trains": 2,
        "best_at_edge": 2,
        "open_windows": 2,
    }


def test_advice_reading() -> None:
    advice = crit.advice_reading(crit.named_points(("tanh", "relu")))
    assert advice["verdict"] == "holds" and advice["relu/He"] == "critical" and advice["relu/Glorot"] != "critical"


def test_replay_gaps() -> None:
    keys = {"dataset": "mnist", "seed": 0}
    runs = pd.DataFrame(
        [{**keys, "init": "zeros", "epoch": e, "accuracy": 0.1, "test_accuracy": 0.1, "loss": 2.3} for e in (1, 2)]
        + [{**keys, "init": "he_normal", "epoch": 1, "accuracy": 0.9, "test_accuracy": 0.9, "loss": 0.3}]
    )
    replayed = runs[runs["init"] == "zeros"].assign(accuracy=[0.1, 0.1002], loss=[2.3, 2.3001])
    acc, loss, n = patel.replay_gaps(runs, replayed)
    assert (acc, loss, n) == (pytest.approx(0.0002), pytest.approx(0.0001), 1)


def test_published_rows_are_the_numbers_of_the_printed_comparison() -> None:
    rows = []
    for init, values in {"random_normal": [0.970, 0.972, 0.974], "random_uniform": [0.9745] * 3}.items():
        for seed, v in enumerate(values):
            rows += [
                {"dataset": "mnist", "model": "mlp_128", "init": init, "seed": seed, "epoch": e}
                | {"accuracy": v, "val_accuracy": v, "test_accuracy": v, "status": "ok"}
                for e in (1, 2)
            ]
    df = pd.DataFrame(rows)
    numbers, printed = desai.published_rows(df), desai.published_comparison(df)
    assert len(numbers) == len(printed) == 10 and set(numbers["column"]) == set(desai.TABLE_1)
    assert list(numbers["verdict"]) == list(printed["paper vs. PI"])
    assert [f"{v:.2f}" for v in numbers["paper"]] == list(printed["paper (%)"])
    assert [f"{v:.2f}" for v in numbers["ours_mean"]] == list(printed["ours, mean (%)"])
