"""A run's record is one object: its cache layout, entries cached before it, its rows; the engines' declared
attributes; op determinism switched on where a run starts, not on import."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from initlab import training
from initlab.training.cache import RunCache, spec_key
from initlab.training.record import RESULT_COLUMNS, RunRecord, follows_divergence_rule
from initlab.training.spec import RunSpec

ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(dataset="mnist", model="mlp_128", epochs=2, train_limit=640, test_limit=500)

# A payload as the cache held it before records were objects (a plain dict), with initial_loss.
OLD = {
    "history": {"loss": [0.9, 0.4], "accuracy": [0.7, 0.88], "val_loss": [0.5, 0.35], "val_accuracy": [0.85, 0.9]},
    "test_loss": 0.37,
    "test_accuracy": 0.89,
    "wall_time": 1.25,
    "status": "ok",
    "diverged_epoch": None,
    "initial_loss": 2.31,
}


def _old_entry(root: Path, key: str, payload: dict) -> Path:
    """Write ``payload`` under ``key`` exactly as the cache wrote entries before records were objects."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    entry = {"key": key, "sha256": hashlib.sha256(canonical.encode()).hexdigest(), "payload": payload}
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{key}.json"
    path.write_text(json.dumps(entry, sort_keys=True, allow_nan=True))
    return path


def _old_rows(spec: RunSpec, record: dict) -> list[dict]:
    """The rows the study built from a record dict before records were objects."""
    history = record["history"]
    n = len(history.get("loss", []))
    return [
        {
            "dataset": spec.dataset,
            "model": spec.model,
            "init": spec.init,
            "seed": spec.seed,
            "epoch": i + 1,
            **{k: history.get(k, [math.nan] * n)[i] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "test_loss": record["test_loss"],
            "test_accuracy": record["test_accuracy"],
            "wall_time": record["wall_time"],
            "status": record["status"],
            "diverged_epoch": record["diverged_epoch"],
            "engine": spec.engine,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("initial", [True, False], ids=["with_initial_loss", "before_initial_loss"])
def test_an_entry_cached_as_a_dict_loads_unchanged(tmp_path, initial) -> None:
    payload = OLD if initial else {k: v for k, v in OLD.items() if k != "initial_loss"}
    key = spec_key({"old": initial})
    path = _old_entry(tmp_path / "cache", key, payload)
    written = path.read_bytes()
    cache = RunCache(tmp_path / "cache")
    record = cache.load_record(key)
    assert isinstance(record, RunRecord)
    assert record.to_dict() == payload  # the same layout, key for key
    assert record.initial_loss == (2.31 if initial else None)
    assert record.history["loss"] == (0.9, 0.4) and record.status == "ok" and record.diverged_epoch is None
    spec = RunSpec(init="he_normal", seed=0, engine="stacked", **SMALL)
    assert record.rows(spec) == _old_rows(spec, payload)
    assert all(list(row) == RESULT_COLUMNS for row in record.rows(spec))
    cache.save_record(key, record)  # written again: byte for byte the entry of before
    assert path.read_bytes() == written
    assert follows_divergence_rule(record, 10)  # before the rule, but every loss within 10 ln(10)


def test_a_record_before_the_rule_above_its_bound_is_not_followed() -> None:
    old = RunRecord.from_dict(
        {**{k: v for k, v in OLD.items() if k != "initial_loss"}, "history": {"loss": [50.0, 40.0]}}
    )
    assert not follows_divergence_rule(old, 10)
    assert follows_divergence_rule(RunRecord.from_dict({**OLD, "history": {"loss": [50.0, 40.0]}}), 10)


def test_a_diverged_record_round_trips_through_the_cache(tmp_path) -> None:
    record = RunRecord(
        history={"loss": [2.3, math.inf], "accuracy": [0.1, 0.1]},
        test_loss=math.nan,
        test_accuracy=math.nan,
        wall_time=0.5,
        status="diverged",
        diverged_epoch=2,
        initial_loss=2.30,
    )
    cache, key = RunCache(tmp_path), spec_key({"diverged": 1})
    text = cache.save_record(key, record).read_text()
    assert json.loads(text)["payload"].keys() == set(OLD)  # the layout of a dict record
    again = cache.load_record(key)
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(record.to_dict(), sort_keys=True)
    assert again.history["loss"][1] == math.inf and math.isnan(again.test_loss) and again.diverged_epoch == 2
    assert cache.load(key) == json.loads(text)["payload"]  # the raw payload is a plain dict


@pytest.mark.parametrize("engine", ["keras", "stacked"])
def test_a_trained_record_round_trips_through_the_cache(tmp_path, engine) -> None:
    spec = RunSpec(init="he_normal", seed=0, engine=engine, **{**SMALL, "epochs": 1})
    _, record = training.train(spec)
    cache = RunCache(tmp_path)
    cache.save_record(spec.key(), record)
    again = cache.load_record(spec.key())
    assert again == record  # every value finite: equal field by field
    assert again.rows(spec) == record.rows(spec)
    assert set(record.to_dict()) == set(OLD) and set(record.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_probe_attachments_are_not_cached() -> None:
    import pandas as pd

    record = RunRecord.from_dict(OLD)
    probed = replace(record, engine="keras", gradient_norms=pd.DataFrame({"layer": ["hidden_1"]}))
    assert probed.to_dict() == record.to_dict() == OLD


def test_every_engine_declares_its_name_precision_and_whether_it_stacks() -> None:
    for name in ("name", "precision", "stacks"):
        assert name in training.Engine.__annotations__
    for name, engine in training.ENGINE_REGISTRY.items():
        assert engine.name == name and engine.precision in training.PRECISIONS
        assert isinstance(engine.stacks, bool)
    assert training.get_engine("keras").precision == "float32" and not training.get_engine("keras").stacks
    assert training.get_engine("stacked").precision == "float32" and training.get_engine("stacked").stacks
    assert training.get_engine("stacked_bf16").precision == "bfloat16"
    sources = "".join(p.read_text() for p in (ROOT / "initlab").rglob("*.py"))
    assert "getattr(get_engine" not in sources and '"precision", "float32")' not in sources


def test_a_stacked_engine_trains_in_its_own_precision(monkeypatch) -> None:
    seen = []

    def fit_stack(*args, precision, **kwargs):
        seen.append(precision)
        raise KeyboardInterrupt

    monkeypatch.setattr(training.engines, "fit_stack", fit_stack)
    spec = RunSpec(init="he_normal", seed=0, **SMALL)
    for name in ("stacked", "stacked_bf16"):
        with pytest.raises(KeyboardInterrupt):
            training.get_engine(name).train([replace(spec, engine=name)])
    assert seen == ["float32", "bfloat16"]


def test_op_determinism_is_switched_on_where_a_run_starts_not_on_import() -> None:
    code = (  # tf.config.experimental.is_op_determinism_enabled, where TensorFlow does not export it
        "import initlab.training as t, initlab.probe\n"
        "from tensorflow.python.framework.config import is_op_determinism_enabled as enabled\n"
        "print(enabled())\n"
        "spec = t.RunSpec(dataset='mnist', model='mlp_128', init='he_normal', seed=0, train_limit=640, test_limit=50)\n"
        "t.build_for(spec, t.data_for(spec))\n"
        "print(enabled())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True
    ).stdout.split()
    assert out == ["False", "True"]
