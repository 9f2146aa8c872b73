"""One rule for the layers that hold a kernel: on every registered model it selects exactly the layers
each of the rules it replaced selected (the diagnostics, the stacked engine, LSUV, float64 arithmetic)."""

from __future__ import annotations

import keras
import pytest

from initlab.nets.layers import KERNEL_LAYERS, hidden_layers, holds_kernel, kernel_layers
from initlab.nets.lsuv import lsuv_layers
from initlab.nets.models import MODELS, build_model
from initlab.probe.float64 import dense_weights64
from initlab.training.program import weighted_layers

# every registered architecture, and deep_mlp with each kind of dropout layer it can add
_VARIANTS = [(name, {}) for name in MODELS if name != "deep_mlp"] + [
    ("deep_mlp", {"depth": 3, "width": 8}),
    ("deep_mlp", {"depth": 3, "width": 8, "dropout": 0.2}),
    ("deep_mlp", {"depth": 3, "width": 8, "activation": "selu", "dropout": 0.2}),
]


def _names(layers) -> list[str]:
    return [layer.name for layer in layers]


def _build(name: str, params: dict) -> keras.Sequential:
    shape = (12, 12, 1) if MODELS[name].convolutional else (12, 12)
    return build_model(name, shape, **params)


@pytest.mark.parametrize(("name", "params"), _VARIANTS, ids=lambda v: str(v))
def test_one_kernel_rule_selects_what_every_old_rule_did(name: str, params: dict) -> None:
    model = _build(name, params)
    kernels, hidden = _names(kernel_layers(model)), _names(hidden_layers(model))
    # the old rules, as they were written
    by_attribute = [l.name for l in model.layers if getattr(l, "kernel", None) is not None]  # kernel_layers
    by_hasattr = [l.name for l in model.layers if hasattr(l, "kernel")]  # gradient_norms
    by_name = [l.name for l in model.layers if l.name.startswith("hidden_")]  # hidden_layers
    by_name_with_kernel = [n for n in by_name if hasattr(model.get_layer(n), "kernel")]  # SymmetryTracker
    dense_conv2d = [l.name for l in model.layers if isinstance(l, (keras.layers.Dense, keras.layers.Conv2D))]
    lsuv_classes = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    lsuv = [l.name for l in model.layers if isinstance(l, lsuv_classes)]
    assert kernels == by_attribute == by_hasattr == dense_conv2d == lsuv
    headless = not MODELS[name].head  # 002 as printed: its last hidden layer is its output
    assert hidden == by_name == by_name_with_kernel == (kernels if headless else kernels[:-1])
    assert _names(weighted_layers(model)) == dense_conv2d
    assert _names(lsuv_layers(model)) == lsuv
    dense_only = all(isinstance(l, (keras.layers.Flatten, keras.layers.Dense)) for l in model.layers)
    if dense_only and not headless:  # float64's MLPs (a softmax head)
        assert [n for n, *_ in dense_weights64(model)] == [
            l.name for l in model.layers if isinstance(l, keras.layers.Dense)
        ]
    assert kernels[-1] == ("hidden_4" if headless else "output") and all(n.startswith("hidden_") for n in hidden)


def test_kernel_layer_classes() -> None:
    assert holds_kernel(keras.layers.Dense(2)) and holds_kernel(keras.layers.Conv1D(2, 3))
    assert not holds_kernel(keras.layers.Flatten()) and not holds_kernel(keras.layers.BatchNormalization())
    assert not holds_kernel(keras.layers.Dropout(0.5)) and not holds_kernel(keras.layers.MaxPooling2D())
    assert keras.layers.Conv3D in KERNEL_LAYERS
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    assert _names(kernel_layers(model)) == ["a", "b"] and _names(hidden_layers(model)) == ["a"]
