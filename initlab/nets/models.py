"""The sources' architectures, built with one initializer for every kernel.

Every model is a ``keras.Sequential`` taking images (``(H, W)`` or
``(H, W, C)``) and ending in ``Dense(n_classes, softmax)``, except one registered without
a head (``002``'s model as printed, whose last hidden layer's outputs are the class scores).
Hidden layers are named ``hidden_1``, ``hidden_2``, ... and the head ``output``, so notebooks and
diagnostics can address them by name. Each kernel gets its own initializer
instance seeded with :func:`initlab.nets.initializers.layer_seed`, so two layers of
the same shape never share values; biases start at zero unless ``bias_init``
says otherwise.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets.initializers import get_initializer, layer_seed

ACTIVATIONS = ("relu", "tanh", "sigmoid", "selu", "elu", "linear", "gelu", "leaky_relu")


@dataclass(frozen=True)
class ModelEntry:
    """A registered architecture."""

    name: str
    description: str
    source: str
    convolutional: bool
    build: Callable[..., list[keras.layers.Layer]]
    defaults: Mapping[str, Any]
    head: bool = True  # False: no Dense(n_classes, softmax); the last hidden layer's outputs are the class scores


class _Kernels:
    """Hands out one freshly seeded kernel initializer per layer."""

    def __init__(self, init: Any, seed: int, init_params: Mapping[str, Any] | None):
        self.init, self.seed, self.params = init, seed, dict(init_params or {})
        self.index = 0

    def __call__(self) -> keras.initializers.Initializer:
        self.index += 1
        return get_initializer(self.init, seed=layer_seed(self.seed, self.index), **self.params)


def _dense_stack(
    widths: Sequence[int], activation: str, kernels: _Kernels, bias: Any, biases: Sequence[Any] | None = None
) -> list:
    """Hidden Dense layers; ``biases`` (one initializer per layer) overrides the shared ``bias``."""
    return [
        keras.layers.Dense(
            w,
            activation=activation,
            kernel_initializer=kernels(),
            bias_initializer=bias if biases is None else biases[i - 1],
            name=f"hidden_{i}",
        )
        for i, w in enumerate(widths, start=1)
    ]


BIAS_SEED_OFFSET = 999  # a hidden bias's seed: layer_seed(layer_seed(seed, i), 999), never a kernel's seed


def _random_biases(std: Any, seed: int, depth: int) -> list | None:
    """``N(0, std²)`` bias initializers for ``depth`` hidden layers (None for ``std == 0``: zeros).

    Layer ``i``'s seed is ``layer_seed(layer_seed(seed, i), BIAS_SEED_OFFSET)``: distinct per
    layer and run, and never equal to a kernel's ``layer_seed(seed, j)`` (whose last three
    digits are the layer index ``j`` < 999), so a bias never repeats its kernel's draws.
    """
    ok = isinstance(std, numbers.Real) and not isinstance(std, bool) and np.isfinite(float(std))
    if not (ok and float(std) >= 0.0):
        raise InvalidArgumentError("bias_std", std, "must be a finite float >= 0 (0 keeps the biases at zero)")
    if float(std) == 0.0:
        return None
    return [
        keras.initializers.RandomNormal(0.0, float(std), seed=layer_seed(layer_seed(seed, i), BIAS_SEED_OFFSET))
        for i in range(1, depth + 1)
    ]


def _mlp(widths: Sequence[int], activation: str = "relu"):
    def build(kernels: _Kernels, bias: Any, **_: Any) -> list:
        return [keras.layers.Flatten(name="flatten"), *_dense_stack(widths, activation, kernels, bias)]

    return build


def _dropout_rate(dropout: Any) -> float:
    ok = isinstance(dropout, numbers.Real) and not isinstance(dropout, bool)
    if not (ok and 0.0 <= float(dropout) < 1.0):
        raise InvalidArgumentError("dropout", dropout, "must be a float in [0, 1)")
    return float(dropout)


def _deep_mlp(
    kernels: _Kernels,
    bias: Any,
    depth: int = 10,
    width: int = 256,
    activation: str = "relu",
    dropout: float = 0.0,
    bias_std: float = 0.0,
    **_: Any,
) -> list:
    """``depth`` hidden layers; with ``dropout > 0`` each is followed by ``dropout_i``.

    A SELU net gets ``AlphaDropout`` (it keeps the self-normalizing mean 0 and
    variance 1, where plain dropout would shift them); other activations get
    ``Dropout``. ``dropout=0`` adds no layer at all. ``bias_std > 0`` draws every
    hidden layer's biases from ``N(0, bias_std²)`` (the mean-field ``σ_b²`` is its
    square), each layer seeded from the run's seed; the head's biases stay ``bias``.
    """
    if int(depth) < 1:
        raise InvalidArgumentError("depth", depth, "must be an integer >= 1")
    if int(width) < 1:
        raise InvalidArgumentError("width", width, "must be an integer >= 1")
    if activation not in ACTIVATIONS:
        raise InvalidArgumentError("activation", activation, f"must be one of {', '.join(ACTIVATIONS)}")
    rate = _dropout_rate(dropout)
    biases = _random_biases(bias_std, kernels.seed, int(depth))
    layers: list = [keras.layers.Flatten(name="flatten")]
    for i, dense in enumerate(_dense_stack([int(width)] * int(depth), activation, kernels, bias, biases), start=1):
        layers.append(dense)
        if rate > 0:
            drop = keras.layers.AlphaDropout if activation == "selu" else keras.layers.Dropout
            layers.append(drop(rate, seed=layer_seed(kernels.seed, i), name=f"dropout_{i}"))
    return layers


def _cnn_small(kernels: _Kernels, bias: Any, **_: Any) -> list:
    def conv(filters: int, i: int) -> keras.layers.Layer:
        return keras.layers.Conv2D(
            filters, 3, activation="relu", kernel_initializer=kernels(), bias_initializer=bias, name=f"hidden_{i}"
        )

    return [
        conv(32, 1),
        keras.layers.MaxPooling2D(2, name="pool_1"),
        conv(64, 2),
        keras.layers.MaxPooling2D(2, name="pool_2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(
            128, activation="relu", kernel_initializer=kernels(), bias_initializer=bias, name="hidden_3"
        ),
    ]


MODELS: dict[str, ModelEntry] = {
    e.name: e
    for e in [
        ModelEntry(
            "mlp_128", "Flatten -> Dense(128, relu) -> Dense(10, softmax)", "000 (Desai 2024)", False, _mlp([128]), {}
        ),
        ModelEntry(
            "mlp_512_256_128_64",
            "Flatten -> Dense 512-256-128-64 (relu) -> Dense(10, softmax); the softmax head "
            "is added (the source's code has none)",
            "002 (Kakujo 2022)",
            False,
            _mlp([512, 256, 128, 64]),
            {},
        ),
        ModelEntry(
            "mlp_512_256_128_64_no_head",
            "Flatten -> Dense 512-256-128-64 (relu), no head: 002's model as printed (once its images are "
            "flattened); its 64 ReLU outputs are the class scores (labels 0-9 pick the first ten)",
            "002 (Kakujo 2022)",
            False,
            _mlp([512, 256, 128, 64]),
            {},
            head=False,
        ),
        ModelEntry(
            "mlp_128_64",
            "Flatten -> Dense(128, relu) -> Dense(64, relu) -> Dense(10, softmax); "
            "hidden layers chosen here (the source does not state them)",
            "003 (Keras initializer tutorial)",
            False,
            _mlp([128, 64]),
            {},
        ),
        ModelEntry(
            "cnn_small",
            "Conv(32,3x3,relu) -> MaxPool -> Conv(64,3x3,relu) -> MaxPool -> "
            "Dense(128, relu) -> Dense(10, softmax); no batch normalization, chosen here (the "
            "source states no architecture)",
            "001 (Patel et al. 2019)",
            True,
            _cnn_small,
            {},
        ),
        ModelEntry(
            "deep_mlp",
            "Flatten -> depth x Dense(width, activation) -> Dense(10, softmax); "
            "dropout > 0 adds Dropout after each hidden layer (AlphaDropout for selu); bias_std > 0 "
            "draws the hidden biases from N(0, bias_std^2)",
            "configurable, for depth studies; selu + lecun_normal + dropout: 004's self-normalizing networks",
            False,
            _deep_mlp,
            {"depth": 10, "width": 256, "activation": "relu", "dropout": 0.0, "bias_std": 0.0},
        ),
    ]
}


def model_names() -> list[str]:
    """The names :func:`build_model` accepts."""
    return sorted(MODELS)


def get_model_entry(name: str) -> ModelEntry:
    """Look a model up by name; an unknown name lists the valid ones."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("model", name, model_names()) from None


def build_model(
    name: str,
    input_shape: Sequence[int],
    init: Any = "glorot_uniform",
    *,
    seed: int = 0,
    n_classes: int = 10,
    init_params: Mapping[str, Any] | None = None,
    bias_init: Any = "zeros",
    **model_params: Any,
) -> keras.Sequential:
    """Build a registered architecture with ``init`` applied to every kernel.

    Args:
        name: a name from :func:`model_names`.
        input_shape: one example's shape, e.g. ``(28, 28)`` or ``(32, 32, 3)``.
        init: initializer name (see ``initlab inits``), config dict or instance.
        seed: seeds every kernel (layer ``i`` gets ``layer_seed(seed, i)``).
        n_classes: width of the softmax head (a model without a head needs its last layer at least
            this wide).
        init_params: parameters for the initializer (e.g. ``{"stddev": 0.01}``).
        bias_init: bias initializer (Keras identifier), zeros by default.
        **model_params: architecture options (``depth``, ``width``, ``activation``,
            ``dropout``, ``bias_std`` for ``deep_mlp``; a self-normalizing network is
            ``activation="selu"`` with ``init="lecun_normal"``, and AlphaDropout
            when ``dropout > 0``).

    Returns:
        An uncompiled, built ``keras.Sequential``.

    Raises:
        UnknownNameError: unknown model or initializer name.
        InvalidArgumentError: an architecture option is out of range or unknown.
    """
    entry = get_model_entry(name)
    tf.config.experimental.enable_op_determinism()  # whatever runs on a built network repeats bit for bit
    unknown = set(model_params) - set(entry.defaults)
    if unknown:
        bad = sorted(unknown)[0]
        allowed = ", ".join(sorted(entry.defaults)) or "none"
        raise InvalidArgumentError(bad, model_params[bad], f"is not an option of model {name!r} (options: {allowed})")
    kernels = _Kernels(init, int(seed), init_params)
    params = {**entry.defaults, **model_params}
    layers = entry.build(kernels, bias_init, **params)
    if entry.head:
        layers.append(
            keras.layers.Dense(
                n_classes, activation="softmax", kernel_initializer=kernels(), bias_initializer=bias_init, name="output"
            )
        )
    model = keras.Sequential([keras.Input(shape=tuple(input_shape)), *layers], name=name)
    if model.output_shape[-1] < n_classes:
        raise InvalidArgumentError(
            "n_classes", n_classes, f"is more than model {name!r}'s {model.output_shape[-1]} outputs"
        )
    return model


def describe_models() -> list[dict[str, str]]:
    """Rows for ``initlab models``: name, architecture, source."""
    return [
        {
            "name": e.name,
            "architecture": e.description,
            "source": e.source,
            "options": ", ".join(f"{k}={v}" for k, v in e.defaults.items()),
        }
        for e in (MODELS[n] for n in model_names())
    ]
