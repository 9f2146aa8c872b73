"""Mean-field theory of wide random networks (Poole et al. 2016; Schoenholz et al. 2017).

A layer ``h = W x + b`` with ``W_ij ~ N(0, σ_w² / n)`` and ``b_i ~ N(0, σ_b²)`` maps the
variance ``q`` of its pre-activations, and the correlation ``c`` of two inputs'
pre-activations, deterministically as the width grows:

* the length map ``q' = σ_w² E[φ(√q z)²] + σ_b²``, with its fixed point ``q*``;
* the correlation map ``c' = (σ_w² E[φ(u₁) φ(u₂)] + σ_b²) / q*``, ``u₁ = √q* z₁``,
  ``u₂ = √q* (c z₁ + √(1 − c²) z₂)``, whose slope at ``c = 1`` is
  ``χ₁ = σ_w² E[φ'(√q* z)²]``;
* ``χ₁ < 1``: ordered phase (inputs' correlations go to 1), ``χ₁ > 1``: chaotic phase;
  ``χ₁ = 1`` is the critical line, where the correlation depth scale
  ``ξ_c = −1 / ln χ_c`` (``χ_c``, the slope at the map's stable fixed point ``c*``) diverges.

Expectations over Gaussians are Gauss–Legendre quadratures of the normal density on
[−12, 12], split where the integrand has its kink (ReLU and SELU at 0), so that
non-smooth activations are integrated as accurately as smooth ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from initlab.errors import InvalidArgumentError, UnknownNameError

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "linear": (lambda x: x, np.ones_like),
    "selu": (
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
        lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0))),
    ),
}
LIMIT = 12.0  # the normal density beyond ±12 is below 1e-31
_X, _W = np.polynomial.legendre.leggauss(64)
_PDF = 1.0 / np.sqrt(2 * np.pi)


def activation_functions(name: str) -> tuple[Callable, Callable]:
    """``(φ, φ')`` of an activation of :data:`ACTIVATIONS` (NumPy, elementwise)."""
    if name not in ACTIVATIONS:
        raise UnknownNameError("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def _nodes(split: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights (normal density included) on [−L, split] and [split, L].

    ``split`` may be an array: one set of nodes per value (along a new last axis).
    """
    split = np.clip(np.asarray(split, dtype=float), -LIMIT, LIMIT)[..., None]
    lo_mid, lo_half = (split - LIMIT) / 2, (split + LIMIT) / 2
    hi_mid, hi_half = (split + LIMIT) / 2, (LIMIT - split) / 2
    z = np.concatenate([lo_mid + lo_half * _X, hi_mid + hi_half * _X], axis=-1)
    w = np.concatenate([lo_half * _W, hi_half * _W], axis=-1) * _PDF * np.exp(-z * z / 2)
    return z, w


def gauss(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """``E[f(z)]`` for ``z ~ N(0, 1)``, ``f`` smooth on each side of 0."""
    z, w = _nodes(0.0)
    return float(np.sum(w * f(z)))


def gauss_pair(f: Callable[[np.ndarray, np.ndarray], np.ndarray], c: float) -> float:
    """``E[f(z₁, c z₁ + √(1 − c²) z₂)]`` for independent standard normals: two inputs' pre-activations
    (unit variance) with correlation ``c``, ``f`` smooth away from either argument's 0."""
    r = np.sqrt(max(0.0, 1.0 - c * c))
    z1, w1 = _nodes(0.0)
    if r == 0.0:
        return float(np.sum(w1 * f(z1, c * z1)))
    z2, w2 = _nodes(-c * z1 / r)  # one inner grid per outer node, split where the second argument is 0
    u1 = np.broadcast_to(z1[:, None], z2.shape)
    return float(np.sum(w1 * np.sum(w2 * f(u1, c * u1 + r * z2), axis=-1)))


def length_map(q: float, sigma_w2: float, sigma_b2: float, *, activation: str = "tanh") -> float:
    """One layer's map of the pre-activation variance."""
    phi, _ = activation_functions(activation)
    return sigma_w2 * gauss(lambda z: phi(np.sqrt(q) * z) ** 2) + sigma_b2


LINEAR_GAIN = {"linear": 1.0, "relu": 0.5}  # E[φ(√q z)²] = gain · q: the length map is linear in q
BOUNDED = ("tanh",)  # |φ| ≤ 1 and odd: E[φ(√q z)²] is increasing and concave in q, so q* is unique


def fixed_point_q(
    sigma_w2: float,
    sigma_b2: float,
    activation: str = "tanh",
    *,
    q0: float = 1.0,
    iterations: int = 2000,
    tol: float = 1e-12,
) -> float:
    """``q*``, the stable fixed point of the length map (``inf`` when the variance grows without bound).

    Linear and ReLU maps are linear in ``q`` (``q' = σ_w² g q + σ_b²``, ``g`` 1 or 1/2): ``q*`` is
    closed-form, and where every ``q`` is fixed (``σ_w² g = 1``, no biases) it is ``q0``. For tanh
    the map is concave with ``q' ≤ σ_w² + σ_b²``, so its positive fixed point is the one root in a
    bracket (without biases and ``σ_w² ≤ 1`` it is 0). Other activations iterate from ``q0``;
    without biases, one with ``φ(0) = 0`` still falling after ``iterations`` steps is creeping
    towards 0, and 0 is returned.
    """
    if activation in LINEAR_GAIN:
        slope = sigma_w2 * LINEAR_GAIN[activation]
        if abs(slope - 1.0) <= 1e-9 and sigma_b2 == 0.0:
            return float(q0)
        return float(sigma_b2 / (1.0 - slope)) if slope < 1.0 else np.inf
    if activation in BOUNDED:
        return _bounded_fixed_point_q(sigma_w2, sigma_b2, activation)
    q, falling = q0, False
    for _ in range(iterations):
        nxt = length_map(q, sigma_w2, sigma_b2, activation=activation)
        if not np.isfinite(nxt) or nxt > 1e12:
            return np.inf
        if abs(nxt - q) <= tol * max(1.0, q):
            return nxt
        q, falling = nxt, nxt < q
    phi, _ = activation_functions(activation)
    if sigma_b2 == 0.0 and float(phi(np.zeros(1))[0]) == 0.0 and falling:
        return 0.0
    return q


def _bounded_fixed_point_q(sigma_w2: float, sigma_b2: float, activation: str) -> float:
    """The root of ``q' − q`` for a bounded, odd activation (see :func:`fixed_point_q`).

    ``q' − q`` is ``σ_b² ≥ 0`` at 0 and negative at ``σ_w² + σ_b²``. Without biases 0 is a
    root too; the positive one exists only for ``σ_w² > 1`` and is the root of ``q'/q − 1``,
    which tends to ``σ_w² − 1 > 0`` as ``q → 0``.
    """
    high = sigma_w2 + sigma_b2
    if sigma_b2 > 0.0:
        return float(
            optimize.brentq(
                lambda q: length_map(q, sigma_w2, sigma_b2, activation=activation) - q,
                0.0,
                high,
                xtol=1e-15,
                rtol=1e-13,
            )
        )
    if sigma_w2 <= 1.0:
        return 0.0

    def ratio(q: float) -> float:
        return length_map(q, sigma_w2, 0.0, activation=activation) / q - 1.0

    low = 1e-8
    if ratio(low) <= 0.0:  # σ_w² within ~1e-8 of 1: q* is below the bracket, indistinguishable from 0
        return 0.0
    return float(optimize.brentq(ratio, low, high, xtol=1e-15, rtol=1e-13))


Q_FLOOR = 1e-12  # q* = 0 is evaluated here: the maps' limits as q → 0 (exact for linear and ReLU)
CRITICAL_TOL = 1e-9  # |χ − 1| within this is critical (quadrature and Q_FLOOR err by ~1e-12)


def correlation_map(c: float, q_star: float, sigma_w2: float, *, sigma_b2: float, activation: str = "tanh") -> float:
    """One layer's map of the correlation between two inputs' pre-activations (both at ``q*``).

    The covariance ``σ_w² E[φ(u₁) φ(u₂)] + σ_b²`` over the next layer's variance, which is ``q*``
    itself at the fixed point (so ``c = 1`` maps to exactly 1); at ``q* = 0`` the limit.
    """
    phi, _ = activation_functions(activation)
    s = np.sqrt(max(q_star, Q_FLOOR))
    return (sigma_w2 * gauss_pair(lambda a, b: phi(s * a) * phi(s * b), c) + sigma_b2) / length_map(
        s * s, sigma_w2, sigma_b2, activation=activation
    )


def chi1(sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """``χ₁ = σ_w² E[φ'(√q* z)²]``: the slope of the correlation map at ``c = 1``."""
    _, dphi = activation_functions(activation)
    q = fixed_point_q(sigma_w2, sigma_b2, activation)
    return sigma_w2 * gauss(lambda z: dphi(np.sqrt(max(q, Q_FLOOR)) * z) ** 2) if np.isfinite(q) else np.inf


def critical_sigma_w2(sigma_b2: float, activation: str = "tanh", bracket: tuple[float, float] = (0.5, 10.0)) -> float:
    """The ``σ_w²`` on the order-to-chaos line (``χ₁ = 1``) at this ``σ_b²``."""
    return float(optimize.brentq(lambda w: chi1(w, sigma_b2, activation) - 1.0, *bracket, xtol=1e-12))


def fixed_point_c(
    q_star: float,
    sigma_w2: float,
    sigma_b2: float,
    *,
    activation: str = "tanh",
    c0: float = 0.5,
    iterations: int = 5000,
    tol: float = 1e-12,
) -> float:
    """The correlation map's stable fixed point ``c*``, iterating from ``c0``."""
    c = c0
    for _ in range(iterations):
        nxt = min(1.0, correlation_map(c, q_star, sigma_w2, sigma_b2=sigma_b2, activation=activation))
        if abs(nxt - c) <= tol:
            return nxt
        c = nxt
    return c


def _chaotic_fixed_point_c(q_star: float, sigma_w2: float, sigma_b2: float, activation: str) -> float:
    """``c* < 1`` in the chaotic phase: the root of ``f(c) − c`` between 0 and just below 1.

    ``f(0) ≥ 0`` (``σ_b² ≥ 0`` and ``E[φ]² ≥ 0``) and ``f(c) < c`` just below 1 (the slope
    there, ``χ₁``, exceeds 1), so a root lies between; the upper end moves towards 1 until
    the sign changes. Iteration (slow where ``χ₁`` is close to 1) is the fallback.
    """

    def gap(c: float) -> float:
        return correlation_map(c, q_star, sigma_w2, sigma_b2=sigma_b2, activation=activation) - c

    low = gap(0.0)
    if low <= 0.0:
        return 0.0
    for k in range(2, 9):
        high = 1.0 - 10.0**-k
        if gap(high) < 0.0:
            return float(optimize.brentq(gap, 0.0, high, xtol=1e-14))
    return fixed_point_c(q_star, sigma_w2, sigma_b2, activation=activation)


def depth_scale(sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """``ξ_c = −1 / ln χ_c``: how many layers a difference between two inputs survives.

    ``χ_c`` is the correlation map's slope at its stable fixed point ``c*``: in the ordered
    phase (``χ₁ ≤ 1``) ``c* = 1`` and ``χ_c = χ₁``; in the chaotic phase ``c* < 1`` is found
    by root-finding. ``inf`` on the critical line; 0 when the variance grows without bound.
    """
    _, dphi = activation_functions(activation)
    q = fixed_point_q(sigma_w2, sigma_b2, activation)
    if not np.isfinite(q):
        return 0.0
    s = np.sqrt(max(q, Q_FLOOR))
    slope = sigma_w2 * gauss(lambda z: dphi(s * z) ** 2)  # χ₁
    if slope > 1.0 + CRITICAL_TOL:
        c = _chaotic_fixed_point_c(q, sigma_w2, sigma_b2, activation)
        slope = sigma_w2 * gauss_pair(lambda a, b: dphi(s * a) * dphi(s * b), c)
    return np.inf if abs(slope - 1.0) <= CRITICAL_TOL else float(-1.0 / np.log(slope))


def correlation_trajectory(
    c0: float, depth: int, sigma_w2: float, *, sigma_b2: float, activation: str = "tanh"
) -> np.ndarray:
    """The predicted correlation of two inputs' pre-activations after 0, 1, ..., ``depth`` layers,
    both inputs starting at the fixed-point variance ``q*`` (so the length map stays put)."""
    if not -1.0 <= c0 <= 1.0:
        raise InvalidArgumentError("c0", c0, "must be a correlation in [-1, 1]")
    q = fixed_point_q(sigma_w2, sigma_b2, activation)
    if not np.isfinite(q):
        raise InvalidArgumentError(
            "sigma_w2",
            sigma_w2,
            f"gives no finite fixed point q* for {activation} at "
            f"sigma_b2={sigma_b2} (the variance grows without bound)",
        )
    out = [float(c0)]
    for _ in range(int(depth)):
        out.append(min(1.0, correlation_map(out[-1], q, sigma_w2, sigma_b2=sigma_b2, activation=activation)))
    return np.asarray(out)


def critical_line(sigma_b2s: Sequence[float], activation: str = "tanh") -> np.ndarray:
    """The critical ``σ_w²`` (``χ₁ = 1``) at each ``σ_b²``."""
    return np.asarray([critical_sigma_w2(float(b), activation) for b in sigma_b2s])


PHASES = ("ordered", "critical", "chaotic", "unbounded")


def phase(chi: float, tol: float = CRITICAL_TOL) -> str:
    """``"ordered"`` (``χ₁ < 1``), ``"critical"``, ``"chaotic"`` or ``"unbounded"`` (no finite ``q*``)."""
    if not np.isfinite(chi):
        return "unbounded"
    return "critical" if abs(chi - 1.0) <= tol else ("ordered" if chi < 1.0 else "chaotic")


def phase_grid(
    sigma_w2s: Sequence[float], sigma_b2s: Sequence[float], activation: str = "tanh", *, depth_scales: bool = False
) -> pd.DataFrame:
    """``q*``, ``χ₁`` and the phase at every (``σ_w²``, ``σ_b²``) of a grid, one row per point.

    With ``depth_scales``, also ``ξ_c`` and ``6 ξ_c`` (Schoenholz et al.'s depth limit of
    trainability). Columns: ``activation, sigma_w2, sigma_b2, q_star, chi1, phase``
    (``xi_c, max_depth``).
    """
    rows = []
    for b in sigma_b2s:
        for w in sigma_w2s:
            q = fixed_point_q(float(w), float(b), activation)
            chi = chi1(float(w), float(b), activation)
            row = {
                "activation": activation,
                "sigma_w2": float(w),
                "sigma_b2": float(b),
                "q_star": q,
                "chi1": chi,
                "phase": phase(chi),
            }
            if depth_scales:
                xi = depth_scale(float(w), float(b), activation)
                row.update(xi_c=xi, max_depth=6.0 * xi)
            rows.append(row)
    return pd.DataFrame(rows)
