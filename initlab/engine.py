"""The stacked engine: K models of one architecture trained in one compiled step.

Training one small network at a time with ``keras.Model.fit`` spends most of
its time on per-step overhead, not arithmetic. The stacked engine keeps the K
models' weights as stacked tensors (a leading axis of size K on every kernel
and bias), runs forward and backward passes as batched matmuls, and compiles
a whole epoch (an XLA while-loop over the batches) into one call. Each model
keeps its own initial weights, its own Adam state and its own batch order;
losses and accuracies are tracked per model.

It trains Keras models built from ``Flatten``, ``Dense``, ``Conv2D`` (stride 1,
``"valid"`` padding) and ``MaxPooling2D`` (stride equal to the pool, "valid")
layers that end in a softmax ``Dense`` layer. A convolution runs as a matmul
over image patches (im2col) with a hand-written gradient, and max-pooling as
a reshape and a maximum whose gradient goes to the first maximum of each
window, as Keras' does: XLA's own CPU convolutions are far slower here
(``benchmarks/xla_conv_probe.py``).

Semantics are Keras' (and tested against ``keras.Model.fit``): Adam with Keras
defaults (learning rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7) or plain
SGD, sparse categorical cross-entropy on the softmax head's logits, the epoch
loss and accuracy averaged over the epoch's training examples as they were
seen (before each step's update), the last ``validation_split`` of the
training set held out before shuffling, a smaller last batch when the batch
size does not divide the training set.

What differs from Keras is the batch order: each epoch's order is a
permutation drawn from ``numpy.random.default_rng((seed, epoch))``. Models
with the same seed therefore see the same batches in the same order whatever
their initializer (a paired design), and a model's trajectory does not depend
on which other models share its stack beyond float32 rounding (a stack's batched
matmuls may round differently from a lone model's).

A model is recorded as diverged at the first epoch whose training loss is NaN,
infinite or above :func:`divergence_bound` (the one rule both engines use), and
is trained no further; its numbers never touch the other models' slices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import tensorflow as tf

from initlab.errors import InvalidArgumentError

PRECISIONS = ("float32", "bfloat16")
ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
SGD_LEARNING_RATE = 0.01  # Keras' default
EVAL_BLOCK = {False: 2048, True: 16}  # examples per evaluation step: dense, convolutional models
SUPPORTED = "Flatten, Dense, Conv2D (stride 1, 'valid') and MaxPooling2D layers ending in a softmax Dense layer"


@dataclass(frozen=True)
class Op:
    """One step of a stacked forward pass: ``dense``, ``conv``, ``pool`` or ``flatten``."""

    kind: str
    activation: Callable | None = None
    size: tuple[int, int] = (1, 1)  # kernel size (conv) or pool size (pool)


def _op(layer: keras.layers.Layer) -> Op | None:
    """The engine's op for a Keras layer, or None when the engine cannot run it."""
    if isinstance(layer, keras.layers.InputLayer):
        return Op("input")
    if isinstance(layer, keras.layers.Flatten):
        return Op("flatten")
    if isinstance(layer, keras.layers.Dense) and layer.use_bias:
        return Op("dense", layer.activation)
    if (type(layer) is keras.layers.Conv2D and layer.use_bias
            and tuple(layer.strides) == (1, 1) and layer.padding == "valid"
            and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1
            and layer.data_format == "channels_last"):
        return Op("conv", layer.activation, tuple(layer.kernel_size))
    if (isinstance(layer, keras.layers.MaxPooling2D) and tuple(layer.strides) == tuple(layer.pool_size)
            and layer.padding == "valid" and layer.data_format == "channels_last"):
        return Op("pool", size=tuple(layer.pool_size))
    return None


def program(model: keras.Model) -> list[Op] | None:
    """The ops of a model the engine can train (see :data:`SUPPORTED`), else None."""
    ops = [_op(layer) for layer in model.layers]
    if any(op is None for op in ops):
        return None
    ops = [op for op in ops if op.kind != "input"]
    if not ops or ops[-1].kind != "dense" or getattr(ops[-1].activation, "__name__", "") != "softmax":
        return None
    if ops[0].kind == "flatten" and all(op.kind == "dense" for op in ops[1:]):
        ops = ops[1:]  # a dense MLP: the inputs are flattened once, up front
    return ops


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The Dense and Conv2D layers of a model, in order."""
    return [l for l in model.layers if isinstance(l, (keras.layers.Dense, keras.layers.Conv2D))]


def stackable(model: keras.Model) -> bool:
    """True when the stacked engine can train ``model`` (see :data:`SUPPORTED`)."""
    return program(model) is not None


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which a run seeded ``seed`` visits ``n`` examples in ``epoch`` (0-based)."""
    return np.random.default_rng((int(seed), int(epoch))).permutation(n).astype(np.int32)


# -- stacked layers (every tensor has the K models on its leading axis) ------
def _patches(h: tf.Tensor, kh: int, kw: int) -> tf.Tensor:
    """(..., H, W, C) -> (..., H-kh+1, W-kw+1, kh*kw*C), in the order of a reshaped HWIO kernel."""
    height, width = h.shape[-3], h.shape[-2]
    return tf.concat([h[..., i:height - kh + 1 + i, j:width - kw + 1 + j, :]
                      for i in range(kh) for j in range(kw)], axis=-1)


def _conv(h: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """A stride-1 'valid' convolution of every model: ``h`` (K, B, H, W, C), ``w`` (K, kh, kw, C, O)."""

    @tf.custom_gradient
    def conv(h, w):
        _, kh, kw, c, o = w.shape
        p = _patches(h, kh, kw)
        out = tf.einsum("kbhwp,kpo->kbhwo", p, tf.reshape(w, [-1, kh * kw * c, o]))

        def grad(g):
            gw = tf.reshape(tf.einsum("kbhwp,kbhwo->kpo", p, g), tf.shape(w))
            # the input's gradient: each patch column's share, added back where it came from (col2im)
            cols = tf.einsum("kbhwo,kpo->kbhwp", g, tf.reshape(w, [-1, kh * kw * c, o]))
            gh = tf.add_n([tf.pad(cols[..., (i * kw + j) * c:(i * kw + j + 1) * c],
                                  [[0, 0], [0, 0], [i, kh - 1 - i], [j, kw - 1 - j], [0, 0]])
                           for i in range(kh) for j in range(kw)])
            return gh, gw

        return out, grad

    return conv(h, w)


def _pool(h: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Max-pooling of every model; the gradient goes to the first maximum of each window, as in Keras."""

    @tf.custom_gradient
    def pool(h):
        ph, pw = size
        height, width, c = h.shape[2], h.shape[3], h.shape[4]
        h2, w2 = height // ph, width // pw
        r = tf.reshape(h[:, :, :h2 * ph, :w2 * pw], [-1, tf.shape(h)[1], h2, ph, w2, pw, c])
        y = tf.reduce_max(r, axis=[3, 5])

        def grad(g):
            hits = tf.equal(r, y[:, :, :, None, :, None])
            taken = tf.zeros_like(g, tf.bool)
            zero = tf.zeros_like(g)
            rows = []
            for i in range(ph):
                row = []
                for j in range(pw):
                    first = tf.logical_and(hits[:, :, :, i, :, j], tf.logical_not(taken))
                    taken = tf.logical_or(taken, first)
                    row.append(tf.where(first, g, zero))
                rows.append(tf.stack(row, axis=4))
            full = tf.reshape(tf.stack(rows, axis=3), [-1, tf.shape(g)[1], h2 * ph, w2 * pw, c])
            return tf.pad(full, [[0, 0], [0, 0], [0, height - h2 * ph], [0, width - w2 * pw], [0, 0]])

        return y, grad

    return pool(h)


class _Program:
    """The compiled pieces for one configuration (shared by every stack like it; holds no weights)."""

    def __init__(self, k: int, ops: Sequence[Op], optimizer: str, learning_rate: float,
                 compute_dtype: tf.DType, jit: bool):
        self.k, self.ops, self.optimizer = k, list(ops), optimizer
        self.learning_rate, self.compute_dtype = learning_rate, compute_dtype
        self.epoch = tf.function(self._epoch_fn, jit_compile=jit)
        self.eval = tf.function(self._eval_fn, jit_compile=jit)

    def _cast(self, t: tf.Tensor) -> tf.Tensor:
        return tf.cast(t, self.compute_dtype)

    def logits(self, params: Sequence[tf.Tensor], h: tf.Tensor) -> tf.Tensor:
        """Forward pass of every model: ``h`` holds each model's inputs (K, B, ...), or one set of
        inputs (B, ...) shared by all; returns (K, B, n_classes) logits."""
        i = 0
        for n, op in enumerate(self.ops):
            if op.kind == "flatten":
                h = tf.reshape(h, [self.k, tf.shape(h)[1], -1])
            elif op.kind == "pool":
                h = _pool(h, op.size)
            else:
                w, b = params[i], params[i + 1]
                i += 2
                if op.kind == "conv" and h.shape.rank == 4:  # the same images for every model
                    _, kh, kw, c, o = w.shape
                    h = tf.einsum("bhwp,kpo->kbhwo", _patches(self._cast(h), kh, kw),
                                  tf.reshape(self._cast(w), [-1, kh * kw * c, o]))
                elif op.kind == "conv":
                    h = _conv(self._cast(h), self._cast(w))
                elif h.shape.rank == 2:  # the same examples for every model
                    h = tf.einsum("bi,kio->kbo", self._cast(h), self._cast(w))
                else:
                    h = tf.matmul(self._cast(h), self._cast(w))
                h = tf.cast(h, tf.float32) + b
                if n < len(self.ops) - 1:
                    h = op.activation(h)
        return h

    def losses(self, params, x, y):
        """Per-example losses and hits (K, B)."""
        logits = self.logits(params, x)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y), tf.float32)
        return losses, correct

    def update(self, params, slots, step, grads):
        lr = self.learning_rate
        if self.optimizer == "sgd":
            return [p - lr * g for p, g in zip(params, grads)], slots
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        alpha = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
        n = len(params)
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, slots[:n], slots[n:]):
            m = m + (g - m) * (1.0 - b1)
            v = v + (tf.square(g) - v) * (1.0 - b2)
            new_p.append(p - (m * alpha) / (tf.sqrt(v) + eps))
            new_m.append(m)
            new_v.append(v)
        return new_p, new_m + new_v

    def _epoch_fn(self, params, slots, step, x, y, order):
        """Train on the batches ``order[:, s]`` (order is (K, steps, B)); sum losses and hits."""
        steps = tf.shape(order)[1]

        def body(s, params, slots, step, loss_sum, hits):
            idx = order[:, s]
            xb, yb = tf.gather(x, idx), tf.gather(y, idx)
            with tf.GradientTape() as tape:
                tape.watch(params)
                losses, correct = self.losses(params, xb, yb)
                total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
            grads = tape.gradient(total, params)
            step = step + 1.0
            params, slots = self.update(params, slots, step, grads)
            return (s + 1, params, slots, step, loss_sum + tf.reduce_sum(losses, axis=1),
                    hits + tf.reduce_sum(correct, axis=1))

        zeros = tf.zeros([self.k], tf.float32)
        _, params, slots, step, loss_sum, hits = tf.while_loop(
            lambda s, *_: s < steps, body, (tf.constant(0), params, slots, step, zeros, zeros))
        return params, slots, step, loss_sum, hits

    def _eval_fn(self, params, xs, ys):
        """Sum losses and hits over the blocks ``xs[s]`` (xs is (steps, block, ...)), shared by all models."""

        def body(s, loss_sum, hits):
            y = tf.broadcast_to(ys[s][None], [self.k, tf.shape(ys)[1]])
            losses, correct = self.losses(params, xs[s], y)
            return s + 1, loss_sum + tf.reduce_sum(losses, axis=1), hits + tf.reduce_sum(correct, axis=1)

        zeros = tf.zeros([self.k], tf.float32)
        _, loss_sum, hits = tf.while_loop(lambda s, *_: s < tf.shape(xs)[0], body,
                                          (tf.constant(0), zeros, zeros))
        return loss_sum, hits


_PROGRAMS: dict[tuple, _Program] = {}


class StackedModels:
    """K models of one architecture, trained together.

    Args:
        models: built Keras models of identical architecture (see :func:`stackable`);
            their current weights are the starting point.
        optimizer: ``"adam"`` or ``"sgd"``.
        learning_rate: None for Keras' default of the optimizer.
        precision: ``"float32"``, or ``"bfloat16"`` for the matmuls (weights, Adam
            state and the loss stay float32).
        jit: compile with XLA.
    """

    def __init__(self, models: Sequence[keras.Model], optimizer: str = "adam",
                 learning_rate: float | None = None, precision: str = "float32", jit: bool = True):
        if not models:
            raise InvalidArgumentError("models", models, "must hold at least one model")
        programs = [program(m) for m in models]
        if any(p is None for p in programs):
            bad = next(m.name for m, p in zip(models, programs) if p is None)
            raise InvalidArgumentError("models", bad, f"must be built from {SUPPORTED}")
        layers = [weighted_layers(m) for m in models]
        shapes = [[(type(l).__name__, tuple(l.kernel.shape)) for l in ls] + [tuple(m.input_shape[1:])]
                  for m, ls in zip(models, layers)]
        if any(s != shapes[0] for s in shapes) or any(p != programs[0] for p in programs):
            raise InvalidArgumentError("models", [m.name for m in models], "must share one architecture")
        if optimizer not in ("adam", "sgd"):
            raise InvalidArgumentError("optimizer", optimizer, "must be one of adam, sgd")
        if precision not in PRECISIONS:
            raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
        self.k = len(models)
        self.ops = programs[0]
        self.input_shape = tuple(models[0].input_shape[1:])
        self.convolutional = self.ops[0].kind != "dense"
        default = ADAM["learning_rate"] if optimizer == "adam" else SGD_LEARNING_RATE
        learning_rate = float(default if learning_rate is None else learning_rate)
        self.params: list[tf.Tensor] = []
        self._shapes: list[tuple[int, ...]] = []
        for i, layer in enumerate(layers[0]):
            for attr in ("kernel", "bias"):
                shape = tuple(getattr(layer, attr).shape)
                stacked = np.stack([np.asarray(getattr(ls[i], attr).numpy(), np.float32) for ls in layers])
                if attr == "bias":  # broadcastable against (K, B, ..., fan_out)
                    stacked = stacked.reshape((self.k,) + (1,) * (len(layer.output.shape) - 1) + shape)
                self.params.append(tf.constant(stacked))
                self._shapes.append(shape)
        self.slots = [tf.zeros_like(p) for p in self.params] * (2 if optimizer == "adam" else 0)  # m..., v...
        self.step = tf.constant(0.0)
        key = (self.k, tuple(map(tuple, shapes[0])), tuple(self.ops), optimizer, learning_rate, precision,
               bool(jit))
        if key not in _PROGRAMS:  # one trace per configuration, shared by every stack like it
            _PROGRAMS[key] = _Program(self.k, self.ops, optimizer, learning_rate,
                                      tf.bfloat16 if precision == "bfloat16" else tf.float32, jit)
        self._program = _PROGRAMS[key]

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` shaped as the engine takes it: flattened for dense models, images for convolutions."""
        x = np.asarray(x, np.float32)
        return x.reshape((len(x),) + (self.input_shape if self.convolutional else (-1,)))

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor, order: np.ndarray, batch_size: int
                    ) -> tuple[np.ndarray, np.ndarray]:
        """One epoch; ``order`` is (K, n) example indices per model. Returns mean loss and accuracy per model."""
        n = order.shape[1]
        full = n // batch_size
        loss_sum = np.zeros(self.k)
        hits = np.zeros(self.k)
        parts = []
        if full:
            parts.append(order[:, :full * batch_size].reshape(self.k, full, batch_size))
        if n % batch_size:
            parts.append(order[:, full * batch_size:].reshape(self.k, 1, -1))
        for part in parts:
            self.params, self.slots, self.step, ls, hs = self._program.epoch(
                self.params, self.slots, self.step, x, y, tf.constant(part))
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / n, hits / n

    def evaluate(self, x: np.ndarray | tf.Tensor, y: np.ndarray | tf.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy of every model on ``(x, y)``."""
        x, y = self.inputs(np.asarray(x)), np.asarray(y, np.int32)
        n = len(x)
        block = EVAL_BLOCK[self.convolutional]
        full = n // block * block
        loss_sum = np.zeros(self.k)
        hits = np.zeros(self.k)
        for xs, ys in ((x[:full], y[:full]), (x[full:], y[full:])):  # full blocks, then the rest
            if len(ys):
                size = min(block, len(ys))
                ls, hs = self._program.eval(self.params, tf.constant(xs.reshape((-1, size) + x.shape[1:])),
                                            tf.constant(ys.reshape(-1, size)))
                loss_sum += ls.numpy()
                hits += hs.numpy()
        return loss_sum / n, hits / n

    def get_weights(self, index: int) -> list[np.ndarray]:
        """Model ``index``'s weights in Keras order (kernel, bias, kernel, bias, ...)."""
        return [p[index].numpy().reshape(shape) for p, shape in zip(self.params, self._shapes)]

    def set_into(self, index: int, model: keras.Model) -> keras.Model:
        """Copy model ``index``'s weights into a Keras model of the same architecture."""
        weights = self.get_weights(index)
        for i, layer in enumerate(weighted_layers(model)):
            layer.set_weights(weights[2 * i:2 * i + 2])
        return model


INITIAL_LOSS_EXAMPLES = 2048  # the untrained model's loss is taken on at most this many first training examples
DIVERGENCE_FACTOR = 10.0


def divergence_bound(n_classes: int, initial_loss: float) -> float:
    """The training loss above which a run is diverged.

    ``DIVERGENCE_FACTOR`` (10) times the larger of ``ln(n_classes)`` (the loss of a uniform
    prediction, where sane initializations start) and ``initial_loss`` (the untrained model's
    loss on its first training examples), so 23.0 for ten classes unless the run started
    higher: an initialization that starts far above chance is judged against its own start.
    A non-finite ``initial_loss`` leaves only the non-finite rule (the bound is inf).
    """
    if not math.isfinite(initial_loss):
        return math.inf
    return DIVERGENCE_FACTOR * max(math.log(n_classes), initial_loss)


def diverges(loss: float, bound: float) -> bool:
    """Whether an epoch's training loss marks divergence: NaN, infinite or above ``bound``."""
    return not (math.isfinite(loss) and loss <= bound)


def diverged_epoch(losses: Sequence[float], bound: float) -> int | None:
    """The first epoch (1-based) whose training loss :func:`diverges`, or None."""
    return next((i + 1 for i, loss in enumerate(losses) if diverges(loss, bound)), None)


def fit_stack(models: Sequence[keras.Model], seeds: Sequence[int], x_train: np.ndarray,
              y_train: np.ndarray, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
              epochs: int = 5, batch_size: int = 32, validation_split: float = 0.2,
              optimizer: str = "adam", learning_rate: float | None = None, shuffle: bool = True,
              precision: str = "float32", jit: bool = True,
              monitor: Callable[[StackedModels, int], None] | None = None
              ) -> tuple[StackedModels, list[dict[str, Any]]]:
    """Train K models together the way ``keras.Model.fit`` would, one record per model.

    Args:
        models: built Keras models of one architecture (their weights are the start).
        seeds: one per model; sets its batch order (:func:`batch_order`).
        x_train, y_train: the training set (flattened here for dense models).
        x_test, y_test: evaluated once after training, if given.
        epochs, batch_size, validation_split, optimizer, learning_rate: as in Keras.
        shuffle: False visits the examples in order every epoch (for equivalence checks).
        precision, jit: see :class:`StackedModels`.
        monitor: called as ``monitor(stack, epoch)`` before training (epoch 0) and after
            each epoch (1, 2, ...), e.g. to read the weights as a Keras callback would.

    Returns:
        The trained stack and, per model, a record like :func:`initlab.runner.train`'s:
        ``history`` (loss, accuracy, val_loss, val_accuracy per epoch), ``test_loss``,
        ``test_accuracy``, ``wall_time`` (the stack's time divided by K), ``status``,
        ``diverged_epoch`` (see :func:`divergence_bound`) and ``initial_loss`` (the untrained
        model's mean loss on the first ``INITIAL_LOSS_EXAMPLES`` training examples).
    """
    if len(seeds) != len(models):
        raise InvalidArgumentError("seeds", list(seeds), f"must hold one seed per model ({len(models)})")
    start = time.perf_counter()
    stack = StackedModels(models, optimizer=optimizer, learning_rate=learning_rate, precision=precision, jit=jit)
    x_all = stack.inputs(x_train)
    split = int(math.floor(len(x_all) * (1.0 - validation_split)))
    x = tf.constant(x_all[:split])
    y = tf.constant(np.asarray(y_train[:split], np.int32))
    x_val, y_val = x_all[split:], np.asarray(y_train[split:], np.int32)
    history = {k: [[] for _ in models] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    diverged_at: list[int | None] = [None] * len(models)
    first = min(split, INITIAL_LOSS_EXAMPLES)
    initial = (stack.evaluate(x_all[:first], y_train[:first])[0] if first else np.full(len(models), np.nan))
    n_classes = int(weighted_layers(models[0])[-1].units)
    bounds = [divergence_bound(n_classes, float(loss)) for loss in initial]
    if monitor is not None:
        monitor(stack, 0)
    for epoch in range(int(epochs)):
        order = np.stack([batch_order(s, epoch, split) if shuffle else np.arange(split, dtype=np.int32)
                          for s in seeds])
        loss, acc = stack.train_epoch(x, y, order, int(batch_size))
        val = stack.evaluate(x_val, y_val) if len(y_val) else (np.full(len(models), np.nan),) * 2
        for i in range(len(models)):
            if diverged_at[i] is not None:
                continue
            for key, value in zip(("loss", "accuracy", "val_loss", "val_accuracy"), (loss, acc, *val)):
                history[key][i].append(float(value[i]))
            if diverges(float(loss[i]), bounds[i]):
                diverged_at[i] = epoch + 1
        if monitor is not None:
            monitor(stack, epoch + 1)
        if all(d is not None for d in diverged_at):
            break
    test = (stack.evaluate(x_test, y_test) if x_test is not None
            else (np.full(len(models), np.nan),) * 2)
    wall = (time.perf_counter() - start) / len(models)
    records = []
    for i in range(len(models)):
        hist = {k: history[k][i] for k in history if not (k.startswith("val_") and not len(y_val))}
        ok = diverged_at[i] is None
        records.append({
            "history": hist,
            "test_loss": float(test[0][i]) if ok else math.nan,
            "test_accuracy": float(test[1][i]) if ok else math.nan,
            "wall_time": wall, "status": "ok" if ok else "diverged", "diverged_epoch": diverged_at[i],
            "initial_loss": float(initial[i]),
        })
    return stack, records
