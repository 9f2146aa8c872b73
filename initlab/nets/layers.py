"""Which layers of a model hold kernels, which are hidden, and what their activations are called.

One definition for the engine, LSUV and the diagnostics, with no dependency on
any of them: a layer holds a kernel when it is one of :data:`KERNEL_LAYERS`.
"""

from __future__ import annotations

import keras

KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
"""The Keras layer classes that hold a kernel (and a bias): every weighted layer initlab's models build."""


def holds_kernel(layer: keras.layers.Layer) -> bool:
    """True for a layer of one of the :data:`KERNEL_LAYERS` classes."""
    return isinstance(layer, KERNEL_LAYERS)


def kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers that hold a kernel (hidden layers and the head), in order."""
    return [layer for layer in model.layers if holds_kernel(layer)]


def hidden_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's hidden layers in order: every kernel layer but the last, the head, unless the last is
    itself named ``hidden_<n>`` (a model without a head, such as ``002``'s as printed).

    In initlab's models these are the layers named ``hidden_1``, ``hidden_2``, ...
    """
    layers = kernel_layers(model)
    return layers if layers and layers[-1].name.startswith("hidden_") else layers[:-1]


def activation_name(layer: keras.layers.Layer) -> str:
    """The name of a layer's activation function (``"linear"`` when it has none)."""
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", "linear") if fn is not None else "linear"
