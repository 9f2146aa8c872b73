"""Every initializer the sources name, as Keras initializers, in one registry.

Each class subclasses Keras' own (so sampling is exactly Keras'), validates its
arguments, and returns exactly its constructor arguments from ``get_config()``.
Names are snake_case and are the vocabulary used everywhere (``init``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np

from initlab.errors import InvalidArgumentError, UnknownNameError

# Keras cuts truncated normals at 2 sigma; the std of N(0,1) cut there:
TRUNCATED_STD = 0.87962566103423978
_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

register = keras.saving.register_keras_serializable(package="initlab")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise InvalidArgumentError(name, value, "must be a positive float")


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a kernel shape, Keras' convention.

    Dense kernels are ``(fan_in, fan_out)``; convolution kernels
    ``(*spatial, in_channels, out_channels)`` multiply both by the receptive
    field size.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def layer_seed(seed: int, layer_index: int) -> int:
    """A distinct, deterministic seed for layer ``layer_index`` of a run seeded ``seed``.

    Keras initializers with an int seed repeat their values, so each layer
    gets its own: ``seed * 1000 + layer_index`` (layers are numbered from 1).
    """
    return int(seed) * 1000 + int(layer_index)


@register
class Zeros(keras.initializers.Zeros):
    """All weights 0."""


@register
class Ones(keras.initializers.Ones):
    """All weights 1."""


@register
class Constant(keras.initializers.Constant):
    """All weights equal to ``value``."""

    def __init__(self, value: float = 0.5):
        if not math.isfinite(float(value)):
            raise InvalidArgumentError("value", value, "must be a finite float")
        super().__init__(value=float(value))


@register
class Identity(keras.initializers.Identity):
    """``gain`` times the identity matrix (2-D kernels only; non-square: ones on the diagonal)."""

    def __init__(self, gain: float = 1.0):
        _positive("gain", gain)
        super().__init__(gain=gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise InvalidArgumentError("shape", tuple(shape), "must be 2-D for the identity initializer")
        return super().__call__(shape, dtype=dtype)


@register
class Orthogonal(keras.initializers.Orthogonal):
    """A random orthogonal matrix (rows or columns orthonormal) times ``gain``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        _positive("gain", gain)
        super().__init__(gain=gain, seed=seed)


@register
class RandomNormal(keras.initializers.RandomNormal):
    """N(mean, stddev²), untruncated."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        _positive("stddev", stddev)
        super().__init__(mean=mean, stddev=stddev, seed=seed)


@register
class RandomUniform(keras.initializers.RandomUniform):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        if not minval < maxval:
            raise InvalidArgumentError("maxval", maxval, f"must be greater than minval={minval!r}")
        super().__init__(minval=minval, maxval=maxval, seed=seed)


@register
class TruncatedNormal(keras.initializers.TruncatedNormal):
    """N(mean, stddev²) redrawn outside mean ± 2·stddev (actual std ≈ 0.88·stddev)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        _positive("stddev", stddev)
        super().__init__(mean=mean, stddev=stddev, seed=seed)


@register
class VarianceScaling(keras.initializers.VarianceScaling):
    """Variance ``scale / fan`` (fan by ``mode``), drawn from ``distribution``."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        _positive("scale", scale)
        if mode not in _MODES:
            raise InvalidArgumentError("mode", mode, f"must be one of {', '.join(_MODES)}")
        if distribution not in _DISTRIBUTIONS:
            raise InvalidArgumentError("distribution", distribution, f"must be one of {', '.join(_DISTRIBUTIONS)}")
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": keras.saving.serialize_keras_object(self._init_seed)}


def _fixed_scaling(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    """A VarianceScaling subclass whose only argument is ``seed`` (like Keras' HeNormal)."""

    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self):
        return {"seed": keras.saving.serialize_keras_object(self._init_seed)}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})
    return register(cls)


GlorotNormal = _fixed_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Truncated normal, std sqrt(2/(fan_in+fan_out)).")
GlorotUniform = _fixed_scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "Uniform in ±sqrt(6/(fan_in+fan_out)).")
HeNormal = _fixed_scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(2/fan_in).")
HeUniform = _fixed_scaling("HeUniform", 2.0, "fan_in", "uniform", "Uniform in ±sqrt(6/fan_in).")
LecunNormal = _fixed_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(1/fan_in).")
LecunUniform = _fixed_scaling("LecunUniform", 1.0, "fan_in", "uniform", "Uniform in ±sqrt(3/fan_in).")
RandnLecun = _fixed_scaling("RandnLecun", 1.0, "fan_in", "untruncated_normal",
                            "randn * sqrt(1/fan_in): plain normal (what 001 calls Xavier).")
RandnHe = _fixed_scaling("RandnHe", 2.0, "fan_in", "untruncated_normal", "randn * sqrt(2/fan_in): plain normal (001's He).")


@register
class Sparse(keras.initializers.Initializer):
    """Sparse initialization (Martens 2010): each unit gets ``k`` non-zero incoming weights.

    The non-zero weights are drawn from N(0, stddev²); which inputs they connect
    is chosen at random per unit. ``k`` above the fan-in is clipped to it.
    """

    def __init__(self, k: int = 15, stddev: float = 1.0, seed: int | None = None):
        if not (isinstance(k, (int, np.integer)) and k >= 1):
            raise InvalidArgumentError("k", k, "must be an integer >= 1")
        _positive("stddev", stddev)
        self.k, self.stddev, self.seed = int(k), float(stddev), seed

    def __call__(self, shape, dtype=None):
        fan_in = math.prod(shape[:-1]) if len(shape) > 1 else 1
        units = int(shape[-1])
        k = min(self.k, fan_in)
        rng = np.random.default_rng(self.seed)
        w = np.zeros((fan_in, units), dtype=np.float64)
        for j in range(units):
            rows = rng.choice(fan_in, size=k, replace=False)
            w[rows, j] = rng.normal(0.0, self.stddev, size=k)
        return keras.ops.convert_to_tensor(w.reshape(tuple(shape)), dtype=dtype or keras.backend.floatx())

    def get_config(self) -> dict[str, Any]:
        return {"k": self.k, "stddev": self.stddev, "seed": self.seed}


@dataclass(frozen=True)
class InitEntry:
    """A registered initializer: its class, preset arguments, and how it is distributed."""

    cls: type
    distribution: str
    variance: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


INITIALIZERS: dict[str, InitEntry] = {
    "zeros": InitEntry(Zeros, "constant 0", "0", source="000-004"),
    "ones": InitEntry(Ones, "constant 1", "0", source="003"),
    "constant": InitEntry(Constant, "constant value", "0", {"value": 0.5}),
    "identity": InitEntry(Identity, "gain * eye(fan_in, fan_out)", "exact", {"gain": 1.0}, "003"),
    "orthogonal": InitEntry(Orthogonal, "random orthogonal * gain", "gain^2 / max(fan_in, fan_out)", {"gain": 1.0}, "002-004"),
    "random_normal": InitEntry(RandomNormal, "normal(mean, stddev)", "stddev^2", {"mean": 0.0, "stddev": 0.05}, "000, 003"),
    "random_normal_001": InitEntry(RandomNormal, "normal(0, 0.01)", "1e-4", {"mean": 0.0, "stddev": 0.01}, "002"),
    "random_uniform": InitEntry(RandomUniform, "uniform(minval, maxval)", "(maxval-minval)^2 / 12", {"minval": -0.05, "maxval": 0.05}, "000, 003"),
    "truncated_normal": InitEntry(TruncatedNormal, "normal(mean, stddev) cut at 2 stddev", "(0.88 stddev)^2", {"mean": 0.0, "stddev": 0.05}),
    "glorot_normal": InitEntry(GlorotNormal, "truncated normal", "2 / (fan_in + fan_out)", source="002, 003"),
    "glorot_uniform": InitEntry(GlorotUniform, "uniform(±sqrt(6/(fan_in+fan_out)))", "2 / (fan_in + fan_out)", source="000, 003"),
    "he_normal": InitEntry(HeNormal, "truncated normal", "2 / fan_in", source="000, 002, 003"),
    "he_uniform": InitEntry(HeUniform, "uniform(±sqrt(6/fan_in))", "2 / fan_in", source="003"),
    "lecun_normal": InitEntry(LecunNormal, "truncated normal", "1 / fan_in", source="002, 003, 004"),
    "lecun_uniform": InitEntry(LecunUniform, "uniform(±sqrt(3/fan_in))", "1 / fan_in", source="003"),
    "variance_scaling": InitEntry(VarianceScaling, "by distribution (truncated/untruncated normal, uniform)", "scale / fan(mode)",
                                  {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}, "004"),
    "randn_001": InitEntry(RandomNormal, "randn * 0.01 (plain normal)", "1e-4", {"mean": 0.0, "stddev": 0.01}, "001 random"),
    "randn_lecun": InitEntry(RandnLecun, "randn * sqrt(1/fan_in) (plain normal)", "1 / fan_in", source="001 Xavier"),
    "randn_he": InitEntry(RandnHe, "randn * sqrt(2/fan_in) (plain normal)", "2 / fan_in", source="001 He"),
    "sparse": InitEntry(Sparse, "k non-zero N(0, stddev) inputs per unit", "stddev^2 * k / fan_in", {"k": 15, "stddev": 1.0}, "000 [6]"),
}
_RANDOM = {n for n, e in INITIALIZERS.items() if e.cls not in (Zeros, Ones, Constant, Identity)}


def init_names() -> list[str]:
    """Every registered initializer name."""
    return sorted(INITIALIZERS)


def get_initializer(identifier: Any, seed: int | None = None, **params: Any) -> keras.initializers.Initializer:
    """An initializer from a registry name, a Keras config dict, or an instance.

    Args:
        identifier: a name from :func:`init_names`, ``{"class_name", "config"}``, or an initializer.
        seed: seed of a random initializer (ignored by deterministic ones).
        **params: overrides of the entry's defaults (e.g. ``stddev=0.01``).

    Raises:
        UnknownNameError: the name is not registered (the message lists the valid ones).
        InvalidArgumentError: a parameter is unknown or out of range.
    """
    if isinstance(identifier, keras.initializers.Initializer):
        return identifier
    if isinstance(identifier, Mapping):
        return keras.saving.deserialize_keras_object(dict(identifier))
    if identifier not in INITIALIZERS:
        raise UnknownNameError("initializer", identifier, init_names())
    entry = INITIALIZERS[identifier]
    kwargs = {**entry.defaults, **params}
    if identifier in _RANDOM:
        kwargs["seed"] = seed
    allowed = set(inspect.signature(entry.cls.__init__).parameters) - {"self", "args", "kwargs"}
    for key in kwargs:
        if key not in allowed:
            raise InvalidArgumentError(key, kwargs[key], f"is not a parameter of {identifier!r} "
                                       f"(parameters: {', '.join(sorted(allowed)) or 'none'})")
    return entry.cls(**kwargs)


def expected_stats(identifier: Any, shape: tuple[int, ...]) -> dict[str, float]:
    """Theoretical mean, std and bounds of the values an initializer draws for ``shape``.

    Returns:
        ``{"mean", "std", "low", "high"}``; bounds are ``-inf``/``inf`` when unbounded.
    """
    init = get_initializer(identifier, seed=0)
    fan_in, fan_out = compute_fans(shape)
    inf = math.inf
    if isinstance(init, (Zeros, Ones, Constant)):
        value = 0.0 if isinstance(init, Zeros) else 1.0 if isinstance(init, Ones) else init.value
        return {"mean": value, "std": 0.0, "low": value, "high": value}
    if isinstance(init, Identity):
        rows, cols = shape
        eye = init.gain * np.eye(rows, cols)
        return {"mean": float(eye.mean()), "std": float(eye.std()), "low": 0.0, "high": init.gain}
    if isinstance(init, Orthogonal):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return {"mean": 0.0, "std": init.gain / math.sqrt(max(rows, cols)), "low": -init.gain, "high": init.gain}
    if isinstance(init, Sparse):
        k = min(init.k, fan_in)
        return {"mean": 0.0, "std": init.stddev * math.sqrt(k / fan_in), "low": -inf, "high": inf}
    if isinstance(init, RandomNormal):
        return {"mean": init.mean, "std": init.stddev, "low": -inf, "high": inf}
    if isinstance(init, TruncatedNormal):
        return {"mean": init.mean, "std": init.stddev * TRUNCATED_STD,
                "low": init.mean - 2 * init.stddev, "high": init.mean + 2 * init.stddev}
    if isinstance(init, RandomUniform):
        half = (init.maxval - init.minval) / 2
        return {"mean": (init.maxval + init.minval) / 2, "std": half / math.sqrt(3),
                "low": init.minval, "high": init.maxval}
    if isinstance(init, VarianceScaling):
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init.mode]
        std = math.sqrt(init.scale / max(1.0, fan))
        if init.distribution == "uniform":
            limit = std * math.sqrt(3)
            return {"mean": 0.0, "std": std, "low": -limit, "high": limit}
        if init.distribution == "truncated_normal":
            cut = 2 * std / TRUNCATED_STD
            return {"mean": 0.0, "std": std, "low": -cut, "high": cut}
        return {"mean": 0.0, "std": std, "low": -inf, "high": inf}
    raise InvalidArgumentError("identifier", identifier, "has no known theoretical statistics")


def describe_initializers() -> list[dict[str, str]]:
    """Rows for ``initlab inits``: name, distribution, variance formula, defaults, source."""
    return [{"name": name, "distribution": e.distribution, "variance": e.variance,
             "defaults": ", ".join(f"{k}={v}" for k, v in e.defaults.items()) or "-", "source": e.source}
            for name, e in sorted(INITIALIZERS.items())]


def theoretical_density(identifier: Any, shape: tuple[int, ...], n_points: int = 400
                        ) -> tuple[np.ndarray, np.ndarray] | None:
    """The density an initializer draws from for ``shape``, as ``(x, p)``; None for point masses.

    Orthogonal and sparse kernels have no simple closed form: the normal density with
    their exact std is returned (the entries of a large random orthogonal matrix are
    nearly normal).
    """
    from scipy import stats as st

    init = get_initializer(identifier, seed=0)
    e = expected_stats(init, shape)
    if e["std"] == 0 or isinstance(init, (Identity, Sparse)):
        return None
    lo = e["low"] if math.isfinite(e["low"]) else e["mean"] - 4 * e["std"]
    hi = e["high"] if math.isfinite(e["high"]) else e["mean"] + 4 * e["std"]
    x = np.linspace(lo, hi, n_points)
    truncated = isinstance(init, TruncatedNormal) or (
        isinstance(init, VarianceScaling) and init.distribution == "truncated_normal")
    uniform = isinstance(init, RandomUniform) or (
        isinstance(init, VarianceScaling) and init.distribution == "uniform")
    if uniform:
        return x, np.full_like(x, 1.0 / (e["high"] - e["low"]))
    if truncated:
        sigma = (e["high"] - e["mean"]) / 2
        return x, st.truncnorm.pdf(x, -2, 2, loc=e["mean"], scale=sigma)
    return x, st.norm.pdf(x, loc=e["mean"], scale=e["std"])
