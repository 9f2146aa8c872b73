"""LSUV: unit variance per layer on the batch, a consistent record, hand-computed cases, clear errors."""

from __future__ import annotations

import math
from functools import lru_cache

import keras
import numpy as np
import pytest

from initlab.data import datasets as ds
from initlab.errors import InvalidArgumentError, UnsupportedLayerError
from initlab.nets.initializers import get_initializer, layer_seed
from initlab.nets.lsuv import RECORD_COLUMNS, apply_data_init, lsuv_init, pre_activation
from initlab.nets.models import build_model

N = 256  # the LSUV batch: the first 256 MNIST training images


@lru_cache(maxsize=1)
def mnist_batch() -> np.ndarray:
    return ds.scale(ds.load_dataset("mnist").x_train[:N])


def _response_variance(model: keras.Model, name: str, measured: str, x: np.ndarray) -> float:
    """The layer's response variance, measured independently of initlab.nets.lsuv's own loop."""
    layer = model.get_layer(name)
    if measured == "output":
        out = keras.Model(model.inputs[0], layer.output)(x)
        return float(np.var(np.asarray(out, dtype=np.float64)))
    inp = np.asarray(keras.Model(model.inputs[0], layer.input)(x), dtype=np.float64)
    z = inp.reshape(-1, inp.shape[-1]) @ np.asarray(layer.kernel, dtype=np.float64) + np.asarray(layer.bias)
    return float(np.var(z))


CASES = [
    ("mlp_128", {}),
    ("mlp_512_256_128_64", {}),
    ("mlp_128_64", {}),
    ("deep_mlp", {"depth": 12, "width": 64, "activation": "relu"}),
    ("deep_mlp", {"depth": 12, "width": 64, "activation": "tanh"}),
    ("deep_mlp", {"depth": 12, "width": 64, "activation": "selu", "dropout": 0.1}),
    ("cnn_small", {}),
]


@pytest.mark.parametrize("name, params", CASES, ids=[f"{n}-{p.get('activation', '')}" for n, p in CASES])
def test_every_layer_ends_within_tol_of_unit_variance(name: str, params: dict) -> None:
    x = mnist_batch()
    x = x[..., None] if name == "cnn_small" else x
    model = build_model(name, x.shape[1:], init="he_normal", seed=4, **params)
    tol = 0.1
    record = lsuv_init(model, x, tol=tol, max_iter=10, seed=4)
    assert list(record.columns) == RECORD_COLUMNS
    hidden = [l.name for l in model.layers if hasattr(l, "kernel") and l.name != "output"]
    assert list(record["layer"]) == hidden  # the head is not rescaled by default
    for i, row in enumerate(record.itertuples(), start=1):
        layer = model.get_layer(row.layer)
        expected = "pre_activation" if row.activation == "tanh" else "output"
        assert row.measured == expected
        variance = _response_variance(model, row.layer, row.measured, x)
        assert abs(variance - 1) < tol, (row.layer, variance)
        # the record tells the truth: its final variance, and kernel = orthonormal start x scale
        assert variance == pytest.approx(row.final_variance, rel=1e-4)
        assert row.converged and 0 <= row.iterations <= 10
        start = np.asarray(get_initializer("orthogonal", seed=layer_seed(4, i))(tuple(layer.kernel.shape)))
        np.testing.assert_allclose(np.asarray(layer.kernel), start * row.scale, rtol=1e-4, atol=1e-7)
    head = model.get_layer("output")
    n_kernels = len(hidden) + 1
    start = get_initializer("orthogonal", seed=layer_seed(4, n_kernels))(tuple(head.kernel.shape))
    np.testing.assert_array_equal(np.asarray(head.kernel), np.asarray(start))


def test_hand_computed_scale_on_a_one_layer_linear_net() -> None:
    # x @ W with W = [[1, 0], [0, 1], [0, 0]] picks x's first two columns: the values 1..8,
    # whose variance (ddof=0) is (8**2 - 1) / 12 = 5.25; one rescaling by 1/sqrt(5.25) gives exactly 1.
    x = np.array([[1, 2, 9], [3, 4, 9], [5, 6, 9], [7, 8, 9]], dtype="float32")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(2, name="hidden_1"),
            keras.layers.Dense(2, activation="softmax", name="output"),
        ]
    )
    w = np.array([[1, 0], [0, 1], [0, 0]], dtype="float32")
    model.get_layer("hidden_1").set_weights([w, np.zeros(2, "float32")])
    record = lsuv_init(model, x, tol=0.01, orthonormal=False)
    row = record.iloc[0]
    assert row["initial_variance"] == pytest.approx(5.25)
    assert row["scale"] == pytest.approx(1 / math.sqrt(5.25))
    assert row["iterations"] == 1 and row["final_variance"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(np.asarray(model.get_layer("hidden_1").kernel), w / math.sqrt(5.25), rtol=1e-6)


def test_hand_computed_relu_output_variance() -> None:
    # relu(x @ I) on x = [[-1, 2], [3, -4]] is [[0, 2], [3, 0]]: mean 1.25, mean square 3.25,
    # so variance 3.25 - 1.25**2 = 1.6875.
    # ReLU is positively homogeneous, so one division by sqrt(1.6875) lands on variance 1.
    x = np.array([[-1, 2], [3, -4]], dtype="float32")
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(2, activation="relu", name="hidden_1"),
            keras.layers.Dense(2, activation="softmax", name="output"),
        ]
    )
    model.get_layer("hidden_1").set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    row = lsuv_init(model, x, tol=0.01, orthonormal=False).iloc[0]
    assert row["initial_variance"] == pytest.approx(1.6875)
    assert row["scale"] == pytest.approx(1 / math.sqrt(1.6875)) and row["iterations"] == 1


def test_pre_activation_matches_numpy_for_dense_and_conv() -> None:
    rng = np.random.default_rng(0)
    dense = keras.layers.Dense(3, activation="tanh", bias_initializer="ones")
    x = rng.normal(size=(5, 4)).astype("float32")
    dense.build((None, 4))
    np.testing.assert_allclose(np.asarray(pre_activation(dense, x)), x @ np.asarray(dense.kernel) + 1, rtol=1e-5)
    conv = keras.layers.Conv2D(2, 1, activation="tanh", bias_initializer="ones")
    xc = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    conv.build((None, 3, 3, 4))
    k = np.asarray(conv.kernel)[0, 0]  # a 1x1 convolution is a matmul over channels
    np.testing.assert_allclose(np.asarray(pre_activation(conv, xc)), xc @ k + 1, rtol=1e-5, atol=1e-6)


def test_head_rescaled_on_request_and_max_iter_zero_keeps_the_start() -> None:
    x = mnist_batch()[:64]
    model = build_model("mlp_128", (28, 28), init="orthogonal", seed=2)
    before = [np.asarray(w) for w in model.get_weights()]
    record = lsuv_init(model, x, max_iter=0, seed=2)
    assert (record["iterations"] == 0).all() and (record["scale"] == 1.0).all()
    for a, b in zip(before, model.get_weights()):  # build_model's orthogonal kernels are LSUV's start
        np.testing.assert_array_equal(a, b)
    record = lsuv_init(model, x, seed=2, include_output=True)
    assert list(record["layer"]) == ["hidden_1", "output"]
    assert record.set_index("layer").loc["output", "measured"] == "pre_activation"  # softmax is bounded
    assert abs(_response_variance(model, "output", "pre_activation", x) - 1) < 0.1


def test_apply_data_init_only_acts_for_lsuv() -> None:
    x = mnist_batch()
    model = build_model("mlp_128_64", (28, 28), init="he_normal", seed=1)
    before = model.get_weights()
    assert apply_data_init(model, "he_normal", x, seed=1) is None
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    lsuv = build_model("mlp_128_64", (28, 28), init="lsuv", seed=1)
    record = apply_data_init(lsuv, "lsuv", x, seed=1, n_samples=100)
    again = build_model("mlp_128_64", (28, 28), init="he_normal", seed=1)
    expected = lsuv_init(again, x[:100], seed=1)
    np.testing.assert_allclose(record["scale"], expected["scale"], rtol=1e-6)
    for a, b in zip(lsuv.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_unsupported_layer_is_named() -> None:
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, name="hidden_1"),
            keras.layers.BatchNormalization(name="bn_1"),
            keras.layers.Dense(2, name="output"),
        ]
    )
    with pytest.raises(UnsupportedLayerError, match="'bn_1' \\(BatchNormalization\\)") as err:
        lsuv_init(model, np.ones((8, 4)))
    assert err.value.layer == "bn_1" and err.value.layer_type == "BatchNormalization"


def test_models_it_cannot_handle_raise_clear_errors() -> None:
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    with pytest.raises(InvalidArgumentError, match="at least one Dense or Conv"):
        lsuv_init(keras.Sequential([keras.Input((4,)), keras.layers.Flatten()]), x)
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(InvalidArgumentError, match="keras.Sequential"):
        lsuv_init(functional, x)
    model = build_model("deep_mlp", (4,), depth=2, width=8, activation="tanh")
    before = model.get_weights()
    with pytest.raises(InvalidArgumentError, match="'hidden_1'.*tanh"):
        lsuv_init(model, x, where="output")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # checked before any change


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"tol": 0.0}, "tol=0.0"),
        ({"tol": 1.5}, "tol=1.5"),
        ({"max_iter": -1}, "max_iter=-1"),
        ({"where": "logits"}, "where='logits'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    model = build_model("mlp_128", (4,))
    with pytest.raises(InvalidArgumentError, match=f"Received: {argument}"):
        lsuv_init(model, np.ones((8, 4)), **kwargs)


def test_batch_of_the_wrong_shape_is_refused() -> None:
    model = build_model("mlp_128", (28, 28))
    with pytest.raises(InvalidArgumentError, match="x_batch"):
        lsuv_init(model, np.ones((8, 784)))
    with pytest.raises(InvalidArgumentError, match="n_samples >= 2"):
        lsuv_init(model, np.ones((1, 28, 28)))
