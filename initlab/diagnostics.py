"""What a network does inside: per-layer activations, gradients and unit symmetry.

Every function takes a built Keras model whose hidden layers are named
``hidden_1``, ``hidden_2``, ... (as :mod:`initlab.models` builds them) and
returns plain numbers or tidy frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import pandas as pd
import tensorflow as tf

SATURATION = 0.97


def hidden_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's hidden layers (``hidden_*``) in order."""
    return [layer for layer in model.layers if layer.name.startswith("hidden_")]


def layer_activations(model: keras.Model, x: np.ndarray, layers: Sequence[str] | None = None,
                      batch_size: int = 1024) -> dict[str, np.ndarray]:
    """The output of each named layer (default: every hidden layer) on ``x``."""
    names = list(layers) if layers is not None else [l.name for l in hidden_layers(model)]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x, batch_size=batch_size, verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {n: np.asarray(o) for n, o in zip(names, outs)}


def activation_stats(model: keras.Model, x: np.ndarray) -> pd.DataFrame:
    """Per hidden layer of ``model`` on ``x``: the statistics of :func:`stats_of`."""
    return stats_of(layer_activations(model, x))


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Per layer with a kernel: L2 norms of the loss gradient of its kernel and bias on one batch."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    layers = [l for l in model.layers if hasattr(l, "kernel")]
    variables = [v for l in layers for v in (l.kernel, l.bias)]
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, variables)
    rows = []
    for i, layer in enumerate(layers):
        gk, gb = grads[2 * i], grads[2 * i + 1]
        rows.append({"layer": layer.name,
                     "kernel_grad_norm": float(tf.norm(gk)) if gk is not None else 0.0,
                     "bias_grad_norm": float(tf.norm(gb)) if gb is not None else 0.0,
                     "kernel_norm": float(tf.norm(layer.kernel))})
    return pd.DataFrame(rows)


def unit_spread(kernel: Any) -> float:
    """Mean pairwise Euclidean distance between units' incoming weight vectors.

    Units are the kernel's last axis (columns of a Dense kernel). Zero means
    every unit in the layer is identical: the symmetry was never broken.
    """
    w = np.asarray(kernel, dtype=np.float64).reshape(-1, np.shape(kernel)[-1]).T
    sq = np.sum(w * w, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * w @ w.T, 0.0)
    n = len(w)
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean()) if n > 1 else 0.0


class SymmetryTracker(keras.callbacks.Callback):
    """Records each hidden layer's :func:`unit_spread` at the start and after every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def _record(self, epoch: int) -> None:
        for layer in hidden_layers(self.model):
            if hasattr(layer, "kernel"):
                self.rows.append({"epoch": epoch, "layer": layer.name,
                                  "unit_spread": unit_spread(layer.kernel),
                                  "distinct_units": distinct_units(layer.kernel)})

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._record(0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._record(epoch + 1)

    def frame(self) -> pd.DataFrame:
        """The records as a tidy frame (epoch 0 is the initial state)."""
        return pd.DataFrame(self.rows)


def distinct_units(kernel: Any, decimals: int = 6) -> int:
    """How many different incoming weight vectors the layer's units have (rounded)."""
    w = np.round(np.asarray(kernel, dtype=np.float64).reshape(-1, np.shape(kernel)[-1]).T, decimals)
    return int(len(np.unique(w, axis=0)))


def track_symmetry(spec: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train one run (a :class:`initlab.runner.RunSpec`) recording unit spread per epoch.

    Returns:
        The tracker's frame (``init, seed, epoch, layer, unit_spread, distinct_units``;
        epoch 0 is the initial state) and the run's record.
    """
    from initlab import runner

    tracker = SymmetryTracker()
    _, record = runner.train(spec, callbacks=[tracker])
    keras.backend.clear_session()
    return tracker.frame().assign(init=spec.init, seed=spec.seed), record


def gradients_at_init(spec: Any, n_samples: int = 512) -> pd.DataFrame:
    """Per-layer gradient norms of an untrained model on the first training examples."""
    from initlab import runner

    data = runner.data_for(spec)
    model = runner.build_for(spec, data)
    out = gradient_norms(model, data.x_train[:n_samples], data.y_train[:n_samples])
    keras.backend.clear_session()
    return out.assign(init=spec.init, seed=spec.seed)


def activations_before_after(spec: Any, n_samples: int | None = None
                             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Hidden-layer activations on the test set at initialization and after training one run.

    Returns:
        ``(at_init, after_training, record)``; the activations are keyed by layer name.
    """
    from initlab import runner

    data = runner.data_for(spec)
    x = data.x_test[:n_samples]
    model = runner.build_for(spec, data)
    before = layer_activations(model, x)
    keras.backend.clear_session()
    model, record = runner.train(spec, data)
    after = layer_activations(model, x)
    keras.backend.clear_session()
    return before, after, record


def stats_of(acts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per layer of an activation dict: mean, std and the fractions that diagnose a layer.

    ``frac_zero`` (exactly zero) and ``frac_dead_units`` (units zero on every example) are the
    dead-ReLU measures; ``frac_saturated`` (|a| > 0.97) matters for tanh and sigmoid layers;
    ``frac_above_1`` is the share outside the histograms' [-1, 1] window.
    """
    rows = []
    for layer, act in acts.items():
        a = act.reshape(len(act), -1)
        rows.append({"layer": layer, "units": a.shape[1], "mean": float(a.mean()), "std": float(a.std()),
                     "frac_zero": float(np.mean(a == 0)),
                     "frac_saturated": float(np.mean(np.abs(a) > SATURATION)),
                     "frac_dead_units": float(np.mean(np.all(a == 0, axis=0))),
                     "frac_above_1": float(np.mean(a > 1))})
    return pd.DataFrame(rows)
