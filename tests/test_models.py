"""The sources' architectures: layer sizes, initializer on every kernel, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.models import build_model, model_names


def _dense_widths(model) -> list[int]:
    return [layer.units for layer in model.layers if hasattr(layer, "units")]


def test_source_architectures() -> None:
    assert _dense_widths(build_model("mlp_128", (28, 28))) == [128, 10]
    assert _dense_widths(build_model("mlp_512_256_128_64", (28, 28))) == [512, 256, 128, 64, 10]
    assert _dense_widths(build_model("mlp_128_64", (28, 28))) == [128, 64, 10]
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
