"""A run's specification: the set-up every run of a study shares, plus its initializer and seed.

Bad input is refused before any data are loaded or any run trains
(:func:`validate_spec`): seeds are integers in [0, 2**32 - 1], a study repeats
no seed and no initializer, a learning rate is None or finite and positive,
and a ``train_limit`` leaves a full training batch and, with a validation
split, at least one validation example. (A limit above the dataset's size is
found when the data are loaded, still before any run trains.)

An initializer is a registered name or an import path ``package.module:Name`` (with optional JSON
keyword arguments); a class or instance given as ``init`` becomes its import path
(:func:`~initlab.nets.user_inits.init_label`). A registered name's cache key is what it always was;
an import path's holds the class, its arguments and the digest of its source file
(:func:`~initlab.nets.user_inits.key_fields`).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable
from dataclasses import KW_ONLY, asdict, dataclass, field, fields, replace
from typing import Any

from initlab import __version__
from initlab.data import datasets as ds
from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets.initializers import get_initializer
from initlab.nets.models import get_model_entry
from initlab.nets.user_inits import check_draws, init_label, is_import_path, is_initializer_object, key_fields
from initlab.training.cache import spec_key
from initlab.training.optimizers import OPTIMIZERS, check_optimizer, resolved_learning_rate

PREPROCESSING = ("scale", "standardize")


MAX_SEED = 2**32 - 1  # NumPy's seeds (keras.utils.set_random_seed) end here


# fields added after the first cached runs: left out of the cache key at their default, so older keys still hold
LATER_FIELDS = {"momentum": 0.0, "nesterov": False}


@dataclass(frozen=True)
class Setup:
    """The set-up every run of a study shares: data, model, training and engine.

    :class:`RunSpec` adds one run's initializer and seed, :class:`~initlab.training.study.Study`
    the initializers and seeds of many runs. ``dataset`` and ``model`` are positional, every
    other field keyword-only.
    """

    dataset: str
    model: str
    _: KW_ONLY
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    loss: str = "sparse_categorical_crossentropy"
    validation_split: float = 0.2
    train_limit: int | None = None
    test_limit: int | None = None
    preprocess: str = "scale"
    model_params: dict[str, Any] = field(default_factory=dict)
    engine: str = "keras"
    momentum: float = 0.0
    nesterov: bool = False


SETUP_FIELDS = tuple(f.name for f in fields(Setup))  # in declaration order


@dataclass(frozen=True)
class RunSpec(Setup):
    """Everything that determines one run's numbers (and so its cache key):
    ``RunSpec(dataset, model, init, seed, *, ...)``, the other fields those of :class:`Setup`
    plus ``init_params`` (the initializer's parameters)."""

    init: str
    seed: int
    init_params: dict[str, Any] = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        if is_initializer_object(self.init):  # a class or instance: its import path
            object.__setattr__(self, "init", init_label(self.init))

    def key(self) -> str:
        """Cache key: the full specification plus the package version (fields of
        :data:`LATER_FIELDS` only when they differ from their default); an import path's
        initializer by its class, arguments and source (:func:`~initlab.nets.user_inits.key_fields`)."""
        fields = {k: v for k, v in asdict(self).items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
        return spec_key({**fields, **key_fields(self.init, self.init_params), "version": __version__})

    def earlier_keys(self) -> list[str]:
        """Other keys this run may be cached under: before learning rates were made canonical
        (:func:`~initlab.training.optimizers.canonical_learning_rate`), a study that named the
        optimizer's default rate stored the run under that number, not under None."""
        if self.learning_rate is not None or self.optimizer not in OPTIMIZERS:
            return []
        return [replace(self, learning_rate=resolved_learning_rate(self.optimizer, None)).key()]


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_integer(name: str, value: object, low: int, high: int | None = None, note: str = "") -> None:
    """Refuse ``value`` unless it is an integer in [low, high] (no upper end when ``high`` is None)."""
    if not _is_integer(value) or value < low or (high is not None and value > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidArgumentError(name, value, f"must be an integer {span}{note}")


def _check_seed(seed: object) -> None:
    _check_integer("seed", seed, 0, MAX_SEED, " (0 to 2**32 - 1)")


def fit_examples(n: int, validation_split: float) -> int:
    """How many of ``n`` examples are trained on once the last ``validation_split`` is held out (Keras' split)."""
    return int(math.floor(n * (1.0 - validation_split)))


def min_train_limit(validation_split: float, batch_size: int) -> int:
    """The smallest ``train_limit`` that leaves one full training batch and, when
    ``validation_split > 0``, at least one validation example."""
    n = max(batch_size, int(math.floor(batch_size / (1.0 - validation_split))) - 2)  # at most the answer
    while not _splits(n, validation_split, batch_size):
        n += 1
    return n


def _splits(n: int, validation_split: float, batch_size: int) -> bool:
    """Whether ``n`` examples leave a full training batch and (with a split) a validation example."""
    fit = fit_examples(n, validation_split)
    return fit >= batch_size and (validation_split == 0 or n > fit)


def _check_train_limit(train_limit: int, validation_split: float, batch_size: int) -> None:
    if _splits(train_limit, validation_split, batch_size):
        return
    fit = fit_examples(train_limit, validation_split)
    held = f" and {train_limit - fit} for validation (at least 1 needed)" if validation_split > 0 else ""
    raise InvalidArgumentError(
        "train_limit",
        train_limit,
        f"must be at least {min_train_limit(validation_split, batch_size)} with validation_split="
        f"{validation_split} and batch_size={batch_size}: it leaves {fit} training examples (a full batch "
        f"needs {batch_size}){held}",
    )


def validate_spec(spec: RunSpec) -> None:
    """Refuse, with one line naming the argument and its valid range, values no run can use.

    Needs no data: :meth:`Study.specs <initlab.training.study.Study.specs>` calls it for every run before
    loading or training anything.

    Raises:
        UnknownNameError: an unknown model, dataset or initializer.
        InvalidArgumentError: any other value outside its domain.
    """
    get_model_entry(spec.model)
    if spec.dataset not in ds.dataset_names():
        raise UnknownNameError("dataset", spec.dataset, ds.dataset_names())
    init = get_initializer(spec.init, seed=0, **spec.init_params)
    if is_import_path(spec.init):
        check_draws(init, spec.init)
    try:
        json.dumps(spec.init_params, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError("init_params", spec.init_params, f"must be JSON (the cache key): {exc}") from None
    _check_seed(spec.seed)
    _check_integer("epochs", spec.epochs, 1)
    _check_integer("batch_size", spec.batch_size, 1)
    if not (_is_number(spec.validation_split) and 0.0 <= spec.validation_split < 1.0):
        raise InvalidArgumentError("validation_split", spec.validation_split, "must be a number in [0, 1)")
    if spec.validation_split > 0 and 1.0 - spec.validation_split == 1.0:
        raise InvalidArgumentError(
            "validation_split",
            spec.validation_split,
            "must be 0 or large enough to hold out an example (1 - validation_split rounds to 1)",
        )
    check_optimizer(spec.optimizer, spec.learning_rate, spec.momentum, nesterov=spec.nesterov)
    if spec.preprocess not in PREPROCESSING:
        raise InvalidArgumentError("preprocess", spec.preprocess, f"must be one of {', '.join(PREPROCESSING)}")
    for name in ("train_limit", "test_limit"):
        value = getattr(spec, name)
        if value is not None:
            _check_integer(name, value, 1)
    if spec.train_limit is not None:
        _check_train_limit(int(spec.train_limit), float(spec.validation_split), int(spec.batch_size))


def _study_lists(inits: Iterable[Any], seeds: Iterable[int]) -> tuple[list[str], list[int]]:
    """``inits`` and ``seeds`` as lists; refused when empty or repeating, or a seed is outside [0, 2**32 - 1]."""
    lists = []
    for name, values, what in (("inits", inits, "initializers"), ("seeds", seeds, "integers")):
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise InvalidArgumentError(name, values, f"must be a non-empty list of {what}")
        lists.append(list(values))
        if not lists[-1]:
            raise InvalidArgumentError(name, lists[-1], f"must be a non-empty list of {what}")
    inits, seeds = [init_label(i) for i in lists[0]], lists[1]
    for seed in seeds:
        _check_seed(seed)
    seeds = [int(s) for s in seeds]
    for name, values in (("inits", inits), ("seeds", seeds)):
        repeated = []
        for i, value in enumerate(values):
            if value in values[:i] and value not in repeated:
                repeated.append(value)
        if repeated:
            raise InvalidArgumentError(
                name,
                values,
                f"must not repeat a value (repeated: "
                f"{', '.join(map(str, repeated))}): each (init, seed) run is trained once",
            )
    return inits, seeds


def _plain(spec: RunSpec) -> RunSpec:
    """``spec`` with plain Python numbers (its cache key is their JSON); a validated spec."""
    lr, train_limit, test_limit = spec.learning_rate, spec.train_limit, spec.test_limit
    return replace(
        spec,
        seed=int(spec.seed),
        epochs=int(spec.epochs),
        batch_size=int(spec.batch_size),
        momentum=float(spec.momentum),
        nesterov=bool(spec.nesterov),
        validation_split=float(spec.validation_split),
        train_limit=None if train_limit is None else int(train_limit),
        test_limit=None if test_limit is None else int(test_limit),
        learning_rate=lr if lr is None or type(lr) in (int, float) else float(lr),
    )
