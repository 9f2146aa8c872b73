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

from collections.abc import Callable

import numpy as np
from scipy import optimize

from initlab.errors import UnknownNameError

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "linear": (lambda x: x, np.ones_like),
    "selu": (lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0)))),
}
LIMIT = 12.0  # the normal density beyond ±12 is below 1e-31
_X, _W = np.polynomial.legendre.leggauss(64)
_PDF = 1.0 / np.sqrt(2 * np.pi)


def _activation(name: str) -> tuple[Callable, Callable]:
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


def length_map(q: float, sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """One layer's map of the pre-activation variance."""
    phi, _ = _activation(activation)
    return sigma_w2 * gauss(lambda z: phi(np.sqrt(q) * z) ** 2) + sigma_b2


def fixed_point_q(sigma_w2: float, sigma_b2: float, activation: str = "tanh", q0: float = 1.0,
                  iterations: int = 2000, tol: float = 1e-12) -> float:
    """``q*``, iterating the length map from ``q0`` (``inf`` when the variance grows without bound)."""
    q = q0
    for _ in range(iterations):
        nxt = length_map(q, sigma_w2, sigma_b2, activation)
        if not np.isfinite(nxt) or nxt > 1e12:
            return np.inf
        if abs(nxt - q) <= tol * max(1.0, q):
            return nxt
        q = nxt
    return q


def correlation_map(c: float, q_star: float, sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """One layer's map of the correlation between two inputs' pre-activations (both at ``q*``)."""
    phi, _ = _activation(activation)
    s = np.sqrt(q_star)
    return (sigma_w2 * gauss_pair(lambda a, b: phi(s * a) * phi(s * b), c) + sigma_b2) / q_star


def chi1(sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """``χ₁ = σ_w² E[φ'(√q* z)²]``: the slope of the correlation map at ``c = 1``."""
    _, dphi = _activation(activation)
    q = fixed_point_q(sigma_w2, sigma_b2, activation)
    return sigma_w2 * gauss(lambda z: dphi(np.sqrt(q) * z) ** 2) if np.isfinite(q) else np.inf


def critical_sigma_w2(sigma_b2: float, activation: str = "tanh", bracket: tuple[float, float] = (0.5, 10.0)) -> float:
    """The ``σ_w²`` on the order-to-chaos line (``χ₁ = 1``) at this ``σ_b²``."""
    return float(optimize.brentq(lambda w: chi1(w, sigma_b2, activation) - 1.0, *bracket, xtol=1e-12))


def fixed_point_c(q_star: float, sigma_w2: float, sigma_b2: float, activation: str = "tanh",
                  c0: float = 0.5, iterations: int = 5000, tol: float = 1e-12) -> float:
    """The correlation map's stable fixed point ``c*``, iterating from ``c0``."""
    c = c0
    for _ in range(iterations):
        nxt = min(1.0, correlation_map(c, q_star, sigma_w2, sigma_b2, activation))
        if abs(nxt - c) <= tol:
            return nxt
        c = nxt
    return c


def depth_scale(sigma_w2: float, sigma_b2: float, activation: str = "tanh") -> float:
    """``ξ_c = −1 / ln χ_c``: how many layers a difference between two inputs survives.

    ``χ_c`` is the correlation map's slope at its stable fixed point ``c*`` (``χ₁`` in the
    ordered phase, where ``c* = 1``); ``inf`` on the critical line.
    """
    _, dphi = _activation(activation)
    q = fixed_point_q(sigma_w2, sigma_b2, activation)
    if not np.isfinite(q):
        return 0.0
    c = fixed_point_c(q, sigma_w2, sigma_b2, activation)
    s = np.sqrt(q)
    slope = sigma_w2 * gauss_pair(lambda a, b: dphi(s * a) * dphi(s * b), c)
    return np.inf if abs(slope - 1.0) < 1e-12 else float(-1.0 / np.log(slope))
