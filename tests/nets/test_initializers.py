"""Initializers: sample statistics against their formulas, with tolerances from the sample size."""

from __future__ import annotations

import inspect
import math
import re

import keras
import numpy as np
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets import initializers as inits
from initlab.nets.initializers import (
    INITIALIZERS,
    compute_fans,
    describe_initializers,
    expected_stats,
    get_initializer,
    init_names,
    layer_seed,
)

DENSE = (784, 256)
CONV = (3, 3, 32, 64)
CONSTANTS = {"zeros": 0.0, "ones": 1.0, "constant": 0.5}
DETERMINISTIC = {*CONSTANTS, "identity", "zero_hadamard"}  # zero_hadamard: tests/nets/test_zero_init.py
RANDOM = sorted(set(init_names()) - DETERMINISTIC)
Z = 5.0  # standard errors allowed: a false alarm has probability ~6e-7 per check


def draw(name, shape, seed: int = 0, **params) -> np.ndarray:
    return np.asarray(get_initializer(name, seed=seed, **params)(shape), dtype=np.float64)


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", [n for n in RANDOM if n != "orthogonal"])
def test_sample_mean_and_std_match_the_formula(name: str, shape) -> None:
    w = draw(name, shape)
    e = expected_stats(name, shape)
    n = w.size
    # standard error of the mean is sigma/sqrt(n); of a sample std sigma*sqrt((kurtosis-1)/(4n)),
    # which is sigma/sqrt(2n) for a normal (sparse weights are far from normal: kurtosis ~ 3 fan_in/k)
    assert abs(w.mean() - e["mean"]) < Z * e["std"] / math.sqrt(n)
    kurt = np.mean((w - w.mean()) ** 4) / w.var() ** 2
    se_std = e["std"] * math.sqrt((kurt - 1) / (4 * n))
    assert abs(w.std() - e["std"]) < Z * se_std, (w.std(), e["std"])
    assert w.min() >= e["low"] - 1e-7 and w.max() <= e["high"] + 1e-7


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constants_are_exact(name: str, shape) -> None:
    w = draw(name, shape)
    e = expected_stats(name, shape)
    assert np.all(w == CONSTANTS[name])
    assert (e["mean"], e["std"], e["low"], e["high"]) == (CONSTANTS[name], 0.0, CONSTANTS[name], CONSTANTS[name])


@pytest.mark.parametrize("name", ["random_uniform", "glorot_uniform", "he_uniform", "lecun_uniform"])
def test_uniform_fills_its_bounds(name: str) -> None:
    w = draw(name, DENSE)
    e = expected_stats(name, DENSE)
    assert e["std"] == pytest.approx(e["high"] / math.sqrt(3))
    assert w.min() >= e["low"] and w.max() <= e["high"]
    # P(no draw within 1e-4 of a bound) = (1 - 1e-4/2)^200704 ~ e^-10
    span = e["high"] - e["low"]
    assert w.min() < e["low"] + 1e-4 * span and w.max() > e["high"] - 1e-4 * span


@pytest.mark.parametrize("name", ["truncated_normal", "glorot_normal", "he_normal", "lecun_normal"])
def test_truncated_normals_stay_within_two_sigma(name: str) -> None:
    w = draw(name, DENSE)
    e = expected_stats(name, DENSE)
    sigma = e["high"] / 2  # the pre-truncation sigma
    assert e["std"] == pytest.approx(sigma * inits.TRUNCATED_STD)
    assert np.abs(w).max() <= 2 * sigma * (1 + 1e-6)
    # ... and the cut is reached: P(none of 200k draws in the last 1% of the range) is ~e^-100
    assert np.abs(w).max() > 1.98 * sigma


# The presets by hand, from the papers' formulas (not from the objects' own scale and mode).
# Fans by hand: a dense kernel's are its two sizes; a 3x3 convolution's are 9x its channels.
HAND_FANS = {DENSE: (784, 256), CONV: (3 * 3 * 32, 3 * 3 * 64)}
HAND_STD = {  # the std of the drawn weights, as a function of (fan_in, fan_out)
    "glorot_uniform": lambda i, o: math.sqrt(2 / (i + o)),
    "glorot_normal": lambda i, o: math.sqrt(2 / (i + o)),
    "he_uniform": lambda i, o: math.sqrt(2 / i),
    "he_normal": lambda i, o: math.sqrt(2 / i),
    "lecun_uniform": lambda i, o: math.sqrt(1 / i),
    "lecun_normal": lambda i, o: math.sqrt(1 / i),
}
HAND_UNIFORM_LIMIT = {  # uniform(-limit, limit)
    "glorot_uniform": lambda i, o: math.sqrt(6 / (i + o)),
    "he_uniform": lambda i, o: math.sqrt(6 / i),
    "lecun_uniform": lambda i, o: math.sqrt(3 / i),
}
KERAS_TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) cut at +-2: Keras divides sigma by it before the cut


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", sorted(HAND_STD))
def test_presets_match_the_hand_formulas(name: str, shape) -> None:
    w = draw(name, shape, seed=11)
    n = w.size
    fan_in, fan_out = HAND_FANS[shape]
    sigma = HAND_STD[name](fan_in, fan_out)
    # mean 0 within Z standard errors (sigma / sqrt(n)); the sample std within Z standard errors,
    # sigma / sqrt(2n) for a normal, an upper bound for these (kurtosis <= 3)
    assert abs(w.mean()) < Z * sigma / math.sqrt(n)
    assert abs(w.std() - sigma) < Z * sigma / math.sqrt(2 * n), (w.std(), sigma)
    top = np.abs(w).max()
    if name in HAND_UNIFORM_LIMIT:
        limit = HAND_UNIFORM_LIMIT[name](fan_in, fan_out)
        assert limit == pytest.approx(sigma * math.sqrt(3))
        # inside the limits; and P(no draw in the last 20/n of the range, either side) = (1 - 10/n)^n ~ e^-10
        assert top <= limit * (1 + 1e-6)
        assert w.max() > limit * (1 - 20 / n) and w.min() < -limit * (1 - 20 / n)
    else:
        cut = 2 * sigma / KERAS_TRUNCATED_STD  # two pre-truncation sigmas
        assert top <= cut * (1 + 1e-6)
        # a draw lands within a fraction d of the cut with probability ~ 4 d phi(2) / 0.9545 each,
        # so P(none of n does) = e^-10 for d below
        d = 10 * 0.9545 / (4 * n * math.exp(-2) / math.sqrt(2 * math.pi))
        assert top > cut * (1 - d)


@pytest.mark.parametrize(
    "name", ["randn_001", "randn_lecun", "randn_he", "random_normal", "random_normal_001", "random_normal_1"]
)
def test_plain_normals_are_not_truncated(name: str) -> None:
    w = draw(name, DENSE)
    sigma = expected_stats(name, DENSE)["std"]
    # P(|z| > 2) = 4.55%: about 9,100 of 200,704 draws (binomial se 0.047%), truncation gives none
    frac = np.mean(np.abs(w) > 2 * sigma)
    assert abs(frac - 0.0455) < 0.005


def test_source_001_formulas() -> None:
    fan_in = DENSE[0]
    assert expected_stats("randn_001", DENSE)["std"] == pytest.approx(0.01)
    assert expected_stats("randn_lecun", DENSE)["std"] == pytest.approx(math.sqrt(1 / fan_in))
    assert expected_stats("randn_he", DENSE)["std"] == pytest.approx(math.sqrt(2 / fan_in))
    # 001's "Xavier" is Keras' LeCun normal without the truncation: same std, wider range
    assert expected_stats("lecun_normal", DENSE)["std"] == pytest.approx(math.sqrt(1 / fan_in))


@pytest.mark.parametrize("shape", [(64, 64), (256, 64), (64, 256), (3, 3, 8, 16)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain) -> None:
    w = draw("orthogonal", shape, gain=gain).reshape(-1, shape[-1])
    small = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-5 * gain**2)
    e = expected_stats(get_initializer("orthogonal", gain=gain), shape)
    # the sum of squares is exactly gain^2 * min(rows, cols); only the mean is random
    assert np.sqrt(np.mean(w**2)) == pytest.approx(e["std"], rel=1e-5)
    assert np.abs(w).max() <= e["high"] + 1e-6


@pytest.mark.parametrize("shape", [(10, 10), (6, 9), (9, 6)])
def test_identity(shape) -> None:
    w = draw("identity", shape, gain=2.0)
    np.testing.assert_array_equal(w, 2.0 * np.eye(*shape))
    e = expected_stats(get_initializer("identity", gain=2.0), shape)
    assert w.mean() == pytest.approx(e["mean"]) and w.std() == pytest.approx(e["std"])


@pytest.mark.parametrize("name, shape", [("identity", (3, 3, 4)), ("orthogonal", (5,)), ("sparse", (5,))])
def test_kernel_shape_errors_name_the_shape(name: str, shape) -> None:
    pattern = r"`shape`.*Received: shape=" + re.escape(repr(shape))
    with pytest.raises(InvalidArgumentError, match=pattern):
        get_initializer(name)(shape)
    with pytest.raises(InvalidArgumentError, match=pattern):
        expected_stats(name, shape)


def test_sparse_has_k_nonzeros_per_unit() -> None:
    w = draw("sparse", DENSE, k=15)
    assert np.all(np.count_nonzero(w, axis=0) == 15)
    conv = draw("sparse", CONV, k=7).reshape(-1, CONV[-1])  # unit = output channel
    assert np.all(np.count_nonzero(conv, axis=0) == 7)
    assert np.all(np.count_nonzero(draw("sparse", (4, 3), k=15), axis=0) == 4)  # k clipped to fan_in
    assert expected_stats(get_initializer("sparse", k=15), (4, 3))["std"] == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sparse_and_constant_respect_dtype(dtype: str) -> None:
    for name in ("sparse", "constant"):
        assert keras.backend.standardize_dtype(get_initializer(name, seed=0)((8, 4), dtype=dtype).dtype) == dtype


def test_unseeded_sparse_repeats_like_keras() -> None:
    init = get_initializer("sparse")
    np.testing.assert_array_equal(np.asarray(init((32, 8))), np.asarray(init((32, 8))))
    assert init.get_config()["seed"] is None


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_values_new_seed_new_values(name: str) -> None:
    a, b, c = draw(name, (64, 32), seed=7), draw(name, (64, 32), seed=7), draw(name, (64, 32), seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_layer_seeds_are_distinct_and_deterministic() -> None:
    seeds = [layer_seed(s, i) for s in range(5) for i in range(1, 12)]
    assert len(set(seeds)) == len(seeds) and layer_seed(3, 2) == layer_seed(3, 2)


@pytest.mark.parametrize("name", init_names())
def test_config_is_exactly_the_constructor_arguments(name: str) -> None:
    init = get_initializer(name, seed=3)
    params = set(inspect.signature(type(init).__init__).parameters) - {"self", "args", "kwargs"}
    assert set(init.get_config()) == params


@pytest.mark.parametrize("name", init_names())
def test_config_round_trip(name: str) -> None:
    init = get_initializer(name, seed=3)
    again = type(init).from_config(init.get_config())
    assert again.get_config() == init.get_config()
    shape = (16, 16)
    np.testing.assert_array_equal(np.asarray(init(shape)), np.asarray(again(shape)))
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert type(restored) is type(init)
    np.testing.assert_array_equal(np.asarray(init(shape)), np.asarray(restored(shape)))
    spec = get_initializer(keras.initializers.serialize(init))  # our own dict path
    np.testing.assert_array_equal(np.asarray(init(shape)), np.asarray(spec(shape)))


@pytest.mark.parametrize(
    "name, params",
    [
        ("identity", {"gain": 2.0}),
        ("orthogonal", {"gain": 0.5}),
        ("constant", {"value": -0.25}),
        ("random_normal", {"mean": 0.1, "stddev": 0.2}),
        ("random_uniform", {"minval": -1.0, "maxval": 2.0}),
        ("truncated_normal", {"mean": 0.1, "stddev": 0.2}),
        ("sparse", {"k": 3, "stddev": 0.5}),
        ("variance_scaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}),
    ],
)
def test_non_default_arguments_survive_serialization(name: str, params) -> None:
    init = get_initializer(name, seed=3, **params)
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert {k: restored.get_config()[k] for k in params} == params
    np.testing.assert_array_equal(np.asarray(init((12, 6))), np.asarray(restored((12, 6))))


def test_model_with_custom_initializers_saves_and_loads(tmp_path) -> None:
    model = keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(8, kernel_initializer=get_initializer("sparse", seed=1, k=3)),
            keras.layers.Dense(4, kernel_initializer=get_initializer("randn_he", seed=2)),
        ]
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    for a, b in zip(model.layers, loaded.layers):
        assert type(a.kernel_initializer) is type(b.kernel_initializer)
        assert a.kernel_initializer.get_config() == b.kernel_initializer.get_config()
        np.testing.assert_array_equal(np.asarray(a.kernel), np.asarray(b.kernel))


def test_presets() -> None:
    assert get_initializer("random_normal").get_config()["stddev"] == 0.05  # 000's Random Normal
    preset = get_initializer("random_normal_001", seed=5)  # 002's RandomNormal(0.01): a preset of random_normal
    assert type(preset) is inits.RandomNormal and preset.get_config() == {"mean": 0.0, "stddev": 0.01, "seed": 5}
    large = get_initializer("random_normal_1", seed=5)  # 004's large random init: std 1
    assert type(large) is inits.RandomNormal and large.get_config() == {"mean": 0.0, "stddev": 1.0, "seed": 5}
    randn = get_initializer("randn_001", seed=5)  # 001's randn*0.01: its own class, same draws
    assert randn.get_config() == {"seed": 5}
    np.testing.assert_array_equal(np.asarray(randn((30, 20))), np.asarray(preset((30, 20))))


def test_dict_specs() -> None:
    by_name = get_initializer({"class_name": "random_normal_001", "config": {"seed": 4}})
    assert by_name.get_config() == {"mean": 0.0, "stddev": 0.01, "seed": 4}
    assert get_initializer({"class_name": "he_normal", "config": {}}, seed=9).get_config() == {"seed": 9}
    keras_own = keras.initializers.serialize(keras.initializers.HeNormal(seed=1))  # has input_axes=None
    ours = get_initializer(keras_own)
    assert type(ours) is inits.HeNormal
    np.testing.assert_array_equal(np.asarray(ours((9, 7))), np.asarray(keras.initializers.HeNormal(seed=1)((9, 7))))
    with pytest.raises(UnknownNameError, match="Valid initializer names"):
        get_initializer({"class_name": "Kaiming", "config": {}})
    with pytest.raises(InvalidArgumentError, match="`stddev`"):
        get_initializer({"class_name": "HeNormal", "config": {"stddev": 1.0}})


def test_instances_pass_through() -> None:
    init = keras.initializers.GlorotUniform(seed=0)
    assert get_initializer(init, seed=5) is init
    with pytest.raises(InvalidArgumentError, match="`stddev`"):
        get_initializer(init, stddev=0.1)


@pytest.mark.parametrize(
    "keras_init, ours",
    [
        (keras.initializers.HeNormal(), "he_normal"),
        (keras.initializers.GlorotUniform(), "glorot_uniform"),
        (keras.initializers.RandomNormal(stddev=0.05), "random_normal"),
        (keras.initializers.TruncatedNormal(stddev=0.05), "truncated_normal"),
        (keras.initializers.Orthogonal(), "orthogonal"),
    ],
)
def test_expected_stats_of_keras_own_initializers(keras_init, ours: str) -> None:
    assert expected_stats(keras_init, CONV) == pytest.approx(expected_stats(ours, CONV))


def test_conv_fans_use_the_receptive_field() -> None:
    assert compute_fans((3, 3, 16, 32)) == (144.0, 288.0)
    assert compute_fans((5, 16, 32)) == (80.0, 160.0)
    assert compute_fans((784, 128)) == (784.0, 128.0)
    assert compute_fans((7,)) == (7.0, 7.0) and compute_fans(()) == (1.0, 1.0)
    w = draw("he_normal", (3, 3, 16, 32))
    assert expected_stats("he_normal", (3, 3, 16, 32))["std"] == pytest.approx(math.sqrt(2 / 144))
    # truncated normals have kurtosis < 3, so sigma/sqrt(2n) bounds the se of the std
    assert abs(w.std() / math.sqrt(2 / 144) - 1) < Z / math.sqrt(2 * w.size)


def test_unknown_name_lists_the_valid_ones() -> None:
    for bad in ("kaiming", None, 3):
        with pytest.raises(ValueError) as err:
            get_initializer(bad)
        assert isinstance(err.value, UnknownNameError)
        for name in init_names():
            assert name in str(err.value)


@pytest.mark.parametrize(
    "name, params, argument",
    [
        ("random_normal", {"stddev": -1.0}, "stddev=-1.0"),
        ("truncated_normal", {"stddev": 0.0}, "stddev=0.0"),
        ("orthogonal", {"gain": -2.0}, "gain=-2.0"),
        ("identity", {"gain": 0.0}, "gain=0.0"),
        ("variance_scaling", {"scale": -1.0}, "scale=-1.0"),
        ("variance_scaling", {"mode": "fan_sum"}, "mode='fan_sum'"),
        ("variance_scaling", {"distribution": "cauchy"}, "distribution='cauchy'"),
        ("random_uniform", {"minval": 1.0, "maxval": -1.0}, "maxval=-1.0"),
        ("random_uniform", {"minval": 0.1, "maxval": 0.1}, "maxval=0.1"),
        ("sparse", {"k": 0}, "k=0"),
        ("sparse", {"k": 2.5}, "k=2.5"),
        ("he_normal", {"stddev": 0.1}, "stddev=0.1"),
        ("zeros", {"value": 1.0}, "value=1.0"),
    ],
)
def test_invalid_parameters_name_argument_and_value(name, params, argument) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(f"Received: {argument}")) as err:
        get_initializer(name, **params)
    assert f"`{argument.split('=')[0]}`" in str(err.value)


def test_bad_mode_lists_the_valid_modes() -> None:
    with pytest.raises(InvalidArgumentError, match="fan_in, fan_out, fan_avg"):
        get_initializer("variance_scaling", mode="fan_sum")


def test_numpy_scalars_are_valid_arguments() -> None:
    assert get_initializer("random_normal", stddev=np.float32(0.1)).stddev == pytest.approx(0.1)
    assert get_initializer("sparse", k=np.int64(3), seed=np.int64(2))((10, 4)).shape == (10, 4)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_every_mode_and_distribution(mode, distribution) -> None:
    init = get_initializer("variance_scaling", seed=1, scale=2.0, mode=mode, distribution=distribution)
    w = np.asarray(init(DENSE), dtype=np.float64)
    fan_in, fan_out = DENSE
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    sigma = math.sqrt(2.0 / fan)
    assert expected_stats(init, DENSE)["std"] == pytest.approx(sigma)
    # all three distributions have kurtosis <= 3, so sigma/sqrt(2n) bounds the se of the std
    assert abs(w.std() - sigma) < Z * sigma / math.sqrt(2 * w.size)


def test_registry_and_description_agree() -> None:
    rows = describe_initializers()
    assert [r["name"] for r in rows] == init_names() == sorted(INITIALIZERS)
    assert all(r["distribution"] and r["variance"] and r["defaults"] for r in rows)
    assert "k=15, stddev=1.0" in {r["name"]: r["defaults"] for r in rows}["sparse"]
