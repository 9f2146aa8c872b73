"""Where units of work train: in this process, or on single-threaded Dask workers, one per core.

A stack of one model (the CNN, the `002` deep MLP) spends its step on batch-32
matmuls, where a second thread pays little; two single-threaded workers, one
per core, train two such units at once. The thread count per unit of work is
therefore part of the set-up a study states: ``threads`` (default
``$INITLAB_THREADS``, else 1). With ``threads`` below the number of cores and
more than one unit to train, the units go to a Dask ``LocalCluster`` of
``cores // threads`` worker processes with that many threads each, started on
first use and shared by every later study of this process; otherwise they train
here, on TensorFlow's own threads.

The numbers are those of training here: each unit trains the same stack, and
only the order of float32 additions inside a matmul may change with the thread
count (last-bit drift). Records come back through Dask and the caller writes the
cache as each unit finishes, so a killed worker loses only the unit it was
training, which Dask then trains on another worker.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from initlab.errors import InvalidArgumentError

THREADS_ENV = "INITLAB_THREADS"  # threads per unit of work
WORKERS_ENV = "INITLAB_WORKERS"  # units at once (default cores // threads); a sweep's kernels set 1
SCHEDULER_ENV = "INITLAB_SCHEDULER"  # a running cluster's address, e.g. the one ``initlab reproduce`` starts

_CLUSTERS: dict[Any, tuple[Any, Any]] = {}  # threads per worker or an address -> (client, cluster or None)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _setting(name: str, value: int | None, variable: str, default: int, what: str) -> int:
    """``value``, else the integer in ``$variable``, else ``default``; each checked to be >= 1."""
    if value is None:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidArgumentError(variable, raw, f"must be an integer >= 1 ({what})") from None
        name = variable
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(name, value, f"must be an integer >= 1 ({what})")
    return value


def threads_per_unit(threads: int | None = None) -> int:
    """The threads one unit of work trains on: ``threads``, else ``$INITLAB_THREADS``, else 1.

    Raises:
        InvalidArgumentError: the value is not an integer >= 1.
    """
    return _setting("threads", threads, THREADS_ENV, 1, "threads per unit of work")


def worker_count(threads: int | None = None) -> int:
    """How many units train at once: ``$INITLAB_WORKERS``, else ``cores() // threads``, at least 1."""
    n = threads_per_unit(threads)
    return _setting("workers", None, WORKERS_ENV, max(1, cores() // n), "units of work trained at once")


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that hold a worker's TensorFlow (and OpenMP) to ``threads`` threads."""
    n = str(int(threads))
    return {
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": n,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }


def placement(units: int, *, threads: int | None = None, client: Any = None) -> Any:
    """The Dask client ``units`` units of work go to, or None to train them here.

    A given ``client`` is used as it is. Otherwise, when more than one unit trains and
    more than one worker fits (:func:`worker_count`): a client of the cluster at
    ``$INITLAB_SCHEDULER`` if set, else the shared local cluster of :func:`local_client`.
    """
    if client is not None:
        return client
    n = threads_per_unit(threads)
    if units < 2 or worker_count(n) < 2:
        return None
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if address:
        if address not in _CLUSTERS:
            from distributed import Client

            _remember(address, Client(address), None)
        return _CLUSTERS[address][0]
    return local_client(threads=n)


def local_client(*, threads: int = 1) -> Any:
    """A client of this process's ``LocalCluster`` (:func:`start_cluster`), started on first use and
    closed when the process exits."""
    n = threads_per_unit(threads)
    if n not in _CLUSTERS:
        from distributed import Client

        cluster = start_cluster(threads=n)
        _remember(n, Client(cluster), cluster)
    return _CLUSTERS[n][0]


def _remember(key: Any, client: Any, cluster: Any) -> None:
    """Keep ``client`` (and ``cluster``, if this process started it) until :func:`close_local_clients`."""
    _CLUSTERS[key] = (client, cluster)
    atexit.unregister(close_local_clients)
    atexit.register(close_local_clients)


def start_cluster(*, threads: int | None = None) -> Any:
    """A Dask ``LocalCluster`` of :func:`worker_count` worker processes whose TensorFlow runs on
    ``threads`` threads (:func:`threads_per_unit`); the caller closes it."""
    import dask
    from distributed import LocalCluster

    n = threads_per_unit(threads)
    dask.config.set({"distributed.scheduler.allowed-failures": 3})  # a killed worker's unit trains elsewhere
    return LocalCluster(
        n_workers=worker_count(n),
        threads_per_worker=1,  # Dask's task slots; TensorFlow's own threads are set by the environment
        processes=True,
        dashboard_address=":0",  # any free port: never a clash with another cluster's dashboard
        silence_logs=logging.ERROR,
        env=thread_environment(n),
    )


def close_local_clients() -> None:
    """Close the clients (and the local clusters) this process started; it does so by itself at exit."""
    while _CLUSTERS:
        _, (client, cluster) = _CLUSTERS.popitem()
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def cluster_for_kernels(*, threads: int | None = None) -> Iterator[Any]:
    """A cluster (:func:`start_cluster`) that the notebook kernels started inside the block share:
    ``$INITLAB_SCHEDULER`` and ``$INITLAB_THREADS`` point them to it. With one worker there is no
    cluster: the kernels train in their own process. Yields the cluster or None."""
    n = threads_per_unit(threads)
    if worker_count(n) < 2:
        with _environment({THREADS_ENV: str(n)}):
            yield None
        return
    cluster = start_cluster(threads=n)
    try:
        with _environment({THREADS_ENV: str(n), SCHEDULER_ENV: cluster.scheduler_address}):
            yield cluster
    finally:
        cluster.close()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set inside the block, as it was afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
