"""Measuring a built network: per-layer activations, gradients and update sizes.

Every function takes a built Keras model whose hidden layers are named
``hidden_1``, ``hidden_2``, ... (as :mod:`initlab.nets.models` builds them) and
returns plain numbers or tidy frames. :class:`LayerProbe` measures, in one
forward and backward pass on a batch, every layer's activations and the
gradients of the loss with respect to its kernel, bias and output;
:mod:`initlab.probe.tracking` records the same through training and
:mod:`initlab.probe.propagation` through depth. Nothing here trains.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from initlab.errors import InvalidArgumentError
from initlab.nets.layers import activation_name, hidden_layers, kernel_layers

SATURATION = 0.97


GRAD_SAMPLES = 1024  # test images in the batch whose loss gradient activations_before_after measures


SIGMOID_SATURATION = 0.03


SATURATING = ("tanh", "sigmoid")


ZERO_PRONE = ("relu",)


def layer_activations(
    model: keras.Model, x: np.ndarray, layers: Sequence[str] | None = None, *, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """The output of each named layer (default: every hidden layer) on ``x``."""
    names = list(layers) if layers is not None else [l.name for l in hidden_layers(model)]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x, batch_size=batch_size, verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {n: np.asarray(o) for n, o in zip(names, outs)}


def activation_stats(model: keras.Model, x: np.ndarray) -> pd.DataFrame:
    """Per hidden layer of ``model`` on ``x``: the statistics of :func:`stats_of`."""
    return stats_of(layer_activations(model, x))


GRADIENT_NORM_COLUMNS = ["layer", "kernel_grad_norm", "bias_grad_norm", "kernel_norm"]


def gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Per layer with a kernel: L2 norms of the loss gradient of its kernel and bias on one batch.

    The gradients are :class:`LayerProbe`'s, of the mean sparse categorical cross-entropy
    in training mode (dropout on); the norms are TensorFlow's float32 ``tf.norm``.

    Returns:
        One row per kernel layer: ``layer, kernel_grad_norm, bias_grad_norm, kernel_norm``.
    """
    probe = LayerProbe(model, keras.losses.SparseCategoricalCrossentropy())
    result = probe(x, y, training=True)
    zero = np.zeros(0, dtype=np.float32)  # a layer without bias: norm 0
    rows = [
        {
            "layer": layer.name,
            "kernel_grad_norm": float(tf.norm(result.kernel_grads[layer.name])),
            "bias_grad_norm": float(tf.norm(result.bias_grads.get(layer.name, zero))),
            "kernel_norm": float(tf.norm(layer.kernel)),
        }
        for layer in probe.layers
    ]
    return pd.DataFrame(rows, columns=GRADIENT_NORM_COLUMNS)


def stats_of(acts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per layer of an activation dict: mean, std and the fractions that diagnose a layer.

    ``frac_zero`` (exactly zero) and ``frac_dead_units`` (units zero on every example) are the
    dead-ReLU measures; ``frac_saturated`` (:func:`saturated` by tanh's rule, ``|a| > 0.97``, as the
    activation is not known here) matters for tanh and sigmoid layers; ``frac_above_1`` is the
    share outside the histograms' [-1, 1] window.
    """
    rows = []
    for layer, act in acts.items():
        a = act.reshape(len(act), -1)
        rows.append(
            {
                "layer": layer,
                "units": a.shape[1],
                "mean": float(a.mean()),
                "std": float(a.std()),
                "frac_zero": float(np.mean(a == 0)),
                "frac_saturated": float(np.mean(saturated(a, "tanh"))),
                "frac_dead_units": float(np.mean(np.all(a == 0, axis=0))),
                "frac_above_1": float(np.mean(a > 1)),
            }
        )
    return pd.DataFrame(rows)


def saturated(a: np.ndarray, activation: str) -> np.ndarray:
    """Which values of a tanh or sigmoid layer's output are saturated.

    The rule: within 0.03 of the activation's bounds. For tanh that is
    ``|a| > 0.97``; for sigmoid ``a < 0.03`` or ``a > 0.97``. Where a unit sits
    there, its derivative is small (tanh' < 0.06, sigmoid' < 0.03) and little
    gradient passes.

    Raises:
        InvalidArgumentError: ``activation`` is neither tanh nor sigmoid.
    """
    a = np.asarray(a)
    if activation == "tanh":
        return np.abs(a) > SATURATION
    if activation == "sigmoid":
        return (a < SIGMOID_SATURATION) | (a > 1 - SIGMOID_SATURATION)
    raise InvalidArgumentError("activation", activation, f"must be one of {', '.join(SATURATING)}")


def activation_rows(layer: str, a: np.ndarray, activation: str) -> list[dict[str, Any]]:
    """Tidy rows ``(layer, statistic, value)`` describing one layer's output ``a``.

    Always ``activation_mean`` and ``activation_std`` (over every value: examples
    and units); ``frac_saturated`` (:func:`saturated`) for tanh and sigmoid layers;
    ``frac_zero`` (values exactly 0) for ReLU layers.
    """
    a = np.asarray(a, dtype=np.float64)
    rows = [
        {"layer": layer, "statistic": "activation_mean", "value": float(a.mean())},
        {"layer": layer, "statistic": "activation_std", "value": float(a.std())},
    ]
    if activation in SATURATING:
        rows.append({"layer": layer, "statistic": "frac_saturated", "value": float(saturated(a, activation).mean())})
    if activation in ZERO_PRONE:
        rows.append({"layer": layer, "statistic": "frac_zero", "value": float(np.mean(a == 0))})
    return rows


def _loss_fn(model: keras.Model, loss: Any) -> Any:
    """``loss``, else the compiled model's loss, else sparse categorical cross-entropy."""
    if loss is None:
        loss = getattr(model, "loss", None) or "sparse_categorical_crossentropy"
    return keras.losses.get(loss)


@dataclass
class ProbeResult:
    """One forward and backward pass: per kernel layer, keyed by layer name."""

    loss: float
    activations: dict[str, np.ndarray]
    activation_grads: dict[str, np.ndarray]
    kernel_grads: dict[str, np.ndarray]
    bias_grads: dict[str, np.ndarray]


class LayerProbe:
    """Activations and loss gradients of every kernel layer of a model, on one batch.

    Built once per model (it wraps the model's graph; weights are shared, so it
    sees every later change of the weights) and called on any batch.

    Args:
        model: a built Keras model (Sequential or functional) with a single input.
        loss: a Keras loss identifier; default: the compiled loss, else sparse
            categorical cross-entropy. Its mean over the batch is differentiated.
    """

    def __init__(self, model: keras.Model, loss: Any = None):
        self.layers = kernel_layers(model)
        if not self.layers:
            raise InvalidArgumentError("model", model.name, "must have at least one layer with a kernel")
        outputs = [layer.output for layer in self.layers]
        self._head_is_last = model.layers[-1] is self.layers[-1]
        if not self._head_is_last:
            outputs.append(model.outputs[0])
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self._probe = keras.Model(inputs, outputs)
        self._loss = _loss_fn(model, loss)

    def __call__(self, x: np.ndarray, y: np.ndarray | None = None, training: bool = False) -> ProbeResult:
        """Run the batch ``x``; with labels ``y`` also the backward pass (else gradients are empty).

        ``training=False`` (default) switches dropout off, so the probe is deterministic.
        """
        names = [layer.name for layer in self.layers]
        with tf.GradientTape() as tape:
            outs = self._probe(x, training=training)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            acts = outs[: len(names)]
            loss = keras.ops.mean(self._loss(y, outs[-1])) if y is not None else None
        activations = {n: np.asarray(a) for n, a in zip(names, acts)}
        if loss is None:
            return ProbeResult(math.nan, activations, {}, {}, {})
        kernels = [layer.kernel for layer in self.layers]
        biases = [layer.bias for layer in self.layers if layer.bias is not None]
        grads = tape.gradient(loss, [*acts, *kernels, *biases])
        n = len(names)
        g_act, g_kernel, g_bias = grads[:n], grads[n : 2 * n], grads[2 * n :]
        with_bias = [layer.name for layer in self.layers if layer.bias is not None]

        def arr(g: Any, like: Any) -> np.ndarray:
            return np.asarray(g) if g is not None else np.zeros(tuple(like.shape), dtype=np.float32)

        # A softmax head's output gets no gradient of its own: Keras' cross-entropy reads
        # the logits under it. Such layers are left out of ``activation_grads``.
        return ProbeResult(
            float(loss),
            activations,
            {nm: np.asarray(g) for nm, g in zip(names, g_act) if g is not None},
            {nm: arr(g, k) for nm, g, k in zip(names, g_kernel, kernels)},
            {nm: arr(g, b) for nm, g, b in zip(with_bias, g_bias, biases)},
        )


def probe_rows(probe: LayerProbe, result: ProbeResult) -> list[dict[str, Any]]:
    """Tidy rows ``(layer, statistic, value)`` from one probe pass.

    Per kernel layer: the :func:`activation_rows`, ``kernel_std`` and, when the
    pass had labels, ``kernel_grad_norm``, ``bias_grad_norm`` (L2 norms of the
    gradient of the batch-mean loss) and ``activation_grad_norm`` (L2 norm, over
    the batch, of its gradient with respect to the layer's output; not for a
    softmax head, whose loss is computed from its logits).
    """
    rows: list[dict[str, Any]] = []
    for layer in probe.layers:
        name = layer.name
        rows += activation_rows(name, result.activations[name], activation_name(layer))
        rows.append({"layer": name, "statistic": "kernel_std", "value": float(np.std(np.asarray(layer.kernel)))})
        if result.kernel_grads:
            norms = {
                "kernel_grad_norm": result.kernel_grads[name],
                "bias_grad_norm": result.bias_grads.get(name),
                "activation_grad_norm": result.activation_grads.get(name),
            }
            rows += [
                {"layer": name, "statistic": k, "value": float(np.linalg.norm(g))}
                for k, g in norms.items()
                if g is not None
            ]
    return rows


def layer_statistics(
    model: keras.Model, x: np.ndarray, y: np.ndarray | None = None, *, loss: Any = None
) -> pd.DataFrame:
    """Per kernel layer of ``model`` on the batch ``x`` (and labels ``y``): a tidy frame.

    Returns:
        Columns ``layer, statistic, value``; the statistics of :func:`probe_rows`
        (activation mean and std, saturated or zero fractions where they apply,
        kernel std, and gradient norms when ``y`` is given).
    """
    probe = LayerProbe(model, loss)
    return pd.DataFrame(probe_rows(probe, probe(x, y)), columns=["layer", "statistic", "value"])


def kernel_gradients(model: keras.Model, x: np.ndarray, y: np.ndarray, *, loss: Any = None) -> dict[str, np.ndarray]:
    """The raw loss gradient of every kernel on one batch (for histograms), keyed by layer name."""
    return LayerProbe(model, loss)(x, y).kernel_grads


def update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """``log10(std(after - before) / std(before))``: how big a step is next to the weights.

    Practitioners aim for about -3 per layer: well below means the layer barely
    learns, well above that the step size is too large for its weights. Returns
    ``inf`` for weights with zero spread that moved (e.g. a zero init), ``-inf``
    for weights that did not move, and NaN when both spreads are zero.
    """
    before = np.asarray(before, dtype=np.float64)
    step, spread = float(np.std(np.asarray(after, dtype=np.float64) - before)), float(np.std(before))
    if spread == 0.0:
        return math.nan if step == 0.0 else math.inf
    return math.log10(step / spread) if step > 0.0 else -math.inf


def snapshot_kernels(model: keras.Model) -> dict[str, np.ndarray]:
    """A copy of every kernel, keyed by layer name."""
    return {layer.name: np.array(layer.kernel) for layer in kernel_layers(model)}


def update_ratios(model: keras.Model, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Take one training step of a compiled model on ``(x, y)`` and measure its update per layer.

    The step is real: the model's weights and optimizer state change.

    Returns:
        One row per kernel layer: ``layer`` and ``update_ratio`` (:func:`update_ratio`).
    """
    if getattr(model, "optimizer", None) is None:
        raise InvalidArgumentError("model", model.name, "must be compiled (it needs an optimizer to take a step)")
    before = snapshot_kernels(model)
    model.train_on_batch(x, y)
    after = snapshot_kernels(model)
    return pd.DataFrame([{"layer": n, "update_ratio": update_ratio(before[n], after[n])} for n in before])
