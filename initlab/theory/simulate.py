"""The mean-field correlation map checked in simulation: two inputs through one wide random net.

Two inputs whose first pre-activations have the fixed-point variance ``q*`` and
correlation ``c⁰`` go through the same random tanh (or other) net, ``h^{l+1} = W φ(h^l) + b``
with ``W_ij ~ N(0, σ_w² / N)`` and ``b_i ~ N(0, σ_b²)``. At every layer the measured
correlation is the cosine of the two pre-activation vectors (uncentred, as the theory's
``q₁₂ / √(q₁₁ q₂₂)``); :func:`initlab.theory.meanfield.correlation_trajectory` predicts it.
The measurement scatters around the prediction by ``O(1 / √N)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.theory import meanfield as mf


def input_pairs(c0s: Sequence[float], q_star: float, width: int, *, rng: np.random.Generator) -> np.ndarray:
    """Pre-activation pairs, one pair per ``c0``: columns ``2k`` and ``2k + 1`` have squared length
    exactly ``width · q*`` and cosine exactly ``c0s[k]``."""
    cols = []
    for c0 in c0s:
        if not -1.0 <= c0 <= 1.0:
            raise InvalidArgumentError("c0", c0, "must be a correlation in [-1, 1]")
        a, b = rng.standard_normal(width), rng.standard_normal(width)
        a /= np.linalg.norm(a)
        b -= (b @ a) * a
        b /= np.linalg.norm(b)
        scale = np.sqrt(width * q_star)
        cols += [scale * a, scale * (c0 * a + np.sqrt(1.0 - c0 * c0) * b)]
    return np.stack(cols, axis=1)


def correlation_through_depth(
    c0s: Sequence[float],
    depth: int,
    sigma_w2s: Sequence[float],
    *,
    sigma_b2: float,
    activation: str = "tanh",
    width: int = 1000,
    seeds: Sequence[int] = (0,),
) -> pd.DataFrame:
    """Measured correlation of each input pair's pre-activations at layers 0..``depth``, per ``σ_w²``.

    One net per seed (``numpy.random.default_rng(seed)``) carries all pairs; its nets for the
    different ``σ_w²`` share their random draws (``W = √(σ_w² / N) Z`` with the same ``Z``, the
    same bias draws and input directions), so they differ only in scale. Returns one row per
    (``σ_w²``, seed, c0, layer): ``activation, sigma_w2, sigma_b2, width, seed, c0, layer,
    correlation, q`` (``q``: the pair's mean squared pre-activation, to check that the length stays
    at ``q*``).
    """
    if int(depth) < 1 or int(width) < 2:
        raise InvalidArgumentError("depth", depth, "must be >= 1 (and width >= 2)")
    phi, _ = mf.activation_functions(activation)
    q_stars = []
    for w in sigma_w2s:
        q = mf.fixed_point_q(float(w), sigma_b2, activation)
        if not np.isfinite(q):
            raise InvalidArgumentError(
                "sigma_w2", w, f"gives no finite fixed point q* for {activation} at sigma_b2={sigma_b2}"
            )
        q_stars.append(q)
    k, n = len(c0s), int(width)
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(int(seed))
        unit = input_pairs(c0s, 1.0 / n, n, rng=rng)  # unit-length pairs, scaled to each q* below
        hs = [unit * np.sqrt(n * max(q, mf.Q_FLOOR)) for q in q_stars]  # q* = 0: start at its limit
        for layer in range(int(depth) + 1):
            if layer:
                z = rng.standard_normal((n, n))
                b = rng.standard_normal((n, 1)) * np.sqrt(sigma_b2)
                out = z @ np.concatenate([phi(h) for h in hs], axis=1)  # every input, every σ_w², one product
                hs = [out[:, 2 * k * i : 2 * k * (i + 1)] * np.sqrt(w / n) + b for i, w in enumerate(sigma_w2s)]
            for w, h in zip(sigma_w2s, hs):
                for j, c0 in enumerate(c0s):
                    u, v = h[:, 2 * j], h[:, 2 * j + 1]
                    rows.append(
                        {
                            "activation": activation,
                            "sigma_w2": float(w),
                            "sigma_b2": float(sigma_b2),
                            "width": n,
                            "seed": int(seed),
                            "c0": float(c0),
                            "layer": layer,
                            "correlation": float(u @ v / np.sqrt((u @ u) * (v @ v))),
                            "q": float((u @ u + v @ v) / (2 * n)),
                        }
                    )
    return pd.DataFrame(rows)


def predicted_correlations(
    c0s: Sequence[float], depth: int, sigma_w2: float, *, sigma_b2: float, activation: str = "tanh"
) -> pd.DataFrame:
    """The mean-field prediction at the same points: ``sigma_w2, sigma_b2, c0, layer, predicted``."""
    rows = []
    for c0 in c0s:
        for layer, c in enumerate(
            mf.correlation_trajectory(float(c0), depth, sigma_w2, sigma_b2=sigma_b2, activation=activation)
        ):
            rows.append(
                {
                    "sigma_w2": float(sigma_w2),
                    "sigma_b2": float(sigma_b2),
                    "c0": float(c0),
                    "layer": layer,
                    "predicted": float(c),
                }
            )
    return pd.DataFrame(rows)


def correlation_check(
    c0s: Sequence[float],
    depth: int,
    sigma_w2s: Sequence[float],
    *,
    sigma_b2: float,
    activation: str = "tanh",
    width: int = 1000,
    seeds: Sequence[int] = (0,),
) -> pd.DataFrame:
    """Measured beside predicted correlations for each ``σ_w²``: :func:`correlation_through_depth`'s
    rows with ``predicted`` and ``error`` (measured − predicted) added."""
    sim = correlation_through_depth(
        c0s, depth, sigma_w2s, sigma_b2=sigma_b2, activation=activation, width=width, seeds=seeds
    )
    pred = pd.concat(
        [predicted_correlations(c0s, depth, float(w), sigma_b2=sigma_b2, activation=activation) for w in sigma_w2s],
        ignore_index=True,
    )
    out = sim.merge(pred, on=["sigma_w2", "sigma_b2", "c0", "layer"])
    return out.assign(error=out["correlation"] - out["predicted"])
