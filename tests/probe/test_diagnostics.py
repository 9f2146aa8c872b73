"""Per-layer diagnostics: statistics and gradients against hand computations on tiny networks."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from initlab.errors import InvalidArgumentError
from initlab.nets.models import build_model
from initlab.probe.measure import (
    LayerProbe,
    activation_rows,
    kernel_gradients,
    layer_statistics,
    saturated,
    stats_of,
    update_ratio,
    update_ratios,
)


def _tiny(hidden_activation: str = "linear") -> keras.Sequential:
    """2 -> 2 (hidden_activation) -> 2 (softmax) with hand-chosen weights."""
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(2, activation=hidden_activation, name="hidden_1"),
            keras.layers.Dense(2, activation="softmax", name="output"),
        ]
    )
    model.get_layer("hidden_1").set_weights(
        [np.array([[1.0, -0.5], [0.5, 2.0]], "float32"), np.array([0.1, -0.2], "float32")]
    )
    model.get_layer("output").set_weights(
        [np.array([[0.3, -1.0], [0.7, 0.2]], "float32"), np.array([0.0, 0.05], "float32")]
    )
    return model


X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0]], "float32")
Y = np.array([0, 1, 1])


def _by_hand(x: np.ndarray, y: np.ndarray, model: keras.Sequential) -> dict[str, np.ndarray]:
    """Forward and backward pass of the tiny linear net, in float64 numpy."""
    w1, b1 = (np.asarray(v, np.float64) for v in model.get_layer("hidden_1").get_weights())
    w2, b2 = (np.asarray(v, np.float64) for v in model.get_layer("output").get_weights())
    h = x @ w1 + b1
    z = h @ w2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(2)[y]) / len(x)  # gradient of the batch-mean cross-entropy w.r.t. the logits
    dh = dz @ w2.T
    return {
        "h": h,
        "p": p,
        "loss": -np.mean(np.log(p[np.arange(len(y)), y])),
        "dw2": h.T @ dz,
        "db2": dz.sum(0),
        "dh": dh,
        "dw1": x.T @ dh,
        "db1": dh.sum(0),
    }


def test_probe_matches_a_hand_computed_backward_pass() -> None:
    model = _tiny()
    hand = _by_hand(X.astype(np.float64), Y, model)
    result = LayerProbe(model)(X, Y)
    assert result.loss == pytest.approx(hand["loss"], rel=1e-5)
    np.testing.assert_allclose(result.activations["hidden_1"], hand["h"], rtol=1e-5)
    np.testing.assert_allclose(result.activations["output"], hand["p"], rtol=1e-5)
    np.testing.assert_allclose(result.kernel_grads["hidden_1"], hand["dw1"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.kernel_grads["output"], hand["dw2"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.bias_grads["hidden_1"], hand["db1"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.activation_grads["hidden_1"], hand["dh"], rtol=1e-4, atol=1e-7)
    assert "output" not in result.activation_grads  # the loss reads the softmax's logits, not its output


def test_layer_statistics_are_the_hand_computed_norms() -> None:
    model = _tiny("relu")
    frame = layer_statistics(model, X, Y).set_index(["layer", "statistic"])["value"]
    h = np.maximum(
        X.astype(np.float64) @ np.asarray(model.get_layer("hidden_1").kernel)
        + np.asarray(model.get_layer("hidden_1").bias),
        0,
    )
    assert frame["hidden_1", "activation_mean"] == pytest.approx(h.mean(), rel=1e-5)
    assert frame["hidden_1", "activation_std"] == pytest.approx(h.std(), rel=1e-5)
    assert frame["hidden_1", "frac_zero"] == pytest.approx(np.mean(h == 0))
    grads = kernel_gradients(model, X, Y)
    assert frame["output", "kernel_grad_norm"] == pytest.approx(np.linalg.norm(grads["output"]), rel=1e-6)
    assert ("hidden_1", "frac_saturated") not in frame.index  # only for tanh and sigmoid layers
    assert ("output", "activation_grad_norm") not in frame.index
    without_labels = layer_statistics(model, X)
    assert "kernel_grad_norm" not in set(without_labels["statistic"])


def test_saturation_rule_for_tanh_and_sigmoid() -> None:
    a = np.array([-0.99, -0.96, 0.0, 0.5, 0.971, 0.98])
    np.testing.assert_array_equal(saturated(a, "tanh"), [True, False, False, False, True, True])
    s = np.array([0.001, 0.029, 0.031, 0.5, 0.969, 0.975])
    np.testing.assert_array_equal(saturated(s, "sigmoid"), [True, True, False, False, False, True])
    with pytest.raises(InvalidArgumentError, match="activation='relu'"):
        saturated(a, "relu")
    # stats_of does not know the activation: it counts by tanh's rule, |a| > 0.97
    frame = stats_of({"h": np.stack([a, s])}).set_index("layer")
    assert frame.loc["h", "frac_saturated"] == pytest.approx(4 / 12)


def test_activation_rows_pick_the_statistics_that_apply() -> None:
    tanh = {r["statistic"]: r["value"] for r in activation_rows("h", np.array([[-1.0, 0.0], [0.98, 0.5]]), "tanh")}
    assert tanh == pytest.approx(
        {"activation_mean": 0.12, "activation_std": np.std([-1, 0, 0.98, 0.5]), "frac_saturated": 0.5}
    )
    relu = {r["statistic"]: r["value"] for r in activation_rows("h", np.array([[0.0, 0.0, 2.0, 1.0]]), "relu")}
    assert relu["frac_zero"] == 0.5 and "frac_saturated" not in relu


def test_update_ratio_by_hand() -> None:
    before = np.array([1.0, -1.0, 1.0, -1.0])  # std 1
    assert update_ratio(before, before + 1e-3 * np.array([1, -1, 1, -1])) == pytest.approx(-3.0)
    assert update_ratio(before, before) == -math.inf
    assert update_ratio(np.zeros(4), np.array([0.0, 1.0, 0.0, 0.0])) == math.inf  # a zero init that moved
    assert math.isnan(update_ratio(np.zeros(4), np.zeros(4)))


def test_update_ratios_of_one_sgd_step() -> None:
    # SGD moves each kernel by -lr * gradient, so the ratio is log10(lr * std(grad) / std(kernel)).
    model = _tiny("tanh")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    grads = kernel_gradients(model, X, Y)
    stds = {n: np.std(np.asarray(model.get_layer(n).kernel)) for n in grads}
    ratios = update_ratios(model, X, Y).set_index("layer")["update_ratio"]
    for name, g in grads.items():
        assert ratios[name] == pytest.approx(math.log10(0.01 * np.std(g) / stds[name]), abs=1e-4)
    with pytest.raises(InvalidArgumentError, match="compiled"):
        update_ratios(_tiny(), X, Y)


def test_probe_works_on_a_convolutional_model() -> None:
    x = np.random.default_rng(0).random((4, 12, 12, 1), dtype=np.float32)
    model = build_model("cnn_small", (12, 12, 1), init="he_normal", seed=0)
    result = LayerProbe(model)(x, np.arange(4))
    assert [l for l in result.kernel_grads] == ["hidden_1", "hidden_2", "hidden_3", "output"]
    assert result.kernel_grads["hidden_1"].shape == (3, 3, 1, 32)
    assert result.activation_grads["hidden_2"].shape == result.activations["hidden_2"].shape


def test_activations_before_after_also_measures_gradients() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from initlab import plots, probe, training
    from initlab.findings import histograms

    specs = [
        training.RunSpec(
            dataset="mnist",
            model="deep_mlp",
            init=init,
            seed=0,
            epochs=1,
            validation_split=0.0,
            train_limit=64,
            test_limit=48,
            model_params={"depth": 2, "width": 8},
        )
        for init in ("he_normal", "zeros")
    ]
    runs = {s.init: probe.activations_before_after(s, grad_samples=32) for s in specs}
    before, after, record = runs["he_normal"]
    assert set(before) == set(after) == {"hidden_1", "hidden_2"} and len(before["hidden_1"]) == 48
    norms = record.gradient_norms
    assert list(norms["stage"].unique()) == ["at init", "trained"]
    data = training.data_for(specs[0])
    again = probe.gradient_norms(training.build_for(specs[0], data), data.x_test[:32], data.y_test[:32])
    np.testing.assert_allclose(
        norms[norms["stage"] == "at init"]["kernel_grad_norm"], again["kernel_grad_norm"], rtol=1e-5
    )
    grads = probe.gradients_before_after(runs)
    assert list(grads["layer"].unique()) == ["hidden_1", "hidden_2"] and len(grads) == 2 * 2 * 2
    assert (grads[grads["init"] == "zeros"]["kernel_grad_norm"] == 0).all()  # no signal, no gradient
    assert (grads[grads["init"] == "he_normal"]["kernel_grad_norm"] > 0).all()
    text = histograms.gradient_text(grads)
    assert text.startswith(
        "The first hidden layer's kernel gradient norm over the last's (hidden_1 / hidden_2, "
        "at init → trained, mean over seeds): he_normal "
    )
    assert "zeros gives every hidden kernel an exactly zero gradient" in text
    assert histograms.gradient_table(grads).shape == (4, 2)
    fig = plots.gradient_norm_profile(grads, title="grads")
    assert fig._suptitle.get_text() == "grads" and all(ax.get_yscale() == "log" for ax in fig.axes)
    assert "not drawn: zeros" in fig.axes[0].get_title()


def test_activations_before_after_trains_on_the_engine_asked_for() -> None:
    from initlab import probe, training

    spec = training.RunSpec(
        dataset="mnist",
        model="deep_mlp",
        init="he_normal",
        seed=0,
        epochs=1,
        validation_split=0.0,
        train_limit=96,
        test_limit=40,
        model_params={"depth": 2, "width": 8},
    )
    keras_run = probe.activations_before_after(spec, grad_samples=32)
    auto_run = probe.activations_before_after(spec, grad_samples=32, engine="auto")
    assert keras_run[2].engine == "keras" and auto_run[2].engine == "stacked"
    np.testing.assert_array_equal(keras_run[0]["hidden_1"], auto_run[0]["hidden_1"])  # same start
    assert not np.array_equal(auto_run[1]["hidden_1"], auto_run[0]["hidden_1"])  # and it trained
    with pytest.raises(InvalidArgumentError, match="auto, keras, stacked, stacked_bf16"):
        probe.activations_before_after(spec, engine="fast")


def test_track_symmetry_reads_the_kernels_every_epoch_on_both_engines() -> None:
    from dataclasses import replace

    from initlab import probe, training

    spec = training.RunSpec(
        dataset="mnist",
        model="deep_mlp",
        init="ones",
        seed=0,
        epochs=2,
        train_limit=200,
        test_limit=40,
        model_params={"depth": 2, "width": 8},
    )
    frames = {}
    for engine in ("keras", "auto"):
        frame, record = probe.track_symmetry(spec, engine=engine)
        frames[record.engine] = frame
        assert list(frame["epoch"]) == [0, 0, 1, 1, 2, 2] and set(frame["layer"]) == {"hidden_1", "hidden_2"}
        assert (frame["distinct_units"] == 1).all()  # a constant start never breaks symmetry
    assert set(frames) == {"keras", "stacked"}
    start = [f[f.epoch == 0][["unit_spread", "distinct_units"]].to_numpy() for f in frames.values()]
    np.testing.assert_array_equal(*start)
    he = replace(spec, init="he_normal", engine="stacked")
    frame, _ = probe.track_symmetry(he)
    assert (frame["distinct_units"] == 8).all()
    model, _ = training.train(he)  # the same run again: its last row is the trained kernel's
    last = frame[(frame.epoch == 2) & (frame.layer == "hidden_2")]["unit_spread"].item()
    assert last == probe.unit_spread(model.get_layer("hidden_2").kernel)


# --- float64 arithmetic, identical units, stacked symmetry runs, Adam's first step ---


def test_float64_gradients_are_the_hand_computed_ones() -> None:
    from initlab.probe.float64 import gradient_norms_float64
    from initlab.probe.measure import gradient_norms

    model = _tiny("relu")
    w1, b1 = (np.asarray(v, np.float64) for v in model.get_layer("hidden_1").get_weights())
    w2, b2 = (np.asarray(v, np.float64) for v in model.get_layer("output").get_weights())
    x = X.astype(np.float64)
    z1 = x @ w1 + b1
    h = np.maximum(z1, 0)
    z = h @ w2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(2)[Y]) / len(x)
    dh = (dz @ w2.T) * (z1 > 0)
    frame = gradient_norms_float64(model, X, Y).set_index("layer")
    assert list(frame.index) == ["hidden_1", "output"]
    assert frame.loc["output", "kernel_grad_norm"] == pytest.approx(np.linalg.norm(h.T @ dz), rel=1e-12)
    assert frame.loc["output", "bias_grad_norm"] == pytest.approx(np.linalg.norm(dz.sum(0)), rel=1e-12)
    assert frame.loc["hidden_1", "kernel_grad_norm"] == pytest.approx(np.linalg.norm(x.T @ dh), rel=1e-12)
    assert frame.loc["hidden_1", "bias_grad_norm"] == pytest.approx(np.linalg.norm(dh.sum(0)), rel=1e-12)
    assert frame.loc["hidden_1", "kernel_norm"] == pytest.approx(np.linalg.norm(w1), rel=1e-12)
    keras_norms = gradient_norms(model, X, Y).set_index("layer")  # float32: the same to its precision
    np.testing.assert_allclose(keras_norms["kernel_grad_norm"], frame["kernel_grad_norm"], rtol=1e-5)


def test_a_constant_network_gets_no_hidden_gradient_in_float64() -> None:
    # Every kernel equal to c: each class gets the same logit, and the error reaching a hidden unit is
    # c * (sum_k p_k - sum_k y_k) = 0. float64 leaves round-off of about 1e-16 of the output gradient.
    from initlab.probe.float64 import gradient_norms_float64

    x = np.random.default_rng(0).random((64, 12)).astype("float32")
    y = np.arange(64) % 10
    for init in ("ones", "constant"):
        model = build_model("deep_mlp", (12,), init=init, depth=1, width=16)
        g = gradient_norms_float64(model, x, y).set_index("layer")["kernel_grad_norm"]
        assert g["output"] > 0.1 and g["hidden_1"] <= 1e-14 * g["output"]
    zero = gradient_norms_float64(build_model("deep_mlp", (12,), init="zeros", depth=1, width=16), x, y)
    assert (zero["kernel_grad_norm"] == 0).all()


def test_float64_arithmetic_refuses_layers_it_does_not_compute() -> None:
    from initlab.errors import UnsupportedLayerError
    from initlab.probe.float64 import dense_weights64

    with pytest.raises(UnsupportedLayerError, match="hidden_1"):
        dense_weights64(build_model("cnn_small", (12, 12, 1), init="he_normal"))
    with pytest.raises(UnsupportedLayerError, match="needs relu"):
        dense_weights64(build_model("deep_mlp", (4,), depth=1, width=3, activation="selu"))
    linear_head = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="output")])
    with pytest.raises(UnsupportedLayerError, match="needs softmax"):
        dense_weights64(linear_head)


def test_gradients_at_init_in_both_precisions() -> None:
    from initlab import probe, training

    spec = training.RunSpec(
        dataset="mnist",
        model="deep_mlp",
        init="he_normal",
        seed=0,
        train_limit=64,
        test_limit=32,
        model_params={"depth": 2, "width": 8},
    )
    g32 = probe.gradients_at_init_in(spec, "float32", n_samples=32)
    g64 = probe.gradients_at_init_in(spec, "float64", n_samples=32)
    assert set(g32["precision"]) == {"float32"} and set(g64["precision"]) == {"float64"}
    assert list(g64["layer"]) == ["hidden_1", "hidden_2", "output"] and (g64["init"] == "he_normal").all()
    np.testing.assert_allclose(g32["kernel_grad_norm"], g64["kernel_grad_norm"], rtol=1e-5)
    with pytest.raises(InvalidArgumentError, match="float32, float64"):
        probe.gradients_at_init_in(spec, "float16")


def test_unit_spread_is_exactly_zero_for_identical_units() -> None:
    from initlab.probe.symmetry import unit_spread

    big = np.full((784, 128), 1.2345678, np.float32)  # |w|^2 near 1200: the raw formula leaves ~1e-6
    assert unit_spread(big) == 0.0
    assert unit_spread(np.array([[0.0, 3.0], [0.0, 4.0]])) == pytest.approx(5.0)  # two units: distance 5
    three = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # distances 1, 1, sqrt 2
    assert unit_spread(three) == pytest.approx((2 + math.sqrt(2)) / 3)


def test_collapsing_identical_units_keeps_the_function() -> None:
    from initlab.probe.symmetry import collapse_identical_units

    x = np.random.default_rng(1).random((40, 6)).astype("float32")
    ones = build_model("deep_mlp", (6,), init="ones", depth=2, width=5)
    out = ones.get_layer("output")
    out.set_weights([np.random.default_rng(2).normal(size=(5, 10)).astype("float32"), np.zeros(10, "float32")])
    c = collapse_identical_units(ones, x)
    assert c["units"] == 5 and c["identical"] is True and c["same_class"] == 1.0 and c["max_prob_diff"] < 1e-12
    he = build_model("deep_mlp", (6,), init="he_normal", seed=0, depth=1, width=5)
    assert collapse_identical_units(he, x)["identical"] is False
    with pytest.raises(InvalidArgumentError, match="hidden_1"):
        collapse_identical_units(he, x, layer="output")


def test_track_symmetry_runs_trains_a_stack_and_labels_it() -> None:
    from initlab import probe, training

    base = dict(
        dataset="mnist",
        model="deep_mlp",
        epochs=1,
        train_limit=200,
        test_limit=40,
        model_params={"depth": 2, "width": 8},
    )
    specs = [training.RunSpec(init=init, seed=seed, **base) for init in ("ones", "he_normal") for seed in (0, 1)]
    frame, results = probe.track_symmetry_runs(specs, labels=["a", "a", "b", "b"])
    assert list(frame.columns) == ["init", "seed", "epoch", "layer", "unit_spread", "distinct_units"]
    assert len(frame) == 4 * 2 * 2 and set(frame["layer"]) == {"hidden_1", "hidden_2"}  # no output layer
    a = frame[frame.init == "a"]
    assert (a["distinct_units"] == 1).all() and (a["unit_spread"] == 0).all()
    assert (frame[frame.init == "b"]["distinct_units"] == 8).all()
    assert len(results) == 4 and all(r.status == "ok" for _, r in results)
    last = frame[(frame.init == "b") & (frame.seed == 1) & (frame.epoch == 1) & (frame.layer == "hidden_2")]
    assert last["unit_spread"].item() == probe.unit_spread(results[3][0].get_layer("hidden_2").kernel)
    with pytest.raises(InvalidArgumentError, match="one name per run"):
        probe.track_symmetry_runs(specs, labels=["a"])
    with pytest.raises(InvalidArgumentError, match="at least one run"):
        probe.track_symmetry_runs([])


def test_first_adam_step_is_keras_first_adam_step() -> None:
    # Keras' first Adam step: lr * sqrt(1 - b2) * g / (sqrt(1 - b2) |g| + eps), per weight.
    from initlab import probe, training

    spec = training.RunSpec(
        dataset="mnist",
        model="deep_mlp",
        init="random_normal_001",
        seed=0,
        train_limit=64,
        test_limit=32,
        model_params={"depth": 2, "width": 8},
    )
    data = training.data_for(spec)
    grads = kernel_gradients(training.build_for(spec, data), data.x_train[:32], data.y_train[:32])
    steps = probe.first_adam_step(spec).set_index("layer")
    c = math.sqrt(1 - 0.999)
    for name, g in grads.items():
        g = g.astype(np.float64)
        expected = 1e-3 * c * g / (c * np.abs(g) + 1e-7)
        assert steps.loc[name, "step_rms"] == pytest.approx(np.sqrt(np.mean(expected**2)), rel=2e-3)
        assert steps.loc[name, "grad_rms"] == pytest.approx(np.sqrt(np.mean(g**2)), rel=1e-5)
    assert steps.loc["hidden_1", "kernel_std"] == pytest.approx(0.01, rel=0.05)
