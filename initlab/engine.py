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
layers that end in a softmax ``Dense`` layer. A convolution runs as a matmul
over image patches (im2col) with a hand-written gradient, and max-pooling as
a reshape and a maximum whose gradient goes to the first maximum of each
window, as Keras' does: XLA's own CPU convolutions are far slower here
(``benchmarks/xla_conv_probe.py``).

Semantics are Keras' (and tested against ``keras.Model.fit``): the optimizers of
:mod:`initlab.optimizers` (Adam with Keras defaults; SGD, with or without
(Nesterov) momentum), sparse categorical cross-entropy on the softmax head's logits, the epoch
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
from initlab.optimizers import ADAM, check_optimizer, get_optimizer_entry, resolved_learning_rate

PRECISIONS = ("float32", "bfloat16")
EVAL_BLOCK = {False: 2048, True: 16}  # examples per evaluation step: dense, convolutional models
INITIAL_LOSS_EXAMPLES = 2048  # the untrained model's loss is taken on at most this many first training examples
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

    def __init__(self, k: int, ops: Sequence[Op], optimizer: str, velocity: bool,
                 compute_dtype: tf.DType, jit: bool):
        self.k, self.ops, self.optimizer = k, list(ops), optimizer
        self.velocity, self.compute_dtype = velocity, compute_dtype
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
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
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


def _per_member(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Per-member ``values`` (K,) shaped to broadcast against ``like`` (K, ...)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


_PROGRAMS: dict[tuple, _Program] = {}


def _per_member_values(name: str, value: Any, k: int) -> list:
    """``value`` repeated for K members, or checked to hold one entry per member."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        return [value] * k
    values = list(value)
    if len(values) != k:
        raise InvalidArgumentError(name, values, f"must be one value or one per model ({k})")
    return values


@dataclass(frozen=True, eq=False)
class EvalSet:
    """Examples converted once for evaluation: full blocks, then the rest as one smaller block."""

    parts: tuple[tuple[tf.Tensor, tf.Tensor], ...]
    n: int


def eval_set(x: np.ndarray, y: np.ndarray, block: int) -> EvalSet:
    """``(x, y)`` as evaluation blocks of ``block`` examples (``x`` already shaped for the engine)."""
    n = len(x)
    full = n // block * block
    parts = []
    for xs, ys in ((x[:full], y[:full]), (x[full:], y[full:])):
        if len(ys):
            size = min(block, len(ys))
            parts.append((tf.constant(np.asarray(xs, np.float32).reshape((-1, size) + x.shape[1:])),
                          tf.constant(np.asarray(ys, np.int32).reshape(-1, size))))
    return EvalSet(tuple(parts), n)


@dataclass(frozen=True, eq=False)
class EngineData:
    """A dataset handed to the engine once (:func:`hand_over`): tensors every stack shares."""

    x: tf.Tensor  # the training examples (the first 1 - validation_split of the set)
    y: tf.Tensor
    first: EvalSet  # the first INITIAL_LOSS_EXAMPLES training examples (the untrained model's loss)
    val: EvalSet | None
    test: EvalSet | None
    example_shape: tuple[int, ...]
    validation_split: float


def hand_over(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None = None,
              y_test: np.ndarray | None = None, validation_split: float = 0.2, flatten: bool = True
              ) -> EngineData:
    """Convert a dataset once into the tensors :func:`fit_stack` trains and evaluates on.

    ``flatten``: examples flattened (dense models) or kept as images (convolutions). The
    last ``validation_split`` of the training set is held out, as Keras does.
    """
    x_all = np.asarray(x_train, np.float32)
    x_all = x_all.reshape((len(x_all), -1)) if flatten else x_all
    y_all = np.asarray(y_train, np.int32)
    split = int(math.floor(len(x_all) * (1.0 - validation_split)))
    block = EVAL_BLOCK[not flatten]
    first = min(split, INITIAL_LOSS_EXAMPLES)
    test = None
    if x_test is not None:
        xt = np.asarray(x_test, np.float32)
        test = eval_set(xt.reshape((len(xt), -1)) if flatten else xt, np.asarray(y_test, np.int32), block)
    return EngineData(x=tf.constant(x_all[:split]), y=tf.constant(y_all[:split]),
                      first=eval_set(x_all[:first], y_all[:first], block),
                      val=eval_set(x_all[split:], y_all[split:], block) if len(x_all) > split else None,
                      test=test, example_shape=tuple(x_all.shape[1:]), validation_split=float(validation_split))


class StackedModels:
    """K models of one architecture, trained together.

    Args:
        models: built Keras models of identical architecture (see :func:`stackable`);
            their current weights are the starting point.
        optimizer: a name of :data:`initlab.optimizers.OPTIMIZERS`, shared by the stack.
        learning_rate: None for the optimizer's Keras default, a number, or one per model.
        momentum: SGD's momentum in [0, 1), a number or one per model.
        nesterov: Nesterov momentum, a bool or one per model.
        precision: ``"float32"``, or ``"bfloat16"`` for the matmuls (weights, optimizer
            state and the loss stay float32).
        jit: compile with XLA.
    """

    def __init__(self, models: Sequence[keras.Model], optimizer: str = "adam",
                 learning_rate: float | None | Sequence[float | None] = None,
                 momentum: float | Sequence[float] = 0.0, nesterov: bool | Sequence[bool] = False,
                 precision: str = "float32", jit: bool = True):
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
        if precision not in PRECISIONS:
            raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
        self.k = len(models)
        get_optimizer_entry(optimizer)
        rates, momenta, nesterovs = (_per_member_values(name, value, self.k) for name, value in
                                     (("learning_rate", learning_rate), ("momentum", momentum),
                                      ("nesterov", nesterov)))
        for lr, m, nag in zip(rates, momenta, nesterovs):
            check_optimizer(optimizer, lr, m, nag)
        self.learning_rates = [resolved_learning_rate(optimizer, lr) for lr in rates]
        self.momenta = [float(m) for m in momenta]
        self.hyper = (tf.constant(self.learning_rates, tf.float32), tf.constant(self.momenta, tf.float32),
                      tf.constant([bool(n) for n in nesterovs]))
        velocity = optimizer == "sgd" and any(self.momenta)
        self.ops = programs[0]
        self.input_shape = tuple(models[0].input_shape[1:])
        self.convolutional = self.ops[0].kind != "dense"
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
        n_slots = 2 if optimizer == "adam" else int(velocity)  # Adam: m..., v...; SGD: the velocities
        self.slots = [tf.zeros_like(p) for p in self.params] * n_slots
        self.step = tf.constant(0.0)
        key = (self.k, tuple(map(tuple, shapes[0])), tuple(self.ops), optimizer, velocity, precision, bool(jit))
        if key not in _PROGRAMS:  # one trace per configuration, shared by every stack like it
            _PROGRAMS[key] = _Program(self.k, self.ops, optimizer, velocity,
                                      tf.bfloat16 if precision == "bfloat16" else tf.float32, jit)
        self._program = _PROGRAMS[key]

    @property
    def example_shape(self) -> tuple[int, ...]:
        """One example's shape as the engine takes it: flattened for dense models, images for convolutions."""
        return self.input_shape if self.convolutional else (int(np.prod(self.input_shape)),)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` shaped as the engine takes it: flattened for dense models, images for convolutions."""
        x = np.asarray(x, np.float32)
        return x.reshape((len(x),) + self.example_shape)

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
                self.params, self.slots, self.step, x, y, tf.constant(part), self.hyper)
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / n, hits / n

    def evaluate(self, x: np.ndarray | tf.Tensor | EvalSet, y: np.ndarray | tf.Tensor | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Mean loss and accuracy of every model on ``(x, y)``, or on an :class:`EvalSet` ``x``."""
        if not isinstance(x, EvalSet):
            x = eval_set(self.inputs(np.asarray(x)), np.asarray(y, np.int32), EVAL_BLOCK[self.convolutional])
        loss_sum = np.zeros(self.k)
        hits = np.zeros(self.k)
        for xs, ys in x.parts:
            ls, hs = self._program.eval(self.params, xs, ys)
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / x.n, hits / x.n

    def get_weights(self, index: int) -> list[np.ndarray]:
        """Model ``index``'s weights in Keras order (kernel, bias, kernel, bias, ...)."""
        return [p[index].numpy().reshape(shape) for p, shape in zip(self.params, self._shapes)]

    def set_into(self, index: int, model: keras.Model) -> keras.Model:
        """Copy model ``index``'s weights into a Keras model of the same architecture."""
        weights = self.get_weights(index)
        for i, layer in enumerate(weighted_layers(model)):
            layer.set_weights(weights[2 * i:2 * i + 2])
        return model


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


def fit_stack(models: Sequence[keras.Model], seeds: Sequence[int], x_train: np.ndarray | EngineData,
              y_train: np.ndarray | None = None, x_test: np.ndarray | None = None,
              y_test: np.ndarray | None = None, epochs: int = 5, batch_size: int = 32,
              validation_split: float = 0.2, optimizer: str = "adam",
              learning_rate: float | None | Sequence[float | None] = None,
              momentum: float | Sequence[float] = 0.0, nesterov: bool | Sequence[bool] = False,
              shuffle: bool = True, precision: str = "float32", jit: bool = True,
              monitor: Callable[[StackedModels, int], None] | None = None
              ) -> tuple[StackedModels, list[dict[str, Any]]]:
    """Train K models together the way ``keras.Model.fit`` would, one record per model.

    Args:
        models: built Keras models of one architecture (their weights are the start).
        seeds: one per model; sets its batch order (:func:`batch_order`).
        x_train: the training set (flattened here for dense models), or the
            :class:`EngineData` of :func:`hand_over` (then ``y_train``, ``x_test`` and
            ``y_test`` are not given and its ``validation_split`` applies): data handed
            over once are shared by every stack instead of converted for each.
        y_train, x_test, y_test: the labels; the test set, evaluated once after training.
        epochs, batch_size, validation_split, optimizer: as in Keras.
        learning_rate, momentum, nesterov: as in Keras; each a value or one per model.
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
    stack = StackedModels(models, optimizer=optimizer, learning_rate=learning_rate, momentum=momentum,
                          nesterov=nesterov, precision=precision, jit=jit)
    if isinstance(x_train, EngineData):
        if any(v is not None for v in (y_train, x_test, y_test)):
            raise InvalidArgumentError("y_train", "...", "must not be given with handed-over data (it holds them)")
        data = x_train
        if data.example_shape != stack.example_shape:
            raise InvalidArgumentError("x_train", f"examples of shape {data.example_shape}",
                                       f"must hold examples of shape {stack.example_shape} for these models")
    else:
        data = hand_over(x_train, y_train, x_test, y_test, validation_split, flatten=not stack.convolutional)
    split = int(data.x.shape[0])
    history = {k: [[] for _ in models] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    diverged_at: list[int | None] = [None] * len(models)
    initial = stack.evaluate(data.first)[0] if data.first.n else np.full(len(models), np.nan)
    n_classes = int(weighted_layers(models[0])[-1].units)
    bounds = [divergence_bound(n_classes, float(loss)) for loss in initial]
    if monitor is not None:
        monitor(stack, 0)
    for epoch in range(int(epochs)):
        order = np.stack([batch_order(s, epoch, split) if shuffle else np.arange(split, dtype=np.int32)
                          for s in seeds])
        loss, acc = stack.train_epoch(data.x, data.y, order, int(batch_size))
        val = stack.evaluate(data.val) if data.val is not None else (np.full(len(models), np.nan),) * 2
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
    test = stack.evaluate(data.test) if data.test is not None else (np.full(len(models), np.nan),) * 2
    wall = (time.perf_counter() - start) / len(models)
    records = []
    for i in range(len(models)):
        hist = {k: history[k][i] for k in history if not (k.startswith("val_") and data.val is None)}
        ok = diverged_at[i] is None
        records.append({
            "history": hist,
            "test_loss": float(test[0][i]) if ok else math.nan,
            "test_accuracy": float(test[1][i]) if ok else math.nan,
            "wall_time": wall, "status": "ok" if ok else "diverged", "diverged_epoch": diverged_at[i],
            "initial_loss": float(initial[i]),
        })
    return stack, records
