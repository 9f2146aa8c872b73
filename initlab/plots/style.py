"""The figures' shared vocabulary: one colour per initializer and per activation, axis labels, the theme.

Every initializer has the same colour in every figure of every notebook
(:func:`init_color`), and so has every activation (:func:`activation_color`).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import seaborn as sns

METRIC_LABELS = {
    "loss": "training loss",
    "accuracy": "training accuracy",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
}

STATISTIC_LABELS = {
    "activation_mean": "activation mean",
    "activation_std": "activation std",
    "frac_saturated": "fraction saturated",
    "frac_zero": "fraction exactly 0",
    "kernel_std": "kernel std",
    "kernel_grad_norm": "kernel gradient norm",
    "bias_grad_norm": "bias gradient norm",
    "activation_grad_norm": "gradient norm w.r.t. the layer's output",
    "update_ratio": "log10(std(update) / std(weight))",
}

# One colour per initializer, taken from seaborn's colorblind, dark, tab20, Dark2 and bright
# palettes (no colour too light to read on white, CIELAB lightness <= 82) and assigned
# so that any two differ by a CIE76 distance of at least 22: every registered name
# (initlab.nets.initializers.init_names()) plus the variants the studies add.
INIT_COLORS: dict[str, str] = {
    "zeros": "#3c3c3c",
    "ones": "#949494",
    "constant": "#ca9161",
    "glorot_uniform": "#0173b2",
    "glorot_normal": "#56b4e9",
    "he_normal": "#d55e00",
    "he_uniform": "#de8f05",
    "lecun_normal": "#029e73",
    "lecun_uniform": "#66a61e",
    "random_normal": "#cc78bc",
    "random_uniform": "#591e71",
    "random_normal_001": "#a23582",
    "random_normal_1": "#001c7f",
    "orthogonal": "#8c0800",
    "orthogonal_gain_sqrt2": "#ff9896",
    "identity": "#17becf",
    "lsuv": "#006374",
    "truncated_normal": "#c5b0d5",
    "variance_scaling": "#7570b3",
    "sparse": "#8c564b",
    "randn_001": "#592f0d",
    "randn_lecun": "#bcbd22",
    "randn_he": "#e7298a",
    "zero_hadamard": "#023eff",
}
# The Okabe-Ito colours (grey for the yellow, too light for lines), one per activation.
ACTIVATION_COLORS: dict[str, str] = {
    "relu": "#0072b2",
    "tanh": "#e69f00",
    "selu": "#009e73",
    "linear": "#000000",
    "sigmoid": "#cc79a7",
    "elu": "#56b4e9",
    "gelu": "#d55e00",
    "leaky_relu": "#999999",
}
# For names in neither table: none within a CIE76 distance of 15 of a mapped initializer colour.
FALLBACK_COLORS = ("#12711c", "#d62728", "#a6761d", "#9467bd", "#666666", "#ff7f0e", "#aec7e8", "#fbafe4")


def _fallback(name: str, taken: Collection[str] = ()) -> str:
    """A fallback colour chosen by a checksum of ``name`` (the same on every run), skipping ``taken``."""
    start = zlib.crc32(str(name).encode())
    for k in range(len(FALLBACK_COLORS)):
        color = FALLBACK_COLORS[(start + k) % len(FALLBACK_COLORS)]
        if color not in taken:
            return color
    return FALLBACK_COLORS[start % len(FALLBACK_COLORS)]


def init_color(name: str) -> str:
    """The colour of initializer ``name`` in every figure (hex); unknown names get a fixed fallback."""
    return INIT_COLORS.get(str(name)) or _fallback(name)


def activation_color(name: str) -> str:
    """The colour of activation ``name`` in every figure (hex); unknown names get a fixed fallback."""
    return ACTIVATION_COLORS.get(str(name)) or _fallback(name)


def _palette(names: Sequence, table: Mapping[str, str]) -> dict:
    """``{name: colour}`` from ``table``; unknown names take distinct fallbacks (in order of appearance)."""
    out: dict = {}
    for name in dict.fromkeys(names):
        out[name] = table.get(str(name)) or _fallback(name, set(out.values()))
    return out


def init_palette(names: Sequence[str]) -> dict[str, str]:
    """``{init: colour}`` for a figure's initializers, as :func:`init_color` gives them.

    Two unknown names whose fallbacks coincide are told apart by giving the later
    one the next free fallback colour.
    """
    return _palette(names, INIT_COLORS)


def activation_palette(names: Sequence[str]) -> dict[str, str]:
    """``{activation: colour}`` for a figure's activations, as :func:`activation_color` gives them."""
    return _palette(names, ACTIVATION_COLORS)


def hue_palette(hue: str | None, values: Sequence) -> dict | None:
    """The fixed palette of a ``hue`` column (``init`` or ``activation``); None (seaborn's default) otherwise."""
    if hue == "init":
        return init_palette(list(values))
    if hue == "activation":
        return activation_palette(list(values))
    return None


def use_style() -> None:
    """The notebooks' plotting style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold"})
