"""Signal propagation through deep nets at initialization.

How the spread of the activations (forwards) and of the gradients (backwards)
changes from layer to layer of an untrained ``deep_mlp``, for any
initializer and activation, with one forward and one backward pass
(:class:`initlab.probe.measure.LayerProbe`).

For a layer of width ``n`` whose weights have variance ``v``, a linear layer
multiplies the mean square of its input by ``n v`` on average and a ReLU layer
by ``n v / 2``; so each layer multiplies the activation std by
``sqrt(n v)`` (linear) or ``sqrt(n v / 2)`` (ReLU). :func:`log_slope` measures
that factor (as a log) on a propagation frame.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.nets.layers import activation_name
from initlab.nets.lsuv import apply_data_init
from initlab.nets.models import build_model
from initlab.probe.measure import LayerProbe, activation_rows

PROPAGATION_COLUMNS = ["depth", "width", "activation", "init", "seed", "layer", "layer_index", "statistic", "value"]


def signal_propagation(
    depth: int,
    width: int,
    activation: str,
    *,
    init: Any,
    seed: int,
    x: np.ndarray,
    y: np.ndarray | None = None,
    init_params: Mapping[str, Any] | None = None,
    n_classes: int = 10,
) -> pd.DataFrame:
    """Per-layer activation and gradient statistics of an untrained ``deep_mlp``.

    Args:
        depth: number of hidden layers (any depth; 50 and more work).
        width: units per hidden layer.
        activation: hidden activation (``linear``, ``tanh``, ``relu``, ``selu``,
            or any other of :data:`initlab.nets.models.ACTIVATIONS`).
        init: initializer name (``initlab inits``), config dict or instance; a
            data-dependent name (``"lsuv"``) is fitted on ``x`` first, as
            :func:`initlab.nets.lsuv.apply_data_init` does before training.
        seed: seeds every kernel (as :func:`initlab.nets.models.build_model`) and the
            random labels.
        x: a batch of inputs; one example's shape is the model's input shape.
        y: labels for the loss; default: drawn uniformly from ``n_classes`` with
            ``seed`` (at initialization the gradients' size hardly depends on
            which labels are used).
        init_params: parameters of the initializer (e.g. ``{"gain": 1.0}``).
        n_classes: width of the softmax head.

    Returns:
        A tidy frame (columns ``PROPAGATION_COLUMNS``): per hidden layer
        (``layer_index`` 1 to ``depth``) the :func:`initlab.probe.measure.activation_rows`
        statistics (``activation_mean``, ``activation_std`` and the saturated or
        zero fraction where it applies), ``kernel_grad_norm`` (L2 norm of the
        gradient of the batch-mean cross-entropy with respect to the layer's kernel)
        and ``activation_grad_norm`` (with respect to the layer's output).

    Raises:
        InvalidArgumentError: bad depth, width, activation or batch.
        UnknownNameError: unknown initializer name.
    """
    x, y = _batch(x, y, seed=seed, n_classes=n_classes)
    model = _deep_mlp(x, depth, width, activation, init=init, seed=seed, init_params=init_params, n_classes=n_classes)
    rows = _layer_rows(LayerProbe(model, loss="sparse_categorical_crossentropy"), x, y)
    meta = {
        "depth": int(depth),
        "width": int(width),
        "activation": activation,
        "init": init if isinstance(init, str) else type(init).__name__,
        "seed": int(seed),
    }
    return pd.DataFrame([{**meta, **row} for row in rows], columns=PROPAGATION_COLUMNS)


def _batch(x: np.ndarray, y: np.ndarray | None, *, seed: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The checked inputs and labels of :func:`signal_propagation` (random labels when ``y`` is None)."""
    x = np.asarray(x, dtype="float32")
    if x.ndim < 2 or len(x) < 2:
        raise InvalidArgumentError("x", x.shape, "must be a batch of at least 2 examples")
    if y is None:
        y = np.random.default_rng(seed).integers(0, n_classes, size=len(x))
    y = np.asarray(y)
    if len(y) != len(x):
        raise InvalidArgumentError("y", f"{len(y)} labels", f"must match the {len(x)} inputs")
    return x, y


def _deep_mlp(
    x: np.ndarray,
    depth: int,
    width: int,
    activation: str,
    *,
    init: Any,
    seed: int,
    init_params: Mapping[str, Any] | None,
    n_classes: int,
) -> keras.Model:
    """The untrained ``deep_mlp`` of :func:`signal_propagation`, a data-dependent init fitted on ``x``."""
    model = build_model(
        "deep_mlp",
        x.shape[1:],
        init=init,
        seed=seed,
        n_classes=n_classes,
        init_params=init_params,
        depth=depth,
        width=width,
        activation=activation,
    )
    apply_data_init(model, init, x, seed=seed)
    return model


def _layer_rows(probe: LayerProbe, x: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """One probe pass on ``(x, y)`` as rows per hidden layer (activation statistics, gradient norms)."""
    result = probe(x, y)
    rows: list[dict[str, Any]] = []
    hidden = [layer for layer in probe.layers if layer.name.startswith("hidden_")]
    for index, layer in enumerate(hidden, start=1):
        name = layer.name
        stats = activation_rows(name, result.activations[name], activation_name(layer))
        stats += [
            {"layer": name, "statistic": "kernel_grad_norm", "value": float(np.linalg.norm(result.kernel_grads[name]))},
            {
                "layer": name,
                "statistic": "activation_grad_norm",
                "value": float(np.linalg.norm(result.activation_grads[name])),
            },
        ]
        rows += [{**row, "layer_index": index} for row in stats]
    return rows


def log_slope(
    frame: pd.DataFrame, statistic: str = "activation_std", start: int = 1, *, stop: int | None = None
) -> float:
    """Least-squares slope of ``ln(value)`` against ``layer_index`` over layers ``start..stop``.

    ``exp(slope)`` is the average factor by which one layer multiplies the
    statistic: 0 for a signal kept constant, ``ln(0.5)`` for one halved per layer.

    Raises:
        InvalidArgumentError: fewer than two layers in range, or a value that is
            not positive (a vanished signal has no logarithm: narrow the range).
    """
    d = frame[frame["statistic"] == statistic]
    d = d[(d["layer_index"] >= start) & ((d["layer_index"] <= stop) if stop is not None else True)]
    if d["layer_index"].nunique() < 2:
        raise InvalidArgumentError("stop", stop, f"must leave at least 2 layers from start={start}")
    if not (d["value"] > 0).all():
        raise InvalidArgumentError("stop", stop, f"must end before {statistic} reaches 0 (no logarithm)")
    return float(np.polyfit(d["layer_index"].to_numpy(float), np.log(d["value"].to_numpy(float)), 1)[0])
