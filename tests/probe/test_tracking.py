"""LayerStatsTracker: when it records, what it records, and that the records agree with the training step."""

from __future__ import annotations

import math
import time

import keras
import matplotlib
import numpy as np
import pytest

from initlab import plots
from initlab.errors import InvalidArgumentError
from initlab.nets.models import build_model
from initlab.probe import tracking
from initlab.probe.tracking import TRACK_COLUMNS, LayerStatsTracker, tracking_overhead

matplotlib.use("Agg")

RNG = np.random.default_rng(0)
X = RNG.random((64, 8, 8), dtype=np.float32)
Y = RNG.integers(0, 10, size=64)


def _model(activation: str = "tanh", lr: float = 0.01) -> keras.Model:
    keras.utils.set_random_seed(0)  # building switches op determinism on: fit's shuffle then needs a seed, as a run's
    model = build_model("deep_mlp", (8, 8), init="glorot_uniform", seed=0, depth=3, width=16, activation=activation)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy")
    return model


def test_records_every_n_steps_with_step_and_epoch() -> None:
    model = _model()
    tracker = LayerStatsTracker(X[:32], Y[:32], every_n_steps=3)
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[tracker])  # 4 steps per epoch, 8 in all
    frame = tracker.frame()
    assert list(frame.columns) == TRACK_COLUMNS
    assert sorted(frame["step"].unique()) == [0, 3, 6]
    assert dict(frame.groupby("step")["epoch"].first()) == {0: 0, 3: 1, 6: 2}
    layers = ["hidden_1", "hidden_2", "hidden_3", "output"]
    for step, rows in frame.groupby("step"):
        assert sorted(rows["layer"].unique()) == sorted(layers)
        stats = set(rows["statistic"])
        assert {"activation_mean", "activation_std", "kernel_std", "kernel_grad_norm"} <= stats
        assert ("update_ratio" in stats) == (step > 0)  # no step was taken before step 0
        assert "frac_saturated" in set(rows.loc[rows["layer"] == "hidden_1", "statistic"])  # tanh layers


def test_epoch_mode_records_the_last_step_of_each_epoch() -> None:
    model = _model("relu")
    tracker = LayerStatsTracker(X[:32], Y[:32])
    model.fit(X, Y, batch_size=16, epochs=3, verbose=0, callbacks=[tracker])
    frame = tracker.frame()
    assert sorted(frame["step"].unique()) == [0, 4, 8, 12]
    assert sorted(frame["epoch"].unique()) == [0, 1, 2, 3]
    assert "frac_zero" in set(frame.loc[frame["layer"] == "hidden_2", "statistic"])
    # the last record is the trained model: its kernel_std is the final kernel's
    last = frame[(frame["step"] == 12) & (frame["statistic"] == "kernel_std")].set_index("layer")["value"]
    for name, value in last.items():
        assert value == pytest.approx(float(np.std(np.asarray(model.get_layer(name).kernel))), rel=1e-6)


def test_update_ratio_is_the_sgd_step_on_the_probe_batch() -> None:
    # One full-batch SGD step on the probe batch itself: the update is -lr * (gradient at step 0),
    # so update_ratio(step 1) = log10(lr * std(gradient at step 0) / kernel_std(step 0)).
    lr = 0.05
    model = _model(lr=lr)
    tracker = LayerStatsTracker(X, Y, every_n_steps=1, keep_gradients=True)
    model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0, callbacks=[tracker])
    frame = tracker.frame().set_index(["step", "layer", "statistic"])["value"]
    assert sorted(tracker.gradients) == [0, 1]
    for name, g in tracker.gradients[0].items():
        expected = math.log10(lr * np.std(g) / frame[0, name, "kernel_std"])
        assert frame[1, name, "update_ratio"] == pytest.approx(expected, abs=1e-4)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="every_n_steps=0"):
        LayerStatsTracker(X, Y, every_n_steps=0)
    with pytest.raises(InvalidArgumentError, match="y"):
        LayerStatsTracker(X, Y[:10])


class _CountedProbe(tracking.LayerProbe):
    """A probe that counts its passes and takes at least ``DELAY`` seconds each."""

    calls: list[int] = []
    DELAY = 0.05

    def __call__(self, *args, **kwargs):
        type(self).calls.append(1)
        time.sleep(self.DELAY)
        return super().__call__(*args, **kwargs)


def _overhead_with_counted_probe(monkeypatch) -> dict:
    _CountedProbe.calls = []
    monkeypatch.setattr(tracking, "LayerProbe", _CountedProbe)
    return tracking_overhead("mlp_128", n_samples=640, batch_size=32, every_n_steps=5, probe_size=32, repeats=1)


def test_tracking_overhead_reports_both_timings(monkeypatch) -> None:
    # Timings are not compared (the machine is shared); the counts are, and the callback's
    # time lies inside the timed fit it belongs to.
    out = _overhead_with_counted_probe(monkeypatch)
    assert out["steps"] == 16 and out["records"] == 1 + 16 // 5
    assert len(_CountedProbe.calls) == out["records"]  # one probe pass per record, none untracked
    assert out["seconds_without"] > 0 and out["seconds_with"] > 0
    assert 0 < out["callback_seconds"] < out["seconds_with"]


def test_tracking_overhead_counts_the_time_of_every_record(monkeypatch) -> None:
    # each probe pass sleeps DELAY, so the callback's time is at least that per record (sleep
    # never returns early: a lower bound that a busy machine cannot break)
    out = _overhead_with_counted_probe(monkeypatch)
    assert out["callback_seconds"] >= out["records"] * _CountedProbe.DELAY


def test_plots_are_titled_and_labelled() -> None:
    model = _model("relu")
    tracker = LayerStatsTracker(X[:32], Y[:32], every_n_steps=2, keep_gradients=True)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[tracker])
    frame = tracker.frame()
    fig = plots.layer_stat_curves(frame, "update_ratio", title="ratios")
    ax = fig.axes[0]
    assert ax.get_title() == "ratios" and ax.get_xlabel() == "optimizer step" and "log10" in ax.get_ylabel()
    fig = plots.layer_profile(frame[frame["step"] == 0], "activation_std", title="profile")
    assert fig.axes[0].get_xlabel().startswith("layer index") and fig.axes[0].get_ylabel() == "activation std"
    fig = plots.gradient_histograms(tracker.gradients[4], title="grads")
    assert [a.get_title() for a in fig.axes[:4]] == ["hidden_1", "hidden_2", "hidden_3", "output"]
    assert fig.axes[0].get_xlabel() == "kernel gradient value"
    matplotlib.pyplot.close("all")
