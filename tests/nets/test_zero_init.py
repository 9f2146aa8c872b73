"""ZerO (Zhao, Schäfer & Anandkumar 2022): the paper's construction, its map's properties, and that it trains."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from initlab.data.datasets import load_dataset
from initlab.errors import InvalidArgumentError
from initlab.nets.initializers import expected_stats, get_initializer, theoretical_density
from initlab.nets.models import build_model
from initlab.nets.zero_init import ZerO, hadamard_block, zero_matrix
from initlab.training import Study

# (fan_in, fan_out) with fan_out > fan_in: powers of two and not, the MNIST input widening
WIDENING = [(1, 2), (3, 4), (5, 8), (3, 7), (10, 13), (64, 100), (100, 128), (128, 512), (784, 1024), (100, 1000)]


def draw(shape, seed: int = 0) -> np.ndarray:
    return np.array(get_initializer("zero_hadamard", seed=seed)(shape, dtype="float64"))


def sylvester(m: int) -> np.ndarray:
    """The paper's recursion: H_0 = [1], H_m = [[H, H], [H, -H]]."""
    h = np.ones((1, 1))
    for _ in range(m):
        h = np.block([[h, h], [h, -h]])
    return h


@pytest.mark.parametrize("m", range(7))
def test_hadamard_block_is_sylvesters_matrix(m: int) -> None:
    n = 2**m
    h = hadamard_block(n, n)
    np.testing.assert_array_equal(h, sylvester(m))
    np.testing.assert_array_equal(h @ h.T, n * np.eye(n))  # rows orthogonal, squared norm 2^m
    np.testing.assert_array_equal(hadamard_block(3, n + 5), sylvester(m + 3)[:3, : n + 5])  # a block of a larger one


@pytest.mark.parametrize("n", [1, 7, 64, 784])
def test_square_kernels_are_the_identity(n: int) -> None:
    np.testing.assert_array_equal(draw((n, n)), np.eye(n))


@pytest.mark.parametrize("fan_in, fan_out", [(2, 1), (784, 128), (128, 10), (100, 64)])
def test_narrowing_kernels_pass_the_first_inputs_through(fan_in: int, fan_out: int) -> None:
    w = draw((fan_in, fan_out))
    np.testing.assert_array_equal(w, np.eye(fan_in, fan_out))  # the partial identity I*, transposed
    x = np.random.default_rng(0).normal(size=(5, fan_in))
    np.testing.assert_array_equal(x @ w, x[:, :fan_out])


@pytest.mark.parametrize("fan_in, fan_out", WIDENING)
def test_widening_kernels_are_a_scaled_hadamard_block(fan_in: int, fan_out: int) -> None:
    w = draw((fan_in, fan_out))
    m = math.ceil(math.log2(fan_out))
    c = 2 ** (-(m - 1) / 2)
    assert 2 ** (m - 1) < fan_out <= 2**m
    np.testing.assert_array_equal(w, c * sylvester(m)[:fan_in, :fan_out])  # only ±c: ones up to a factor


@pytest.mark.parametrize("fan_in, fan_out", WIDENING)
def test_widening_map_is_injective_gains_at_most_sqrt2_and_feeds_every_unit(fan_in: int, fan_out: int) -> None:
    w = draw((fan_in, fan_out))
    s = np.linalg.svd(w, compute_uv=False)
    # x -> x W: W W^T = c^2 H[:in, :out] H[:in, :out]^T <= c^2 H[:in] H[:in]^T = c^2 2^m I = 2 I
    assert s.max() <= math.sqrt(2) * (1 + 1e-12)
    assert np.linalg.matrix_rank(w) == fan_in  # no input direction is lost
    # every output unit sees the input (zero padding, eye(in, out), would leave fan_out - fan_in dead)
    assert np.all(np.abs(w).sum(axis=0) > 0)
    assert np.all(np.abs(np.eye(fan_in, fan_out)).sum(axis=0) > 0) == (fan_in >= fan_out)


@pytest.mark.parametrize("fan_in, fan_out", [(w_in, w_out) for w_in, w_out in WIDENING if w_out & (w_out - 1) == 0])
def test_widening_to_a_power_of_two_scales_every_norm_by_sqrt2(fan_in: int, fan_out: int) -> None:
    w = draw((fan_in, fan_out))
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(fan_in), atol=1e-12)  # columns of W^T orthogonal
    x = np.random.default_rng(1).normal(size=(20, fan_in))
    np.testing.assert_allclose(np.linalg.norm(x @ w, axis=1), math.sqrt(2) * np.linalg.norm(x, axis=1), rtol=1e-12)


@pytest.mark.parametrize("fan_in, fan_out", [(13, 13), (40, 10), (10, 40), (3, 7)])
def test_mean_square_matches_the_registry_formula(fan_in: int, fan_out: int) -> None:
    w = draw((fan_in, fan_out))
    expected = 1 / fan_in if fan_out <= fan_in else 2.0 ** (1 - math.ceil(math.log2(fan_out)))
    assert np.mean(w**2) == pytest.approx(expected, rel=1e-12)
    e = expected_stats("zero_hadamard", (fan_in, fan_out))
    assert (e["mean"], e["std"], e["low"], e["high"]) == pytest.approx((w.mean(), w.std(), w.min(), w.max()))
    assert theoretical_density("zero_hadamard", (fan_in, fan_out)) is None


@pytest.mark.parametrize("shape", [(3, 3, 8, 8), (3, 3, 4, 6), (5, 5, 6, 4), (2, 2, 3, 3), (3, 5, 2)])
def test_conv_kernels_hold_the_matrix_on_the_centre_tap(shape) -> None:
    w = draw(shape)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    np.testing.assert_array_equal(w[centre], zero_matrix(shape[-2], shape[-1]))
    w[centre] = 0
    assert not w.any()


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 5])
def test_equal_channel_convolution_is_the_identity_map(kernel_size: int) -> None:
    x = np.random.default_rng(2).normal(size=(2, 9, 9, 6)).astype("float32")
    conv = keras.layers.Conv2D(6, kernel_size, padding="same", use_bias=False, kernel_initializer=ZerO())
    np.testing.assert_array_equal(np.asarray(conv(x)), x)


def test_the_same_weights_for_every_seed() -> None:
    for shape in [(50, 20), (20, 50), (3, 3, 4, 9)]:
        first = draw(shape, seed=0)
        assert all(np.array_equal(first, draw(shape, seed=s)) for s in (1, 7, 2**31))
    a, b = (build_model("mlp_128_64", (28, 28), init="zero_hadamard", seed=s) for s in (0, 5))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_config_dtype_and_shape_errors() -> None:
    init = get_initializer("zero_hadamard", seed=3)
    assert init.get_config() == {} and isinstance(init, ZerO)
    assert keras.backend.standardize_dtype(init((6, 9)).dtype) == keras.backend.floatx()
    np.testing.assert_array_equal(np.asarray(init((6, 9))), zero_matrix(6, 9).astype(keras.backend.floatx()))
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    np.testing.assert_array_equal(np.asarray(restored((6, 9), dtype="float64")), draw((6, 9)))
    with pytest.raises(InvalidArgumentError, match="at least 2-D"):
        init((5,))


def test_a_small_mlp_trains_from_it_above_chance() -> None:

    n_test = 2000
    df = Study("mnist", "mlp_128", ("zero_hadamard",), train_limit=2000, test_limit=n_test, epochs=2).run(cache=False)
    last = df[df["epoch"] == 2].iloc[0]
    # a constant guess scores at most the largest class share of the test images; above it by
    # 5 binomial standard errors of an accuracy measured on n_test images
    chance = np.bincount(load_dataset("mnist").y_test[:n_test]).max() / n_test
    assert last["test_accuracy"] > chance + 5 * math.sqrt(chance * (1 - chance) / n_test)
    assert last["loss"] < math.log(10)  # below the uniform prediction's loss
