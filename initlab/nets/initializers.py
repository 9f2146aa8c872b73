"""Every initializer the sources name, as Keras initializers, in one registry.

Each class subclasses Keras' own (so sampling is exactly Keras'), validates its
arguments, and returns exactly its constructor arguments from ``get_config()``.
Names are snake_case and are the vocabulary used everywhere (``init``).

A registry name is a class plus preset arguments: ``random_normal_001`` is
``RandomNormal(stddev=0.01)`` and ``random_normal_1`` is ``RandomNormal(stddev=1.0)``,
so their instances serialize as ``RandomNormal``.
``zero_hadamard`` is ZerO (Zhao et al. 2022, :mod:`initlab.nets.zero_init`), deterministic.
Initializers from outside the registry enter by import path or as objects
(:mod:`initlab.nets.user_inits`).
``lsuv`` is the orthogonal start of a data-dependent scheme; the rescaling on
data is :func:`initlab.nets.lsuv.apply_data_init`'s job.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import inspect
import math
import numbers
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from initlab.errors import InvalidArgumentError, UnknownNameError
from initlab.nets import user_inits
from initlab.nets.zero_init import ZerO

# Keras cuts truncated normals at 2 sigma; the std of N(0,1) cut there:
TRUNCATED_STD = 0.87962566103423978
_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
_KI = keras.initializers

register = keras.saving.register_keras_serializable(package="initlab")


def _positive(name: str, value: Any) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value > 0):
        raise InvalidArgumentError(name, value, "must be a positive float")


def _kernel_shape(shape: Any, what: str, exact: bool = False) -> tuple[int, ...]:
    """``shape`` as a tuple, checked to be 2-D (``exact``) or at least 2-D."""
    shape = tuple(shape)
    if len(shape) < 2 or (exact and len(shape) != 2):
        raise InvalidArgumentError("shape", shape, f"must be {'' if exact else 'at least '}2-D for {what}")
    return shape


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a kernel shape, Keras' convention.

    Args:
        shape: dense kernels are ``(fan_in, fan_out)``; convolution kernels
            ``(*spatial, in_channels, out_channels)`` multiply both by the
            receptive field size ``prod(spatial)``.

    Returns:
        ``(fan_in, fan_out)`` as floats (``(1, 1)`` for a scalar shape).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        return (float(shape[0]),) * 2 if shape else (1.0, 1.0)
    receptive = math.prod(shape[:-2])  # 1 for a dense kernel
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def layer_seed(seed: int, layer_index: int) -> int:
    """A distinct, deterministic seed for layer ``layer_index`` of a run seeded ``seed``.

    Keras initializers with an int seed repeat their values on every call, so
    one instance shared by two same-shaped layers gives them identical weights;
    each layer gets its own seed instead: ``seed * 1000 + layer_index`` (layers
    numbered from 1; distinct for non-negative seeds and fewer than 1000 layers).
    """
    return int(seed) * 1000 + int(layer_index)


@register
class Zeros(_KI.Zeros):
    """All weights 0."""


@register
class Ones(_KI.Ones):
    """All weights 1."""


@register
class Constant(_KI.Constant):
    """All weights equal to ``value`` (default 0.5, not Keras' 0: ``zeros`` already covers 0)."""

    def __init__(self, value: float = 0.5):
        if not (isinstance(value, numbers.Real) and math.isfinite(value)):
            raise InvalidArgumentError("value", value, "must be a finite float")
        super().__init__(value=float(value))


@register
class Identity(_KI.Identity):
    """``gain`` times the identity matrix (2-D kernels only; non-square: ones on the main diagonal)."""

    def __init__(self, gain: float = 1.0):
        _positive("gain", gain)
        super().__init__(gain=gain)

    def __call__(self, shape, dtype=None):
        return super().__call__(_kernel_shape(shape, "identity", exact=True), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}  # Keras' Identity returns {} and loses the gain


@register
class Orthogonal(_KI.Orthogonal):
    """A random orthogonal matrix (rows or columns orthonormal) times ``gain``; N-D kernels are
    flattened to ``(prod(shape[:-1]), shape[-1])``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        _positive("gain", gain)
        super().__init__(gain=gain, seed=seed)

    def __call__(self, shape, dtype=None):
        return super().__call__(_kernel_shape(shape, "orthogonal"), dtype=dtype)


@register
class RandomNormal(_KI.RandomNormal):
    """N(mean, stddev²), untruncated (default stddev 0.05, as source 000 and Keras)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        _positive("stddev", stddev)
        super().__init__(mean=mean, stddev=stddev, seed=seed)


@register
class Randn001(RandomNormal):
    """``randn * 0.01``: source 001's "random" scheme, N(0, 0.01²) untruncated."""

    def __init__(self, seed: int | None = None):
        super().__init__(mean=0.0, stddev=0.01, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": keras.saving.serialize_keras_object(self._init_seed)}


@register
class RandomUniform(_KI.RandomUniform):
    """U(minval, maxval) (Keras defaults ±0.05)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        if not minval < maxval:
            raise InvalidArgumentError("maxval", maxval, f"must be greater than minval={minval!r}")
        super().__init__(minval=minval, maxval=maxval, seed=seed)


@register
class TruncatedNormal(_KI.TruncatedNormal):
    """N(mean, stddev²) redrawn outside mean ± 2·stddev (actual std ≈ 0.88·stddev)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        _positive("stddev", stddev)
        super().__init__(mean=mean, stddev=stddev, seed=seed)


@register
class VarianceScaling(_KI.VarianceScaling):
    """Variance ``scale / fan`` (fan by ``mode``), drawn from ``distribution``.

    The truncated normal is rescaled so its actual std is ``sqrt(scale / fan)``.
    """

    def __init__(
        self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed: int | None = None
    ):
        _positive("scale", scale)
        if mode not in _MODES:
            raise InvalidArgumentError("mode", mode, f"must be one of {', '.join(_MODES)}")
        if distribution not in _DISTRIBUTIONS:
            raise InvalidArgumentError("distribution", distribution, f"must be one of {', '.join(_DISTRIBUTIONS)}")
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": keras.saving.serialize_keras_object(self._init_seed),
        }


def _fixed_scaling(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    """A VarianceScaling subclass whose only argument is ``seed`` (like Keras' HeNormal)."""

    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self):
        return {"seed": keras.saving.serialize_keras_object(self._init_seed)}

    cls = type(
        name,
        (VarianceScaling,),
        {"__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__, "__qualname__": name},
    )
    return register(cls)


GlorotNormal = _fixed_scaling(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Truncated normal, std sqrt(2/(fan_in+fan_out))."
)
GlorotUniform = _fixed_scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "Uniform in ±sqrt(6/(fan_in+fan_out)).")
HeNormal = _fixed_scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(2/fan_in).")
HeUniform = _fixed_scaling("HeUniform", 2.0, "fan_in", "uniform", "Uniform in ±sqrt(6/fan_in).")
LecunNormal = _fixed_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(1/fan_in).")
LecunUniform = _fixed_scaling("LecunUniform", 1.0, "fan_in", "uniform", "Uniform in ±sqrt(3/fan_in).")
RandnLecun = _fixed_scaling(
    "RandnLecun",
    1.0,
    "fan_in",
    "untruncated_normal",
    "randn * sqrt(1/fan_in): plain normal (what source 001 calls Xavier).",
)
RandnHe = _fixed_scaling(
    "RandnHe", 2.0, "fan_in", "untruncated_normal", "randn * sqrt(2/fan_in): plain normal (001's He)."
)


@register
class Sparse(_KI.Initializer):
    """Sparse initialization (Martens 2010): each unit gets ``k`` non-zero incoming weights.

    Units are the last axis; a unit's inputs are all other axes (a conv kernel's
    receptive field × input channels). The ``k`` inputs are chosen at random per
    unit and weighted N(0, stddev²); ``k`` above the fan-in is clipped to it (the
    unit is then dense). Sampled with ``numpy.random.default_rng(seed)``; like
    Keras, an unseeded instance picks its seed once, so every call repeats.
    """

    def __init__(self, k: int = 15, stddev: float = 1.0, seed: int | None = None):
        if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1):
            raise InvalidArgumentError("k", k, "must be an integer >= 1")
        _positive("stddev", stddev)
        if seed is not None and not (isinstance(seed, numbers.Integral) and seed >= 0):
            raise InvalidArgumentError("seed", seed, "must be a non-negative integer or None")
        self.k, self.stddev, self.seed = int(k), float(stddev), seed
        self._rng_seed = int(seed) if seed is not None else random.randint(1, 10**9)

    def __call__(self, shape, dtype=None):
        shape = _kernel_shape(shape, "sparse")
        fan_in, units = math.prod(shape[:-1]), int(shape[-1])
        k = min(self.k, fan_in)
        rng = np.random.default_rng(self._rng_seed)
        w = np.zeros((fan_in, units), dtype=np.float64)
        for j in range(units):
            rows = rng.choice(fan_in, size=k, replace=False)
            w[rows, j] = rng.normal(0.0, self.stddev, size=k)
        dtype = keras.backend.standardize_dtype(dtype)
        return keras.ops.convert_to_tensor(w.reshape(shape), dtype=dtype)

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
    "orthogonal": InitEntry(
        Orthogonal, "random orthogonal * gain", "gain^2 / max(fan_in, fan_out)", {"gain": 1.0}, "002-004"
    ),
    "lsuv": InitEntry(
        Orthogonal,
        "random orthogonal (gain 1), then rescaled on data by initlab.nets.lsuv",
        "set on data: unit variance of each layer's response",
        {"gain": 1.0},
        "Mishkin & Matas 2015",
    ),
    "random_normal": InitEntry(
        RandomNormal, "normal(mean, stddev)", "stddev^2", {"mean": 0.0, "stddev": 0.05}, "000, 003"
    ),
    "random_normal_001": InitEntry(RandomNormal, "normal(0, 0.01)", "1e-4", {"mean": 0.0, "stddev": 0.01}, "002"),
    "random_normal_1": InitEntry(
        RandomNormal, "normal(0, 1)", "1", {"mean": 0.0, "stddev": 1.0}, "004 (large random init)"
    ),
    "random_uniform": InitEntry(
        RandomUniform,
        "uniform(minval, maxval)",
        "(maxval-minval)^2 / 12",
        {"minval": -0.05, "maxval": 0.05},
        "000, 003",
    ),
    "truncated_normal": InitEntry(
        TruncatedNormal, "normal(mean, stddev) cut at 2 stddev", "(0.88 stddev)^2", {"mean": 0.0, "stddev": 0.05}
    ),
    "glorot_normal": InitEntry(GlorotNormal, "truncated normal", "2 / (fan_in + fan_out)", source="002, 003"),
    "glorot_uniform": InitEntry(
        GlorotUniform, "uniform(±sqrt(6/(fan_in+fan_out)))", "2 / (fan_in + fan_out)", source="000, 003"
    ),
    "he_normal": InitEntry(HeNormal, "truncated normal", "2 / fan_in", source="000, 002, 003"),
    "he_uniform": InitEntry(HeUniform, "uniform(±sqrt(6/fan_in))", "2 / fan_in", source="003"),
    "lecun_normal": InitEntry(LecunNormal, "truncated normal", "1 / fan_in", source="002, 003, 004"),
    "lecun_uniform": InitEntry(LecunUniform, "uniform(±sqrt(3/fan_in))", "1 / fan_in", source="003"),
    "variance_scaling": InitEntry(
        VarianceScaling,
        "by distribution (truncated/untruncated normal, uniform)",
        "scale / fan(mode)",
        {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
        "004",
    ),
    "randn_001": InitEntry(Randn001, "randn * 0.01 (plain normal)", "1e-4", source="001 random"),
    "randn_lecun": InitEntry(RandnLecun, "randn * sqrt(1/fan_in) (plain normal)", "1 / fan_in", source="001 Xavier"),
    "randn_he": InitEntry(RandnHe, "randn * sqrt(2/fan_in) (plain normal)", "2 / fan_in", source="001 He"),
    "sparse": InitEntry(
        Sparse,
        "k non-zero N(0, stddev) inputs per unit",
        "stddev^2 * k / fan_in",
        {"k": 15, "stddev": 1.0},
        "000 (named; scheme of Martens 2010)",
    ),
    "zero_hadamard": InitEntry(
        ZerO,
        "ZerO, deterministic: (partial) identity, or scaled Hadamard if fan_out > fan_in",
        "mean square 1/fan_in, or 2^(1-m), m = ceil(log2 fan_out)",
        source="Zhao, Schäfer & Anandkumar 2022",
    ),
}
# Class names (plain and as registered for saving) accepted in {"class_name", "config"} specs.
_CLASSES: dict[str, type] = {}
for _entry in INITIALIZERS.values():
    _CLASSES[_entry.cls.__name__] = _CLASSES[f"initlab>{_entry.cls.__name__}"] = _entry.cls


def _params(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def _build(cls: type, label: str, kwargs: dict[str, Any]) -> _KI.Initializer:
    allowed = _params(cls)
    for key in kwargs:
        if key not in allowed:
            raise InvalidArgumentError(
                key,
                kwargs[key],
                f"is not a parameter of {label!r} (parameters: {', '.join(sorted(allowed)) or 'none'})",
            )
    return cls(**kwargs)


def init_names() -> list[str]:
    """Every registered initializer name, sorted."""
    return sorted(INITIALIZERS)


def get_initializer(identifier: Any, seed: int | None = None, **params: Any) -> keras.initializers.Initializer:
    """An initializer from a registry name, an import path, a Keras config dict, a class or an instance.

    Args:
        identifier: a name from :func:`init_names`; an import path ``package.module:Name``
            with optional JSON keyword arguments (``mypkg.inits:ScaledHe{"gain": 0.1}``, see
            :mod:`initlab.nets.user_inits`); a dict ``{"class_name", "config"}``
            whose class name is a registry name or one of this module's classes
            (``"HeNormal"``, ``"initlab>HeNormal"``; Keras' own names map to them);
            a ``keras.initializers.Initializer`` subclass, built with ``params`` and ``seed``;
            or an initializer instance, returned as is (``seed`` is then ignored).
        seed: seed of a random initializer (ignored by deterministic ones); for a
            dict it overrides the config's seed when given.
        **params: overrides of the entry's defaults or the dict's config (e.g. ``stddev=0.01``).

    Raises:
        UnknownNameError: the name is not registered (the message lists the valid ones).
        InvalidArgumentError: a parameter is unknown or out of range; an import path that does
            not lead to an initializer class or instance.
    """
    if user_inits.is_import_path(identifier):
        return user_inits.build(user_inits.resolve(identifier), identifier, seed, **params)
    if inspect.isclass(identifier) and issubclass(identifier, _KI.Initializer):
        label = user_inits.class_path(identifier)
        return user_inits.build(user_inits.UserInit(identifier), label, seed, **params)
    if isinstance(identifier, _KI.Initializer):
        if params:
            key = next(iter(params))
            raise InvalidArgumentError(key, params[key], "cannot be applied to an initializer instance; pass a name")
        return identifier
    if isinstance(identifier, Mapping):
        name = identifier.get("class_name")
        config = dict(identifier.get("config") or {})
        if isinstance(name, str) and name in INITIALIZERS:
            config_seed = config.pop("seed", None)
            return get_initializer(name, seed=config_seed if seed is None else seed, **{**config, **params})
        cls = _CLASSES.get(identifier.get("registered_name")) or _CLASSES.get(name)
        if cls is None:
            raise UnknownNameError("initializer", name, init_names())
        for key in ("input_axes", "output_axes"):  # Keras-only options, None unless customised
            if key in config and config[key] is None:
                del config[key]
        kwargs = {**config, **params}
        if seed is not None and "seed" in _params(cls):
            kwargs["seed"] = seed
        return _build(cls, str(name), kwargs)
    if not isinstance(identifier, str) or identifier not in INITIALIZERS:
        raise UnknownNameError("initializer", identifier, init_names(), hint=f"Or your own: {user_inits.FORM}.")
    entry = INITIALIZERS[identifier]
    kwargs = {**entry.defaults, **params}
    if "seed" in _params(entry.cls):
        kwargs["seed"] = seed
    return _build(entry.cls, identifier, kwargs)


def expected_stats(identifier: Any, shape: tuple[int, ...]) -> dict[str, float]:
    """Theoretical mean, std and bounds of the values an initializer draws for ``shape``.

    Works for this module's initializers and Keras' own (of the same families).

    Args:
        identifier: anything :func:`get_initializer` accepts.
        shape: the kernel shape the values are drawn for.

    Returns:
        ``{"mean", "std", "low", "high"}``; bounds are ``-inf``/``inf`` when unbounded.
        Truncated normals' std is the actual (post-truncation) one.

    Raises:
        InvalidArgumentError: the shape does not suit the initializer, or the
            initializer has no known statistics.
    """
    init = get_initializer(identifier, seed=0)
    shape = tuple(int(s) for s in shape)
    fan_in, fan_out = compute_fans(shape)
    stats = _structured_stats(init, shape)
    if stats is None:
        stats = _random_stats(init, fan_in, fan_out)
    if stats is not None:
        return stats
    raise InvalidArgumentError("identifier", identifier, "has no known theoretical statistics")


def _structured_stats(init: _KI.Initializer, shape: tuple[int, ...]) -> dict[str, float] | None:
    """:func:`expected_stats` of a constant, identity, orthogonal, ZerO or sparse initializer; None for any other."""
    inf = math.inf
    if isinstance(init, (_KI.Zeros, _KI.Ones, _KI.Constant)):
        value = 0.0 if isinstance(init, _KI.Zeros) else 1.0 if isinstance(init, _KI.Ones) else float(init.value)
        return {"mean": value, "std": 0.0, "low": value, "high": value}
    if isinstance(init, _KI.Identity):
        rows, cols = _kernel_shape(shape, "identity", exact=True)
        eye = init.gain * np.eye(rows, cols)
        return {"mean": float(eye.mean()), "std": float(eye.std()), "low": float(eye.min()), "high": float(eye.max())}
    if isinstance(init, _KI.Orthogonal):
        _kernel_shape(shape, "orthogonal")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return {"mean": 0.0, "std": init.gain / math.sqrt(max(rows, cols)), "low": -init.gain, "high": init.gain}
    if isinstance(init, ZerO):  # deterministic: the kernel's own figures
        w = np.asarray(init(shape), dtype=np.float64)
        return {"mean": float(w.mean()), "std": float(w.std()), "low": float(w.min()), "high": float(w.max())}
    if isinstance(init, Sparse):
        fan_in = math.prod(_kernel_shape(shape, "sparse")[:-1])
        k = min(init.k, fan_in)
        return {"mean": 0.0, "std": init.stddev * math.sqrt(k / fan_in), "low": -inf, "high": inf}
    return None


def _random_stats(init: _KI.Initializer, fan_in: float, fan_out: float) -> dict[str, float] | None:
    """:func:`expected_stats` of a normal, truncated normal, uniform or variance-scaling initializer, or None."""
    inf = math.inf
    if isinstance(init, _KI.RandomNormal):
        return {"mean": init.mean, "std": init.stddev, "low": -inf, "high": inf}
    if isinstance(init, _KI.TruncatedNormal):
        return {
            "mean": init.mean,
            "std": init.stddev * TRUNCATED_STD,
            "low": init.mean - 2 * init.stddev,
            "high": init.mean + 2 * init.stddev,
        }
    if isinstance(init, _KI.RandomUniform):
        half = (init.maxval - init.minval) / 2
        return {
            "mean": (init.maxval + init.minval) / 2,
            "std": half / math.sqrt(3),
            "low": init.minval,
            "high": init.maxval,
        }
    if isinstance(init, _KI.VarianceScaling) and getattr(init, "input_axes", None) is None:
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init.mode]
        std = math.sqrt(init.scale / max(1.0, fan))
        if init.distribution == "uniform":
            limit = std * math.sqrt(3)
            return {"mean": 0.0, "std": std, "low": -limit, "high": limit}
        if init.distribution == "truncated_normal":
            cut = 2 * std / TRUNCATED_STD
            return {"mean": 0.0, "std": std, "low": -cut, "high": cut}
        return {"mean": 0.0, "std": std, "low": -inf, "high": inf}
    return None


def describe_initializers() -> list[dict[str, str]]:
    """Rows for ``initlab inits``: name, distribution, variance formula, defaults, source."""
    return [
        {
            "name": name,
            "distribution": e.distribution,
            "variance": e.variance,
            "defaults": ", ".join(f"{k}={v}" for k, v in e.defaults.items()) or "-",
            "source": e.source,
        }
        for name, e in sorted(INITIALIZERS.items())
    ]


def theoretical_density(
    identifier: Any, shape: tuple[int, ...], n_points: int = 400
) -> tuple[np.ndarray, np.ndarray] | None:
    """The density an initializer draws from for ``shape``, as ``(x, p)``; None for point masses.

    Sparse, identity and ZerO kernels (mostly exact zeros) have no density: None. Orthogonal
    kernels get the normal density with their exact std (the entries of a large random
    orthogonal matrix are nearly normal).
    """
    from scipy import stats as st

    init = get_initializer(identifier, seed=0)
    e = expected_stats(init, shape)
    if e["std"] == 0 or isinstance(init, (_KI.Identity, Sparse, ZerO)):
        return None
    lo = e["low"] if math.isfinite(e["low"]) else e["mean"] - 4 * e["std"]
    hi = e["high"] if math.isfinite(e["high"]) else e["mean"] + 4 * e["std"]
    x = np.linspace(lo, hi, n_points)
    scaling = isinstance(init, _KI.VarianceScaling)
    if isinstance(init, _KI.RandomUniform) or (scaling and init.distribution == "uniform"):
        return x, np.full_like(x, 1.0 / (e["high"] - e["low"]))
    if isinstance(init, _KI.TruncatedNormal) or (scaling and init.distribution == "truncated_normal"):
        sigma = (e["high"] - e["mean"]) / 2
        return x, st.truncnorm.pdf(x, -2, 2, loc=e["mean"], scale=sigma)
    return x, st.norm.pdf(x, loc=e["mean"], scale=e["std"])
