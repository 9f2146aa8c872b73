"""Figures: one fixed palette, legends beside the data, readable y-ranges, labelled heatmap cells.

Small synthetic frames only (no training).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from initlab import plots  # noqa: E402
from initlab.initializers import init_names  # noqa: E402
from initlab.models import ACTIVATIONS  # noqa: E402
from initlab.plots.depth import _band_exits  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout.split()[-2:].__repr__())
    assert outputs == {[plots.init_color("my_custom_init"), plots.activation_color("swish")].__repr__()}


def test_two_unknown_names_with_the_same_fallback_differ_within_a_figure():
    n = len(plots.FALLBACK_COLORS)
    first = "custom_0"
    twin = next(f"custom_{k}" for k in range(1, 1000)
                if zlib.crc32(f"custom_{k}".encode()) % n == zlib.crc32(first.encode()) % n)
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


# --- synthetic frames -----------------------------------------------------------------------------

def curves(inits=("he_normal", "zeros"), epochs=3, seeds=(0, 1, 2), level=None) -> pd.DataFrame:
    """A study frame: accuracy rising to ``level[init]`` (default 0.98; zeros 0.11), a little seed noise."""
    level = level or {}
    rows = []
    for init, seed, epoch in itertools.product(inits, seeds, range(1, epochs + 1)):
        top = level.get(init, 0.11 if init == "zeros" else 0.98)
        acc = top - 0.01 * (epochs - epoch) + 0.003 * (seed - 1)
        rows.append({"dataset": "mnist", "model": "mlp", "init": init, "seed": seed, "epoch": epoch,
                     "accuracy": acc, "val_accuracy": acc - 0.002, "loss": 1 - acc, "val_loss": 1.01 - acc,
                     "test_accuracy": acc - 0.004, "status": "ok"})
    return pd.DataFrame(rows)


def propagation_frame() -> pd.DataFrame:
    """Two panels: ``linear`` spans 1e-30..1e45 (then inf or 0), ``tanh`` stays within 0.5..2."""
    k = np.arange(1, 31)
    lines = {("linear", "random_normal_1"): np.append(10.0 ** (1.5 * k[:-1]), np.inf),
             ("linear", "random_normal_001"): np.append(10.0 ** (-1.0 * k[:-1]), 0.0),
             ("linear", "he_normal"): np.ones(30),
             ("tanh", "random_normal_1"): np.full(30, 2.0),
             ("tanh", "random_normal_001"): np.full(30, 0.5),
             ("tanh", "he_normal"): np.ones(30)}
    return pd.DataFrame([{"activation": act, "init": init, "layer_index": int(i), "statistic": "activation_std",
                          "value": float(v)} for (act, init), vals in lines.items() for i, v in zip(k, vals)])


def trainability_table(with_status: bool = True) -> pd.DataFrame:
    rows = [("relu", 5, "he_normal", 0.951, 3, 0, "trains"),
            ("relu", 5, "zeros", np.nan, 0, 3, "diverged"),
            ("tanh", 5, "he_normal", 0.5, 2, 1, "diverged"),
            ("tanh", 5, "zeros", np.nan, 0, 0, "fails"),
            ("relu", 20, "he_normal", 0.304, 3, 0, "partial")]  # (relu, 20, zeros) is missing
    t = pd.DataFrame(rows, columns=["activation", "depth", "init", "mean", "n", "diverged", "status"])
    return t if with_status else t.drop(columns="status")


def cell_texts(fig) -> dict[tuple[int, int], str]:
    """A heatmap's cell labels by (row, column)."""
    ax = fig.axes[0]
    return {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}


# --- colours in figures ---------------------------------------------------------------------------

def legend_colors(fig) -> dict[str, tuple]:
    """Label -> RGB of every legend entry of a figure (axes and figure legends)."""
    out = {}
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            color = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
            out[text.get_text()] = mcolors.to_rgb(np.ravel(color)[:4] if not isinstance(color, str) else color)
    return out


def test_an_init_has_the_same_colour_in_every_figure():
    he = mcolors.to_rgb(plots.init_color("he_normal"))
    lc = legend_colors(plots.learning_curves(curves(("zeros", "glorot_uniform", "he_normal")), title="t"))
    pp = legend_colors(plots.propagation_profiles(propagation_frame(), title="t"))
    assert lc["he_normal"] == pp["he_normal"] == he
    assert lc["zeros"] == mcolors.to_rgb(plots.init_color("zeros"))
    # ci_bars: the seed dots of he_normal (second in the order) are he_normal's colour
    fig = plots.ci_bars(curves(("zeros", "he_normal")), order=["zeros", "he_normal"], title="t")
    dots = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 3]
    by_x = {round(float(c.get_offsets()[0][0])): mcolors.to_rgb(c.get_facecolor()[0]) for c in dots}
    assert by_x[1] == he and by_x[0] == mcolors.to_rgb(plots.init_color("zeros"))


def test_weight_histograms_colour_each_panel_by_its_init():
    fig = plots.weight_histograms({"he_normal": np.random.default_rng(0).normal(size=500), "ones": np.ones(10)},
                                  {}, title="t", ncols=2)
    hist = fig.axes[0].patches[0]
    assert mcolors.to_rgb(hist.get_facecolor()) == mcolors.to_rgb(plots.init_color("he_normal"))
    assert mcolors.to_rgb(fig.axes[1].lines[0].get_color()) == mcolors.to_rgb(plots.init_color("ones"))


# --- legends and labels ---------------------------------------------------------------------------

def _figures():
    sym = pd.DataFrame([{"init": i, "layer": "hidden_1", "epoch": e, "unit_spread": s, "distinct_units": d}
                        for i, s, d in [("zeros", 0.0, 1), ("he_normal", 0.5, 128)] for e in range(3)])
    grads = pd.DataFrame([{"stage": st, "init": i, "layer": f"hidden_{k}", "kernel_grad_norm": g * k}
                          for st in ("at initialization", "after training")
                          for i, g in [("zeros", 0.0), ("he_normal", 0.1)] for k in (1, 2)])
    table = trainability_table()
    merged = table.assign(last_std=[1.0, 0.0, np.inf, 0.5, 2.0], grad_ratio=[1.0, np.nan, 3.0, 0.1, 5.0],
                          loss=[2.3, np.inf, 2.3, 2.3, 2.3])
    points = table.assign(half_width=0.02)
    return {
        "learning_curves": lambda: plots.learning_curves(curves(), title="t"),
        "learning_curves_col": lambda: plots.learning_curves(curves().assign(dataset="mnist"), ["val_accuracy"],
                                                             col="dataset", title="t"),
        "ci_bars": lambda: plots.ci_bars(curves(), reference={"he_normal": 0.99}, title="t"),
        "weight_histograms": lambda: plots.weight_histograms(
            {"he_normal": np.linspace(-1, 1, 100)}, {"he_normal": (np.linspace(-1, 1, 5), np.full(5, 0.5))}, title="t"),
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


# --- y-ranges -------------------------------------------------------------------------------------

def test_propagation_profile_clips_huge_ranges_and_marks_the_exits():
    fig = plots.propagation_profiles(propagation_frame(), title="t")
    wide, narrow = fig.axes[0], fig.axes[1]
    assert wide.get_title() == "linear" and narrow.get_title() == "tanh"
    assert wide.get_ylim() == pytest.approx((1e-12, 1e12))
    drawn = np.concatenate([line.get_ydata() for line in wide.lines if line.get_marker() not in ("^", "v")])
    assert np.nanmax(drawn) <= 1e12 and np.nanmin(drawn) >= 1e-12
    marks = {line.get_marker(): (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
             for line in wide.lines if line.get_marker() in ("^", "v")}
    # 10^(1.5k) first exceeds 1e12 at k = 9; 10^(-k) first falls below 1e-12 at k = 13
    assert marks == {"^": (9.0, 1e12), "v": (13.0, 1e-12)}
    # the quiet panel zooms on its values (0.5 to 2, a factor 3 either side)
    assert narrow.get_ylim() == pytest.approx((0.5 / 3, 6.0))
    labels = legend_colors(fig)
    assert any("inf or NaN" in label for label in labels) and any("or 0" in label for label in labels)


@pytest.mark.parametrize("inside, marks", [
    ([True, True, False, False], [2]),  # leaves after layer 2
    ([False, False, True, True], [1]),  # enters at layer 3 (a gradient read backwards)
    ([True, False, False, True], [1, 2]),  # out and back in
    ([False, True, False], [0, 2]),  # a lone point inside
    ([False, False], [0]),  # never inside
    ([True, True], []),
])
def test_band_exits(inside, marks):
    assert _band_exits(np.array(inside)) == marks


def test_propagation_profile_marks_a_gradient_that_enters_the_band_and_draws_a_lone_point():
    frame = pd.DataFrame({"activation": "relu", "init": ["zeros"] * 4 + ["ones"] * 4, "layer_index": [1, 2, 3, 4] * 2,
                          "statistic": "activation_grad_norm", "value": [0, 0, 0.1, 0.2, 0, 0, 0, 0.5]})
    ax = plots.propagation_profiles(frame, "activation_grad_norm", title="t").axes[0]
    marks = sorted((line.get_marker(), float(line.get_xdata()[0])) for line in ax.lines if line.get_marker() == "v")
    assert marks == [("v", 2.0), ("v", 3.0)]
    dots = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
    assert [(float(d.get_xdata()[0]), float(d.get_ydata()[0])) for d in dots] == [(4.0, 0.5)]
    assert ax.get_ylim() == pytest.approx((1e-12, 0.5 * 3))


def test_propagation_profile_counts_an_overflow_at_the_first_layer_as_an_exit():
    frame = pd.DataFrame({"activation": "relu", "init": "ones", "layer_index": [1, 2], "statistic": "activation_std",
                          "value": [np.nan, np.nan]})
    ax = plots.propagation_profiles(frame, title="t").axes[0]
    marks = [(line.get_marker(), float(line.get_xdata()[0])) for line in ax.lines if line.get_marker() == "^"]
    assert marks == [("^", 1.0)]


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


# --- heatmap --------------------------------------------------------------------------------------

def test_heatmap_labels_diverged_nan_and_missing_cells():
    fig = plots.accuracy_heatmap(trainability_table(), title="t")
    # rows: he_normal, zeros; columns: (relu, 5), (tanh, 5), (relu, 20)
    assert cell_texts(fig) == {(0, 0): "95", (1, 0): "diverged", (0, 1): "div. 1/3", (1, 1): "NaN",
                               (0, 2): "30", (1, 2): "n/a"}


def test_heatmap_without_status_reads_the_diverged_count():
    texts = cell_texts(plots.accuracy_heatmap(trainability_table(with_status=False), title="t"))
    assert texts[(1, 0)] == "diverged" and texts[(0, 1)] == "div. 1/3" and texts[(1, 1)] == "NaN"


def test_sweep_lines_draws_one_line_per_initializer_on_a_log_axis() -> None:
    table = pd.DataFrame({"point": [f"p{i}" for i in range(6)], "learning_rate": [1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2],
                          "name": ["test_accuracy/he_normal", "test_accuracy/zeros"] * 3,
                          "number": [0.9, 0.1, 0.95, 0.1, 0.5, 0.1]})
    fig = plots.sweep_lines(table, "learning_rate", "test_accuracy", title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t" and ax.get_xlabel() == "learning rate"
    assert len(ax.get_lines()) >= 2
    with pytest.raises(ValueError, match="no values named loss"):
        plots.sweep_lines(table, "learning_rate", "loss")
