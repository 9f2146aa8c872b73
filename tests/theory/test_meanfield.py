"""Mean-field maps against closed forms and published values."""

from __future__ import annotations

import numpy as np
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.theory import meanfield as mf


def test_quadrature_integrates_kinked_functions_exactly() -> None:
    assert mf.gauss(lambda z: z * z) == pytest.approx(1.0, abs=1e-12)
    assert mf.gauss(lambda z: np.maximum(z, 0.0) ** 2) == pytest.approx(0.5, abs=1e-12)  # a kink at 0
    assert mf.gauss(lambda z: (z > 0).astype(float)) == pytest.approx(0.5, abs=1e-12)  # a step at 0


def test_selu_with_lecun_scaling_has_the_self_normalizing_fixed_point() -> None:
    phi = mf.ACTIVATIONS["selu"][0]
    assert mf.gauss(phi) == pytest.approx(0.0, abs=1e-9)  # mean 0 for N(0, 1) inputs (Klambauer et al.)
    assert mf.fixed_point_q(1.0, 0.0, "selu") == pytest.approx(1.0, abs=1e-9)  # variance 1 is kept


def test_relu_maps_match_their_closed_forms() -> None:
    # q' = σ_w² q / 2 + σ_b²; χ₁ = σ_w² / 2; the correlation map is the arc-cosine kernel
    assert mf.length_map(3.0, 1.5, 0.2, activation="relu") == pytest.approx(1.5 * 3.0 / 2 + 0.2, rel=1e-12)
    assert mf.fixed_point_q(1.5, 0.2, "relu") == pytest.approx(0.2 / (1 - 0.75), rel=1e-9)
    assert mf.chi1(1.5, 0.2, "relu") == pytest.approx(0.75, rel=1e-12)
    c = 0.3
    arccos = (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / np.pi
    assert mf.correlation_map(c, 1.0, 2.0, sigma_b2=0.0, activation="relu") == pytest.approx(arccos, abs=1e-12)
    assert mf.fixed_point_q(2.5, 0.1, "relu") == np.inf  # σ_w² > 2: the variance grows without bound


def test_tanh_limits_and_the_published_critical_point() -> None:
    # without biases and σ_w² < 1, q* = 0 and χ₁ = σ_w² tanh'(0)² = σ_w²
    assert mf.chi1(0.5, 0.0) == pytest.approx(0.5, abs=1e-9)
    assert mf.correlation_map(1.0, mf.fixed_point_q(1.5, 0.05), 1.5, sigma_b2=0.05) == pytest.approx(1.0, abs=1e-9)
    # Schoenholz et al. (2017): the tanh order-to-chaos transition at σ_b² = 0.05 lies at σ_w² ≈ 1.76
    crit = mf.critical_sigma_w2(0.05)
    assert crit == pytest.approx(1.76, abs=0.005)
    assert mf.chi1(crit, 0.05) == pytest.approx(1.0, abs=1e-9)
    assert mf.chi1(crit * 0.9, 0.05) < 1 < mf.chi1(crit * 1.1, 0.05)


def test_the_depth_scale_diverges_at_criticality() -> None:
    crit = mf.critical_sigma_w2(0.05)
    scales = [mf.depth_scale(w, 0.05) for w in (1.0, 1.5, crit * 0.99, crit * 1.01, 2.5)]
    assert scales[0] < scales[1] < scales[2] and scales[3] > scales[4]  # rising towards the line from both sides
    assert min(scales[2], scales[3]) > 50
    assert mf.depth_scale(1.0, 0.05) == pytest.approx(-1 / np.log(mf.chi1(1.0, 0.05)), rel=1e-6)  # ordered: χ_c = χ₁


def test_unknown_activation_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="linear, relu, selu, tanh"):
        mf.chi1(1.0, 0.0, "gelu")


def test_tanh_without_biases_settles_at_zero_variance_and_is_critical_at_one() -> None:
    # σ_b² = 0 and σ_w² ≤ 1: the length map's only stable fixed point is q* = 0, where tanh'(0) = 1,
    # so χ₁ = σ_w²: the critical point is exactly σ_w² = 1 (Poole et al. 2016), reached as 1/l.
    assert mf.fixed_point_q(1.0, 0.0) == 0.0
    assert mf.chi1(1.0, 0.0) == pytest.approx(1.0, abs=1e-9)  # q* = 0 is evaluated at Q_FLOOR = 1e-12
    assert mf.phase(mf.chi1(1.0, 0.0)) == "critical"
    assert mf.depth_scale(1.0, 0.0) == np.inf
    # just above 1, q* ≈ (1 − 1/σ_w²)/2 and χ₁ = 1 + O((σ_w² − 1)²): χ₁ − 1 at 1e-12 places the root to ~1e-6
    assert mf.critical_sigma_w2(0.0) == pytest.approx(1.0, abs=1e-6)
    assert mf.fixed_point_q(2.0, 0.0) > 0  # above 1 the zero fixed point is unstable
    assert mf.chi1(1.0, 0.0, "relu") == pytest.approx(0.5, abs=1e-12)  # q* = 0: ReLU's limit, not φ'(0) = 0


def test_chaotic_depth_scale_is_the_slope_at_the_stable_fixed_point() -> None:
    w, b = 3.0, 0.05
    q = mf.fixed_point_q(w, b)
    c_star = mf._chaotic_fixed_point_c(q, w, b, "tanh")
    assert 0 < c_star < 1
    assert mf.correlation_map(c_star, q, w, sigma_b2=b) == pytest.approx(c_star, abs=1e-10)  # a fixed point
    h = 1e-5  # the map's slope there by a central difference (error O(h²) on a smooth map)
    slope = (mf.correlation_map(c_star + h, q, w, sigma_b2=b) - mf.correlation_map(c_star - h, q, w, sigma_b2=b)) / (
        2 * h
    )
    assert slope < 1  # stable
    assert mf.depth_scale(w, b) == pytest.approx(-1 / np.log(slope), rel=1e-5)
    # without biases tanh is odd, so c* = 0 and χ_c = σ_w² E[tanh'(√q* z)]²
    q0 = mf.fixed_point_q(2.0, 0.0)
    mean_slope = mf.gauss(lambda z: 1 - np.tanh(np.sqrt(q0) * z) ** 2)
    assert mf.depth_scale(2.0, 0.0) == pytest.approx(-1 / np.log(2.0 * mean_slope**2), rel=1e-9)


def test_correlation_trajectory_follows_closed_forms() -> None:
    # ReLU at σ_w² = 2 without biases: every layer applies the arc-cosine kernel map
    def arccos(c: float) -> float:
        return (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / np.pi

    t = mf.correlation_trajectory(0.1, 3, 2.0, sigma_b2=0.0, activation="relu")
    assert t[0] == 0.1
    assert t[1:] == pytest.approx([arccos(0.1), arccos(arccos(0.1)), arccos(arccos(arccos(0.1)))], abs=1e-12)
    assert mf.correlation_trajectory(0.3, 5, 1.0, sigma_b2=0.0, activation="linear") == pytest.approx(
        [0.3] * 6, abs=1e-12
    )  # identity
    assert mf.correlation_trajectory(1.0, 4, 1.5, sigma_b2=0.05)[-1] == pytest.approx(1.0, abs=1e-12)  # c = 1 stays
    # ReLU below criticality without biases: q* = 0, and the map is the normalized arc-cosine kernel
    assert mf.correlation_trajectory(0.1, 1, 1.0, sigma_b2=0.0, activation="relu")[1] == pytest.approx(
        arccos(0.1), abs=1e-12
    )
    assert mf.correlation_trajectory(0.2, 200, 1.0, sigma_b2=0.05)[-1] == pytest.approx(1.0, abs=1e-6)  # ordered: to 1
    with pytest.raises(InvalidArgumentError, match="c0"):
        mf.correlation_trajectory(1.5, 2, 1.0, sigma_b2=0.05)
    with pytest.raises(InvalidArgumentError, match="sigma_w2"):
        mf.correlation_trajectory(0.5, 2, 3.0, sigma_b2=0.0, activation="relu")  # no finite q*


def test_phase_grid_and_critical_line() -> None:
    g = mf.phase_grid([1.0, 2.0, 3.0], [0.0, 0.1], "relu")
    assert list(g.columns) == ["activation", "sigma_w2", "sigma_b2", "q_star", "chi1", "phase"]
    assert g[g["sigma_b2"] == 0.0]["phase"].tolist() == ["ordered", "critical", "unbounded"]
    assert g[g["sigma_w2"] == 1.0]["chi1"].tolist() == pytest.approx([0.5, 0.5], abs=1e-12)  # σ_w²/2 for ReLU
    assert mf.critical_line([0.0, 0.2, 0.4], "relu") == pytest.approx([2.0, 2.0, 2.0], abs=1e-9)
    tanh = mf.critical_line([0.0, 0.05, 0.2])
    assert tanh[0] == pytest.approx(1.0, abs=1e-6) and tanh[1] == pytest.approx(1.761, abs=5e-4)
    assert np.all(np.diff(tanh) > 0)  # bias noise moves the transition to larger weights
    d = mf.phase_grid([1.0], [0.05], depth_scales=True)
    assert d["max_depth"].iloc[0] == pytest.approx(6 * mf.depth_scale(1.0, 0.05), rel=1e-12)
    assert [mf.phase(x) for x in (0.5, 1.0, 1.5, np.inf)] == ["ordered", "critical", "chaotic", "unbounded"]
