"""Figures in one style: seaborn, titled, labelled axes, one colour per initializer.

Every initializer has the same colour in every figure of every notebook
(:func:`init_color`), and so has every activation (:func:`activation_color`).
Legends sit to the right of the axes, never over the data.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initlab.stats import summarize

METRIC_LABELS = {
    "loss": "training loss", "accuracy": "training accuracy", "val_loss": "validation loss",
    "val_accuracy": "validation accuracy", "test_loss": "test loss", "test_accuracy": "test accuracy",
}

# One colour per initializer, taken from seaborn's colorblind, dark, tab20 and Dark2
# palettes (no colour too light to read on white, CIELAB lightness <= 82) and assigned
# so that any two differ by a CIE76 distance of at least 22: every registered name
# (initlab.nets.initializers.init_names()) plus the variants the studies add.
INIT_COLORS: dict[str, str] = {
    "zeros": "#3c3c3c", "ones": "#949494", "constant": "#ca9161",
    "glorot_uniform": "#0173b2", "glorot_normal": "#56b4e9",
    "he_normal": "#d55e00", "he_uniform": "#de8f05",
    "lecun_normal": "#029e73", "lecun_uniform": "#66a61e",
    "random_normal": "#cc78bc", "random_uniform": "#591e71",
    "random_normal_001": "#a23582", "random_normal_1": "#001c7f",
    "orthogonal": "#8c0800", "orthogonal_gain_sqrt2": "#ff9896", "identity": "#17becf", "lsuv": "#006374",
    "truncated_normal": "#c5b0d5", "variance_scaling": "#7570b3", "sparse": "#8c564b",
    "randn_001": "#592f0d", "randn_lecun": "#bcbd22", "randn_he": "#e7298a",
}
# The Okabe-Ito colours (grey for the yellow, too light for lines), one per activation.
ACTIVATION_COLORS: dict[str, str] = {
    "relu": "#0072b2", "tanh": "#e69f00", "selu": "#009e73", "linear": "#000000",
    "sigmoid": "#cc79a7", "elu": "#56b4e9", "gelu": "#d55e00", "leaky_relu": "#999999",
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


def _grid_legend_right(grid: sns.FacetGrid) -> None:
    """Anchor a FacetGrid's figure legend just right of its rightmost panel (seaborn's own place can touch it)."""
    if grid.legend is None:
        return
    right = max(ax.get_position().x1 for ax in grid.axes.flat)
    sns.move_legend(grid, "center left", bbox_to_anchor=(right + 0.02, 0.5), frameon=False)


ACCURACY_MARGIN = 0.01  # how far past [0, 1] an accuracy axis may reach (so a marker at 1.0 stays whole)


def _clip_accuracy(ax: plt.Axes) -> None:
    """Keep an accuracy axis (autoscaled to the data, so a narrow band stays zoomed) inside [0, 1]."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -ACCURACY_MARGIN), min(high, 1 + ACCURACY_MARGIN))


def use_style() -> None:
    """The notebooks' plotting style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold"})


def learning_curves(df: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "val_accuracy"),
                    title: str = "", hue: str = "init", col: str | None = None) -> plt.Figure:
    """Mean over seeds with a 95% CI band, one panel per metric (or per ``col`` value).

    Lines are coloured by ``hue`` (the fixed palette for ``init`` or ``activation``);
    with ``col`` and several metrics, the metrics differ by line style. Accuracy
    panels zoom on the data but never reach past [0, 1]; the legend is right of the panels.
    """
    long = df.melt(id_vars=[c for c in df.columns if c not in metrics], value_vars=list(metrics),
                   var_name="metric", value_name="value")
    long["metric"] = long["metric"].map(lambda m: METRIC_LABELS.get(m, m))
    hues = list(dict.fromkeys(df[hue])) if hue in df else None
    grid = sns.relplot(data=long, x="epoch", y="value", hue=hue, hue_order=hues, palette=hue_palette(hue, hues or []),
                       col=col or "metric", style="metric" if col and len(metrics) > 1 else None, kind="line",
                       errorbar=("ci", 95), marker="o", height=3.4, aspect=1.25, facet_kws={"sharey": False})
    for i, ax in enumerate(grid.axes.flat):  # y-scales differ: every panel names its own
        shown = [grid.col_names[i]] if not col else list(metrics)  # the metrics drawn in this panel
        ax.set_xlabel("epoch")
        ax.set_ylabel(METRIC_LABELS.get(shown[0], shown[0]) if len(shown) == 1 else "value")
        ax.set_xticks(sorted(df["epoch"].unique()))
        if all("accuracy" in str(m) for m in shown):
            _clip_accuracy(ax)
    grid.set_titles("{col_name}")
    grid.tight_layout()  # room for the y-labels added above (seaborn keeps the legend's margin)
    grid.figure.suptitle(title, y=1.04)
    _grid_legend_right(grid)
    return grid.figure


def ci_bars(df: pd.DataFrame, value: str = "test_accuracy", title: str = "",
            order: Sequence[str] | None = None, reference: Mapping[str, float] | None = None) -> plt.Figure:
    """Mean ± 95% CI of ``value`` per initializer (black), seeds as dots in the initializer's colour,
    paper values as black crosses; the legend right of the axes."""
    from initlab.stats import final_epochs

    s = summarize(df, value)
    order = list(order or s.sort_values("mean", ascending=False)["init"])
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(order) + 2), 3.6))
    s = s.set_index("init").loc[order]
    ax.errorbar(range(len(order)), s["mean"], yerr=s["half_width"].fillna(0), fmt="o", capsize=5,
                color="black", zorder=3)
    runs = final_epochs(df)
    colors = init_palette(order)
    for i, init in enumerate(order):
        vals = runs.loc[runs["init"] == init, value]
        ax.scatter(np.full(len(vals), i) + 0.12, vals, s=16, alpha=0.75, color=colors[init])
        if reference and init in reference:
            ax.scatter(i - 0.12, reference[init], marker="x", s=60, color="black", zorder=4)
    handles = [Line2D([], [], color="black", marker="o", label="mean ± 95% CI"),
               Line2D([], [], color="grey", marker="o", ls="", alpha=0.75, label="one seed (init's colour)")]
    if reference and any(init in reference for init in order):
        handles.append(Line2D([], [], color="black", marker="x", ls="", label="paper (one run)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_xlabel("initializer")
    ax.set_ylabel(METRIC_LABELS.get(value, value))
    if "accuracy" in value:
        _clip_accuracy(ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _label_grid_panel(ax: plt.Axes, row: int, col: int, n_rows: int, layer: str, ylabel: str) -> None:
    """A layer × initializer histogram panel: the layer on the top row, the init on the left, x at the bottom."""
    if row == 0:
        ax.set_title(layer)
    if col == 0:
        ax.set_ylabel(ylabel)
    if row == n_rows - 1:
        ax.set_xlabel("activation value")


def histogram_grid(acts: Mapping[str, Mapping[str, np.ndarray]], title: str = "",
                   xlim: tuple[float, float] | None = (-1, 1), bins: int = 50) -> plt.Figure:
    """Rows of initializers (each in its colour), columns of layers: the density of each layer's activations."""
    inits = list(acts)
    colors = init_palette(inits)
    layers = list(next(iter(acts.values())))
    fig, axes = plt.subplots(len(inits), len(layers), figsize=(3.1 * len(layers), 2.3 * len(inits)),
                             squeeze=False, sharex=True)
    for r, init in enumerate(inits):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            a = np.ravel(acts[init][layer])
            rng = xlim if xlim is not None else (float(a.min()), float(a.max()) + 1e-9)
            ax.hist(a, bins=bins, range=rng, density=True, color=colors[init], alpha=0.8, histtype="stepfilled")
            zero = float(np.mean(a == 0))
            ax.text(0.97, 0.9, f"{zero:.0%} exactly 0", transform=ax.transAxes, ha="right", fontsize=8)
            ax.set_yscale("log")
            _label_grid_panel(ax, r, c, len(inits), layer, f"{init}\ndensity (log)")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def _panels(n: int, ncols: int, width: float) -> tuple[plt.Figure, np.ndarray]:
    """A grid of ``n`` panels, ``ncols`` a row, each ``width`` inches wide."""
    nrows = int(np.ceil(n / ncols))
    return plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows), squeeze=False)


def weight_histograms(samples: Mapping[str, np.ndarray], densities: Mapping[str, tuple[np.ndarray, np.ndarray]],
                      title: str = "", ncols: int = 4) -> plt.Figure:
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
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    handles = [Patch(color="grey", alpha=0.7, label="sampled (init's colour)"),
               Line2D([], [], color="black", lw=1.5, label="theory")]
    first_row = [ax for ax in axes[0] if ax.axison]  # full unless there are fewer panels than columns
    fig.legend(handles=handles, loc="upper left", fontsize="small",
               bbox_to_anchor=(first_row[-1].get_position().x1 + 0.01, first_row[-1].get_position().y1))
    return fig


def symmetry_curves(sym: pd.DataFrame, layer: str = "hidden_1", title: str = "") -> plt.Figure:
    """Mean pairwise distance between a layer's units, and its number of distinct units, per epoch."""
    d = sym[sym["layer"] == layer]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    palette = init_palette(list(dict.fromkeys(d["init"])))
    sns.lineplot(data=d, x="epoch", y="unit_spread", hue="init", hue_order=list(palette), palette=palette,
                 marker="o", ax=axes[0], errorbar=None, legend=False)
    axes[0].set_yscale("symlog", linthresh=1e-7)
    axes[0].set_ylim(bottom=0)
    axes[0].set_ylabel("mean pairwise distance\nbetween units' weights")
    axes[0].set_title(f"{layer}: how different the units are")
    sns.lineplot(data=d, x="epoch", y="distinct_units", hue="init", hue_order=list(palette), palette=palette,
                 marker="o", ax=axes[1], errorbar=None)
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
    """One tracked statistic (a :class:`initlab.probe.tracking.LayerStatsTracker` frame) against ``x``, one line per layer.

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
    sns.lineplot(data=d, x="layer_index", y="value", hue=hue, hue_order=hues, palette=hue_palette(hue, hues or []),
                 marker="o", markersize=4, ax=ax, errorbar=None)
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


def _power(v: float) -> str:
    """``v`` for a label: ``$10^{k}$`` for a power of ten, else scientific notation."""
    k = np.log10(v)
    return f"$10^{{{int(round(k))}}}$" if np.isclose(k, round(k)) else f"{v:.0e}"


def _band_exits(inside: np.ndarray) -> list[int]:
    """Indices that mark a line's points outside its band: for each run of them, the one next to a drawn
    point (the run's first after an inside stretch, its last before one), or the first if none is inside."""
    marks: set[int] = set()
    outside = np.flatnonzero(~np.asarray(inside, dtype=bool))
    if outside.size == len(inside):
        return [0] if len(inside) else []
    for run in np.split(outside, np.flatnonzero(np.diff(outside) > 1) + 1):
        if run.size == 0:
            continue
        if run[0] > 0:
            marks.add(int(run[0]))
        if run[-1] < len(inside) - 1:
            marks.add(int(run[-1]))
    return sorted(marks)


def propagation_profiles(frame: pd.DataFrame, statistic: str = "activation_std", title: str = "",
                         col: str = "activation", col_wrap: int = 2,
                         band: tuple[float, float] = (1e-12, 1e12)) -> plt.Figure:
    """A propagation statistic against layer index, one panel per ``col`` value, one line per init (log y).

    Takes :func:`initlab.probe.propagation.signal_propagation` frames (several concatenated;
    several seeds are averaged). The y-axis shows at most ``band``, zoomed on each
    panel's values: a line is drawn where its values lie inside the band (a lone
    such layer as a dot), and a triangle on the band's edge marks where it leaves
    the band (▲ above, or overflow to inf/NaN; ▼ below, or underflow to 0): at the
    first layer outside, or the last one outside before the line enters the band
    (as a gradient read from the output back does), or layer 1 if no value is inside.
    """
    low, high = band
    d = frame[frame["statistic"] == statistic]
    cols = list(dict.fromkeys(frame[col]))
    palette = init_palette(list(dict.fromkeys(frame["init"])))
    ncols = max(1, min(col_wrap, len(cols)))
    nrows = int(np.ceil(len(cols) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.2 * nrows), squeeze=False)
    short = {"activation_grad_norm": "gradient norm at the output"}  # the long label overlaps in a grid
    ylabel = short.get(statistic, STATISTIC_LABELS.get(statistic, statistic))
    exits = set()
    for ax, c in zip(axes.flat, cols):
        panel = d[d[col] == c]
        inside_values, edges = [], set()
        for init, color in palette.items():
            line = panel[panel["init"] == init].groupby("layer_index")["value"].mean().sort_index()
            if line.empty:
                continue
            x, v = line.index.to_numpy(), line.to_numpy(dtype=float)
            inside = np.isfinite(v) & (v >= low) & (v <= high)
            ax.plot(x, np.where(inside, v, np.nan), color=color, lw=1.6)
            lone = inside & ~np.r_[False, inside[:-1]] & ~np.r_[inside[1:], False]
            ax.plot(x[lone], v[lone], "o", ms=3, color=color)
            inside_values.extend(v[inside])
            for i in _band_exits(inside):
                edge = low if v[i] < low else high  # NaN compares False: counted as an overflow
                ax.plot(x[i], edge, marker="v" if edge == low else "^", ms=8, color=color, clip_on=False, zorder=4)
                edges.add(edge)
        values = np.asarray(inside_values, dtype=float)
        bottom = low if low in edges or not values.size else max(low, values.min() / 3)
        top = high if high in edges or not values.size else min(high, values.max() * 3)
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_title(str(c))
        ax.set_xlabel("layer index (1 = first hidden layer)")
        ax.set_ylabel(ylabel)
        exits |= edges
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    handles = [Line2D([], [], color=color, lw=1.6, label=init) for init, color in palette.items()]
    if high in exits:
        handles.append(Line2D([], [], color="grey", marker="^", ls="",
                              label=f"leaves the plot: > {_power(high)}, inf or NaN"))
    if low in exits:
        handles.append(Line2D([], [], color="grey", marker="v", ls="", label=f"leaves the plot: < {_power(low)} or 0"))
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    fig.legend(handles=handles, title="init", loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize="small")
    return fig


def _heatmap_label(row: Mapping, value: str) -> str:
    """A heatmap cell's text for one row of a trainability table (see :func:`accuracy_heatmap`)."""
    diverged = int(row.get("diverged", 0) or 0)
    status = row.get("status")
    mean = float(row[value])
    if status == "diverged" or (status is None and diverged > 0):
        n = row.get("n")
        finished = int(n) if n is not None and np.isfinite(n) else 0
        return f"div. {diverged}/{diverged + finished}" if diverged and finished and np.isfinite(mean) else "diverged"
    return "NaN" if not np.isfinite(mean) else f"{mean * 100:.0f}"


def accuracy_heatmap(table: pd.DataFrame, title: str = "", value: str = "mean") -> plt.Figure:
    """Mean test accuracy (%) of a :func:`initlab.probe.depth.trainability` table: inits by (activation, depth).

    Each cell reads its mean in percent, except: a set-up whose ``status`` is
    ``"diverged"`` (or, without a ``status`` column, with ``diverged`` runs) reads
    ``diverged`` when no run finished and ``div. k/N`` when k of N runs diverged (the
    colour is then the mean of the others); a NaN mean reads ``NaN``; a set-up
    missing from the table reads ``n/a``. Cells without a mean are grey.
    """
    keys = ["init", "activation", "depth"]
    inits = list(dict.fromkeys(table["init"]))
    columns = list(dict.fromkeys(table[["activation", "depth"]].itertuples(index=False, name=None)))
    rows = {tuple(r[k] for k in keys): r for r in table.to_dict("records")}
    wide = pd.DataFrame(np.nan, index=pd.Index(inits, name="init"),
                        columns=pd.MultiIndex.from_tuples(columns, names=["activation", "depth"]))
    labels = np.full(wide.shape, "n/a", dtype=object)
    for i, init in enumerate(inits):
        for j, (activation, depth) in enumerate(columns):
            row = rows.get((init, activation, depth))
            if row is not None:
                wide.iloc[i, j] = 100 * float(row[value])
                labels[i, j] = _heatmap_label(row, value)
    fig, ax = plt.subplots(figsize=(1.0 * wide.shape[1] + 3, 0.45 * wide.shape[0] + 1.8))
    cmap = plt.get_cmap("viridis")
    sns.heatmap(wide, annot=False, vmin=0, vmax=100, cmap=cmap, ax=ax, cbar_kws={"label": "test accuracy (%)"})
    ax.set_facecolor("lightgrey")  # cells without a mean
    for (i, j), label in np.ndenumerate(labels):
        v = wide.iloc[i, j]
        rgb = np.asarray(cmap(v / 100)[:3]) if np.isfinite(v) else np.array([0.83, 0.83, 0.83])
        dark = float(rgb @ [0.2126, 0.7152, 0.0722]) < 0.45  # on dark cells, white text
        ax.text(j + 0.5, i + 0.5, label, ha="center", va="center", fontsize=8 if len(label) > 4 else 10,
                color="white" if dark else "black")
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
    nudged sideways so their intervals do not overlap, coloured by the fixed
    palette when ``hue`` is ``init`` or ``activation``. ``ylim`` (default: the
    percent range) cuts intervals that reach past what an accuracy can be.
    """
    cols = list(dict.fromkeys(table[col]))
    hues = list(dict.fromkeys(table[hue]))
    xs = list(x_order) if x_order is not None else list(dict.fromkeys(table[x]))
    fig, axes = plt.subplots(1, len(cols), figsize=(3.6 * len(cols) + 1.5, 3.6), squeeze=False, sharey=True)
    width = 0.6 / max(len(hues), 1)
    palette = hue_palette(hue, hues) or dict(zip(hues, sns.color_palette(n_colors=len(hues))))
    for ax, c in zip(axes[0], cols):
        for j, h in enumerate(hues):
            d = table[(table[col] == c) & (table[hue] == h)].set_index(x).reindex(xs)
            pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
            ax.errorbar(pos, 100 * d["mean"], yerr=100 * d["half_width"].fillna(0), fmt="o", ms=4, capsize=3,
                        color=palette[h], label=str(h))
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

    ``merged`` joins a :func:`initlab.probe.depth.trainability` table (``mean``) with
    :func:`initlab.probe.depth.init_diagnostics` (``last_std``, ``grad_ratio``). Values a
    log axis cannot show are pinned to its edges: 0 (and a ratio of two zeros) at
    ``floor``, an overflow (infinite value or loss) at ``1/floor``.
    """
    panels = [("last_std", "activation std of the last hidden layer"),
              ("grad_ratio", "kernel gradient norm, first / last hidden layer")]
    palette = activation_palette(list(dict.fromkeys(merged["activation"])))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, (column, label) in zip(axes, panels):
        v = merged[column].astype(float)
        overflow = ~np.isfinite(merged["loss"].astype(float)) | np.isposinf(v)
        v = v.where(~overflow, 1 / floor).fillna(floor)
        d = merged.assign(x=v.clip(floor, 1 / floor), accuracy=100 * merged["mean"])
        sns.scatterplot(data=d, x="x", y="accuracy", hue="activation", hue_order=list(palette), palette=palette,
                        style="depth", s=55, ax=ax, legend=ax is axes[-1])
        ax.set_xscale("log")
        ax.set_xlabel(f"{label}\n(0 at {floor:.0e}, overflow at {1 / floor:.0e})")
        ax.set_ylabel("test accuracy (%)")
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def gradient_norm_profile(grads: pd.DataFrame, title: str = "", value: str = "kernel_grad_norm") -> plt.Figure:
    """Gradient norm per hidden layer, one line per init, one panel per ``stage`` (log y).

    Takes :func:`initlab.probe.runs.gradients_before_after`'s frame. Exact zeros
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
        sns.lineplot(data=shown, x="layer", y=value, hue="init", hue_order=inits, palette=init_palette(inits),
                     marker="o", ax=ax, errorbar=None, legend=ax is axes[0, -1])
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


def source_histogram_grid(acts: Mapping[str, Mapping[str, np.ndarray]], title: str = "", bins: int = 50,
                          xlim: tuple[float, float] = (-1, 1), ylim: tuple[float, float] = (0, 4)) -> plt.Figure:
    """The histograms as source ``002`` draws them: linear density, ``bins`` bars over each layer's
    full range, seen through ``xlim`` × ``ylim``; each panel notes what falls outside the window.

    Rows of initializers, columns of layers (``acts``: init → layer → activations).
    """
    inits = list(acts)
    colors = init_palette(inits)
    layers = list(next(iter(acts.values())))
    fig, axes = plt.subplots(len(inits), len(layers), figsize=(3.1 * len(layers), 2.3 * len(inits)),
                             squeeze=False)
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


def sweep_lines(table: pd.DataFrame, x: str, prefix: str, title: str = "", ylabel: str | None = None) -> plt.Figure:
    """A sweep's recorded ``prefix/<init>`` values against the swept parameter ``x``, one line per initializer.

    ``table`` is :func:`initlab.pipeline.sweep.run`'s (or ``load``'s); where other parameters were swept
    too, each line is their mean with a 95% CI band. ``x`` is drawn on a log scale when its
    values are positive and span more than a factor of 10.
    """
    rows = table[table["name"].fillna("").str.startswith(prefix + "/")].copy()
    if rows.empty:
        raise ValueError(f"the sweep recorded no values named {prefix}/...")
    rows["init"] = rows["name"].str[len(prefix) + 1:]
    rows[x] = pd.to_numeric(rows[x])
    order = list(dict.fromkeys(rows["init"]))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sns.lineplot(data=rows, x=x, y="number", hue="init", hue_order=order, palette=init_palette(order),
                 marker="o", errorbar=("ci", 95), ax=ax)
    values = rows[x].to_numpy(dtype=float)
    if np.all(values > 0) and values.max() / values.min() > 10:
        ax.set_xscale("log")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(ylabel or prefix.replace("_", " "))
    ax.set_title(title)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title="init")
    return fig


# -- optimizers and learning rates (notebook 07)

RATE_NUDGE = 0.04  # decades between neighbouring initializers' points at one learning rate
RATE_MARGIN = 0.2  # decades of x-axis beyond a panel's lowest and highest rate


def rate_curves(table: pd.DataFrame, best: pd.DataFrame | None = None, title: str = "",
                floor: float | None = None, ylabel: str = "test accuracy (%)") -> plt.Figure:
    """Accuracy against learning rate (log x), one panel per optimizer setting, one line per initializer.

    ``table`` holds one model's rows of :func:`initlab.findings.optimizers.rate_table`
    (``optimizer_setting, init, learning_rate, mean, half_width, runs, diverged``); each point is
    the mean ± 95% CI (as percent), nudged sideways per initializer so intervals do not overlap.
    ``best`` (:func:`~initlab.findings.optimizers.best_rates`) rings each initializer's chosen rate.
    A rate where every run diverged is an ✕ on the bottom edge; with ``floor`` (percent), the axis
    starts there and a mean below it is a ▼ on that edge (unless no mean reaches the floor: then the
    axis spans the data). The y-axis never reaches past 100%.
    """
    settings = list(dict.fromkeys(table["optimizer_setting"]))
    inits = list(dict.fromkeys(table["init"]))
    palette = init_palette(inits)
    fig, axes = plt.subplots(1, len(settings), figsize=(3.9 * len(settings) + 1.6, 3.7), squeeze=False, sharey=True)
    axes = axes[0]
    highest = 100 * (table["mean"] + table["half_width"].fillna(0)).max()
    lowest = 100 * (table["mean"] - table["half_width"].fillna(0)).min()
    floor = floor if floor is not None and (100 * table["mean"] >= floor).any() else None  # else nothing to show
    bottom = floor if floor is not None else (max(lowest - 2, -1) if np.isfinite(lowest) else -1)
    top = min(101.0, highest + 1) if np.isfinite(highest) else 101.0
    marks = set()
    for ax, setting in zip(axes, settings):
        panel = table[table["optimizer_setting"] == setting]
        for j, init in enumerate(inits):
            d = panel[panel["init"] == init].sort_values("learning_rate")
            if d.empty:
                continue
            x = d["learning_rate"].to_numpy(float) * 10 ** ((j - (len(inits) - 1) / 2) * RATE_NUDGE)
            y, h = 100 * d["mean"].to_numpy(float), 100 * d["half_width"].fillna(0).to_numpy(float)
            seen = np.isfinite(y) & (y >= bottom)
            ax.plot(x, np.where(seen, y, np.nan), color=palette[init], lw=1.4, label=init)
            ax.errorbar(x[seen], y[seen], yerr=h[seen], fmt="o", ms=3.5, capsize=2.5, color=palette[init])
            below = np.isfinite(y) & (y < bottom)
            gone = (d["diverged"] == d["runs"]).to_numpy()
            for key, where, style in (("below", below, dict(marker="v")), ("diverged", gone, dict(marker="x", mew=2))):
                if where.any():  # on the bottom edge, unclipped (an empty unclipped line upsets the layout)
                    ax.plot(x[where], np.full(where.sum(), bottom), ls="", ms=7, color=palette[init], clip_on=False,
                            zorder=4, **style)
                    marks.add(key)
            if best is not None:
                b = best[(best["optimizer_setting"] == setting) & (best["init"] == init)]
                for _, r in b.iterrows():
                    k = int(np.argmin(np.abs(d["learning_rate"].to_numpy(float) - r["best_rate"])))
                    if seen[k]:
                        ax.plot(x[k], y[k], "o", ms=11, mfc="none", mec=palette[init], mew=1.6, zorder=5)
                        marks.add("best")
        ax.set_xscale("log")
        rates = sorted(panel["learning_rate"].unique())
        ax.set_xticks(rates, [f"{r:g}" for r in rates], rotation=30)  # the grid's rates, no minor labels
        ax.minorticks_off()
        ax.set_xlim(rates[0] / 10 ** RATE_MARGIN, rates[-1] * 10 ** RATE_MARGIN)
        ax.set_xlabel("learning rate")
        ax.set_title(str(setting))
    axes[0].set_ylabel(ylabel)
    axes[0].set_ylim(bottom, top)
    handles = [Line2D([], [], color=palette[i], marker="o", ms=3.5, lw=1.4, label=i) for i in inits]
    words = {"best": ("o", "best rate (validation)", dict(mfc="none", ms=10)),
             "below": ("v", f"mean below {bottom:g}%", {}), "diverged": ("x", "every run diverged", dict(mew=2))}
    for key, (marker, label, kw) in words.items():
        if key in marks:
            handles.append(Line2D([], [], color="grey", marker=marker, ls="", label=label, **kw))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    fig.legend(handles=handles, title="init", loc="upper left", fontsize="small",
               bbox_to_anchor=(axes[-1].get_position().x1 + 0.01, axes[-1].get_position().y1))
    return fig


# -- criticality and dynamical isometry (notebook 08)


def _log2_chi(values: np.ndarray, limit: float = 1.5) -> np.ndarray:
    """log₂ χ₁ clipped to ±``limit``; a non-finite χ₁ (no finite q*) becomes NaN (drawn grey)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.log2(np.where(np.isfinite(v) & (v > 0), v, np.nan)), -limit, limit)


def phase_diagram(grid: pd.DataFrame, critical: pd.DataFrame, points: pd.DataFrame | None = None,
                  trained: pd.DataFrame | None = None, title: str = "") -> plt.Figure:
    """χ₁ over (σ_w², σ_b²), one panel per activation, with the critical line and named scales.

    ``grid``: :func:`initlab.theory.meanfield.phase_grid` rows on a regular grid (``activation, sigma_w2,
    sigma_b2, chi1``). ``critical``: ``activation, sigma_b2, sigma_w2`` along the line χ₁ = 1.
    ``points``: ``scale, activation, sigma_w2, sigma_b2``, drawn as labelled markers (scales at
    the same point share one label). ``trained``: ``activation, sigma_w2, sigma_b2`` of trained
    nets, drawn as small crosses. Colour is log₂ χ₁ (blue: ordered, red: chaotic, white: critical);
    grey where the variance has no finite fixed point.
    """
    activations = list(dict.fromkeys(grid["activation"]))
    fig, axes = plt.subplots(1, len(activations), figsize=(5.2 * len(activations) + 1.2, 4.0), squeeze=False)
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("lightgrey")
    mesh = None
    for ax, activation in zip(axes[0], activations):
        g = grid[grid["activation"] == activation].pivot_table(index="sigma_b2", columns="sigma_w2", values="chi1",
                                                                dropna=False)
        z = np.ma.masked_invalid(_log2_chi(g.to_numpy()))
        mesh = ax.pcolormesh(g.columns.to_numpy(float), g.index.to_numpy(float), z, cmap=cmap, vmin=-1.5, vmax=1.5,
                             shading="nearest")
        c = critical[critical["activation"] == activation].sort_values("sigma_b2")
        ax.plot(c["sigma_w2"], c["sigma_b2"], color="black", lw=2, label="critical line (χ₁ = 1)")
        if trained is not None and len(trained[trained["activation"] == activation]):
            t = trained[trained["activation"] == activation]
            ax.plot(t["sigma_w2"], t["sigma_b2"], "x", color="black", ms=6, label="trained nets")
        if points is not None:
            p = points[points["activation"] == activation]
            for (w, b), names in p.groupby(["sigma_w2", "sigma_b2"], sort=False)["scale"]:
                ax.plot([w], [b], "o", ms=8, color="gold", mec="black", clip_on=False, zorder=5)
                ax.annotate(", ".join(names), (w, b), xytext=(-4, 9), textcoords="offset points", fontsize=8,
                            fontweight="bold", ha="left", annotation_clip=False)  # rightwards: never off the axes
        ax.set_xlabel("σ_w² (weight variance × fan_in)")
        ax.set_ylabel("σ_b² (bias variance)")
        ax.set_title(activation)
        ax.set_xlim(g.columns.min(), g.columns.max())
        ax.set_ylim(g.index.min(), g.index.max())
    handles = [Line2D([], [], color="black", lw=2, label="critical line (χ₁ = 1)"),
               Line2D([], [], marker="o", ls="", ms=8, color="gold", mec="black", label="named scales")]
    if trained is not None and len(trained):
        handles.append(Line2D([], [], marker="x", ls="", color="black", ms=6, label="trained nets"))
    if not np.isfinite(grid["chi1"]).all():
        handles.append(Patch(color="lightgrey", label="no finite q* (variance grows without bound)"))
    if mesh is not None:
        bar = fig.colorbar(mesh, ax=axes[0].tolist(), pad=0.02)
        bar.set_label("log₂ χ₁ (< 0 ordered, > 0 chaotic)")
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.45, 0.0), ncol=len(handles), frameon=False,
               fontsize="small")
    fig.suptitle(title, y=1.0)
    return fig


def depth_scale_curve(frame: pd.DataFrame, depths: Sequence[int] = (), title: str = "") -> plt.Figure:
    """``6 ξ_c`` against σ_w² (:func:`initlab.theory.meanfield.phase_grid` with ``depth_scales``), log scale,
    with the depths a study trains as dotted lines."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for activation, f in frame.groupby("activation", sort=False):
        f = f.sort_values("sigma_w2")
        y = f["max_depth"].where(np.isfinite(f["max_depth"]))
        ax.plot(f["sigma_w2"], y, color=activation_color(activation), marker=".",
                label=f"{activation}, σ_b² = {f['sigma_b2'].iloc[0]:g}")
    for d in depths:
        ax.axhline(d, color="grey", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("σ_w²")
    ax.set_ylabel("6 ξ_c (layers)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    return fig


def correlation_check_plot(check: pd.DataFrame, title: str = "") -> plt.Figure:
    """Measured correlation through depth (mean ± 95% CI over seeds, points) against the
    mean-field prediction (lines), one panel per σ_w², one colour per starting correlation."""
    ws = sorted(check["sigma_w2"].unique())
    c0s = sorted(check["c0"].unique())
    colors = dict(zip(c0s, sns.color_palette("viridis", n_colors=len(c0s))))
    fig, axes = plt.subplots(1, len(ws), figsize=(3.9 * len(ws) + 1.4, 3.6), squeeze=False, sharey=True)
    for ax, w in zip(axes[0], ws):
        for c0 in c0s:
            f = check[(check["sigma_w2"] == w) & (check["c0"] == c0)]
            s = summarize(f.assign(epoch=1), "correlation", by=("layer",), epoch=1)
            pred = f.groupby("layer")["predicted"].first()
            ax.plot(pred.index, pred.to_numpy(), color=colors[c0], lw=1.5)
            ax.errorbar(s["layer"], s["mean"], yerr=s["half_width"].fillna(0), fmt="o", ms=3, capsize=2,
                        color=colors[c0])
        ax.set_xlabel("layer")
        ax.set_title(f"σ_w² = {w:g}, σ_b² = {check['sigma_b2'].iloc[0]:g}")
    axes[0, 0].set_ylabel("correlation of the two inputs")
    axes[0, 0].set_ylim(min(0.0, float(check["correlation"].min())) - 0.05, 1.05)  # intervals may reach past 1
    handles = [Line2D([], [], color="black", lw=1.5, label="mean-field prediction"),
               Line2D([], [], color="black", marker="o", ls="", ms=4, label="simulated (mean ± 95% CI)"),
               *[Line2D([], [], color=colors[c], marker="o", label=f"c⁰ = {c:g}") for c in c0s]]
    axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def _positions(values: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """Where ``values`` fall on an axis whose cells sit at 0, 1, ... for ``grid`` (linear between cells,
    extended half a cell beyond each end, clipped there)."""
    g = np.asarray(grid, dtype=float)
    if len(g) == 1:
        return np.zeros(np.shape(values))
    lo, hi = g[0] - (g[1] - g[0]) / 2, g[-1] + (g[-1] - g[-2]) / 2
    return np.interp(np.clip(values, lo, hi), np.r_[lo, g, hi], np.r_[-0.5, np.arange(len(g)), len(g) - 0.5])


def trainability_heatmap(table: pd.DataFrame, curve: pd.DataFrame, title: str = "") -> plt.Figure:
    """Mean test accuracy (%) per (σ_w², depth) with the ``6 ξ_c`` curve over it.

    ``table``: :func:`initlab.findings.criticality.trainability_table`; a cell where some but not
    all runs trained also reads ``k/n``; one whose runs all diverged reads ``diverged``.
    ``curve``: ``sigma_w2, max_depth`` on a fine grid (depth on a log₂ axis; off-scale values
    run along the top or bottom edge).
    """
    ws = sorted(table["sigma_w2"].unique())
    ds = sorted(table["depth"].unique())
    wide = table.pivot_table(index="depth", columns="sigma_w2", values="mean", dropna=False).reindex(
        index=ds, columns=ws)
    fig, ax = plt.subplots(figsize=(0.85 * len(ws) + 3.2, 0.6 * len(ds) + 2.0))
    cmap = plt.get_cmap("viridis")
    z = np.ma.masked_invalid(100 * wide.to_numpy(dtype=float))
    mesh = ax.pcolormesh(np.arange(len(ws) + 1) - 0.5, np.arange(len(ds) + 1) - 0.5, z, cmap=cmap, vmin=0, vmax=100)
    ax.set_facecolor("lightgrey")
    rows = {(r["sigma_w2"], r["depth"]): r for r in table.to_dict("records")}
    for i, d in enumerate(ds):
        for j, w in enumerate(ws):
            r = rows.get((w, d))
            if r is None:
                continue
            v = r["mean"]
            label = f"{100 * v:.0f}" if np.isfinite(v) else ("diverged" if r.get("diverged") else "n/a")
            if r["grade"] == "mixed":
                label += f"\n{r['trained']}/{r['runs']}"
            dark = np.isfinite(v) and float(np.asarray(cmap(v)[:3]) @ [0.2126, 0.7152, 0.0722]) < 0.45
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    c = curve.sort_values("sigma_w2")
    c = c[(c["sigma_w2"] >= ws[0]) & (c["sigma_w2"] <= ws[-1])]
    y = np.log2(np.clip(c["max_depth"].to_numpy(float), 1e-300, 1e300))
    ax.plot(_positions(c["sigma_w2"].to_numpy(float), ws), _positions(y, np.log2(ds)), color="red", lw=2.5,
            label="6 ξ_c (Schoenholz et al. 2017): deeper nets should not train")
    ax.set_xticks(range(len(ws)), [f"{w:g}" for w in ws])
    ax.set_yticks(range(len(ds)), [str(d) for d in ds])
    ax.set_xlim(-0.5, len(ws) - 0.5)
    ax.set_ylim(-0.5, len(ds) - 0.5)
    ax.set_xlabel("σ_w²")
    ax.set_ylabel("depth (hidden layers)")
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label="mean test accuracy (%)", pad=0.02)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.15), fontsize="small", frameon=False)
    return fig


def singular_value_histograms(frame: pd.DataFrame, floor: float = 1e-6, bins: int = 50,
                              title: str = "") -> plt.Figure:
    """Histograms of log₁₀ singular values of the input–output Jacobian, one panel per (kernel, set-up),
    one line per depth (darker: deeper). Values below ``floor`` (exact zeros included) are gathered
    in the leftmost bin."""
    setups = list(dict.fromkeys(frame["setup"]))
    kernels = list(dict.fromkeys(frame["kernel"]))
    depths = sorted(frame["depth"].unique())
    colors = dict(zip(depths, sns.color_palette("viridis_r", n_colors=len(depths))))
    fig, axes = plt.subplots(len(kernels), len(setups), figsize=(3.1 * len(setups) + 1.6, 2.6 * len(kernels)),
                             squeeze=False, sharex=True)
    edges = np.linspace(np.log10(floor), 1.5, bins + 1)
    for i, kernel in enumerate(kernels):
        for j, setup in enumerate(setups):
            ax = axes[i, j]
            for d in depths:
                s = frame[(frame["kernel"] == kernel) & (frame["setup"] == setup) & (frame["depth"] == d)]
                if s.empty:
                    continue
                x = np.log10(np.clip(s["singular_value"].to_numpy(float), floor, None))
                counts, _ = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)
                ax.stairs(counts / len(x), edges, color=colors[d], lw=1.3, label=str(d))
            ax.axvline(0.0, color="black", ls="--", lw=0.8)
            ax.set_title(f"{setup}, {kernel}", fontsize=10)
            if i == len(kernels) - 1:
                ax.set_xlabel("log₁₀ singular value")
            if j == 0:
                ax.set_ylabel("share of values")
    axes[0, -1].legend(title="depth", loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def isometry_share_curves(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Share of singular values within a factor 2 of 1 against depth (log₂), one panel per kernel,
    one line per set-up (the activation's colour; a second set-up of one activation dashed)."""
    kernels = list(dict.fromkeys(summary["kernel"]))
    setups = list(dict.fromkeys(summary["setup"]))
    activation = {s: str(summary.loc[summary["setup"] == s, "activation"].iloc[0]) for s in setups}
    first: dict[str, str] = {}
    for s in setups:
        first.setdefault(activation[s], s)
    fig, axes = plt.subplots(1, len(kernels), figsize=(4.2 * len(kernels) + 1.6, 3.5), squeeze=False, sharey=True)
    for ax, kernel in zip(axes[0], kernels):
        for s in setups:
            f = summary[(summary["kernel"] == kernel) & (summary["setup"] == s)].sort_values("depth")
            ax.plot(f["depth"], 100 * f["near_share"], marker="o", color=activation_color(activation[s]),
                    ls="-" if first[activation[s]] == s else "--", label=s)
        ax.set_xscale("log", base=2)
        depths = sorted(summary["depth"].unique())
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.minorticks_off()
        ax.set_xlabel("depth")
        ax.set_title(f"{kernel} kernels")
    axes[0, 0].set_ylabel("singular values within 2× of 1 (%)")
    axes[0, 0].set_ylim(-2, 102)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig
