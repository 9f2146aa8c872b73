"""Train a run and measure it: the specification-to-measurement helpers the notebooks use
(gradients at initialization, activations before and after training, symmetry over
training, the first optimizer step)."""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab import training
from initlab.errors import InvalidArgumentError
from initlab.nets.layers import kernel_layers
from initlab.probe.float64 import gradient_norms_float64
from initlab.probe.measure import GRAD_SAMPLES, gradient_norms, kernel_gradients, layer_activations, snapshot_kernels
from initlab.probe.symmetry import SymmetryTracker, symmetry_rows


def _on_engine(spec: Any, engine: str | None) -> Any:
    """``spec`` set to train on ``engine`` (``"auto"`` resolved); None leaves it as it is."""

    return spec if engine is None else replace(spec, engine=training.resolve_engine(spec, engine))


def track_symmetry(spec: Any, engine: str | None = None) -> tuple[pd.DataFrame, Any]:
    """Train one run (a :class:`initlab.training.spec.RunSpec`) recording unit spread per epoch.

    Args:
        spec: the run.
        engine: train with this engine (one of :data:`initlab.training.engines.ENGINES`, ``"auto"``
            included) instead of ``spec.engine``; on either a :class:`SymmetryTracker` reads the
            kernels through the engines' ``on_epoch`` hook.

    Returns:
        The frame (``init, seed, epoch, layer, unit_spread, distinct_units``; epoch 0 is the
        initial state) and the run's :class:`~initlab.training.record.RunRecord`, whose
        ``engine`` says which engine ran.
    """

    spec = _on_engine(spec, engine)
    tracker = SymmetryTracker()
    _, record = training.train(spec, training.data_for(spec), on_epoch=tracker)
    keras.backend.clear_session()
    return tracker.frame().assign(init=spec.init, seed=spec.seed), replace(record, engine=spec.engine)


def gradients_at_init(spec: Any, n_samples: int = 512) -> pd.DataFrame:
    """Per-layer gradient norms of an untrained model on the first training examples."""

    data = training.data_for(spec)
    model = training.build_for(spec, data)
    out = gradient_norms(model, data.x_train[:n_samples], data.y_train[:n_samples])
    keras.backend.clear_session()
    return out.assign(init=spec.init, seed=spec.seed)


def activations_before_after(
    spec: Any, n_samples: int | None = None, *, grad_samples: int = GRAD_SAMPLES, engine: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Any]:
    """Hidden-layer activations on the test set at initialization and after training one run.

    Args:
        spec: a :class:`initlab.training.spec.RunSpec`.
        n_samples: use the first ``n_samples`` test images for the activations (default: all).
        grad_samples: the loss gradients are taken on the first ``grad_samples`` test images
            and their labels, as one batch.
        engine: train with this engine (one of :data:`initlab.training.engines.ENGINES`, ``"auto"``
            included) instead of ``spec.engine``; the record's ``engine`` says which ran.

    Returns:
        ``(at_init, after_training, record)``; the activations are keyed by layer name.
        The record is :func:`initlab.training.engines.train`'s :class:`~initlab.training.record.RunRecord`
        with its ``engine`` and ``gradient_norms``: the :func:`gradient_norms` frame of the
        untrained and of the trained model, with a ``stage`` column (``"at init"``, ``"trained"``).
    """

    spec = _on_engine(spec, engine)
    data = training.data_for(spec)
    x = data.x_test[:n_samples]
    xg, yg = data.x_test[:grad_samples], data.y_test[:grad_samples]
    model = training.build_for(spec, data)
    before = layer_activations(model, x)
    grads = [gradient_norms(model, xg, yg).assign(stage="at init")]
    keras.backend.clear_session()
    model, record = training.train(spec, data)
    after = layer_activations(model, x)
    grads.append(gradient_norms(model, xg, yg).assign(stage="trained"))
    keras.backend.clear_session()
    return before, after, replace(record, engine=spec.engine, gradient_norms=pd.concat(grads, ignore_index=True))


def gradients_before_after(runs: dict[str, tuple[Any, Any, Any]]) -> pd.DataFrame:
    """The hidden layers' gradient norms of :func:`activations_before_after` results, keyed by init, in one frame.

    Returns:
        Columns ``init, stage, layer, kernel_grad_norm, bias_grad_norm, kernel_norm``
        (hidden layers only, in order; inits in the order of ``runs``).
    """
    frames = [r[2].gradient_norms.assign(init=init) for init, r in runs.items()]
    out = pd.concat(frames, ignore_index=True)
    out = out[out["layer"].str.startswith("hidden_")]
    return out[["init", "stage", "layer", "kernel_grad_norm", "bias_grad_norm", "kernel_norm"]].reset_index(drop=True)


PRECISIONS = ("float32", "float64")


def gradients_at_init_in(spec: Any, precision: str = "float32", n_samples: int = 512) -> pd.DataFrame:
    """:func:`gradients_at_init` in ``precision``: ``"float32"`` (Keras) or ``"float64"``
    (:func:`gradient_norms_float64`, MLPs only), with a ``precision`` column."""

    if precision not in PRECISIONS:
        raise InvalidArgumentError("precision", precision, f"must be one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return gradients_at_init(spec, n_samples).assign(precision=precision)
    data = training.data_for(spec)
    model = training.build_for(spec, data)
    out = gradient_norms_float64(model, data.x_train[:n_samples], data.y_train[:n_samples])
    keras.backend.clear_session()
    return out.assign(init=spec.init, seed=spec.seed, precision=precision)


def track_symmetry_runs(
    specs: Sequence[Any], labels: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[tuple[keras.Model, Any]]]:
    """Train runs together on the stacked engine, recording every hidden layer's unit symmetry.

    The runs must differ only in ``init``, ``seed`` and ``init_params``
    (:func:`initlab.training.engines.train_stack`); they train in stacks of
    :func:`initlab.training.engines.stack_size`, read through the engines' ``on_epoch`` hook.

    Args:
        specs: the runs (their ``engine`` is set to ``"stacked"``).
        labels: a name per run for the ``init`` column (default each run's ``init``), e.g.
            to tell apart two runs of one initializer with different parameters.

    Returns:
        The frame (``init, seed, epoch, layer, unit_spread, distinct_units``; epoch 0 is the
        initial state) and per run its trained model and :class:`~initlab.training.record.RunRecord`.
    """

    specs = [replace(s, engine="stacked") for s in specs]
    labels = list(labels) if labels is not None else [s.init for s in specs]
    if len(labels) != len(specs):
        raise InvalidArgumentError("labels", labels, f"must hold one name per run ({len(specs)})")
    if not specs:
        raise InvalidArgumentError("specs", list(specs), "must hold at least one run")
    data = training.data_for(specs[0])
    size = training.stack_size(specs[0])
    frames, results = [], []
    for start in range(0, len(specs), size):
        chunk = specs[start : start + size]
        rows: list[dict[str, Any]] = []

        def on_epoch(epoch: int, models: Sequence[keras.Model], first: int = start) -> None:
            for k, model in enumerate(models):
                kernels = {layer.name: layer.kernel.numpy() for layer in kernel_layers(model)}
                rows.extend(
                    {**r, "init": labels[first + k], "seed": specs[first + k].seed}
                    for r in symmetry_rows(epoch, kernels)
                )

        results += training.train_stack(chunk, data, on_epoch=on_epoch)
        frames.append(pd.DataFrame(rows))
        keras.backend.clear_session()
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["layer"].str.startswith("hidden_")].reset_index(drop=True)
    return frame[["init", "seed", "epoch", "layer", "unit_spread", "distinct_units"]], results


def first_adam_step(spec: Any) -> pd.DataFrame:
    """One optimizer step of an untrained run on its first training batch, per kernel layer.

    Adam moves each weight by ``lr · m / (sqrt(v) + eps)``; on the first step that is
    ``lr · g / (|g| + eps)``: about ``lr`` whatever the gradient's size ``g``, as long as
    ``|g|`` is well above ``eps`` (1e-7 in Keras).

    Returns:
        One row per kernel layer: ``layer``, ``grad_rms`` (root mean square of the kernel's
        gradient on the batch), ``step_rms`` (of the change of its weights), ``kernel_std``.
    """

    data = training.data_for(spec)
    model = training.build_for(spec, data)
    x, y = data.x_train[: spec.batch_size], data.y_train[: spec.batch_size]
    grads = kernel_gradients(model, x, y)
    before = snapshot_kernels(model)
    model.train_on_batch(x, y)
    after = snapshot_kernels(model)
    keras.backend.clear_session()
    rms = lambda a: float(np.sqrt(np.mean(np.square(np.asarray(a, np.float64)))))  # noqa: E731
    return pd.DataFrame(
        [
            {
                "layer": n,
                "grad_rms": rms(grads[n]),
                "step_rms": rms(after[n] - before[n]),
                "kernel_std": float(np.std(before[n])),
            }
            for n in before
        ]
    ).assign(init=spec.init, seed=spec.seed)
