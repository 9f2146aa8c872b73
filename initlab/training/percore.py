"""The per-core speed-up: units of work one per core on single-threaded workers, against one at a
time in this process on all cores (what ``initlab bench`` reports for the K = 1 models).

Both ways train the same units (one run each, MNIST, one epoch, batch 32, the stacked engine)
after a warm-up that loads the data and compiles the step, so the times compare training alone.
The workers are a Dask ``LocalCluster`` (:func:`initlab.workers.start_cluster`); each timed unit is
placed on a worker in turn so both stay busy. The speed-up is a ratio of wall times taken in one
command, never asserted.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from initlab.training.engines import get_engine
from initlab.training.spec import RunSpec
from initlab.training.study import train_batch
from initlab.workers import cores, start_cluster

INITS = ("he_normal", "glorot_uniform", "lecun_normal", "random_normal")


@dataclass(frozen=True)
class PerCore:
    """One model's per-core measurement: seconds per model each way, and their ratio."""

    model: str
    units: int
    workers: int
    one_at_a_time: float  # seconds per model, one unit at a time here, TensorFlow on every core
    per_core: float  # seconds per model, one unit per single-threaded worker

    @property
    def speedup(self) -> float:
        """How many times faster a model trains one per core."""
        return self.one_at_a_time / self.per_core


def _units(model: str, n: int, *, train_limit: int | None, epochs: int) -> list[list[RunSpec]]:
    """``n`` one-run units of ``model`` on MNIST, seeds and initializers varied."""
    return [
        [
            RunSpec(
                dataset="mnist",
                model=model,
                init=INITS[i % len(INITS)],
                seed=i,
                epochs=epochs,
                train_limit=train_limit,
                engine="stacked",
            )
        ]
        for i in range(n)
    ]


def per_core_speedup(
    model: str, *, units_per_worker: int = 2, train_limit: int | None = None, epochs: int = 1
) -> PerCore:
    """Time ``units_per_worker`` units per core of ``model`` both ways (see the module doc).

    Raises:
        InvalidArgumentError: a model the stacked engine cannot train, or a bad train limit.
    """
    workers = cores()
    engine = get_engine("stacked")
    units = _units(model, workers * units_per_worker, train_limit=train_limit, epochs=epochs)
    warm = [[replace(u[0], epochs=1, seed=10_000 + i)] for i, u in enumerate(units[:workers])]

    train_batch(engine, warm[0])  # loads the data and compiles the step here
    start = time.perf_counter()
    for unit in units:
        train_batch(engine, unit)
    here = (time.perf_counter() - start) / len(units)

    cluster = start_cluster(threads=1)
    try:
        per_core = _on_workers(cluster, engine, warm, units)
    finally:
        cluster.close()
    return PerCore(model=model, units=len(units), workers=workers, one_at_a_time=here, per_core=per_core)


def _on_workers(cluster, engine, warm: Sequence[list[RunSpec]], units: Sequence[list[RunSpec]]) -> float:
    """Seconds per model of ``units`` trained on ``cluster``'s workers, each warmed up by one unit first."""
    from distributed import Client, wait

    with Client(cluster) as client:
        addresses = sorted(client.scheduler_info()["workers"])
        wait([client.submit(train_batch, engine, w, workers=[a], pure=False) for w, a in zip(warm, addresses)])
        start = time.perf_counter()
        futures = [
            client.submit(train_batch, engine, unit, workers=[addresses[i % len(addresses)]], pure=False)
            for i, unit in enumerate(units)
        ]
        wait(futures)
        for future in futures:
            future.result()  # a failed unit raises here
        return (time.perf_counter() - start) / len(units)
