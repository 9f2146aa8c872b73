"""A run's record, the divergence rule both engines obey, and the batch order of a seed.

Divergence: a run is diverged at the first epoch whose training loss is NaN,
infinite, or above ten times the larger of ln(C) (C classes; the loss of a
uniform prediction, where sane initializations start: 23.0 for ten classes)
and the untrained model's loss on its first 2,048 training examples (so an
initialization that starts far above chance, such as a deep network drawn
from N(0, 1), is judged against its own start: it is diverged only once its
loss climbs to ten times that start). Training stops there: the record keeps
the history up to and including that epoch, ``status`` ``"diverged"``,
``diverged_epoch`` (1-based) and NaN test metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
from initlab.training.spec import RunSpec

INITIAL_LOSS_EXAMPLES = 2048  # the untrained model's loss is taken on at most this many first training examples


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which a run seeded ``seed`` visits ``n`` examples in ``epoch`` (0-based)."""
    return np.random.default_rng((int(seed), int(epoch))).permutation(n).astype(np.int32)


DIVERGENCE_FACTOR = 10.0


def divergence_bound(n_classes: int, initial_loss: float) -> float:
    """The training loss above which a run is diverged.

    ``DIVERGENCE_FACTOR`` (10) times the larger of ``ln(n_classes)`` (the loss of a uniform
    prediction, where sane initializations start) and ``initial_loss`` (the untrained model's
    loss on its first training examples), so 23.0 for ten classes unless the run started
    higher: an initialization that starts far above chance is judged against its own start.
    A non-finite ``initial_loss`` leaves only the non-finite rule (the bound is inf).
    """
    if not math.isfinite(initial_loss):
        return math.inf
    return DIVERGENCE_FACTOR * max(math.log(n_classes), initial_loss)


def diverges(loss: float, bound: float) -> bool:
    """Whether an epoch's training loss marks divergence: NaN, infinite or above ``bound``."""
    return not (math.isfinite(loss) and loss <= bound)


def diverged_epoch(losses: Sequence[float], bound: float) -> int | None:
    """The first epoch (1-based) whose training loss :func:`diverges`, or None."""
    return next((i + 1 for i, loss in enumerate(losses) if diverges(loss, bound)), None)


RESULT_COLUMNS = ["dataset", "model", "init", "seed", "epoch", "loss", "accuracy", "val_loss",
                  "val_accuracy", "test_loss", "test_accuracy", "wall_time", "status",
                  "diverged_epoch", "engine"]


def _rows(spec: RunSpec, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    history = record["history"]
    n = len(history.get("loss", []))
    rows = []
    for i in range(n):
        rows.append({
            "dataset": spec.dataset, "model": spec.model, "init": spec.init, "seed": spec.seed,
            "epoch": i + 1,
            **{k: history.get(k, [math.nan] * n)[i] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "test_loss": record["test_loss"], "test_accuracy": record["test_accuracy"],
            "wall_time": record["wall_time"], "status": record["status"],
            "diverged_epoch": record["diverged_epoch"], "engine": spec.engine,
        })
    return rows


def follows_divergence_rule(record: Mapping[str, Any], n_classes: int) -> bool:
    """Whether a cached record agrees with today's divergence rule.

    A record made under it carries ``initial_loss``. One made before (when only a NaN or
    infinite loss meant divergence) agrees when its finite losses stay within 10 ln(C),
    the lowest the bound can be; any other is trained again.
    """
    if "initial_loss" in record:
        return True
    lowest = divergence_bound(n_classes, 0.0)
    return not any(math.isfinite(v) and v > lowest for v in record["history"].get("loss", []))
