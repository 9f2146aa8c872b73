"""Mean-field theory (notebook 08): the order-to-chaos phase diagram, depth scales, correlation maps,
and the Jacobian's singular values (dynamical isometry)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initlab.plots.style import activation_color
from initlab.stats import summarize


def _log2_chi(values: np.ndarray, limit: float = 1.5) -> np.ndarray:
    """log₂ χ₁ clipped to ±``limit``; a non-finite χ₁ (no finite q*) becomes NaN (drawn grey)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.log2(np.where(np.isfinite(v) & (v > 0), v, np.nan)), -limit, limit)


def _named_scales(ax: plt.Axes, points: pd.DataFrame) -> None:
    """Gold markers at ``points`` (``scale, sigma_w2, sigma_b2``), one label per point naming its scales;
    neighbouring labels alternate in height so that they never run into each other, on a pale box that keeps them
    readable over other markers."""
    groups = points.groupby(["sigma_w2", "sigma_b2"], sort=False)["scale"]
    for i, ((w, b), names) in enumerate(sorted(groups, key=lambda g: g[0])):
        ax.plot([w], [b], "o", ms=8, color="gold", mec="black", clip_on=False, zorder=5)
        # rightwards: never off the axes
        ax.annotate(
            ", ".join(names),
            (w, b),
            xytext=(-4, 9 + 13 * (i % 2)),
            textcoords="offset points",
            fontsize=8,
            fontweight="bold",
            ha="left",
            annotation_clip=False,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=6,
        )


def _phase_handles(grid: pd.DataFrame, trained: pd.DataFrame | None) -> list[Line2D | Patch]:
    """The legend of :func:`phase_diagram`: the critical line, the named scales, trained nets if any,
    and the grey of no finite fixed point if some cell has it."""
    handles = [
        Line2D([], [], color="black", lw=2, label="critical line (χ₁ = 1)"),
        Line2D([], [], marker="o", ls="", ms=8, color="gold", mec="black", label="named scales"),
    ]
    if trained is not None and len(trained):
        handles.append(Line2D([], [], marker="x", ls="", color="black", ms=6, label="trained nets"))
    if not np.isfinite(grid["chi1"]).all():
        handles.append(Patch(color="lightgrey", label="no finite q* (variance grows without bound)"))
    return handles


def phase_diagram(
    grid: pd.DataFrame,
    critical: pd.DataFrame,
    points: pd.DataFrame | None = None,
    *,
    trained: pd.DataFrame | None = None,
    title: str = "",
) -> plt.Figure:
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
        g = grid[grid["activation"] == activation].pivot_table(
            index="sigma_b2", columns="sigma_w2", values="chi1", dropna=False
        )
        z = np.ma.masked_invalid(_log2_chi(g.to_numpy()))
        mesh = ax.pcolormesh(
            g.columns.to_numpy(float), g.index.to_numpy(float), z, cmap=cmap, vmin=-1.5, vmax=1.5, shading="nearest"
        )
        c = critical[critical["activation"] == activation].sort_values("sigma_b2")
        ax.plot(c["sigma_w2"], c["sigma_b2"], color="black", lw=2, label="critical line (χ₁ = 1)")
        if trained is not None and len(trained[trained["activation"] == activation]):
            t = trained[trained["activation"] == activation]
            ax.plot(t["sigma_w2"], t["sigma_b2"], "x", color="black", ms=6, label="trained nets")
        if points is not None:
            _named_scales(ax, points[points["activation"] == activation])
        ax.set_xlabel("σ_w² (weight variance × fan_in)")
        ax.set_ylabel("σ_b² (bias variance)")
        ax.set_title(activation)
        ax.set_xlim(g.columns.min(), g.columns.max())
        ax.set_ylim(g.index.min(), g.index.max())
    handles = _phase_handles(grid, trained)
    if mesh is not None:
        bar = fig.colorbar(mesh, ax=axes[0].tolist(), pad=0.02)
        bar.set_label("log₂ χ₁ (< 0 ordered, > 0 chaotic)")
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.45, 0.0),
        ncol=len(handles),
        frameon=False,
        fontsize="small",
    )
    fig.suptitle(title, y=1.0)
    return fig


def depth_scale_curve(frame: pd.DataFrame, depths: Sequence[int] = (), title: str = "") -> plt.Figure:
    """``6 ξ_c`` against σ_w² (:func:`initlab.theory.meanfield.phase_grid` with ``depth_scales``), log scale,
    with the depths a study trains as dotted lines."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for activation, f in frame.groupby("activation", sort=False):
        f = f.sort_values("sigma_w2")
        y = f["max_depth"].where(np.isfinite(f["max_depth"]))
        ax.plot(
            f["sigma_w2"],
            y,
            color=activation_color(activation),
            marker=".",
            label=f"{activation}, σ_b² = {f['sigma_b2'].iloc[0]:g}",
        )
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
            ax.errorbar(
                s["layer"], s["mean"], yerr=s["half_width"].fillna(0), fmt="o", ms=3, capsize=2, color=colors[c0]
            )
        ax.set_xlabel("layer")
        ax.set_title(f"σ_w² = {w:g}, σ_b² = {check['sigma_b2'].iloc[0]:g}")
    axes[0, 0].set_ylabel("correlation of the two inputs")
    axes[0, 0].set_ylim(min(0.0, float(check["correlation"].min())) - 0.05, 1.05)  # intervals may reach past 1
    handles = [
        Line2D([], [], color="black", lw=1.5, label="mean-field prediction"),
        Line2D([], [], color="black", marker="o", ls="", ms=4, label="simulated (mean ± 95% CI)"),
        *[Line2D([], [], color=colors[c], marker="o", label=f"c⁰ = {c:g}") for c in c0s],
    ]
    axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def singular_value_histograms(
    frame: pd.DataFrame, *, floor: float = 1e-6, bins: int = 50, title: str = ""
) -> plt.Figure:
    """Histograms of log₁₀ singular values of the input–output Jacobian, one panel per (kernel, set-up),
    one line per depth (darker: deeper). Values below ``floor`` (exact zeros included) are gathered
    in the leftmost bin."""
    setups = list(dict.fromkeys(frame["setup"]))
    kernels = list(dict.fromkeys(frame["kernel"]))
    depths = sorted(frame["depth"].unique())
    colors = dict(zip(depths, sns.color_palette("viridis_r", n_colors=len(depths))))
    fig, axes = plt.subplots(
        len(kernels), len(setups), figsize=(3.1 * len(setups) + 1.6, 2.6 * len(kernels)), squeeze=False, sharex=True
    )
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
            ax.plot(
                f["depth"],
                100 * f["near_share"],
                marker="o",
                color=activation_color(activation[s]),
                ls="-" if first[activation[s]] == s else "--",
                label=s,
            )
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
