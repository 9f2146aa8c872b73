"""Jacobian spectra of deep random nets against exact and published (free-probability) results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.findings.criticality import mean_sq_table
from initlab.theory import isometry as iso


def test_haar_orthogonal_is_orthogonal_and_kernels_have_the_stated_variance() -> None:
    rng = np.random.default_rng(0)
    q = iso.haar_orthogonal(64, rng)
    assert np.allclose(q.T @ q, np.eye(64), atol=1e-12)
    n, w2 = 200, 1.7
    g = iso.random_kernel(n, w2, "gaussian", rng=rng)
    # the sample std of n² normal entries has a standard error of sigma / sqrt(2 n²); four of them
    sigma = math.sqrt(w2 / n)
    assert abs(g.std() - sigma) < 4 * sigma / math.sqrt(2 * n * n)
    o = iso.random_kernel(n, w2, "orthogonal", rng=rng)
    assert np.allclose(np.linalg.svd(o, compute_uv=False), math.sqrt(w2), atol=1e-12)  # every singular value
    assert np.mean(o**2) == pytest.approx(sigma**2, rel=1e-12)  # the squares sum to n·σ_w² exactly


def test_linear_orthogonal_jacobian_is_exactly_isometric() -> None:
    out = iso.jacobian_singular_values([1, 8, 64], 64, "linear", kind="orthogonal", sigma_w2=1.0, sigma_b2=0.0, seed=3)
    for depth, s in out.items():
        assert np.allclose(s, 1.0, atol=1e-10), depth


def test_gaussian_linear_product_spreads_with_depth() -> None:
    # Products of L Gaussian matrices: E[s²] = 1 and Var[s²] = L (Fuss–Catalan moments; Pennington et al.
    # 2017's sigma²_JJᵀ = L). At width 256 one draw's Var[s²] scatters by about 0.02, 0.16 (L = 2, 4) around
    # L + O(L²/N); the tolerances are ~3 of those.
    out = iso.jacobian_singular_values([2, 4, 16], 256, "linear", kind="gaussian", sigma_w2=1.0, sigma_b2=0.0, seed=0)
    for depth, tol in ((2, 0.1), (4, 0.5)):
        s2 = out[depth] ** 2
        assert s2.mean() == pytest.approx(1.0, abs=0.05)
        assert s2.var() == pytest.approx(depth, abs=tol)
    near = [np.mean((out[d] >= 0.5) & (out[d] <= 2)) for d in (2, 4, 16)]
    assert near[0] > near[1] > near[2]


def test_relu_zeroes_half_the_spectrum() -> None:
    # One ReLU layer with an orthogonal kernel of gain √2: J Jᵀ = 2 D², so every singular value is 0 or √2,
    # and the zeros are the inactive units: Binomial(128, 1/2), a share within 4 · 0.5 / √128 = 0.18 of 1/2.
    s = iso.jacobian_singular_values([1], 128, "relu", kind="orthogonal", sigma_w2=2.0, sigma_b2=0.0, seed=1)[1]
    zero = s < 1e-8
    assert np.allclose(s[~zero], math.sqrt(2.0), atol=1e-10)
    assert abs(zero.mean() - 0.5) < 4 * 0.5 / math.sqrt(128)
    # deeper, the nonzero part spreads: Var[s²] grows about L per layer with orthogonal kernels, 2L with
    # Gaussian ones (Pennington et al. 2017); at depth 4 the Gaussian spread is the larger
    deep = {
        k: iso.jacobian_singular_values([4], 128, "relu", kind=k, sigma_w2=2.0, sigma_b2=0.0, seed=1)[4] ** 2
        for k in iso.KERNELS
    }
    assert deep["gaussian"].var() > deep["orthogonal"].var() > 2.0


def test_tanh_orthogonal_stays_nearer_one_than_gaussian() -> None:
    sw2, sb2 = iso.critical_point("tanh", 1e-4)
    out = {
        k: iso.jacobian_singular_values([16], 128, "tanh", kind=k, sigma_w2=sw2, sigma_b2=sb2, seed=0)[16]
        for k in iso.KERNELS
    }
    near = {k: np.mean((s >= 0.5) & (s <= 2)) for k, s in out.items()}
    assert near["orthogonal"] > 0.8 > 0.3 > near["gaussian"]


def test_critical_points_and_setups() -> None:
    assert iso.critical_point("linear") == pytest.approx((1.0, 0.0), abs=1e-9)
    assert iso.critical_point("relu") == pytest.approx((2.0, 0.0), abs=1e-9)
    assert iso.critical_point("tanh", 0.05)[0] == pytest.approx(1.7610, abs=5e-4)
    with pytest.raises(InvalidArgumentError, match="sigma_b2"):
        iso.critical_point("relu", 0.05)
    assert iso.critical_setups(["linear", "relu", "tanh"], [0.05, 1e-4]) == [
        ("linear", 0.0),
        ("relu", 0.0),
        ("tanh", 0.05),
        ("tanh", 1e-4),
    ]
    assert iso.setup_label("relu", 0.0) == "relu" and iso.setup_label("tanh", 0.05) == "tanh, σ_b² = 0.05"


def test_spectra_frame_and_summary() -> None:
    f = iso.spectra([("linear", 0.0)], iso.KERNELS, [1, 3], width=16, seeds=[0, 1])
    assert len(f) == 2 * 2 * 2 * 16  # kernels × depths × seeds × width
    assert set(f.columns) >= {
        "setup",
        "activation",
        "kernel",
        "sigma_w2",
        "sigma_b2",
        "depth",
        "seed",
        "singular_value",
    }
    hand = pd.DataFrame(
        {
            "setup": "x",
            "activation": "tanh",
            "kernel": "gaussian",
            "depth": 2,
            "sigma_w2": 1.0,
            "sigma_b2": 0.0,
            "singular_value": [0.25, 0.5, 1.0, 2.0, 4.0],
        }
    )
    s = iso.spectrum_summary(hand).iloc[0]
    assert s["near_share"] == pytest.approx(3 / 5)  # 0.5, 1 and 2 lie within a factor 2 of 1
    assert s["mean_sq"] == pytest.approx((0.0625 + 0.25 + 1 + 4 + 16) / 5)
    assert s["median"] == 1.0 and s["max"] == 4.0
    q10, q90 = np.quantile(hand["singular_value"], [0.1, 0.9])
    assert s["spread"] == pytest.approx(q90 / q10)
    zero = iso.spectrum_summary(hand.assign(singular_value=[0.0, 0.0, 1.0, 1.0, 1.0])).iloc[0]
    assert zero["spread"] == np.inf
    assert iso.concentrated(iso.spectrum_summary(f)).tolist() == [False, False, True, True]  # gaussian, orthogonal


def test_bad_arguments_name_the_valid_choices() -> None:
    with pytest.raises(UnknownNameError, match="gaussian, orthogonal"):
        iso.random_kernel(4, 1.0, "uniform", rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="sigma_w2"):
        iso.random_kernel(4, -1.0, "gaussian", rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="depths"):
        iso.jacobian_singular_values([0], 4, "tanh", kind="gaussian", sigma_w2=1.0, sigma_b2=0.0, seed=0)


def test_a_draw_interval_stays_positive_and_covers_the_draws_mean() -> None:
    heavy = np.array([0.069, 0.2, 0.5, 0.8, 1.0, 1.1, 1.3, 1.6, 2.0, 6.69])  # a heavy right tail, like ReLU's
    low, high = iso.draw_interval(heavy)
    assert 0 < low < heavy.mean() < high
    assert heavy.min() <= low and high <= heavy.max()  # a mean of resampled draws stays within them
    assert iso.draw_interval(heavy) == (low, high)  # seeded
    assert iso.draw_interval(np.array([1.0, 1.0])) == (1.0, 1.0)
    assert all(np.isnan(iso.draw_interval(np.array([]))))


def test_the_summary_gives_each_depth_its_draws_and_their_interval() -> None:
    spec = iso.spectra([("linear", 0.0)], ["gaussian"], [4], width=16, seeds=[0, 1, 2])
    row = iso.spectrum_summary(spec).iloc[0]
    per_draw = spec.assign(sq=spec["singular_value"] ** 2).groupby("seed")["sq"].mean()
    assert row["draws"] == 3 and row["mean_sq"] == pytest.approx(per_draw.mean())
    assert row["mean_sq_min"] == pytest.approx(per_draw.min()) and row["mean_sq_max"] == pytest.approx(per_draw.max())
    assert row["mean_sq_min"] <= row["mean_sq_low"] <= row["mean_sq"] <= row["mean_sq_high"] <= row["mean_sq_max"]
    cell = mean_sq_table(iso.spectrum_summary(spec)).loc[("linear", "gaussian"), 4]
    assert cell == f"{row['mean_sq']:.3g} [{row['mean_sq_low']:.3g}, {row['mean_sq_high']:.3g}]"
