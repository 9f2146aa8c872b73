"""Deep networks: growth verdicts, diagnostics at initialization, grades and paired claim checks.

Tolerances for measured growth follow tests/test_propagation.py: one layer changes
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

from initlab import depth, plots, report
from initlab.errors import InvalidArgumentError
from initlab.models import build_model
from initlab.propagation import signal_propagation

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
    assert [depth.classify(r) for r in (0.099, 0.1, 1.0, 10.0, 10.1)] == \
        ["vanishes", "keeps", "keeps", "keeps", "explodes"]
    assert depth.classify(math.inf) == "explodes" and depth.classify(0.0) == "vanishes"
    assert depth.classify(0.4, threshold=2.0) == "vanishes"
    with pytest.raises(InvalidArgumentError, match="threshold"):
        depth.classify(1.0, threshold=1.0)


def _synthetic(per_layer_act: float, per_layer_grad: float, layers: int = 11) -> pd.DataFrame:
    rows = []
    for i in range(1, layers + 1):
        rows += [{"activation": "linear", "init": "x", "layer_index": i, "statistic": "activation_std",
                  "value": per_layer_act ** (i - 1)},
                 {"activation": "linear", "init": "x", "layer_index": i, "statistic": "activation_grad_norm",
                  "value": per_layer_grad ** (layers - i)}]  # gradients grow from the head towards the input
    return pd.DataFrame(rows)


def test_growth_verdicts_read_both_directions() -> None:
    v = depth.growth_verdicts(_synthetic(0.5, 2.0)).iloc[0]
    assert v["forward"] == "vanishes" and v["forward_per_layer"] == pytest.approx(0.5)
    assert v["backward"] == "explodes" and v["backward_per_layer"] == pytest.approx(2.0)
    v = depth.growth_verdicts(_synthetic(1.1, 0.95)).iloc[0]  # 1.1^10 = 2.6, 0.95^10 = 0.60
    assert (v["forward"], v["backward"]) == ("keeps", "keeps") and v["depth"] == 11


def test_relu_verdicts_match_the_variance_formulas() -> None:
    width, layers = 64, 20
    frame = depth.propagation_grid(layers, width, ["relu"], ["he_normal", "glorot_normal"], X, Y)
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
        frame = depth.propagation_grid(40, 32, ["linear"], ["random_normal_1", "random_normal_001"], X, Y)
    v = depth.growth_verdicts(frame).set_index("init")
    assert v.loc["random_normal_1", "forward"] == "explodes"  # x sqrt(32) per layer: 5.7^40 overflows
    assert v.loc["random_normal_001", "forward"] == "vanishes"


def test_signal_propagation_fits_lsuv_on_the_batch() -> None:
    # LSUV rescales each hidden layer until its output variance is within 0.1 of 1 on this very batch
    frame = signal_propagation(12, 32, "relu", "lsuv", 0, X)
    std = frame[frame["statistic"] == "activation_std"]["value"].to_numpy()
    assert np.all((std > math.sqrt(0.9) - 1e-6) & (std < math.sqrt(1.1) + 1e-6))
    plain = signal_propagation(12, 32, "relu", "orthogonal", 0, X)  # the same start, not rescaled
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
    reasons = depth.failure_reasons(s)
    assert any("faded" in r for r in reasons) and any("no gradient" in r for r in reasons)


def test_probe_summary_gradients_and_saturation() -> None:
    model = build_model("deep_mlp", (D,), init="random_normal_1", seed=3, depth=3, width=16, activation="tanh")
    s = depth.probe_summary(model, X, Y)
    from initlab.diagnostics import LayerProbe
    result = LayerProbe(model)(X, Y)
    assert s["grad_first"] == pytest.approx(float(np.linalg.norm(result.kernel_grads["hidden_1"])), rel=1e-6)
    assert s["grad_last"] == pytest.approx(float(np.linalg.norm(result.kernel_grads["hidden_3"])), rel=1e-6)
    assert s["grad_ratio"] == pytest.approx(s["grad_first"] / s["grad_last"])
    # pre-activations of std ~sqrt(fan_in) >> 1: most tanh outputs sit beyond 0.97
    assert s["frac_saturated"] > 0.5 and math.isnan(s["frac_dead_units"])
    assert any("saturated" in r for r in depth.failure_reasons(s))


def test_failure_reasons() -> None:
    healthy = {"loss": 2.3, "last_std": 0.5, "grad_first": 0.1, "grad_last": 0.1, "grad_ratio": 1.0,
               "similarity": 0.5, "frac_saturated": 0.0, "frac_dead_units": float("nan")}
    assert depth.failure_reasons(healthy) == []
    assert depth.failure_reasons({**healthy, "loss": float("nan")}) == ["the forward pass overflows (loss not finite)"]
    assert any("1.0e-05 times" in r for r in depth.failure_reasons({**healthy, "grad_ratio": 1e-5}))
    assert any("grown" in r for r in depth.failure_reasons({**healthy, "last_std": 25.0}))
    assert any("dead" in r for r in depth.failure_reasons({**healthy, "frac_dead_units": 0.8}))
    assert any("alike" in r for r in depth.failure_reasons({**healthy, "similarity": 0.9999}))


def _runs(spec: dict[tuple[int, str, str], list[float]]) -> pd.DataFrame:
    """A study frame with one final epoch per run: {(depth, activation, init): accuracies by seed}."""
    rows = []
    for (d, act, init), accs in spec.items():
        for seed, acc in enumerate(accs):
            rows.append({"dataset": "mnist", "model": depth.architecture(d, 8, act), "init": init, "seed": seed,
                         "epoch": 1, "test_accuracy": acc, "status": "ok" if np.isfinite(acc) else "diverged",
                         "depth": d, "activation": act})
    return pd.DataFrame(rows)


def test_trainability_grades() -> None:
    df = _runs({(5, "relu", "he_normal"): [0.90, 0.92, 0.91], (5, "relu", "zeros"): [0.11, 0.11, 0.11],
                (5, "tanh", "he_normal"): [0.5, 0.6, 0.55], (5, "selu", "random_normal_1"): [np.nan, 0.5, 0.5]})
    t = depth.trainability(df).set_index(["activation", "init"])
    assert t.loc[("relu", "he_normal"), "mean"] == pytest.approx(0.91)
    assert t.loc[("relu", "he_normal"), "half_width"] == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    assert list(t["status"]) == ["trains", "fails", "partial", "diverged"]
    assert t.loc[("selu", "random_normal_1"), "n"] == 2 and t.loc[("selu", "random_normal_1"), "diverged"] == 1


def test_claim_pairs_use_only_what_the_study_has() -> None:
    pairs = depth.claim_pairs(["relu", "selu"], ["orthogonal", "glorot_normal", "he_normal", "lecun_normal", "zeros"])
    as_tuples = {(p["claim"], p["a_activation"], p["a_init"], p["b_activation"], p["b_init"]) for p in pairs}
    assert ("orthogonal", "relu", "orthogonal", "relu", "glorot_normal") in as_tuples
    assert ("variance scaling", "relu", "he_normal", "relu", "lecun_normal") in as_tuples
    assert ("snn", "selu", "zeros", "selu", "lecun_normal") in as_tuples
    assert ("snn", "selu", "zeros", "relu", "zeros") in as_tuples
    assert not any(p["a_activation"] == "tanh" or p["b_activation"] == "tanh" for p in pairs)
    assert not any(p["a_init"] == "random_normal_001" for p in pairs)


def test_claim_comparisons_pair_by_seed() -> None:
    df = _runs({(5, "relu", "orthogonal"): [0.90, 0.80, 0.70], (5, "relu", "glorot_normal"): [0.88, 0.78, 0.68],
                (5, "relu", "he_normal"): [0.60, 0.80, 0.70], (5, "relu", "lecun_normal"): [0.70, 0.60, 0.80],
                (5, "selu", "zeros"): [0.11, 0.11, 0.11], (5, "selu", "lecun_normal"): [0.9, 0.91, 0.92],
                (5, "relu", "zeros"): [0.11, 0.11, 0.11]})
    c = depth.claim_comparisons(df).set_index(["claim", "a_activation", "a_init", "b_activation", "b_init"])
    # a constant +2 pp per seed is resolved although the seeds' spread is 20 pp
    orth = c.loc[("orthogonal", "relu", "orthogonal", "relu", "glorot_normal")]
    assert orth["verdict"] == "a better" and orth["mean_diff"] == pytest.approx(0.02)
    assert c.loc[("variance scaling", "relu", "he_normal", "relu", "lecun_normal"), "verdict"] == "no difference resolved"
    assert c.loc[("snn", "selu", "zeros", "selu", "lecun_normal"), "verdict"] == "b better"
    assert c.loc[("snn", "selu", "zeros", "relu", "zeros"), "verdict"] == "both fail"


def test_depth_study_labels_each_architecture(cache_root) -> None:
    df = depth.depth_study("mnist", [1, 2], ["relu"], ["he_normal", "zeros"], seeds=[0], width=8, epochs=1,
                           train_limit=128, test_limit=64, cache_root=str(cache_root))
    assert set(df["depth"]) == {1, 2} and set(df["model"]) == {depth.architecture(d, 8, "relu") for d in (1, 2)}
    t = depth.trainability(df)
    assert len(t) == 4 and set(t["n"]) == {1}
    diag = depth.init_diagnostics("mnist", [2], ["relu"], ["zeros", "lsuv"], width=8, n_samples=32, train_limit=128)
    assert list(diag["init"]) == ["zeros", "lsuv"] and diag.loc[0, "last_std"] == 0
    assert 0.3 < diag.loc[1, "last_std"] < 3  # LSUV: unit variance on the first 128 examples, probed on 32
    text = report.deep_networks_text(depth.growth_verdicts(_synthetic(0.5, 1.0)), t, diag,
                                     depth.claim_comparisons(df))
    assert "depth 2: " in text and "relu + zeros: fails" in text


def test_texts_from_synthetic_results() -> None:
    df = _runs({(d, act, init): [acc + 0.01 * s for s in range(3)]
                for d in (5, 50) for act in ("relu", "selu")
                for init, acc in (("orthogonal", 0.9 if d == 5 else 0.11), ("glorot_normal", 0.88),
                                  ("he_normal", 0.9), ("lecun_normal", 0.85), ("zeros", 0.11))})
    table = depth.trainability(df)
    cmp = depth.claim_comparisons(df)
    diag = pd.DataFrame([{"depth": d, "activation": a, "init": i, "loss": 2.3, "last_std": 0.0, "similarity": np.nan,
                          "frac_saturated": np.nan, "frac_dead_units": np.nan, "grad_first": 0.0, "grad_last": 0.0,
                          "grad_ratio": np.nan} for d, a, i in table[["depth", "activation", "init"]].itertuples(index=False)])
    claims = report.claims_text(cmp, table)
    assert "**Orthogonal initialization helps deep networks.**" in claims
    # orthogonal is 2 pp above glorot_normal on every seed at depth 5, far below at depth 50
    assert "the claim holds in 2 of 4 (activation, depth) cells" in claims
    assert "the claim holds in 0 of 2 (initializer, depth) cells (SELU trains" in claims
    assert "fails in the other 2" in claims
    text = report.trainability_text(table, diag)
    assert "depth 50: 6 of 10 set-ups train" in text and "relu + orthogonal: fails" in text and "faded" in text


def test_deep_network_figures_are_titled_and_labelled() -> None:
    frame = depth.propagation_grid(4, 8, ["relu", "tanh"], ["he_normal", "random_normal_1"], X, Y)
    fig = plots.propagation_profiles(frame, "activation_std", title="std")
    assert fig._suptitle.get_text() == "std" and all(ax.get_xlabel() for ax in fig.axes if ax.has_data())
    df = _runs({(d, act, init): [0.5, 0.6, np.nan if init == "zeros" else 0.7] for d in (5, 20)
                for act in ("relu", "selu") for init in ("he_normal", "zeros")})
    table = depth.trainability(df)
    fig = plots.accuracy_heatmap(table, title="heat")
    assert fig.axes[0].get_title() == "heat" and "div" in [t.get_text() for t in fig.axes[0].texts]
    fig = plots.ci_points(table, x="depth", hue="init", col="activation", title="points", x_order=[5, 20])
    assert fig._suptitle.get_text() == "points" and fig.axes[0].get_ylabel()
    merged = table.assign(loss=[2.3, np.inf, 2.3, 2.3, 2.3, 2.3, 2.3, 2.3], last_std=[0.5, np.nan, 0, 1, 2, 3, 4, 5],
                          grad_ratio=[1.0, np.nan, np.nan, 2, 3, 4, 5, 6])
    fig = plots.diagnostic_scatter(merged, title="diag")
    assert all(ax.get_xlabel() and ax.get_xscale() == "log" for ax in fig.axes[:2])
    keras.backend.clear_session()
