"""A dense network's forward pass and gradients in float64, to tell an exact zero from
float32 round-off."""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

from collections.abc import Sequence

import keras
import numpy as np
import pandas as pd

from initlab.errors import UnsupportedLayerError
from initlab.nets.layers import activation_name, kernel_layers
from initlab.probe.measure import GRADIENT_NORM_COLUMNS

_DERIVATIVES = {
    "relu": lambda z, a: (z > 0).astype(np.float64),
    "linear": lambda z, a: np.ones_like(z),
    "tanh": lambda z, a: 1.0 - a * a,
    "sigmoid": lambda z, a: a * (1.0 - a),
}


_FORWARD = {
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def dense_weights64(model: keras.Model) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """``(name, kernel, bias, activation)`` of every Dense layer of an MLP, in float64.

    Raises:
        UnsupportedLayerError: a layer other than Flatten or Dense, a hidden activation other
            than relu, linear, tanh or sigmoid, or a head that is not a softmax Dense.
    """

    for layer in model.layers:  # of the kernel layers, float64 arithmetic is written for Dense only
        if not isinstance(layer, (keras.layers.Flatten, keras.layers.Dense)):
            raise UnsupportedLayerError(
                "float64 arithmetic", layer.name, type(layer).__name__, "only Flatten and Dense layers are computed"
            )
    out = []
    for layer in kernel_layers(model):
        act = activation_name(layer)
        last = layer is model.layers[-1]
        if (last and act != "softmax") or (not last and act not in _FORWARD):
            need = "softmax" if last else ", ".join(_FORWARD)
            raise UnsupportedLayerError("float64 arithmetic", layer.name, f"Dense({act})", f"needs {need}")
        bias = np.zeros(layer.units) if layer.bias is None else np.asarray(layer.bias, np.float64)
        out.append((layer.name, np.asarray(layer.kernel, np.float64), bias, act))
    return out


def _forward64(
    layers: Sequence[tuple[str, np.ndarray, np.ndarray, str]], x: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inputs and pre-activations of each layer, and the softmax probabilities last, in float64."""
    a = np.asarray(x, np.float64).reshape(len(x), -1)
    inputs, pre = [], []
    for _, w, b, act in layers:
        inputs.append(a)
        z = a @ w + b
        pre.append(z)
        if act == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = _FORWARD[act](z)
    return inputs + [a], pre


def gradient_norms_float64(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """:func:`gradient_norms` computed again in float64 with NumPy, for an MLP (see :func:`dense_weights64`).

    The weights are the model's float32 values, read exactly; every operation after that
    rounds at float64's precision (about 1e-16 relative) instead of float32's (about 1e-7).
    A gradient that is zero in exact arithmetic comes out near 1e-16 of the network's other
    gradients here, where float32 leaves round-off near 1e-7 of them.

    Returns:
        One row per Dense layer: ``layer, kernel_grad_norm, bias_grad_norm, kernel_norm``.
    """
    layers = dense_weights64(model)
    acts, pre = _forward64(layers, x)
    p = acts[-1]
    dz = (p - np.eye(p.shape[1])[np.asarray(y, int)]) / len(p)  # d(mean cross-entropy)/d(logits)
    rows = []
    for i in range(len(layers) - 1, -1, -1):
        name, w, _, act = layers[i]
        rows.append(
            {
                "layer": name,
                "kernel_grad_norm": float(np.linalg.norm(acts[i].T @ dz)),
                "bias_grad_norm": float(np.linalg.norm(dz.sum(axis=0))),
                "kernel_norm": float(np.linalg.norm(w)),
            }
        )
        if i:
            prev_act = layers[i - 1][3]
            dz = (dz @ w.T) * _DERIVATIVES[prev_act](pre[i - 1], acts[i])
    return pd.DataFrame(rows[::-1], columns=GRADIENT_NORM_COLUMNS)
