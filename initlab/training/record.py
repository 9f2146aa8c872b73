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

A run's record is one :class:`RunRecord`; the cache stores it in the layout of
:meth:`RunRecord.to_dict` (the dicts of earlier versions load unchanged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class _Labels(Protocol):
    """What :meth:`RunRecord.rows` reads of a run's :class:`~initlab.training.spec.RunSpec`
    (not imported here: the cache, which the spec's key needs, stores records)."""

    dataset: str
    model: str
    init: str
    seed: int
    engine: str


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


RESULT_COLUMNS = [
    "dataset",
    "model",
    "init",
    "seed",
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "wall_time",
    "status",
    "diverged_epoch",
    "engine",
]

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")  # a history's per-epoch lists

CACHED = ("history", "test_loss", "test_accuracy", "wall_time", "status", "diverged_epoch", "initial_loss")


@dataclass(frozen=True)
class RunRecord:
    """What one run produced, as both engines record it and the cache stores it.

    Attributes:
        history: per-epoch lists (tuples) of ``loss``, ``accuracy`` and, when examples were held
            out, ``val_loss`` and ``val_accuracy``; up to and including a diverged epoch.
        test_loss, test_accuracy: after training; NaN for a diverged run.
        wall_time: seconds (fit and test; a stack's time divided by its members).
        status: ``"ok"`` or ``"diverged"`` (the module's rule).
        diverged_epoch: the 1-based epoch it diverged at, or None.
        initial_loss: the untrained model's loss the rule compares with; None for a record
            cached before the rule (see :func:`follows_divergence_rule`).
        engine: the engine that trained it, where a probe helper says so (not cached: the
            study's rows take it from the spec).
        gradient_norms: a frame some probe helpers attach
            (:func:`initlab.probe.runs.activations_before_after`); not cached.
    """

    history: Mapping[str, Sequence[float]]
    test_loss: float
    test_accuracy: float
    wall_time: float
    status: str
    diverged_epoch: int | None
    initial_loss: float | None = None
    engine: str | None = None
    gradient_norms: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", {k: tuple(v) for k, v in self.history.items()})

    def to_dict(self) -> dict[str, Any]:
        """The cache's layout: ``history`` (lists), the test metrics, ``wall_time``, ``status``,
        ``diverged_epoch`` and ``initial_loss`` (left out when None, as in records made before it)."""
        out = {
            "history": {k: list(v) for k, v in self.history.items()},
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "wall_time": self.wall_time,
            "status": self.status,
            "diverged_epoch": self.diverged_epoch,
            "initial_loss": self.initial_loss,
        }
        if self.initial_loss is None:
            del out["initial_loss"]
        return out

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> RunRecord:
        """A record from the cache's layout (:meth:`to_dict`'s), with or without ``initial_loss``."""
        return cls(**{k: payload[k] for k in CACHED if k != "initial_loss"}, initial_loss=payload.get("initial_loss"))

    def rows(self, spec: _Labels) -> list[dict[str, Any]]:
        """The tidy rows of this run, one per recorded epoch, keyed by :data:`RESULT_COLUMNS`."""
        n = len(self.history.get("loss", ()))
        missing = (math.nan,) * n
        return [
            {
                "dataset": spec.dataset,
                "model": spec.model,
                "init": spec.init,
                "seed": spec.seed,
                "epoch": i + 1,
                **{k: self.history.get(k, missing)[i] for k in METRICS},
                "test_loss": self.test_loss,
                "test_accuracy": self.test_accuracy,
                "wall_time": self.wall_time,
                "status": self.status,
                "diverged_epoch": self.diverged_epoch,
                "engine": spec.engine,
            }
            for i in range(n)
        ]


def follows_divergence_rule(record: RunRecord, n_classes: int) -> bool:
    """Whether a cached record agrees with today's divergence rule.

    A record made under it carries ``initial_loss``. One made before (when only a NaN or
    infinite loss meant divergence) agrees when its finite losses stay within 10 ln(C),
    the lowest the bound can be; any other is trained again.
    """
    if record.initial_loss is not None:
        return True
    lowest = divergence_bound(n_classes, 0.0)
    return not any(math.isfinite(v) and v > lowest for v in record.history.get("loss", ()))
