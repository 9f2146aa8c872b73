"""What a network does inside: per-layer activations, gradients and unit symmetry.

Every function takes a built Keras model whose hidden layers are named
``hidden_1``, ``hidden_2``, ... (as :mod:`initlab.models` builds them) and
returns plain numbers or tidy frames. :class:`LayerProbe` measures, in one
forward and backward pass on a batch, every layer's activations and the
gradients of the loss with respect to its kernel, bias and output;
:mod:`initlab.tracking` records the same through training and
:mod:`initlab.propagation` through depth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from initlab.errors import InvalidArgumentError
from initlab.layers import activation_name, hidden_layers, kernel_layers  # noqa: F401  (part of this module's API)

SATURATION = 0.97
GRAD_SAMPLES = 1024  # test images in the batch whose loss gradient activations_before_after measures
SIGMOID_SATURATION = 0.03
SATURATING = ("tanh", "sigmoid")
ZERO_PRONE = ("relu",)


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


class SymmetryTracker(keras.callbacks.Callback):
    """Records each hidden layer's :func:`unit_spread` at the start and after every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def _record(self, epoch: int) -> None:
        layers = [layer for layer in hidden_layers(self.model) if hasattr(layer, "kernel")]
        self.rows += symmetry_rows(epoch, {layer.name: layer.kernel for layer in layers})

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._record(0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._record(epoch + 1)

    def frame(self) -> pd.DataFrame:
        """The records as a tidy frame (epoch 0 is the initial state)."""
        return pd.DataFrame(self.rows)


def symmetry_rows(epoch: int, kernels: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per layer: ``epoch, layer, unit_spread, distinct_units`` of its kernel."""
    return [{"epoch": epoch, "layer": name, "unit_spread": unit_spread(kernel),
             "distinct_units": distinct_units(kernel)} for name, kernel in kernels.items()]


def distinct_units(kernel: Any, decimals: int = 6) -> int:
    """How many different incoming weight vectors the layer's units have (rounded)."""
    w = np.round(np.asarray(kernel, dtype=np.float64).reshape(-1, np.shape(kernel)[-1]).T, decimals)
    return int(len(np.unique(w, axis=0)))


def _on_engine(spec: Any, engine: str | None) -> Any:
    """``spec`` set to train on ``engine`` (``"auto"`` resolved); None leaves it as it is."""
    from initlab import runner

    return spec if engine is None else replace(spec, engine=runner.resolve_engine(spec, engine))


def track_symmetry(spec: Any, engine: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train one run (a :class:`initlab.runner.RunSpec`) recording unit spread per epoch.

    Args:
        spec: the run.
        engine: train with this engine (one of :data:`initlab.runner.ENGINES`, ``"auto"``
            included) instead of ``spec.engine``: on ``keras`` a :class:`SymmetryTracker`
            callback reads the kernels, on the stacked engine its epoch monitor does.

    Returns:
        The frame (``init, seed, epoch, layer, unit_spread, distinct_units``; epoch 0 is the
        initial state) and the run's record, whose ``engine`` says which engine ran.
    """
    from initlab import runner

    spec = _on_engine(spec, engine)
    data = runner.data_for(spec)
    if isinstance(runner.get_engine(spec.engine), runner.KerasEngine):  # fit, with a callback
        tracker = SymmetryTracker()
        _, record = runner.train(spec, data, callbacks=[tracker])
        frame = tracker.frame()
    else:
        kernels: list[tuple[int, list[np.ndarray]]] = []  # (epoch, kernels in layer order)

        def monitor(stack: Any, epoch: int) -> None:
            kernels.append((epoch, stack.get_weights(0)[0::2]))

        (model, record), = runner.train_stack([spec], data, monitor=monitor)
        names = [layer.name for layer in hidden_layers(model) if hasattr(layer, "kernel")]
        frame = pd.DataFrame([row for epoch, ks in kernels for row in symmetry_rows(epoch, dict(zip(names, ks)))])
    keras.backend.clear_session()
    return frame.assign(init=spec.init, seed=spec.seed), {**record, "engine": spec.engine}


def gradients_at_init(spec: Any, n_samples: int = 512) -> pd.DataFrame:
    """Per-layer gradient norms of an untrained model on the first training examples."""
    from initlab import runner

    data = runner.data_for(spec)
    model = runner.build_for(spec, data)
    out = gradient_norms(model, data.x_train[:n_samples], data.y_train[:n_samples])
    keras.backend.clear_session()
    return out.assign(init=spec.init, seed=spec.seed)


def activations_before_after(spec: Any, n_samples: int | None = None, grad_samples: int = GRAD_SAMPLES,
                             engine: str | None = None
                             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Hidden-layer activations on the test set at initialization and after training one run.

    Args:
        spec: a :class:`initlab.runner.RunSpec`.
        n_samples: use the first ``n_samples`` test images for the activations (default: all).
        grad_samples: the loss gradients are taken on the first ``grad_samples`` test images
            and their labels, as one batch.
        engine: train with this engine (one of :data:`initlab.runner.ENGINES`, ``"auto"``
            included) instead of ``spec.engine``; the record's ``engine`` says which ran.

    Returns:
        ``(at_init, after_training, record)``; the activations are keyed by layer name.
        The record is :func:`initlab.runner.train`'s plus ``gradient_norms``: the
        :func:`gradient_norms` frame of the untrained and of the trained model, with a
        ``stage`` column (``"at init"``, ``"trained"``).
    """
    from initlab import runner

    spec = _on_engine(spec, engine)
    data = runner.data_for(spec)
    x = data.x_test[:n_samples]
    xg, yg = data.x_test[:grad_samples], data.y_test[:grad_samples]
    model = runner.build_for(spec, data)
    before = layer_activations(model, x)
    grads = [gradient_norms(model, xg, yg).assign(stage="at init")]
    keras.backend.clear_session()
    model, record = runner.train(spec, data)
    after = layer_activations(model, x)
    grads.append(gradient_norms(model, xg, yg).assign(stage="trained"))
    keras.backend.clear_session()
    return before, after, {**record, "engine": spec.engine, "gradient_norms": pd.concat(grads, ignore_index=True)}


def gradients_before_after(runs: dict[str, tuple[Any, Any, dict[str, Any]]]) -> pd.DataFrame:
    """The hidden layers' gradient norms of :func:`activations_before_after` results, keyed by init, in one frame.

    Returns:
        Columns ``init, stage, layer, kernel_grad_norm, bias_grad_norm, kernel_norm``
        (hidden layers only, in order; inits in the order of ``runs``).
    """
    frames = [r[2]["gradient_norms"].assign(init=init) for init, r in runs.items()]
    out = pd.concat(frames, ignore_index=True)
    out = out[out["layer"].str.startswith("hidden_")]
    return out[["init", "stage", "layer", "kernel_grad_norm", "bias_grad_norm", "kernel_norm"]].reset_index(drop=True)


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
    rows = [{"layer": layer, "statistic": "activation_mean", "value": float(a.mean())},
            {"layer": layer, "statistic": "activation_std", "value": float(a.std())}]
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
            acts = outs[:len(names)]
            loss = (keras.ops.mean(self._loss(y, outs[-1])) if y is not None else None)
        activations = {n: np.asarray(a) for n, a in zip(names, acts)}
        if loss is None:
            return ProbeResult(math.nan, activations, {}, {}, {})
        kernels = [layer.kernel for layer in self.layers]
        biases = [layer.bias for layer in self.layers if layer.bias is not None]
        grads = tape.gradient(loss, [*acts, *kernels, *biases])
        n = len(names)
        g_act, g_kernel, g_bias = grads[:n], grads[n:2 * n], grads[2 * n:]
        with_bias = [layer.name for layer in self.layers if layer.bias is not None]

        def arr(g: Any, like: Any) -> np.ndarray:
            return np.asarray(g) if g is not None else np.zeros(tuple(like.shape), dtype=np.float32)

        # A softmax head's output gets no gradient of its own: Keras' cross-entropy reads
        # the logits under it. Such layers are left out of ``activation_grads``.
        return ProbeResult(
            float(loss), activations,
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
            norms = {"kernel_grad_norm": result.kernel_grads[name], "bias_grad_norm": result.bias_grads.get(name),
                     "activation_grad_norm": result.activation_grads.get(name)}
            rows += [{"layer": name, "statistic": k, "value": float(np.linalg.norm(g))}
                     for k, g in norms.items() if g is not None]
    return rows


def layer_statistics(model: keras.Model, x: np.ndarray, y: np.ndarray | None = None,
                     loss: Any = None) -> pd.DataFrame:
    """Per kernel layer of ``model`` on the batch ``x`` (and labels ``y``): a tidy frame.

    Returns:
        Columns ``layer, statistic, value``; the statistics of :func:`probe_rows`
        (activation mean and std, saturated or zero fractions where they apply,
        kernel std, and gradient norms when ``y`` is given).
    """
    probe = LayerProbe(model, loss)
    return pd.DataFrame(probe_rows(probe, probe(x, y)), columns=["layer", "statistic", "value"])


def kernel_gradients(model: keras.Model, x: np.ndarray, y: np.ndarray, loss: Any = None) -> dict[str, np.ndarray]:
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


# --- float64 arithmetic, identical units, stacked symmetry runs, Adam's first step ---

_DERIVATIVES = {"relu": lambda z, a: (z > 0).astype(np.float64), "linear": lambda z, a: np.ones_like(z),
                "tanh": lambda z, a: 1.0 - a * a, "sigmoid": lambda z, a: a * (1.0 - a)}
_FORWARD = {"relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z, "tanh": np.tanh,
            "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}


def dense_weights64(model: keras.Model) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """``(name, kernel, bias, activation)`` of every Dense layer of an MLP, in float64.

    Raises:
        UnsupportedLayerError: a layer other than Flatten or Dense, a hidden activation other
            than relu, linear, tanh or sigmoid, or a head that is not a softmax Dense.
    """
    from initlab.errors import UnsupportedLayerError

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Flatten):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise UnsupportedLayerError("float64 arithmetic", layer.name, type(layer).__name__,
                                        "only Flatten and Dense layers are computed")
        act = activation_name(layer)
        last = layer is model.layers[-1]
        if (last and act != "softmax") or (not last and act not in _FORWARD):
            need = "softmax" if last else ", ".join(_FORWARD)
            raise UnsupportedLayerError("float64 arithmetic", layer.name, f"Dense({act})", f"needs {need}")
        bias = np.zeros(layer.units) if layer.bias is None else np.asarray(layer.bias, np.float64)
        out.append((layer.name, np.asarray(layer.kernel, np.float64), bias, act))
    return out


def _forward64(layers: Sequence[tuple[str, np.ndarray, np.ndarray, str]], x: np.ndarray
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
        rows.append({"layer": name, "kernel_grad_norm": float(np.linalg.norm(acts[i].T @ dz)),
                     "bias_grad_norm": float(np.linalg.norm(dz.sum(axis=0))), "kernel_norm": float(np.linalg.norm(w))})
        if i:
            prev_act = layers[i - 1][3]
            dz = (dz @ w.T) * _DERIVATIVES[prev_act](pre[i - 1], acts[i])
    return pd.DataFrame(rows[::-1])


PRECISIONS = ("float32", "float64")


def gradients_at_init_in(spec: Any, precision: str = "float32", n_samples: int = 512) -> pd.DataFrame:
    """:func:`gradients_at_init` in ``precision``: ``"float32"`` (Keras) or ``"float64"``
    (:func:`gradient_norms_float64`, MLPs only), with a ``precision`` column."""
    from initlab import runner

    if precision not in PRECISIONS:
        raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return gradients_at_init(spec, n_samples).assign(precision=precision)
    data = runner.data_for(spec)
    model = runner.build_for(spec, data)
    out = gradient_norms_float64(model, data.x_train[:n_samples], data.y_train[:n_samples])
    keras.backend.clear_session()
    return out.assign(init=spec.init, seed=spec.seed, precision=precision)


def collapse_identical_units(model: keras.Model, x: np.ndarray, layer: str = "hidden_1") -> dict[str, Any]:
    """Replace a Dense layer whose units are all identical by one unit, and compare predictions.

    If every unit of ``layer`` has the same incoming weights and bias, they all output the
    same value ``h``, and the next layer receives ``h`` times the sum of their outgoing
    weights: the network is one whose ``layer`` has a single unit. Both networks are
    evaluated in float64 (:func:`dense_weights64`).

    Returns:
        ``{"units", "identical" (bool: every unit bit-equal to the first), "same_class"
        (share of examples given the same class), "max_prob_diff"}``.
    """
    layers = dense_weights64(model)
    names = [n for n, *_ in layers]
    if layer not in names[:-1]:
        raise InvalidArgumentError("layer", layer, f"must be a hidden Dense layer ({', '.join(names[:-1])})")
    i = names.index(layer)
    name, w, b, act = layers[i]
    nxt, w2, b2, act2 = layers[i + 1]
    identical = bool(np.all(w == w[:, :1]) and np.all(b == b[0]))
    one = [*layers[:i], (name, w[:, :1], b[:1], act), (nxt, w2.sum(axis=0, keepdims=True), b2, act2), *layers[i + 2:]]
    p_full, p_one = _forward64(layers, x)[0][-1], _forward64(one, x)[0][-1]
    return {"units": int(w.shape[1]), "identical": identical,
            "same_class": float(np.mean(p_full.argmax(1) == p_one.argmax(1))),
            "max_prob_diff": float(np.abs(p_full - p_one).max())}


def track_symmetry_runs(specs: Sequence[Any], labels: Sequence[str] | None = None
                        ) -> tuple[pd.DataFrame, list[tuple[keras.Model, dict[str, Any]]]]:
    """Train runs together on the stacked engine, recording every hidden layer's unit symmetry.

    The runs must differ only in ``init``, ``seed`` and ``init_params``
    (:func:`initlab.runner.train_stack`); they train in stacks of
    :func:`initlab.runner.stack_size`.

    Args:
        specs: the runs (their ``engine`` is set to ``"stacked"``).
        labels: a name per run for the ``init`` column (default each run's ``init``), e.g.
            to tell apart two runs of one initializer with different parameters.

    Returns:
        The frame (``init, seed, epoch, layer, unit_spread, distinct_units``; epoch 0 is the
        initial state) and per run its trained model and record.
    """
    from initlab import runner

    specs = [replace(s, engine="stacked") for s in specs]
    labels = list(labels) if labels is not None else [s.init for s in specs]
    if len(labels) != len(specs):
        raise InvalidArgumentError("labels", labels, f"must hold one name per run ({len(specs)})")
    if not specs:
        raise InvalidArgumentError("specs", list(specs), "must hold at least one run")
    from initlab.models import build_model

    data = runner.data_for(specs[0])
    size = runner.stack_size(specs[0])
    names = [layer.name for layer in kernel_layers(build_model(specs[0].model, data.x_train.shape[1:],
                                                               **specs[0].model_params))]
    frames, results = [], []
    for start in range(0, len(specs), size):
        chunk = specs[start:start + size]
        rows: list[dict[str, Any]] = []

        def monitor(stack: Any, epoch: int, first: int = start, n: int = len(chunk)) -> None:
            for k in range(n):
                rows.extend({**r, "init": labels[first + k], "seed": specs[first + k].seed}
                            for r in symmetry_rows(epoch, dict(zip(names, stack.get_weights(k)[0::2]))))

        results += runner.train_stack(chunk, data, monitor=monitor)
        frames.append(pd.DataFrame(rows))
        keras.backend.clear_session()
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["layer"].str.startswith("hidden_")].reset_index(drop=True)
    return frame[["init", "seed", "epoch", "layer", "unit_spread", "distinct_units"]], results


def first_adam_step(spec: Any) -> pd.DataFrame:
    """One optimizer step of an untrained run on its first training batch, per kernel layer.

    Adam moves each weight by ``lr · m / (sqrt(v) + eps)``; on the first step that is
    ``lr · g / (|g| + eps)``: about ``lr`` whatever the gradient's size ``g``, as long as
    ``|g|`` is well above ``eps`` (1e-7 in Keras).

    Returns:
        One row per kernel layer: ``layer``, ``grad_rms`` (root mean square of the kernel's
        gradient on the batch), ``step_rms`` (of the change of its weights), ``kernel_std``.
    """
    from initlab import runner

    data = runner.data_for(spec)
    model = runner.build_for(spec, data)
    x, y = data.x_train[:spec.batch_size], data.y_train[:spec.batch_size]
    grads = kernel_gradients(model, x, y)
    before = snapshot_kernels(model)
    model.train_on_batch(x, y)
    after = snapshot_kernels(model)
    keras.backend.clear_session()
    rms = lambda a: float(np.sqrt(np.mean(np.square(np.asarray(a, np.float64)))))  # noqa: E731
    return pd.DataFrame([{"layer": n, "grad_rms": rms(grads[n]), "step_rms": rms(after[n] - before[n]),
                          "kernel_std": float(np.std(before[n]))} for n in before]).assign(init=spec.init,
                                                                                          seed=spec.seed)
