"""Deep networks: signal propagation through depth, trainability heatmaps, diagnostics at initialization."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initlab.plots.style import STATISTIC_LABELS, activation_palette, init_palette


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


def _band_line(
    ax: plt.Axes, x: np.ndarray, v: np.ndarray, color: str, band: tuple[float, float]
) -> tuple[np.ndarray, set[float]]:
    """One init's line of values ``v`` at layers ``x``: drawn where inside ``band`` (a lone such layer as a dot),
    with a triangle on the band's edge where it leaves; returns the values drawn and the edges marked."""
    low, high = band
    inside = np.isfinite(v) & (v >= low) & (v <= high)
    ax.plot(x, np.where(inside, v, np.nan), color=color, lw=1.6)
    lone = inside & ~np.r_[False, inside[:-1]] & ~np.r_[inside[1:], False]
    ax.plot(x[lone], v[lone], "o", ms=3, color=color)
    edges: set[float] = set()
    for i in _band_exits(inside):
        edge = low if v[i] < low else high  # NaN compares False: counted as an overflow
        ax.plot(x[i], edge, marker="v" if edge == low else "^", ms=8, color=color, clip_on=False, zorder=4)
        edges.add(edge)
    return v[inside], edges


SAME_PROFILE = 0.015  # lines closer than this share of a panel's height at every layer look like one


def _propagation_panel(
    ax: plt.Axes, panel: pd.DataFrame, palette: Mapping[str, str], band: tuple[float, float]
) -> set[float]:
    """One panel of :func:`propagation_profiles`: a line per init (the mean over seeds), the log y-axis zoomed
    on the values inside ``band`` (reaching its edge where a line leaves it); returns the edges marked."""
    low, high = band
    inside_values: list[float] = []
    edges: set[float] = set()
    lines: dict[str, pd.Series] = {}
    for init, color in palette.items():
        line = panel[panel["init"] == init].groupby("layer_index")["value"].mean().sort_index()
        if line.empty:
            continue
        drawn, marked = _band_line(ax, line.index.to_numpy(), line.to_numpy(dtype=float), color, band)
        inside_values.extend(drawn)
        edges |= marked
        lines[init] = line
    values = np.asarray(inside_values, dtype=float)
    bottom = low if low in edges or not values.size else max(low, values.min() / 3)
    top = high if high in edges or not values.size else min(high, values.max() * 3)
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    groups = overlapping_lines(lines, SAME_PROFILE * np.log10(top / bottom)) if top > bottom > 0 else []
    if groups:  # lines that one line's width would hide are named, per panel
        note = "\n".join("on one line: " + ", ".join(g) for g in groups)
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=7, va="bottom", ha="left", color="dimgrey")
    return edges


def overlapping_lines(lines: Mapping[str, pd.Series], decades: float) -> list[list[str]]:
    """Groups of lines (value per layer, log scale) within ``decades`` of each other at every layer, each group
    with at least two names in drawing order; a value that is 0, inf or NaN matches nothing."""
    groups: list[list[str]] = []
    logs = {}
    for name, line in lines.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            logs[name] = pd.Series(np.log10(line.to_numpy(dtype=float)), index=line.index)
    for name, values in logs.items():
        for group in groups:
            first = logs[group[0]]
            both = np.isfinite(values.to_numpy()) & np.isfinite(first.reindex(values.index).to_numpy())
            if values.index.equals(first.index) and both.all() and np.all(np.abs(values - first) <= decades):
                group.append(name)
                break
        else:
            groups.append([name])
    return [g for g in groups if len(g) > 1]


def _exit_handles(palette: Mapping[str, str], exits: Collection[float], band: tuple[float, float]) -> list[Line2D]:
    """The legend of :func:`propagation_profiles`: the inits, then the band's edges some line leaves by."""
    low, high = band
    handles = [Line2D([], [], color=color, lw=1.6, label=init) for init, color in palette.items()]
    if high in exits:
        handles.append(
            Line2D([], [], color="grey", marker="^", ls="", label=f"leaves the plot: > {_power(high)}, inf or NaN")
        )
    if low in exits:
        handles.append(Line2D([], [], color="grey", marker="v", ls="", label=f"leaves the plot: < {_power(low)} or 0"))
    return handles


def propagation_profiles(
    frame: pd.DataFrame,
    statistic: str = "activation_std",
    *,
    title: str = "",
    col: str = "activation",
    col_wrap: int = 2,
    band: tuple[float, float] = (1e-12, 1e12),
) -> plt.Figure:
    """A propagation statistic against layer index, one panel per ``col`` value, one line per init (log y).

    Takes :func:`initlab.probe.propagation.signal_propagation` frames (several concatenated;
    several seeds are averaged). The y-axis shows at most ``band``, zoomed on each
    panel's values: a line is drawn where its values lie inside the band (a lone
    such layer as a dot), and a triangle on the band's edge marks where it leaves
    the band (▲ above, or overflow to inf/NaN; ▼ below, or underflow to 0): at the
    first layer outside, or the last one outside before the line enters the band
    (as a gradient read from the output back does), or layer 1 if no value is inside.
    """
    d = frame[frame["statistic"] == statistic]
    cols = list(dict.fromkeys(frame[col]))
    palette = init_palette(list(dict.fromkeys(frame["init"])))
    ncols = max(1, min(col_wrap, len(cols)))
    nrows = int(np.ceil(len(cols) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.2 * nrows), squeeze=False)
    short = {"activation_grad_norm": "gradient norm at the output"}  # the long label overlaps in a grid
    ylabel = short.get(statistic, STATISTIC_LABELS.get(statistic, statistic))
    exits: set[float] = set()
    for ax, c in zip(axes.flat, cols):
        exits |= _propagation_panel(ax, d[d[col] == c], palette, band)
        ax.set_title(str(c))
        ax.set_xlabel("layer index (1 = first hidden layer)")
        ax.set_ylabel(ylabel)
    for ax in list(axes.flat)[len(cols) :]:
        ax.axis("off")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    fig.legend(
        handles=_exit_handles(palette, exits, band),
        title="init",
        loc="upper left",
        bbox_to_anchor=(1.0, 0.95),
        fontsize="small",
    )
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
    wide = pd.DataFrame(
        np.nan,
        index=pd.Index(inits, name="init"),
        columns=pd.MultiIndex.from_tuples(columns, names=["activation", "depth"]),
    )
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
        ax.text(
            j + 0.5,
            i + 0.5,
            label,
            ha="center",
            va="center",
            fontsize=8 if len(label) > 4 else 10,
            color="white" if dark else "black",
        )
    ax.set_xlabel("activation, depth")
    ax.set_ylabel("initializer")
    ax.set_xticklabels([f"{a}, {d}" for a, d in wide.columns], rotation=45, ha="right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def diagnostic_scatter(merged: pd.DataFrame, title: str = "", floor: float = 1e-12) -> plt.Figure:
    """Test accuracy against two diagnostics at initialization, one point per (depth, activation, init).

    ``merged`` joins a :func:`initlab.probe.depth.trainability` table (``mean``) with
    :func:`initlab.probe.depth.init_diagnostics` (``last_std``, ``grad_ratio``). Values a
    log axis cannot show are pinned to its edges: 0 (and a ratio of two zeros) at
    ``floor``, an overflow (infinite value or loss) at ``1/floor``.
    """
    panels = [
        ("last_std", "activation std of the last hidden layer"),
        ("grad_ratio", "kernel gradient norm, first / last hidden layer"),
    ]
    palette = activation_palette(list(dict.fromkeys(merged["activation"])))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, (column, label) in zip(axes, panels):
        v = merged[column].astype(float)
        overflow = ~np.isfinite(merged["loss"].astype(float)) | np.isposinf(v)
        v = v.where(~overflow, 1 / floor).fillna(floor)
        d = merged.assign(x=v.clip(floor, 1 / floor), accuracy=100 * merged["mean"])
        sns.scatterplot(
            data=d,
            x="x",
            y="accuracy",
            hue="activation",
            hue_order=list(palette),
            palette=palette,
            style="depth",
            s=55,
            ax=ax,
            legend=ax is axes[-1],
        )
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
        sns.lineplot(
            data=shown,
            x="layer",
            y=value,
            hue="init",
            hue_order=inits,
            palette=init_palette(inits),
            marker="o",
            ax=ax,
            errorbar=None,
            legend=ax is axes[0, -1],
        )
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


def _positions(values: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """Where ``values`` fall on an axis whose cells sit at 0, 1, ... for ``grid`` (linear between cells,
    extended half a cell beyond each end, clipped there)."""
    g = np.asarray(grid, dtype=float)
    if len(g) == 1:
        return np.zeros(np.shape(values))
    lo, hi = g[0] - (g[1] - g[0]) / 2, g[-1] + (g[-1] - g[-2]) / 2
    return np.interp(np.clip(values, lo, hi), np.r_[lo, g, hi], np.r_[-0.5, np.arange(len(g)), len(g) - 0.5])


def _heatmap_panel(ax: plt.Axes, table: pd.DataFrame, ws: list[float], ds: list[int]) -> Any:
    """One budget's cells on ``ax``: colour by mean accuracy, ``k/n`` where some seeds trained."""
    wide = table.pivot_table(index="depth", columns="sigma_w2", values="mean", dropna=False).reindex(
        index=ds, columns=ws
    )
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
            ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    return mesh


def _depth_line(ax: plt.Axes, c: pd.DataFrame, depths: np.ndarray, ws: list[float], ds: list[int], **style: Any):
    y = np.log2(np.clip(depths, 1e-300, 1e300))
    return ax.plot(_positions(c["sigma_w2"].to_numpy(float), ws), _positions(y, np.log2(ds)), **style)


def _boundaries(fits: pd.DataFrame | None, budget: Any, curve: pd.DataFrame) -> list[tuple[str, pd.DataFrame, Mapping]]:
    """``(phase, its part of the curve, its fit)`` for each fitted boundary of ``budget`` with a finite ``k``:
    one per side of the critical line where ``fits`` has them (and ``curve`` a ``phase`` column), else one."""
    if fits is None or budget is None:
        return []
    rows = fits[fits["budget"] == budget]
    sides = rows[rows["phase"].isin(["ordered", "chaotic"])] if "phase" in curve.columns else rows.iloc[:0]
    chosen = sides if len(sides) else rows[rows["phase"] == "all"]
    out = []
    for _, f in chosen.iterrows():
        part = curve if f["phase"] == "all" else curve[curve["phase"] == f["phase"]]
        if len(part) and np.isfinite(f["k"]) and np.isfinite(f["ci_high"]):
            out.append((f["phase"], part, f.to_dict()))
    return out


def trainability_heatmap(
    table: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    fits: pd.DataFrame | None = None,
    budget_words: Mapping[int, str] | None = None,
    value: str = "mean test accuracy (%)",
    title: str = "",
) -> plt.Figure:
    """Mean accuracy (%) per (σ_w², depth), one panel per ``budget`` when ``table`` has that column, with the
    ``6 ξ_c`` curve over it and, given ``fits``, the fitted boundary ``k ξ_c`` (dashed) and its interval (band).

    ``table``: one row per cell (:func:`initlab.findings.criticality.cell_grades`); a cell where some but not
    all runs trained also reads ``k/n``; one whose runs all diverged reads ``diverged``. ``curve``:
    ``sigma_w2, max_depth`` (``6 ξ_c``) on a fine grid (depth on a log₂ axis; off-scale values run along the
    top or bottom edge). ``fits``: :func:`initlab.findings.criticality.boundary_fit` (its ``all`` rows).
    """
    ws = sorted(table["sigma_w2"].unique())
    ds = sorted(table["depth"].unique())
    budgets = sorted(table["budget"].unique()) if "budget" in table.columns else [None]
    fig, axes = plt.subplots(
        1,
        len(budgets),
        figsize=((0.75 * len(ws) + 1.2) * len(budgets) + 1.4, 0.5 * len(ds) + 2.4),
        squeeze=False,
        layout="constrained",
    )
    c = curve.sort_values("sigma_w2")
    c = c[(c["sigma_w2"] >= ws[0]) & (c["sigma_w2"] <= ws[-1])]
    six = c["max_depth"].to_numpy(float)
    for ax, b in zip(axes[0], budgets):
        mesh = _heatmap_panel(ax, table if b is None else table[table["budget"] == b], ws, ds)
        _depth_line(
            ax,
            c,
            six,
            ws,
            ds,
            color="red",
            lw=2.5,
            label="6 ξ_c (Schoenholz et al. 2017): deeper nets should not train",
        )
        for i, (_, part, f) in enumerate(_boundaries(fits, b, c)):
            x = _positions(part["sigma_w2"].to_numpy(float), ws)
            scale = part["max_depth"].to_numpy(float) / 6
            band = [
                _positions(np.log2(np.clip(scale * k, 1e-300, 1e300)), np.log2(ds)) for k in (f["ci_low"], f["ci_high"])
            ]
            first = i == 0
            ax.fill_between(
                x, band[0], band[1], color="white", alpha=0.25, lw=0, label="its 95% interval" if first else None
            )
            _depth_line(
                ax,
                part,
                scale * f["k"],
                ws,
                ds,
                color="white",
                lw=2,
                ls="--",
                label="fitted boundary k ξ_c (per side of the critical line)" if first else None,
            )
        ax.set_xticks(range(len(ws)), [f"{w:g}" for w in ws])
        ax.set_yticks(range(len(ds)), [str(d) for d in ds])
        ax.set_xlim(-0.5, len(ws) - 0.5)
        ax.set_ylim(-0.5, len(ds) - 0.5)
        ax.set_xlabel("σ_w²")
        ax.set_ylabel("depth (hidden layers)" if ax is axes[0][0] else "")
        if b is not None:
            ax.set_title((budget_words or {}).get(int(b), f"budget {b}"), fontsize="medium")
    fig.colorbar(mesh, ax=list(axes[0]), label=value, pad=0.02)
    if b is None:
        axes[0][0].set_title(title)
    else:
        fig.suptitle(title)
    handles, labels = axes[0][0].get_legend_handles_labels()
    drawn = dict(zip(labels, handles))
    for label, handle in (
        ("fitted boundary k ξ_c (per side of the critical line)", Line2D([], [], color="black", lw=2, ls="--")),
        ("its 95% interval", Patch(facecolor="grey", alpha=0.4)),
    ):
        if label in drawn:  # white on the map: drawn dark in the legend
            drawn[label] = handle
    fig.legend(list(drawn.values()), list(drawn), loc="outside lower left", fontsize="small", frameon=False)
    return fig
