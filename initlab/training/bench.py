"""``initlab bench``: the stacked engine against ``keras.Model.fit``, in one process, on the same data.

For each model it measures (a) the sources' way, one ``model.fit`` per model;
(b) the stacked engine with K models per step; (c) the machine's float32
matmul rate, from which the compute limit follows: the arithmetic a model's
training needs (matmul FLOPs of the forward pass, the weight gradients and the
input gradients below the head) divided by that rate. Times are wall-clock
seconds per model; the engine's are taken after one warm-up epoch, so XLA
compilation (paid once per configuration in a study) is not counted, while
keras fit's include the tracing that every new Keras model pays. Speed is
reported as ratios against (a) measured in the same process, never asserted.

The engine trains on data handed over once (:func:`initlab.training.stack.hand_over`),
as the runner does; :func:`handover_cost` measures what converting the arrays
again for every ``fit_stack`` call would cost instead.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from initlab.errors import InvalidArgumentError
from initlab.nets.models import get_model_entry
from initlab.training.build import build_for
from initlab.training.engines import get_engine, resolve_engine, train_keras
from initlab.training.percore import per_core_speedup
from initlab.training.prepare import PreparedData, handed_over, prepare_data
from initlab.training.spec import RunSpec
from initlab.training.stack import fit_stack, hand_over
from initlab.workers import cores

ONE_PER_STACK = ("mlp_512_256_128_64", "cnn_small")  # the models stack_size trains alone (K = 1)

COLUMNS = ["model", "way", "K", "seconds_per_model", "speedup", "compute_fraction", "test_accuracy"]


@dataclass(frozen=True)
class BenchConfig:
    """What one benchmark run measures."""

    models: tuple[str, ...] = ("mlp_128", "mlp_512_256_128_64", "cnn_small")
    stacks: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    conv_stacks: tuple[int, ...] = (1, 2, 4, 8)  # the CNN's time per model only grows past K = 1
    epochs: int = 1
    train_limit: int | None = None
    keras_models: int = 2
    bf16_stack: int | None = 8


QUICK = BenchConfig(
    models=("mlp_128", "mlp_512_256_128_64"), stacks=(1, 4, 8), train_limit=6000, keras_models=1, bf16_stack=None
)


def _positive_int(value: object) -> bool:
    """Whether ``value`` is an integer >= 1 (booleans are not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1


def validate_config(cfg: BenchConfig) -> None:
    """Refuse a configuration no benchmark can run, before anything is measured.

    Every model must be registered (an unknown name lists the valid ones) and trainable
    on the stacked engine; stack sizes, epochs and the number of keras fit runs must be
    integers >= 1; ``train_limit`` and ``bf16_stack`` None or such an integer.

    Raises:
        UnknownNameError: a model name is not in :func:`initlab.nets.models.model_names`.
        InvalidArgumentError: any other value outside its domain.
    """
    if not cfg.models:
        raise InvalidArgumentError("models", list(cfg.models), "must name at least one model")
    for model in cfg.models:
        get_model_entry(model)
    for name in ("stacks", "conv_stacks"):
        sizes = getattr(cfg, name)
        if not sizes or not all(_positive_int(k) for k in sizes):
            raise InvalidArgumentError(name, list(sizes), "must be one or more integers >= 1")
    for name in ("epochs", "keras_models"):
        if not _positive_int(getattr(cfg, name)):
            raise InvalidArgumentError(name, getattr(cfg, name), "must be an integer >= 1")
    for name in ("train_limit", "bf16_stack"):
        value = getattr(cfg, name)
        if value is not None and not _positive_int(value):
            raise InvalidArgumentError(name, value, "must be None or an integer >= 1")
    for model in cfg.models:
        if not get_engine(resolve_engine(_specs(model, 1, None)[0], "auto")).stacks:
            raise InvalidArgumentError(
                "models",
                model,
                "must name models the stacked engine trains (this one needs keras fit, so there is nothing to compare)",
            )


def matmul_rate(n: int = 2048, repeats: int = 10) -> float:
    """The machine's float32 matmul rate in FLOP/s (an n x n by n x n product, best of ``repeats``)."""
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((n, n), dtype=np.float32))
    b = tf.constant(rng.standard_normal((n, n), dtype=np.float32))
    tf.matmul(a, b).numpy()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def training_flops(model: keras.Model, *, n_train: int, n_val: int, epochs: int, n_test: int = 0) -> float:
    """Matmul/convolution FLOPs of training: forward, weight and input gradients, validation, and
    the evaluation of ``n_test`` test examples once at the end.

    A Dense layer costs ``2 * fan_in * fan_out`` per example and pass, a Conv2D
    layer ``2 * out_h * out_w * k_h * k_w * c_in * c_out`` (all of its outputs, as Keras
    computes them); the backward pass costs the forward twice, less the input gradient of
    the first layer.
    """
    costs = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            costs.append(2 * int(np.prod(layer.output.shape[1:3])) * int(np.prod(layer.kernel.shape)))
        elif isinstance(layer, keras.layers.Dense):
            costs.append(2 * int(np.prod(layer.kernel.shape)))
    forward = sum(costs)
    return float(epochs * (n_train * (3 * forward - costs[0]) + n_val * forward) + n_test * forward)


def _specs(model: str, k: int, limit: int | None) -> list[RunSpec]:
    inits = ["he_normal", "glorot_uniform", "lecun_normal", "random_normal"]
    return [RunSpec(dataset="mnist", model=model, init=inits[i % 4], seed=i // 4, train_limit=limit) for i in range(k)]


def _keras_way(model: str, cfg: BenchConfig, data: PreparedData) -> tuple[float, float]:
    times, accs = [], []
    for spec in _specs(model, cfg.keras_models, cfg.train_limit):
        spec = RunSpec(**{**spec.__dict__, "epochs": cfg.epochs, "engine": "keras"})
        _, record = train_keras(spec, data)
        keras.backend.clear_session()
        times.append(record.wall_time)
        accs.append(record.test_accuracy)
    return float(np.mean(times)), float(np.mean(accs))


def _engine_way(
    model: str, k: int, cfg: BenchConfig, data: PreparedData, precision: str = "float32"
) -> tuple[float, float]:
    specs = _specs(model, k, cfg.train_limit)
    models = [build_for(s, data) for s in specs]
    seeds = [s.seed for s in specs]
    handed = handed_over(data, 0.2, get_model_entry(model).convolutional)
    # the warm-up compiles every shape the timed run meets (training, validation and test blocks)
    fit_stack(models, seeds, handed, epochs=1, precision=precision)
    start = time.perf_counter()
    _, records = fit_stack(models, seeds, handed, epochs=cfg.epochs, precision=precision)
    seconds = (time.perf_counter() - start) / k
    return seconds, float(np.mean([r.test_accuracy for r in records]))


HANDOVER_COLUMNS = ["model", "converted_cold_ms", "converted_warm_ms", "handed_over_ms", "share_of_stack"]


def handover_cost(model: str, data: PreparedData, repeats: int = 3) -> dict:
    """What a ``fit_stack`` call pays to get its data, in ms: converting the arrays (the first
    time in the process, "cold", and again, "warm") against looking up data handed over once.
    Measure it before anything else converts the data, or "cold" is not cold."""
    flatten = not get_model_entry(model).convolutional
    times = []
    for _ in range(1 + repeats):
        start = time.perf_counter()
        hand_over(data.x_train, data.y_train, data.x_test, y_test=data.y_test, validation_split=0.2, flatten=flatten)
        times.append(time.perf_counter() - start)
    handed_over(data, 0.2, not flatten)
    start = time.perf_counter()
    for _ in range(100):
        handed_over(data, 0.2, not flatten)
    lookup = (time.perf_counter() - start) / 100
    warm = float(np.median(times[1:]))
    return {
        "model": model,
        "converted_cold_ms": 1e3 * times[0],
        "converted_warm_ms": 1e3 * warm,
        "handed_over_ms": 1e3 * lookup,
    }


def run_bench(cfg: BenchConfig = BenchConfig(), log=print) -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """Measure every way for every model of ``cfg``.

    The configuration is checked first (:func:`validate_config`), so a bad one is
    refused before anything is measured.

    Returns:
        The table (one row per model, way and K), the matmul rate in FLOP/s and the
        data-handover table (one row per model, :func:`handover_cost`).
    """
    validate_config(cfg)
    rate = matmul_rate()
    log(f"float32 matmul rate: {rate / 1e9:.0f} GFLOP/s")
    rows, handover = [], []
    for model in cfg.models:
        model_rows, handover_row = _bench_model(model, cfg, rate, log)
        rows += model_rows
        handover.append(handover_row)
    return pd.DataFrame(rows, columns=COLUMNS), rate, pd.DataFrame(handover, columns=HANDOVER_COLUMNS)


def _bench_model(model: str, cfg: BenchConfig, rate: float, log) -> tuple[list[dict], dict]:
    """:func:`run_bench` for one model: its table rows and its data-handover row."""
    conv = get_model_entry(model).convolutional
    data = prepare_data("mnist", preprocess="scale", channels=conv, train_limit=cfg.train_limit, test_limit=None)
    cost = handover_cost(model, data)
    n = len(data.x_train)
    n_train = int(np.floor(n * 0.8))
    ideal = (
        training_flops(
            build_for(_specs(model, 1, None)[0], data),
            n_train=n_train,
            n_val=n - n_train,
            epochs=cfg.epochs,
            n_test=len(data.x_test),  # both ways evaluate the test set inside the time taken
        )
        / rate
    )
    base, base_acc = _keras_way(model, cfg, data)
    rows = [
        {
            "model": model,
            "way": "keras fit",
            "K": 1,
            "seconds_per_model": base,
            "speedup": 1.0,
            "compute_fraction": ideal / base,
            "test_accuracy": base_acc,
        }
    ]
    log(f"{model}: keras fit {base:.2f} s per model ({ideal / base:.0%} of the compute limit)")
    rows += _stacked_rows(model, cfg, data, conv=conv, base=base, ideal=ideal, log=log)
    k_max = max(cfg.conv_stacks if conv else cfg.stacks)
    stack_seconds = k_max * next(
        r["seconds_per_model"] for r in rows if r["model"] == model and r["way"] == "stacked" and r["K"] == k_max
    )
    handover = {**cost, "share_of_stack": cost["converted_warm_ms"] / 1e3 / stack_seconds}
    log(
        f"{model}: converting the data {cost['converted_cold_ms']:.0f} ms cold, "
        f"{cost['converted_warm_ms']:.0f} ms warm; handed over {cost['handed_over_ms']:.4f} ms"
    )
    return rows, handover


def _stacked_rows(
    model: str, cfg: BenchConfig, data: PreparedData, *, conv: bool, base: float, ideal: float, log
) -> list[dict]:
    """The engine's rows for one model: every stack size in float32, then the bfloat16 one if asked for."""
    stacks = cfg.conv_stacks if conv else cfg.stacks
    bf16 = [(stacks[0] if conv else cfg.bf16_stack, "bfloat16")] if cfg.bf16_stack else []
    rows = []
    for k, precision in [(k, "float32") for k in stacks] + bf16:
        seconds, acc = _engine_way(model, k, cfg, data, precision)
        keras.backend.clear_session()
        way = "stacked" if precision == "float32" else "stacked bf16"
        rows.append(
            {
                "model": model,
                "way": way,
                "K": k,
                "seconds_per_model": seconds,
                "speedup": base / seconds,
                "compute_fraction": ideal / seconds,
                "test_accuracy": acc,
            }
        )
        log(
            f"{model}: {way} K={k} {seconds:.2f} s per model ({base / seconds:.1f}x, "
            f"{ideal / seconds:.0%} of the compute limit)"
        )
    return rows


def format_table(table: pd.DataFrame) -> str:
    """The benchmark table as Markdown."""
    shown = table.assign(
        seconds_per_model=table.seconds_per_model.map("{:.2f}".format),
        speedup=table.speedup.map("{:.1f}x".format),
        compute_fraction=table.compute_fraction.map(lambda v: "" if np.isnan(v) else f"{v:.0%}"),
        test_accuracy=table.test_accuracy.map("{:.4f}".format),
    )
    return shown.to_markdown(index=False) if _has_tabulate() else shown.to_string(index=False)


SHARE_LEGEND = (
    "compute_fraction: the share of the compute limit, i.e. the model's matmul FLOPs (training, "
    "validation and the test set's evaluation) over the float32 matmul rate, divided by the seconds taken"
)


def conv_shares(table: pd.DataFrame) -> list[str]:
    """One line per convolutional model of ``table``: its share of the compute limit on the stacked
    engine alone (K = 1, float32), next to keras fit's."""
    lines = []
    for model in dict.fromkeys(table.model):
        if not get_model_entry(model).convolutional:
            continue
        rows = table[table.model == model]
        alone = rows[(rows.way == "stacked") & (rows.K == 1)]
        if alone.empty:
            continue
        keras_fit = rows[rows.way == "keras fit"].compute_fraction
        beside = f"; keras fit: {keras_fit.iloc[0]:.0%}" if len(keras_fit) else ""
        lines.append(
            f"CNN ({model}) at K=1: {alone.compute_fraction.iloc[0]:.0%} of the compute limit "
            f"(stacked engine, float32{beside})"
        )
    return lines


def format_handover(table: pd.DataFrame) -> str:
    """The data-handover table as Markdown."""
    shown = table.assign(
        **{c: table[c].map("{:.1f}".format) for c in ("converted_cold_ms", "converted_warm_ms")},
        handed_over_ms=table.handed_over_ms.map("{:.4f}".format),
        share_of_stack=table.share_of_stack.map("{:.1%}".format),
    )
    return shown.to_markdown(index=False) if _has_tabulate() else shown.to_string(index=False)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def main(
    *,
    quick: bool = False,
    models: Sequence[str] | None = None,
    stacks: Sequence[int] | None = None,
    epochs: int | None = None,
) -> int:
    """Run the benchmark and print its table (``--quick``: a small subset, under a minute)."""
    cfg = QUICK if quick else BenchConfig()
    changes = {
        k: tuple(v) if isinstance(v, (list, tuple)) else v
        for k, v in (("models", models), ("stacks", stacks), ("conv_stacks", stacks), ("epochs", epochs))
        if v is not None
    }  # given but empty or zero is refused below, not replaced by the default
    cfg = BenchConfig(**{**cfg.__dict__, **changes})
    validate_config(cfg)  # before the header and before anything is measured
    n = cfg.train_limit or 60000
    print(
        f"MNIST, {int(n * 0.8)} training + {n - int(n * 0.8)} validation images, batch 32, "
        f"{cfg.epochs} epoch(s), Adam; seconds per model (engine after one warm-up epoch)",
        flush=True,
    )
    table, _, handover = run_bench(cfg, log=lambda s: print("  " + s, flush=True))
    print()
    print(format_table(table))
    print(SHARE_LEGEND)
    for line in conv_shares(table):
        print(line)
    print()
    print(
        "Data per fit_stack call: converting the arrays (cold: first time in the process; warm: again) "
        "against data handed over once; share: the warm conversion over the largest stack's training time"
    )
    print(format_handover(table=handover))
    alone = [m for m in cfg.models if m in ONE_PER_STACK]
    if alone and cores() > 1:
        print()
        print(
            f"Per core: {cores()} units at a time on single-threaded Dask workers, against one at a time "
            f"here on {cores()} threads (the default since units of K = 1 gain little from a second thread)"
        )
        for model in alone:
            r = per_core_speedup(model, units_per_worker=2, train_limit=cfg.train_limit, epochs=cfg.epochs)
            print(
                f"  {model}: {r.one_at_a_time:.2f} s per model one at a time, {r.per_core:.2f} s one per core: "
                f"{r.speedup:.2f}x",
                flush=True,
            )
    return 0
