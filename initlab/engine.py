"""The stacked engine: K dense models of one architecture trained in one compiled step.

Training one small MLP at a time with ``keras.Model.fit`` spends most of its
time on per-step overhead, not arithmetic. The stacked engine keeps the K
models' weights as stacked tensors (``(K, fan_in, fan_out)`` kernels,
``(K, 1, fan_out)`` biases), runs forward and backward passes as batched
matmuls, and compiles a whole epoch (an XLA while-loop over the batches) into
one call. Each model keeps its own initial weights, its own Adam state and its
own batch order; losses and accuracies are tracked per model.

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
on which other models share its stack.

A model whose loss turns NaN or infinite is recorded as diverged at that
epoch; its numbers never touch the other models' slices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import tensorflow as tf

from initlab.errors import InvalidArgumentError

PRECISIONS = ("float32", "bfloat16")
ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
SGD_LEARNING_RATE = 0.01  # Keras' default
EVAL_CHUNK = 2048
_COMPILED: dict[tuple, tuple[Callable, Callable]] = {}


def dense_layers(model: keras.Model) -> list[keras.layers.Dense] | None:
    """The Dense layers (with biases) of a Flatten/Dense-only model ending in a softmax, else None."""
    dense = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and layer.use_bias:
            dense.append(layer)
        elif not isinstance(layer, (keras.layers.Flatten, keras.layers.InputLayer)):
            return None
    if not dense or getattr(dense[-1].activation, "__name__", "") != "softmax":
        return None
    return dense


def stackable(model: keras.Model) -> bool:
    """True when the stacked engine can train ``model`` (a dense MLP with a softmax head)."""
    return dense_layers(model) is not None


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which a run seeded ``seed`` visits ``n`` examples in ``epoch`` (0-based)."""
    return np.random.default_rng((int(seed), int(epoch))).permutation(n).astype(np.int32)


class StackedMLP:
    """K dense models of one architecture, trained together.

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
        layers = [dense_layers(m) for m in models]
        if any(ls is None for ls in layers):
            bad = next(m.name for m, ls in zip(models, layers) if ls is None)
            raise InvalidArgumentError("models", bad, "must be dense MLPs (Flatten and Dense layers) "
                                       "ending in a softmax Dense layer")
        shapes = [[tuple(l.kernel.shape) for l in ls] for ls in layers]
        if any(s != shapes[0] for s in shapes):
            raise InvalidArgumentError("models", [m.name for m in models], "must share one architecture")
        if optimizer not in ("adam", "sgd"):
            raise InvalidArgumentError("optimizer", optimizer, "must be one of adam, sgd")
        if precision not in PRECISIONS:
            raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
        self.k = len(models)
        self.optimizer = optimizer
        default = ADAM["learning_rate"] if optimizer == "adam" else SGD_LEARNING_RATE
        self.learning_rate = float(default if learning_rate is None else learning_rate)
        self.compute_dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
        self.activations: list[Callable] = [l.activation for l in layers[0][:-1]]
        self.params: list[tf.Tensor] = []
        for i in range(len(layers[0])):
            kernels = np.stack([np.asarray(ls[i].kernel.numpy(), np.float32) for ls in layers])
            biases = np.stack([np.asarray(ls[i].bias.numpy(), np.float32)[None, :] for ls in layers])
            self.params += [tf.constant(kernels), tf.constant(biases)]
        self.slots = [tf.zeros_like(p) for p in self.params] * (2 if optimizer == "adam" else 0)  # m..., v...
        self.step = tf.constant(0.0)
        key = (self.k, tuple(shapes[0]), tuple(self.activations), optimizer, self.learning_rate,
               precision, bool(jit))
        if key not in _COMPILED:  # one trace per configuration, shared by every stack like it
            _COMPILED[key] = (tf.function(self._epoch_fn, jit_compile=jit),
                              tf.function(self._eval_fn, jit_compile=jit))
        self._epoch, self._eval = _COMPILED[key]

    # -- compiled pieces -------------------------------------------------
    def _logits(self, params: Sequence[tf.Tensor], h: tf.Tensor) -> tf.Tensor:
        """Forward pass of every model: ``h`` is (K, B, fan_in); returns (K, B, n_classes) logits."""
        n = len(params) // 2
        for i in range(n):
            w, b = params[2 * i], params[2 * i + 1]
            h, w = tf.cast(h, self.compute_dtype), tf.cast(w, self.compute_dtype)
            # (B, fan_in): the same examples for every model; (K, B, fan_in): each its own
            h = tf.einsum("bi,kio->kbo", h, w) if h.shape.rank == 2 else tf.matmul(h, w)
            h = tf.cast(h, tf.float32) + b
            if i < n - 1:
                h = self.activations[i](h)
        return h

    def _losses(self, params, x, y):
        """Per-example losses and hits (K, B); ``x`` is (B, fan_in) or (K, B, fan_in)."""
        logits = self._logits(params, x)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y), tf.float32)
        return losses, correct

    def _update(self, params, slots, step, grads):
        lr = self.learning_rate
        if self.optimizer == "sgd":
            return [p - lr * g for p, g in zip(params, grads)], slots
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        alpha = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
        n = len(params)
        ms, vs = slots[:n], slots[n:]
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, ms, vs):
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
                losses, correct = self._losses(params, xb, yb)
                total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
            grads = tape.gradient(total, params)
            step = step + 1.0
            params, slots = self._update(params, slots, step, grads)
            return (s + 1, params, slots, step, loss_sum + tf.reduce_sum(losses, axis=1),
                    hits + tf.reduce_sum(correct, axis=1))

        zeros = tf.zeros([self.k], tf.float32)
        _, params, slots, step, loss_sum, hits = tf.while_loop(
            lambda s, *_: s < steps, body, (tf.constant(0), params, slots, step, zeros, zeros))
        return params, slots, step, loss_sum, hits

    def _eval_fn(self, params, x, y):
        losses, correct = self._losses(params, x, tf.broadcast_to(y[None], [self.k, tf.shape(y)[0]]))
        return tf.reduce_sum(losses, axis=1), tf.reduce_sum(correct, axis=1)

    # -- public API ------------------------------------------------------
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
            self.params, self.slots, self.step, ls, hs = self._epoch(
                self.params, self.slots, self.step, x, y, tf.constant(part))
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / n, hits / n

    def evaluate(self, x: np.ndarray | tf.Tensor, y: np.ndarray | tf.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy of every model on ``(x, y)``."""
        x = tf.reshape(tf.convert_to_tensor(x, tf.float32), [len(x), -1])
        y = tf.convert_to_tensor(y, tf.int32)
        n = int(x.shape[0])
        loss_sum = np.zeros(self.k)
        hits = np.zeros(self.k)
        for start in range(0, n, EVAL_CHUNK):
            ls, hs = self._eval(self.params, x[start:start + EVAL_CHUNK], y[start:start + EVAL_CHUNK])
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / n, hits / n

    def get_weights(self, index: int) -> list[np.ndarray]:
        """Model ``index``'s weights in Keras order (kernel, bias, kernel, bias, ...)."""
        return [p[index].numpy().reshape(p.shape[1:] if i % 2 == 0 else p.shape[2:])
                for i, p in enumerate(self.params)]

    def set_into(self, index: int, model: keras.Model) -> keras.Model:
        """Copy model ``index``'s weights into a Keras model of the same architecture."""
        for layer, (w, b) in zip(dense_layers(model), zip(*[iter(self.get_weights(index))] * 2)):
            layer.set_weights([w, b])
        return model


def fit_stack(models: Sequence[keras.Model], seeds: Sequence[int], x_train: np.ndarray,
              y_train: np.ndarray, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
              epochs: int = 5, batch_size: int = 32, validation_split: float = 0.2,
              optimizer: str = "adam", learning_rate: float | None = None, shuffle: bool = True,
              precision: str = "float32", jit: bool = True) -> tuple[StackedMLP, list[dict[str, Any]]]:
    """Train K models together the way ``keras.Model.fit`` would, one record per model.

    Args:
        models: built Keras models of one dense architecture (their weights are the start).
        seeds: one per model; sets its batch order (:func:`batch_order`).
        x_train, y_train: the training set (images are flattened here).
        x_test, y_test: evaluated once after training, if given.
        epochs, batch_size, validation_split, optimizer, learning_rate: as in Keras.
        shuffle: False visits the examples in order every epoch (for equivalence checks).
        precision, jit: see :class:`StackedMLP`.

    Returns:
        The trained stack and, per model, a record like :func:`initlab.runner.train`'s:
        ``history`` (loss, accuracy, val_loss, val_accuracy per epoch), ``test_loss``,
        ``test_accuracy``, ``wall_time`` (the stack's time divided by K), ``status`` and
        ``diverged_epoch``.
    """
    if len(seeds) != len(models):
        raise InvalidArgumentError("seeds", list(seeds), f"must hold one seed per model ({len(models)})")
    start = time.perf_counter()
    stack = StackedMLP(models, optimizer=optimizer, learning_rate=learning_rate, precision=precision, jit=jit)
    x_all = np.asarray(x_train, np.float32).reshape(len(x_train), -1)
    split = int(math.floor(len(x_all) * (1.0 - validation_split)))
    x = tf.constant(x_all[:split])
    y = tf.constant(np.asarray(y_train[:split], np.int32))
    x_val, y_val = x_all[split:], np.asarray(y_train[split:], np.int32)
    history = {k: [[] for _ in models] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    diverged_at: list[int | None] = [None] * len(models)
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
            if not math.isfinite(loss[i]):
                diverged_at[i] = epoch + 1
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
        })
    return stack, records
