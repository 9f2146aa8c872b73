"""Figures in one style: seaborn, titled, labelled axes, one colour per initializer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from initlab.stats import summarize

METRIC_LABELS = {
    "loss": "training loss", "accuracy": "training accuracy", "val_loss": "validation loss",
    "val_accuracy": "validation accuracy", "test_loss": "test loss", "test_accuracy": "test accuracy",
}


def use_style() -> None:
    """The notebooks' plotting style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold"})


def learning_curves(df: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "val_accuracy"),
                    title: str = "", hue: str = "init", col: str | None = None) -> plt.Figure:
    """Mean over seeds with a 95% CI band, one panel per metric (or per ``col`` value)."""
    long = df.melt(id_vars=[c for c in df.columns if c not in metrics], value_vars=list(metrics),
                   var_name="metric", value_name="value")
    long["metric"] = long["metric"].map(lambda m: METRIC_LABELS.get(m, m))
    grid = sns.relplot(data=long, x="epoch", y="value", hue=hue, col=col or "metric", kind="line",
                       errorbar=("ci", 95), marker="o", height=3.4, aspect=1.25,
                       facet_kws={"sharey": False})
    grid.set_axis_labels("epoch", METRIC_LABELS.get(metrics[0], metrics[0]) if len(metrics) == 1 else "value")
    for ax in grid.axes.flat:
        ax.set_xticks(sorted(df["epoch"].unique()))
    grid.set_titles("{col_name}")
    grid.figure.suptitle(title, y=1.04)
    return grid.figure


def ci_bars(df: pd.DataFrame, value: str = "test_accuracy", title: str = "",
            order: Sequence[str] | None = None, reference: Mapping[str, float] | None = None) -> plt.Figure:
    """Mean ± 95% CI of ``value`` per initializer, seeds as dots, paper values as crosses."""
    s = summarize(df, value)
    order = list(order or s.sort_values("mean", ascending=False)["init"])
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(order) + 2), 3.6))
    s = s.set_index("init").loc[order]
    ax.errorbar(range(len(order)), s["mean"], yerr=s["half_width"].fillna(0), fmt="o", capsize=5,
                color="black", label="mean ± 95% CI", zorder=3)
    from initlab.stats import final_epochs
    runs = final_epochs(df)
    for i, init in enumerate(order):
        vals = runs.loc[runs["init"] == init, value]
        ax.scatter(np.full(len(vals), i) + 0.12, vals, s=14, alpha=0.6, color="tab:blue",
                   label="one seed" if i == 0 else None)
        if reference and init in reference:
            ax.scatter(i - 0.12, reference[init], marker="x", s=60, color="tab:red",
                       label="paper" if i == 0 else None)
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_xlabel("initializer")
    ax.set_ylabel(METRIC_LABELS.get(value, value))
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def histogram_grid(acts: Mapping[str, Mapping[str, np.ndarray]], title: str = "",
                   xlim: tuple[float, float] | None = (-1, 1), bins: int = 50) -> plt.Figure:
    """Rows of initializers, columns of layers: the density of each layer's activations."""
    inits = list(acts)
    layers = list(next(iter(acts.values())))
    fig, axes = plt.subplots(len(inits), len(layers), figsize=(3.1 * len(layers), 2.3 * len(inits)),
                             squeeze=False, sharex=True)
    for r, init in enumerate(inits):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            a = np.ravel(acts[init][layer])
            rng = xlim if xlim is not None else (float(a.min()), float(a.max()) + 1e-9)
            ax.hist(a, bins=bins, range=rng, density=True, color=sns.color_palette()[r % 10], alpha=0.8)
            zero = float(np.mean(a == 0))
            ax.text(0.97, 0.9, f"{zero:.0%} exactly 0", transform=ax.transAxes, ha="right", fontsize=8)
            ax.set_yscale("log")
            if r == 0:
                ax.set_title(layer)
            if c == 0:
                ax.set_ylabel(f"{init}\ndensity (log)")
            if r == len(inits) - 1:
                ax.set_xlabel("activation value")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def _panels(n: int, ncols: int, width: float) -> tuple[plt.Figure, np.ndarray]:
    """A grid of ``n`` panels, ``ncols`` a row, each ``width`` inches wide."""
    nrows = int(np.ceil(n / ncols))
    return plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows), squeeze=False)


def weight_histograms(samples: Mapping[str, np.ndarray], densities: Mapping[str, tuple[np.ndarray, np.ndarray]],
                      title: str = "", ncols: int = 4) -> plt.Figure:
    """One panel per initializer: the sampled kernel's histogram against its theoretical density."""
    names = list(samples)
    fig, axes = _panels(len(names), ncols, 3.3)
    for ax, name in zip(axes.flat, names):
        w = np.ravel(samples[name])
        if np.ptp(w) == 0:
            ax.axvline(w[0], color="tab:blue", lw=3, label="sampled")
            ax.set_xlim(w[0] - 1, w[0] + 1)
        else:
            ax.hist(w, bins=80, density=True, alpha=0.6, label="sampled")
        if name in densities:
            x, p = densities[name]
            ax.plot(x, p, color="tab:red", lw=1.5, label="theory")
        ax.set_title(name)
        ax.set_xlabel("weight value")
        ax.set_ylabel("density")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize="small")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def symmetry_curves(sym: pd.DataFrame, layer: str = "hidden_1", title: str = "") -> plt.Figure:
    """Mean pairwise distance between a layer's units, and its number of distinct units, per epoch."""
    d = sym[sym["layer"] == layer]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.lineplot(data=d, x="epoch", y="unit_spread", hue="init", marker="o", ax=axes[0], errorbar=None,
                 legend=False)
    axes[0].set_yscale("symlog", linthresh=1e-7)
    axes[0].set_ylim(bottom=0)
    axes[0].set_ylabel("mean pairwise distance\nbetween units' weights")
    axes[0].set_title(f"{layer}: how different the units are")
    sns.lineplot(data=d, x="epoch", y="distinct_units", hue="init", marker="o", ax=axes[1], errorbar=None)
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), title="init")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("distinct units")
    axes[1].set_title(f"{layer}: units with different weights")
    for ax in axes:
        ax.set_xlabel("epoch (0 = initialization)")
        ax.set_xticks(sorted(d["epoch"].unique()))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


STATISTIC_LABELS = {
    "activation_mean": "activation mean", "activation_std": "activation std",
    "frac_saturated": "fraction saturated", "frac_zero": "fraction exactly 0", "kernel_std": "kernel std",
    "kernel_grad_norm": "kernel gradient norm", "bias_grad_norm": "bias gradient norm",
    "activation_grad_norm": "gradient norm w.r.t. the layer's output",
    "update_ratio": "log10(std(update) / std(weight))",
}


def _layer_order(frame: pd.DataFrame) -> list[str]:
    """Layer names in the order they first appear (input to output)."""
    return list(dict.fromkeys(frame["layer"]))


def layer_stat_curves(frame: pd.DataFrame, statistic: str, title: str = "", x: str = "step",
                      logy: bool = False) -> plt.Figure:
    """One tracked statistic (a :class:`initlab.tracking.LayerStatsTracker` frame) against ``x``, one line per layer.

    The update ratio gets a dashed reference line at -3.
    """
    d = frame[frame["statistic"] == statistic]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.lineplot(data=d, x=x, y="value", hue="layer", hue_order=_layer_order(d), marker="o", ax=ax,
                 errorbar=None)
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


def layer_profile(frame: pd.DataFrame, statistic: str = "activation_std", title: str = "",
                  hue: str | None = None, logy: bool = True) -> plt.Figure:
    """A statistic against layer index (1 = first layer), one line per ``hue`` value.

    Works on :func:`initlab.propagation.signal_propagation` frames (which carry
    ``layer_index``) and on any tidy frame with ``layer`` (indexed in order of
    appearance).
    """
    d = frame[frame["statistic"] == statistic].copy()
    if "layer_index" not in d:
        order = {name: i for i, name in enumerate(_layer_order(d), start=1)}
        d["layer_index"] = d["layer"].map(order)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.lineplot(data=d, x="layer_index", y="value", hue=hue, marker="o", markersize=4, ax=ax, errorbar=None)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("layer index (1 = first hidden layer)")
    ax.set_ylabel(STATISTIC_LABELS.get(statistic, statistic))
    ax.set_title(title)
    if hue is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title=hue)
    fig.tight_layout()
    return fig


def gradient_histograms(grads: Mapping[str, np.ndarray], title: str = "", bins: int = 60,
                        ncols: int = 4) -> plt.Figure:
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
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def propagation_profiles(frame: pd.DataFrame, statistic: str = "activation_std", title: str = "",
                         col: str = "activation", col_wrap: int = 2) -> plt.Figure:
    """A propagation statistic against layer index, one panel per ``col`` value, one line per init (log y).

    Takes :func:`initlab.propagation.signal_propagation` frames (several concatenated).
    Values a log axis cannot show (0 after an underflow, inf or NaN after an
    overflow) are left out, so a line that stops early has vanished or blown up.
    """
    d = frame[(frame["statistic"] == statistic) & np.isfinite(frame["value"]) & (frame["value"] > 0)]
    grid = sns.relplot(data=d, x="layer_index", y="value", hue="init", hue_order=list(dict.fromkeys(frame["init"])),
                       col=col, col_order=list(dict.fromkeys(frame[col])), col_wrap=col_wrap, kind="line",
                       height=3.2, aspect=1.35, facet_kws={"sharey": False})
    grid.set(yscale="log")
    short = {"activation_grad_norm": "gradient norm at the output"}  # the long label overlaps in a grid
    grid.set_axis_labels("layer index (1 = first hidden layer)",
                         short.get(statistic, STATISTIC_LABELS.get(statistic, statistic)))
    grid.set_titles("{col_name}")
    grid.figure.suptitle(title, y=1.03)
    return grid.figure


def accuracy_heatmap(table: pd.DataFrame, title: str = "", value: str = "mean") -> plt.Figure:
    """Mean test accuracy (%) of a :func:`initlab.depth.trainability` table: inits by (activation, depth).

    Cells of set-ups with a diverged run read ``div``.
    """
    t = table.assign(pct=100 * table[value])
    wide = t.pivot_table(index="init", columns=["activation", "depth"], values="pct", dropna=False, sort=False)
    wide = wide.reindex(list(dict.fromkeys(table["init"])))
    div = t.pivot_table(index="init", columns=["activation", "depth"], values="diverged", sort=False).reindex(wide.index)
    div = div.reindex(columns=wide.columns)
    labels = np.where(div.to_numpy() > 0, "div", np.vectorize(lambda v: "" if np.isnan(v) else f"{v:.0f}")(
        wide.to_numpy(dtype=float)))
    fig, ax = plt.subplots(figsize=(1.0 * wide.shape[1] + 3, 0.45 * wide.shape[0] + 1.8))
    sns.heatmap(wide, annot=labels, fmt="", vmin=0, vmax=100, cmap="viridis", ax=ax,
                cbar_kws={"label": "test accuracy (%)"})
    ax.set_xlabel("activation, depth")
    ax.set_ylabel("initializer")
    ax.set_xticklabels([f"{a}, {d}" for a, d in wide.columns], rotation=45, ha="right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def ci_points(table: pd.DataFrame, x: str, hue: str, col: str, title: str = "",
              x_order: Sequence | None = None, ylabel: str = "test accuracy (%)",
              ylim: tuple[float, float] | None = (-2, 102)) -> plt.Figure:
    """Mean ± 95% CI (a table's ``mean`` and ``half_width``, shown as percent), one panel per ``col`` value.

    ``x`` is categorical (evenly spaced in ``x_order``); one series per ``hue`` value,
    nudged sideways so their intervals do not overlap. ``ylim`` (default: the
    percent range) cuts intervals that reach past what an accuracy can be.
    """
    cols = list(dict.fromkeys(table[col]))
    hues = list(dict.fromkeys(table[hue]))
    xs = list(x_order) if x_order is not None else list(dict.fromkeys(table[x]))
    fig, axes = plt.subplots(1, len(cols), figsize=(3.6 * len(cols) + 1.5, 3.6), squeeze=False, sharey=True)
    width = 0.6 / max(len(hues), 1)
    for ax, c in zip(axes[0], cols):
        for j, h in enumerate(hues):
            d = table[(table[col] == c) & (table[hue] == h)].set_index(x).reindex(xs)
            pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
            ax.errorbar(pos, 100 * d["mean"], yerr=100 * d["half_width"].fillna(0), fmt="o", ms=4, capsize=3,
                        color=sns.color_palette()[j % 10], label=str(h))
        ax.set_xticks(range(len(xs)), [str(v) for v in xs], rotation=30 if x != "depth" else 0,
                      ha="right" if x != "depth" else "center")
        ax.set_xlabel(x)
        ax.set_title(f"{col} {c}" if col == "depth" else str(c))
    axes[0, 0].set_ylabel(ylabel)
    if ylim is not None:
        axes[0, 0].set_ylim(*ylim)
    axes[0, -1].legend(title=hue, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def diagnostic_scatter(merged: pd.DataFrame, title: str = "", floor: float = 1e-12) -> plt.Figure:
    """Test accuracy against two diagnostics at initialization, one point per (depth, activation, init).

    ``merged`` joins a :func:`initlab.depth.trainability` table (``mean``) with
    :func:`initlab.depth.init_diagnostics` (``last_std``, ``grad_ratio``). Values a
    log axis cannot show are pinned to its edges: 0 (and a ratio of two zeros) at
    ``floor``, an overflow (infinite value or loss) at ``1/floor``.
    """
    panels = [("last_std", "activation std of the last hidden layer"),
              ("grad_ratio", "kernel gradient norm, first / last hidden layer")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, (column, label) in zip(axes, panels):
        v = merged[column].astype(float)
        overflow = ~np.isfinite(merged["loss"].astype(float)) | np.isposinf(v)
        v = v.where(~overflow, 1 / floor).fillna(floor)
        d = merged.assign(x=v.clip(floor, 1 / floor), accuracy=100 * merged["mean"])
        sns.scatterplot(data=d, x="x", y="accuracy", hue="activation", style="depth", s=55, ax=ax,
                        legend=ax is axes[-1])
        ax.set_xscale("log")
        ax.set_xlabel(f"{label}\n(0 at {floor:.0e}, overflow at {1 / floor:.0e})")
        ax.set_ylabel("test accuracy (%)")
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def gradient_norm_profile(grads: pd.DataFrame, title: str = "", value: str = "kernel_grad_norm") -> plt.Figure:
    """Gradient norm per hidden layer, one line per init, one panel per ``stage`` (log y).

    Takes :func:`initlab.diagnostics.gradients_before_after`'s frame. Exact zeros
    (a zero init's hidden kernels) cannot sit on a log axis and are left out; the
    panel's title says which inits that hides.
    """
    stages = list(dict.fromkeys(grads["stage"]))
    inits = list(dict.fromkeys(grads["init"]))
    layers = list(dict.fromkeys(grads["layer"]))
    fig, axes = plt.subplots(1, len(stages), figsize=(5.2 * len(stages) + 1.5, 3.8), squeeze=False, sharey=True)
    for ax, stage in zip(axes[0], stages):
        d = grads[grads["stage"] == stage]
        shown = d[d[value] > 0]
        sns.lineplot(data=shown, x="layer", y=value, hue="init", hue_order=inits, marker="o", ax=ax,
                     errorbar=None, legend=ax is axes[0, -1])
        hidden = [i for i in inits if i not in set(shown["init"])]
        ax.set_xticks(range(len(layers)), layers)
        ax.set_yscale("log")
        ax.set_xlabel("hidden layer")
        ax.set_ylabel(STATISTIC_LABELS.get(value, value))
        ax.set_title(stage + (f"\n(all zero, not drawn: {', '.join(hidden)})" if hidden else ""))
    sns.move_legend(axes[0, -1], "upper left", bbox_to_anchor=(1.02, 1), title="init")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig
