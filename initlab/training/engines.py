"""The engines that train runs, their units of work and their registry.

Two engines train, and the ``engine`` column says which ran:

* ``keras``: ``keras.Model.fit`` once per run, as the sources do;
* ``stacked`` (:mod:`initlab.training.stack`): many models of one architecture (the
  dense MLPs and the CNN) in one compiled step, the same arithmetic; each
  epoch's batch order is drawn from the seed, so runs with the same seed see
  the same batches whatever their initializer (a paired design).
  ``stacked_bf16`` does its matmuls in bfloat16.

``engine="auto"`` (the default of a study) picks ``stacked`` wherever the engine can
train the model and ``keras`` for everything else (dropout, for one). Both obey one
divergence rule (:mod:`initlab.training.record`) and return one
:class:`~initlab.training.record.RunRecord` per run.

Both honour one hook, ``on_epoch(epoch, models)`` (:data:`OnEpoch`): called once before
training (epoch 0) and after each epoch (1, 2, ...) with Keras models holding the current
weights, one per run of the unit in the order of its specs; weights the hook changes are
the ones training goes on from.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import abc
import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import keras
import numpy as np

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets.models import build_model, get_model_entry
from initlab.training.build import build_for, initial_loss
from initlab.training.prepare import PreparedData, data_for, handed_over
from initlab.training.program import SUPPORTED, stackable
from initlab.training.record import RunRecord, diverged_epoch, divergence_bound, diverges
from initlab.training.spec import RunSpec, validate_spec
from initlab.training.stack import OnEpoch, fit_stack

MAX_STACK = 8  # models per stack at most: the `000` MLP's fastest per model on 2 cores (`initlab bench`)


STACK_BYTES = 16 * 2**20  # a stack's working set (see `stack_size`) stays within this,


STATE_BYTES = 12 * 2**20  # and its weights and Adam state within this


class _StopOnDivergence(keras.callbacks.Callback):
    """Stop ``fit`` after the first epoch whose training loss :func:`~initlab.training.record.diverges`."""

    def __init__(self, bound: float):
        super().__init__()
        self.bound = bound

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if diverges(float((logs or {}).get("loss", math.nan)), self.bound):
            self.model.stop_training = True


class _EpochHook(keras.callbacks.Callback):
    """An :data:`OnEpoch` hook as ``fit`` calls it: at the start (epoch 0) and after each epoch."""

    def __init__(self, on_epoch: OnEpoch):
        super().__init__()
        self.on_epoch = on_epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.on_epoch(0, [self.model])

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.on_epoch(epoch + 1, [self.model])


def train(
    spec: RunSpec, data: PreparedData | None = None, *, on_epoch: OnEpoch | None = None
) -> tuple[keras.Model, RunRecord]:
    """Train one run with the engine its spec names and return the trained model and its record.

    ``on_epoch``: the engines' hook (see the module doc), called with ``[model]``.
    """
    return get_engine(spec.engine).train([spec], data, on_epoch=on_epoch)[0]


def train_keras(
    spec: RunSpec, data: PreparedData | None = None, *, on_epoch: OnEpoch | None = None
) -> tuple[keras.Model, RunRecord]:
    """Train one run with ``keras.Model.fit`` (the ``keras`` engine); its model and :class:`RunRecord`.

    The record's ``wall_time`` covers fit and test; ``initial_loss`` is the untrained model's
    loss the divergence rule compares with.
    """
    validate_spec(spec)
    data = data if data is not None else data_for(spec)
    model = build_for(spec, data)
    start = time.perf_counter()
    initial = initial_loss(model, spec, data)
    bound = divergence_bound(len(data.class_names), initial)
    hooks = [_EpochHook(on_epoch)] if on_epoch is not None else []
    hist = model.fit(
        data.x_train,
        data.y_train,
        batch_size=spec.batch_size,
        epochs=spec.epochs,
        validation_split=spec.validation_split,
        shuffle=True,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN(), _StopOnDivergence(bound), *hooks],
    )
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    losses = history.get("loss", [])
    first_bad = diverged_epoch(losses, bound)
    diverged = first_bad is not None or len(losses) < spec.epochs
    if diverged:
        test_loss, test_acc = math.nan, math.nan
    else:
        test_loss, test_acc = (float(v) for v in model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0))
    return model, RunRecord(
        history=history,
        test_loss=test_loss,
        test_accuracy=test_acc,
        wall_time=time.perf_counter() - start,
        status="diverged" if diverged else "ok",
        diverged_epoch=(first_bad or len(losses)) if diverged else None,
        initial_loss=initial,
    )


def train_stack(
    specs: Sequence[RunSpec], data: PreparedData | None = None, *, on_epoch: OnEpoch | None = None
) -> list[tuple[keras.Model, RunRecord]]:
    """Train runs of one architecture, data and batch size together on the stacked engine their specs name.

    The runs may differ in ``init``, ``seed``, ``init_params``, ``learning_rate``, ``momentum``
    and ``nesterov`` (each member keeps its own); the rest must be shared (:func:`_group`).

    Returns:
        Per run, a Keras model holding its trained weights and its record.
    """
    if not specs:
        raise InvalidArgumentError("specs", list(specs), "must hold at least one run")
    engine = get_engine(specs[0].engine)
    if not engine.stacks:
        raise InvalidArgumentError("engine", specs[0].engine, "must be a stacked engine")
    return engine.train(specs, data, on_epoch=on_epoch)


def train_stacked(
    specs: Sequence[RunSpec],
    data: PreparedData | None = None,
    *,
    precision: str = "float32",
    on_epoch: OnEpoch | None = None,
) -> list[tuple[keras.Model, RunRecord]]:
    """Train a unit of the stacked engine (:func:`train_stack`'s runs) with matmuls in ``precision``.

    The data are handed to the engine once per dataset (:func:`handed_over`).
    """
    if not specs:
        raise InvalidArgumentError("specs", list(specs), "must hold at least one run")
    for spec in specs:
        validate_spec(spec)
    first = specs[0]
    if any(_group(s) != _group(first) for s in specs):
        raise InvalidArgumentError(
            "specs",
            [s.init for s in specs],
            "must differ only in init, seed, init_params, learning_rate, momentum and nesterov",
        )
    data = data if data is not None else data_for(first)
    models = [build_for(spec, data) for spec in specs]
    stack, records = fit_stack(
        models,
        [s.seed for s in specs],
        handed_over(data, first.validation_split, get_model_entry(first.model).convolutional),
        epochs=first.epochs,
        batch_size=first.batch_size,
        optimizer=first.optimizer,
        learning_rate=[s.learning_rate for s in specs],
        momentum=[s.momentum for s in specs],
        nesterov=[s.nesterov for s in specs],
        precision=precision,
        on_epoch=on_epoch,
    )
    return [(stack.set_into(i, m), r) for i, (m, r) in enumerate(zip(models, records))]


def _group(spec: RunSpec) -> RunSpec:
    """``spec`` without what may differ inside one stack: what must be shared is the
    architecture, the data, the batch size, the optimizer and the rest of the set-up."""
    return replace(spec, init="", seed=0, init_params={}, learning_rate=None, momentum=0.0, nesterov=False)


@lru_cache(maxsize=64)
def _stackable(model: str, model_params: str) -> bool:
    shape = (28, 28, 1) if get_model_entry(model).convolutional else (28, 28)
    built = build_model(model, shape, **json.loads(model_params))
    keras.backend.clear_session()
    return stackable(built)


@lru_cache(maxsize=64)
def _working_set(model: str, model_params: str, input_shape: tuple[int, ...], batch_size: int) -> tuple[int, int]:
    """Bytes one model of a stack keeps busy per step: its weights and Adam state (12 bytes per
    parameter), and those plus every layer's outputs for a batch, forward and backward (16 bytes
    per value)."""
    built = build_model(model, input_shape, **json.loads(model_params))
    values = sum(int(np.prod(layer.output.shape[1:])) for layer in built.layers)
    state = 12 * built.count_params()
    keras.backend.clear_session()
    return int(state), int(state + 16 * batch_size * values)


def stack_size(spec: RunSpec, max_stack: int = MAX_STACK) -> int:
    """How many runs like ``spec`` share one stacked step: at most ``max_stack``, fewer for big models.

    Once a stack's working set outgrows the CPU's caches, the time per model
    grows with K (``initlab bench``: the `002` deep MLP and the CNN train
    fastest alone). The stack holds as many models as fit in :data:`STACK_BYTES`,
    with their weights and Adam state within :data:`STATE_BYTES`, at least one.
    """
    shape = tuple(data_for(spec).x_train.shape[1:])
    state, size = _working_set(spec.model, json.dumps(spec.model_params, sort_keys=True), shape, spec.batch_size)
    return int(min(max_stack, max(1, min(STACK_BYTES // size, STATE_BYTES // state))))


class Engine(abc.ABC):
    """A way to train runs: which runs it can train, its units of work, and how it trains one.

    Attributes:
        name: its name in :data:`ENGINE_REGISTRY` (and in a run's spec, its cache key and rows).
        precision: the matmuls' precision (``"float32"`` or ``"bfloat16"``).
        stacks: whether it trains several runs in one step (a unit may hold more than one run).
    """

    name: str
    precision: str
    stacks: bool

    @abc.abstractmethod
    def accepts(self, spec: RunSpec) -> bool:
        """Whether this engine can train ``spec``."""

    @abc.abstractmethod
    def units(self, specs: Sequence[RunSpec], *, max_stack: int) -> list[list[RunSpec]]:
        """``specs`` split into units of work (what one call of :meth:`train`, or one Dask task, trains)."""

    @abc.abstractmethod
    def train(
        self, specs: Sequence[RunSpec], data: PreparedData | None = None, *, on_epoch: OnEpoch | None = None
    ) -> list[tuple[keras.Model, RunRecord]]:
        """Train one unit of work; per run, the trained model and its record.

        ``on_epoch``: the hook of the module doc, called with one model per run of the unit.
        """


class KerasEngine(Engine):
    """``keras.Model.fit``, one run at a time: trains every model."""

    def __init__(self) -> None:
        self.name, self.precision, self.stacks = "keras", "float32", False

    def accepts(self, spec: RunSpec) -> bool:
        return True

    def units(self, specs: Sequence[RunSpec], *, max_stack: int) -> list[list[RunSpec]]:
        return [[spec] for spec in specs]

    def train(self, specs, data=None, *, on_epoch=None):
        return [train_keras(spec, data, on_epoch=on_epoch) for spec in specs]


class StackedEngine(Engine):
    """:mod:`initlab.training.stack`: runs of one set-up in one compiled step (dense MLPs and the CNN)."""

    def __init__(self, name: str, precision: str):
        self.name, self.precision, self.stacks = name, precision, True

    def accepts(self, spec: RunSpec) -> bool:
        return spec.loss == "sparse_categorical_crossentropy" and _stackable(
            spec.model, json.dumps(spec.model_params, sort_keys=True)
        )

    def units(self, specs: Sequence[RunSpec], *, max_stack: int) -> list[list[RunSpec]]:
        groups: dict[str, list[RunSpec]] = {}
        for spec in specs:
            groups.setdefault(_group(spec).key(), []).append(spec)
        out = []
        for members in groups.values():
            size = stack_size(members[0], max_stack)
            out += [members[i : i + size] for i in range(0, len(members), size)]
        return out

    def train(self, specs, data=None, *, on_epoch=None):
        return train_stacked(specs, data, precision=self.precision, on_epoch=on_epoch)


ENGINE_REGISTRY: dict[str, Engine] = {
    e.name: e for e in (KerasEngine(), StackedEngine("stacked", "float32"), StackedEngine("stacked_bf16", "bfloat16"))
}


ENGINES = ("auto", *ENGINE_REGISTRY)  # the names a user may give (the CLI's choices)


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (not ``"auto"``: see :func:`resolve_engine`)."""
    if name not in ENGINE_REGISTRY:
        raise UnknownNameError("engine", name, ENGINE_REGISTRY)
    return ENGINE_REGISTRY[name]


def resolve_engine(spec: RunSpec, engine: str = "auto") -> str:
    """The engine that trains ``spec``: ``engine``, or for ``"auto"`` the stacked one where it applies."""
    if engine not in ENGINES:
        raise InvalidArgumentError("engine", engine, f"must be one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "stacked" if ENGINE_REGISTRY["stacked"].accepts(spec) else "keras"
    if not get_engine(engine).accepts(spec):
        raise InvalidArgumentError(
            "engine",
            engine,
            f"cannot train model {spec.model!r} with "
            f"{spec.model_params or 'its defaults'} (it trains {SUPPORTED}); "
            "use 'keras' or 'auto'",
        )
    return engine
