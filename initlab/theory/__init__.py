"""Theory beside training: mean-field signal propagation, its simulation and dynamical isometry."""

from initlab.theory.isometry import (
    KERNELS,
    NEAR,
    concentrated,
    critical_point,
    critical_setups,
    haar_orthogonal,
    jacobian_singular_values,
    random_kernel,
    setup_label,
    spectra,
    spectrum_summary,
)
from initlab.theory.meanfield import (
    ACTIVATIONS,
    BOUNDED,
    CRITICAL_TOL,
    LIMIT,
    LINEAR_GAIN,
    PHASES,
    Q_FLOOR,
    SELU_ALPHA,
    SELU_SCALE,
    activation_functions,
    chi1,
    correlation_map,
    correlation_trajectory,
    critical_line,
    critical_sigma_w2,
    depth_scale,
    fixed_point_c,
    fixed_point_q,
    gauss,
    gauss_pair,
    length_map,
    phase,
    phase_grid,
)
from initlab.theory.simulate import correlation_check, correlation_through_depth, input_pairs, predicted_correlations

__all__ = ["SELU_ALPHA", "SELU_SCALE", "ACTIVATIONS", "LIMIT", "activation_functions", "gauss", "gauss_pair", "length_map", "LINEAR_GAIN", "BOUNDED", "fixed_point_q", "Q_FLOOR", "CRITICAL_TOL", "correlation_map", "chi1", "critical_sigma_w2", "fixed_point_c", "depth_scale", "correlation_trajectory", "critical_line", "PHASES", "phase", "phase_grid", "input_pairs", "correlation_through_depth", "predicted_correlations", "correlation_check", "KERNELS", "NEAR", "haar_orthogonal", "random_kernel", "critical_point", "jacobian_singular_values", "critical_setups", "setup_label", "spectra", "spectrum_summary", "concentrated"]
