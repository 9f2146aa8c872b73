"""Sweeps: grids, names and validation by hand; real Dask clusters, started here, run the points."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from initlab.errors import InvalidArgumentError, SweepFailedError, UnknownParameterError
from initlab.pipeline import sweep

TOY = Path(__file__).parents[1] / "notebooks" / "sweep_toy.ipynb"


def test_values_are_parsed_as_papermill_does() -> None:
    assert sweep.parse_value("3") == 3 and isinstance(sweep.parse_value("3"), int)
    assert sweep.parse_value("1e-3") == pytest.approx(0.001)
    assert sweep.parse_value("True") is True and sweep.parse_value("None") is None
    assert sweep.parse_value("adam") == "adam"
    assert sweep.parse_value("[0, 1, 2]") == [0, 1, 2]
    assert sweep.parse_value("{a: 1}") == {"a": 1}
    with pytest.raises(InvalidArgumentError, match="YAML"):
        sweep.parse_value("[0, 1")


def test_grid_and_zip() -> None:
    grid = {"a": [1, 2], "b": ["x", "y"]}
    assert [p.params for p in sweep.expand(grid)] == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    assert [p.params for p in sweep.expand(grid, zip_values=True)] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    with pytest.raises(InvalidArgumentError, match="same number of values"):
        sweep.expand({"a": [1, 2], "b": ["x"]}, zip_values=True)
    with pytest.raises(InvalidArgumentError, match="repeats a point"):
        sweep.expand({"a": [1, 1]})


def test_slugs_are_readable_safe_and_unique() -> None:
    assert sweep.slug({"learning_rate": 0.001, "seeds": [0, 1]}) == "learning_rate=0.001_seeds=0,1"
    odd = [sweep.slug({"b": v}) for v in ("a/b", "a b", "a:b", "a" * 300)]
    assert len(set(odd)) == 4
    assert all("/" not in s and " " not in s and len(s) <= sweep.SLUG_MAX + 9 for s in odd)


def test_unknown_parameter_lists_the_notebooks_parameters() -> None:
    with pytest.raises(UnknownParameterError) as err:
        sweep.check_grid(TOY, {"c": [1]})
    assert "'c'" in str(err.value) and "a=1" in str(err.value) and "b='x'" in str(err.value)


@pytest.mark.parametrize(
    "grid, why",
    [
        ({"a": [1.5]}, "must be an integer like its default 1; 1.5 is a float"),
        ({"b": [3]}, "must be a string"),
        ({"seeds": [3]}, "must be a list"),
        ({"seeds": [[0, "x"]]}, "item 'x' is a str"),
        ({"fail": [1]}, "must be a boolean"),
        ({"a": []}, "non-empty list"),
    ],
)
def test_values_of_the_wrong_type_are_refused(grid: dict, why: str) -> None:
    with pytest.raises(InvalidArgumentError, match=why.replace("(", r"\(").replace(")", r"\)")):
        sweep.check_grid(TOY, grid)


def test_none_and_ints_for_floats_are_accepted() -> None:
    sweep.check_grid(TOY, {"wait": [0, 0.5], "a": [None]})


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster: two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed")
    import dask

    dask.config.set({"distributed.scheduler.allowed-failures": 2})
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _state(out: Path) -> dict:
    return json.loads((out / sweep.SWEEP_FILE).read_text())


def test_a_two_by_two_sweep_collects_every_point_and_a_rerun_skips_them(client, tmp_path: Path) -> None:
    out = tmp_path / "toy"
    table = sweep.run(TOY, {"a": [1, 2], "b": ["x", "y"]}, out=out, client=client, progress=False)
    assert sorted(table["point"].unique()) == ["a=1_b=x", "a=1_b=y", "a=2_b=x", "a=2_b=y"]
    doubles = table[table["name"] == "double"].set_index("point")["number"]
    assert doubles.to_dict() == {"a=1_b=x": 2, "a=1_b=y": 2, "a=2_b=x": 4, "a=2_b=y": 4}
    labels = table[table["name"] == "label"].set_index("point")["value"]
    assert labels["a=2_b=y"] == "y-2"
    assert set(table["status"]) == {"completed"} and (table["wall_time"] > 0).all()
    state = _state(out)
    assert state["notebook"] == TOY.name and state["grid"] == {"a": [1, 2], "b": ["x", "y"]}
    assert state["started"] <= state["finished"]
    assert (out / "sweep.csv").exists() and (out / "sweep.parquet").exists()
    executed = json.loads((out / "a=2_b=y.ipynb").read_text())
    assert executed["metadata"][sweep.META_KEY]["params"] == {"a": 2, "b": "y"}
    assert sweep.load(out).equals(sweep.load(out))
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.ipynb")}
    again = sweep.run(TOY, {"a": [1, 2], "b": ["x", "y"]}, out=out, client=client, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.ipynb")} == mtimes  # nothing re-executed
    assert len(again) == len(table)


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(client, tmp_path: Path) -> None:
    out = tmp_path / "fails"
    with pytest.raises(SweepFailedError, match="1 of 2 points failed") as err:
        sweep.run(TOY, {"fail": [False, True]}, out=out, client=client, progress=False)
    assert "asked to fail" in str(err.value)
    failed = _state(out)["points"]["fail=True"]
    assert failed["status"] == "failed" and failed["cell"] == 4 and "ValueError: asked to fail" in failed["error"]
    table = sweep.load(out)
    ok = table[table["point"] == "fail=False"]
    assert set(ok["name"]) == {"double", "label", "n_seeds"}
    assert table[table["point"] == "fail=True"]["status"].tolist() == ["failed"]


def test_a_worker_killed_mid_point_loses_and_repeats_nothing(client, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    pid_file = tmp_path / "pid"
    grid = {"a": [1, 2, 3], "wait": [3.0], "pid_file": [str(pid_file)]}
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(table=sweep.run(TOY, grid, out=out, client=client, progress=False))
    )
    worker.start()
    deadline = time.time() + 120
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    victim = int(pid_file.read_text())
    assert victim in client.run(os.getpid).values()  # the kernel's parent is a Dask worker
    os.kill(victim, signal.SIGKILL)
    worker.join(timeout=300)
    table = result["table"]
    doubles = table[table["name"] == "double"]
    assert sorted(doubles["number"]) == [2, 4, 6]  # every point once
    assert set(_state(out)["points"]) == {p.slug for p in sweep.expand(grid)}


def test_two_sweeps_into_different_folders_at_once(client, tmp_path: Path) -> None:
    results: dict = {}
    threads = [
        threading.Thread(
            target=lambda k=k: results.update(
                {k: sweep.run(TOY, {"a": [k, k + 10]}, out=tmp_path / f"s{k}", client=client, progress=False)}
            )
        )
        for k in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for k in (1, 2):
        d = results[k][results[k]["name"] == "double"]
        assert sorted(d["number"]) == [2 * k, 2 * (k + 10)]


def test_a_study_on_the_cluster_gives_the_rows_of_a_local_one(client, tmp_path: Path) -> None:
    import numpy as np

    from initlab.training.study import Study

    study = Study(
        "mnist",
        "mlp_128",
        ("glorot_uniform", "he_normal", "zeros"),
        seeds=(0, 1),
        epochs=2,
        train_limit=600,
        test_limit=200,
    )
    local = study.run(cache_root=str(tmp_path / "local"), max_stack=2)
    remote = study.run(cache_root=str(tmp_path / "remote"), max_stack=2, client=client)
    assert len(list((tmp_path / "remote").rglob("*.json"))) == 6  # written here, by the client
    same = ["dataset", "model", "init", "seed", "epoch", "status", "engine"]
    assert local[same].equals(remote[same])
    # Another process may use another thread count, which reorders float32 sums: compare at the
    # precision two such runs share after 2 epochs of 15 steps, not in the last bits.
    for col in ["loss", "val_loss", "test_loss"]:
        np.testing.assert_allclose(remote[col], local[col], rtol=1e-4)
    for col in ["accuracy", "val_accuracy", "test_accuracy"]:
        np.testing.assert_allclose(remote[col], local[col], atol=0.011)


def test_a_source_notebook_swept_at_quick_parameters(client, tmp_path: Path) -> None:
    from initlab.pipeline.reproduce import notebook_paths

    source = next(p for p in notebook_paths() if p.name.startswith("03_"))
    grid = {
        "learning_rate": [0.001, 0.01],
        "seeds": [[0, 1], [2, 3]],
        "epochs": [1],
        "train_limit": [1000],
        "test_limit": [500],
    }
    table = sweep.run(
        source, grid, out=tmp_path / "03", client=client, progress=False, env={"INITLAB_CACHE": str(tmp_path / "cache")}
    )
    assert table["point"].nunique() == 4 and set(table["status"]) == {"completed"}
    acc = table[table["name"] == "test_accuracy/he_normal"]
    assert len(acc) == 4 and acc["number"].between(0.5, 1.0).all()  # he_normal learns digits at either rate
    assert set(acc["learning_rate"]) == {0.001, 0.01} and set(acc["seeds"]) == {"0,1", "2,3"}
    verdicts = table[table["name"].str.startswith("ranking/", na=False)]
    assert set(verdicts["value"]) <= {"supported", "reversed", "equivalent", "inconclusive"} and len(verdicts) == 12
