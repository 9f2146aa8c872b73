"""Figures in one style: seaborn, titled, labelled axes, one colour per initializer.

Every initializer has the same colour in every figure of every notebook
(:func:`init_color`), and so has every activation (:func:`activation_color`).
Legends sit to the right of the axes, never over the data.

The figures live in modules by topic, all re-exported here (``from initlab import plots;
plots.learning_curves(...)``): :mod:`~initlab.plots.style` (colours, labels, theme),
:mod:`~initlab.plots.curves` (learning curves, intervals, sweeps, learning rates),
:mod:`~initlab.plots.histograms` (distributions and statistics per layer),
:mod:`~initlab.plots.depth` (deep networks) and :mod:`~initlab.plots.theory` (mean-field theory).
"""

from initlab.plots.curves import (
    ACCURACY_MARGIN,
    RATE_MARGIN,
    RATE_NUDGE,
    ci_bars,
    ci_points,
    difference_curves,
    learning_curves,
    rate_curves,
    sweep_lines,
)
from initlab.plots.depth import (
    accuracy_heatmap,
    diagnostic_scatter,
    gradient_norm_profile,
    propagation_profiles,
    trainability_heatmap,
)
from initlab.plots.histograms import (
    gradient_histograms,
    histogram_grid,
    layer_profile,
    layer_stat_curves,
    source_histogram_grid,
    symmetry_curves,
    weight_histograms,
)
from initlab.plots.style import (
    ACTIVATION_COLORS,
    FALLBACK_COLORS,
    INIT_COLORS,
    METRIC_LABELS,
    STATISTIC_LABELS,
    activation_color,
    activation_palette,
    hue_palette,
    init_color,
    init_palette,
    use_style,
)
from initlab.plots.theory import (
    correlation_check_plot,
    depth_scale_curve,
    isometry_share_curves,
    phase_diagram,
    singular_value_histograms,
)

__all__ = [
    # style
    "ACTIVATION_COLORS",
    "FALLBACK_COLORS",
    "INIT_COLORS",
    "METRIC_LABELS",
    "STATISTIC_LABELS",
    "activation_color",
    "activation_palette",
    "hue_palette",
    "init_color",
    "init_palette",
    "use_style",
    # curves
    "ACCURACY_MARGIN",
    "RATE_MARGIN",
    "RATE_NUDGE",
    "ci_bars",
    "difference_curves",
    "ci_points",
    "learning_curves",
    "rate_curves",
    "sweep_lines",
    # histograms
    "gradient_histograms",
    "histogram_grid",
    "layer_profile",
    "layer_stat_curves",
    "source_histogram_grid",
    "symmetry_curves",
    "weight_histograms",
    # depth
    "accuracy_heatmap",
    "diagnostic_scatter",
    "gradient_norm_profile",
    "propagation_profiles",
    "trainability_heatmap",
    # theory
    "correlation_check_plot",
    "depth_scale_curve",
    "isometry_share_curves",
    "phase_diagram",
    "singular_value_histograms",
]
