"""Measuring networks: statistics of a built model, symmetry, float64 arithmetic, and probes over training and depth."""

from initlab.probe.depth import (
    DEFECT_THRESHOLDS,
    GROWTH_THRESHOLD,
    ORTHOGONAL_RELU,
    ORTHOGONAL_RELU_PARAMS,
    classify,
    defect_list,
    defects,
    diagnosis_table,
    growth,
    growth_verdicts,
    init_diagnostics,
    mean_cosine,
    probe_summary,
    propagation_grid,
)
from initlab.probe.float64 import dense_weights64, gradient_norms_float64
from initlab.probe.measure import (
    GRAD_SAMPLES,
    SATURATING,
    SATURATION,
    SIGMOID_SATURATION,
    ZERO_PRONE,
    LayerProbe,
    ProbeResult,
    activation_rows,
    activation_stats,
    gradient_norms,
    kernel_gradients,
    layer_activations,
    layer_statistics,
    probe_rows,
    saturated,
    snapshot_kernels,
    stats_of,
    update_ratio,
    update_ratios,
)
from initlab.probe.propagation import PROPAGATION_COLUMNS, log_slope, signal_propagation
from initlab.probe.runs import (
    PRECISIONS,
    activations_before_after,
    first_adam_step,
    gradients_at_init,
    gradients_at_init_in,
    gradients_before_after,
    track_symmetry,
    track_symmetry_runs,
)
from initlab.probe.symmetry import SymmetryTracker, collapse_identical_units, distinct_units, symmetry_rows, unit_spread
from initlab.probe.tracking import TRACK_COLUMNS, LayerStatsTracker, tracking_overhead

__all__ = [
    "SATURATION", "GRAD_SAMPLES", "SIGMOID_SATURATION", "SATURATING", "ZERO_PRONE", "layer_activations",
    "activation_stats", "gradient_norms", "stats_of", "saturated", "activation_rows", "ProbeResult", "LayerProbe",
    "probe_rows", "layer_statistics", "kernel_gradients", "update_ratio", "snapshot_kernels", "update_ratios",
    "dense_weights64", "gradient_norms_float64", "unit_spread", "SymmetryTracker", "symmetry_rows",
    "distinct_units", "collapse_identical_units", "track_symmetry", "gradients_at_init", "activations_before_after",
    "gradients_before_after", "PRECISIONS", "gradients_at_init_in", "track_symmetry_runs", "first_adam_step",
    "TRACK_COLUMNS", "LayerStatsTracker", "tracking_overhead", "PROPAGATION_COLUMNS", "signal_propagation",
    "log_slope", "GROWTH_THRESHOLD", "ORTHOGONAL_RELU", "ORTHOGONAL_RELU_PARAMS", "DEFECT_THRESHOLDS",
    "propagation_grid", "growth", "classify", "growth_verdicts", "mean_cosine", "probe_summary", "init_diagnostics",
    "defect_list", "defects", "diagnosis_table"
]
