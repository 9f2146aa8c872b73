"""A study: every (initializer, seed) pair of one set-up trained the way the sources do it.

A study trains one model per initializer and seed (Adam with Keras defaults
unless another optimizer of :mod:`initlab.training.optimizers` is given, sparse
categorical cross-entropy, accuracy, the last ``validation_split`` of
the training set held out before shuffling) and returns a tidy frame: one row
per (init, seed, epoch). Each run is seeded on its own (Python, NumPy,
TensorFlow and every kernel) with TensorFlow's op determinism on, so the same
seed repeats bit for bit on the same machine. Finished runs are cached on
disk.

:func:`run_grid` runs many studies as one (say, one per learning rate and
optimizer): runs that share an architecture, data and batch size stack together
whatever their initializer, seed, learning rate or momentum. With a Dask
``client`` each unit of work becomes a task on its workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import keras
import pandas as pd

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
from initlab.data import datasets as ds
from initlab.errors import InvalidArgumentError, MissingRunsError
from initlab.paths import cache_dir
from initlab.training.cache import RunCache
from initlab.training.engines import MAX_STACK, Engine, get_engine, resolve_engine
from initlab.training.optimizers import (
    optimizer_label,
    resolved_learning_rate,
)
from initlab.training.record import (
    RESULT_COLUMNS,
    RunRecord,
    follows_divergence_rule,
)
from initlab.training.spec import RunSpec, _check_integer, _plain, _study_lists, validate_spec

SETUP_COLUMNS = ["optimizer", "learning_rate", "momentum", "nesterov", "optimizer_setting", "init_params",
                 "model_params"]  # run_grid's, after those; the parameters as JSON text


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
        return pd.DataFrame([row for spec in specs for row in records[spec.key()].rows(spec)],
                            columns=RESULT_COLUMNS)


def _records(specs: Sequence[RunSpec], cache: bool, cache_root: str | None, progress: bool, max_stack: int,
             cached_only: bool, client: Any, label: str) -> dict[str, RunRecord]:
    """Every run's record by cache key: read from the cache, or trained in units of work (see :meth:`Study.run`)."""
    _check_integer("max_stack", max_stack, 1)
    if cached_only and not cache:
        raise InvalidArgumentError("cached_only", cached_only, "needs cache=True (it reads every run from the "
                                   "cache and trains none)")
    store = RunCache(cache_root or cache_dir()) if cache else None
    records: dict[str, RunRecord] = {}  # by cache key
    for spec in specs:
        record = store.load_record(spec.key()) if store else None
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
                store.save_record(spec.key(), record)
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
        :func:`~initlab.training.optimizers.optimizer_label` of them, and the run's initializer and
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
        rows += [{**row, **setup} for row in records[spec.key()].rows(spec)]
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


def train_batch(engine: Engine, batch: Sequence[RunSpec]) -> list[RunRecord]:
    """The records of one unit of work of ``engine``: a stack on a stacked engine, or one run on ``keras``."""
    results = engine.train(batch)
    keras.backend.clear_session(free_memory=False)  # Keras' global state; the garbage collector runs as it will
    return [record for _, record in results]


def _trained(batches: Sequence[tuple[Engine, Sequence[RunSpec]]], client: Any = None
             ) -> Iterable[tuple[Sequence[RunSpec], list[RunRecord]]]:
    """Each unit's runs with their records, trained here in order or, with a Dask ``client``, on its workers."""
    if client is None:
        for engine, batch in batches:
            yield batch, train_batch(engine, batch)
        return
    from distributed import as_completed

    futures = {client.submit(train_batch, engine, list(batch), pure=False): batch for engine, batch in batches}
    for future in as_completed(futures):
        yield futures[future], future.result()


def _batches(specs: Sequence[RunSpec], max_stack: int) -> list[tuple[Engine, list[RunSpec]]]:
    """The units of work of ``specs``, engine by engine (:meth:`Engine.units`), each with its engine.

    Each spec names its engine (resolved by :meth:`Study.specs`); it is looked up here, once per engine.
    """
    out: list[tuple[Engine, list[RunSpec]]] = []
    for name in dict.fromkeys(s.engine for s in specs):
        engine = get_engine(name)
        out += [(engine, unit) for unit in engine.units([s for s in specs if s.engine == name], max_stack=max_stack)]
    return out
