"""The simulated correlation map: exact starting pairs, shared weights, agreement with mean-field theory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.errors import InvalidArgumentError
from initlab.theory import meanfield as mf
from initlab.theory import simulate as sim


def test_input_pairs_have_the_exact_length_and_correlation() -> None:
    h = sim.input_pairs([0.2, -0.5, 1.0], 0.7, 500, rng=np.random.default_rng(0))
    assert h.shape == (500, 6)
    for k, c0 in enumerate([0.2, -0.5, 1.0]):
        u, v = h[:, 2 * k], h[:, 2 * k + 1]
        assert u @ u == pytest.approx(500 * 0.7) and v @ v == pytest.approx(500 * 0.7)
        assert u @ v / (500 * 0.7) == pytest.approx(c0, abs=1e-12)
    with pytest.raises(InvalidArgumentError, match="c0"):
        sim.input_pairs([1.2], 0.7, 10, rng=np.random.default_rng(0))


def test_first_layer_matches_the_map_within_sampling_error() -> None:
    # After one layer the cosine of two N-vectors scatters around the map by less than about 2/√N (the
    # sample correlation, (1 − c²)/√N, plus the empirical average of φ(u)φ(v) over N units); the mean over
    # 5 nets within 4 standard errors of that: 4 · 2 / √(5 N). Two inputs sent through different weights
    # would lose most of their correlation (an error near c⁰).
    n, seeds = 1000, range(5)
    f = sim.correlation_check([0.3, 0.8], 1, [1.5, 3.0], sigma_b2=0.05, activation="tanh", width=n, seeds=seeds)
    first = f[f["layer"] == 1].groupby(["sigma_w2", "c0"])["error"].mean()
    assert (first.abs() < 4 * 2 / math.sqrt(5 * n)).all()
    assert f[f["layer"] == 0]["error"].abs().max() < 1e-12  # the start is exact


def test_phases_drive_correlations_where_the_theory_says() -> None:
    n = 500
    ordered = sim.correlation_through_depth([0.1, 0.5], 40, [1.0], sigma_b2=0.05, activation="tanh", width=n, seeds=[0])
    assert (ordered[ordered["layer"] == 40]["correlation"] > 0.99).all()  # every pair collapses onto one
    chaotic = sim.correlation_through_depth(
        [0.1, 0.9], 40, [4.0], sigma_b2=0.05, activation="tanh", width=n, seeds=[0, 1]
    )
    q = mf.fixed_point_q(4.0, 0.05)
    c_star = mf.correlation_trajectory(0.5, 200, 4.0, sigma_b2=0.05)[-1]
    late = chaotic[chaotic["layer"] >= 30]
    # stationary scatter of one net's cosine around c*: a few times 1/√N; the mean of 22 correlated values
    assert abs(late["correlation"].mean() - c_star) < 4 / math.sqrt(n)
    # the length stays at q*: relative scatter of a mean of N squares is √(2/N) per layer
    assert abs(late["q"].mean() / q - 1) < 4 * math.sqrt(2 / n)


def test_predicted_correlations_are_the_iterated_map() -> None:
    p = sim.predicted_correlations([0.4], 3, 2.0, sigma_b2=0.05)
    assert p["predicted"].tolist() == pytest.approx(mf.correlation_trajectory(0.4, 3, 2.0, sigma_b2=0.05).tolist())
    assert p["layer"].tolist() == [0, 1, 2, 3]
    with pytest.raises(InvalidArgumentError, match="sigma_w2"):
        sim.correlation_through_depth([0.5], 2, [3.0], sigma_b2=0.0, activation="relu", width=10, seeds=[0])


def test_nets_of_different_variance_share_their_draws() -> None:
    # A linear net's cosine does not depend on the kernels' scale: with common draws, σ_w² = 0.5 (q* = 0,
    # started at its limit) and σ_w² = 1 measure the same correlations, to rounding.
    f = sim.correlation_through_depth(
        [0.3, 0.7], 5, [0.5, 1.0], sigma_b2=0.0, activation="linear", width=64, seeds=[0, 1]
    )
    a, b = (f[f["sigma_w2"] == w].set_index(["seed", "c0", "layer"])["correlation"] for w in (0.5, 1.0))
    assert np.allclose(a, b.loc[a.index], atol=1e-10)
    assert not np.allclose(a.xs(0, level="seed"), a.xs(1, level="seed"))  # seeds draw anew
