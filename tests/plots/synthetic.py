"""Small synthetic frames the figures are drawn from (no training), and what the tests read off a figure."""

from __future__ import annotations

import itertools

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd


def curves(inits=("he_normal", "zeros"), epochs=3, seeds=(0, 1, 2), level=None) -> pd.DataFrame:
    """A study frame: accuracy rising to ``level[init]`` (default 0.98; zeros 0.11), a little seed noise."""
    level = level or {}
    rows = []
    for init, seed, epoch in itertools.product(inits, seeds, range(1, epochs + 1)):
        top = level.get(init, 0.11 if init == "zeros" else 0.98)
        acc = top - 0.01 * (epochs - epoch) + 0.003 * (seed - 1)
        rows.append(
            {
                "dataset": "mnist",
                "model": "mlp",
                "init": init,
                "seed": seed,
                "epoch": epoch,
                "accuracy": acc,
                "val_accuracy": acc - 0.002,
                "loss": 1 - acc,
                "val_loss": 1.01 - acc,
                "test_accuracy": acc - 0.004,
                "status": "ok",
            }
        )
    return pd.DataFrame(rows)


def propagation_frame() -> pd.DataFrame:
    """Two panels: ``linear`` spans 1e-30..1e45 (then inf or 0), ``tanh`` stays within 0.5..2."""
    k = np.arange(1, 31)
    lines = {
        ("linear", "random_normal_1"): np.append(10.0 ** (1.5 * k[:-1]), np.inf),
        ("linear", "random_normal_001"): np.append(10.0 ** (-1.0 * k[:-1]), 0.0),
        ("linear", "he_normal"): np.ones(30),
        ("tanh", "random_normal_1"): np.full(30, 2.0),
        ("tanh", "random_normal_001"): np.full(30, 0.5),
        ("tanh", "he_normal"): np.ones(30),
    }
    return pd.DataFrame(
        [
            {"activation": act, "init": init, "layer_index": int(i), "statistic": "activation_std", "value": float(v)}
            for (act, init), vals in lines.items()
            for i, v in zip(k, vals)
        ]
    )


def trainability_table(with_status: bool = True) -> pd.DataFrame:
    rows = [
        ("relu", 5, "he_normal", 0.951, 3, 0, "trains"),
        ("relu", 5, "zeros", np.nan, 0, 3, "diverged"),
        ("tanh", 5, "he_normal", 0.5, 2, 1, "diverged"),
        ("tanh", 5, "zeros", np.nan, 0, 0, "fails"),
        ("relu", 20, "he_normal", 0.304, 3, 0, "partial"),
    ]  # (relu, 20, zeros) is missing
    t = pd.DataFrame(rows, columns=["activation", "depth", "init", "mean", "n", "diverged", "status"])
    return t if with_status else t.drop(columns="status")


def cell_texts(fig) -> dict[tuple[int, int], str]:
    """A heatmap's cell labels by (row, column)."""
    ax = fig.axes[0]
    return {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}


def legend_colors(fig) -> dict[str, tuple]:
    """Label -> RGB of every legend entry of a figure (axes and figure legends)."""
    out = {}
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            color = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
            out[text.get_text()] = mcolors.to_rgb(np.ravel(color)[:4] if not isinstance(color, str) else color)
    return out
