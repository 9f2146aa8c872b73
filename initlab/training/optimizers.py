"""The optimizers a run may use, with Keras' semantics and defaults: one definition for both engines.

``adam``: Keras' Adam (learning rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7,
epsilon added to the root of the second moment before bias correction).
``adam_large_eps``: the same with epsilon 1e-4, so that a gradient much smaller than 1e-4 moves its
weight by about lr g / 1e-4 (as SGD would, scaled) while a larger one still moves it by about lr:
Adam's indifference to the gradient's scale, switched off below 1e-4.
``sgd``: Keras' SGD (learning rate 0.01), optionally with momentum ``m`` in
[0, 1): the velocity ``v <- m v - lr g`` and ``w <- w + v``, or with
``nesterov`` ``w <- w + m v - lr g`` (the velocity already updated).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from initlab.errors import InvalidArgumentError, UnknownNameError

ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


@dataclass(frozen=True)
class OptimizerEntry:
    """A registered optimizer: its Keras class name, default learning rate and whether it takes momentum.

    The default learning rates are written here only; everything else asks :func:`resolved_learning_rate`
    (or :func:`canonical_learning_rate`, the form a run's cache key holds).
    """

    name: str
    keras_class: str
    default_learning_rate: float
    momentum: bool
    moments: Mapping[str, float] | None = None  # Adam's beta_1, beta_2 and epsilon (the Adam family only)


ADAM_LARGE_EPS = {"beta_1": ADAM["beta_1"], "beta_2": ADAM["beta_2"], "epsilon": 1e-4}

OPTIMIZERS: dict[str, OptimizerEntry] = {
    e.name: e
    for e in (
        OptimizerEntry(
            "adam", "Adam", ADAM["learning_rate"], False, {k: ADAM[k] for k in ("beta_1", "beta_2", "epsilon")}
        ),
        OptimizerEntry("sgd", "SGD", 0.01, True),
        OptimizerEntry("adam_large_eps", "Adam", ADAM["learning_rate"], False, ADAM_LARGE_EPS),
    )
}


def get_optimizer_entry(name: str) -> OptimizerEntry:
    """The entry of optimizer ``name``; an unknown name is refused with the valid ones."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[name]


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_optimizer(
    optimizer: str, learning_rate: float | None = None, momentum: float = 0.0, *, nesterov: bool = False
) -> None:
    """Refuse, in one line, a set-up no optimizer can run.

    Raises:
        UnknownNameError: ``optimizer`` is not registered (the message lists the valid ones).
        InvalidArgumentError: a learning rate that is not None or finite and > 0; momentum
            outside [0, 1), or non-zero for an optimizer without momentum; ``nesterov`` that
            is not a bool, or true without momentum.
    """
    entry = get_optimizer_entry(optimizer)
    lr = learning_rate
    if lr is not None and not (_is_number(lr) and math.isfinite(lr) and lr > 0):
        raise InvalidArgumentError("learning_rate", lr, "must be None (the optimizer's default) or a finite number > 0")
    if not (_is_number(momentum) and 0.0 <= momentum < 1.0):
        raise InvalidArgumentError("momentum", momentum, "must be a number in [0, 1)")
    if momentum and not entry.momentum:
        raise InvalidArgumentError(
            "momentum",
            momentum,
            f"must be 0 with optimizer {optimizer!r} (only "
            f"{', '.join(n for n, e in OPTIMIZERS.items() if e.momentum)} takes momentum)",
        )
    if not isinstance(nesterov, bool):
        raise InvalidArgumentError("nesterov", nesterov, "must be True or False")
    if nesterov and not momentum:
        raise InvalidArgumentError("nesterov", nesterov, "needs momentum > 0")


def resolved_learning_rate(optimizer: str, learning_rate: float | None) -> float:
    """``learning_rate``, or the optimizer's Keras default when it is None."""
    entry = get_optimizer_entry(optimizer)
    return float(entry.default_learning_rate if learning_rate is None else learning_rate)


def canonical_learning_rate(optimizer: str, learning_rate: float | None) -> float | None:
    """The one form of a learning rate in a run's specification (and so its cache key): None for
    the optimizer's default, whether it was left out or named (``0.001`` for Adam), else the rate."""
    if learning_rate is None or learning_rate == get_optimizer_entry(optimizer).default_learning_rate:
        return None
    return learning_rate


def optimizer_label(optimizer: str, momentum: float = 0.0, nesterov: bool = False) -> str:
    """A short name for an optimizer set-up: ``adam``, ``sgd``, ``momentum 0.9``, ``nesterov 0.9``."""
    if not momentum:
        return optimizer
    return f"{'nesterov' if nesterov else 'momentum'} {float(momentum):g}"


def make_keras_optimizer(
    optimizer: str, learning_rate: float | None = None, momentum: float = 0.0, *, nesterov: bool = False
):
    """The Keras optimizer of a set-up (Keras' defaults unless given)."""
    import keras

    check_optimizer(optimizer, learning_rate, momentum, nesterov=nesterov)
    entry = get_optimizer_entry(optimizer)
    cls = getattr(keras.optimizers, entry.keras_class)
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    kwargs.update(entry.moments or {})
    if momentum:
        kwargs.update(momentum=float(momentum), nesterov=bool(nesterov))
    return cls(**kwargs)
