"""The sources' architectures: layer sizes, initializer on every kernel, clear errors."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets.models import build_model, describe_models, model_names


def _dense_widths(model) -> list[int]:
    return [layer.units for layer in model.layers if hasattr(layer, "units")]


def test_source_architectures() -> None:
    assert _dense_widths(build_model("mlp_128", (28, 28))) == [128, 10]
    assert _dense_widths(build_model("mlp_512_256_128_64", (28, 28))) == [512, 256, 128, 64, 10]
    assert _dense_widths(build_model("mlp_128_64", (28, 28))) == [128, 64, 10]
    literal = build_model("mlp_512_256_128_64_no_head", (28, 28))  # 002 as printed: no head
    assert _dense_widths(literal) == [512, 256, 128, 64] and literal.layers[-1].name == "hidden_4"
    with pytest.raises(InvalidArgumentError, match="is more than model .* 64 outputs. Received: n_classes=100"):
        build_model("mlp_512_256_128_64_no_head", (28, 28), n_classes=100)
    cnn = build_model("cnn_small", (32, 32, 3))
    assert cnn.output_shape == (None, 10)
    assert not any("batch_norm" in layer.name for layer in cnn.layers)


def test_deep_mlp_options() -> None:
    model = build_model("deep_mlp", (28, 28), depth=7, width=32, activation="tanh")
    hidden = [l for l in model.layers if l.name.startswith("hidden_")]
    assert len(hidden) == 7 and all(l.units == 32 for l in hidden)
    assert all(l.activation.__name__ == "tanh" for l in hidden)


def test_init_applies_to_every_kernel_and_biases_start_at_zero() -> None:
    model = build_model("mlp_512_256_128_64", (28, 28), init="he_normal", seed=3)
    for layer in model.layers:
        if not hasattr(layer, "kernel"):
            continue
        kernel = np.asarray(layer.kernel)
        fan_in = kernel.shape[0]
        # He normal: std sqrt(2 / fan_in); sample std within 10% for these sizes.
        assert abs(kernel.std() / np.sqrt(2 / fan_in) - 1) < 0.1, layer.name
        assert not np.asarray(layer.bias).any()


def test_layers_of_equal_shape_get_different_values() -> None:
    model = build_model("deep_mlp", (16,), init="glorot_uniform", seed=0, depth=3, width=16)
    k2, k3 = (np.asarray(model.get_layer(f"hidden_{i}").kernel) for i in (2, 3))
    assert k2.shape == k3.shape and not np.array_equal(k2, k3)


def test_same_seed_same_weights_new_seed_new_weights() -> None:
    a = build_model("mlp_128", (28, 28), init="he_normal", seed=1).get_weights()
    b = build_model("mlp_128", (28, 28), init="he_normal", seed=1).get_weights()
    c = build_model("mlp_128", (28, 28), init="he_normal", seed=2).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        build_model("resnet", (28, 28))
    for name in model_names():
        assert name in str(err.value)


def test_bad_options_name_the_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="depth=0"):
        build_model("deep_mlp", (28, 28), depth=0)
    with pytest.raises(InvalidArgumentError, match="activation='swish2'"):
        build_model("deep_mlp", (28, 28), activation="swish2")
    with pytest.raises(InvalidArgumentError, match="depth"):
        build_model("mlp_128", (28, 28), depth=3)


def test_dropout_zero_adds_no_layer_and_changes_nothing() -> None:
    plain = build_model("deep_mlp", (8, 8), init="he_normal", seed=5, depth=3, width=16)
    explicit = build_model("deep_mlp", (8, 8), init="he_normal", seed=5, depth=3, width=16, dropout=0.0)
    names = ["flatten", "hidden_1", "hidden_2", "hidden_3", "output"]
    assert [l.name for l in plain.layers] == [l.name for l in explicit.layers] == names
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), explicit.get_weights()))


@pytest.mark.parametrize("activation, layer_type", [("selu", "AlphaDropout"), ("relu", "Dropout")])
def test_dropout_follows_every_hidden_layer(activation: str, layer_type: str) -> None:
    model = build_model(
        "deep_mlp", (8, 8), init="lecun_normal", seed=0, depth=3, width=16, activation=activation, dropout=0.1
    )
    assert [l.name for l in model.layers] == [
        "flatten",
        "hidden_1",
        "dropout_1",
        "hidden_2",
        "dropout_2",
        "hidden_3",
        "dropout_3",
        "output",
    ]
    drops = [l for l in model.layers if l.name.startswith("dropout_")]
    assert {type(l).__name__ for l in drops} == {layer_type} and all(l.rate == 0.1 for l in drops)
    plain = build_model("deep_mlp", (8, 8), init="lecun_normal", seed=0, depth=3, width=16, activation=activation)
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), model.get_weights()))  # same kernels


def test_alpha_dropout_keeps_standardized_inputs_standardized() -> None:
    # AlphaDropout (SELU nets) keeps mean 0 and variance 1 in training; plain dropout scales the
    # variance by 1 / (1 - rate). Standard errors for n values: sigma / sqrt(n) for the mean,
    # sigma^2 * sqrt((kurtosis - 1) / n) for the variance (dropout's outputs are far from normal).
    n, rate = 200_000, 0.2
    x = np.random.default_rng(0).standard_normal((n // 100, 100)).astype("float32")
    model = build_model("deep_mlp", (100,), seed=0, depth=1, width=100, activation="selu", dropout=rate)

    def se_var(a: np.ndarray) -> float:
        kurt = np.mean((a - a.mean()) ** 4) / a.var() ** 2
        return a.var() * math.sqrt((kurt - 1) / a.size)

    alpha = np.asarray(model.get_layer("dropout_1")(x, training=True), dtype=np.float64)
    assert abs(alpha.mean()) < 5 / math.sqrt(n)
    assert abs(alpha.var() - 1) < 5 * se_var(alpha)
    plain = np.asarray(keras.layers.Dropout(rate, seed=0)(x, training=True), dtype=np.float64)
    assert abs(plain.var() - 1 / (1 - rate)) < 5 * se_var(plain)
    assert abs(plain.var() - 1) > 20 * se_var(plain)  # the shift AlphaDropout avoids


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.5", True, None])
def test_bad_dropout_names_the_argument(bad) -> None:
    with pytest.raises(InvalidArgumentError, match=f"Received: dropout={bad!r}"):
        build_model("deep_mlp", (8, 8), depth=2, width=4, dropout=bad)


def test_dropout_is_a_deep_mlp_option_only() -> None:
    assert "dropout=0.0" in {r["name"]: r["options"] for r in describe_models()}["deep_mlp"]
    with pytest.raises(InvalidArgumentError, match="dropout"):
        build_model("mlp_128", (8, 8), dropout=0.1)


def test_bias_std_draws_hidden_biases_and_leaves_the_rest_alone() -> None:
    kw = dict(init="glorot_normal", seed=4, depth=3, width=400)
    plain = build_model("deep_mlp", (8, 8), **kw)
    zero = build_model("deep_mlp", (8, 8), bias_std=0.0, **kw)
    drawn = build_model("deep_mlp", (8, 8), bias_std=0.3, **kw)
    again = build_model("deep_mlp", (8, 8), bias_std=0.3, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), zero.get_weights()))  # 0: today's zeros
    biases = [np.asarray(drawn.get_layer(f"hidden_{i}").bias) for i in (1, 2, 3)]
    for b in biases:
        # the sample std of n = 400 normal values has a standard error of sigma / sqrt(2n) = 0.0106; 4 of them
        assert abs(b.std() - 0.3) < 4 * 0.3 / math.sqrt(2 * b.size)
        assert abs(b.mean()) < 4 * 0.3 / math.sqrt(b.size)
    assert not np.array_equal(biases[0], biases[1]) and not np.array_equal(biases[1], biases[2])
    assert not np.asarray(drawn.get_layer("output").bias).any()  # the head keeps zero biases
    for name in ("hidden_1", "hidden_2", "hidden_3", "output"):  # kernels as without biases
        assert np.array_equal(np.asarray(drawn.get_layer(name).kernel), np.asarray(plain.get_layer(name).kernel))
        assert np.array_equal(np.asarray(drawn.get_layer(name).bias), np.asarray(again.get_layer(name).bias))
    # a bias's draws are not its kernel's first draws rescaled (the seeds differ)
    k = np.asarray(drawn.get_layer("hidden_2").kernel).ravel()[:400]
    assert abs(np.corrcoef(k, biases[1])[0, 1]) < 4 / math.sqrt(400)
    other = build_model("deep_mlp", (8, 8), bias_std=0.3, **{**kw, "seed": 5})
    assert not np.array_equal(np.asarray(other.get_layer("hidden_1").bias), biases[0])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.2", True])
def test_bad_bias_std_names_the_argument(bad) -> None:
    with pytest.raises(InvalidArgumentError, match="bias_std"):
        build_model("deep_mlp", (8, 8), depth=2, width=4, bias_std=bad)
