"""The experiment runner: determinism, caching and resume, divergence, bad input."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import keras
import numpy as np
import pandas as pd
import pytest

from initlab import training
from initlab.errors import InvalidArgumentError, MissingRunsError, UnknownNameError
from initlab.training.cache import CorruptCacheWarning, RunCache
from initlab.training.record import RESULT_COLUMNS
from initlab.training.spec import RunSpec
from initlab.training.study import Study

SMALL = dict(dataset="mnist", model="mlp_128", epochs=2, train_limit=640, test_limit=500, batch_size=32)
METRICS = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]


def test_tidy_frame_one_row_per_init_seed_epoch(cache_root) -> None:
    df = Study(inits=["he_normal", "zeros"], seeds=[0, 1], **SMALL).run(cache_root=cache_root)
    assert list(df.columns) == RESULT_COLUMNS
    assert len(df) == 2 * 2 * 2
    assert set(df["engine"]) == {"stacked"}  # auto: the dense MLP goes to the stacked engine
    ok = df[(df.init == "he_normal") & (df.epoch == 2)]
    assert (ok["accuracy"] > 0.6).all() and (ok["test_accuracy"] > 0.6).all()
    # zero init cannot break symmetry: the MLP stays near chance on 10 classes
    assert df[df.init == "zeros"]["test_accuracy"].max() < 0.3


@pytest.mark.parametrize("engine_name", ["auto", "keras"])
def test_same_seed_is_bit_identical_and_new_seed_differs(engine_name) -> None:
    study = dict(inits=["glorot_uniform"], engine=engine_name, **SMALL)
    a, b, c = (
        Study(seeds=[0], **study).run(cache=False),
        Study(seeds=[0], **study).run(cache=False),
        Study(seeds=[1], **study).run(cache=False),
    )
    assert set(a.engine) == {"stacked" if engine_name == "auto" else "keras"}
    np.testing.assert_array_equal(a[METRICS].to_numpy(), b[METRICS].to_numpy())
    assert not np.array_equal(a[METRICS].to_numpy(), c[METRICS].to_numpy())


# Each engine's training function, which Study.run calls for runs it has not cached.
TRAINERS = {"keras": "train_keras", "stacked": "train_stacked"}


@pytest.mark.parametrize("engine", TRAINERS)
def test_cache_reuses_finished_runs(cache_root, monkeypatch, engine) -> None:
    first = Study(inits=["he_normal"], seeds=[0], engine=engine, **SMALL).run(cache_root=cache_root)

    def fail(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(training.engines, TRAINERS[engine], fail)
    again = Study(inits=["he_normal"], seeds=[0], engine=engine, **SMALL).run(cache_root=cache_root)
    pd.testing.assert_frame_equal(first, again)
    # a different specification is a different key
    with pytest.raises(AssertionError, match="trained again"):
        Study(inits=["he_normal"], seeds=[0], engine=engine, **{**SMALL, "epochs": 1}).run(cache_root=cache_root)


def test_every_training_setting_is_part_of_the_cache_key() -> None:
    base = RunSpec(dataset="mnist", model="mlp_128", init="he_normal", seed=0, train_limit=640)
    changes = dict(
        optimizer="sgd",
        learning_rate=0.05,
        batch_size=64,
        preprocess="standardize",
        seed=1,
        epochs=2,
        validation_split=0.1,
        test_limit=500,
        init="glorot_uniform",
        engine="stacked",
        init_params={"stddev": 0.1},
        model_params={"depth": 3},
        momentum=0.9,
    )
    keys = {base.key()} | {replace(base, **{k: v}).key() for k, v in changes.items()}
    assert len(keys) == 1 + len(changes)
    nesterov = replace(base, optimizer="sgd", momentum=0.9, nesterov=True).key()
    assert nesterov not in keys | {replace(base, optimizer="sgd", momentum=0.9).key()}


def test_runs_cached_before_momentum_existed_keep_their_keys() -> None:
    """The key of a run without momentum is the sha256 of the fields it had before momentum was added."""
    from initlab import __version__
    from initlab.training.cache import spec_key

    spec = RunSpec(dataset="mnist", model="mlp_128", init="he_normal", seed=3, learning_rate=0.01)
    before = {
        "dataset": "mnist",
        "model": "mlp_128",
        "init": "he_normal",
        "seed": 3,
        "epochs": 5,
        "batch_size": 32,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "loss": "sparse_categorical_crossentropy",
        "validation_split": 0.2,
        "train_limit": None,
        "test_limit": None,
        "preprocess": "scale",
        "init_params": {},
        "model_params": {},
        "engine": "keras",
    }
    assert spec.key() == spec_key({**before, "version": __version__})
    assert replace(spec, momentum=0.5).key() != spec.key()


@pytest.mark.parametrize("engine", TRAINERS)
def test_interrupted_study_resumes_without_losing_finished_runs(cache_root, monkeypatch, engine) -> None:
    name = TRAINERS[engine]
    real = getattr(training.engines, name)
    calls = []

    def seeds_of(arg):
        return [s.seed for s in (arg if isinstance(arg, list) else [arg])]

    def interrupted(arg, *args, **kwargs):
        calls.extend(seeds_of(arg))
        if 1 in seeds_of(arg):
            raise KeyboardInterrupt
        return real(arg, *args, **kwargs)

    study = Study(inits=["he_normal"], seeds=[0, 1], engine=engine, **SMALL)
    monkeypatch.setattr(training.engines, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        study.run(cache_root=cache_root, max_stack=1)
    assert calls == [0, 1]
    assert len(list(cache_root.glob("*.json"))) == 1
    assert not list(cache_root.glob("*.tmp"))

    calls.clear()
    monkeypatch.setattr(
        training.engines, name, lambda arg, *a, **k: (calls.extend(seeds_of(arg)), real(arg, *a, **k))[1]
    )
    df = study.run(cache_root=cache_root, max_stack=1)
    assert calls == [1]  # seed 0 came from the cache
    assert sorted(df.seed.unique()) == [0, 1]


def test_corrupted_cache_entry_is_reported_and_recomputed(cache_root) -> None:
    first = Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache_root=cache_root)
    (entry,) = cache_root.glob("*.json")
    record = json.loads(entry.read_text())
    record["payload"]["test_accuracy"] = 1.0  # tampered: checksum no longer matches
    entry.write_text(json.dumps(record))
    with pytest.warns(CorruptCacheWarning, match=entry.name):
        again = Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache_root=cache_root)
    pd.testing.assert_frame_equal(first.drop(columns="wall_time"), again.drop(columns="wall_time"))
    entry.write_text("{not json")
    with pytest.warns(CorruptCacheWarning):
        Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache_root=cache_root)


def test_diverging_run_is_recorded_and_the_study_goes_on(cache_root) -> None:
    df = Study(
        inits=["random_normal", "he_normal"], seeds=[0], init_params={"random_normal": {"stddev": 1e20}}, **SMALL
    ).run(cache_root=cache_root)
    bad = df[df.init == "random_normal"]
    assert (bad["status"] == "diverged").all()
    assert bad["diverged_epoch"].iloc[0] == 1
    assert np.isnan(bad["test_accuracy"]).all()
    good = df[df.init == "he_normal"]
    assert (good["status"] == "ok").all() and len(good) == SMALL["epochs"]


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(UnknownNameError, match="fashion_mnist"):
        Study(**{**SMALL, "dataset": "svhn"}, inits=["he_normal"]).run(cache=False)
    with pytest.raises(InvalidArgumentError, match="epochs=0"):
        Study(**{**SMALL, "epochs": 0}, inits=["he_normal"]).run(cache=False)
    with pytest.raises(InvalidArgumentError, match="train_limit=10000000"):
        Study(**{**SMALL, "train_limit": 10_000_000}, inits=["he_normal"]).run(cache=False)
    with pytest.raises(UnknownNameError, match="he_normal"):
        Study(**SMALL, inits=["kaiming"]).run(cache=False)


# -- divergence: one rule for both engines ------------------------------------------------
LN10 = math.log(10)


def test_divergence_bound_and_first_diverged_epoch() -> None:
    assert training.divergence_bound(10, 2.0) == pytest.approx(10 * LN10)  # a start below chance: 10 ln C
    assert training.divergence_bound(10, 100.0) == pytest.approx(1000.0)  # a high start: ten times it
    assert training.divergence_bound(10, math.inf) == math.inf and training.divergence_bound(10, math.nan) == math.inf
    bound = 10 * LN10
    assert training.diverged_epoch([2.3, 0.5, 0.2], bound) is None
    assert training.diverged_epoch([2.3, bound * 1.001, 0.2], bound) == 2  # finite but above the bound
    assert training.diverged_epoch([2.3, 1.0, math.nan], bound) == 3
    assert training.diverged_epoch([math.inf], math.inf) == 1


@pytest.mark.parametrize("engine_name", ["keras", "stacked"])
def test_a_learning_rate_that_blows_up_is_diverged(engine_name) -> None:
    """Adam with learning rate 10: the first epoch's loss is finite but thousands of times ln(10)."""
    df = Study(inits=["he_normal"], seeds=[0], engine=engine_name, learning_rate=10.0, **SMALL).run(cache=False)
    assert len(df) == 1  # the history stops at the diverged epoch
    row = df.iloc[0]
    assert math.isfinite(row.loss) and row.loss > 10 * LN10
    assert row.status == "diverged" and row.diverged_epoch == 1
    assert math.isnan(row.test_loss) and math.isnan(row.test_accuracy)


def _blow_up(epoch, models) -> None:
    """After the first epoch, scale the output kernel so that the next epoch's loss is huge but finite."""
    if epoch == 1:
        kernel = models[0].layers[-1].kernel
        kernel.assign(kernel * 1e4)


def test_divergence_after_the_first_epoch_keeps_the_history_up_to_it_keras() -> None:
    spec = RunSpec(
        dataset="mnist",
        model="mlp_128",
        init="he_normal",
        seed=0,
        epochs=3,
        train_limit=640,
        test_limit=500,
        engine="keras",
    )
    _, record = training.train(spec, on_epoch=_blow_up)
    losses = record.history["loss"]
    assert len(losses) == 2 and losses[0] < 10 * LN10 and 10 * LN10 < losses[1] < math.inf
    assert all(len(v) == 2 for v in record.history.values())
    assert record.status == "diverged" and record.diverged_epoch == 2
    assert math.isnan(record.test_accuracy) and math.isnan(record.test_loss)


def test_divergence_after_the_first_epoch_stops_only_that_member_stacked() -> None:
    specs = [
        RunSpec(
            dataset="mnist",
            model="mlp_128",
            init="he_normal",
            seed=s,
            epochs=3,
            train_limit=640,
            test_limit=500,
            engine="stacked",
        )
        for s in (0, 1)
    ]

    (_, bad), (_, good) = training.train_stack(specs, on_epoch=_blow_up)  # member 0's output kernel
    losses = bad.history["loss"]
    assert len(losses) == 2 and losses[0] < 10 * LN10 and 10 * LN10 < losses[1] < math.inf
    assert bad.status == "diverged" and bad.diverged_epoch == 2 and math.isnan(bad.test_accuracy)
    assert good.status == "ok" and len(good.history["loss"]) == 3 and good.test_accuracy > 0.5


@pytest.mark.parametrize("engine_name", ["keras", "stacked"])
def test_a_high_start_that_falls_is_not_diverged(engine_name) -> None:
    """N(0, 1) weights start far above chance (loss ~100); judged against its own start, the run trains on."""
    spec = RunSpec(
        dataset="mnist",
        model="mlp_128",
        init="random_normal_1",
        seed=0,
        epochs=2,
        train_limit=640,
        test_limit=500,
        engine=engine_name,
    )
    _, record = training.train(spec)
    losses = record.history["loss"]
    assert record.initial_loss > 10 * LN10  # a fixed bound of 10 ln(10) would call it diverged
    assert record.status == "ok" and len(losses) == 2 and losses[1] < losses[0] < record.initial_loss
    assert math.isfinite(record.test_accuracy)


def test_a_cached_run_judged_by_the_old_rule_is_trained_again(cache_root, monkeypatch) -> None:
    study = Study(inits=["he_normal"], seeds=[0], **SMALL)
    fresh = study.run(cache_root=cache_root)
    (entry,) = cache_root.glob("*.json")
    key, store = entry.stem, RunCache(cache_root)
    old = {k: v for k, v in store.load(key).items() if k != "initial_loss"}  # a record from before the rule
    store.save(key, old)
    monkeypatch.setattr(
        training.engines, "train_stacked", lambda *a, **k: pytest.fail("a current record was trained again")
    )
    pd.testing.assert_frame_equal(study.run(cache_root=cache_root), fresh)  # losses within 10 ln(10): still valid
    monkeypatch.undo()
    store.save(key, {**old, "history": {**old["history"], "loss": [50.0, 40.0]}})  # "ok" at a loss of 50
    again = study.run(cache_root=cache_root)
    pd.testing.assert_frame_equal(again.drop(columns="wall_time"), fresh.drop(columns="wall_time"))
    assert "initial_loss" in store.load(key)


# -- bad input is refused before any data are loaded or any run trains -------------------
@pytest.mark.parametrize(
    "change, message",
    [
        ({"seeds": [-1]}, r"`seed` must be an integer in \[0, 4294967295\].*Received: seed=-1"),
        ({"seeds": [2**32]}, r"`seed` must be an integer in \[0, 4294967295\].*Received: seed=4294967296"),
        ({"seeds": [0.5]}, r"`seed` must be an integer"),
        ({"seeds": [0, 1, 0]}, r"`seeds` must not repeat a value \(repeated: 0\)"),
        ({"inits": ["he_normal", "zeros", "he_normal"]}, r"`inits` must not repeat a value \(repeated: he_normal\)"),
        ({"seeds": []}, r"`seeds` must be a non-empty list"),
        ({"learning_rate": float("nan")}, r"`learning_rate` must be None .* or a finite number > 0.*=nan"),
        ({"learning_rate": -1.0}, r"`learning_rate` must be None .* or a finite number > 0.*=-1.0"),
        ({"learning_rate": 0.0}, r"`learning_rate` .*=0.0"),
        ({"train_limit": 1}, r"`train_limit` must be at least 40 .*leaves 0 training examples.*=1$"),
        ({"train_limit": 39}, r"`train_limit` must be at least 40 .*leaves 31 training examples"),
        ({"train_limit": 127, "batch_size": 128, "validation_split": 0.0}, r"`train_limit` must be at least 128 "),
        ({"validation_split": 1e-17}, r"`validation_split` must be 0 or large enough to hold out an example"),
        ({"test_limit": 0}, r"`test_limit` must be an integer >= 1"),
        ({"epochs": 1.5}, r"`epochs` must be an integer >= 1"),
        ({"cached_only": True, "cache": False}, r"`cached_only` needs cache=True"),
        ({"optimizer": "sgd", "momentum": 1.0}, r"`momentum` must be a number in \[0, 1\).*=1.0$"),
        ({"momentum": 0.9}, r"`momentum` must be 0 with optimizer 'adam' \(only sgd takes momentum\)"),
        ({"optimizer": "sgd", "nesterov": True}, r"`nesterov` needs momentum > 0"),
    ],
)
def test_bad_values_are_refused_in_one_line_before_any_work(monkeypatch, change, message) -> None:
    def work(*args, **kwargs):
        raise AssertionError("data were loaded or a run trained before the input was checked")

    monkeypatch.setattr(training.prepare, "prepare_data", work)
    for name in ("train_keras", "train_stacked", "stack_size"):
        monkeypatch.setattr(training.engines, name, work)
    study = {**SMALL, "inits": ["he_normal"], "seeds": [0], "cache": False, **change}
    options = {k: study.pop(k) for k in ("cache", "cached_only") if k in study}  # Study.run's, the rest Study's
    with pytest.raises(InvalidArgumentError, match=message) as err:
        Study(**study).run(**options)
    assert "\n" not in str(err.value)


def test_an_unknown_optimizer_is_refused_with_the_valid_ones_before_any_work(monkeypatch) -> None:
    monkeypatch.setattr(training.prepare, "prepare_data", lambda *a, **k: pytest.fail("data were loaded"))
    with pytest.raises(UnknownNameError, match=r"Unknown optimizer 'rmsprop'.*adam, adam_large_eps, sgd") as err:
        Study(inits=["he_normal"], optimizer="rmsprop", **SMALL).run(cache=False)
    assert "\n" not in str(err.value)


def test_the_smallest_accepted_train_limit_trains() -> None:
    limit = training.min_train_limit(0.2, 32)
    assert limit == 40 and training.fit_examples(limit, 0.2) == 32
    df = Study(**{**SMALL, "train_limit": limit, "epochs": 1}, inits=["he_normal"]).run(cache=False)
    assert (df.status == "ok").all() and np.isfinite(df[METRICS].to_numpy()).all()


# -- cached_only: read every run from the cache, train none -------------------------------
def test_cached_only_reads_the_cache_and_names_what_is_missing(cache_root, monkeypatch) -> None:
    first = Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache_root=cache_root)
    for name in ("train_keras", "train_stacked"):
        monkeypatch.setattr(training.engines, name, lambda *a, **k: pytest.fail("cached_only trained a run"))
    pd.testing.assert_frame_equal(
        Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache_root=cache_root, cached_only=True), first
    )
    with pytest.raises(MissingRunsError) as err:
        Study(inits=["he_normal", "zeros"], seeds=[0, 1], **SMALL).run(cache_root=cache_root, cached_only=True)
    exc = err.value
    assert exc.missing == [("he_normal", 1), ("zeros", 0), ("zeros", 1)] and exc.total == 4
    assert (exc.dataset, exc.model, exc.cache_root) == ("mnist", "mlp_128", str(cache_root))
    assert f"3 of 4 runs of the mnist/mlp_128 study are not in the cache {cache_root}" in str(exc)


# -- the stacked engine with a non-default optimizer, learning rate and batch size --------
def test_stacked_sgd_with_its_learning_rate_and_batch_size_matches_keras_fit() -> None:
    """SGD(0.05), batch 64: the stacked run equals keras fit on the same weights and batch order.

    Each step's matmuls round differently in the two engines (relative ~sqrt(784) * 2**-24, 2e-6);
    over 16 steps that stays below 1e-4 relative.
    """
    study = dict(SMALL, batch_size=64, optimizer="sgd", learning_rate=0.05)
    df = Study(inits=["he_normal"], seeds=[3], engine="stacked", **study).run(cache=False)
    spec = RunSpec(init="he_normal", seed=3, **study)
    data = training.data_for(spec)
    model = training.build_for(spec, data)  # the same initial weights, SGD(0.05) from the spec
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    split = math.floor(len(data.y_train) * (1 - spec.validation_split))  # Keras' split
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    for epoch in range(spec.epochs):  # the engine's batch order, fed to keras unshuffled
        order = np.concatenate([training.batch_order(3, epoch, split), np.arange(split, len(data.y_train))])
        hist = model.fit(
            data.x_train[order],
            data.y_train[order],
            batch_size=64,
            epochs=1,
            validation_split=spec.validation_split,
            shuffle=False,
            verbose=0,
        ).history
        for k in history:
            history[k] += hist[k]
    for k, values in history.items():
        np.testing.assert_allclose(df[k].to_numpy(), values, rtol=1e-4, err_msg=k)
    _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    assert abs(df.test_accuracy.iloc[-1] - accuracy) <= 1 / len(data.y_test) + 1e-7
    adam = Study(inits=["he_normal"], seeds=[3], engine="stacked", **SMALL).run(cache=False)
    assert not np.allclose(adam.loss.to_numpy(), df.loss.to_numpy(), rtol=1e-2)


# -- evaluation over more than one block of 2,048 examples ------------------------------
def test_stacked_test_metrics_over_several_blocks_match_keras_evaluate() -> None:
    n_test = 2100  # one block of training.EVAL_BLOCK[False] = 2048 examples and a rest of 52
    spec = RunSpec(
        dataset="mnist",
        model="mlp_128",
        init="he_normal",
        seed=0,
        epochs=1,
        train_limit=640,
        test_limit=n_test,
        engine="stacked",
    )
    model, record = training.train(spec)
    data = training.data_for(spec)
    assert len(data.y_test) == n_test > training.EVAL_BLOCK[False]
    loss, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0)
    assert abs(record.test_accuracy - accuracy) <= 1 / n_test + 1e-7  # within one example
    # summing n float32 losses in another order differs by at most ~n * eps relative
    assert record.test_loss == pytest.approx(loss, rel=n_test * float(np.finfo(np.float32).eps))


# -- preprocess="standardize" ---------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_standardize_uses_the_training_sets_channel_statistics(dataset) -> None:
    scaled = training.prepare_data(dataset, preprocess="scale", channels=False, train_limit=640, test_limit=500)
    std = training.prepare_data(dataset, preprocess="standardize", channels=False, train_limit=640, test_limit=500)
    channels = 1 if scaled.x_train.ndim == 3 else scaled.x_train.shape[-1]
    raw_train = scaled.x_train.reshape(-1, channels).astype(np.float64)
    mean, sd = raw_train.mean(axis=0), raw_train.std(axis=0)
    train = std.x_train.reshape(-1, channels).astype(np.float64)
    test = std.x_test.reshape(-1, channels).astype(np.float64)
    eps = np.finfo(np.float32).eps
    # the training set: mean 0 and std 1 per channel, up to float32 rounding of (x - mean) / std
    rounding = 4 * eps * np.abs(train).max()
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=rounding)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=rounding)
    # the test set: the training set's statistics, not its own
    expected = (scaled.x_test.reshape(-1, channels).astype(np.float64) - mean) / sd
    np.testing.assert_allclose(test, expected, atol=4 * eps * np.abs(expected).max())
    # ... so its mean is 0 only up to sampling: pixels of one image are correlated, so the
    # sample size is the number of images; 5 standard errors of a difference of two means
    per_image = std.x_train.reshape(len(std.x_train), -1, channels).mean(axis=1)
    se = per_image.std(axis=0) * math.sqrt(1 / len(std.x_train) + 1 / len(std.x_test))
    assert (np.abs(test.mean(axis=0)) < 5 * se).all()


def test_a_standardized_run_trains_and_differs_from_a_scaled_one() -> None:
    std = Study(inits=["he_normal"], seeds=[0], preprocess="standardize", **SMALL).run(cache=False)
    scaled = Study(inits=["he_normal"], seeds=[0], **SMALL).run(cache=False)
    assert (std.status == "ok").all() and std.test_accuracy.iloc[-1] > 0.6
    assert not np.allclose(std.loss.to_numpy(), scaled.loss.to_numpy(), rtol=1e-3)


def test_a_study_is_one_picklable_object(cache_root) -> None:
    import pickle

    study = training.Study(
        "mnist",
        "mlp_128",
        ("he_normal", "zeros"),
        seeds=(0, 1),
        epochs=1,
        train_limit=600,
        test_limit=200,
        init_params={"zeros": {}},
    )
    again = pickle.loads(pickle.dumps(study))
    assert again == study and [s.engine for s in again.specs()] == ["stacked"] * 4
    df = again.run(cache_root=str(cache_root))
    same = training.Study(
        "mnist", "mlp_128", ["he_normal", "zeros"], seeds=[0, 1], epochs=1, train_limit=600, test_limit=200
    ).run(cache_root=str(cache_root), cached_only=True)
    assert df.drop(columns="wall_time").equals(same.drop(columns="wall_time"))


def test_the_engine_registry_names_its_engines() -> None:
    assert training.ENGINES == ("auto", *training.ENGINE_REGISTRY) and "keras" in training.ENGINE_REGISTRY
    with pytest.raises(UnknownNameError, match="Valid engine names: keras, stacked, stacked_bf16"):
        training.get_engine("turbo")
    spec = RunSpec(dataset="mnist", model="mlp_128", init="he_normal", seed=0)
    assert training.ENGINE_REGISTRY["stacked"].accepts(spec) and training.ENGINE_REGISTRY["keras"].accepts(spec)
    assert [len(u) for u in training.get_engine("keras").units([spec, spec], max_stack=8)] == [1, 1]


# -- a grid of studies: learning rates and momenta stacked together --------------------------
def _grid(**common):
    return [
        training.Study(
            inits=("he_normal", "glorot_uniform"),
            seeds=(0, 1),
            optimizer="sgd",
            learning_rate=lr,
            momentum=m,
            **SMALL,
            **common,
        )
        for lr, m in ((0.05, 0.0), (0.01, 0.9))
    ]


def test_a_grid_stacks_runs_across_learning_rates_and_momenta() -> None:
    specs = [spec for study in _grid() for spec in study.specs()]
    units = [unit for _, unit in training.study._batches(specs, 8)]
    assert [len(u) for u in units] == [8]
    rates = {(training.resolved_learning_rate(s.optimizer, s.learning_rate), s.momentum) for s in units[0]}
    assert rates == {(0.05, 0.0), (0.01, 0.9)}  # 0.01, SGD's default, is held as None (canonical_learning_rate)
    adam = training.Study(inits=("he_normal",), seeds=(0,), **SMALL).specs()
    assert len(training.study._batches(specs + adam, 16)) == 2  # Adam and SGD never share a stack


@pytest.mark.kernels
def test_a_grid_gives_each_study_its_own_numbers(cache_root) -> None:
    grid = training.run_grid(_grid(), cache_root=cache_root)
    assert list(grid.columns) == RESULT_COLUMNS + training.SETUP_COLUMNS
    assert set(grid.optimizer_setting) == {"sgd", "momentum 0.9"}
    assert set(grid.learning_rate) == {0.05, 0.01}
    assert set(grid.init_params) == {"{}"} and set(grid.model_params) == {"{}"}
    for study in _grid():
        alone = study.run(cache=False)
        mine = grid[(grid.learning_rate == study.learning_rate) & (grid.momentum == study.momentum)]
        mine = mine[RESULT_COLUMNS].reset_index(drop=True)
        losses = ["loss", "val_loss", "test_loss"]  # stacks of other sizes round differently: an example may flip
        np.testing.assert_allclose(mine[losses].to_numpy(), alone[losses].to_numpy(), rtol=1e-4)
        accuracies = ["accuracy", "val_accuracy", "test_accuracy"]
        np.testing.assert_allclose(mine[accuracies].to_numpy(), alone[accuracies].to_numpy(), atol=1 / 128 + 1e-9)
        assert (mine[["init", "seed", "epoch"]] == alone[["init", "seed", "epoch"]]).all().all()
    default = training.run_grid(
        [training.Study(inits=("he_normal",), seeds=(0,), optimizer="sgd", **SMALL)], cache_root=cache_root
    )
    assert set(default.learning_rate) == {0.01}  # Keras' default for SGD, resolved
    scales = [
        training.Study(inits=("variance_scaling",), seeds=(0,), init_params={"variance_scaling": {"scale": s}}, **SMALL)
        for s in (1.0, 2.0)
    ]
    rows = training.run_grid(scales, cache_root=cache_root)
    assert set(rows.init_params) == {'{"scale": 1.0}', '{"scale": 2.0}'}  # same init, told apart


def test_a_grid_refuses_what_is_not_a_list_of_studies() -> None:
    with pytest.raises(InvalidArgumentError, match=r"`studies` must be a list of Study objects"):
        training.run_grid(training.Study(inits=("he_normal",), **SMALL))
    with pytest.raises(InvalidArgumentError, match=r"`studies` must be a non-empty list"):
        training.run_grid([])


# -- the set-up written once; cache keys as before -------------------------------------------
def test_run_spec_and_study_extend_one_setup() -> None:
    from dataclasses import fields

    setup = [f.name for f in fields(training.Setup)]
    assert set(setup) < {f.name for f in fields(RunSpec)} and set(setup) < {f.name for f in fields(Study)}
    assert {f.name for f in fields(RunSpec)} - set(setup) == {"init", "seed", "init_params"}
    assert {f.name for f in fields(Study)} - set(setup) == {"inits", "seeds", "init_params"}
    assert RunSpec("mnist", "mlp_128", "he_normal", 3).engine == "keras"
    assert Study("mnist", "mlp_128", ("he_normal",)).engine == "auto"
    with pytest.raises(TypeError):
        RunSpec("mnist", "mlp_128", "he_normal", 3, 5)  # epochs and the rest are keyword-only
    with pytest.raises(TypeError):
        Study("mnist", "mlp_128", ("he_normal",), (0, 1))  # seeds too
    spec = Study(
        "mnist",
        "mlp_128",
        ("he_normal",),
        seeds=(2,),
        epochs=3,
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.5,
        nesterov=True,
        validation_split=0.1,
        train_limit=640,
        test_limit=500,
        preprocess="standardize",
        model_params={"depth": 1},
        engine="keras",
    ).specs()[0]
    assert spec == RunSpec(
        "mnist",
        "mlp_128",
        "he_normal",
        2,
        epochs=3,
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.5,
        nesterov=True,
        validation_split=0.1,
        train_limit=640,
        test_limit=500,
        preprocess="standardize",
        model_params={"depth": 1},
        engine="keras",
    )


# Keys computed by the code before the set-up was written once (package version 0.2.0).
KEYS_BEFORE = {
    "plain": "933ce21d9797d2ef234a211571410cf774f452932d957e68cfb3cd56420eeaec",
    "patel": "311a6f779915c8f9e589fed562112e7d61523af03a2853250b8c8584ad8fc934",
    "nesterov": "b07d8a13769232395dcf49ec269c20b9ad963841e3b5a497306bbc72ae40674a",
    "desai": "c47bc41b8513b283756832886ee9e8ff7cfc68be7001823b2d29c95fea423ede",
    "deep": "7e68d945860d13e07014a916c09d1ee53a638f972d5bfe3fed1b0a8bc8a38b74",
    "sgd 0.1": "af92d017eebdbf27e03fae7ce58bf71d9680632109e67948a9a0cdb4f95f1896",
    "adam 0.001 named": "adad74530cecf6a701b233be2f16e8f0946f8514816f7908b8459db9d9f84be9",
    "sgd 0.01 named, momentum 0.9": "fe5ba52cff676de7cff7771f2c1cb931f6079a1f2b7251267a70831fe4c5a353",
}


def test_cache_keys_are_those_of_before(monkeypatch) -> None:
    monkeypatch.setattr(training.spec, "__version__", "0.2.0")  # the version the keys above were computed with
    specs = {
        "plain": RunSpec("mnist", "mlp_128", "he_normal", 3, learning_rate=0.01),
        "patel": RunSpec("fashion_mnist", "cnn_small", "randn_lecun", 1, validation_split=0.1, engine="keras"),
        "nesterov": RunSpec(
            "mnist",
            "deep_mlp",
            "variance_scaling",
            2,
            epochs=1,
            optimizer="sgd",
            learning_rate=0.005,
            momentum=0.9,
            nesterov=True,
            train_limit=5000,
            test_limit=2000,
            init_params={"scale": 1.76, "mode": "fan_in", "distribution": "untruncated_normal"},
            model_params={"depth": 8, "width": 256, "activation": "tanh", "bias_std": 0.05**0.5},
            engine="stacked",
        ),
        "desai": Study("mnist", "mlp_128", ("random_normal", "he_normal"), seeds=(0, 9)).specs()[0],
        "deep": Study(
            "mnist",
            "deep_mlp",
            ("orthogonal",),
            seeds=(1,),
            train_limit=10000,
            init_params={"orthogonal": {"gain": 2**0.5}},
            model_params={"depth": 5, "width": 64, "activation": "relu"},
        ).specs()[0],
        "sgd 0.1": Study(
            "mnist", "mlp_128", ("he_normal",), train_limit=12000, optimizer="sgd", learning_rate=0.1
        ).specs()[0],
    }
    assert {k: s.key() for k, s in specs.items()} == {k: KEYS_BEFORE[k] for k in specs}
    # a named default rate now has the canonical form None; the key it had before is its earlier key
    adam = Study("mnist", "mlp_128", ("he_normal",), train_limit=12000, learning_rate=0.001).specs()[0]
    sgd = Study(
        "mnist", "mlp_128", ("he_normal",), train_limit=12000, optimizer="sgd", learning_rate=0.01, momentum=0.9
    ).specs()[0]
    assert adam.learning_rate is None and sgd.learning_rate is None
    assert adam == Study("mnist", "mlp_128", ("he_normal",), train_limit=12000).specs()[0]
    assert adam.earlier_keys() == [KEYS_BEFORE["adam 0.001 named"]]
    assert sgd.earlier_keys() == [KEYS_BEFORE["sgd 0.01 named, momentum 0.9"]]
    assert specs["sgd 0.1"].earlier_keys() == []


def test_the_default_learning_rate_has_one_canonical_form() -> None:
    assert training.canonical_learning_rate("adam", None) is None
    canonical = training.canonical_learning_rate
    assert canonical("adam", 0.001) is None and canonical("adam", 0.01) == 0.01
    assert canonical("sgd", 0.01) is None and canonical("sgd", 0.001) == 0.001
    assert training.resolved_learning_rate("adam", None) == training.OPTIMIZERS["adam"].default_learning_rate


def test_a_run_cached_under_its_earlier_key_is_found_not_trained(cache_root, monkeypatch) -> None:
    """A run stored by a study that named Adam's default rate (key with 0.001) serves the canonical spec."""
    study = Study(inits=["he_normal"], seeds=[0], **SMALL)
    first = study.run(cache_root=cache_root)
    (entry,) = cache_root.glob("*.json")
    store, spec = RunCache(cache_root), study.specs()[0]
    (earlier,) = spec.earlier_keys()
    assert earlier == replace(spec, learning_rate=0.001).key() != spec.key() == entry.stem
    store.save(earlier, store.load(entry.stem))  # as the code before stored it
    entry.unlink()
    for name in ("train", "train_stack"):
        monkeypatch.setattr(training.engines, name, lambda *a, **k: pytest.fail("a run cached before was trained"))
    named = Study(inits=["he_normal"], seeds=[0], learning_rate=0.001, **SMALL)
    pd.testing.assert_frame_equal(named.run(cache_root=cache_root, cached_only=True), first)
    assert store.load(spec.key()) == store.load(earlier)  # now under its key too; the earlier entry stays
    grid = training.run_grid([named], cache_root=cache_root, cached_only=True)
    assert set(grid.learning_rate) == {0.001} and grid[RESULT_COLUMNS].equals(first)


def test_rows_of_a_grid_are_told_apart_by_study() -> None:
    studies = [
        Study(inits=("he_normal", "zeros"), seeds=(0,), **SMALL),
        Study(inits=("he_normal",), seeds=(0, 1), **SMALL),
    ]
    grid = pd.DataFrame({"epoch": [1, 2, 1, 1, 2, 1, 2]})  # the second run diverged in its first epoch
    assert training.study_of_rows(grid, studies).tolist() == [0, 0, 0, 1, 1, 1, 1]
    with pytest.raises(InvalidArgumentError, match="`grid`"):
        training.study_of_rows(grid.iloc[:5], studies)
    with pytest.raises(InvalidArgumentError, match="`parts`"):
        training.run_each(studies, parts=[[0]])
    assert training.run_options({"epochs": 2, "cache": False, "client": None}) == (
        {"epochs": 2},
        {"cache": False, "client": None},
    )
