"""What the deep-network notebook found: its training grid, its grades, the tests of ``004``'s claims and the
verdicts in words.

Which pairings of activation and initializer learn within a fixed budget, at which depth and
learning rate? :func:`depth_study` trains them (several seeds, a grid of learning rates, as a
list of studies run by :func:`initlab.training.study.run_grid`), :func:`select_rates` picks each
set-up's rate on validation accuracy, and :func:`trainability` grades the test accuracies, with
the validation curve's peak and collapse (:mod:`initlab.convergence`).

The claims of ``004`` are tested as paired differences over seeds
(:func:`initlab.stats.paired_test`), one Holm family per claim (:data:`FAMILIES`):

* ``orthogonal``: orthogonal kernels against glorot_normal (for a square kernel the
  same variance, without the orthogonality), per activation and depth; and, for
  ReLU, orthogonal kernels of gain √2 against he_normal (again the same variance);
* ``orthogonal speed``: the same pairs in the area under the validation-accuracy
  curve (the post credits orthogonal kernels with faster convergence);
* ``variance scaling``: each activation's usual scaling against a mismatched one;
* ``snn``: SELU started from zeros or a plain random normal against SELU with
  lecun_normal (self-normalizing networks "eliminate the need for careful
  initialization"), with [0, 1]-scaled and with standardized inputs;
* ``snn vs other activations``: SELU against ReLU and tanh from the same start.

Every test compares each set-up at the learning rate chosen for it on validation
accuracy (:func:`select_rates`).
"""

from initlab.findings.deep.claims import (
    claim_pairs,
    claim_tests,
    propagation_reading,
    rate_text,
    setup_name,
    snn_answer,
    snn_answers,
    snn_reading,
    trains_by_depth,
)
from initlab.findings.deep.grid import (
    COLLAPSE,
    FAILS,
    FAMILIES,
    GRADES,
    MARGIN_CLAIM,
    MATCHED_INIT,
    PREPROCESS_WORDS,
    RATE_LIMITS,
    SETUP_KEYS,
    SNN_ANSWERS,
    SNN_INITS,
    SNN_REFERENCE,
    TEST_COLUMNS,
    TRAINS,
    VALUES,
    architecture,
    at_rates,
    depth_studies,
    depth_study,
    grade,
    rate_grid_study,
    run_table,
    select_rates,
    setup_keys,
    trainability,
)
from initlab.findings.deep.text import (
    accuracy_cell,
    budget_text,
    claims_table,
    diagnosis_text,
    families_text,
    family_text,
    findings_text,
    grade_cell,
    growth_table,
    orthogonal_at_init,
    propagation_text,
    rate_table,
    snn_text,
    trainability_table,
    trainability_text,
)
from initlab.rate_choice import RATE_GAIN, next_rate

__all__ = [
    "RATE_GAIN",
    "budget_text",
    "RATE_LIMITS",
    "next_rate",
    "MARGIN_CLAIM",
    "MATCHED_INIT",
    "SNN_INITS",
    "SNN_REFERENCE",
    "FAMILIES",
    "VALUES",
    "PREPROCESS_WORDS",
    "SNN_ANSWERS",
    "TEST_COLUMNS",
    "TRAINS",
    "FAILS",
    "COLLAPSE",
    "GRADES",
    "SETUP_KEYS",
    "architecture",
    "depth_studies",
    "depth_study",
    "rate_grid_study",
    "setup_keys",
    "run_table",
    "grade",
    "trainability",
    "select_rates",
    "at_rates",
    "setup_name",
    "rate_text",
    "claim_pairs",
    "claim_tests",
    "snn_answer",
    "snn_answers",
    "snn_reading",
    "propagation_reading",
    "trains_by_depth",
    "growth_table",
    "accuracy_cell",
    "grade_cell",
    "trainability_table",
    "rate_table",
    "claims_table",
    "propagation_text",
    "trainability_text",
    "diagnosis_text",
    "family_text",
    "families_text",
    "snn_text",
    "orthogonal_at_init",
    "findings_text",
]
