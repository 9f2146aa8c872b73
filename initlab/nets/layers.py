"""Which layers of a model hold kernels, which are hidden, and what their activations are called.

One definition for the engine, LSUV and the diagnostics, with no dependency on
any of them.
"""

from __future__ import annotations

import keras


def hidden_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's hidden layers (``hidden_*``) in order."""
    return [layer for layer in model.layers if layer.name.startswith("hidden_")]


def kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers that hold a kernel (hidden layers and the head), in order."""
    return [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]


def activation_name(layer: keras.layers.Layer) -> str:
    """The name of a layer's activation function (``"linear"`` when it has none)."""
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", "linear") if fn is not None else "linear"
