"""Distributions per layer: weight, activation and gradient histograms; per-layer statistics."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initlab.plots.curves import epoch_ticks, hidden_curves
from initlab.plots.style import STATISTIC_LABELS, hue_palette, init_palette


def _label_grid_panel(ax: plt.Axes, row: int, col: int, n_rows: int, layer: str, ylabel: str) -> None:
    """A layer × initializer histogram panel: the layer on the top row, the init on the left, x at the bottom."""
    if row == 0:
        ax.set_title(layer)
    if col == 0:
        ax.set_ylabel(ylabel)
    if row == n_rows - 1:
        ax.set_xlabel("activation value")


def histogram_grid(
    acts: Mapping[str, Mapping[str, np.ndarray]],
    *,
    title: str = "",
    xlim: tuple[float, float] | None = (-1, 1),
    bins: int = 50,
) -> plt.Figure:
    """Rows of initializers (each in its colour), columns of layers: the density of each layer's activations
    over the whole sample (values outside ``xlim`` are counted in the panel's note, not renormalised away)."""
    inits = list(acts)
    colors = init_palette(inits)
    layers = list(next(iter(acts.values())))
    fig, axes = plt.subplots(
        len(inits), len(layers), figsize=(3.1 * len(layers), 2.3 * len(inits)), squeeze=False, sharex=True
    )
    for r, init in enumerate(inits):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            a = np.ravel(acts[init][layer])
            rng = xlim if xlim is not None else (float(a.min()), float(a.max()) + 1e-9)
            counts, edges = np.histogram(a, bins=bins, range=rng)
            # a density of the whole sample, not renormalised to the window: what lies outside it is noted
            ax.stairs(counts / (a.size * np.diff(edges)), edges, fill=True, color=colors[init], alpha=0.8)
            zero, outside = float(np.mean(a == 0)), 1.0 - counts.sum() / a.size
            note = f"{zero:.0%} exactly 0" + (f"\n{outside:.1%} outside the window" if outside > 0 else "")
            ax.text(0.97, 0.9, note, transform=ax.transAxes, ha="right", va="top", fontsize=8)
            ax.set_yscale("log")
            _label_grid_panel(ax, r, c, len(inits), layer, f"{init}\ndensity (log)")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def _panels(n: int, ncols: int, width: float) -> tuple[plt.Figure, np.ndarray]:
    """A grid of ``n`` panels, ``ncols`` a row, each ``width`` inches wide."""
    nrows = int(np.ceil(n / ncols))
    return plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows), squeeze=False)


def weight_histograms(
    samples: Mapping[str, np.ndarray],
    densities: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    title: str = "",
    ncols: int = 4,
) -> plt.Figure:
    """One panel per initializer: the sampled kernel's histogram (in the initializer's colour)
    against its theoretical density (black); the legend right of the panels."""
    names = list(samples)
    colors = init_palette(names)
    fig, axes = _panels(len(names), ncols, 3.3)
    for ax, name in zip(axes.flat, names):
        w = np.ravel(samples[name])
        if np.ptp(w) == 0:
            ax.axvline(w[0], color=colors[name], lw=3)
            ax.set_xlim(w[0] - 1, w[0] + 1)
        else:
            ax.hist(w, bins=80, density=True, alpha=0.7, color=colors[name], histtype="stepfilled")
        if name in densities:
            x, p = densities[name]
            ax.plot(x, p, color="black", lw=1.5)
        ax.set_title(name)
        ax.locator_params(axis="x", nbins=5)  # narrow ranges' tick labels would run together
        ax.set_xlabel("weight value")
        ax.set_ylabel("density")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    handles = [
        Patch(color="grey", alpha=0.7, label="sampled (init's colour)"),
        Line2D([], [], color="black", lw=1.5, label="theory"),
    ]
    first_row = [ax for ax in axes[0] if ax.axison]  # full unless there are fewer panels than columns
    fig.legend(
        handles=handles,
        loc="upper left",
        fontsize="small",
        bbox_to_anchor=(first_row[-1].get_position().x1 + 0.01, first_row[-1].get_position().y1),
    )
    return fig


def symmetry_curves(sym: pd.DataFrame, layer: str = "hidden_1", title: str = "") -> plt.Figure:
    """Mean pairwise distance between a layer's units, and its number of distinct units, per epoch."""
    d = sym[sym["layer"] == layer]
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
    palette = init_palette(list(dict.fromkeys(d["init"])))
    sns.lineplot(
        data=d,
        x="epoch",
        y="unit_spread",
        hue="init",
        hue_order=list(palette),
        palette=palette,
        marker="o",
        ax=axes[0],
        errorbar=None,
        legend=False,
    )
    axes[0].set_yscale("symlog", linthresh=1e-7)
    axes[0].set_ylim(bottom=0)
    axes[0].set_ylabel("mean pairwise distance\nbetween units' weights")
    axes[0].set_title(f"{layer}: how different the units are")
    sns.lineplot(
        data=d,
        x="epoch",
        y="distinct_units",
        hue="init",
        hue_order=list(palette),
        palette=palette,
        marker="o",
        ax=axes[1],
        errorbar=None,
    )
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), title="init")
    long = d.melt(id_vars=["init", "epoch"], value_vars=["unit_spread", "distinct_units"], var_name="metric")
    hidden = hidden_curves(long, "init", ["metric"])
    for text in axes[1].get_legend().get_texts():
        if text.get_text() in hidden:
            text.set_text(f"{text.get_text()} (= {hidden[text.get_text()]}, drawn under it)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("distinct units")
    axes[1].set_title(f"{layer}: units with different weights")
    for ax in axes:
        ax.set_xlabel("epoch (0 = initialization)")
        ax.set_xticks(epoch_ticks(d["epoch"].unique()))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def _layer_order(frame: pd.DataFrame) -> list[str]:
    """Layer names in the order they first appear (input to output)."""
    return list(dict.fromkeys(frame["layer"]))


def layer_stat_curves(
    frame: pd.DataFrame, statistic: str, *, title: str = "", x: str = "step", logy: bool = False
) -> plt.Figure:
    """One tracked statistic (a :class:`~initlab.probe.tracking.LayerStatsTracker` frame) against ``x``, one line
    per layer.

    The update ratio gets a dashed reference line at -3.
    """
    d = frame[frame["statistic"] == statistic]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.lineplot(data=d, x=x, y="value", hue="layer", hue_order=_layer_order(d), marker="o", ax=ax, errorbar=None)
    if statistic == "update_ratio":
        ax.axhline(-3, color="grey", ls="--", lw=1, label="-3 (rule of thumb)")
        ax.legend(fontsize="small")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step" if x == "step" else x)
    ax.set_ylabel(STATISTIC_LABELS.get(statistic, statistic))
    ax.set_title(title)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def layer_profile(
    frame: pd.DataFrame,
    statistic: str = "activation_std",
    *,
    title: str = "",
    hue: str | None = None,
    logy: bool = True,
) -> plt.Figure:
    """A statistic against layer index (1 = first layer), one line per ``hue`` value.

    Works on :func:`initlab.probe.propagation.signal_propagation` frames (which carry
    ``layer_index``) and on any tidy frame with ``layer`` (indexed in order of
    appearance).
    """
    d = frame[frame["statistic"] == statistic].copy()
    if "layer_index" not in d:
        order = {name: i for i, name in enumerate(_layer_order(d), start=1)}
        d["layer_index"] = d["layer"].map(order)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    hues = list(dict.fromkeys(d[hue])) if hue is not None else None
    sns.lineplot(
        data=d,
        x="layer_index",
        y="value",
        hue=hue,
        hue_order=hues,
        palette=hue_palette(hue, hues or []),
        marker="o",
        markersize=4,
        ax=ax,
        errorbar=None,
    )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("layer index (1 = first hidden layer)")
    ax.set_ylabel(STATISTIC_LABELS.get(statistic, statistic))
    ax.set_title(title)
    if hue is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title=hue)
    fig.tight_layout()
    return fig


def gradient_histograms(
    grads: Mapping[str, np.ndarray], *, title: str = "", bins: int = 60, ncols: int = 4
) -> plt.Figure:
    """One panel per layer: the distribution of its kernel's gradient values (log density)."""
    names = list(grads)
    fig, axes = _panels(len(names), ncols, 3.2)
    for ax, name in zip(axes.flat, names):
        g = np.ravel(grads[name])
        if np.ptp(g) == 0:
            ax.axvline(g[0], color="tab:blue", lw=3)
        else:
            ax.hist(g, bins=bins, density=True, alpha=0.8)
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("kernel gradient value")
        ax.set_ylabel("density (log)")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def source_histogram_grid(
    acts: Mapping[str, Mapping[str, np.ndarray]],
    *,
    title: str = "",
    bins: int = 50,
    xlim: tuple[float, float] = (-1, 1),
    ylim: tuple[float, float] = (0, 4),
) -> plt.Figure:
    """The histograms as source ``002`` draws them: linear density, ``bins`` bars over each layer's
    full range, seen through ``xlim`` × ``ylim``; each panel notes what falls outside the window.

    Rows of initializers, columns of layers (``acts``: init → layer → activations).
    """
    inits = list(acts)
    colors = init_palette(inits)
    layers = list(next(iter(acts.values())))
    fig, axes = plt.subplots(len(inits), len(layers), figsize=(3.1 * len(layers), 2.3 * len(inits)), squeeze=False)
    for r, init in enumerate(inits):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            a = np.ravel(acts[init][layer])
            density, edges, _ = ax.hist(a, bins=bins, density=True, color=colors[init], alpha=0.8)
            shown = density[(edges[:-1] < xlim[1]) & (edges[1:] > xlim[0])]
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            outside = float(np.mean((a < xlim[0]) | (a > xlim[1])))
            note = f"{outside:.1%} beyond x = {xlim[1]:g}"
            if len(shown) and shown.max() > ylim[1]:
                note += f"\nbar cut off at {ylim[1]:g} (reaches {shown.max():.3g})"
            ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=7)
            _label_grid_panel(ax, r, c, len(inits), layer, f"{init}\ndensity")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig
