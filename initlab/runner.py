"""Run a study: every (initializer, seed) pair trained the way the sources do it.

A study trains one model per initializer and seed (Adam with Keras defaults,
sparse categorical cross-entropy, accuracy, the last ``validation_split`` of
the training set held out before shuffling) and returns a tidy frame: one row
per (init, seed, epoch). Each run is seeded on its own (Python, NumPy,
TensorFlow and every kernel) with TensorFlow's op determinism on, so the same
seed repeats bit for bit on the same machine. Finished runs are cached on
disk; a run whose loss turns NaN or infinite is recorded as diverged.

Two engines train, and the ``engine`` column says which ran:

* ``keras``: ``keras.Model.fit`` once per run, as the sources do;
* ``stacked`` (:mod:`initlab.engine`): many models of one architecture (the
  dense MLPs and the CNN) in one compiled step, the same arithmetic; each
  epoch's batch order is drawn from the seed, so runs with the same seed see
  the same batches whatever their initializer (a paired design).
  ``stacked_bf16`` does its matmuls in bfloat16.

``engine="auto"`` (the default) picks ``stacked`` wherever the engine can
train the model and ``keras`` for everything else (dropout, for one).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
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
from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.engine import SUPPORTED, StackedModels, fit_stack, stackable
from initlab.initializers import get_initializer
from initlab.lsuv import apply_data_init
from initlab.models import build_model, get_model_entry
from initlab.paths import cache_dir

tf.config.experimental.enable_op_determinism()

ENGINES = ("auto", "keras", "stacked", "stacked_bf16")
MAX_STACK = 8  # models per stack at most: the `000` MLP's fastest per model on 2 cores (`initlab bench`)
STACK_BYTES = 16 * 2**20  # a stack's working set (see `stack_size`) stays within this,
STATE_BYTES = 12 * 2**20  # and its weights and Adam state within this
PREPROCESSING = ("scale", "standardize")
OPTIMIZERS = ("adam", "sgd")
RESULT_COLUMNS = ["dataset", "model", "init", "seed", "epoch", "loss", "accuracy", "val_loss",
                  "val_accuracy", "test_loss", "test_accuracy", "wall_time", "status",
                  "diverged_epoch", "engine"]


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

    def key(self) -> str:
        """Cache key: the full specification plus the package version."""
        return spec_key({**asdict(self), "version": __version__})


@dataclass(frozen=True)
class PreparedData:
    """A dataset after preprocessing, ready for ``fit``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def validate_spec(spec: RunSpec) -> None:
    """Raise :class:`InvalidArgumentError` for values no run can use."""
    get_model_entry(spec.model)
    if spec.dataset not in ds.dataset_names():
        raise UnknownNameError("dataset", spec.dataset, ds.dataset_names())
    get_initializer(spec.init, seed=0, **spec.init_params)
    if int(spec.epochs) < 1:
        raise InvalidArgumentError("epochs", spec.epochs, "must be an integer >= 1")
    if int(spec.batch_size) < 1:
        raise InvalidArgumentError("batch_size", spec.batch_size, "must be an integer >= 1")
    if not 0.0 <= spec.validation_split < 1.0:
        raise InvalidArgumentError("validation_split", spec.validation_split, "must be in [0, 1)")
    if spec.preprocess not in PREPROCESSING:
        raise InvalidArgumentError("preprocess", spec.preprocess, f"must be one of {', '.join(PREPROCESSING)}")
    if spec.engine not in ENGINES[1:]:
        raise InvalidArgumentError("engine", spec.engine, f"must be one of {', '.join(ENGINES)}")
    if spec.optimizer not in OPTIMIZERS:
        raise InvalidArgumentError("optimizer", spec.optimizer, f"must be one of {', '.join(OPTIMIZERS)}")
    for name in ("train_limit", "test_limit"):
        value = getattr(spec, name)
        if value is not None and int(value) < 1:
            raise InvalidArgumentError(name, value, "must be a positive integer")


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
    """Adam (or SGD) with Keras defaults unless a learning rate is given."""
    cls = keras.optimizers.Adam if spec.optimizer == "adam" else keras.optimizers.SGD
    return cls() if spec.learning_rate is None else cls(learning_rate=spec.learning_rate)


def build_for(spec: RunSpec, data: PreparedData) -> keras.Model:
    """Seed everything for ``spec.seed`` and build the compiled, untrained model."""
    keras.utils.set_random_seed(int(spec.seed))
    model = build_model(spec.model, data.x_train.shape[1:], init=spec.init, seed=int(spec.seed),
                        n_classes=len(data.class_names), init_params=spec.init_params,
                        **spec.model_params)
    apply_data_init(model, spec.init, data.x_train, int(spec.seed))
    model.compile(optimizer=make_optimizer(spec), loss=spec.loss, metrics=["accuracy"])
    return model


def train(spec: RunSpec, data: PreparedData | None = None,
          callbacks: Sequence[keras.callbacks.Callback] = ()) -> tuple[keras.Model, dict[str, Any]]:
    """Train one run with its engine and return the trained model and its record.

    ``callbacks`` (Keras callbacks) need ``spec.engine == "keras"``.

    The record holds per-epoch ``history`` (loss, accuracy, val_loss,
    val_accuracy), ``test_loss``, ``test_accuracy``, ``wall_time`` (seconds,
    fit and test), ``status`` (``"ok"`` or ``"diverged"``) and
    ``diverged_epoch`` (1-based, or None).
    """
    validate_spec(spec)
    data = data if data is not None else data_for(spec)
    if spec.engine != "keras":
        if callbacks:
            raise InvalidArgumentError("callbacks", list(callbacks), f"need engine='keras' (got {spec.engine!r})")
        return train_stack([spec], data)[0]
    model = build_for(spec, data)
    start = time.perf_counter()
    hist = model.fit(data.x_train, data.y_train, batch_size=spec.batch_size, epochs=spec.epochs,
                     validation_split=spec.validation_split, shuffle=True, verbose=0,
                     callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks])
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    losses = history.get("loss", [])
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    diverged = bool(bad) or len(losses) < spec.epochs
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
        "diverged_epoch": (bad[0] + 1 if bad else len(losses)) if diverged else None,
    }
    return model, record


def train_stack(specs: Sequence[RunSpec], data: PreparedData | None = None,
                monitor: Callable[[StackedModels, int], None] | None = None
                ) -> list[tuple[keras.Model, dict[str, Any]]]:
    """Train runs that differ only in ``init``, ``seed`` and ``init_params`` together on the stacked engine.

    ``monitor`` is :func:`initlab.engine.fit_stack`'s (called with the stack before training
    and after each epoch).

    Returns:
        Per run, a Keras model holding its trained weights and its record (as :func:`train`'s).
    """
    first = specs[0]
    if any(_group(s) != _group(first) for s in specs):
        raise InvalidArgumentError("specs", [s.init for s in specs], "must differ only in init, seed and init_params")
    data = data if data is not None else data_for(first)
    models = [build_for(spec, data) for spec in specs]
    stack, records = fit_stack(models, [s.seed for s in specs], data.x_train, data.y_train, data.x_test,
                               data.y_test, epochs=first.epochs, batch_size=first.batch_size,
                               validation_split=first.validation_split, optimizer=first.optimizer,
                               learning_rate=first.learning_rate,
                               precision="bfloat16" if first.engine == "stacked_bf16" else "float32",
                               monitor=monitor)
    return [(stack.set_into(i, m), r) for i, (m, r) in enumerate(zip(models, records))]


def _group(spec: RunSpec) -> RunSpec:
    """``spec`` without what may differ inside one stack."""
    return replace(spec, init="", seed=0, init_params={})


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


def resolve_engine(spec: RunSpec, engine: str = "auto") -> str:
    """The engine that trains ``spec``: ``engine``, or for ``"auto"`` the stacked one where it applies."""
    if engine not in ENGINES:
        raise InvalidArgumentError("engine", engine, f"must be one of {', '.join(ENGINES)}")
    fits = (spec.loss == "sparse_categorical_crossentropy"
            and _stackable(spec.model, json.dumps(spec.model_params, sort_keys=True)))
    if engine == "auto":
        return "stacked" if fits else "keras"
    if engine != "keras" and not fits:
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
) -> pd.DataFrame:
    """Train every (initializer, seed) pair and return the tidy results.

    Args:
        dataset: ``mnist``, ``fashion_mnist`` or ``cifar10``.
        model: a name from ``initlab models``.
        inits: initializer names (``initlab inits``).
        seeds: one run per seed and initializer.
        epochs, batch_size, optimizer, learning_rate, loss: training set-up
            (defaults: Adam with Keras defaults, batch 32).
        validation_split: fraction held out from the end of the training set.
        train_limit, test_limit: use only the first examples of each split.
        preprocess: ``"scale"`` or ``"standardize"``.
        init_params: per-initializer parameters, e.g. ``{"random_normal": {"stddev": 0.05}}``.
        model_params: architecture options (for ``deep_mlp``).
        cache: reuse and store finished runs on disk.
        cache_root: cache folder (default ``$INITLAB_CACHE`` or ``data/cache``).
        progress: show a progress bar over runs (stderr).
        engine: ``"auto"``, ``"keras"``, ``"stacked"`` or ``"stacked_bf16"`` (see the module doc).
        max_stack: at most this many runs share one stacked step; big models share it with
            fewer (:func:`stack_size`). Finished stacks are cached, so an interrupted study
            resumes from them.

    Returns:
        One row per (init, seed, epoch) with the columns of ``RESULT_COLUMNS``.
    """
    if int(max_stack) < 1:
        raise InvalidArgumentError("max_stack", max_stack, "must be an integer >= 1")
    specs = [RunSpec(dataset=dataset, model=model, init=init, seed=int(seed), epochs=int(epochs),
                     batch_size=int(batch_size), optimizer=optimizer, learning_rate=learning_rate,
                     loss=loss, validation_split=float(validation_split), train_limit=train_limit,
                     test_limit=test_limit, preprocess=preprocess,
                     init_params=dict((init_params or {}).get(init, {})),
                     model_params=dict(model_params or {}))
             for init in inits for seed in seeds]
    for spec in specs:
        validate_spec(spec)
    specs = [replace(spec, engine=resolve_engine(spec, engine)) for spec in specs]
    store = RunCache(cache_root or cache_dir()) if cache else None
    records: dict[str, dict[str, Any]] = {}  # by cache key
    for spec in specs:
        record = store.load(spec.key()) if store else None
        if record is not None:
            records[spec.key()] = record
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs), initial=len(records), desc=f"{dataset}/{model}", unit="run")
    pending = [s for s in specs if s.key() not in records]
    for batch in _batches(pending, int(max_stack)):
        results = train_stack(batch) if batch[0].engine != "keras" else [train(batch[0])]
        for spec, (_, record) in zip(batch, results):
            records[spec.key()] = record
            if store:
                store.save(spec.key(), record)
        keras.backend.clear_session()
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return pd.DataFrame([row for spec in specs for row in _rows(spec, records[spec.key()])], columns=RESULT_COLUMNS)


def _batches(specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
    """Keras runs one at a time; stacked runs grouped by set-up, :func:`stack_size` together."""
    groups: dict[str, list[RunSpec]] = {}
    out = []
    for spec in specs:
        if spec.engine == "keras":
            out.append([spec])
        else:
            groups.setdefault(_group(spec).key(), []).append(spec)
    for members in groups.values():
        size = stack_size(members[0], max_stack)
        out += [members[i:i + size] for i in range(0, len(members), size)]
    return out
