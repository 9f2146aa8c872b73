"""What the criticality notebook (08) found: mean-field predictions beside training, and the sources on the map.

* *Trainability* (Schoenholz et al. 2017): a plain tanh net of depth ``L`` trains only when ``L``
  is below about ``6 ξ_c``. Each (``σ_w²``, depth) cell trains over a grid of SGD learning rates
  (:mod:`~initlab.findings.criticality.grid`), is judged at each budget at its best rate on
  validation, and the depth limit is estimated from the cells as ``k ξ_c`` with an interval
  (:mod:`~initlab.findings.criticality.bound`).
* *Dynamical isometry* (Saxe et al. 2014; Pennington et al. 2017): per activation, orthogonal
  against Gaussian kernels of the same variance, each at its best rate, in learning speed, paired
  by seed, one Holm family; the Jacobian spectra predict the side whose singular values lie nearer
  1 (:mod:`~initlab.findings.criticality.isometry`).
* *The sources*: the Glorot, LeCun and He scales as points (``σ_w²``, ``σ_b² = 0``) of the phase
  diagram, and ``002``'s and ``004``'s claims in its terms (:mod:`~initlab.findings.criticality.text`).
"""

from initlab.findings.criticality.bound import (
    DEPTH_FACTOR,
    PHASE_WORDS,
    PHASES,
    RESAMPLES,
    bound_reading,
    bound_text,
    bound_verdict,
    boundary_fit,
    boundary_growth,
    cell_grades,
    cell_table,
    fit_table,
    fmt_k,
    max_depths,
    phase_verdicts,
    separating_range,
)
from initlab.findings.criticality.grid import (
    CELL,
    INIT_KERNEL,
    ISOMETRY_CELL,
    KERNEL_INIT,
    RATE_LIMITS,
    at_chosen,
    budget_scores,
    chosen_rates,
    gaussian_params,
    isometry_runs,
    net_params,
    trainability_runs,
)
from initlab.findings.criticality.isometry import (
    ISOMETRY_FAMILY,
    MARGIN_CLAIM,
    agreement,
    agreement_counts,
    at_best,
    isometry_rates,
    isometry_tests,
    isometry_text,
    mean_sq_table,
    rate_table,
    spectrum_table,
    speed_runs,
    speed_table,
)
from initlab.findings.criticality.text import (
    ADVICE_002,
    NAMED_SCALES,
    advice_reading,
    advice_verdict,
    findings_text,
    named_points,
    simulation_table,
    simulation_text,
    sources_text,
)

__all__ = [
    "ADVICE_002",
    "CELL",
    "DEPTH_FACTOR",
    "INIT_KERNEL",
    "ISOMETRY_CELL",
    "ISOMETRY_FAMILY",
    "KERNEL_INIT",
    "MARGIN_CLAIM",
    "NAMED_SCALES",
    "PHASES",
    "PHASE_WORDS",
    "RATE_LIMITS",
    "RESAMPLES",
    "advice_reading",
    "advice_verdict",
    "agreement",
    "agreement_counts",
    "at_best",
    "at_chosen",
    "bound_reading",
    "bound_text",
    "bound_verdict",
    "boundary_fit",
    "boundary_growth",
    "budget_scores",
    "cell_grades",
    "cell_table",
    "chosen_rates",
    "findings_text",
    "fit_table",
    "fmt_k",
    "gaussian_params",
    "isometry_rates",
    "isometry_runs",
    "isometry_tests",
    "isometry_text",
    "max_depths",
    "mean_sq_table",
    "named_points",
    "phase_verdicts",
    "net_params",
    "rate_table",
    "separating_range",
    "simulation_table",
    "simulation_text",
    "sources_text",
    "spectrum_table",
    "speed_runs",
    "speed_table",
    "trainability_runs",
]
