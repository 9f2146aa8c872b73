"""The experiment runner: determinism, caching and resume, divergence, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from initlab import runner
from initlab.cache import CorruptCacheWarning
from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.runner import RESULT_COLUMNS, run_study

SMALL = dict(dataset="mnist", model="mlp_128", epochs=2, train_limit=640, test_limit=500, batch_size=32)
METRICS = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]


def test_tidy_frame_one_row_per_init_seed_epoch(cache_root) -> None:
    df = run_study(inits=["he_normal", "zeros"], seeds=[0, 1], cache_root=cache_root, **SMALL)
    assert list(df.columns) == RESULT_COLUMNS
    assert len(df) == 2 * 2 * 2
    assert set(df["engine"]) == {"stacked"}  # auto: the dense MLP goes to the stacked engine
    ok = df[(df.init == "he_normal") & (df.epoch == 2)]
    assert (ok["accuracy"] > 0.6).all() and (ok["test_accuracy"] > 0.6).all()
    # zero init cannot break symmetry: the MLP stays near chance on 10 classes
    assert df[df.init == "zeros"]["test_accuracy"].max() < 0.3


def test_same_seed_is_bit_identical_and_new_seed_differs() -> None:
    a = run_study(inits=["glorot_uniform"], seeds=[0], cache=False, **SMALL)
    b = run_study(inits=["glorot_uniform"], seeds=[0], cache=False, **SMALL)
    c = run_study(inits=["glorot_uniform"], seeds=[1], cache=False, **SMALL)
    np.testing.assert_array_equal(a[METRICS].to_numpy(), b[METRICS].to_numpy())
    assert not np.array_equal(a[METRICS].to_numpy(), c[METRICS].to_numpy())


# Each engine's training function, which run_study calls for runs it has not cached.
TRAINERS = {"keras": "train", "stacked": "train_stack"}


@pytest.mark.parametrize("engine", TRAINERS)
def test_cache_reuses_finished_runs(cache_root, monkeypatch, engine) -> None:
    first = run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, engine=engine, **SMALL)

    def fail(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(runner, TRAINERS[engine], fail)
    again = run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, engine=engine, **SMALL)
    pd.testing.assert_frame_equal(first, again)
    # a different specification is a different key
    with pytest.raises(AssertionError, match="trained again"):
        run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, engine=engine, **{**SMALL, "epochs": 1})


@pytest.mark.parametrize("engine", TRAINERS)
def test_interrupted_study_resumes_without_losing_finished_runs(cache_root, monkeypatch, engine) -> None:
    name = TRAINERS[engine]
    real = getattr(runner, name)
    calls = []

    def seeds_of(arg):
        return [s.seed for s in (arg if isinstance(arg, list) else [arg])]

    def interrupted(arg, *args, **kwargs):
        calls.extend(seeds_of(arg))
        if 1 in seeds_of(arg):
            raise KeyboardInterrupt
        return real(arg, *args, **kwargs)

    study = dict(inits=["he_normal"], seeds=[0, 1], cache_root=cache_root, engine=engine, max_stack=1, **SMALL)
    monkeypatch.setattr(runner, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_study(**study)
    assert calls == [0, 1]
    assert len(list(cache_root.glob("*.json"))) == 1
    assert not list(cache_root.glob("*.tmp"))

    calls.clear()
    monkeypatch.setattr(runner, name, lambda arg, *a, **k: (calls.extend(seeds_of(arg)), real(arg, *a, **k))[1])
    df = run_study(**study)
    assert calls == [1]  # seed 0 came from the cache
    assert sorted(df.seed.unique()) == [0, 1]


def test_corrupted_cache_entry_is_reported_and_recomputed(cache_root) -> None:
    first = run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, **SMALL)
    (entry,) = cache_root.glob("*.json")
    record = json.loads(entry.read_text())
    record["payload"]["test_accuracy"] = 1.0  # tampered: checksum no longer matches
    entry.write_text(json.dumps(record))
    with pytest.warns(CorruptCacheWarning, match=entry.name):
        again = run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, **SMALL)
    pd.testing.assert_frame_equal(first.drop(columns="wall_time"), again.drop(columns="wall_time"))
    entry.write_text("{not json")
    with pytest.warns(CorruptCacheWarning):
        run_study(inits=["he_normal"], seeds=[0], cache_root=cache_root, **SMALL)


def test_diverging_run_is_recorded_and_the_study_goes_on(cache_root) -> None:
    df = run_study(inits=["random_normal", "he_normal"], seeds=[0], cache_root=cache_root,
                   init_params={"random_normal": {"stddev": 1e20}}, **SMALL)
    bad = df[df.init == "random_normal"]
    assert (bad["status"] == "diverged").all()
    assert bad["diverged_epoch"].iloc[0] == 1
    assert np.isnan(bad["test_accuracy"]).all()
    good = df[df.init == "he_normal"]
    assert (good["status"] == "ok").all() and len(good) == SMALL["epochs"]


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(UnknownNameError, match="fashion_mnist"):
        run_study(**{**SMALL, "dataset": "svhn"}, inits=["he_normal"], cache=False)
    with pytest.raises(InvalidArgumentError, match="epochs=0"):
        run_study(**{**SMALL, "epochs": 0}, inits=["he_normal"], cache=False)
    with pytest.raises(InvalidArgumentError, match="train_limit=10000000"):
        run_study(**{**SMALL, "train_limit": 10_000_000}, inits=["he_normal"], cache=False)
    with pytest.raises(UnknownNameError, match="he_normal"):
        run_study(**SMALL, inits=["kaiming"], cache=False)
