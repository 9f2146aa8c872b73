"""Layer-sequential unit-variance initialization (LSUV; Mishkin & Matas 2015).

LSUV is a data-dependent initialization in two steps:

1. **Orthonormal start.** Every kernel (Dense and Conv layers, the head
   included) is redrawn as a random orthogonal matrix with gain 1; layer ``i``
   (counting kernels from 1, as :func:`initlab.nets.models.build_model` does) uses
   ``layer_seed(seed, i)``, so a model built with ``init="orthogonal"`` and the
   same seed already holds exactly these kernels.
2. **Unit variance, layer by layer.** From the input towards the head, each
   kernel is divided by the standard deviation of the layer's response on a
   batch of data, until the variance of that response is within ``tol`` of 1
   or ``max_iter`` rescalings were made. Earlier layers are final by the time
   a layer is treated, so each layer sees the statistics its input will have.

Choices, stated once:

- *Which response.* The paper rescales until each layer's **output** has unit
  variance; ``where="output"`` does that (the Keras layer's output, after its
  activation). A tanh output has variance below 1 (it approaches 1 only by
  saturating) and a sigmoid's is at most 1/4, so for those the target cannot
  be met; ``where="auto"`` (the default) therefore measures the output for
  unbounded activations (ReLU, SELU, ELU, GELU, leaky ReLU, linear) and the
  **pre-activation** ``x @ W + b`` for bounded ones (tanh, sigmoid, softmax).
  ``where="pre_activation"`` measures the pre-activation everywhere. Each
  record says what was measured.
- *Variance* is over every value of the response on the batch (examples ×
  units × positions), with ``ddof=0``.
- *The head* (the last layer with a kernel, ``output`` in initlab's models)
  keeps its orthonormal start and is not rescaled by default: a softmax output
  is a probability vector that cannot have unit variance, and common
  implementations leave the classifier alone. ``include_output=True`` rescales
  it too (its pre-activation, under ``where="auto"``).
- Biases are left as they are (zero in initlab's models).

``"lsuv"`` is also a name in the initializer registry: it draws the
orthonormal start (so ``build_model(..., init="lsuv")`` alone gives step 1);
:func:`apply_data_init` adds step 2 given training data.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math
import numbers
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError, UnsupportedLayerError
from initlab.nets.initializers import get_initializer, layer_seed
from initlab.nets.layers import (
    KERNEL_LAYERS,  # noqa: F401  (re-exported: initlab.nets imports it from here)
    activation_name,
    holds_kernel,
    kernel_layers,
)

BOUNDED = ("tanh", "sigmoid", "softmax", "hard_sigmoid", "softsign", "hard_tanh")
WHERE = ("auto", "output", "pre_activation")
DATA_INITS = ("lsuv",)
LSUV_N_SAMPLES = 256
RECORD_COLUMNS = [
    "layer",
    "layer_type",
    "activation",
    "measured",
    "initial_variance",
    "scale",
    "iterations",
    "final_variance",
    "converged",
]
_TINY = 1e-12  # a response this flat cannot be rescaled (e.g. a dead layer)


def lsuv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers LSUV rescales (Dense and Conv, in order), after checking it can handle the model.

    Raises:
        InvalidArgumentError: ``model`` is not a built ``keras.Sequential`` or has
            no Dense or Conv layer.
        UnsupportedLayerError: a layer has weights but is neither Dense nor Conv
            (e.g. BatchNormalization, LSTM, DepthwiseConv2D); names the layer.
    """
    if not isinstance(model, keras.Sequential):
        raise InvalidArgumentError(
            "model", type(model).__name__, "must be a keras.Sequential (LSUV walks its layers in order)"
        )
    if not model.built:
        raise InvalidArgumentError("model", model.name, "must be built (give it a keras.Input)")
    for layer in model.layers:
        if not holds_kernel(layer) and layer.weights:
            raise UnsupportedLayerError(
                "LSUV",
                layer.name,
                type(layer).__name__,
                "it has weights but is neither Dense nor Conv1D/2D/3D; remove it or initialize this model another way",
            )
    layers = kernel_layers(model)
    if not layers:
        raise InvalidArgumentError("model", model.name, "must contain at least one Dense or Conv layer")
    return layers


def _measured(layer: keras.layers.Layer, where: str) -> str:
    act = activation_name(layer)
    if where == "auto":
        return "pre_activation" if act in BOUNDED else "output"
    if where == "output" and act in BOUNDED:
        raise InvalidArgumentError(
            "where",
            where,
            f"cannot be 'output' for layer {layer.name!r}: a {act} output cannot reach "
            "variance 1; use 'auto' or 'pre_activation'",
        )
    return where


def pre_activation(layer: keras.layers.Layer, x: Any) -> Any:
    """A Dense or Conv layer's response before its activation: ``x @ W + b`` (or the convolution)."""
    if isinstance(layer, keras.layers.Dense):
        z = keras.ops.matmul(x, layer.kernel)
    else:
        z = layer.convolution_op(x, layer.kernel)
    if layer.bias is None:
        return z
    if isinstance(layer, keras.layers.Dense) or layer.data_format == "channels_last":
        return z + layer.bias
    return z + keras.ops.reshape(layer.bias, (1, -1) + (1,) * (len(z.shape) - 2))


def _variance(layer: keras.layers.Layer, x: Any, measured: str) -> float:
    out = layer(x, training=False) if measured == "output" else pre_activation(layer, x)
    return float(np.var(np.asarray(out, dtype=np.float64)))


def _rescale(layer: keras.layers.Layer, x: Any, measured: str, tol: float, max_iter: int) -> dict[str, Any]:
    """Divide the kernel by the response's std until its variance is within ``tol`` of 1."""
    variance = first = _variance(layer, x, measured)
    scale, iterations = 1.0, 0
    while abs(variance - 1.0) >= tol and iterations < max_iter and variance > _TINY:
        factor = 1.0 / math.sqrt(variance)
        layer.kernel.assign(layer.kernel * factor)
        scale *= factor
        iterations += 1
        variance = _variance(layer, x, measured)
    return {
        "layer": layer.name,
        "layer_type": type(layer).__name__,
        "activation": activation_name(layer),
        "measured": measured,
        "initial_variance": first,
        "scale": scale,
        "iterations": iterations,
        "final_variance": variance,
        "converged": bool(abs(variance - 1.0) < tol),
    }


def _check_options(tol: float, max_iter: int, where: str) -> None:
    """Refuse a bad ``tol``, ``max_iter`` or ``where`` of :func:`lsuv_init`."""
    if not (isinstance(tol, numbers.Real) and math.isfinite(tol) and 0 < tol < 1):
        raise InvalidArgumentError("tol", tol, "must be a float in (0, 1)")
    if not (isinstance(max_iter, numbers.Integral) and not isinstance(max_iter, bool) and max_iter >= 0):
        raise InvalidArgumentError("max_iter", max_iter, "must be an integer >= 0")
    if where not in WHERE:
        raise InvalidArgumentError("where", where, f"must be one of {', '.join(WHERE)}")


def _checked_batch(model: keras.Model, x_batch: np.ndarray) -> np.ndarray:
    """``x_batch`` as float32, after checking it is a batch of at least 2 of the model's inputs."""
    x = np.asarray(x_batch, dtype="float32")
    expected = tuple(model.inputs[0].shape[1:])
    if (
        x.ndim != len(expected) + 1
        or len(x) < 2
        or any(e is not None and e != s for e, s in zip(expected, x.shape[1:]))
    ):
        raise InvalidArgumentError("x_batch", x.shape, f"must have shape (n_samples >= 2, *{expected})")
    return x


def _orthonormal_start(layers: list[keras.layers.Layer], seed: int) -> None:
    """Redraw every kernel orthogonal with gain 1, layer ``i`` (from 1) seeded ``layer_seed(seed, i)``."""
    for i, layer in enumerate(layers, start=1):
        init = get_initializer("orthogonal", seed=layer_seed(seed, i))
        layer.kernel.assign(init(tuple(layer.kernel.shape), dtype=layer.kernel.dtype))


def lsuv_init(
    model: keras.Model,
    x_batch: np.ndarray,
    tol: float = 0.1,
    *,
    max_iter: int = 10,
    seed: int = 0,
    where: str = "auto",
    include_output: bool = False,
    orthonormal: bool = True,
) -> pd.DataFrame:
    """Initialize ``model`` in place by LSUV on the batch ``x_batch``.

    Args:
        model: a built ``keras.Sequential`` of Dense/Conv layers and weightless
            layers (Flatten, pooling, dropout), e.g. from :func:`initlab.nets.models.build_model`.
        x_batch: a batch of inputs (the paper uses one minibatch), shape
            ``(n_samples, *model.input_shape[1:])``, ``n_samples >= 2``.
        tol: stop once ``|variance - 1| < tol``.
        max_iter: at most this many rescalings per layer (0: orthonormal start only).
        seed: seeds the orthonormal start (layer ``i`` gets ``layer_seed(seed, i)``).
        where: ``"auto"``, ``"output"`` or ``"pre_activation"``: which response
            must have unit variance (see the module docstring).
        include_output: also rescale the head (the last Dense/Conv layer).
        orthonormal: redraw every kernel orthogonal first (the paper's step 1);
            ``False`` rescales the kernels the model already has.

    Returns:
        One row per rescaled layer, in order (columns ``RECORD_COLUMNS``):
        ``measured`` (``"output"`` or ``"pre_activation"``), ``initial_variance``
        (after the orthonormal start), ``scale`` (the product of the factors the
        kernel was multiplied by), ``iterations`` (rescalings made),
        ``final_variance`` and ``converged`` (``|final_variance - 1| < tol``).

    Raises:
        InvalidArgumentError: a bad ``tol``, ``max_iter``, ``where`` or batch
            shape, or ``where="output"`` on a tanh/sigmoid/softmax layer.
        UnsupportedLayerError: the model has a weighted layer that is not Dense or Conv.
    """
    _check_options(tol, max_iter, where)
    layers = lsuv_layers(model)
    x = _checked_batch(model, x_batch)
    targets = layers if include_output else layers[:-1]
    measured = {layer.name: _measured(layer, where) for layer in targets}  # check all before changing any
    if orthonormal:
        _orthonormal_start(layers, seed)
    rows = []
    h = keras.ops.convert_to_tensor(x)
    for layer in model.layers:
        if layer.name in measured:
            rows.append(_rescale(layer, h, measured[layer.name], float(tol), int(max_iter)))
        h = layer(h, training=False)
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def apply_data_init(
    model: keras.Model, init: Any, x_train: np.ndarray, *, seed: int, n_samples: int = LSUV_N_SAMPLES
) -> pd.DataFrame | None:
    """The data-dependent step of a data-dependent ``init``, or nothing for any other init.

    For ``init="lsuv"``: :func:`lsuv_init` on the first ``n_samples`` examples
    of ``x_train`` (defaults ``tol=0.1``, ``max_iter=10``, ``where="auto"``, head
    not rescaled). Any other ``init`` (a name, config or instance) leaves the
    model untouched.

    Returns:
        The LSUV record (see :func:`lsuv_init`), or None when ``init`` needs no data.
    """
    if not (isinstance(init, str) and init in DATA_INITS):
        return None
    if not (isinstance(n_samples, numbers.Integral) and n_samples >= 2):
        raise InvalidArgumentError("n_samples", n_samples, "must be an integer >= 2")
    return lsuv_init(model, np.asarray(x_train[:n_samples]), seed=int(seed))
