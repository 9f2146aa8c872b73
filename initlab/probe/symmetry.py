"""Unit symmetry: how far hidden units of a layer stay copies of one another."""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.nets.layers import hidden_layers
from initlab.probe.float64 import _forward64, dense_weights64


def unit_spread(kernel: Any) -> float:
    """Mean pairwise Euclidean distance between units' incoming weight vectors.

    Units are the kernel's last axis (columns of a Dense kernel). Zero means
    every unit in the layer is identical: the symmetry was never broken (identical
    float32 units give exactly 0).
    """
    w = np.asarray(kernel, dtype=np.float64).reshape(-1, np.shape(kernel)[-1]).T
    # Centred first: identical float32 units then give exactly 0 (their float64 mean is exact), where
    # |w_i|^2 + |w_j|^2 - 2 w_i.w_j of raw weights near 1 leaves round-off of about 1e-6.
    w = w - w.mean(axis=0)
    sq = np.sum(w * w, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * w @ w.T, 0.0)
    n = len(w)
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean()) if n > 1 else 0.0


class SymmetryTracker:
    """Records each hidden layer's :func:`unit_spread` at the start and after every epoch.

    An ``on_epoch`` hook of the engines (:data:`initlab.training.stack.OnEpoch`): pass it as
    ``on_epoch=`` to :func:`initlab.training.engines.train` (or an engine's ``train``). It reads
    the first model it is given (a unit of one run), on either engine.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, epoch: int, models: Sequence[keras.Model]) -> None:
        layers = hidden_layers(models[0])
        self.rows += symmetry_rows(epoch, {layer.name: layer.kernel for layer in layers})

    def frame(self) -> pd.DataFrame:
        """The records as a tidy frame (epoch 0 is the initial state)."""
        return pd.DataFrame(self.rows)


def symmetry_rows(epoch: int, kernels: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per layer: ``epoch, layer, unit_spread, distinct_units`` of its kernel."""
    return [
        {"epoch": epoch, "layer": name, "unit_spread": unit_spread(kernel), "distinct_units": distinct_units(kernel)}
        for name, kernel in kernels.items()
    ]


def distinct_units(kernel: Any, decimals: int = 6) -> int:
    """How many different incoming weight vectors the layer's units have (rounded)."""
    w = np.round(np.asarray(kernel, dtype=np.float64).reshape(-1, np.shape(kernel)[-1]).T, decimals)
    return int(len(np.unique(w, axis=0)))


def collapse_identical_units(model: keras.Model, x: np.ndarray, layer: str = "hidden_1") -> dict[str, Any]:
    """Replace a Dense layer whose units are all identical by one unit, and compare predictions.

    If every unit of ``layer`` has the same incoming weights and bias, they all output the
    same value ``h``, and the next layer receives ``h`` times the sum of their outgoing
    weights: the network is one whose ``layer`` has a single unit. Both networks are
    evaluated in float64 (:func:`dense_weights64`).

    Returns:
        A dict of ``units``, ``identical`` (True when every unit is bit-equal to the first),
        ``same_class`` (the share of examples given the same class) and ``max_prob_diff``.
    """
    layers = dense_weights64(model)
    names = [n for n, *_ in layers]
    if layer not in names[:-1]:
        raise InvalidArgumentError("layer", layer, f"must be a hidden Dense layer ({', '.join(names[:-1])})")
    i = names.index(layer)
    name, w, b, act = layers[i]
    nxt, w2, b2, act2 = layers[i + 1]
    identical = bool(np.all(w == w[:, :1]) and np.all(b == b[0]))
    one = [*layers[:i], (name, w[:, :1], b[:1], act), (nxt, w2.sum(axis=0, keepdims=True), b2, act2), *layers[i + 2 :]]
    p_full, p_one = _forward64(layers, x)[0][-1], _forward64(one, x)[0][-1]
    return {
        "units": int(w.shape[1]),
        "identical": identical,
        "same_class": float(np.mean(p_full.argmax(1) == p_one.argmax(1))),
        "max_prob_diff": float(np.abs(p_full - p_one).max()),
    }
