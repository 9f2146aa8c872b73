"""Mean-field figures (notebook 08): phase diagram, depth scale, correlation check, Jacobian spectra."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab import plots


def phase_inputs(unbounded: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """χ₁ = σ_w²/2 on a grid for two activations (relu's corner without a finite q* if ``unbounded``),
    the critical line σ_w² = 2, named scales (lecun and glorot at one point) and three trained nets."""
    grid = pd.DataFrame(
        [
            {
                "activation": a,
                "sigma_w2": w,
                "sigma_b2": b,
                "chi1": np.inf if unbounded and a == "relu" and w > 3 else w / 2,
            }
            for a in ("tanh", "relu")
            for w in (0.5, 1.0, 2.0, 4.0)
            for b in (0.0, 0.1)
        ]
    )
    critical = pd.DataFrame(
        [{"activation": a, "sigma_b2": b, "sigma_w2": 2.0} for a in ("tanh", "relu") for b in (0.0, 0.1)]
    )
    points = pd.DataFrame(
        [
            {"scale": s, "activation": "tanh", "sigma_w2": w, "sigma_b2": 0.0}
            for s, w in (("lecun", 1.0), ("glorot", 1.0), ("he", 2.0))
        ]
    )
    trained = pd.DataFrame({"activation": "tanh", "sigma_w2": [1.0, 2.0], "sigma_b2": 0.05})
    return grid, critical, points, trained


def test_phase_diagram_panels_named_scales_and_legend() -> None:
    grid, critical, points, trained = phase_inputs()
    fig = plots.phase_diagram(grid, critical, points, trained=trained, title="t")
    tanh, relu, bar = fig.axes
    assert [tanh.get_title(), relu.get_title()] == ["tanh", "relu"] and fig._suptitle.get_text() == "t"
    assert bar.get_ylabel().startswith("log₂ χ₁")
    assert sorted(t.get_text() for t in tanh.texts) == ["he", "lecun, glorot"]  # one label per point
    assert not relu.texts
    assert tanh.get_xlim() == (0.5, 4.0) and tanh.get_ylim() == (0.0, 0.1)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == ["critical line (χ₁ = 1)", "named scales", "trained nets"]
    assert any("no finite q*" in label for label in labels)


def test_phase_diagram_legend_without_trained_nets_or_unbounded_cells() -> None:
    grid, critical, _, _ = phase_inputs(unbounded=False)
    fig = plots.phase_diagram(grid, critical)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["critical line (χ₁ = 1)", "named scales"]


def test_depth_scale_curve_draws_the_studied_depths() -> None:
    curve = pd.DataFrame(
        {"activation": "tanh", "sigma_w2": [1.0, 2.0, 3.0], "sigma_b2": 0.05, "max_depth": [30.0, np.inf, 40.0]}
    )
    ax = plots.depth_scale_curve(curve, (10, 100), title="t").axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert [line.get_ydata()[0] for line in dotted] == [10, 100]
    assert ax.get_legend().get_texts()[0].get_text() == "tanh, σ_b² = 0.05"
    assert np.isnan(ax.lines[0].get_ydata()[1])  # an infinite depth scale is not drawn


def test_correlation_check_plot_one_panel_per_weight_variance() -> None:
    check = pd.DataFrame(
        [
            {
                "sigma_w2": w,
                "sigma_b2": 0.05,
                "c0": c0,
                "layer": layer,
                "seed": seed,
                "predicted": c0,
                "correlation": c0 + 0.01 * seed,
            }
            for w in (1.0, 2.0)
            for c0 in (0.2, 0.8)
            for layer in (1, 2, 3)
            for seed in range(3)
        ]
    )
    fig = plots.correlation_check_plot(check, title="t")
    assert [ax.get_title() for ax in fig.axes] == ["σ_w² = 1, σ_b² = 0.05", "σ_w² = 2, σ_b² = 0.05"]
    assert fig.axes[0].get_ylabel() == "correlation of the two inputs" and fig.axes[0].get_ylim()[1] == 1.05
    labels = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert labels == ["mean-field prediction", "simulated (mean ± 95% CI)", "c⁰ = 0.2", "c⁰ = 0.8"]


def test_singular_value_histograms_show_shares_per_depth() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        [
            {"setup": s, "kernel": k, "depth": d, "singular_value": v}
            for s in ("tanh", "relu")
            for k in ("gaussian", "orthogonal")
            for d in (2, 8)
            for v in [*np.abs(rng.normal(1, 0.3, 20)), 0.0]
        ]
    )
    fig = plots.singular_value_histograms(frame, title="t")
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "tanh, gaussian"
    for ax in fig.axes:
        shares = [patch.get_data().values.sum() for patch in ax.patches]
        assert shares == pytest.approx([1.0, 1.0])  # one curve per depth, every value counted (0 in the first bin)
    assert fig.axes[1].get_legend().get_title().get_text() == "depth"


def test_isometry_share_curves_dash_a_second_setup_of_one_activation() -> None:
    summary = pd.DataFrame(
        [
            {"kernel": k, "setup": s, "activation": a, "depth": d, "near_share": 0.5}
            for k in ("gaussian", "orthogonal")
            for s, a in (("tanh", "tanh"), ("tanh, σ_b² = 0.1", "tanh"), ("relu", "relu"))
            for d in (2, 8, 32)
        ]
    )
    fig = plots.isometry_share_curves(summary, title="t")
    ax = fig.axes[0]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", "-"]
    assert ax.lines[0].get_color() == ax.lines[1].get_color() == plots.activation_color("tanh")
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32"]
    assert ax.get_ylim() == (-2, 102)
