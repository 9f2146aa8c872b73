"""Initializers: sample statistics against their formulas, with tolerances from the sample size."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.initializers import (
    INITIALIZERS,
    compute_fans,
    expected_stats,
    get_initializer,
    init_names,
)

DENSE = (784, 256)
CONV = (3, 3, 32, 64)
DETERMINISTIC = {"zeros", "ones", "constant", "identity"}
RANDOM = sorted(set(init_names()) - DETERMINISTIC)
Z = 5.0  # standard errors allowed: a false alarm has probability ~6e-7 per check


def draw(name: str, shape, seed: int = 0, **params) -> np.ndarray:
    return np.asarray(get_initializer(name, seed=seed, **params)(shape), dtype=np.float64)


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", [n for n in RANDOM if n != "orthogonal"])
def test_sample_mean_and_std_match_the_formula(name: str, shape) -> None:
    w = draw(name, shape)
    e = expected_stats(name, shape)
    n = w.size
    # standard error of the mean is sigma/sqrt(n); of a sample std about sigma/sqrt(2n)
    # (sparse weights are far from normal: use the kurtosis-aware form for the std)
    assert abs(w.mean() - e["mean"]) < Z * e["std"] / math.sqrt(n)
    kurt = np.mean((w - w.mean()) ** 4) / w.var() ** 2
    se_std = e["std"] * math.sqrt((kurt - 1) / (4 * n))
    assert abs(w.std() - e["std"]) < Z * se_std, (w.std(), e["std"])
    assert w.min() >= e["low"] - 1e-7 and w.max() <= e["high"] + 1e-7


@pytest.mark.parametrize("name", ["random_uniform", "glorot_uniform", "he_uniform", "lecun_uniform"])
def test_uniform_fills_its_bounds(name: str) -> None:
    w = draw(name, DENSE)
    e = expected_stats(name, DENSE)
    span = e["high"] - e["low"]
    # with 200k draws the extremes lie within 1e-4 of the bounds (P(miss) ~ e^-20)
    assert w.min() < e["low"] + 1e-4 * span and w.max() > e["high"] - 1e-4 * span


@pytest.mark.parametrize("name", ["truncated_normal", "glorot_normal", "he_normal", "lecun_normal"])
def test_truncated_normals_stay_within_two_sigma(name: str) -> None:
    w = draw(name, DENSE)
    e = expected_stats(name, DENSE)
    assert w.min() >= e["low"] - 1e-7 and w.max() <= e["high"] + 1e-7


@pytest.mark.parametrize("name", ["randn_001", "randn_lecun", "randn_he", "random_normal"])
def test_plain_normals_are_not_truncated(name: str) -> None:
    w = draw(name, DENSE)
    sigma = expected_stats(name, DENSE)["std"]
    # P(|z| > 2) = 4.55%: about 9,000 of 200,704 draws; truncation would give none
    frac = np.mean(np.abs(w) > 2 * sigma)
    assert abs(frac - 0.0455) < 0.005


@pytest.mark.parametrize("shape", [(64, 64), (256, 64), (64, 256), (3, 3, 8, 16)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain) -> None:
    w = draw("orthogonal", shape, gain=gain).reshape(-1, shape[-1])
    small = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-5 * gain**2)
    assert w.std() == pytest.approx(expected_stats(get_initializer("orthogonal", gain=gain), shape)["std"], rel=1e-3)


@pytest.mark.parametrize("shape", [(10, 10), (6, 9), (9, 6)])
def test_identity(shape) -> None:
    w = draw("identity", shape, gain=2.0)
    np.testing.assert_array_equal(w, 2.0 * np.eye(*shape))
    e = expected_stats(get_initializer("identity", gain=2.0), shape)
    assert w.mean() == pytest.approx(e["mean"]) and w.std() == pytest.approx(e["std"])


def test_identity_needs_a_2d_shape() -> None:
    with pytest.raises(InvalidArgumentError, match=r"shape.*Received: shape=\(3, 3, 4\)"):
        get_initializer("identity")((3, 3, 4))


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0), ("constant", 0.5)])
def test_constants(name: str, value: float) -> None:
    assert np.all(draw(name, DENSE) == value)


def test_sparse_has_k_nonzeros_per_unit() -> None:
    w = draw("sparse", DENSE, k=15)
    assert np.all(np.count_nonzero(w, axis=0) == 15)
    conv = draw("sparse", CONV, k=7).reshape(-1, CONV[-1])
    assert np.all(np.count_nonzero(conv, axis=0) == 7)
    assert np.all(np.count_nonzero(draw("sparse", (4, 3), k=15), axis=0) == 4)  # k clipped to fan_in


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_values_new_seed_new_values(name: str) -> None:
    a, b, c = draw(name, (64, 32), seed=7), draw(name, (64, 32), seed=7), draw(name, (64, 32), seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", init_names())
def test_config_round_trip(name: str) -> None:
    init = get_initializer(name, seed=3)
    again = type(init).from_config(init.get_config())
    assert again.get_config() == init.get_config()
    shape = (16, 16)
    np.testing.assert_array_equal(np.asarray(init(shape)), np.asarray(again(shape)))
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    np.testing.assert_array_equal(np.asarray(init(shape)), np.asarray(restored(shape)))


def test_conv_fans_use_the_receptive_field() -> None:
    assert compute_fans((3, 3, 16, 32)) == (144.0, 288.0)
    assert compute_fans((784, 128)) == (784.0, 128.0)
    w = draw("he_normal", (3, 3, 16, 32))
    assert expected_stats("he_normal", (3, 3, 16, 32))["std"] == pytest.approx(math.sqrt(2 / 144))
    assert abs(w.std() / math.sqrt(2 / 144) - 1) < Z / math.sqrt(2 * w.size) * 1.2


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError) as err:
        get_initializer("kaiming")
    assert isinstance(err.value, UnknownNameError)
    for name in init_names():
        assert name in str(err.value)


@pytest.mark.parametrize("name, params, argument", [
    ("random_normal", {"stddev": -1.0}, "stddev=-1.0"),
    ("truncated_normal", {"stddev": 0.0}, "stddev=0.0"),
    ("orthogonal", {"gain": -2.0}, "gain=-2.0"),
    ("variance_scaling", {"mode": "fan_sum"}, "mode='fan_sum'"),
    ("variance_scaling", {"distribution": "cauchy"}, "distribution='cauchy'"),
    ("random_uniform", {"minval": 1.0, "maxval": -1.0}, "maxval=-1.0"),
    ("sparse", {"k": 0}, "k=0"),
    ("he_normal", {"stddev": 0.1}, "stddev=0.1"),
])
def test_invalid_parameters_name_argument_and_value(name, params, argument) -> None:
    with pytest.raises(InvalidArgumentError, match=argument.replace("(", r"\(")) as err:
        get_initializer(name, **params)
    assert f"`{argument.split('=')[0]}`" in str(err.value)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_every_mode_and_distribution(mode, distribution) -> None:
    init = get_initializer("variance_scaling", seed=1, scale=2.0, mode=mode, distribution=distribution)
    w = np.asarray(init(DENSE), dtype=np.float64)
    fan_in, fan_out = DENSE
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    sigma = math.sqrt(2.0 / fan)
    assert expected_stats(init, DENSE)["std"] == pytest.approx(sigma)
    assert abs(w.std() - sigma) < Z * sigma * math.sqrt(1 / w.size)  # kurtosis <= 3: se <= sigma/sqrt(2n)*sqrt2


def test_registry_names_the_sources_schemes() -> None:
    for name in ("randn_001", "randn_lecun", "randn_he", "sparse", "random_normal_001"):
        assert name in INITIALIZERS
    assert get_initializer("random_normal").get_config()["stddev"] == 0.05  # 000's Random Normal
    assert get_initializer("random_normal_001").get_config()["stddev"] == 0.01  # 002's RandomNormal
