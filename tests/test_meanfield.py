"""Mean-field maps against closed forms and published values."""

from __future__ import annotations

import numpy as np
import pytest

from initlab import meanfield as mf
from initlab.errors import UnknownNameError


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
    assert mf.length_map(3.0, 1.5, 0.2, "relu") == pytest.approx(1.5 * 3.0 / 2 + 0.2, rel=1e-12)
    assert mf.fixed_point_q(1.5, 0.2, "relu") == pytest.approx(0.2 / (1 - 0.75), rel=1e-9)
    assert mf.chi1(1.5, 0.2, "relu") == pytest.approx(0.75, rel=1e-12)
    c = 0.3
    arccos = (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / np.pi
    assert mf.correlation_map(c, 1.0, 2.0, 0.0, "relu") == pytest.approx(arccos, abs=1e-12)
    assert mf.fixed_point_q(2.5, 0.1, "relu") == np.inf  # σ_w² > 2: the variance grows without bound


def test_tanh_limits_and_the_published_critical_point() -> None:
    # without biases and σ_w² < 1, q* = 0 and χ₁ = σ_w² tanh'(0)² = σ_w²
    assert mf.chi1(0.5, 0.0) == pytest.approx(0.5, abs=1e-9)
    assert mf.correlation_map(1.0, mf.fixed_point_q(1.5, 0.05), 1.5, 0.05) == pytest.approx(1.0, abs=1e-9)
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
