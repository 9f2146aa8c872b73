"""One fixed palette: a colour per initializer and per activation, the same in every figure."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zlib

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from initlab import plots
from initlab.errors import InvalidArgumentError
from initlab.nets.initializers import init_names
from initlab.nets.models import ACTIVATIONS

from .synthetic import curves, legend_colors, propagation_frame


def lab(color: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour, written out here so the test does not trust the module."""
    rgb = np.asarray(mcolors.to_rgb(color))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str) -> float:
    return float(np.linalg.norm(lab(a) - lab(b)))


def test_lab_reference_values():
    np.testing.assert_allclose(lab("#ffffff"), [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab("#ff0000"), [53.24, 80.09, 67.20], atol=0.1)  # the published sRGB red


# --- palette --------------------------------------------------------------------------------------


def test_every_registered_init_has_its_own_colour():
    names = [*init_names(), "orthogonal_gain_sqrt2"]
    colors = {name: plots.init_color(name) for name in names}
    assert set(names) <= set(plots.INIT_COLORS)  # none relies on a fallback
    for a, b in itertools.combinations(names, 2):
        assert delta_e(colors[a], colors[b]) >= 20, (a, b)
    for name in names:  # dark enough to read as a line on white
        assert lab(colors[name])[0] <= 82, name


def test_palette_is_the_same_mapping_in_any_order():
    names = ["he_normal", "zeros", "glorot_uniform"]
    assert plots.init_palette(names) == plots.init_palette(names[::-1])
    assert plots.init_palette(names) == {n: plots.INIT_COLORS[n] for n in names}


def test_unknown_names_get_a_fixed_fallback_distinct_from_the_mapped_colours():
    color = plots.init_color("my_custom_init")
    assert color == plots.FALLBACK_COLORS[zlib.crc32(b"my_custom_init") % len(plots.FALLBACK_COLORS)]
    for mapped in plots.INIT_COLORS.values():
        assert delta_e(color, mapped) >= 15
    for fallback in plots.FALLBACK_COLORS:
        assert fallback not in plots.INIT_COLORS.values()
    for a, b in itertools.combinations(plots.FALLBACK_COLORS, 2):
        assert delta_e(a, b) >= 20


def test_fallback_does_not_depend_on_the_interpreter_hash_seed():
    code = "from initlab import plots; print(plots.init_color('my_custom_init'), plots.activation_color('swish'))"
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            .stdout.split()[-2:]
            .__repr__()
        )
    assert outputs == {[plots.init_color("my_custom_init"), plots.activation_color("swish")].__repr__()}


def test_two_unknown_names_with_the_same_fallback_differ_within_a_figure():
    n = len(plots.FALLBACK_COLORS)
    first = "custom_0"
    twin = next(
        f"custom_{k}"
        for k in range(1, 1000)
        if zlib.crc32(f"custom_{k}".encode()) % n == zlib.crc32(first.encode()) % n
    )
    assert plots.init_color(first) == plots.init_color(twin)
    palette = plots.init_palette([first, twin, "he_normal"])
    assert palette[first] == plots.init_color(first)  # the first keeps its colour
    assert palette[twin] != palette[first]
    assert palette["he_normal"] == plots.INIT_COLORS["he_normal"]


def test_activation_palette_covers_every_activation_distinctly():
    colors = [plots.activation_color(a) for a in ACTIVATIONS]
    assert set(ACTIVATIONS) <= set(plots.ACTIVATION_COLORS)
    for a, b in itertools.combinations(colors, 2):
        assert delta_e(a, b) >= 20
    assert plots.hue_palette("activation", ["relu", "tanh"]) == {"relu": "#0072b2", "tanh": "#e69f00"}
    assert plots.hue_palette("dataset", ["mnist"]) is None


# --- colours in figures ---------------------------------------------------------------------------


DISTINCT = {"glorot_uniform": 0.97}  # glorot and he would otherwise draw the same curve


def test_an_init_has_the_same_colour_in_every_figure():
    he = mcolors.to_rgb(plots.init_color("he_normal"))
    lc = legend_colors(
        plots.learning_curves(curves(("zeros", "glorot_uniform", "he_normal"), level=DISTINCT), title="t")
    )
    pp = legend_colors(plots.propagation_profiles(propagation_frame(), title="t"))
    assert lc["he_normal"] == pp["he_normal"] == he
    assert lc["zeros"] == mcolors.to_rgb(plots.init_color("zeros"))
    # ci_bars: the seed dots of he_normal (second in the order) are he_normal's colour
    fig = plots.ci_bars(curves(("zeros", "he_normal")), order=["zeros", "he_normal"], title="t")
    dots = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 3]
    by_x = {round(float(c.get_offsets()[0][0])): mcolors.to_rgb(c.get_facecolor()[0]) for c in dots}
    assert by_x[1] == he and by_x[0] == mcolors.to_rgb(plots.init_color("zeros"))


def test_ci_bars_draw_a_prediction_interval_for_one_run_when_asked():
    """A paper's single run is judged against where one new run lands: t·s·√(1 + 1/n), wider than the CI."""
    df = curves(("zeros", "he_normal"))

    def half_widths(fig):
        bars = fig.axes[0].containers[0]  # the errorbar container: its vertical segments
        return [float(seg[1, 1] - seg[0, 1]) / 2 for seg in bars.lines[2][0].get_segments()]

    ci, pi = plots.ci_bars(df, title="t"), plots.ci_bars(df, title="t", interval="pi")
    n = 3  # seeds in ``curves``
    for c, p in zip(half_widths(ci), half_widths(pi)):
        assert p == pytest.approx(c * np.sqrt(n + 1), rel=1e-9) or c == p == 0  # s·√(1+1/n) against s/√n
    labels = [t.get_text() for t in pi.axes[0].get_legend().get_texts()]
    assert "mean ± 95% PI, one run" in labels
    with pytest.raises(InvalidArgumentError, match="interval"):
        plots.ci_bars(df, title="t", interval="sd")


def test_a_curve_hidden_under_another_says_so_in_the_legend():
    df = curves(("zeros", "ones", "he_normal"), level={"zeros": 0.11, "ones": 0.11})  # zeros and ones coincide
    fig = plots.learning_curves(df, ["accuracy"], title="t")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "ones (= zeros, drawn under it)" in labels and "he_normal" in labels and "zeros" in labels


def test_epoch_ticks_stay_few_and_end_at_the_last_epoch():
    assert plots.curves.epoch_ticks(range(1, 6)) == [1, 2, 3, 4, 5]
    assert plots.curves.epoch_ticks(range(1, 21)) == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert len(plots.curves.epoch_ticks(range(1, 101))) <= plots.curves.MAX_TICKS


def test_difference_curves_draw_each_initializer_against_the_reference_in_its_seed():
    df = curves(("zeros", "he_normal", "glorot_uniform"), level={"glorot_uniform": 0.97})
    fig = plots.difference_curves(df, "accuracy", reference="he_normal", title="t")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["zeros", "glorot_uniform"]  # the reference is the zero line
    glorot = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) == 3][1]
    assert np.allclose(glorot.get_ydata(), -1.0)  # 0.97 - 0.98, in percentage points, in every epoch
    with pytest.raises(InvalidArgumentError, match="reference"):
        plots.difference_curves(df, "accuracy", reference="orthogonal")


def test_histogram_grid_keeps_the_whole_sample_as_its_density():
    """Values outside the window are not renormalised away: the bars hold the share inside, the note the rest."""
    a = np.concatenate([np.zeros(50), np.full(25, 0.5), np.full(25, 3.0)])  # a quarter beyond xlim = (-1, 1)
    fig = plots.histogram_grid({"he_normal": {"hidden_1": a}}, title="t", xlim=(-1, 1), bins=4)
    ax = fig.axes[0]
    values, edges, _ = ax.patches[0].get_data()  # the stairs: densities over the bins of the window
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "50% exactly 0" in texts and "25.0% outside the window" in texts
    assert float(np.sum(values * np.diff(edges))) == pytest.approx(0.75)  # the share inside the window


def test_symmetry_curves_name_the_inits_drawn_under_another():
    sym = pd.DataFrame(
        [
            {"init": i, "seed": 0, "epoch": e, "layer": "hidden_1", "unit_spread": s, "distinct_units": n}
            for i, s, n in [("zeros", 0.0, 1), ("ones", 0.0, 1), ("he_normal", 0.5, 128)]
            for e in (0, 1, 2)
        ]
    )
    labels = [t.get_text() for t in plots.symmetry_curves(sym, title="t").axes[1].get_legend().get_texts()]
    assert labels == ["zeros", "ones (= zeros, drawn under it)", "he_normal"]


def test_propagation_profiles_name_a_line_drawn_on_another_in_its_panel():
    frame = propagation_frame()
    same = frame[(frame["activation"] == "tanh") & (frame["init"] == "he_normal")].assign(init="glorot_uniform")
    fig = plots.propagation_profiles(pd.concat([frame, same], ignore_index=True), title="t")
    notes = {ax.get_title(): " ".join(t.get_text() for t in ax.texts) for ax in fig.axes if ax.get_title()}
    assert "on one line: he_normal, glorot_uniform" in notes["tanh"] and "on one line" not in notes["linear"]
    apart = {"a": pd.Series([1.0, 10.0]), "b": pd.Series([1.02, 10.3]), "c": pd.Series([5.0, 50.0])}
    assert plots.depth.overlapping_lines(apart, 0.05) == [["a", "b"]]  # within 0.05 decades: a and b only
    assert plots.depth.overlapping_lines({"a": pd.Series([0.0, 1.0]), "b": pd.Series([0.0, 1.0])}, 0.05) == []
