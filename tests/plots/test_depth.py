"""Deep networks' figures: readable y-ranges with marked exits, labelled heatmap cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab import plots
from initlab.plots.depth import _band_exits

from .synthetic import cell_texts, legend_colors, propagation_frame, trainability_table

# --- y-ranges -------------------------------------------------------------------------------------


def test_propagation_profile_clips_huge_ranges_and_marks_the_exits():
    fig = plots.propagation_profiles(propagation_frame(), title="t")
    wide, narrow = fig.axes[0], fig.axes[1]
    assert wide.get_title() == "linear" and narrow.get_title() == "tanh"
    assert wide.get_ylim() == pytest.approx((1e-12, 1e12))
    drawn = np.concatenate([line.get_ydata() for line in wide.lines if line.get_marker() not in ("^", "v")])
    assert np.nanmax(drawn) <= 1e12 and np.nanmin(drawn) >= 1e-12
    marks = {
        line.get_marker(): (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
        for line in wide.lines
        if line.get_marker() in ("^", "v")
    }
    # 10^(1.5k) first exceeds 1e12 at k = 9; 10^(-k) first falls below 1e-12 at k = 13
    assert marks == {"^": (9.0, 1e12), "v": (13.0, 1e-12)}
    # the quiet panel zooms on its values (0.5 to 2, a factor 3 either side)
    assert narrow.get_ylim() == pytest.approx((0.5 / 3, 6.0))
    labels = legend_colors(fig)
    assert any("inf or NaN" in label for label in labels) and any("or 0" in label for label in labels)


@pytest.mark.parametrize(
    "inside, marks",
    [
        ([True, True, False, False], [2]),  # leaves after layer 2
        ([False, False, True, True], [1]),  # enters at layer 3 (a gradient read backwards)
        ([True, False, False, True], [1, 2]),  # out and back in
        ([False, True, False], [0, 2]),  # a lone point inside
        ([False, False], [0]),  # never inside
        ([True, True], []),
    ],
)
def test_band_exits(inside, marks):
    assert _band_exits(np.array(inside)) == marks


def test_propagation_profile_marks_a_gradient_that_enters_the_band_and_draws_a_lone_point():
    frame = pd.DataFrame(
        {
            "activation": "relu",
            "init": ["zeros"] * 4 + ["ones"] * 4,
            "layer_index": [1, 2, 3, 4] * 2,
            "statistic": "activation_grad_norm",
            "value": [0, 0, 0.1, 0.2, 0, 0, 0, 0.5],
        }
    )
    ax = plots.propagation_profiles(frame, "activation_grad_norm", title="t").axes[0]
    marks = sorted((line.get_marker(), float(line.get_xdata()[0])) for line in ax.lines if line.get_marker() == "v")
    assert marks == [("v", 2.0), ("v", 3.0)]
    dots = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
    assert [(float(d.get_xdata()[0]), float(d.get_ydata()[0])) for d in dots] == [(4.0, 0.5)]
    assert ax.get_ylim() == pytest.approx((1e-12, 0.5 * 3))


def test_propagation_profile_counts_an_overflow_at_the_first_layer_as_an_exit():
    frame = pd.DataFrame(
        {
            "activation": "relu",
            "init": "ones",
            "layer_index": [1, 2],
            "statistic": "activation_std",
            "value": [np.nan, np.nan],
        }
    )
    ax = plots.propagation_profiles(frame, title="t").axes[0]
    marks = [(line.get_marker(), float(line.get_xdata()[0])) for line in ax.lines if line.get_marker() == "^"]
    assert marks == [("^", 1.0)]


# --- heatmap --------------------------------------------------------------------------------------


def test_heatmap_labels_diverged_nan_and_missing_cells():
    fig = plots.accuracy_heatmap(trainability_table(), title="t")
    # rows: he_normal, zeros; columns: (relu, 5), (tanh, 5), (relu, 20)
    assert cell_texts(fig) == {
        (0, 0): "95",
        (1, 0): "diverged",
        (0, 1): "div. 1/3",
        (1, 1): "NaN",
        (0, 2): "30",
        (1, 2): "n/a",
    }


def test_heatmap_without_status_reads_the_diverged_count():
    texts = cell_texts(plots.accuracy_heatmap(trainability_table(with_status=False), title="t"))
    assert texts[(1, 0)] == "diverged" and texts[(0, 1)] == "div. 1/3" and texts[(1, 1)] == "NaN"


def test_trainability_heatmap_labels_cells_and_draws_the_depth_scale() -> None:
    table = pd.DataFrame(
        [
            {"sigma_w2": 1.0, "depth": 4, "mean": 0.9, "diverged": 0, "grade": "trains", "trained": 3, "runs": 3},
            {"sigma_w2": 2.0, "depth": 4, "mean": 0.5, "diverged": 0, "grade": "mixed", "trained": 2, "runs": 3},
            {"sigma_w2": 1.0, "depth": 16, "mean": np.nan, "diverged": 3, "grade": "fails", "trained": 0, "runs": 3},
        ]
    )  # (2.0, 16) is missing
    curve = pd.DataFrame({"sigma_w2": [0.5, 1.0, 1.5, 2.0, 3.0], "max_depth": [2.0, 8.0, 1e9, 8.0, 2.0]})
    fig = plots.trainability_heatmap(table, curve, title="t")
    ax = fig.axes[0]
    assert cell_texts(fig) == {(0, 0): "90", (0, 1): "50\n2/3", (1, 0): "diverged"}
    assert ax.get_title() == "t" and ax.get_xlabel() == "σ_w²" and ax.get_ylabel() == "depth (hidden layers)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["4", "16"]
    line = ax.lines[0]
    assert list(line.get_xdata()) == pytest.approx([0.0, 0.5, 1.0])  # only σ_w² within the grid
    assert line.get_ydata()[1] == pytest.approx(1.5)  # off-scale: along the top edge
