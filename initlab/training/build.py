"""A run's model: everything seeded for the run, the network built and initialized, and
compiled with the run's optimizer; and its loss before training (what the divergence rule
compares with)."""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math

import keras

from initlab.nets.lsuv import apply_data_init
from initlab.nets.models import build_model
from initlab.training.optimizers import make_keras_optimizer
from initlab.training.prepare import PreparedData
from initlab.training.record import INITIAL_LOSS_EXAMPLES
from initlab.training.spec import RunSpec, fit_examples


def make_optimizer(spec: RunSpec) -> keras.optimizers.Optimizer:
    """The Keras optimizer of a run (Keras' defaults unless a learning rate or momentum is given)."""
    return make_keras_optimizer(spec.optimizer, spec.learning_rate, spec.momentum, nesterov=spec.nesterov)


def build_for(spec: RunSpec, data: PreparedData) -> keras.Model:
    """Seed everything for ``spec.seed`` and build the compiled, untrained model.

    Building the network (:func:`~initlab.nets.models.build_model`) switches TensorFlow's op
    determinism on (not on import): the same seed then repeats bit for bit on the same machine.
    """
    keras.utils.set_random_seed(int(spec.seed))
    model = build_model(
        spec.model,
        data.x_train.shape[1:],
        init=spec.init,
        seed=int(spec.seed),
        n_classes=len(data.class_names),
        init_params=spec.init_params,
        **spec.model_params,
    )
    apply_data_init(model, spec.init, data.x_train, seed=int(spec.seed))
    model.compile(optimizer=make_optimizer(spec), loss=spec.loss, metrics=["accuracy"])
    return model


def initial_loss(model: keras.Model, spec: RunSpec, data: PreparedData) -> float:
    """The untrained model's mean loss on the first ``INITIAL_LOSS_EXAMPLES`` training examples."""
    first = min(fit_examples(len(data.y_train), spec.validation_split), INITIAL_LOSS_EXAMPLES)
    if first < 1:
        return math.nan
    return float(
        model.evaluate(data.x_train[:first], data.y_train[:first], batch_size=256, verbose=0, return_dict=True)["loss"]
    )
