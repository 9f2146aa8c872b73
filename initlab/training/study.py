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
``client``, or by default on this machine's cores (:mod:`initlab.workers`), each
unit of work becomes a task on Dask workers.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import inspect
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab.data import datasets as ds
from initlab.errors import InvalidArgumentError, MissingRunsError
from initlab.nets.user_inits import init_label, is_initializer_object
from initlab.paths import cache_dir
from initlab.training.cache import RunCache
from initlab.training.engines import MAX_STACK, Engine, get_engine, resolve_engine
from initlab.training.optimizers import canonical_learning_rate, optimizer_label, resolved_learning_rate
from initlab.training.record import RESULT_COLUMNS, RunRecord, follows_divergence_rule
from initlab.training.spec import SETUP_FIELDS, RunSpec, Setup, _check_integer, _plain, _study_lists, validate_spec
from initlab.workers import placement, threads_per_unit

SETUP_COLUMNS = [
    "optimizer",
    "learning_rate",
    "momentum",
    "nesterov",
    "optimizer_setting",
    "init_params",
    "model_params",
]  # run_grid's, after those; the parameters as JSON text


@dataclass(frozen=True)
class Study(Setup):
    """One study's set-up: a :class:`Setup` plus the initializers, the seeds and each initializer's
    parameters; ``Study(dataset, model, inits, *, ...)``. Picklable: notebooks, the command line,
    the summary and Dask tasks pass it around.

    An initializer is a registered name, an import path ``package.module:Name`` (optionally with
    JSON keyword arguments: ``'mypkg.inits:ScaledHe{"gain": 0.1}'``), or a Keras initializer class
    or instance, which the study stores as its import path
    (:func:`~initlab.nets.user_inits.init_label`; e.g. ``mypkg.inits:ScaledHe{"gain":2}``): the
    ``init`` of its runs and of their rows.

    ``init_params`` maps an initializer (its name, path, class or instance) to its parameters, e.g.
    ``{"random_normal": {"stddev": 0.05}}``; ``engine`` is ``"auto"`` (the default here) or a
    name of :data:`ENGINE_REGISTRY` (resolved once, per run, by :meth:`specs`).
    """

    inits: tuple[str, ...]
    seeds: tuple[int, ...] = field(default=(0,), kw_only=True)
    init_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, kw_only=True)
    engine: str = field(default="auto", kw_only=True)

    def __post_init__(self) -> None:
        # classes and instances become their import paths, so a study holds strings (labels, cache keys, pickles)
        if isinstance(self.inits, (list, tuple)) and any(is_initializer_object(i) for i in self.inits):
            object.__setattr__(self, "inits", tuple(init_label(i) for i in self.inits))
        params = self.init_params
        if isinstance(params, Mapping) and any(is_initializer_object(k) for k in params):
            object.__setattr__(self, "init_params", {init_label(k): v for k, v in params.items()})

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Study:
        """The study of a notebook's parameters (its ``parameters`` cell, as
        :func:`initlab.pipeline.parameters.read_parameters` reads it).

        Names that are fields of the study (``dataset``, ``model``, ``inits``, ``seeds``,
        ``epochs``, ``batch_size``, ``optimizer``, ``learning_rate``, ``validation_split``,
        ``train_limit``, ``test_limit``...) are taken, list-valued ``inits`` and ``seeds``
        as tuples; other names (``delta``, ``target``...) are ignored.

        Raises:
            InvalidArgumentError: ``dataset``, ``model`` or ``inits`` is missing.
        """
        names = [f.name for f in fields(cls) if f.init]
        taken = {k: v for k, v in parameters.items() if k in names}
        missing = [k for k in ("dataset", "model", "inits") if k not in taken]
        if missing:
            raise InvalidArgumentError("parameters", sorted(parameters), f"must name {', '.join(missing)}")
        for k in ("inits", "seeds"):
            if isinstance(taken.get(k), list):
                taken[k] = tuple(taken[k])
        return cls(**taken)

    def specs(self) -> list[RunSpec]:
        """One validated :class:`RunSpec` per (init, seed): the set-up's fields, the initializer's
        parameters, the engine resolved and the learning rate in its canonical form
        (:func:`~initlab.training.optimizers.canonical_learning_rate`).

        Raises:
            InvalidArgumentError, UnknownNameError: before any data are loaded.
        """
        inits, seeds = _study_lists(self.inits, self.seeds)
        setup = {name: getattr(self, name) for name in SETUP_FIELDS if name != "engine"}  # resolved below
        setup["model_params"] = dict(self.model_params or {})
        specs = [
            RunSpec(init=init, seed=seed, init_params=dict((self.init_params or {}).get(init, {})), **setup)
            for init in inits
            for seed in seeds
        ]
        for spec in specs:
            validate_spec(spec)
        plain = [_plain(spec) for spec in specs]
        return [
            replace(
                p,
                engine=resolve_engine(spec, self.engine),
                learning_rate=canonical_learning_rate(p.optimizer, p.learning_rate),
            )
            for spec, p in zip(specs, plain)
        ]

    def run(
        self,
        *,
        cache: bool = True,
        cache_root: str | None = None,
        progress: bool = False,
        max_stack: int = MAX_STACK,
        cached_only: bool = False,
        client: Any = None,
        threads: int | None = None,
    ) -> pd.DataFrame:
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
            threads: threads per unit of work (default ``$INITLAB_THREADS``, else 1). Without a
                ``client``, several units train at once on this machine's cores, one worker
                process per ``threads`` cores (:mod:`initlab.workers`).

        Every argument is checked (:func:`validate_spec`) before any data are loaded or any run
        trains; seeds and initializers must not repeat.

        Returns:
            One row per (init, seed, epoch) with the columns of ``RESULT_COLUMNS``.

        Raises:
            MissingRunsError: ``cached_only`` and some runs are not in the cache (a run cached
                under the divergence rule of an older version whose loss went above 10 ln(C)
                counts as missing: that rule may judge it differently).
        """
        specs = self.specs()
        if cache:
            adopt_earlier_runs(specs, cache_root)
        records = _records(
            specs, cache, cache_root, progress, max_stack, cached_only, client, threads, f"{self.dataset}/{self.model}"
        )
        return pd.DataFrame([row for spec in specs for row in records[spec.key()].rows(spec)], columns=RESULT_COLUMNS)


def adopt_earlier_runs(specs: Sequence[RunSpec], cache_root: str | None = None) -> int:
    """Make runs cached under an earlier key of theirs (:meth:`RunSpec.earlier_keys`) findable
    under their key: each such entry is copied (the earlier one stays). Returns how many were.

    A study that named Adam's default rate (0.001) stored its runs under that number; the same
    runs now have the canonical rate None, so a reproduction still reuses every run cached before.
    """
    store = RunCache(cache_root or cache_dir())
    adopted = 0
    for spec in specs:
        key = spec.key()
        if store.path(key).exists():
            continue
        for earlier in spec.earlier_keys():
            record = store.load(earlier) if store.path(earlier).exists() else None
            if record is not None:
                store.save(key, record)
                adopted += 1
                break
    return adopted


def study_of_rows(grid: pd.DataFrame, studies: Sequence[Study]) -> np.ndarray:
    """For each row of ``run_grid(studies)``, the index in ``studies`` of the study it belongs to.

    :func:`run_grid` gives each run's epochs in turn, run after run in the order of the studies'
    :meth:`Study.specs`; a run's rows start at epoch 1.
    """
    run = np.cumsum(grid["epoch"].to_numpy() == 1) - 1
    per_run = np.repeat(np.arange(len(studies)), [len(s.inits) * len(s.seeds) for s in studies])
    if len(grid) and run[-1] + 1 != len(per_run):
        raise InvalidArgumentError(
            "grid", f"{run[-1] + 1} runs", f"must be run_grid's frame of the {len(per_run)} runs of these studies"
        )
    return per_run[run]


def _records(
    specs: Sequence[RunSpec],
    cache: bool,
    cache_root: str | None,
    progress: bool,
    max_stack: int,
    cached_only: bool,
    client: Any,
    threads: int | None,
    label: str,
) -> dict[str, RunRecord]:
    """Every run's record by cache key: read from the cache, or trained in units of work (see :meth:`Study.run`)."""
    _check_integer("max_stack", max_stack, 1)
    threads_per_unit(threads)  # checked before anything loads
    if cached_only and not cache:
        raise InvalidArgumentError(
            "cached_only", cached_only, "needs cache=True (it reads every run from the cache and trains none)"
        )
    store = RunCache(cache_root or cache_dir()) if cache else None
    records: dict[str, RunRecord] = {}  # by cache key
    for spec in specs:
        record = store.load_record(spec.key()) if store else None
        if record is not None and follows_divergence_rule(record, len(ds.get_spec(spec.dataset).class_names)):
            records[spec.key()] = record
    pending = list({s.key(): s for s in specs if s.key() not in records}.values())
    if cached_only and pending:
        first = pending[0]
        raise MissingRunsError.for_study(
            first.dataset,
            first.model,
            [(s.init, s.seed) for s in pending],
            total=len(specs),
            cache_root=str(store.root),
        )
    bar = None
    if progress and not os.environ.get("TQDM_DISABLE"):  # tqdm's own switch, set in reproduce's kernels
        from tqdm.auto import tqdm  # imported only for a bar: in a kernel without ipywidgets it warns

        bar = tqdm(total=len(specs), initial=len(specs) - len(pending), desc=label, unit="run")
    units = _batches(pending, int(max_stack))
    for batch, batch_records in _trained(units, placement(len(units), threads=threads, client=client)):
        for spec, record in zip(batch, batch_records):
            records[spec.key()] = record
            if store:
                store.save_record(spec.key(), record)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return records


def run_grid(
    studies: Sequence[Study],
    *,
    cache: bool = True,
    cache_root: str | None = None,
    progress: bool = False,
    max_stack: int = MAX_STACK,
    cached_only: bool = False,
    client: Any = None,
    threads: int | None = None,
) -> pd.DataFrame:
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
    if cache:
        adopt_earlier_runs(specs, cache_root)
    records = _records(specs, cache, cache_root, progress, max_stack, cached_only, client, threads, "grid")
    rows = []
    for spec in specs:
        setup = {
            "optimizer": spec.optimizer,
            "learning_rate": resolved_learning_rate(spec.optimizer, spec.learning_rate),
            "momentum": spec.momentum,
            "nesterov": spec.nesterov,
            "optimizer_setting": optimizer_label(spec.optimizer, spec.momentum, spec.nesterov),
            "init_params": json.dumps(spec.init_params, sort_keys=True),
            "model_params": json.dumps(spec.model_params, sort_keys=True),
        }
        rows += [{**row, **setup} for row in records[spec.key()].rows(spec)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS + SETUP_COLUMNS)


def run_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into set-up fields (for :class:`Study`) and :func:`run_grid`'s options
    (``cache``, ``cache_root``, ``progress``, ``max_stack``, ``cached_only``, ``client``, ``threads``)."""
    names = set(inspect.signature(run_grid).parameters) - {"studies"}
    return ({k: v for k, v in options.items() if k not in names}, {k: v for k, v in options.items() if k in names})


def run_each(
    studies: Sequence[Study], *, parts: Sequence[Sequence[int]] | None = None, **run: Any
) -> list[pd.DataFrame]:
    """Each study's rows (``RESULT_COLUMNS``, as :meth:`Study.run` gives them), in the order of
    ``studies``, trained by :func:`run_grid`: all in one grid, or one grid per part of ``parts``
    (lists of indices into ``studies``, covering each once). Runs of one grid may share a stack
    whatever their study; a stack's float32 rounding depends on its members, so parts of studies
    that never stack together keep each run's numbers those of a study of its own.

    ``run``: :func:`run_grid`'s options.
    """
    studies = list(studies)
    parts = [list(range(len(studies)))] if parts is None else [list(p) for p in parts]
    if sorted(i for p in parts for i in p) != list(range(len(studies))):
        raise InvalidArgumentError("parts", parts, f"must hold each index of the {len(studies)} studies once")
    frames: list[pd.DataFrame] = [pd.DataFrame()] * len(studies)
    for part in (p for p in parts if p):
        grid = run_grid([studies[i] for i in part], **run)
        rows = study_of_rows(grid, [studies[i] for i in part])
        for j, i in enumerate(part):
            frames[i] = grid.loc[rows == j, RESULT_COLUMNS].reset_index(drop=True)
    return frames


def train_batch(engine: Engine, batch: Sequence[RunSpec]) -> list[RunRecord]:
    """The records of one unit of work of ``engine``: a stack on a stacked engine, or one run on ``keras``."""
    results = engine.train(batch)
    keras.backend.clear_session(free_memory=False)  # Keras' global state; the garbage collector runs as it will
    return [record for _, record in results]


def _trained(
    batches: Sequence[tuple[Engine, Sequence[RunSpec]]], client: Any = None
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
