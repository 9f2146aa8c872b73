"""The optimizer notebook's figure (07): accuracy against learning rate, on small synthetic tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from initlab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _table() -> pd.DataFrame:
    """Two settings × two inits × three rates; sgd's largest rate diverged for he_normal, and
    random_normal_001 under sgd sits at 11%."""
    rows = []
    for setting, rates in (("adam", [1e-4, 1e-3, 1e-2]), ("sgd", [0.01, 0.1, 1.0])):
        for init in ("he_normal", "random_normal_001"):
            for k, rate in enumerate(rates):
                mean, diverged = [0.95, 0.97, 0.96][k], 0
                if setting == "sgd" and init == "random_normal_001":
                    mean = 0.11
                if setting == "sgd" and init == "he_normal" and rate == 1.0:
                    mean, diverged = np.nan, 3
                rows.append({"model": "m", "optimizer_setting": setting, "init": init, "learning_rate": rate,
                             "mean": mean, "half_width": 0.004, "runs": 3, "diverged": diverged})
    return pd.DataFrame(rows)


def _best() -> pd.DataFrame:
    return pd.DataFrame({"optimizer_setting": ["adam", "adam", "sgd"], "init": ["he_normal", "random_normal_001",
                                                                                 "he_normal"],
                         "best_rate": [1e-3, 1e-3, 0.1]})


def _markers(ax, marker: str) -> list:
    return [line for line in ax.get_lines() if line.get_marker() == marker and len(line.get_xdata())]


def test_rate_curves_panels_axes_colours_and_legend_outside() -> None:
    fig = plots.rate_curves(_table(), _best(), title="t")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["adam", "sgd"]
    assert all(ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate" for ax in axes)
    assert axes[0].get_ylabel() == "test accuracy (%)" and fig._suptitle.get_text() == "t"
    low, high = axes[0].get_ylim()
    assert high <= 101 and high == pytest.approx(97.4 + 1)  # the highest mean + CI, plus 1
    assert low == pytest.approx(11 - 0.4 - 2)  # the lowest mean - CI, minus 2
    lines = {line.get_label(): line for line in axes[0].get_lines() if not line.get_label().startswith("_")}
    for init in ("he_normal", "random_normal_001"):
        assert mcolors.to_hex(lines[init].get_color()) == plots.init_color(init)
    fig.canvas.draw()
    legend = fig.legends[0]
    box = legend.get_window_extent().transformed(fig.transFigure.inverted())
    assert box.x0 >= axes[-1].get_position().x1  # right of the panels, over no data
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:2] == ["he_normal", "random_normal_001"] and "best rate (validation)" in labels
    assert "every run diverged" in labels and not any(lb.startswith("mean below") for lb in labels)


def test_rate_curves_mark_best_rates_diverged_points_and_the_floor() -> None:
    fig = plots.rate_curves(_table(), _best(), floor=80)
    adam, sgd = fig.axes
    rings = [line for line in adam.get_lines() if line.get_marker() == "o" and line.get_markersize() == 11]
    # nudged sideways by ±half a nudge: both rings sit near 1e-3, at 97%
    assert len(rings) == 2 and all(line.get_ydata()[0] == pytest.approx(97) for line in rings)
    assert all(abs(np.log10(line.get_xdata()[0]) + 3) <= plots.RATE_NUDGE for line in rings)
    assert adam.get_ylim()[0] == 80
    below = _markers(sgd, "v")
    assert len(below) == 1 and np.allclose(below[0].get_ydata(), 80) and len(below[0].get_xdata()) == 3
    crosses = _markers(sgd, "x")
    assert len(crosses) == 1 and crosses[0].get_ydata()[0] == 80 and crosses[0].get_xdata()[0] == pytest.approx(
        1.0 * 10 ** (-plots.RATE_NUDGE / 2))
    # random_normal_001 under sgd sits below the floor: no ring is drawn for an invisible point, and
    # he_normal's ring sits at its best rate 0.1
    sgd_rings = [line for line in sgd.get_lines() if line.get_marker() == "o" and line.get_markersize() == 11]
    assert len(sgd_rings) == 1 and sgd_rings[0].get_ydata()[0] == pytest.approx(97)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "mean below 80%" in labels


def test_rate_curves_without_best_draw_no_rings() -> None:
    fig = plots.rate_curves(_table()[lambda d: d["optimizer_setting"] == "adam"])
    ax = fig.axes[0]
    assert not [line for line in ax.get_lines() if line.get_markersize() == 11]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["he_normal", "random_normal_001"]


def test_rate_curves_label_the_grid_s_rates_and_lay_out_without_warnings() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Tight layout not applied"
        fig = plots.rate_curves(_table(), _best(), floor=80)
    adam, sgd = fig.axes
    assert [t.get_text() for t in adam.get_xticklabels()] == ["0.0001", "0.001", "0.01"]
    assert list(sgd.get_xticks()) == pytest.approx([0.01, 0.1, 1.0])
    assert sgd.get_xlim() == pytest.approx((0.01 / 10 ** plots.RATE_MARGIN, 1.0 * 10 ** plots.RATE_MARGIN))


def test_rate_curves_ignore_a_floor_no_mean_reaches() -> None:
    low = _table().assign(mean=0.3)
    fig = plots.rate_curves(low, floor=80)
    assert fig.axes[0].get_ylim()[0] == pytest.approx(30 - 0.4 - 2)
    assert not _markers(fig.axes[0], "v")
