"""Every figure: legends beside the data, a title and labelled axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.transforms import Bbox

from initlab import plots

from .synthetic import curves, propagation_frame, trainability_table


def _figures():
    sym = pd.DataFrame(
        [
            {"init": i, "layer": "hidden_1", "epoch": e, "unit_spread": s, "distinct_units": d}
            for i, s, d in [("zeros", 0.0, 1), ("he_normal", 0.5, 128)]
            for e in range(3)
        ]
    )
    grads = pd.DataFrame(
        [
            {"stage": st, "init": i, "layer": f"hidden_{k}", "kernel_grad_norm": g * k}
            for st in ("at initialization", "after training")
            for i, g in [("zeros", 0.0), ("he_normal", 0.1)]
            for k in (1, 2)
        ]
    )
    table = trainability_table()
    merged = table.assign(
        last_std=[1.0, 0.0, np.inf, 0.5, 2.0],
        grad_ratio=[1.0, np.nan, 3.0, 0.1, 5.0],
        loss=[2.3, np.inf, 2.3, 2.3, 2.3],
    )
    points = table.assign(half_width=0.02)
    return {
        "learning_curves": lambda: plots.learning_curves(curves(), title="t"),
        "learning_curves_col": lambda: plots.learning_curves(
            curves().assign(dataset="mnist"), ["val_accuracy"], col="dataset", title="t"
        ),
        "ci_bars": lambda: plots.ci_bars(curves(), reference={"he_normal": 0.99}, title="t"),
        "weight_histograms": lambda: plots.weight_histograms(
            {"he_normal": np.linspace(-1, 1, 100)}, {"he_normal": (np.linspace(-1, 1, 5), np.full(5, 0.5))}, title="t"
        ),
        "symmetry_curves": lambda: plots.symmetry_curves(sym, title="t"),
        "propagation_profiles": lambda: plots.propagation_profiles(propagation_frame(), title="t"),
        "layer_profile": lambda: plots.layer_profile(propagation_frame(), hue="init", title="t"),
        "ci_points": lambda: plots.ci_points(points, x="depth", hue="init", col="activation", title="t"),
        "diagnostic_scatter": lambda: plots.diagnostic_scatter(merged, title="t"),
        "gradient_norm_profile": lambda: plots.gradient_norm_profile(grads, title="t"),
    }


@pytest.mark.parametrize("name", list(_figures()))
def test_legends_lie_outside_every_axes(name):
    fig = _figures()[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    assert legends, "the figure has a legend"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.axison:
                continue
            overlap = Bbox.intersection(box, ax.get_window_extent(renderer))
            assert overlap is None or overlap.width * overlap.height < 1, (name, ax.get_title())


@pytest.mark.parametrize("name", list(_figures()))
def test_every_figure_has_a_title_and_labelled_axes(name):
    fig = _figures()[name]()
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    axes = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
    assert suptitle or all(ax.get_title() for ax in axes)
    for ax in axes:
        assert ax.get_xlabel()
        assert any(sibling.get_ylabel() for sibling in ax.get_shared_y_axes().get_siblings(ax))  # shared: one says it
