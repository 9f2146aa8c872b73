"""The stacked engine: K models of one architecture trained in one compiled step.

Training one small network at a time with ``keras.Model.fit`` spends most of
its time on per-step overhead, not arithmetic. The stacked engine keeps the K
models' weights as stacked tensors (a leading axis of size K on every kernel
and bias), runs forward and backward passes as batched matmuls, and compiles
a whole epoch (an XLA while-loop over the batches) into one call. Each model
keeps its own initial weights, its own Adam state and its own batch order;
losses and accuracies are tracked per model.

Members may differ in learning rate, momentum and Nesterov's flag (not in the
optimizer itself): a grid of learning rates x initializers x seeds trains in
one compiled step, each member with its own hyperparameters, held as tensors
with one entry per member.

Data are handed to the engine once (:func:`hand_over`): the training,
validation and test examples become tensors that every stack training on them
shares, instead of being converted again for each stack.

It trains Keras models built from ``Flatten``, ``Dense``, ``Conv2D`` (stride 1,
``"valid"`` padding) and ``MaxPooling2D`` (stride equal to the pool, "valid")
layers that end in a ``Dense`` layer: a softmax head, or (as in ``002``'s model as printed) any
other activation whose outputs Keras' loss reads as probabilities. A convolution runs as a matmul
over image patches (im2col) with a hand-written gradient, and max-pooling as
a reshape and a maximum whose gradient goes to the first maximum of each
window, as Keras' does (:mod:`initlab.training.conv`; in float32 the convolutional
layers hold their activations channels first).

Semantics are Keras' (and tested against ``keras.Model.fit``): the optimizers of
:mod:`initlab.training.optimizers` (Adam with Keras defaults; SGD, with or without
(Nesterov) momentum), sparse categorical cross-entropy on the softmax head's logits (on any other
last layer, Keras' reading: its outputs clipped to [ε, 1 − ε], ε = 1e-7, are the logs of unnormalised
probabilities, and accuracy is the argmax of the outputs), the epoch
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

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from initlab.errors import InvalidArgumentError
from initlab.nets.layers import kernel_layers
from initlab.training.conv import (
    CONV_LAYOUTS,
    conv_channels_first,
    conv_channels_last,
    pool_channels_first,
    pool_channels_last,
)
from initlab.training.optimizers import get_optimizer_entry

PRECISIONS = ("float32", "bfloat16")


SUPPORTED = "Flatten, Dense, Conv2D (stride 1, 'valid') and MaxPooling2D layers ending in a Dense layer"
PROBABILITY_CLIP = 1e-7  # Keras' epsilon: a last layer that is not a softmax head is clipped to [eps, 1 - eps]


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
    if (
        type(layer) is keras.layers.Conv2D
        and layer.use_bias
        and tuple(layer.strides) == (1, 1)
        and layer.padding == "valid"
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.data_format == "channels_last"
    ):
        return Op("conv", layer.activation, tuple(layer.kernel_size))
    if (
        isinstance(layer, keras.layers.MaxPooling2D)
        and tuple(layer.strides) == tuple(layer.pool_size)
        and layer.padding == "valid"
        and layer.data_format == "channels_last"
    ):
        return Op("pool", size=tuple(layer.pool_size))
    return None


def program(model: keras.Model) -> list[Op] | None:
    """The ops of a model the engine can train (see :data:`SUPPORTED`), else None."""
    ops = [_op(layer) for layer in model.layers]
    if any(op is None for op in ops):
        return None
    ops = [op for op in ops if op.kind != "input"]
    if not ops or ops[-1].kind != "dense":
        return None
    if ops[0].kind == "flatten" and all(op.kind == "dense" for op in ops[1:]):
        ops = ops[1:]  # a dense MLP: the inputs are flattened once, up front
    return ops


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of a model that hold a kernel, in order (:func:`initlab.nets.layers.kernel_layers`)."""

    return kernel_layers(model)


def stackable(model: keras.Model) -> bool:
    """True when the stacked engine can train ``model`` (see :data:`SUPPORTED`)."""
    return program(model) is not None


class _Program:
    """The compiled pieces for one configuration (shared by every stack like it; holds no weights)."""

    def __init__(
        self,
        k: int,
        ops: Sequence[Op],
        optimizer: str,
        velocity: bool,
        compute_dtype: tf.DType,
        jit: bool,
        conv_layout: str = CONV_LAYOUTS[0],
    ):
        self.k, self.ops, self.optimizer = k, list(ops), optimizer
        self.velocity, self.compute_dtype, self.conv_layout = velocity, compute_dtype, conv_layout
        self.softmax_head = getattr(self.ops[-1].activation, "__name__", "") == "softmax"
        self.epoch = tf.function(self._epoch_fn, jit_compile=jit)
        self.eval = tf.function(self._eval_fn, jit_compile=jit)

    def _cast(self, t: tf.Tensor) -> tf.Tensor:
        return tf.cast(t, self.compute_dtype)

    def logits(self, params: Sequence[tf.Tensor], h: tf.Tensor) -> tf.Tensor:
        """Forward pass of every model: ``h`` holds each model's inputs (K, B, ...), or one set of
        inputs (B, ...) shared by all; returns (K, B, n_classes): a softmax head's logits, any other
        last layer's outputs."""
        first = self.conv_layout == "channels_first"
        transposed = False  # h held channels first (K, C, B, H, W), or (C, B, H, W) when shared
        i = 0
        for n, op in enumerate(self.ops):
            if op.kind in ("flatten", "dense") and transposed:
                h, transposed = _channels_last(h), False
            if op.kind == "flatten":
                h = tf.reshape(h, [self.k, tf.shape(h)[1], -1])
            elif op.kind == "pool":
                if h.shape.rank == 4:  # pooling the images themselves: every model's copy
                    h = tf.broadcast_to(h[None], tf.concat([[self.k], tf.shape(h)], 0))
                if first:
                    h, transposed = pool_channels_first(h if transposed else _channels_first(h), op.size), True
                else:
                    h = pool_channels_last(h, op.size)
            else:
                w, b = params[i], params[i + 1]
                i += 2
                if op.kind == "conv" and first:
                    h, transposed = self._conv_channels_first(h if transposed else _channels_first(h), w, n), True
                    b = tf.reshape(b, [self.k, -1, 1, 1, 1])
                elif op.kind == "conv":
                    h = conv_channels_last(self._cast(h), self._cast(w))
                elif h.shape.rank == 2:  # the same examples for every model
                    h = tf.einsum("bi,kio->kbo", self._cast(h), self._cast(w))
                else:
                    h = tf.matmul(self._cast(h), self._cast(w))
                h = tf.cast(h, tf.float32) + b
                if n < len(self.ops) - 1 or not self.softmax_head:
                    h = _activate(op.activation, h, transposed)
        return h

    def _conv_channels_first(self, h: tf.Tensor, w: tf.Tensor, n: int) -> tf.Tensor:
        """Op ``n``, a convolution, channels first; followed by max-pooling, only the rows and columns
        the pooling keeps are computed."""
        extent = None
        if n + 1 < len(self.ops) and self.ops[n + 1].kind == "pool":
            (ph, pw), (kh, kw) = self.ops[n + 1].size, w.shape[1:3]
            extent = ((h.shape[-2] - kh + 1) // ph * ph, (h.shape[-1] - kw + 1) // pw * pw)
        return conv_channels_first(self._cast(h), self._cast(w), extent)

    def losses(self, params, x, y):
        """Per-example losses and hits (K, B)."""
        out = self.logits(params, x)
        logits = out
        if not self.softmax_head:  # Keras' cross-entropy on outputs that are not a softmax's
            logits = tf.math.log(tf.clip_by_value(out, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP))
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(out, axis=-1, output_type=tf.int32), y), tf.float32)
        return losses, correct

    def update(self, params, slots, step, grads, hyper):
        """One optimizer step of every member; ``hyper`` holds per-member (learning rate, momentum, nesterov)."""
        lr, momentum, nesterov = hyper
        if self.optimizer == "sgd" and not self.velocity:
            return [p - g * _per_member(lr, p) for p, g in zip(params, grads)], slots
        if self.optimizer == "sgd":  # Keras: v <- m v - lr g; w <- w + v, or w + m v - lr g (Nesterov)
            new_p, new_v = [], []
            for p, g, v in zip(params, grads, slots):
                m, rate = _per_member(momentum, p), _per_member(lr, p)
                v = v * m - g * rate
                new_p.append(p + tf.where(_per_member(nesterov, p), v * m - g * rate, v))
                new_v.append(v)
            return new_p, new_v
        moments = get_optimizer_entry(self.optimizer).moments
        b1, b2, eps = moments["beta_1"], moments["beta_2"], moments["epsilon"]
        alpha = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
        n = len(params)
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, slots[:n], slots[n:]):
            m = m + (g - m) * (1.0 - b1)
            v = v + (tf.square(g) - v) * (1.0 - b2)
            new_p.append(p - (m * _per_member(alpha, p)) / (tf.sqrt(v) + eps))
            new_m.append(m)
            new_v.append(v)
        return new_p, new_m + new_v

    def _epoch_fn(self, params, slots, step, x, y, order, hyper):
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
            params, slots = self.update(params, slots, step, grads, hyper)
            return (
                s + 1,
                params,
                slots,
                step,
                loss_sum + tf.reduce_sum(losses, axis=1),
                hits + tf.reduce_sum(correct, axis=1),
            )

        zeros = tf.zeros([self.k], tf.float32)
        _, params, slots, step, loss_sum, hits = tf.while_loop(
            lambda s, *_: s < steps, body, (tf.constant(0), params, slots, step, zeros, zeros)
        )
        return params, slots, step, loss_sum, hits

    def _eval_fn(self, params, xs, ys):
        """Sum losses and hits over the blocks ``xs[s]`` (xs is (steps, block, ...)), shared by all models."""

        def body(s, loss_sum, hits):
            y = tf.broadcast_to(ys[s][None], [self.k, tf.shape(ys)[1]])
            losses, correct = self.losses(params, xs[s], y)
            return s + 1, loss_sum + tf.reduce_sum(losses, axis=1), hits + tf.reduce_sum(correct, axis=1)

        zeros = tf.zeros([self.k], tf.float32)
        _, loss_sum, hits = tf.while_loop(lambda s, *_: s < tf.shape(xs)[0], body, (tf.constant(0), zeros, zeros))
        return loss_sum, hits


def _channels_first(h: tf.Tensor) -> tf.Tensor:
    """(K, B, H, W, C) -> (K, C, B, H, W); images shared by every model, (B, H, W, C) -> (C, B, H, W)."""
    return tf.transpose(h, [3, 0, 1, 2] if h.shape.rank == 4 else [0, 4, 1, 2, 3])


def _activate(activation: Callable, h: tf.Tensor, transposed: bool) -> tf.Tensor:
    """``activation(h)``; a softmax of channels-first activations runs over their channels, as Keras' does."""
    if transposed and getattr(activation, "__name__", "") in ("softmax", "log_softmax"):
        return _channels_first(activation(_channels_last(h)))
    return activation(h)


def _channels_last(h: tf.Tensor) -> tf.Tensor:
    """(K, C, B, H, W) -> (K, B, H, W, C), Keras' order (a Flatten after it matches Keras')."""
    return tf.transpose(h, [0, 2, 3, 4, 1])


def _per_member(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Per-member ``values`` (K,) shaped to broadcast against ``like`` (K, ...)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


_PROGRAMS: dict[tuple, _Program] = {}  # by configuration: each traces once, shared by every stack like it


def _compiled(key: tuple, make: Callable[[], _Program]) -> _Program:
    """The program of configuration ``key`` in :data:`_PROGRAMS`, made by ``make`` the first time."""
    if key not in _PROGRAMS:
        _PROGRAMS[key] = make()
    return _PROGRAMS[key]


def _per_member_values(name: str, value: Any, k: int) -> list:
    """``value`` repeated for K members, or checked to hold one entry per member."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        return [value] * k
    values = list(value)
    if len(values) != k:
        raise InvalidArgumentError(name, values, f"must be one value or one per model ({k})")
    return values
