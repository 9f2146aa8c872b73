"""Training runs: a run's specification, its data, its model, its engines, its record and the study."""

from initlab.training.build import build_for, initial_loss, make_optimizer
from initlab.training.cache import CorruptCacheWarning, RunCache, spec_key
from initlab.training.engines import (
    ENGINE_REGISTRY,
    ENGINES,
    MAX_STACK,
    STACK_BYTES,
    STATE_BYTES,
    Engine,
    KerasEngine,
    StackedEngine,
    get_engine,
    resolve_engine,
    stack_size,
    train,
    train_keras,
    train_stack,
    train_stacked,
)
from initlab.training.optimizers import (
    ADAM,
    OPTIMIZERS,
    OptimizerEntry,
    check_optimizer,
    get_optimizer_entry,
    make_keras_optimizer,
    optimizer_label,
    resolved_learning_rate,
)
from initlab.training.prepare import HANDED_OVER_KEPT, PreparedData, data_for, handed_over, prepare_data
from initlab.training.program import PRECISIONS, SUPPORTED, Op, stackable, weighted_layers
from initlab.training.record import (
    DIVERGENCE_FACTOR,
    INITIAL_LOSS_EXAMPLES,
    METRICS,
    RESULT_COLUMNS,
    RunRecord,
    batch_order,
    diverged_epoch,
    divergence_bound,
    diverges,
    follows_divergence_rule,
)
from initlab.training.spec import (
    LATER_FIELDS,
    MAX_SEED,
    PREPROCESSING,
    RunSpec,
    fit_examples,
    min_train_limit,
    validate_spec,
)
from initlab.training.stack import (
    EVAL_BLOCK,
    EngineData,
    EvalSet,
    OnEpoch,
    StackedModels,
    eval_set,
    fit_stack,
    hand_over,
)
from initlab.training.study import SETUP_COLUMNS, Study, run_grid, run_study, train_batch

__all__ = [
    "ADAM", "OptimizerEntry", "OPTIMIZERS", "get_optimizer_entry", "check_optimizer", "resolved_learning_rate",
    "optimizer_label", "make_keras_optimizer", "spec_key", "CorruptCacheWarning", "RunCache", "INITIAL_LOSS_EXAMPLES",
    "batch_order", "DIVERGENCE_FACTOR", "divergence_bound", "diverges", "diverged_epoch", "RESULT_COLUMNS", "METRICS",
    "RunRecord", "follows_divergence_rule", "PREPROCESSING", "MAX_SEED", "LATER_FIELDS", "RunSpec", "fit_examples",
    "min_train_limit", "validate_spec", "PRECISIONS", "SUPPORTED", "Op", "weighted_layers", "stackable", "EVAL_BLOCK",
    "EvalSet", "eval_set", "EngineData", "hand_over", "OnEpoch", "StackedModels", "fit_stack", "PreparedData",
    "prepare_data", "data_for", "HANDED_OVER_KEPT", "handed_over", "make_optimizer", "build_for", "initial_loss",
    "MAX_STACK", "STACK_BYTES", "STATE_BYTES", "train", "train_keras", "train_stack", "train_stacked", "stack_size",
    "Engine", "KerasEngine", "StackedEngine", "ENGINE_REGISTRY", "ENGINES", "get_engine", "resolve_engine",
    "SETUP_COLUMNS", "Study", "run_grid", "run_study", "train_batch",
]
