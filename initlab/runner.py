"""Run a study: every (initializer, seed) pair trained the way the sources do it.

A study trains one model per initializer and seed (Adam with Keras defaults
unless another optimizer of :mod:`initlab.optimizers` is given, sparse
categorical cross-entropy, accuracy, the last ``validation_split`` of
the training set held out before shuffling) and returns a tidy frame: one row
per (init, seed, epoch). Each run is seeded on its own (Python, NumPy,
TensorFlow and every kernel) with TensorFlow's op determinism on, so the same
seed repeats bit for bit on the same machine. Finished runs are cached on
disk.

Divergence, one rule for both engines (:func:`initlab.engine.divergence_bound`):
a run is diverged at the first epoch whose training loss is NaN, infinite, or
above ten times the larger of ln(C) (C classes; the loss of a uniform
prediction, where sane initializations start: 23.0 for ten classes) and the
untrained model's loss on its first 2,048 training examples (so an
initialization that starts far above chance, such as a deep network drawn
from N(0, 1), is judged against its own start: it is diverged only once its
loss climbs to ten times that start). Training stops there: the record keeps the history up to and
including that epoch, ``status`` ``"diverged"``, ``diverged_epoch`` (1-based)
and NaN test metrics.

Bad input is refused before any data are loaded or any run trains
(:func:`validate_spec`): seeds are integers in [0, 2**32 - 1], a study repeats
no seed and no initializer, a learning rate is None or finite and positive,
and a ``train_limit`` leaves a full training batch and, with a validation
split, at least one validation example. (A limit above the dataset's size is
found when the data are loaded, still before any run trains.)

Two engines train, and the ``engine`` column says which ran:

* ``keras``: ``keras.Model.fit`` once per run, as the sources do;
* ``stacked`` (:mod:`initlab.engine`): many models of one architecture (the
  dense MLPs and the CNN) in one compiled step, the same arithmetic; each
  epoch's batch order is drawn from the seed, so runs with the same seed see
  the same batches whatever their initializer (a paired design).
  ``stacked_bf16`` does its matmuls in bfloat16.

:func:`run_grid` runs many studies as one (say, one per learning rate and
optimizer): runs that share an architecture, data and batch size stack together
whatever their initializer, seed, learning rate or momentum.

``engine="auto"`` (the default) picks ``stacked`` wherever the engine can
train the model and ``keras`` for everything else (dropout, for one).
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from initlab import __version__
from initlab import datasets as ds
from initlab.cache import RunCache, spec_key
from initlab.errors import InvalidArgumentError, MissingRunsError, UnknownNameError
from initlab.engine import (INITIAL_LOSS_EXAMPLES, SUPPORTED, EngineData, StackedModels, divergence_bound,
                            diverged_epoch, diverges, fit_stack, hand_over, stackable)
from initlab.initializers import get_initializer
from initlab.lsuv import apply_data_init
from initlab.models import build_model, get_model_entry
from initlab.optimizers import OPTIMIZERS, check_optimizer, make_keras_optimizer, optimizer_label, resolved_learning_rate
from initlab.paths import cache_dir

tf.config.experimental.enable_op_determinism()

MAX_STACK = 8  # models per stack at most: the `000` MLP's fastest per model on 2 cores (`initlab bench`)
STACK_BYTES = 16 * 2**20  # a stack's working set (see `stack_size`) stays within this,
STATE_BYTES = 12 * 2**20  # and its weights and Adam state within this
PREPROCESSING = ("scale", "standardize")
MAX_SEED = 2**32 - 1  # NumPy's seeds (keras.utils.set_random_seed) end here
RESULT_COLUMNS = ["dataset", "model", "init", "seed", "epoch", "loss", "accuracy", "val_loss",
                  "val_accuracy", "test_loss", "test_accuracy", "wall_time", "status",
                  "diverged_epoch", "engine"]
SETUP_COLUMNS = ["optimizer", "learning_rate", "momentum", "nesterov", "optimizer_setting", "init_params",
                 "model_params"]  # run_grid's, after those; the parameters as JSON text
# fields added after the first cached runs: left out of the cache key at their default, so older keys still hold
LATER_FIELDS = {"momentum": 0.0, "nesterov": False}


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's numbers (and so its cache key)."""

    dataset: str
    model: str
    init: str
    seed: int
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    loss: str = "sparse_categorical_crossentropy"
    validation_split: float = 0.2
    train_limit: int | None = None
    test_limit: int | None = None
    preprocess: str = "scale"
    init_params: dict[str, Any] = field(default_factory=dict)
    model_params: dict[str, Any] = field(default_factory=dict)
    engine: str = "keras"
    momentum: float = 0.0
    nesterov: bool = False

    def key(self) -> str:
        """Cache key: the full specification plus the package version (fields of
        :data:`LATER_FIELDS` only when they differ from their default)."""
        fields = {k: v for k, v in asdict(self).items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
        return spec_key({**fields, "version": __version__})


@dataclass(frozen=True)
class PreparedData:
    """A dataset after preprocessing, ready for ``fit``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_integer(name: str, value: object, low: int, high: int | None = None, note: str = "") -> None:
    """Refuse ``value`` unless it is an integer in [low, high] (no upper end when ``high`` is None)."""
    if not _is_integer(value) or value < low or (high is not None and value > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidArgumentError(name, value, f"must be an integer {span}{note}")


def _check_seed(seed: object) -> None:
    _check_integer("seed", seed, 0, MAX_SEED, " (0 to 2**32 - 1)")


def fit_examples(n: int, validation_split: float) -> int:
    """How many of ``n`` examples are trained on once the last ``validation_split`` is held out (Keras' split)."""
    return int(math.floor(n * (1.0 - validation_split)))


def min_train_limit(validation_split: float, batch_size: int) -> int:
    """The smallest ``train_limit`` that leaves one full training batch and, when
    ``validation_split > 0``, at least one validation example."""
    n = max(batch_size, int(math.floor(batch_size / (1.0 - validation_split))) - 2)  # at most the answer
    while not _splits(n, validation_split, batch_size):
        n += 1
    return n


def _splits(n: int, validation_split: float, batch_size: int) -> bool:
    """Whether ``n`` examples leave a full training batch and (with a split) a validation example."""
    fit = fit_examples(n, validation_split)
    return fit >= batch_size and (validation_split == 0 or n > fit)


def _check_train_limit(train_limit: int, validation_split: float, batch_size: int) -> None:
    if _splits(train_limit, validation_split, batch_size):
        return
    fit = fit_examples(train_limit, validation_split)
    held = (f" and {train_limit - fit} for validation (at least 1 needed)" if validation_split > 0 else "")
    raise InvalidArgumentError(
        "train_limit", train_limit,
        f"must be at least {min_train_limit(validation_split, batch_size)} with validation_split="
        f"{validation_split} and batch_size={batch_size}: it leaves {fit} training examples (a full batch "
        f"needs {batch_size}){held}")


def validate_spec(spec: RunSpec) -> None:
    """Refuse, with one line naming the argument and its valid range, values no run can use.

    Needs no data: :func:`run_study` calls it for every run before loading or training anything.

    Raises:
        UnknownNameError: an unknown model, dataset or initializer.
        InvalidArgumentError: any other value outside its domain.
    """
    get_model_entry(spec.model)
    if spec.dataset not in ds.dataset_names():
        raise UnknownNameError("dataset", spec.dataset, ds.dataset_names())
    get_initializer(spec.init, seed=0, **spec.init_params)
    _check_seed(spec.seed)
    _check_integer("epochs", spec.epochs, 1)
    _check_integer("batch_size", spec.batch_size, 1)
    if not (_is_number(spec.validation_split) and 0.0 <= spec.validation_split < 1.0):
        raise InvalidArgumentError("validation_split", spec.validation_split, "must be a number in [0, 1)")
    if spec.validation_split > 0 and 1.0 - spec.validation_split == 1.0:
        raise InvalidArgumentError("validation_split", spec.validation_split, "must be 0 or large enough to "
                                   "hold out an example (1 - validation_split rounds to 1)")
    check_optimizer(spec.optimizer, spec.learning_rate, spec.momentum, spec.nesterov)
    if spec.preprocess not in PREPROCESSING:
        raise InvalidArgumentError("preprocess", spec.preprocess, f"must be one of {', '.join(PREPROCESSING)}")
    get_engine(spec.engine)
    for name in ("train_limit", "test_limit"):
        value = getattr(spec, name)
        if value is not None:
            _check_integer(name, value, 1)
    if spec.train_limit is not None:
        _check_train_limit(int(spec.train_limit), float(spec.validation_split), int(spec.batch_size))


@lru_cache(maxsize=4)
def prepare_data(dataset: str, preprocess: str = "scale", channels: bool = False,
                 train_limit: int | None = None, test_limit: int | None = None) -> PreparedData:
    """Load a dataset and preprocess it explicitly (memoized per process).

    Args:
        dataset: a name from ``initlab.datasets.dataset_names()``.
        preprocess: ``"scale"`` (pixels to [0, 1]) or ``"standardize"`` (then
            per-channel zero mean, unit std with the training set's statistics).
        channels: add a channel axis to grayscale images (for convolutions).
        train_limit: keep the first ``train_limit`` training examples.
        test_limit: keep the first ``test_limit`` test examples.
    """
    data = ds.load_dataset(dataset)
    for name, limit, n in (("train_limit", train_limit, len(data.y_train)),
                           ("test_limit", test_limit, len(data.y_test))):
        if limit is not None and limit > n:
            raise InvalidArgumentError(name, limit, f"must be at most {n} (the size of the {dataset} set)")
    x_train, y_train = data.x_train[:train_limit], data.y_train[:train_limit]
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]
    x_train, x_test = ds.scale(x_train), ds.scale(x_test)
    if channels and x_train.ndim == 3:
        x_train, x_test = ds.add_channel_axis(x_train), ds.add_channel_axis(x_test)
    if preprocess == "standardize":
        mean, std = ds.channel_stats(x_train)
        x_train, x_test = ds.normalize_channels(x_train, mean, std), ds.normalize_channels(x_test, mean, std)
    return PreparedData(x_train, y_train.astype("int32"), x_test, y_test.astype("int32"),
                        tuple(data.class_names))


def data_for(spec: RunSpec) -> PreparedData:
    """The prepared data a run specification asks for."""
    return prepare_data(spec.dataset, spec.preprocess, get_model_entry(spec.model).convolutional,
                        spec.train_limit, spec.test_limit)


def make_optimizer(spec: RunSpec) -> keras.optimizers.Optimizer:
    """The Keras optimizer of a run (Keras' defaults unless a learning rate or momentum is given)."""
    return make_keras_optimizer(spec.optimizer, spec.learning_rate, spec.momentum, spec.nesterov)


def build_for(spec: RunSpec, data: PreparedData) -> keras.Model:
    """Seed everything for ``spec.seed`` and build the compiled, untrained model."""
    keras.utils.set_random_seed(int(spec.seed))
    model = build_model(spec.model, data.x_train.shape[1:], init=spec.init, seed=int(spec.seed),
                        n_classes=len(data.class_names), init_params=spec.init_params,
                        **spec.model_params)
    apply_data_init(model, spec.init, data.x_train, int(spec.seed))
    model.compile(optimizer=make_optimizer(spec), loss=spec.loss, metrics=["accuracy"])
    return model


class _StopOnDivergence(keras.callbacks.Callback):
    """Stop ``fit`` after the first epoch whose training loss :func:`~initlab.engine.diverges`."""

    def __init__(self, bound: float):
        super().__init__()
        self.bound = bound

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if diverges(float((logs or {}).get("loss", math.nan)), self.bound):
            self.model.stop_training = True


def initial_loss(model: keras.Model, spec: RunSpec, data: PreparedData) -> float:
    """The untrained model's mean loss on the first ``INITIAL_LOSS_EXAMPLES`` training examples."""
    first = min(fit_examples(len(data.y_train), spec.validation_split), INITIAL_LOSS_EXAMPLES)
    if first < 1:
        return math.nan
    return float(model.evaluate(data.x_train[:first], data.y_train[:first], batch_size=256, verbose=0,
                                return_dict=True)["loss"])


def train(spec: RunSpec, data: PreparedData | None = None,
          callbacks: Sequence[keras.callbacks.Callback] = ()) -> tuple[keras.Model, dict[str, Any]]:
    """Train one run with its engine and return the trained model and its record.

    ``callbacks`` (Keras callbacks) need ``spec.engine == "keras"``.

    The record holds per-epoch ``history`` (loss, accuracy, val_loss,
    val_accuracy), ``test_loss``, ``test_accuracy``, ``wall_time`` (seconds,
    fit and test), ``status`` (``"ok"`` or ``"diverged"``, by the module's rule),
    ``diverged_epoch`` (1-based, or None) and ``initial_loss`` (the untrained
    model's loss that rule compares with).
    """
    validate_spec(spec)
    data = data if data is not None else data_for(spec)
    if isinstance(get_engine(spec.engine), StackedEngine):
        if callbacks:
            raise InvalidArgumentError("callbacks", list(callbacks), f"need engine='keras' (got {spec.engine!r})")
        return train_stack([spec], data)[0]
    model = build_for(spec, data)
    start = time.perf_counter()
    initial = initial_loss(model, spec, data)
    bound = divergence_bound(len(data.class_names), initial)
    hist = model.fit(data.x_train, data.y_train, batch_size=spec.batch_size, epochs=spec.epochs,
                     validation_split=spec.validation_split, shuffle=True, verbose=0,
                     callbacks=[keras.callbacks.TerminateOnNaN(), _StopOnDivergence(bound), *callbacks])
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    losses = history.get("loss", [])
    first_bad = diverged_epoch(losses, bound)
    diverged = first_bad is not None or len(losses) < spec.epochs
    if diverged:
        test_loss, test_acc = math.nan, math.nan
    else:
        test_loss, test_acc = (float(v) for v in model.evaluate(data.x_test, data.y_test,
                                                                batch_size=256, verbose=0))
    record = {
        "history": history,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "wall_time": time.perf_counter() - start,
        "status": "diverged" if diverged else "ok",
        "diverged_epoch": (first_bad or len(losses)) if diverged else None,
        "initial_loss": initial,
    }
    return model, record


def train_stack(specs: Sequence[RunSpec], data: PreparedData | None = None,
                monitor: Callable[[StackedModels, int], None] | None = None
                ) -> list[tuple[keras.Model, dict[str, Any]]]:
    """Train runs of one architecture, data and batch size together on the stacked engine.

    The runs may differ in ``init``, ``seed``, ``init_params``, ``learning_rate``, ``momentum``
    and ``nesterov`` (each member keeps its own); the rest must be shared (:func:`_group`).
    The data are handed to the engine once per dataset (:func:`handed_over`).

    ``monitor`` is :func:`initlab.engine.fit_stack`'s (called with the stack before training
    and after each epoch).

    Returns:
        Per run, a Keras model holding its trained weights and its record (as :func:`train`'s).
    """
    if not specs:
        raise InvalidArgumentError("specs", list(specs), "must hold at least one run")
    for spec in specs:
        validate_spec(spec)
    first = specs[0]
    if any(_group(s) != _group(first) for s in specs):
        raise InvalidArgumentError("specs", [s.init for s in specs], "must differ only in init, seed, init_params, "
                                   "learning_rate, momentum and nesterov")
    data = data if data is not None else data_for(first)
    models = [build_for(spec, data) for spec in specs]
    stack, records = fit_stack(models, [s.seed for s in specs],
                               handed_over(data, first.validation_split, get_model_entry(first.model).convolutional),
                               epochs=first.epochs, batch_size=first.batch_size, optimizer=first.optimizer,
                               learning_rate=[s.learning_rate for s in specs], momentum=[s.momentum for s in specs],
                               nesterov=[s.nesterov for s in specs],
                               precision=getattr(get_engine(first.engine), "precision", "float32"),
                               monitor=monitor)
    return [(stack.set_into(i, m), r) for i, (m, r) in enumerate(zip(models, records))]


_HANDED_OVER: dict[tuple[int, float, bool], tuple[PreparedData, EngineData]] = {}
HANDED_OVER_KEPT = 2  # datasets whose tensors stay handed over (the most recent ones)


def handed_over(data: PreparedData, validation_split: float, convolutional: bool) -> EngineData:
    """``data`` as the engine's tensors, converted once per prepared dataset and split, then shared."""
    key = (id(data), float(validation_split), bool(convolutional))
    if key in _HANDED_OVER and _HANDED_OVER[key][0] is data:
        _HANDED_OVER[key] = _HANDED_OVER.pop(key)  # most recent last
        return _HANDED_OVER[key][1]
    tensors = hand_over(data.x_train, data.y_train, data.x_test, data.y_test, validation_split,
                        flatten=not convolutional)
    _HANDED_OVER[key] = (data, tensors)
    while len(_HANDED_OVER) > HANDED_OVER_KEPT:
        del _HANDED_OVER[next(iter(_HANDED_OVER))]
    return tensors


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
def _working_set(model: str, model_params: str, input_shape: tuple[int, ...], batch_size: int
                 ) -> tuple[int, int]:
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
    state, size = _working_set(spec.model, json.dumps(spec.model_params, sort_keys=True), shape,
                               spec.batch_size)
    return int(min(max_stack, max(1, min(STACK_BYTES // size, STATE_BYTES // state))))


class Engine:
    """A way to train runs: which runs it can train, its units of work, and how it trains one."""

    name = ""

    def accepts(self, spec: RunSpec) -> bool:
        """Whether this engine can train ``spec``."""
        raise NotImplementedError

    def units(self, specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
        """``specs`` split into units of work (what one call of :meth:`train`, or one Dask task, trains)."""
        raise NotImplementedError

    def train(self, specs: Sequence[RunSpec], data: PreparedData | None = None,
              monitor: Callable[[StackedModels, int], None] | None = None
              ) -> list[tuple[keras.Model, dict[str, Any]]]:
        """Train one unit of work; per run, the trained model and its record (:func:`train`'s)."""
        raise NotImplementedError


class KerasEngine(Engine):
    """``keras.Model.fit``, one run at a time: trains every model."""

    name = "keras"

    def accepts(self, spec: RunSpec) -> bool:
        return True

    def units(self, specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
        return [[spec] for spec in specs]

    def train(self, specs, data=None, monitor=None):
        if monitor is not None:
            raise InvalidArgumentError("monitor", monitor, "needs a stacked engine (keras fit takes callbacks)")
        return [train(spec, data) for spec in specs]


class StackedEngine(Engine):
    """:mod:`initlab.engine`: runs of one set-up in one compiled step (dense MLPs and the CNN)."""

    def __init__(self, name: str, precision: str):
        self.name, self.precision = name, precision

    def accepts(self, spec: RunSpec) -> bool:
        return (spec.loss == "sparse_categorical_crossentropy"
                and _stackable(spec.model, json.dumps(spec.model_params, sort_keys=True)))

    def units(self, specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
        groups: dict[str, list[RunSpec]] = {}
        for spec in specs:
            groups.setdefault(_group(spec).key(), []).append(spec)
        out = []
        for members in groups.values():
            size = stack_size(members[0], max_stack)
            out += [members[i:i + size] for i in range(0, len(members), size)]
        return out

    def train(self, specs, data=None, monitor=None):
        return train_stack(specs, data, monitor)


ENGINE_REGISTRY: dict[str, Engine] = {e.name: e for e in (KerasEngine(), StackedEngine("stacked", "float32"),
                                                             StackedEngine("stacked_bf16", "bfloat16"))}
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
        raise InvalidArgumentError("engine", engine, f"cannot train model {spec.model!r} with "
                                   f"{spec.model_params or 'its defaults'} (it trains {SUPPORTED}); "
                                   "use 'keras' or 'auto'")
    return engine


def _rows(spec: RunSpec, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    history = record["history"]
    n = len(history.get("loss", []))
    rows = []
    for i in range(n):
        rows.append({
            "dataset": spec.dataset, "model": spec.model, "init": spec.init, "seed": spec.seed,
            "epoch": i + 1,
            **{k: history.get(k, [math.nan] * n)[i] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "test_loss": record["test_loss"], "test_accuracy": record["test_accuracy"],
            "wall_time": record["wall_time"], "status": record["status"],
            "diverged_epoch": record["diverged_epoch"], "engine": spec.engine,
        })
    return rows


@dataclass(frozen=True)
class Study:
    """One study's set-up: a :class:`RunSpec` without ``init`` and ``seed``, plus the
    initializers, seeds and engine. Picklable: notebooks, the command line, the summary
    and Dask tasks pass it around.

    ``init_params`` maps an initializer to its parameters, e.g.
    ``{"random_normal": {"stddev": 0.05}}``; ``engine`` is ``"auto"`` or a name of
    :data:`ENGINE_REGISTRY` (resolved once, per run, by :meth:`specs`).
    """

    dataset: str
    model: str
    inits: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    loss: str = "sparse_categorical_crossentropy"
    validation_split: float = 0.2
    train_limit: int | None = None
    test_limit: int | None = None
    preprocess: str = "scale"
    init_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    model_params: Mapping[str, Any] = field(default_factory=dict)
    engine: str = "auto"
    momentum: float = 0.0
    nesterov: bool = False

    def specs(self) -> list[RunSpec]:
        """One validated :class:`RunSpec` per (init, seed), its engine resolved.

        Raises:
            InvalidArgumentError, UnknownNameError: before any data are loaded.
        """
        inits, seeds = _study_lists(self.inits, self.seeds)
        specs = [RunSpec(dataset=self.dataset, model=self.model, init=init, seed=seed, epochs=self.epochs,
                         batch_size=self.batch_size, optimizer=self.optimizer, learning_rate=self.learning_rate,
                         loss=self.loss, validation_split=self.validation_split, train_limit=self.train_limit,
                         test_limit=self.test_limit, preprocess=self.preprocess,
                         init_params=dict((self.init_params or {}).get(init, {})),
                         model_params=dict(self.model_params or {}), momentum=self.momentum, nesterov=self.nesterov)
                 for init in inits for seed in seeds]
        for spec in specs:
            validate_spec(spec)
        return [replace(_plain(spec), engine=resolve_engine(spec, self.engine)) for spec in specs]

    def run(self, cache: bool = True, cache_root: str | None = None, progress: bool = False,
            max_stack: int = MAX_STACK, cached_only: bool = False, client: Any = None) -> pd.DataFrame:
        """Train (or read from the cache) every run; one row per (init, seed, epoch).

        Args:
            cache: reuse and store finished runs on disk.
            cache_root: cache folder (default ``$INITLAB_CACHE`` or ``data/cache``).
            progress: show a progress bar over runs (stderr).
            max_stack: at most this many runs share one stacked step; big models share it
                with fewer (:func:`stack_size`). Finished stacks are cached, so an
                interrupted study resumes from them.
            cached_only: train nothing: every run must come from the cache.
            client: a ``distributed.Client``: each unit of work (a stack, or one ``keras``
                run) becomes a Dask task on its workers, which need the package and the data
                (``INITLAB_DATA``) but no cache: records come back through Dask and this
                process writes the cache, so the numbers are those of a local study.

        Raises:
            MissingRunsError: ``cached_only`` and some runs are not in the cache (a run cached
                under the divergence rule of an older version whose loss went above 10 ln(C)
                counts as missing: that rule may judge it differently).
        """
        specs = self.specs()
        records = _records(specs, cache, cache_root, progress, max_stack, cached_only, client,
                           f"{self.dataset}/{self.model}")
        return pd.DataFrame([row for spec in specs for row in _rows(spec, records[spec.key()])],
                            columns=RESULT_COLUMNS)


def _records(specs: Sequence[RunSpec], cache: bool, cache_root: str | None, progress: bool, max_stack: int,
             cached_only: bool, client: Any, label: str) -> dict[str, dict[str, Any]]:
    """Every run's record by cache key: read from the cache, or trained in units of work (see :meth:`Study.run`)."""
    _check_integer("max_stack", max_stack, 1)
    if cached_only and not cache:
        raise InvalidArgumentError("cached_only", cached_only, "needs cache=True (it reads every run from the "
                                   "cache and trains none)")
    store = RunCache(cache_root or cache_dir()) if cache else None
    records: dict[str, dict[str, Any]] = {}  # by cache key
    for spec in specs:
        record = store.load(spec.key()) if store else None
        if record is not None and follows_divergence_rule(record, len(ds.get_spec(spec.dataset).class_names)):
            records[spec.key()] = record
    pending = list({s.key(): s for s in specs if s.key() not in records}.values())
    if cached_only and pending:
        first = pending[0]
        raise MissingRunsError.for_study(first.dataset, first.model, [(s.init, s.seed) for s in pending],
                                         len(specs), str(store.root))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs), initial=len(specs) - len(pending), desc=label, unit="run")
    for batch, batch_records in _trained(_batches(pending, int(max_stack)), client):
        for spec, record in zip(batch, batch_records):
            records[spec.key()] = record
            if store:
                store.save(spec.key(), record)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return records


def run_grid(studies: Sequence[Study], cache: bool = True, cache_root: str | None = None, progress: bool = False,
             max_stack: int = MAX_STACK, cached_only: bool = False, client: Any = None) -> pd.DataFrame:
    """Run many studies as one: every run of every study, stacked across studies.

    Runs that share an architecture, data and batch size train in one stack whatever
    their initializer, seed, learning rate or momentum, so a grid of learning rates x
    initializers x seeds is a few compiled steps, not one per learning rate. The
    arguments after ``studies`` are :meth:`Study.run`'s; every study is checked before
    any data are loaded. A run that two studies both ask for trains once.

    Returns:
        One row per (study, init, seed, epoch): ``RESULT_COLUMNS`` and ``SETUP_COLUMNS``
        (the optimizer, its learning rate resolved to a number, momentum, Nesterov's flag,
        :func:`~initlab.optimizers.optimizer_label` of them, and the run's initializer and
        model parameters as JSON text, so studies that differ only in those stay apart).
    """
    if isinstance(studies, Study) or not isinstance(studies, Iterable):
        raise InvalidArgumentError("studies", studies, "must be a list of Study objects")
    studies = list(studies)
    if not studies or not all(isinstance(s, Study) for s in studies):
        raise InvalidArgumentError("studies", studies, "must be a non-empty list of Study objects")
    per_study = [study.specs() for study in studies]
    specs = [spec for specs in per_study for spec in specs]
    records = _records(specs, cache, cache_root, progress, max_stack, cached_only, client, "grid")
    rows = []
    for spec in specs:
        setup = {"optimizer": spec.optimizer,
                 "learning_rate": resolved_learning_rate(spec.optimizer, spec.learning_rate),
                 "momentum": spec.momentum, "nesterov": spec.nesterov,
                 "optimizer_setting": optimizer_label(spec.optimizer, spec.momentum, spec.nesterov),
                 "init_params": json.dumps(spec.init_params, sort_keys=True),
                 "model_params": json.dumps(spec.model_params, sort_keys=True)}
        rows += [{**row, **setup} for row in _rows(spec, records[spec.key()])]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS + SETUP_COLUMNS)


def run_study(
    dataset: str,
    model: str,
    inits: Sequence[str],
    seeds: Sequence[int] = (0,),
    epochs: int = 5,
    batch_size: int = 32,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    loss: str = "sparse_categorical_crossentropy",
    validation_split: float = 0.2,
    train_limit: int | None = None,
    test_limit: int | None = None,
    preprocess: str = "scale",
    init_params: Mapping[str, Mapping[str, Any]] | None = None,
    model_params: Mapping[str, Any] | None = None,
    cache: bool = True,
    cache_root: str | None = None,
    progress: bool = False,
    engine: str = "auto",
    max_stack: int = MAX_STACK,
    cached_only: bool = False,
    client: Any = None,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> pd.DataFrame:
    """Train every (initializer, seed) pair and return the tidy results: ``Study(...).run(...)``.

    The set-up arguments are :class:`Study`'s (``dataset`` ... ``model_params``, ``engine``,
    ``momentum``, ``nesterov``: Adam with Keras defaults and batch 32 unless given; ``engine`` ``"auto"``, ``"keras"``,
    ``"stacked"`` or ``"stacked_bf16"``, see the module doc), the others :meth:`Study.run`'s.
    Every argument is checked (:func:`validate_spec`) before any data are loaded or any run
    trains; seeds and initializers must not repeat.

    Returns:
        One row per (init, seed, epoch) with the columns of ``RESULT_COLUMNS``.
    """
    if isinstance(inits, (str, bytes)) or not isinstance(inits, Iterable):
        raise InvalidArgumentError("inits", inits, "must be a non-empty list of initializer names")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise InvalidArgumentError("seeds", seeds, "must be a non-empty list of integers")
    study = Study(dataset, model, tuple(inits), tuple(seeds), epochs, batch_size, optimizer, learning_rate, loss,
                  validation_split, train_limit, test_limit, preprocess, dict(init_params or {}),
                  dict(model_params or {}), engine, momentum, nesterov)
    return study.run(cache=cache, cache_root=cache_root, progress=progress, max_stack=max_stack,
                     cached_only=cached_only, client=client)


def train_batch(batch: Sequence[RunSpec]) -> list[dict[str, Any]]:
    """The records of one unit of work: a stack on the stacked engine, or one run on ``keras``."""
    results = get_engine(batch[0].engine).train(batch)
    keras.backend.clear_session(free_memory=False)  # Keras' global state; the garbage collector runs as it will
    return [record for _, record in results]


def _trained(batches: Sequence[Sequence[RunSpec]], client: Any = None
             ) -> Iterable[tuple[Sequence[RunSpec], list[dict[str, Any]]]]:
    """Each batch with its records, trained here in order or, with a Dask ``client``, on its workers."""
    if client is None:
        for batch in batches:
            yield batch, train_batch(batch)
        return
    from distributed import as_completed

    futures = {client.submit(train_batch, list(batch), pure=False): batch for batch in batches}
    for future in as_completed(futures):
        yield futures[future], future.result()


def _study_lists(inits: Iterable[str], seeds: Iterable[int]) -> tuple[list[str], list[int]]:
    """``inits`` and ``seeds`` as lists; refused when empty or repeating, or a seed is outside [0, 2**32 - 1]."""
    lists = []
    for name, values, what in (("inits", inits, "initializer names"), ("seeds", seeds, "integers")):
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise InvalidArgumentError(name, values, f"must be a non-empty list of {what}")
        lists.append(list(values))
        if not lists[-1]:
            raise InvalidArgumentError(name, lists[-1], f"must be a non-empty list of {what}")
    inits, seeds = lists
    for seed in seeds:
        _check_seed(seed)
    seeds = [int(s) for s in seeds]
    for name, values in (("inits", inits), ("seeds", seeds)):
        repeated = []
        for i, value in enumerate(values):
            if value in values[:i] and value not in repeated:
                repeated.append(value)
        if repeated:
            raise InvalidArgumentError(name, values, f"must not repeat a value (repeated: "
                                       f"{', '.join(map(str, repeated))}): each (init, seed) run is trained once")
    return inits, seeds


def _plain(spec: RunSpec) -> RunSpec:
    """``spec`` with plain Python numbers (its cache key is their JSON); a validated spec."""
    lr, train_limit, test_limit = spec.learning_rate, spec.train_limit, spec.test_limit
    return replace(spec, seed=int(spec.seed), epochs=int(spec.epochs), batch_size=int(spec.batch_size),
                   momentum=float(spec.momentum), nesterov=bool(spec.nesterov),
                   validation_split=float(spec.validation_split),
                   train_limit=None if train_limit is None else int(train_limit),
                   test_limit=None if test_limit is None else int(test_limit),
                   learning_rate=lr if lr is None or type(lr) in (int, float) else float(lr))


def follows_divergence_rule(record: Mapping[str, Any], n_classes: int) -> bool:
    """Whether a cached record agrees with today's divergence rule.

    A record made under it carries ``initial_loss``. One made before (when only a NaN or
    infinite loss meant divergence) agrees when its finite losses stay within 10 ln(C),
    the lowest the bound can be; any other is trained again.
    """
    if "initial_loss" in record:
        return True
    lowest = divergence_bound(n_classes, 0.0)
    return not any(math.isfinite(v) and v > lowest for v in record["history"].get("loss", []))


def _batches(specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
    """The units of work of ``specs``, engine by engine (:meth:`Engine.units`)."""
    out: list[list[RunSpec]] = []
    for name in dict.fromkeys(s.engine for s in specs):
        out += get_engine(name).units([s for s in specs if s.engine == name], max_stack)
    return out
