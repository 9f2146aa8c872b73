"""Curves: accuracy axes kept in [0, 1], sweeps, and accuracy against learning rate (notebook 07)."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from initlab import plots

from .synthetic import curves

# --- learning curves and sweeps -------------------------------------------------------------------


def test_learning_curves_keep_accuracy_in_the_unit_interval_and_zoom_without_hiding_failures():
    noisy = curves(("he_normal",), level={"he_normal": 0.995}, seeds=range(3))
    noisy.loc[noisy["seed"] == 0, ["accuracy", "val_accuracy"]] = 0.90  # a CI band that overshoots 1
    fig = plots.learning_curves(noisy, title="t")
    low, high = fig.axes[0].get_ylim()
    assert high <= 1 + plots.ACCURACY_MARGIN and low >= -plots.ACCURACY_MARGIN
    good = plots.learning_curves(curves(("he_normal", "glorot_uniform")), ["val_accuracy"], title="t")
    assert good.axes[0].get_ylim()[0] > 0.9  # all lines near 0.96-0.98: zoomed
    failing = plots.learning_curves(curves(("he_normal", "zeros")), ["val_accuracy"], title="t")
    assert failing.axes[0].get_ylim()[0] < 0.09  # zeros' line near 0.09-0.11 stays in view
    loss = plots.learning_curves(curves(("he_normal",)), ["loss"], title="t")
    assert loss.axes[0].get_ylim() != pytest.approx((-0.01, 1.01))  # losses are not clipped like accuracies


def test_sweep_lines_draws_one_line_per_initializer_on_a_log_axis() -> None:
    table = pd.DataFrame(
        {
            "point": [f"p{i}" for i in range(6)],
            "learning_rate": [1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2],
            "name": ["test_accuracy/he_normal", "test_accuracy/zeros"] * 3,
            "number": [0.9, 0.1, 0.95, 0.1, 0.5, 0.1],
        }
    )
    fig = plots.sweep_lines(table, "learning_rate", "test_accuracy", title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t" and ax.get_xlabel() == "learning rate"
    assert len(ax.get_lines()) >= 2
    with pytest.raises(ValueError, match="no values named loss"):
        plots.sweep_lines(table, "learning_rate", "loss")


# --- accuracy against learning rate ---------------------------------------------------------------


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
                rows.append(
                    {
                        "model": "m",
                        "optimizer_setting": setting,
                        "init": init,
                        "learning_rate": rate,
                        "mean": mean,
                        "half_width": 0.004,
                        "runs": 3,
                        "diverged": diverged,
                    }
                )
    return pd.DataFrame(rows)


def _best() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "optimizer_setting": ["adam", "adam", "sgd"],
            "init": ["he_normal", "random_normal_001", "he_normal"],
            "best_rate": [1e-3, 1e-3, 0.1],
        }
    )


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
    assert (
        len(crosses) == 1
        and crosses[0].get_ydata()[0] == 80
        and crosses[0].get_xdata()[0] == pytest.approx(1.0 * 10 ** (-plots.RATE_NUDGE / 2))
    )
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
    assert sgd.get_xlim() == pytest.approx((0.01 / 10**plots.RATE_MARGIN, 1.0 * 10**plots.RATE_MARGIN))


def test_rate_curves_ignore_a_floor_no_mean_reaches() -> None:
    low = _table().assign(mean=0.3)
    fig = plots.rate_curves(low, floor=80)
    assert fig.axes[0].get_ylim()[0] == pytest.approx(30 - 0.4 - 2)
    assert not _markers(fig.axes[0], "v")
