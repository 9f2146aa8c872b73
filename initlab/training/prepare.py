"""A run's data: a dataset loaded, limited and preprocessed once per process, and handed
over once to the stacked engine as tensors that every stack training on it shares."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from initlab.data import datasets as ds
from initlab.errors import InvalidArgumentError
from initlab.nets.models import get_model_entry
from initlab.training.spec import RunSpec
from initlab.training.stack import EngineData, hand_over


@dataclass(frozen=True)
class PreparedData:
    """A dataset after preprocessing, ready for ``fit``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


@lru_cache(maxsize=4)
def prepare_data(
    dataset: str,
    *,
    preprocess: str = "scale",
    channels: bool = False,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> PreparedData:
    """Load a dataset and preprocess it explicitly (memoized per process).

    Args:
        dataset: a name from ``initlab.data.datasets.dataset_names()``.
        preprocess: ``"scale"`` (pixels to [0, 1]) or ``"standardize"`` (then
            per-channel zero mean, unit std with the training set's statistics).
        channels: add a channel axis to grayscale images (for convolutions).
        train_limit: keep the first ``train_limit`` training examples.
        test_limit: keep the first ``test_limit`` test examples.
    """
    data = ds.load_dataset(dataset)
    for name, limit, n in (
        ("train_limit", train_limit, len(data.y_train)),
        ("test_limit", test_limit, len(data.y_test)),
    ):
        if limit is not None and limit > n:
            raise InvalidArgumentError(name, limit, f"must be at most {n} (the size of the {dataset} set)")
    x_train, y_train = data.x_train[:train_limit], data.y_train[:train_limit]
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]
    x_train, x_test = ds.scale(x_train), ds.scale(x_test)
    if channels and x_train.ndim == 3:
        x_train, x_test = ds.add_channel_axis(x_train), ds.add_channel_axis(x_test)
    if preprocess == "standardize":
        mean, std = ds.channel_stats(x_train)
        x_train, x_test = ds.normalize_channels(x_train, mean, std), ds.normalize_channels(x_test, mean, std)
    return PreparedData(x_train, y_train.astype("int32"), x_test, y_test.astype("int32"), tuple(data.class_names))


def data_for(spec: RunSpec) -> PreparedData:
    """The prepared data a run specification asks for."""
    return prepare_data(
        spec.dataset,
        preprocess=spec.preprocess,
        channels=get_model_entry(spec.model).convolutional,
        train_limit=spec.train_limit,
        test_limit=spec.test_limit,
    )


_HANDED_OVER: dict[tuple[int, float, bool], tuple[PreparedData, EngineData]] = {}


HANDED_OVER_KEPT = 2  # datasets whose tensors stay handed over (the most recent ones)


def handed_over(data: PreparedData, validation_split: float, convolutional: bool) -> EngineData:
    """``data`` as the engine's tensors, converted once per prepared dataset and split, then shared."""
    key = (id(data), float(validation_split), bool(convolutional))
    if key in _HANDED_OVER and _HANDED_OVER[key][0] is data:
        _HANDED_OVER[key] = _HANDED_OVER.pop(key)  # most recent last
        return _HANDED_OVER[key][1]
    tensors = hand_over(
        data.x_train,
        data.y_train,
        data.x_test,
        y_test=data.y_test,
        validation_split=validation_split,
        flatten=not convolutional,
    )
    _HANDED_OVER[key] = (data, tensors)
    while len(_HANDED_OVER) > HANDED_OVER_KEPT:
        del _HANDED_OVER[next(iter(_HANDED_OVER))]
    return tensors
