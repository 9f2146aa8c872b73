"""Signal propagation at initialization: per-layer growth factors against their formulas.

For a square layer of width n with weight variance v, the mean square of the
activations is multiplied by n v (linear) or n v / 2 (ReLU) on average, so the
slope of ln(activation std) against depth is 0.5 ln(n v) or 0.5 ln(n v / 2).

Tolerances. For one input the log of that multiplier fluctuates with standard
deviation sqrt(2/n) (linear: a chi-square with n degrees of freedom) or about
sqrt(5/n) (ReLU), i.e. 0.5 sqrt(5/n) on ln std; averaging over a batch only
shrinks it. Over L layers these steps add up to a random walk, whose
least-squares slope has a standard error of about step_sd * sqrt(6 / (5 L)); we
allow 5 of them plus the finite-width drift of -1.25/n per layer (ReLU).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.errors import InvalidArgumentError
from initlab.probe.propagation import PROPAGATION_COLUMNS, log_slope, signal_propagation

D, N_SAMPLES = 32, 256
X = np.random.default_rng(0).standard_normal((N_SAMPLES, D)).astype("float32")


def _values(frame, statistic: str) -> np.ndarray:
    return frame[frame["statistic"] == statistic].sort_values("layer_index")["value"].to_numpy()


def _slope_tol(width: int, layers: int, relu: bool) -> float:
    step_sd = 0.5 * math.sqrt((5.0 if relu else 2.0) / width)
    return 5 * step_sd * math.sqrt(6 / (5 * layers)) + (1.25 / width if relu else 0.0)


def test_orthogonal_gain_1_keeps_a_deep_linear_signal_exactly() -> None:
    # Square orthogonal matrices preserve every example's norm, forwards and backwards: the mean
    # square of the activations (std^2 + mean^2) and the gradient norm are the same at all 50 layers.
    frame = signal_propagation(50, 64, "linear", init="orthogonal", seed=0, x=X)
    assert list(frame.columns) == PROPAGATION_COLUMNS and frame["layer_index"].max() == 50
    mean_square = _values(frame, "activation_std") ** 2 + _values(frame, "activation_mean") ** 2
    np.testing.assert_allclose(mean_square, mean_square[0], rtol=1e-3)
    grads = _values(frame, "activation_grad_norm")
    np.testing.assert_allclose(grads, grads[-1], rtol=1e-3)
    assert abs(log_slope(frame)) < 1e-3


def test_orthogonal_gain_multiplies_each_layer_by_the_gain() -> None:
    frame = signal_propagation(20, 64, "linear", init="orthogonal", seed=1, x=X, init_params={"gain": 1.2})
    ms = _values(frame, "activation_std") ** 2 + _values(frame, "activation_mean") ** 2
    np.testing.assert_allclose(np.sqrt(ms[1:] / ms[:-1]), 1.2, rtol=1e-4)


def test_small_random_normal_vanishes_at_the_predicted_rate() -> None:
    width, stddev = 64, 0.01
    frame = signal_propagation(50, width, "linear", init="random_normal", seed=0, x=X, init_params={"stddev": stddev})
    predicted = math.log(math.sqrt(width) * stddev)  # ln 0.08 per layer
    assert log_slope(frame, stop=15) == pytest.approx(predicted, abs=_slope_tol(width, 15, relu=False))
    std = _values(frame, "activation_std")
    assert std[-1] < 1e-25 * std[0]  # vanished (float32 underflows on the way)


@pytest.mark.parametrize("init, predicted", [("he_normal", 0.0), ("lecun_normal", 0.5 * math.log(0.5))])
def test_relu_std_is_kept_by_he_and_halved_every_two_layers_by_lecun(init: str, predicted: float) -> None:
    width = 128
    frame = signal_propagation(50, width, "relu", init=init, seed=0, x=X)
    assert log_slope(frame) == pytest.approx(predicted, abs=_slope_tol(width, 50, relu=True))
    assert "frac_zero" in set(frame["statistic"])


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_2_keeps_relu_std_in_every_mode_and_distribution(mode: str, distribution: str) -> None:
    # Hidden layers are square, so fan_in = fan_out = fan_avg = width: scale 2 is He in every mode.
    width, depth = 64, 20
    frame = signal_propagation(
        depth,
        width,
        "relu",
        init="variance_scaling",
        seed=2,
        x=X,
        init_params={"scale": 2.0, "mode": mode, "distribution": distribution},
    )
    assert log_slope(frame) == pytest.approx(0.0, abs=_slope_tol(width, depth, relu=True))


def test_selu_with_lecun_normal_holds_mean_0_and_std_1() -> None:
    # The SELU fixed point (mean 0, variance 1) attracts: deep layers sit near it whatever the
    # finite-width noise; per layer the std of a 128-wide layer fluctuates by about sqrt(2/128) / 2.
    frame = signal_propagation(50, 128, "selu", init="lecun_normal", seed=0, x=X)
    std, mean = _values(frame, "activation_std")[-10:], _values(frame, "activation_mean")[-10:]
    tol = 5 * 0.5 * math.sqrt(2 / 128)
    assert np.all(np.abs(std - 1) < tol) and np.all(np.abs(mean) < tol)


def test_tanh_rows_carry_saturation_and_gradients_are_positive() -> None:
    frame = signal_propagation(5, 32, "tanh", init="glorot_normal", seed=0, x=X)
    assert set(frame["statistic"]) == {
        "activation_mean",
        "activation_std",
        "frac_saturated",
        "kernel_grad_norm",
        "activation_grad_norm",
    }
    assert (frame.loc[frame["statistic"] == "kernel_grad_norm", "value"] > 0).all()
    assert set(frame["init"]) == {"glorot_normal"} and set(frame["depth"]) == {5}


def test_bad_inputs_and_vanished_ranges_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="depth=0"):
        signal_propagation(0, 8, "relu", init="he_normal", seed=0, x=X)
    with pytest.raises(InvalidArgumentError, match="y"):
        signal_propagation(2, 8, "relu", init="he_normal", seed=0, x=X, y=np.zeros(3))
    frame = signal_propagation(50, 16, "linear", init="random_normal", seed=0, x=X, init_params={"stddev": 0.01})
    with pytest.raises(InvalidArgumentError, match="no logarithm"):
        log_slope(frame)
