"""Dynamical isometry: the input–output Jacobian of deep random nets at initialization.

A plain net ``h^l = W^l x^{l-1} + b^l``, ``x^l = φ(h^l)`` has the input–output Jacobian
``J = D^L W^L ⋯ D^1 W^1`` with ``D^l = diag(φ'(h^l))``. Its squared singular values
average ``χ₁^L`` (mean-field theory), so at criticality (``χ₁ = 1``) their mean stays 1
at any depth; *dynamical isometry* asks more: that all of them stay near 1 (Saxe et al.
2014 for deep linear nets; Pennington et al. 2017 for nonlinear ones). With Gaussian
kernels the spectrum spreads as depth grows, whatever the activation; orthogonal kernels
keep a linear net's singular values exactly 1, and a tanh net's close to 1 when ``q*`` is
small; a ReLU net's ``D`` zeroes about half the units, so no kernel keeps its spectrum near 1.

Everything here is float64 NumPy with an explicit ``numpy.random.Generator`` per draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.theory import meanfield as mf

KERNELS = ("gaussian", "orthogonal")
NEAR = 2.0  # a singular value counts as "near 1" within this factor either way


BOOTSTRAP = 10_000  # resamples behind :func:`draw_interval`


def _check_kernel(kind: str) -> None:
    if kind not in KERNELS:
        raise UnknownNameError("kernel", kind, KERNELS)


def haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed ``n × n`` orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def random_kernel(n: int, sigma_w2: float, kind: str, *, rng: np.random.Generator) -> np.ndarray:
    """A square ``n × n`` kernel whose entries have variance ``σ_w² / n``.

    ``gaussian``: i.i.d. ``N(0, σ_w² / n)``; ``orthogonal``: ``√σ_w²`` times a Haar
    orthogonal matrix, so every singular value is exactly ``√σ_w²``.
    """
    _check_kernel(kind)
    if not (np.isfinite(sigma_w2) and sigma_w2 > 0):
        raise InvalidArgumentError("sigma_w2", sigma_w2, "must be a finite, positive weight variance")
    if kind == "gaussian":
        return rng.standard_normal((n, n)) * np.sqrt(sigma_w2 / n)
    return np.sqrt(sigma_w2) * haar_orthogonal(n, rng)


def critical_point(activation: str, sigma_b2: float = 0.0) -> tuple[float, float]:
    """``(σ_w², σ_b²)`` on the critical line (``χ₁ = 1``) for ``activation``.

    Linear and ReLU nets are critical only without biases (``σ_w²`` = 1 and 2; a bias
    variance makes ``q`` grow without bound there), so ``sigma_b2`` must be 0 for them.
    """
    if activation in ("linear", "relu") and sigma_b2 != 0.0:
        raise InvalidArgumentError(
            "sigma_b2",
            sigma_b2,
            f"must be 0 for {activation}: with biases its variance has no finite fixed point on the critical line",
        )
    return mf.critical_sigma_w2(sigma_b2, activation), float(sigma_b2)


def _input(width: int, q_star: float, activation: str, rng: np.random.Generator) -> np.ndarray:
    """An input ``x⁰ = φ(√q* z)``: the first pre-activations then have the fixed-point variance."""
    phi, _ = mf.activation_functions(activation)
    return phi(np.sqrt(q_star) * rng.standard_normal(width))


def jacobian_singular_values(
    depths: Sequence[int], width: int, activation: str, *, kind: str, sigma_w2: float, sigma_b2: float, seed: int
) -> dict[int, np.ndarray]:
    """Singular values of one random net's input–output Jacobian after each depth in ``depths``.

    One net of ``max(depths)`` square layers of ``width`` units (kernels drawn by
    :func:`random_kernel`, biases ``N(0, σ_b²)``), one input at the fixed point ``q*``
    (:func:`_input`), all drawn from ``numpy.random.default_rng(seed)``.

    Returns:
        ``{depth: singular values, largest first}``.
    """
    _check_kernel(kind)
    wanted = sorted({int(d) for d in depths})
    if not wanted or wanted[0] < 1:
        raise InvalidArgumentError("depths", list(depths), "must be a non-empty list of integers >= 1")
    _, dphi = mf.activation_functions(activation)
    q = mf.fixed_point_q(sigma_w2, sigma_b2, activation)
    if not np.isfinite(q):
        raise InvalidArgumentError(
            "sigma_w2", sigma_w2, f"gives no finite fixed point q* for {activation} at sigma_b2={sigma_b2}"
        )
    phi, _ = mf.activation_functions(activation)
    rng = np.random.default_rng(seed)
    x = _input(width, q, activation, rng)
    jac = np.eye(width)
    out: dict[int, np.ndarray] = {}
    for layer in range(1, wanted[-1] + 1):
        w = random_kernel(width, sigma_w2, kind, rng=rng)
        h = w @ x + rng.standard_normal(width) * np.sqrt(sigma_b2)
        jac = dphi(h)[:, None] * (w @ jac)
        x = phi(h)
        if layer in wanted:
            out[layer] = np.linalg.svd(jac, compute_uv=False)
    return out


def critical_setups(activations: Sequence[str], tanh_sigma_b2s: Sequence[float] = (0.05,)) -> list[tuple[str, float]]:
    """``(activation, σ_b²)`` pairs to study at criticality: linear and ReLU without biases (the
    only ``σ_b²`` where they have a critical point), every other activation at each of ``tanh_sigma_b2s``."""
    out: list[tuple[str, float]] = []
    for activation in activations:
        out += (
            [(activation, 0.0)]
            if activation in ("linear", "relu")
            else [(activation, float(b)) for b in tanh_sigma_b2s]
        )
    return out


def setup_label(activation: str, sigma_b2: float) -> str:
    """``"relu"``, or ``"tanh, σ_b² = 0.05"`` where the bias variance is not 0."""
    return activation if sigma_b2 == 0.0 else f"{activation}, σ_b² = {sigma_b2:g}"


def spectra(
    setups: Sequence[tuple[str, float]],
    kinds: Sequence[str],
    depths: Sequence[int],
    *,
    width: int,
    seeds: Sequence[int],
) -> pd.DataFrame:
    """Jacobian singular values at criticality for every (set-up, kernel, depth, seed).

    Each ``(activation, σ_b²)`` of ``setups`` (see :func:`critical_setups`) sits at its
    :func:`critical_point`. One row per singular value: ``setup, activation, kernel,
    sigma_w2, sigma_b2, depth, seed, singular_value``.
    """
    frames = []
    for activation, sigma_b2 in setups:
        sw2, sb2 = critical_point(activation, sigma_b2)
        for kind in kinds:
            for seed in seeds:
                for depth, values in jacobian_singular_values(
                    depths, width, activation, kind=kind, sigma_w2=sw2, sigma_b2=sb2, seed=int(seed)
                ).items():
                    frames.append(
                        pd.DataFrame(
                            {
                                "setup": setup_label(activation, sb2),
                                "activation": activation,
                                "kernel": kind,
                                "sigma_w2": sw2,
                                "sigma_b2": sb2,
                                "depth": depth,
                                "seed": int(seed),
                                "singular_value": values,
                            }
                        )
                    )
    return pd.concat(frames, ignore_index=True)


def draw_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """A percentile-bootstrap interval of the mean of positive per-draw values (it stays above 0, where a
    t-interval of a heavy-tailed quantity would not); NaN with fewer than 2 draws. Seeded: the same draws give
    the same interval."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or np.all(x == x[0]):
        return (float(x[0]), float(x[0])) if x.size else (np.nan, np.nan)
    rng = np.random.default_rng(0)
    means = rng.choice(x, size=(BOOTSTRAP, x.size), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def spectrum_summary(frame: pd.DataFrame, near: float = NEAR) -> pd.DataFrame:
    """Per (set-up, kernel, depth), pooling the seeds' singular values ``s``:

    ``mean_sq`` (the mean of ``s²``; the theory's ``χ₁^L`` = 1 at criticality), the 10th,
    50th and 90th percentiles, ``spread`` (90th over 10th percentile; inf when the 10th is
    0 to float64 precision) and ``near_share`` (the share within a factor ``near`` of 1). Over the
    draws (seeds), each with its own mean of ``s²``: ``draws``, ``mean_sq_low`` and ``mean_sq_high``
    (:func:`draw_interval`, 95%), ``mean_sq_min`` and ``mean_sq_max``.
    """
    rows = []
    for (setup, kind, depth), g in frame.groupby(["setup", "kernel", "depth"], sort=False):
        s = g["singular_value"].to_numpy(dtype=float)
        draw = g["seed"] if "seed" in g else pd.Series(0, index=g.index)  # no seed column: one draw
        per_draw = (g["singular_value"] ** 2).groupby(draw).mean().to_numpy(dtype=float)
        low, high = draw_interval(per_draw)
        top = float(s.max())
        q10, q50, q90 = np.quantile(s, [0.1, 0.5, 0.9])
        floor = 1e-12 * top  # below this an SVD's value is rounding of an exact zero
        rows.append(
            {
                "setup": setup,
                "activation": g["activation"].iloc[0],
                "kernel": kind,
                "depth": int(depth),
                "sigma_w2": float(g["sigma_w2"].iloc[0]),
                "sigma_b2": float(g["sigma_b2"].iloc[0]),
                "mean_sq": float(np.mean(s**2)),
                "q10": float(q10),
                "median": float(q50),
                "q90": float(q90),
                "spread": float(q90 / q10) if q10 > floor else np.inf,
                "max": top,
                "near_share": float(np.mean((s >= 1.0 / near) & (s <= near))),
                "draws": int(per_draw.size),
                "mean_sq_low": low,
                "mean_sq_high": high,
                "mean_sq_min": float(per_draw.min()),
                "mean_sq_max": float(per_draw.max()),
            }
        )
    return pd.DataFrame(rows)


def concentrated(summary: pd.DataFrame, share: float = 0.9) -> pd.Series:
    """Whether at least ``share`` of the singular values lie within a factor :data:`NEAR` of 1."""
    return summary["near_share"] >= share
