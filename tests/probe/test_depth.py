"""Deep networks: growth verdicts, diagnostics at initialization, grades, learning rates, and the
claim tests and texts of :mod:`initlab.findings.deep`, on synthetic frames with hand-computed answers.

Tolerances for measured growth follow tests/probe/test_propagation.py: one layer changes
ln(std) by a random step of standard deviation about 0.5 sqrt(5/n) (ReLU, width n),
so the per-layer factor from the two end layers of an L-layer net, ln(ratio) / (L - 1),
has a standard error of about that over sqrt(L - 1); we allow 5 of them plus the
finite-width drift of -1.25/n per layer.
"""

from __future__ import annotations

import math
import warnings

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

from initlab import plots
from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.findings import deep
from initlab.nets.models import build_model
from initlab.probe import depth
from initlab.probe.propagation import signal_propagation
from initlab.stats import verdict_mark

matplotlib.use("Agg")

D, N_SAMPLES = 32, 256
X = np.random.default_rng(0).standard_normal((N_SAMPLES, D)).astype("float32")
Y = np.random.default_rng(1).integers(0, 10, N_SAMPLES)


def test_growth_handles_underflow_and_overflow() -> None:
    assert depth.growth(2.0, 1.0) == 0.5
    assert depth.growth(1.0, 0.0) == 0.0 and depth.growth(0.0, 0.0) == 0.0  # nothing left
    assert depth.growth(1.0, math.inf) == math.inf and depth.growth(math.nan, 1.0) == math.inf
    assert depth.growth(0.0, 1.0) == math.inf


def test_classify_thresholds() -> None:
    assert [depth.classify(r) for r in (0.099, 0.1, 1.0, 10.0, 10.1)] == [
        "vanishes",
        "keeps",
        "keeps",
        "keeps",
        "explodes",
    ]
    assert depth.classify(math.inf) == "explodes" and depth.classify(0.0) == "vanishes"
    assert depth.classify(0.4, threshold=2.0) == "vanishes"
    # 49 layers of x1.05 compound to x10.9: a slow drift, not an explosion; x1.2 per layer explodes
    assert depth.classify(1.05**49, layers=49) == "grows slowly" and depth.classify(1.05**-49, layers=49) == (
        "shrinks slowly"
    )
    assert depth.classify(1.2**49, layers=49) == "explodes" and depth.classify(1.05**49) == "explodes"
    assert depth.classify(math.inf, layers=49) == "explodes" and depth.classify(0.0, layers=49) == "vanishes"
    with pytest.raises(InvalidArgumentError, match="threshold"):
        depth.classify(1.0, threshold=1.0)


def _synthetic(per_layer_act: float, per_layer_grad: float, layers: int = 11) -> pd.DataFrame:
    rows = []
    for i in range(1, layers + 1):
        rows += [
            {
                "activation": "linear",
                "init": "x",
                "layer_index": i,
                "statistic": "activation_std",
                "value": per_layer_act ** (i - 1),
            },
            {
                "activation": "linear",
                "init": "x",
                "layer_index": i,
                "statistic": "activation_grad_norm",
                "value": per_layer_grad ** (layers - i),
            },
        ]  # gradients grow from the head towards the input
    return pd.DataFrame(rows)


def test_growth_verdicts_read_both_directions() -> None:
    v = depth.growth_verdicts(_synthetic(0.5, 2.0)).iloc[0]
    assert v["forward"] == "vanishes" and v["forward_per_layer"] == pytest.approx(0.5)
    assert v["backward"] == "explodes" and v["backward_per_layer"] == pytest.approx(2.0)
    v = depth.growth_verdicts(_synthetic(1.1, 0.95)).iloc[0]  # 1.1^10 = 2.6, 0.95^10 = 0.60
    assert (v["forward"], v["backward"]) == ("keeps", "keeps") and v["depth"] == 11


def test_relu_verdicts_match_the_variance_formulas() -> None:
    width, layers = 64, 20
    frame = depth.propagation_grid(layers, width, ["relu"], inits=["he_normal", "glorot_normal"], x=X, y=Y)
    v = depth.growth_verdicts(frame).set_index("init")
    tol = 5 * 0.5 * math.sqrt(5 / width) / math.sqrt(layers - 1) + 1.25 / width
    assert v.loc["he_normal", "forward"] == "keeps" and v.loc["he_normal", "backward"] == "keeps"
    assert abs(math.log(v.loc["he_normal", "forward_per_layer"])) < tol  # n v / 2 = 1
    # square glorot layers have v = 1/n, so ReLU halves the mean square: std x sqrt(1/2) per layer
    assert math.log(v.loc["glorot_normal", "forward_per_layer"]) == pytest.approx(0.5 * math.log(0.5), abs=tol)
    assert v.loc["glorot_normal", "forward"] == "vanishes" and v.loc["glorot_normal", "backward"] == "vanishes"


def test_overflow_counts_as_exploding_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = depth.propagation_grid(40, 32, ["linear"], inits=["random_normal_1", "random_normal_001"], x=X, y=Y)
    v = depth.growth_verdicts(frame).set_index("init")
    assert v.loc["random_normal_1", "forward"] == "explodes"  # x sqrt(32) per layer: 5.7^40 overflows
    assert v.loc["random_normal_001", "forward"] == "vanishes"


def test_signal_propagation_fits_lsuv_on_the_batch() -> None:
    # LSUV rescales each hidden layer until its output variance is within 0.1 of 1 on this very batch
    frame = signal_propagation(12, 32, "relu", init="lsuv", seed=0, x=X)
    std = frame[frame["statistic"] == "activation_std"]["value"].to_numpy()
    assert np.all((std > math.sqrt(0.9) - 1e-6) & (std < math.sqrt(1.1) + 1e-6))
    plain = signal_propagation(12, 32, "relu", init="orthogonal", seed=0, x=X)  # the same start, not rescaled
    assert plain[plain["statistic"] == "activation_std"]["value"].iloc[-1] < 0.1 * std[-1]


def test_mean_cosine() -> None:
    assert depth.mean_cosine(np.ones((4, 3))) == pytest.approx(1.0)
    assert depth.mean_cosine(np.eye(3)) == pytest.approx(0.0)
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    by_hand = (math.sqrt(0.5) + 0.0 + math.sqrt(0.5)) / 3
    assert depth.mean_cosine(a) == pytest.approx(by_hand)
    assert math.isnan(depth.mean_cosine(np.array([[1.0, 0.0], [0.0, 0.0]])))


def test_probe_summary_of_a_zero_network() -> None:
    model = build_model("deep_mlp", (D,), init="zeros", depth=3, width=8, activation="relu")
    s = depth.probe_summary(model, X[:32], Y[:32])
    assert s["last_std"] == 0 and s["frac_dead_units"] == 1.0 and s["grad_first"] == s["grad_last"] == 0
    assert math.isnan(s["similarity"]) and math.isnan(s["frac_saturated"]) and math.isnan(s["grad_ratio"])
    assert s["loss"] == pytest.approx(math.log(10), rel=1e-5)  # uniform softmax over 10 classes
    reasons = depth.defects(s)
    assert any("faded" in r for r in reasons) and any("no gradient" in r for r in reasons)


def test_probe_summary_gradients_and_saturation() -> None:
    model = build_model("deep_mlp", (D,), init="random_normal_1", seed=3, depth=3, width=16, activation="tanh")
    s = depth.probe_summary(model, X, Y)
    from initlab.probe.measure import LayerProbe

    result = LayerProbe(model)(X, Y)
    assert s["grad_first"] == pytest.approx(float(np.linalg.norm(result.kernel_grads["hidden_1"])), rel=1e-6)
    assert s["grad_last"] == pytest.approx(float(np.linalg.norm(result.kernel_grads["hidden_3"])), rel=1e-6)
    assert s["grad_ratio"] == pytest.approx(s["grad_first"] / s["grad_last"])
    # pre-activations of std ~sqrt(fan_in) >> 1: most tanh outputs sit beyond 0.97
    assert s["frac_saturated"] > 0.5 and math.isnan(s["frac_dead_units"])
    assert any("saturated" in r for r in depth.defects(s))


HEALTHY = {
    "loss": 2.3,
    "last_std": 0.5,
    "grad_first": 0.1,
    "grad_last": 0.1,
    "grad_ratio": 1.0,
    "similarity": 0.5,
    "frac_saturated": 0.0,
    "frac_dead_units": float("nan"),
}


def _names(diag: dict, **thresholds: float) -> list[str]:
    return [name for name, _ in depth.defect_list(diag, thresholds or None)]


def test_defects_each_with_its_threshold() -> None:
    assert depth.defects(HEALTHY) == []
    assert depth.defects({**HEALTHY, "loss": float("nan")}) == ["the forward pass overflows (loss not finite)"]
    assert _names({**HEALTHY, "last_std": 1e-4}) == ["faded"] and _names({**HEALTHY, "last_std": 25.0}) == ["grown"]
    text = depth.defects({**HEALTHY, "grad_ratio": 1e-5})[0]
    assert "1e-05 times" in text and "outside [0.01, 100]" in text
    assert _names({**HEALTHY, "grad_ratio": 100.0}) == []
    assert _names({**HEALTHY, "grad_ratio": 100.5}) == ["gradient ratio"]
    assert _names({**HEALTHY, "frac_saturated": 0.5}) == []
    assert _names({**HEALTHY, "frac_saturated": 0.51}) == ["saturated"]
    # dead units count from 10% on, near-collinear representations from a mean cosine of 0.95 on
    assert _names({**HEALTHY, "frac_dead_units": 0.09}) == []
    assert _names({**HEALTHY, "frac_dead_units": 0.10}) == ["dead units"]
    assert _names({**HEALTHY, "similarity": 0.949}) == [] and _names({**HEALTHY, "similarity": 0.95}) == ["collinear"]
    # ReLU + he_normal at depth 50 (mean cosine 0.983, 21% dead units) is not a healthy start
    relu_he = {**HEALTHY, "similarity": 0.983, "frac_dead_units": 0.21, "grad_ratio": 13.6}
    assert _names(relu_he) == ["dead units", "collinear"]
    assert "21% of ReLU units are dead on every probe input (≥ 10%)" in depth.defects(relu_he)
    assert "(mean cosine 0.983 ≥ 0.95)" in depth.defects(relu_he)[1]
    assert _names(relu_he, collinear=0.99) == ["dead units"]


def test_diagnosis_table_prints_small_numbers_and_short_defects() -> None:
    diag = pd.DataFrame(
        [
            {"depth": 50, "activation": "relu", "init": "glorot_normal", **HEALTHY, "last_std": 4e-8},
            {"depth": 50, "activation": "relu", "init": "he_normal", **HEALTHY},
        ]
    )
    t = depth.diagnosis_table(diag)
    assert t.loc[(50, "relu", "glorot_normal"), "last_std"] == "4e-08"
    assert list(t["defects"]) == ["faded", "none"] and "grad_first" not in t.columns


def _study(spec: dict, lr: float = 1e-3, preprocess: str = "scale") -> pd.DataFrame:
    """A study frame: {(depth, activation, init): [(validation curve, test accuracy) per seed]};
    a NaN test accuracy marks a diverged run."""
    rows = []
    for (d, act, init), runs in spec.items():
        for seed, (curve, test) in enumerate(runs):
            for epoch, val in enumerate(curve, 1):
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": deep.architecture(d, 8, act),
                        "init": init,
                        "seed": seed,
                        "epoch": epoch,
                        "val_accuracy": val,
                        "test_accuracy": test,
                        "status": "ok" if np.isfinite(test) else "diverged",
                        "depth": d,
                        "activation": act,
                        "learning_rate": lr,
                        "preprocess": preprocess,
                    }
                )
    return pd.DataFrame(rows)


def _runs(spec: dict, **kw: object) -> pd.DataFrame:
    """One epoch per run, validation accuracy equal to the test accuracy: {set-up: accuracies by seed}."""
    return _study({k: [([acc], acc) for acc in accs] for k, accs in spec.items()}, **kw)


def test_grade_every_branch() -> None:
    assert deep.grade(0.95, diverged=1) == "diverged"
    assert deep.grade(0.13, 0, collapse=0.57) == "collapses"  # learned to 70%, ended at 13%
    assert deep.grade(0.5, 0, collapse=0.20) == "collapses" and deep.grade(0.5, 0, collapse=0.199) == "partial"
    assert deep.grade(0.80, 0) == "trains" and deep.grade(0.7999, 0) == "partial"
    assert deep.grade(0.20, 0) == "partial" and deep.grade(0.1999, 0) == "fails"
    assert deep.grade(float("nan"), 0) == "fails" and deep.grade(0.9, 0, collapse=float("nan")) == "trains"
    assert set(deep.GRADES) == {"trains", "partial", "fails", "collapses", "diverged"}


def test_trainability_measures_collapse_failures_and_divergence() -> None:
    df = _study(
        {
            (50, "tanh", "orthogonal"): [
                ([0.70, 0.40, 0.13], 0.12),
                ([0.68, 0.30, 0.15], 0.14),
                ([0.72, 0.72, 0.70], 0.69),
            ],
            (50, "relu", "he_normal"): [
                ([0.5, 0.8, 0.90], 0.91),
                ([0.5, 0.85, 0.92], 0.93),
                ([0.3, 0.1], float("nan")),
            ],
        }
    )
    t = deep.trainability(df).set_index(["activation", "init"])
    o = t.loc[("tanh", "orthogonal")]
    # collapses 0.57, 0.53 and 0.02: mean 0.3733 >= 0.20 although the final mean alone reads "fails"
    assert o["collapse"] == pytest.approx((0.57 + 0.53 + 0.02) / 3) and o["status"] == "collapses"
    assert o["peak"] == pytest.approx(0.70) and o["best_epoch"] == 1 and o["val_final"] == pytest.approx(0.98 / 3)
    assert (o["runs"], o["n"], o["failed"], o["diverged"]) == (3, 3, 2, 0)
    assert o["mean"] == pytest.approx(0.95 / 3) and o["trained_mean"] == pytest.approx(0.69)
    h = t.loc[("relu", "he_normal")]
    assert (h["runs"], h["n"], h["diverged"], h["failed"], h["status"]) == (3, 2, 1, 1, "diverged")
    assert h["mean"] == pytest.approx(0.92) and h["half_width"] == pytest.approx(12.706205 * 0.02 / 2, rel=1e-5)
    assert h["val_score"] == pytest.approx((0.90 + 0.92 + 0.0) / 3)  # the diverged run scores 0
    assert list(t.index) == [("tanh", "orthogonal"), ("relu", "he_normal")]  # the order of the study


def test_select_rates_on_validation_never_test() -> None:
    high = pd.concat(
        [
            _study(
                {
                    (50, "relu", "a"): [([0.5], 0.95), ([0.6], 0.95)],
                    (50, "relu", "b"): [([0.7], 0.9), ([0.7], 0.9)],
                    (50, "relu", "c"): [([0.9], 0.9), ([0.9], float("nan"))],
                },
                lr=1e-3,
            ),
            _study(
                {
                    (50, "relu", "a"): [([0.8], 0.5), ([0.8], 0.5)],
                    (50, "relu", "b"): [([0.7], 0.1), ([0.7], 0.1)],
                    (50, "relu", "c"): [([0.5], 0.5), ([0.5], 0.5)],
                },
                lr=1e-4,
            ),
        ]
    )
    chosen = deep.select_rates(deep.trainability(high)).set_index("init")
    assert chosen.loc["a", "learning_rate"] == 1e-4  # validation 0.80 beats 0.55, whatever the test says
    assert chosen.loc["b", "learning_rate"] == 1e-3  # a tie goes to the larger rate
    assert chosen.loc["c", "learning_rate"] == 1e-4  # (0.9 + 0) / 2 = 0.45 < 0.5: a diverged run counts 0
    assert set(chosen["rates"]) == {2} and chosen.loc["a", "mean"] == pytest.approx(0.5)
    assert chosen.loc["a", "edge"] == "lowest" and chosen.loc["b", "edge"] == "highest"
    picked = deep.at_rates(high, chosen.reset_index())
    assert len(picked) == 6 and set(zip(picked["init"], picked["learning_rate"])) == {
        ("a", 1e-4),
        ("b", 1e-3),
        ("c", 1e-4),
    }


def test_effective_rate() -> None:
    from initlab.training.optimizers import resolved_learning_rate  # the one place the defaults are written

    assert resolved_learning_rate("adam", None) == 1e-3 and resolved_learning_rate("sgd", None) == 1e-2
    assert resolved_learning_rate("adam", 3e-4) == 3e-4
    with pytest.raises(UnknownNameError, match="optimizer"):
        resolved_learning_rate("rmsprop", None)


def test_claim_pairs_use_only_what_the_study_has() -> None:
    setups = [
        (a, i) for a in ("relu", "selu") for i in ("orthogonal", "glorot_normal", "he_normal", "lecun_normal", "zeros")
    ] + [("relu", depth.ORTHOGONAL_RELU)]
    pairs = deep.claim_pairs(setups)
    as_tuples = {
        tuple(p[k] for k in ("family", "a_activation", "a_init", "b_activation", "b_init", "value")) for p in pairs
    }
    assert ("orthogonal", "relu", "orthogonal", "relu", "glorot_normal", "test_accuracy") in as_tuples
    assert ("orthogonal", "relu", depth.ORTHOGONAL_RELU, "relu", "he_normal", "test_accuracy") in as_tuples
    assert ("orthogonal speed", "relu", depth.ORTHOGONAL_RELU, "relu", "he_normal", "auc") in as_tuples
    assert ("variance scaling", "relu", "he_normal", "relu", "lecun_normal", "test_accuracy") in as_tuples
    assert ("snn", "selu", "zeros", "selu", "lecun_normal", "test_accuracy") in as_tuples
    assert ("snn vs other activations", "selu", "zeros", "relu", "zeros", "test_accuracy") in as_tuples
    assert not any("tanh" in (p["a_activation"], p["b_activation"]) for p in pairs)
    assert not any(p["a_init"] == "random_normal_001" for p in pairs)


def _claim_frame() -> pd.DataFrame:
    up = [0.09, 0.10, 0.11]  # mean 0.10, sd 0.01: t = 10 sqrt(3) with 2 degrees of freedom
    base = [0.50, 0.60, 0.70]
    spec = {
        (5, "relu", "glorot_normal"): base,
        (5, "relu", "orthogonal"): [b + u for b, u in zip(base, up)],
        (5, "tanh", "glorot_normal"): base,
        (5, "tanh", "orthogonal"): [b - u for b, u in zip(base, up)],
        (5, "selu", "glorot_normal"): base,
        (5, "selu", "orthogonal"): [0.501, 0.599, 0.70],
        # binary-exact accuracies: the difference is 0.25 in every seed
        (5, "relu", "he_normal"): [0.75, 0.625, 0.875],
        (5, "relu", "lecun_normal"): [0.5, 0.375, 0.625],
        (5, "tanh", "he_normal"): [0.60, 0.70, 0.80],  # tanh: glorot - he = -0.10 in every seed (not exact)
        (5, "selu", "lecun_normal"): [0.90, 0.92, 0.94],
        (5, "selu", "he_normal"): [0.85, 0.95, float("nan")],
    }
    return _runs(spec)


def _p2(t: float) -> float:
    """Two-sided p-value of Student's t with 2 degrees of freedom: 1 - t / sqrt(t^2 + 2)."""
    return 1 - abs(t) / math.sqrt(t * t + 2)


def test_claim_tests_give_the_four_answers_with_holm() -> None:
    tests = deep.claim_tests(deep.run_table(_claim_frame()))
    t = tests.set_index("claim")
    p = _p2(10 * math.sqrt(3))  # 0.003317
    orth = tests[tests["family"] == "orthogonal"].set_index("a")
    assert list(orth.index) == ["relu + orthogonal", "selu + orthogonal", "tanh + orthogonal"]  # run_table's order
    assert orth.loc["relu + orthogonal", "p"] == pytest.approx(p, rel=1e-6)
    # Holm over the family of three: the two smallest p-values tie, the largest is multiplied by 3
    assert orth.loc["relu + orthogonal", "p_adj"] == pytest.approx(3 * p, rel=1e-6)
    assert list(orth["verdict"]) == ["supported", "equivalent", "reversed"]
    # equivalence: mean 0, sd 0.001; each one-sided test t = 0.02 / (0.001 / sqrt 3), p = (1 - t / sqrt(t^2 + 2)) / 2
    te = 0.02 / (0.001 / math.sqrt(3))
    assert orth.loc["selu + orthogonal", "p_equiv"] == pytest.approx(_p2(te) / 2, rel=1e-3)
    vs = t.loc["depth 5: relu + he_normal > relu + lecun_normal"]
    assert vs["exact"] and vs["verdict"] == "supported" and vs["mean"] == 0.25
    assert t.loc["depth 5: tanh + glorot_normal > tanh + he_normal", "verdict"] == "reversed"
    diverged = t.loc["depth 5: selu + lecun_normal > selu + he_normal"]  # a diverged run failed: a rate, not a mean
    assert diverged["test"] == "failures" and (diverged["a_failed"], diverged["b_failed"]) == (0, 1)
    assert diverged["p"] == pytest.approx(1.0) and diverged["verdict"] == "inconclusive"
    assert set(tests["family"]) == {"orthogonal", "orthogonal speed", "variance scaling"}
    table = deep.claims_table(tests, "variance scaling")
    exact = table.loc[("5", "relu + he_normal > relu + lecun_normal")]
    assert (exact["Holm p"], exact["verdict"], exact["a - b (pp)"], exact["seeds to resolve"]) == (
        "exact",
        "supported (exact)",
        "+25.0",
        "-",
    )
    open_ = table.loc[("5", "selu + lecun_normal > selu + he_normal")]
    assert open_["seeds"] == 3 and open_["verdict"] == "inconclusive" and open_["95% CI"] == "failure rates (Fisher)"
    assert open_["a - b (pp)"] == "failed 0 vs 1 of 3" and open_["b (%)"].endswith("(1 failed)")
    assert open_["seeds to resolve"] == "-"
    # one epoch: the area under the validation curve is the accuracy itself, so speed agrees here
    speed = tests[tests["family"] == "orthogonal speed"]
    assert list(speed["verdict"]) == ["supported", "equivalent", "reversed"]


def test_claim_tests_pair_by_depth_and_input_scaling() -> None:
    scaled = _runs({(5, "selu", "zeros"): [0.1135] * 3, (5, "selu", "lecun_normal"): [0.90, 0.92, 0.94]})
    std = _runs(
        {(5, "selu", "zeros"): [0.1135] * 3, (5, "selu", "lecun_normal"): [0.1135, 0.1135, 0.1135]},
        preprocess="standardize",
    )
    tests = deep.claim_tests(deep.run_table(pd.concat([scaled, std], ignore_index=True)))
    assert list(tests["claim"]) == [
        "depth 5: selu + zeros > selu + lecun_normal",
        "depth 5, standardized inputs: selu + zeros > selu + lecun_normal",
    ]
    # zeros failed in every seed: the claims are decided on failure rates (3 of 3 against 0 of 3: Fisher
    # p = 0.1; every run failed on both sides: p = 1), never on the level of a failed run
    assert list(tests["test"]) == ["failures", "failures"]
    assert list(tests["p"]) == pytest.approx([0.1, 1.0]) and list(tests["verdict"]) == ["inconclusive"] * 2
    assert set(tests["a_edge"]) == {""}  # runs without a grid's edges: nothing to flag


def test_a_test_at_a_grid_edge_is_flagged() -> None:
    grid = pd.concat(
        [
            _runs({(5, "selu", "zeros"): [0.1135] * 3, (5, "selu", "lecun_normal"): [0.80, 0.82, 0.84]}, lr=1e-3),
            _runs({(5, "selu", "lecun_normal"): [0.90, 0.92, 0.94]}, lr=1e-4),
            _runs({(5, "selu", "lecun_normal"): [0.85, 0.86, 0.87]}, lr=3e-5),
        ],
        ignore_index=True,
    )
    chosen = deep.select_rates(deep.trainability(grid))
    assert dict(zip(chosen["init"], chosen["edge"])) == {"zeros": "only rate", "lecun_normal": ""}
    tests = deep.claim_tests(deep.run_table(deep.at_rates(grid, chosen)))
    assert list(tests["a_edge"]) == ["only rate"] and list(tests["b_edge"]) == [""]
    table = deep.claims_table(tests, tests["family"].iloc[0])
    assert table["rate at a grid edge"].tolist() == ["a: only rate"]
    text = deep.family_text(tests, tests["family"].iloc[0], 3)
    assert "At an edge of the rates tried (1 of 1 tests; " in text and "(a: only rate)." in text


def test_budget_text_states_epochs_images_and_rates() -> None:
    text = deep.budget_text(
        epochs=5, train_examples=8000, batch_size=32, optimizer="adam", rates=[1e-3, 1e-4], limits=[1e-5, 0.1]
    )
    assert text.startswith("*Budget.* Every training verdict holds for 5 epochs over 8,000 training images")
    assert "(batch 32, adam)" in text and "grid 1e-03, 1e-04, extended" in text and "within 1e-05 to 1e-01" in text
    assert "extended" not in deep.budget_text(
        epochs=1, train_examples=320, batch_size=32, optimizer="adam", rates=[1e-3], limits=None
    )


def test_an_interval_near_100_percent_stays_inside_it() -> None:
    t = deep.trainability(_runs({(5, "relu", "he_normal"): [0.999, 0.96, 0.999]}))
    r = t.iloc[0]
    assert r["mean"] + r["half_width"] > 1 and 0 < r["ci_low"] < r["mean"] < r["ci_high"] < 1
    cell = deep.accuracy_cell(r)
    assert cell.startswith("98.60 [") and cell.endswith("]") and "±" not in cell


def test_snn_answer_every_branch() -> None:
    assert deep.snn_answer("reversed", "trains", "trains") == "fails"
    assert deep.snn_answer("supported", "trains", "fails") == "holds"
    assert deep.snn_answer("equivalent", "trains", "trains") == "holds"
    assert deep.snn_answer("inconclusive", "trains", "trains") == "inconclusive"  # never "holds"
    assert deep.snn_answer("equivalent", "partial", "partial") == "inconclusive"
    assert deep.snn_answer("inconclusive", "fails", "partial") == "fails"
    assert deep.snn_answer("inconclusive", "diverged", "trains") == "fails"
    assert deep.snn_answer("equivalent", "fails", "fails") == "neither trains"
    assert deep.snn_answer("inconclusive", "collapses", "diverged") == "neither trains"


def test_snn_answers_read_both_grades() -> None:
    df = _runs(
        {
            (5, "selu", "random_normal_001"): [0.77, 0.86, 0.91],
            (5, "selu", "lecun_normal"): [0.91, 0.92, 0.93],
            (50, "selu", "zeros"): [0.1135] * 3,
            (50, "selu", "lecun_normal"): [0.11, 0.12, 0.13],
        }
    )
    table = deep.trainability(df)
    answers = deep.snn_answers(deep.claim_tests(deep.run_table(df)), table).set_index(["depth", "start"])
    # -7.3 pp, CI reaching above 0: inconclusive, so the claim is not counted as holding
    r = answers.loc[(5, "random_normal_001")]
    assert (r["verdict"], r["start_status"], r["reference_status"], r["answer"]) == (
        "inconclusive",
        "trains",
        "trains",
        "inconclusive",
    )
    assert answers.loc[(50, "zeros"), "answer"] == "neither trains"
    text = deep.snn_text(answers.reset_index())
    assert "test **inconclusive** → the claim **inconclusive**" in text
    assert "Of 2 (start, depth, input scaling) cells: 1 inconclusive, 1 neither trains." in text
    # failed runs are counted, never averaged: zeros and lecun_normal both failed in every seed at depth 50
    assert "selu + zeros (fails: 3 of 3 runs failed)" in text


def test_verdict_mark_says_what_the_line_says_about_the_margin() -> None:
    base = {"exact": False, "borderline": False, "ci_inside": False, "ci_low": 0.03, "ci_high": 0.05}
    assert verdict_mark({**base, "verdict": "supported"}, 0.02) == "supported"
    assert verdict_mark({**base, "verdict": "supported", "ci_low": 0.01}, 0.02) == "supported (CI reaches inside ±2 pp)"
    assert verdict_mark(
        {**base, "verdict": "reversed", "ci_low": -0.05, "ci_high": -0.01, "borderline": True}, 0.02
    ) == ("reversed (CI reaches inside ±2 pp; borderline)")
    assert verdict_mark({**base, "verdict": "inconclusive", "ci_inside": True}, 0.02) == (
        "inconclusive (CI inside ±2 pp, equivalence not shown after Holm)"
    )
    assert verdict_mark({**base, "verdict": "equivalent", "exact": True}, 0.02) == "negligible (exact)"


def _row(**kw: object) -> dict:
    return {
        "runs": 3,
        "failed": 0,
        "diverged": 0,
        "mean": 0.9344,
        "half_width": 0.0155,
        "trained_mean": 0.9344,
        "status": "trains",
        "peak": 0.95,
        **kw,
    }


def test_cells_show_failures_as_a_rate() -> None:
    assert deep.grade_cell(_row()) == "93.44 ± 1.55 · trains"
    # Wilson 95% interval for 1 of 3: centre 0.4269, half-width 0.3654 -> 6% to 79%
    mixed = _row(failed=1, mean=0.65, trained_mean=0.912, status="partial")
    assert deep.grade_cell(mixed) == "1/3 failed (6–79%), rest 91.2 · partial"
    assert deep.accuracy_cell(mixed) == "1 of 3 failed (95% CI 6%–79%); others 91.20"
    assert deep.grade_cell(_row(failed=3, diverged=3, status="diverged")) == "all 3 diverged · diverged"
    assert deep.grade_cell(_row(failed=3, mean=0.1135, half_width=0.0, status="fails")) == "11.35 ± 0.00 · fails"
    assert deep.grade_cell(_row(failed=3, diverged=1, status="diverged")) == "3/3 failed · diverged"
    assert (
        deep.grade_cell(_row(failed=3, mean=0.131, half_width=0.02, status="collapses", peak=0.702))
        == "13.10 ± 2.00 · collapses from 70.2"
    )
    assert all(len(deep.grade_cell(r)) < 50 for r in (mixed, _row(failed=2, diverged=1, trained_mean=0.5)))


def test_growth_table_never_prints_a_small_ratio_as_zero() -> None:
    v = depth.growth_verdicts(_synthetic(0.17, 1.0))  # 0.17 ** 10 = 2.0e-08
    t = deep.growth_table(v)
    assert t.iloc[0]["forward ratio"] == "2.02e-08" and t.iloc[0]["forward"] == "vanishes"
    assert t.iloc[0]["backward ratio"] == "1" and t.iloc[0]["last layer zero"] == "-"


def _grid_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    at_default = _study(
        {
            (50, "tanh", "orthogonal"): [([0.70, 0.13], 0.13)] * 3,
            (50, "tanh", "zeros"): [([0.1135, 0.1135], 0.1135)] * 3,
            (5, "tanh", "orthogonal"): [([0.9, 0.93], 0.93)] * 3,
        }
    )
    small = _study(
        {(50, "tanh", "orthogonal"): [([0.80, 0.88], 0.88), ([0.80, 0.86], 0.87), ([0.8, 0.87], 0.89)]}, lr=1e-4
    )
    all_rates = deep.trainability(pd.concat([at_default, small], ignore_index=True))
    return all_rates, all_rates[all_rates["learning_rate"] == 1e-3], deep.select_rates(all_rates)


def test_trainability_text_names_collapses_and_what_the_grid_changed() -> None:
    all_rates, base, chosen = _grid_tables()
    text = deep.trainability_text(base, chosen, 1e-3, rates=[1e-3, 1e-4])
    assert "- depth 50: 0 of 2 set-ups train" in text and "1 collapse" in text
    assert (
        "tanh + orthogonal at depth 50: validation accuracy peaks at 70.0% (median epoch 1) and ends at 13.0%"
    ) in text
    assert "tanh + orthogonal: collapses at 1e-03 → trains at 1e-04 (88.00 ± 2.48%)" in text
    assert "Trained at 1e-03 only: tanh + zeros." in text
    table = deep.rate_table(all_rates, chosen, 50, default=1e-3)
    row = table.loc[("tanh", "orthogonal")]
    assert row["validation score by rate"] == "1e-03: 13.0 / 1e-04: 87.0" and row["chosen rate"] == "1e-04"
    assert row["at 1e-03"] == "13.00 ± 0.00 · collapses from 70.0"


def test_diagnosis_text_says_only_what_the_diagnostics_show() -> None:
    _, _, chosen = _grid_tables()
    chosen = pd.concat(
        [chosen, deep.select_rates(deep.trainability(_runs({(50, "relu", "he_normal"): [0.9] * 3})))], ignore_index=True
    )
    diag = pd.DataFrame(
        [
            {
                "depth": 50,
                "activation": "tanh",
                "init": "zeros",
                **HEALTHY,
                "last_std": 0.0,
                "grad_first": 0.0,
                "grad_last": 0.0,
                "grad_ratio": float("nan"),
            },
            {"depth": 50, "activation": "relu", "init": "he_normal", **HEALTHY, "similarity": 0.983},
            {"depth": 50, "activation": "tanh", "init": "orthogonal", **HEALTHY},
        ]
    )
    bad = pd.concat(
        [chosen, deep.select_rates(deep.trainability(_runs({(50, "tanh", "lsuv"): [0.3] * 3})))], ignore_index=True
    )
    diag = pd.concat([diag, pd.DataFrame([{"depth": 50, "activation": "tanh", "init": "lsuv", **HEALTHY}])])
    text = deep.diagnosis_text(bad, diag, 50)
    assert "- tanh + zeros (fails at 1e-03): the signal has faded" in text and "no gradient reaches" in text
    assert (
        "- tanh + lsuv (partial at 1e-03): no measured defect passes its threshold (last-layer std 0.5, "
        "cosine 0.5, gradient ratio 1); these diagnostics do not account for the shortfall."
    ) in text
    assert "- relu + he_normal (trains at 1e-03), despite: the inputs' last-layer representations" in text
    assert "arises in training" not in text and "at least 10% of ReLU units" in text and "at least 0.95" in text


def test_family_and_closing_texts_state_the_method() -> None:
    df = _claim_frame()
    tests = deep.claim_tests(deep.run_table(df))
    text = deep.family_text(tests, "orthogonal", seeds=3)
    assert text.startswith("**orthogonal**") and "3 test(s), each a paired t-test over 3 seeds" in text
    assert "Holm-corrected together" in text and "Of 3 tests: 1 supported, 1 reversed, 1 negligible." in text
    assert "**negligible: equivalent within ±2 pp (within ±1 pp: yes, ±4 pp: yes)**" in text
    table = deep.trainability(df)
    chosen = deep.select_rates(table)
    verdicts = depth.growth_verdicts(_synthetic(0.5, 1.0))
    diag = pd.DataFrame(
        [
            {"depth": 5, "activation": a, "init": i, **HEALTHY}
            for a, i in chosen[["activation", "init"]].itertuples(index=False)
        ]
    )
    closing = deep.findings_text(
        verdicts=verdicts,
        base=table,
        chosen=chosen,
        diag=diag,
        tests=tests,
        answers=deep.snn_answers(tests, chosen),
        seeds=3,
        default=1e-3,
        rates=[1e-3],
    )
    assert "paired t-test over 3 seeds" in closing and "Holm-corrected within its family (3 families" in closing
    assert "- *orthogonal* (3 tests): 1 supported, 1 reversed, 1 negligible." in closing
    assert "Supported: depth 5: relu + orthogonal > relu + glorot_normal." in closing
    assert "chosen on validation accuracy" in closing and "never counted" not in closing  # no SNN cells here
    marked = tests.assign(borderline=tests["claim"].str.startswith("depth 5: relu + orthogonal"))
    closing = deep.findings_text(
        verdicts=verdicts,
        base=table,
        chosen=chosen,
        diag=diag,
        tests=marked,
        answers=deep.snn_answers(marked, chosen),
        seeds=3,
        default=1e-3,
        rates=[1e-3],
    )
    assert "Supported: depth 5: relu + orthogonal > relu + glorot_normal (borderline)." in closing
    assert "Supported: depth 5: relu + he_normal > relu + lecun_normal (exact)." in closing


def test_next_rate_walks_the_half_decades() -> None:
    assert [deep.next_rate(r, up=True) for r in (1e-3, 3e-3, 1e-2, 3e-4)] == [3e-3, 1e-2, 3e-2, 1e-3]
    assert [deep.next_rate(r, up=False) for r in (1e-4, 3e-5, 1e-3, 3e-4)] == [3e-5, 1e-5, 3e-4, 1e-4]
    assert deep.next_rate(2e-3, up=True) == pytest.approx(2e-3 * 10**0.5, rel=1e-3)  # off the series


def test_a_grid_edge_is_extended_until_interior_or_a_limit(cache_root) -> None:
    kw = dict(epochs=1, train_limit=128, test_limit=64, cache_root=str(cache_root), seeds=[0], width=8)
    grid = deep.rate_grid_study(
        "mnist",
        [2],
        ["relu"],
        inits=["he_normal", "zeros"],
        learning_rates=[1e-3, 1e-4],
        rate_depths=[2],
        rate_limits=(1e-5, 1e-2),
        **kw,
    )
    table = deep.trainability(grid)
    chosen = deep.select_rates(table).set_index("init")
    for init, row in chosen.iterrows():
        g = table[table["init"] == init].sort_values("learning_rate")
        rates, score = g["learning_rate"].to_numpy(), g["val_score"].to_numpy()
        assert rates[0] >= 1e-5 and rates[-1] <= 1e-2 and len(rates) >= 2
        # an edge that remains is flat against its neighbour, or has no room left within the limits
        if row["edge"] == "highest":
            assert score[-1] - score[-2] < deep.RATE_GAIN or deep.next_rate(rates[-1], up=True) > 1e-2
        elif row["edge"] == "lowest":
            assert score[0] - score[1] < deep.RATE_GAIN or deep.next_rate(rates[0], up=False) < 1e-5
    # zeros learns nothing at either rate: a flat score points nowhere, so its grid stays as given
    assert sorted(grid.loc[grid["init"] == "zeros", "learning_rate"].unique()) == [1e-4, 1e-3]
    assert chosen.loc["zeros", "edge"] == "highest"  # a tie goes to the larger rate, flagged
    assert len(grid.loc[grid["init"] == "he_normal", "learning_rate"].unique()) > 2  # he_normal's rose: extended
    plain = deep.rate_grid_study(
        "mnist", [2], ["relu"], inits=["zeros"], learning_rates=[1e-3, 1e-4], rate_depths=[2], **kw
    )
    assert sorted(plain["learning_rate"].unique()) == [1e-4, 1e-3]  # no limits: the grid as given


def test_depth_study_labels_rates_and_renamed_inits(cache_root) -> None:
    kw = dict(epochs=1, train_limit=128, test_limit=64, cache_root=str(cache_root))
    df = deep.depth_study("mnist", [1, 2], ["relu"], inits=["he_normal", "zeros"], seeds=[0], width=8, **kw)
    assert set(df["depth"]) == {1, 2} and set(df["model"]) == {deep.architecture(d, 8, "relu") for d in (1, 2)}
    assert set(df["learning_rate"]) == {1e-3} and set(df["preprocess"]) == {"scale"}
    stored = len(list(cache_root.rglob("*.json")))
    again = deep.depth_study(
        "mnist", [1, 2], ["relu"], inits=["he_normal", "zeros"], seeds=[0], width=8, learning_rates=[1e-3], **kw
    )  # Adam's default, named: the same runs, from the cache
    assert len(list(cache_root.rglob("*.json"))) == stored
    assert again["test_accuracy"].tolist() == df["test_accuracy"].tolist()
    t = deep.trainability(df)
    assert len(t) == 4 and set(t["n"]) == {1}
    grid = deep.rate_grid_study(
        "mnist",
        [1, 2],
        ["relu"],
        inits=["he_normal", "zeros", "orthogonal"],
        seeds=[0],
        width=8,
        learning_rates=[1e-3, 1e-4],
        rate_depths=[2, 7],
        rate_inits=["orthogonal"],
        init_params=depth.ORTHOGONAL_RELU_PARAMS,
        names={"orthogonal": depth.ORTHOGONAL_RELU},
        **kw,
    )
    combos = set(grid[["depth", "init", "learning_rate"]].itertuples(index=False, name=None))
    assert combos == {(d, i, 1e-3) for d in (1, 2) for i in ("he_normal", "zeros", depth.ORTHOGONAL_RELU)} | {
        (2, depth.ORTHOGONAL_RELU, 1e-4)
    }
    with pytest.raises(InvalidArgumentError, match="learning_rates"):
        deep.depth_study("mnist", [1], ["relu"], inits=["zeros"], seeds=[0], width=8, learning_rate=1e-3, **kw)
    diag = depth.init_diagnostics(
        "mnist", [2], ["relu"], inits=["zeros", "lsuv"], width=8, n_samples=32, train_limit=128
    )
    assert list(diag["init"]) == ["zeros", "lsuv"] and diag.loc[0, "last_std"] == 0
    assert 0.3 < diag.loc[1, "last_std"] < 3  # LSUV: unit variance on the first 128 examples, probed on 32
    sqrt2 = depth.init_diagnostics(
        "mnist",
        [2],
        ["relu"],
        inits=["orthogonal"],
        width=8,
        n_samples=32,
        train_limit=128,
        init_params=depth.ORTHOGONAL_RELU_PARAMS,
        names={"orthogonal": depth.ORTHOGONAL_RELU},
    )
    plain = depth.init_diagnostics("mnist", [2], ["relu"], inits=["orthogonal"], width=8, n_samples=32, train_limit=128)
    assert sqrt2.loc[0, "init"] == depth.ORTHOGONAL_RELU
    # ReLU is positively homogeneous and biases start at 0: the same orthogonal kernels times sqrt 2 in both
    # hidden layers scale the last hidden layer's output by exactly 2
    assert sqrt2.loc[0, "last_std"] == pytest.approx(2 * plain.loc[0, "last_std"], rel=1e-4)


def test_deep_network_figures_are_titled_and_labelled() -> None:
    frame = depth.propagation_grid(4, 8, ["relu", "tanh"], inits=["he_normal", "random_normal_1"], x=X, y=Y)
    fig = plots.propagation_profiles(frame, "activation_std", title="std")
    assert fig._suptitle.get_text() == "std" and all(ax.get_xlabel() for ax in fig.axes if ax.has_data())
    df = _runs(
        {
            (d, act, init): [0.5, 0.6, np.nan if init == "zeros" else 0.7]
            for d in (5, 20)
            for act in ("relu", "selu")
            for init in ("he_normal", "zeros")
        }
    )
    table = deep.trainability(df)
    fig = plots.accuracy_heatmap(table, title="heat")
    assert fig.axes[0].get_title() == "heat" and any(t.get_text().startswith("div") for t in fig.axes[0].texts)
    fig = plots.ci_points(table, x="depth", hue="init", col="activation", title="points", x_order=[5, 20])
    assert fig._suptitle.get_text() == "points" and fig.axes[0].get_ylabel()
    merged = table.assign(
        loss=[2.3, np.inf, 2.3, 2.3, 2.3, 2.3, 2.3, 2.3],
        last_std=[0.5, np.nan, 0, 1, 2, 3, 4, 5],
        grad_ratio=[1.0, np.nan, np.nan, 2, 3, 4, 5, 6],
    )
    fig = plots.diagnostic_scatter(merged, title="diag")
    assert all(ax.get_xlabel() and ax.get_xscale() == "log" for ax in fig.axes[:2])
    keras.backend.clear_session()


def test_orthogonal_at_initialization_in_words() -> None:
    kept = _synthetic(1.0, 1.0).assign(init="orthogonal", activation="tanh")
    lost = _synthetic(0.5, 1.0).assign(init="orthogonal", activation="relu")
    text = deep.orthogonal_at_init(depth.growth_verdicts(pd.concat([kept, lost], ignore_index=True)))
    # 0.5 per layer over 10 steps: ratio 0.5 ** 10 = 0.000977
    assert text == (
        "At initialization, orthogonal kernels of gain 1 keep the signal both ways with tanh; not with "
        "relu (forwards vanishes ×0.5 per layer (×0.000977 in all), backwards kept)."
    )
    assert (
        deep.orthogonal_at_init(depth.growth_verdicts(_synthetic(1.0, 1.0)))
        == "Orthogonal kernels were not probed at initialization."
    )
