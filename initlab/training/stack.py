"""The stacked engine's fit loop: K models of one architecture trained in one compiled step.

The K models' weights are kept as stacked tensors (see :mod:`initlab.training.program`);
data are handed over once (:func:`hand_over`): the training, validation and test examples
become tensors that every stack training on them shares. Each model keeps its own
initial weights, its own optimizer state and its own batch order
(:func:`initlab.training.record.batch_order`); losses and accuracies are tracked per
model. Members may differ in learning rate, momentum and Nesterov's flag (not in the
optimizer itself), held as tensors with one entry per member.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from initlab.errors import InvalidArgumentError
from initlab.training.conv import CONV_LAYOUTS, DEFAULT_CONV_LAYOUT
from initlab.training.optimizers import check_optimizer, get_optimizer_entry, resolved_learning_rate
from initlab.training.program import (
    PRECISIONS,
    SUPPORTED,
    Op,
    _compiled,
    _per_member_values,
    _Program,
    program,
    weighted_layers,
)
from initlab.training.record import INITIAL_LOSS_EXAMPLES, METRICS, RunRecord, batch_order, divergence_bound, diverges

OnEpoch = Callable[[int, Sequence[keras.Model]], None]
"""The engines' one hook: ``on_epoch(epoch, models)``, called before training (epoch 0) and after
each epoch (1, 2, ...) with Keras models holding the current weights, one per run; the weights
it leaves in them are the ones training goes on from."""

EVAL_BLOCK = {False: 2048, True: 16}  # examples per evaluation step: dense, convolutional models


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
            parts.append(
                (
                    tf.constant(np.asarray(xs, np.float32).reshape((-1, size) + x.shape[1:])),
                    tf.constant(np.asarray(ys, np.int32).reshape(-1, size)),
                )
            )
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


def hand_over(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    *,
    y_test: np.ndarray | None = None,
    validation_split: float = 0.2,
    flatten: bool = True,
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
    return EngineData(
        x=tf.constant(x_all[:split]),
        y=tf.constant(y_all[:split]),
        first=eval_set(x_all[:first], y_all[:first], block),
        val=eval_set(x_all[split:], y_all[split:], block) if len(x_all) > split else None,
        test=test,
        example_shape=tuple(x_all.shape[1:]),
        validation_split=float(validation_split),
    )


class StackedModels:
    """K models of one architecture, trained together.

    Args:
        models: built Keras models of identical architecture (see :func:`stackable`);
            their current weights are the starting point.
        optimizer: a name of :data:`initlab.training.optimizers.OPTIMIZERS`, shared by the stack.
        learning_rate: None for the optimizer's Keras default, a number, or one per model.
        momentum: SGD's momentum in [0, 1), a number or one per model.
        nesterov: Nesterov momentum, a bool or one per model.
        precision: ``"float32"``, or ``"bfloat16"`` for the matmuls (weights, optimizer
            state and the loss stay float32).
        jit: compile with XLA.
        conv_layout: how convolutional layers hold their activations, a name of
            :data:`initlab.training.conv.CONV_LAYOUTS`, or None for the faster one at
            ``precision`` (:data:`initlab.training.conv.DEFAULT_CONV_LAYOUT`: channels first in
            float32, channels last in bfloat16).
    """

    def __init__(
        self,
        models: Sequence[keras.Model],
        *,
        optimizer: str = "adam",
        learning_rate: float | None | Sequence[float | None] = None,
        momentum: float | Sequence[float] = 0.0,
        nesterov: bool | Sequence[bool] = False,
        precision: str = "float32",
        jit: bool = True,
        conv_layout: str | None = None,
    ):
        programs, layers, shapes = _architecture(models)
        if precision not in PRECISIONS:
            raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
        conv_layout = DEFAULT_CONV_LAYOUT[precision] if conv_layout is None else conv_layout
        if conv_layout not in CONV_LAYOUTS:
            raise InvalidArgumentError("conv_layout", conv_layout, f"must be one of {', '.join(CONV_LAYOUTS)}")
        self.k = len(models)
        get_optimizer_entry(optimizer)
        rates, momenta, nesterovs = (
            _per_member_values(name, value, self.k)
            for name, value in (("learning_rate", learning_rate), ("momentum", momentum), ("nesterov", nesterov))
        )
        for lr, m, nag in zip(rates, momenta, nesterovs):
            check_optimizer(optimizer, lr, m, nesterov=nag)
        self.learning_rates = [resolved_learning_rate(optimizer, lr) for lr in rates]
        self.momenta = [float(m) for m in momenta]
        self.hyper = (
            tf.constant(self.learning_rates, tf.float32),
            tf.constant(self.momenta, tf.float32),
            tf.constant([bool(n) for n in nesterovs]),
        )
        velocity = optimizer == "sgd" and any(self.momenta)
        self.ops = programs[0]
        self.input_shape = tuple(models[0].input_shape[1:])
        self.convolutional = self.ops[0].kind != "dense"
        self.params, self._shapes = _stacked_weights(layers)
        n_slots = 2 if get_optimizer_entry(optimizer).moments else int(velocity)  # Adam: m..., v...; SGD: velocities
        self.slots = [tf.zeros_like(p) for p in self.params] * n_slots
        self.step = tf.constant(0.0)
        key = (self.k, tuple(map(tuple, shapes[0])), tuple(self.ops), optimizer, velocity, precision, bool(jit))
        key += (conv_layout,)
        dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
        self._program = _compiled(
            key, lambda: _Program(self.k, self.ops, optimizer, velocity, dtype, jit, conv_layout=conv_layout)
        )

    @property
    def example_shape(self) -> tuple[int, ...]:
        """One example's shape as the engine takes it: flattened for dense models, images for convolutions."""
        return self.input_shape if self.convolutional else (int(np.prod(self.input_shape)),)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` shaped as the engine takes it: flattened for dense models, images for convolutions."""
        x = np.asarray(x, np.float32)
        return x.reshape((len(x),) + self.example_shape)

    def train_epoch(
        self, x: tf.Tensor, y: tf.Tensor, order: np.ndarray, *, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """One epoch; ``order`` is (K, n) example indices per model. Returns mean loss and accuracy per model."""
        n = order.shape[1]
        full = n // batch_size
        loss_sum = np.zeros(self.k)
        hits = np.zeros(self.k)
        parts = []
        if full:
            parts.append(order[:, : full * batch_size].reshape(self.k, full, batch_size))
        if n % batch_size:
            parts.append(order[:, full * batch_size :].reshape(self.k, 1, -1))
        for part in parts:
            self.params, self.slots, self.step, ls, hs = self._program.epoch(
                self.params, self.slots, self.step, x, y, tf.constant(part), self.hyper
            )
            loss_sum += ls.numpy()
            hits += hs.numpy()
        return loss_sum / n, hits / n

    def evaluate(
        self, x: np.ndarray | tf.Tensor | EvalSet, y: np.ndarray | tf.Tensor | None = None
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
            layer.set_weights(weights[2 * i : 2 * i + 2])
        return model

    def take_from(self, models: Sequence[keras.Model]) -> None:
        """Take every member's weights from its Keras model (one per member, in order): the inverse
        of :meth:`set_into`, bit for bit; the optimizer state is kept."""
        weights = [[w for layer in weighted_layers(m) for w in layer.get_weights()] for m in models]
        self.params = [
            tf.constant(np.stack([np.asarray(ws[j], np.float32) for ws in weights]).reshape(p.shape))
            for j, p in enumerate(self.params)
        ]


def _architecture(
    models: Sequence[keras.Model],
) -> tuple[list[list[Op] | None], list[list[keras.layers.Layer]], list[list[tuple]]]:
    """Each model's program, weighted layers and shapes, after checking they share one architecture."""
    if not models:
        raise InvalidArgumentError("models", models, "must hold at least one model")
    programs = [program(m) for m in models]
    if any(p is None for p in programs):
        bad = next(m.name for m, p in zip(models, programs) if p is None)
        raise InvalidArgumentError("models", bad, f"must be built from {SUPPORTED}")
    layers = [weighted_layers(m) for m in models]
    shapes = [
        [(type(l).__name__, tuple(l.kernel.shape)) for l in ls] + [tuple(m.input_shape[1:])]
        for m, ls in zip(models, layers)
    ]
    if any(s != shapes[0] for s in shapes) or any(p != programs[0] for p in programs):
        raise InvalidArgumentError("models", [m.name for m in models], "must share one architecture")
    return programs, layers, shapes


def _stacked_weights(layers: list[list[keras.layers.Layer]]) -> tuple[list[tf.Tensor], list[tuple[int, ...]]]:
    """The members' kernels and biases stacked along a first axis of K, and each weight's own shape."""
    k = len(layers)
    params: list[tf.Tensor] = []
    shapes: list[tuple[int, ...]] = []
    for i, layer in enumerate(layers[0]):
        for attr in ("kernel", "bias"):
            shape = tuple(getattr(layer, attr).shape)
            stacked = np.stack([np.asarray(getattr(ls[i], attr).numpy(), np.float32) for ls in layers])
            if attr == "bias":  # broadcastable against (K, B, ..., fan_out)
                stacked = stacked.reshape((k,) + (1,) * (len(layer.output.shape) - 1) + shape)
            params.append(tf.constant(stacked))
            shapes.append(shape)
    return params, shapes


def fit_stack(
    models: Sequence[keras.Model],
    seeds: Sequence[int],
    x_train: np.ndarray | EngineData,
    *,
    y_train: np.ndarray | None = None,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    epochs: int = 5,
    batch_size: int = 32,
    validation_split: float = 0.2,
    optimizer: str = "adam",
    learning_rate: float | None | Sequence[float | None] = None,
    momentum: float | Sequence[float] = 0.0,
    nesterov: bool | Sequence[bool] = False,
    shuffle: bool = True,
    precision: str = "float32",
    jit: bool = True,
    conv_layout: str | None = None,
    on_epoch: OnEpoch | None = None,
) -> tuple[StackedModels, list[RunRecord]]:
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
        precision, jit, conv_layout: see :class:`StackedModels`.
        on_epoch: the engines' hook (:data:`OnEpoch`): before training (epoch 0) and after each
            epoch, each member's weights are copied into its model of ``models`` (with
            :meth:`StackedModels.set_into`), the hook is called with ``models``, and the weights
            it leaves there are taken back (:meth:`StackedModels.take_from`). Nothing is copied
            without a hook.

    Returns:
        The trained stack and, per model, its :class:`RunRecord`: ``wall_time`` is the stack's
        time divided by K; ``initial_loss`` the untrained model's mean loss on the first
        ``INITIAL_LOSS_EXAMPLES`` training examples (see :func:`divergence_bound`).
    """
    if len(seeds) != len(models):
        raise InvalidArgumentError("seeds", list(seeds), f"must hold one seed per model ({len(models)})")
    start = time.perf_counter()
    hyper = dict(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov)
    stack = StackedModels(models, optimizer=optimizer, **hyper, precision=precision, jit=jit, conv_layout=conv_layout)
    data = _engine_data(stack, x_train, y_train, x_test, y_test, validation_split=validation_split)
    progress = _train_epochs(
        stack, models, seeds, data, epochs=int(epochs), batch_size=int(batch_size), shuffle=shuffle, on_epoch=on_epoch
    )
    test = stack.evaluate(data.test) if data.test is not None else _nans(len(models))
    wall = (time.perf_counter() - start) / len(models)
    return stack, _records(progress, test, wall, validated=data.val is not None)


def _nans(k: int) -> tuple[np.ndarray, np.ndarray]:
    """NaN losses and accuracies for ``k`` models (a set that is not there)."""
    return (np.full(k, np.nan),) * 2


def _engine_data(
    stack: StackedModels,
    x_train: np.ndarray | EngineData,
    y_train: np.ndarray | None,
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    *,
    validation_split: float,
) -> EngineData:
    """:func:`fit_stack`'s data as the engine's tensors: handed over already, or converted here."""
    if not isinstance(x_train, EngineData):
        return hand_over(
            x_train, y_train, x_test, y_test=y_test, validation_split=validation_split, flatten=not stack.convolutional
        )
    if any(v is not None for v in (y_train, x_test, y_test)):
        raise InvalidArgumentError("y_train", "...", "must not be given with handed-over data (it holds them)")
    if x_train.example_shape != stack.example_shape:
        raise InvalidArgumentError(
            "x_train",
            f"examples of shape {x_train.example_shape}",
            f"must hold examples of shape {stack.example_shape} for these models",
        )
    return x_train


@dataclass
class _Progress:
    """What a stack's training recorded so far, per member."""

    history: dict[str, list[list[float]]]  # metric -> member -> per-epoch values
    diverged_at: list[int | None]
    initial: np.ndarray  # the untrained models' losses


def _train_epochs(
    stack: StackedModels,
    models: Sequence[keras.Model],
    seeds: Sequence[int],
    data: EngineData,
    *,
    epochs: int,
    batch_size: int,
    shuffle: bool,
    on_epoch: OnEpoch | None,
) -> _Progress:
    """Train until ``epochs`` or until every member diverged, calling the hook (:func:`fit_stack`)."""
    k, split = len(models), int(data.x.shape[0])
    progress = _Progress(
        history={key: [[] for _ in models] for key in METRICS},
        diverged_at=[None] * k,
        initial=stack.evaluate(data.first)[0] if data.first.n else np.full(k, np.nan),
    )
    n_classes = int(weighted_layers(models[0])[-1].units)
    bounds = [divergence_bound(n_classes, float(loss)) for loss in progress.initial]
    _call_hook(on_epoch, 0, stack, models)
    for epoch in range(epochs):
        order = np.stack([batch_order(s, epoch, split) if shuffle else np.arange(split, dtype=np.int32) for s in seeds])
        loss, acc = stack.train_epoch(data.x, data.y, order, batch_size=batch_size)
        val = stack.evaluate(data.val) if data.val is not None else _nans(k)
        for i in range(k):
            if progress.diverged_at[i] is not None:
                continue
            for key, value in zip(METRICS, (loss, acc, *val)):
                progress.history[key][i].append(float(value[i]))
            if diverges(float(loss[i]), bounds[i]):
                progress.diverged_at[i] = epoch + 1
        _call_hook(on_epoch, epoch + 1, stack, models)
        if all(d is not None for d in progress.diverged_at):
            break
    return progress


def _call_hook(on_epoch: OnEpoch | None, epoch: int, stack: StackedModels, models: Sequence[keras.Model]) -> None:
    """Call the hook with the members' current weights in ``models``, and take back what it leaves there."""
    if on_epoch is None:
        return
    for i, model in enumerate(models):
        stack.set_into(i, model)
    on_epoch(epoch, models)
    stack.take_from(models)


def _records(
    progress: _Progress, test: tuple[np.ndarray, np.ndarray], wall: float, *, validated: bool
) -> list[RunRecord]:
    """Each member's :class:`RunRecord` (without validation data, no ``val_`` history)."""
    records = []
    for i, diverged_at in enumerate(progress.diverged_at):
        ok = diverged_at is None
        records.append(
            RunRecord(
                history={k: v[i] for k, v in progress.history.items() if validated or not k.startswith("val_")},
                test_loss=float(test[0][i]) if ok else math.nan,
                test_accuracy=float(test[1][i]) if ok else math.nan,
                wall_time=wall,
                status="ok" if ok else "diverged",
                diverged_epoch=diverged_at,
                initial_loss=float(progress.initial[i]),
            )
        )
    return records
