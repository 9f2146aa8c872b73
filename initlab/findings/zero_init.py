"""What a zero-initialized network scores: arithmetic on the labels, and an exact replay of its training.

With every kernel and bias at zero, a ReLU network's hidden activations are zero for
every input, so its output is ``softmax(b)`` of the last layer's bias alone, and every
other gradient is exactly zero (each is multiplied by a zero activation or a zero
kernel). The network is a constant predictor whose only moving parameters are the ten
output biases, so everything it scores follows from the labels:

* evaluated on a set, it scores the share of the class it predicts (at best the most
  frequent class's share), and once its bias has converged to the frequencies of the
  labels it trained on, its loss on a set is their cross-entropy with that set's
  frequencies (on the training labels themselves, their entropy; ln C for balanced classes);
* while it trains, the accuracy Keras reports is a running mean over the epoch's batches,
  taken while the bias still moves, and on a balanced set that mean can fall below 1/C.

:func:`replay` trains that bias exactly as initlab's engine trains the whole network
(Adam with Keras' defaults in float32, each epoch's batch order from
:func:`initlab.training.record.batch_order`), from the labels alone: a zero-initialized run's
numbers, in milliseconds, without its images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab.data.datasets import load_dataset
from initlab.errors import InvalidArgumentError
from initlab.training.record import batch_order
from initlab.training.spec import fit_examples

ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # Keras' defaults, as the engine's
METRICS = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]


def _labels(labels: Sequence[int] | np.ndarray, n_classes: int, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.integer):
        raise InvalidArgumentError(
            name,
            f"array of shape {y.shape} and dtype {y.dtype}",
            "must be a non-empty 1-D array of integer class labels",
        )
    if y.min() < 0 or y.max() >= n_classes:
        raise InvalidArgumentError(name, f"labels from {y.min()} to {y.max()}", f"must lie in [0, {n_classes})")
    return y.astype(np.int64)


def label_stats(
    labels: Sequence[int] | np.ndarray, fitted_on: Sequence[int] | np.ndarray | None = None, n_classes: int = 10
) -> dict[str, float]:
    """What a constant predictor scores on ``labels``.

    Args:
        labels: the set's class labels.
        fitted_on: the labels the predictor was trained on (default ``labels``): it predicts
            their most frequent class (the first one on a tie) with their class frequencies.
        n_classes: the number of classes C.

    Returns:
        ``examples``; ``majority`` and ``majority_share`` (the best constant predictor on this
        set); ``predicted`` and ``predicted_share`` (the class the fitted predictor picks, and
        its accuracy here); ``entropy`` (the loss of predicting this set's own frequencies);
        ``cross_entropy`` (the loss of predicting ``fitted_on``'s frequencies: a converged
        zero-initialized net's loss on this set; ``inf`` when it gives a present class no
        probability); ``uniform_loss`` (ln C, the loss of a uniform prediction).
    """
    y = _labels(labels, n_classes)
    fit = y if fitted_on is None else _labels(fitted_on, n_classes, "fitted_on")
    freq = np.bincount(y, minlength=n_classes) / y.size
    prior = np.bincount(fit, minlength=n_classes) / fit.size
    present = freq > 0
    with np.errstate(divide="ignore"):
        cross = float(-(freq[present] * np.log(prior[present])).sum())
    predicted = int(np.argmax(prior))
    return {
        "examples": int(y.size),
        "majority": int(np.argmax(freq)),
        "majority_share": float(freq.max()),
        "predicted": predicted,
        "predicted_share": float(freq[predicted]),
        "entropy": float(-(freq[present] * np.log(freq[present])).sum()),
        "cross_entropy": cross,
        "uniform_loss": float(np.log(n_classes)),
    }


def label_sets(
    y_train: np.ndarray, y_test: np.ndarray, validation_split: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four sets a table's number could come from, each with the labels its predictor is fitted on.

    The training split is the first ``1 - validation_split`` of the training set (Keras'
    ``validation_split`` holds out the end), fitted on itself; the validation split is fitted
    on the training split; the full training set on itself; the test set on the full training set.
    """

    split = fit_examples(len(y_train), validation_split)
    return {
        "full training set": (y_train, y_train),
        f"training split (first {1 - validation_split:.0%})": (y_train[:split], y_train[:split]),
        f"validation split (last {validation_split:.0%})": (y_train[split:], y_train[:split]),
        "test set": (y_test, y_train),
    }


def label_table(datasets: Sequence[str], validation_split: float, data_dir: str | None = None) -> pd.DataFrame:
    """:func:`label_stats` for each dataset's four sets (:func:`label_sets`), accuracies as fractions."""

    rows = []
    for name in datasets:
        data = load_dataset(name, data_dir)
        n_classes = len(data.class_names)
        for subset, (labels, fitted) in label_sets(
            np.asarray(data.y_train), np.asarray(data.y_test), validation_split
        ).items():
            rows.append({"dataset": name, "set": subset, **label_stats(labels, fitted, n_classes)})
    return pd.DataFrame(rows)


def _log_probs(b: np.ndarray) -> np.ndarray:
    z = b - b.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _adam_epoch(
    state: dict[str, Any], seen: np.ndarray, batch_size: int, c: int, lr: np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of float32 Adam on the output biases ``state["bias"]`` (R, c), one row per run,
    over ``seen`` (R, n), each run's labels in the order it sees them. ``state`` (``bias``, ``m``,
    ``v``, ``step``) is updated; returns each run's loss sum and hits over the examples as seen."""
    f32, one = np.float32, np.float32(1.0)
    b1, b2, eps = f32(ADAM["beta_1"]), f32(ADAM["beta_2"]), f32(ADAM["epsilon"])
    r, n = seen.shape
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    groups = np.repeat(np.arange(len(sizes)), sizes)  # the batch each position falls in
    index = (np.arange(r)[:, None] * len(sizes) + groups[None, :]) * c + seen
    counts = np.bincount(index.ravel(), minlength=r * len(sizes) * c).reshape(r, len(sizes), c).astype(f32)
    loss_sum, hits = np.zeros(r), np.zeros(r)
    bias, m, v, step = state["bias"], state["m"], state["v"], state["step"]
    for s, size in enumerate(sizes):
        cnt = counts[:, s]
        logp = _log_probs(bias)
        loss_sum -= (cnt * logp).sum(axis=1, dtype=np.float64)
        hits += cnt[np.arange(r), bias.argmax(axis=1)]
        grad = np.exp(logp) - cnt / f32(size)
        step = step + one
        m = m + (grad - m) * (one - b1)
        v = v + (grad * grad - v) * (one - b2)
        alpha = lr * np.sqrt(one - b2**step) / (one - b1**step)
        bias = bias - (m * alpha) / (np.sqrt(v) + eps)
    state.update(bias=bias, m=m, v=v, step=step)
    return loss_sum, hits


def replay(
    y_fit: Sequence[int] | np.ndarray,
    seeds: Sequence[int],
    *,
    epochs: int = 5,
    batch_size: int = 32,
    evaluate: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    n_classes: int = 10,
    learning_rate: float = ADAM["learning_rate"],
) -> pd.DataFrame:
    """Train a zero-initialized network's output bias on ``y_fit`` as the engine trains the network.

    One run per seed (all at once): Adam in float32, each epoch's batch order from
    :func:`initlab.training.record.batch_order`, a smaller last batch, and per epoch the loss and
    accuracy averaged over the examples as they were seen (before each step's update), as
    Keras and the engine report them.

    Args:
        y_fit: the training labels, in the order the runs index them.
        seeds: one run per seed.
        epochs, batch_size, learning_rate: the training set-up.
        evaluate: sets to evaluate after each epoch, by name (e.g. ``{"val": y_val}`` gives
            ``val_loss`` and ``val_accuracy``).

    Returns:
        One row per (seed, epoch): ``seed, epoch, loss, accuracy`` and ``<name>_loss,
        <name>_accuracy`` for each evaluated set.
    """

    y = _labels(y_fit, n_classes, "y_fit")
    if int(epochs) < 1 or int(batch_size) < 1:
        raise InvalidArgumentError(
            "epochs" if int(epochs) < 1 else "batch_size",
            epochs if int(epochs) < 1 else batch_size,
            "must be at least 1",
        )
    seeds = [int(s) for s in seeds]
    sets = {k: _labels(v, n_classes, f"evaluate[{k!r}]") for k, v in (evaluate or {}).items()}
    r, n, c = len(seeds), y.size, n_classes
    state = {
        "bias": np.zeros((r, c), np.float32),
        "m": np.zeros((r, c), np.float32),
        "v": np.zeros((r, c), np.float32),
        "step": np.float32(0.0),
    }
    rows = []
    for epoch in range(int(epochs)):
        seen = y[np.stack([batch_order(s, epoch, n) for s in seeds])]  # (R, n) labels in the order seen
        loss_sum, hits = _adam_epoch(state, seen, batch_size, c, np.float32(learning_rate))
        row = {"seed": seeds, "epoch": epoch + 1, "loss": loss_sum / n, "accuracy": hits / n}
        logp = _log_probs(state["bias"])
        for name, labels in sets.items():
            cnt = np.bincount(labels, minlength=c)
            row[f"{name}_loss"] = -(logp.astype(np.float64) * cnt).sum(axis=1) / labels.size
            row[f"{name}_accuracy"] = cnt[state["bias"].argmax(axis=1)] / labels.size
        rows.append(pd.DataFrame(row))
    return pd.concat(rows, ignore_index=True).sort_values(["seed", "epoch"], ignore_index=True)


def replay_study(
    dataset: str,
    seeds: Sequence[int],
    *,
    epochs: int = 5,
    batch_size: int = 32,
    validation_split: float = 0.2,
    train_limit: int | None = None,
    test_limit: int | None = None,
    data_dir: str | None = None,
) -> pd.DataFrame:
    """A zero-initialized study's results from the labels alone, in ``Study.run``'s columns.

    The same set-up as :meth:`initlab.training.study.Study.run` (the first ``train_limit`` training
    and ``test_limit`` test examples, the last ``validation_split`` of the training set held
    out, no validation columns when it is 0); test numbers repeat on every epoch row, as the
    runner's do.
    """

    data = load_dataset(dataset, data_dir)
    y_train, y_test = np.asarray(data.y_train)[:train_limit], np.asarray(data.y_test)[:test_limit]
    split = fit_examples(len(y_train), validation_split)
    sets = {"test": y_test, **({"val": y_train[split:]} if split < len(y_train) else {})}
    out = replay(
        y_train[:split], seeds, epochs=epochs, batch_size=batch_size, evaluate=sets, n_classes=len(data.class_names)
    )
    last = out.sort_values("epoch").groupby("seed").tail(1).set_index("seed")
    for column in ("test_loss", "test_accuracy"):
        out[column] = out["seed"].map(last[column])
    out = out.reindex(columns=["seed", "epoch", *METRICS])
    out.insert(0, "init", "zeros")
    out.insert(0, "dataset", dataset)
    return out
