"""Histograms: each panel in its initializer's colour."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np

from initlab import plots


def test_weight_histograms_colour_each_panel_by_its_init():
    fig = plots.weight_histograms(
        {"he_normal": np.random.default_rng(0).normal(size=500), "ones": np.ones(10)}, {}, title="t", ncols=2
    )
    hist = fig.axes[0].patches[0]
    assert mcolors.to_rgb(hist.get_facecolor()) == mcolors.to_rgb(plots.init_color("he_normal"))
    assert mcolors.to_rgb(fig.axes[1].lines[0].get_color()) == mcolors.to_rgb(plots.init_color("ones"))
