"""Curves and intervals: learning curves, mean ± CI per initializer, sweeps and learning rates."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from initlab.errors import InvalidArgumentError
from initlab.plots.style import METRIC_LABELS, hue_palette, init_palette
from initlab.stats import final_epochs, prediction_interval, summarize


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


MAX_TICKS = 10  # epoch ticks per axis: more run into each other


def epoch_ticks(epochs: Collection[int]) -> list[int]:
    """At most :data:`MAX_TICKS` epochs to label, evenly spaced and ending at the last."""
    ordered = sorted(int(e) for e in epochs)
    step = max(1, -(-len(ordered) // MAX_TICKS))
    return ordered[::-step][::-1]


SAME_CURVE = 1e-4  # two mean curves closer than this everywhere are drawn on top of each other


def hidden_curves(long: pd.DataFrame, hue: str, panels: Sequence[str]) -> dict[str, str]:
    """Which ``hue`` values draw the same mean curve (of ``value`` against ``epoch``) as an earlier one in
    every panel, within :data:`SAME_CURVE`, so that their line lies hidden under it:
    ``{hidden: the one drawn over it}``."""
    means = long.groupby([hue, *panels, "epoch"], sort=False)["value"].mean()
    order = list(dict.fromkeys(long[hue]))
    curves = {h: means.xs(h, level=hue) for h in order}
    hidden: dict[str, str] = {}
    for i, h in enumerate(order):
        for earlier in order[:i]:
            a, b = curves[h], curves[earlier]
            same = a.index.equals(b.index) and np.allclose(
                a.to_numpy(), b.to_numpy(), atol=SAME_CURVE, rtol=0.0, equal_nan=True
            )
            if same:
                hidden[h] = hidden.get(earlier, earlier)
                break
    return hidden


def learning_curves(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("accuracy", "val_accuracy"),
    *,
    title: str = "",
    hue: str = "init",
    col: str | None = None,
) -> plt.Figure:
    """Mean over seeds with a 95% CI band, one panel per metric (or per ``col`` value).

    Lines are coloured by ``hue`` (the fixed palette for ``init`` or ``activation``);
    with ``col`` and several metrics, the metrics differ by line style. Accuracy
    panels zoom on the data but never reach past [0, 1]; the legend is right of the panels.
    """
    long = df.melt(
        id_vars=[c for c in df.columns if c not in metrics],
        value_vars=list(metrics),
        var_name="metric",
        value_name="value",
    )
    long["metric"] = long["metric"].map(lambda m: METRIC_LABELS.get(m, m))
    hues = list(dict.fromkeys(df[hue])) if hue in df else None
    grid = sns.relplot(
        data=long,
        x="epoch",
        y="value",
        hue=hue,
        hue_order=hues,
        palette=hue_palette(hue, hues or []),
        col=col or "metric",
        style="metric" if col and len(metrics) > 1 else None,
        kind="line",
        errorbar=("ci", 95),
        marker="o",
        height=3.4,
        aspect=1.25,
        facet_kws={"sharey": False},
    )
    for i, ax in enumerate(grid.axes.flat):  # y-scales differ: every panel names its own
        shown = [grid.col_names[i]] if not col else list(metrics)  # the metrics drawn in this panel
        ax.set_xlabel("epoch")
        ax.set_ylabel(METRIC_LABELS.get(shown[0], shown[0]) if len(shown) == 1 else "value")
        ax.set_xticks(epoch_ticks(df["epoch"].unique()))
        if all("accuracy" in str(m) for m in shown):
            _clip_accuracy(ax)
    grid.set_titles("{col_name}")
    grid.tight_layout()  # room for the y-labels added above (seaborn keeps the legend's margin)
    grid.figure.suptitle(title, y=1.04)
    _grid_legend_right(grid)
    hidden = hidden_curves(long, hue, [p for p in (col, "metric") if p]) if hue in long else {}
    if grid.legend is not None and hidden:
        for text in grid.legend.texts:
            if text.get_text() in hidden:
                text.set_text(f"{text.get_text()} (= {hidden[text.get_text()]}, drawn under it)")
    return grid.figure


def difference_curves(df: pd.DataFrame, value: str = "val_accuracy", *, reference: str, title: str = "") -> plt.Figure:
    """Each initializer's ``value`` minus ``reference``'s in the same seed and epoch, in percentage points:
    mean over seeds with a 95% CI band, one line per initializer (curves too close to tell apart drawn
    as their paired differences)."""
    wide = df.pivot_table(index=["seed", "epoch"], columns="init", values=value)
    if reference not in wide.columns:
        raise InvalidArgumentError(
            "reference", reference, f"must be one of the initializers ({', '.join(wide.columns)})"
        )
    name = f"{METRIC_LABELS.get(value, value)} − {reference}'s (pp)"
    others = [i for i in dict.fromkeys(df["init"]) if i != reference and i in wide.columns]
    diff = wide[others].sub(wide[reference], axis=0).mul(100)
    long = diff.stack().rename(name).reset_index()
    fig = learning_curves(long, [name], title=title)
    for ax in fig.axes:
        ax.axhline(0.0, color="black", lw=0.8, zorder=0)
    return fig


def ci_bars(
    df: pd.DataFrame,
    value: str = "test_accuracy",
    *,
    title: str = "",
    order: Sequence[str] | None = None,
    reference: Mapping[str, float] | None = None,
    interval: str = "ci",
) -> plt.Figure:
    """Mean ± 95% interval of ``value`` per initializer (black), seeds as dots in the initializer's colour,
    paper values as black crosses; the legend right of the axes.

    ``interval``: ``"ci"``, the confidence interval of our mean, or ``"pi"``, the prediction interval for one
    new run, the one a published single run is judged against."""
    if interval not in ("ci", "pi"):
        raise InvalidArgumentError("interval", interval, "must be 'ci' (our mean) or 'pi' (one new run)")
    s = summarize(df, value)
    order = list(order or s.sort_values("mean", ascending=False)["init"])
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(order) + 2), 3.6))
    s = s.set_index("init").loc[order]
    runs = final_epochs(df)
    if interval == "pi":
        half = [prediction_interval(runs.loc[runs["init"] == i, value])["half_width"] for i in order]
        s = s.assign(half_width=half)
    ax.errorbar(
        range(len(order)), s["mean"], yerr=s["half_width"].fillna(0), fmt="o", capsize=5, color="black", zorder=3
    )
    colors = init_palette(order)
    for i, init in enumerate(order):
        vals = runs.loc[runs["init"] == init, value]
        ax.scatter(np.full(len(vals), i) + 0.12, vals, s=16, alpha=0.75, color=colors[init])
        if reference and init in reference:
            ax.scatter(i - 0.12, reference[init], marker="x", s=60, color="black", zorder=4)
    handles = [
        Line2D(
            [], [], color="black", marker="o", label="mean ± 95% CI" if interval == "ci" else "mean ± 95% PI, one run"
        ),
        Line2D([], [], color="grey", marker="o", ls="", alpha=0.75, label="one seed (init's colour)"),
    ]
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


def _error_bars(d: pd.DataFrame) -> np.ndarray:
    """(2, n) distances below and above each mean: to ``ci_low``/``ci_high`` when given, else ± ``half_width``."""
    if {"ci_low", "ci_high"} <= set(d.columns):
        return np.vstack([(d["mean"] - d["ci_low"]).fillna(0), (d["ci_high"] - d["mean"]).fillna(0)])
    return np.vstack([d["half_width"].fillna(0)] * 2)


def ci_points(
    table: pd.DataFrame,
    *,
    x: str,
    hue: str,
    col: str,
    title: str = "",
    x_order: Sequence | None = None,
    ylabel: str = "test accuracy (%)",
    ylim: tuple[float, float] | None = (-2, 102),
) -> plt.Figure:
    """Mean and 95% CI (a table's ``mean`` with ``ci_low``/``ci_high`` where it has them, else ± ``half_width``,
    shown as percent), one panel per ``col`` value.

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
            ax.errorbar(
                pos,
                100 * d["mean"],
                yerr=100 * _error_bars(d),
                fmt="o",
                ms=4,
                capsize=3,
                color=palette[h],
                label=str(h),
            )
        ax.set_xticks(
            range(len(xs)),
            [str(v) for v in xs],
            rotation=30 if x != "depth" else 0,
            ha="right" if x != "depth" else "center",
        )
        ax.set_xlabel(x)
        ax.set_title(f"{col} {c}" if col == "depth" else str(c))
    axes[0, 0].set_ylabel(ylabel)
    if ylim is not None:
        axes[0, 0].set_ylim(*ylim)
    axes[0, -1].legend(title=hue, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def sweep_lines(table: pd.DataFrame, x: str, prefix: str, *, title: str = "", ylabel: str | None = None) -> plt.Figure:
    """A sweep's recorded ``prefix/<init>`` values against the swept parameter ``x``, one line per initializer.

    ``table`` is :func:`initlab.pipeline.sweep.run`'s (or ``load``'s); where other parameters were swept
    too, each line is their mean with a 95% CI band. ``x`` is drawn on a log scale when its
    values are positive and span more than a factor of 10.
    """
    rows = table[table["name"].fillna("").str.startswith(prefix + "/")].copy()
    if rows.empty:
        raise ValueError(f"the sweep recorded no values named {prefix}/...")
    rows["init"] = rows["name"].str[len(prefix) + 1 :]
    rows[x] = pd.to_numeric(rows[x])
    order = list(dict.fromkeys(rows["init"]))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sns.lineplot(
        data=rows,
        x=x,
        y="number",
        hue="init",
        hue_order=order,
        palette=init_palette(order),
        marker="o",
        errorbar=("ci", 95),
        ax=ax,
    )
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


def _rate_bounds(table: pd.DataFrame, floor: float | None) -> tuple[float, float]:
    """The y-range (percent) of :func:`rate_curves`: from ``floor`` (if some mean reaches it) or just below the
    lowest interval, to just above the highest one, never past 101."""
    highest = 100 * (table["mean"] + table["half_width"].fillna(0)).max()
    lowest = 100 * (table["mean"] - table["half_width"].fillna(0)).min()
    floor = floor if floor is not None and (100 * table["mean"] >= floor).any() else None  # else nothing to show
    bottom = floor if floor is not None else (max(lowest - 2, -1) if np.isfinite(lowest) else -1)
    top = min(101.0, highest + 1) if np.isfinite(highest) else 101.0
    return bottom, top


def _rate_line(
    ax: plt.Axes, d: pd.DataFrame, x: np.ndarray, color: str, *, bottom: float, chosen: Sequence[float] = ()
) -> set[str]:
    """One initializer's points (rows ``d`` at positions ``x``) in a :func:`rate_curves` panel; returns the marks
    drawn: ``below`` (▼ for a mean under ``bottom``), ``diverged`` (✕), ``best`` (a ring at a ``chosen`` rate)."""
    marks: set[str] = set()
    y, h = 100 * d["mean"].to_numpy(float), 100 * d["half_width"].fillna(0).to_numpy(float)
    seen = np.isfinite(y) & (y >= bottom)
    ax.plot(x, np.where(seen, y, np.nan), color=color, lw=1.4, label=d["init"].iloc[0])
    ax.errorbar(x[seen], y[seen], yerr=h[seen], fmt="o", ms=3.5, capsize=2.5, color=color)
    below = np.isfinite(y) & (y < bottom)
    gone = (d["diverged"] == d["runs"]).to_numpy()
    for key, where, style in (("below", below, dict(marker="v")), ("diverged", gone, dict(marker="x", mew=2))):
        if where.any():  # on the bottom edge, unclipped (an empty unclipped line upsets the layout)
            ax.plot(x[where], np.full(where.sum(), bottom), ls="", ms=7, color=color, clip_on=False, zorder=4, **style)
            marks.add(key)
    for rate in chosen:
        k = int(np.argmin(np.abs(d["learning_rate"].to_numpy(float) - rate)))
        if seen[k]:
            ax.plot(x[k], y[k], "o", ms=11, mfc="none", mec=color, mew=1.6, zorder=5)
            marks.add("best")
    return marks


def _rate_axis(ax: plt.Axes, rates: Sequence[float], setting: str) -> None:
    """A :func:`rate_curves` panel's log x-axis, labelled with the grid's ``rates`` only."""
    ax.set_xscale("log")
    ax.set_xticks(rates, [f"{r:g}" for r in rates], rotation=30)  # the grid's rates, no minor labels
    ax.minorticks_off()
    ax.set_xlim(rates[0] / 10**RATE_MARGIN, rates[-1] * 10**RATE_MARGIN)
    ax.set_xlabel("learning rate")
    ax.set_title(str(setting))


def _rate_handles(palette: Mapping[str, str], marks: Collection[str], bottom: float) -> list[Line2D]:
    """The legend of :func:`rate_curves`: the initializers, then the marks the figure shows."""
    handles = [Line2D([], [], color=color, marker="o", ms=3.5, lw=1.4, label=init) for init, color in palette.items()]
    words = {
        "best": ("o", "best rate (validation)", dict(mfc="none", ms=10)),
        "below": ("v", f"mean below {bottom:g}%", {}),
        "diverged": ("x", "every run diverged", dict(mew=2)),
    }
    for key, (marker, label, kw) in words.items():
        if key in marks:
            handles.append(Line2D([], [], color="grey", marker=marker, ls="", label=label, **kw))
    return handles


def rate_curves(
    table: pd.DataFrame,
    best: pd.DataFrame | None = None,
    *,
    title: str = "",
    floor: float | None = None,
    ylabel: str = "test accuracy (%)",
) -> plt.Figure:
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
    bottom, top = _rate_bounds(table, floor)
    marks: set[str] = set()
    for ax, setting in zip(axes, settings):
        panel = table[table["optimizer_setting"] == setting]
        picks = best[best["optimizer_setting"] == setting] if best is not None else None
        for j, init in enumerate(inits):
            d = panel[panel["init"] == init].sort_values("learning_rate")
            if d.empty:
                continue
            x = d["learning_rate"].to_numpy(float) * 10 ** ((j - (len(inits) - 1) / 2) * RATE_NUDGE)
            chosen = [] if picks is None else list(picks.loc[picks["init"] == init, "best_rate"])
            marks |= _rate_line(ax, d, x, palette[init], bottom=bottom, chosen=chosen)
        _rate_axis(ax, sorted(panel["learning_rate"].unique()), setting)
    axes[0].set_ylabel(ylabel)
    axes[0].set_ylim(bottom, top)
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    fig.legend(
        handles=_rate_handles(palette, marks, bottom),
        title="init",
        loc="upper left",
        fontsize="small",
        bbox_to_anchor=(axes[-1].get_position().x1 + 0.01, axes[-1].get_position().y1),
    )
    return fig
