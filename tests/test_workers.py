"""Units of work on single-threaded workers: the settings, where units go, and real clusters."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from initlab import workers
from initlab.errors import InvalidArgumentError
from initlab.training.study import Study


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch):
    """No thread, worker or scheduler setting from the test session's environment."""
    for name in (workers.THREADS_ENV, workers.WORKERS_ENV, workers.SCHEDULER_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_one_thread_per_unit_and_one_worker_per_core_by_default(environment) -> None:
    environment.setattr(workers, "cores", lambda: 4)
    assert workers.threads_per_unit() == 1
    assert workers.worker_count() == 4
    assert workers.worker_count(2) == 2
    assert workers.worker_count(8) == 1


def test_the_environment_sets_threads_and_workers(environment) -> None:
    environment.setattr(workers, "cores", lambda: 4)
    environment.setenv(workers.THREADS_ENV, "2")
    assert workers.threads_per_unit() == 2 and workers.worker_count() == 2
    assert workers.threads_per_unit(1) == 1  # an explicit value wins
    environment.setenv(workers.WORKERS_ENV, "1")
    assert workers.worker_count() == 1


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused_in_one_line(value) -> None:
    with pytest.raises(InvalidArgumentError, match="threads.*integer >= 1"):
        workers.threads_per_unit(value)


def test_a_bad_environment_value_names_the_variable(environment) -> None:
    environment.setenv(workers.THREADS_ENV, "two")
    with pytest.raises(InvalidArgumentError, match="INITLAB_THREADS.*integer >= 1.*'two'"):
        workers.threads_per_unit()
    environment.setenv(workers.THREADS_ENV, "1")
    environment.setenv(workers.WORKERS_ENV, "0")
    with pytest.raises(InvalidArgumentError, match="INITLAB_WORKERS"):
        workers.worker_count()


def test_a_study_checks_its_thread_count_before_training(environment, cache_root: Path) -> None:
    study = Study("mnist", "mlp_128", ["he_normal"], seeds=[0], epochs=1, train_limit=600)
    with pytest.raises(InvalidArgumentError, match="threads"):
        study.run(cache_root=str(cache_root), threads=0)
    assert not cache_root.exists()


def test_one_unit_or_one_worker_trains_here(environment) -> None:
    environment.setattr(workers, "cores", lambda: 2)
    assert workers.placement(1) is None
    assert workers.placement(5, threads=2) is None
    environment.setenv(workers.WORKERS_ENV, "1")
    assert workers.placement(5) is None
    given = object()
    assert workers.placement(1, client=given) is given


def test_a_worker_runs_tensorflow_on_the_stated_threads() -> None:
    env = workers.thread_environment(1)
    assert env["TF_NUM_INTRAOP_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "1"
    assert workers.thread_environment(3)["TF_NUM_INTRAOP_THREADS"] == "3"


SAME = ["dataset", "model", "init", "seed", "epoch", "status", "engine"]


def _study(epochs: int = 2) -> Study:
    return Study(
        "mnist",
        "mlp_128",
        ("glorot_uniform", "he_normal", "zeros"),
        seeds=(0, 1),
        epochs=epochs,
        train_limit=600,
        test_limit=200,
    )


@pytest.fixture(scope="module")
def shared_cluster():
    """The default path: the process's own cluster of single-threaded workers, closed afterwards."""
    pytest.importorskip("distributed")
    saved = {k: os.environ.pop(k, None) for k in (workers.WORKERS_ENV, workers.SCHEDULER_ENV)}
    os.environ[workers.WORKERS_ENV] = "2"
    yield
    workers.close_local_clients()
    for k, v in saved.items():
        os.environ.pop(k, None)
        if v is not None:
            os.environ[k] = v


def test_by_default_units_train_on_two_single_threaded_workers(
    shared_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setenv(workers.WORKERS_ENV, "1")
        here = _study().run(cache_root=str(tmp_path / "here"), max_stack=2)
    assert not workers._CLUSTERS  # one worker: trained here
    spread = _study().run(cache_root=str(tmp_path / "spread"), max_stack=2)
    client = workers.placement(3)
    info = client.scheduler_info()["workers"]
    assert len(info) == 2 and all(w["nthreads"] == 1 for w in info.values())
    assert client.run(lambda: os.environ["TF_NUM_INTRAOP_THREADS"]) == {w: "1" for w in info}
    assert len(list((tmp_path / "spread").rglob("*.json"))) == 6  # written here, by this process
    assert here[SAME].equals(spread[SAME])
    # One thread sums a matmul in another order than two: compare at the precision two such runs
    # share after 2 epochs of 15 steps, not in the last bits.
    for col in ["loss", "val_loss", "test_loss"]:
        np.testing.assert_allclose(spread[col], here[col], rtol=1e-4)
    for col in ["accuracy", "val_accuracy", "test_accuracy"]:
        np.testing.assert_allclose(spread[col], here[col], atol=0.011)


def test_a_killed_worker_loses_no_finished_run(shared_cluster, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    study = Study("mnist", "mlp_128", ("glorot_uniform", "he_normal"), seeds=(0, 1, 2), epochs=4, train_limit=6000)
    client = workers.placement(2)
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(rows=study.run(cache_root=str(cache), max_stack=1)))
    runner.start()
    deadline = time.time() + 300
    while not list(cache.rglob("*.json")) and time.time() < deadline:
        time.sleep(0.05)
    first = {p: p.stat().st_mtime_ns for p in cache.rglob("*.json")}
    assert first, "no run finished in time"
    busy = [w for w, tasks in client.processing().items() if tasks]
    assert busy, "every unit finished before a worker could be killed"
    victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=600)
    rows = result["rows"]
    assert sorted(set(zip(rows["init"], rows["seed"]))) == sorted(
        (i, s) for i in ("glorot_uniform", "he_normal") for s in (0, 1, 2)
    )
    assert set(rows["epoch"]) == {1, 2, 3, 4}
    assert len(list(cache.rglob("*.json"))) == 6
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())  # finished runs were kept, not retrained
