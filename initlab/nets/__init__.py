"""Networks at initialization: the initializers, the models built from them, LSUV and the layer rules."""

from initlab.nets.initializers import (
    INITIALIZERS,
    TRUNCATED_STD,
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    InitEntry,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    Randn001,
    RandnHe,
    RandnLecun,
    RandomNormal,
    RandomUniform,
    Sparse,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    compute_fans,
    describe_initializers,
    expected_stats,
    get_initializer,
    init_names,
    layer_seed,
    register,
    theoretical_density,
)
from initlab.nets.layers import activation_name, hidden_layers, kernel_layers
from initlab.nets.lsuv import (
    BOUNDED,
    DATA_INITS,
    KERNEL_LAYERS,
    LSUV_N_SAMPLES,
    RECORD_COLUMNS,
    WHERE,
    apply_data_init,
    lsuv_init,
    lsuv_layers,
    pre_activation,
)
from initlab.nets.models import (
    ACTIVATIONS,
    BIAS_SEED_OFFSET,
    MODELS,
    ModelEntry,
    build_model,
    describe_models,
    get_model_entry,
    model_names,
)

__all__ = ["TRUNCATED_STD", "register", "compute_fans", "layer_seed", "Zeros", "Ones", "Constant", "Identity", "Orthogonal", "RandomNormal", "Randn001", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "RandnLecun", "RandnHe", "Sparse", "InitEntry", "INITIALIZERS", "init_names", "get_initializer", "expected_stats", "describe_initializers", "theoretical_density", "hidden_layers", "kernel_layers", "activation_name", "ACTIVATIONS", "ModelEntry", "BIAS_SEED_OFFSET", "MODELS", "model_names", "get_model_entry", "build_model", "describe_models", "KERNEL_LAYERS", "BOUNDED", "WHERE", "DATA_INITS", "LSUV_N_SAMPLES", "RECORD_COLUMNS", "lsuv_layers", "pre_activation", "lsuv_init", "apply_data_init"]
