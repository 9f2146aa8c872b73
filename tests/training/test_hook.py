"""The engines' one hook, ``on_epoch(epoch, models)``: the same epochs and the same weights on both engines."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np

from initlab import training
from initlab.training.spec import RunSpec

# 32 training examples (8 held out) in one batch of 32: one step per epoch, so the keras engine's shuffled
# order and the stacked engine's only change the order of a sum (float32 rounding), not the step.
SPEC = RunSpec(
    dataset="mnist",
    model="mlp_128",
    init="he_normal",
    seed=0,
    epochs=2,
    train_limit=40,
    test_limit=100,
    batch_size=32,
    optimizer="sgd",
)


class _Seen:
    """A hook that keeps, per call, the epoch, the number of models and copies of their weights."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.sizes: list[int] = []
        self.weights: list[list[list[np.ndarray]]] = []

    def __call__(self, epoch: int, models) -> None:
        assert all(isinstance(m, keras.Model) for m in models)
        self.epochs.append(epoch)
        self.sizes.append(len(models))
        self.weights.append([[np.array(w) for w in m.get_weights()] for m in models])


def test_both_engines_call_the_hook_at_the_same_epochs_with_the_same_weights() -> None:
    seen = {}
    trained = {}
    for engine in ("keras", "stacked"):
        seen[engine] = _Seen()
        trained[engine], record = training.train(replace(SPEC, engine=engine), on_epoch=seen[engine])
        assert record.status == "ok" and len(record.history["loss"]) == SPEC.epochs
    for hook in seen.values():
        assert hook.epochs == [0, 1, 2] and hook.sizes == [1, 1, 1]  # before training, then after each epoch
    for epoch in range(3):
        for a, b in zip(seen["keras"].weights[epoch][0], seen["stacked"].weights[epoch][0]):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=f"epoch {epoch}")
    for a, b in zip(seen["keras"].weights[0][0], seen["stacked"].weights[0][0]):
        np.testing.assert_array_equal(a, b)  # the same start, bit for bit
    for engine, model in trained.items():  # the last call saw the trained weights
        for a, b in zip(seen[engine].weights[-1][0], model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_stacked_unit_gives_the_hook_one_model_per_run_in_order() -> None:
    specs = [replace(SPEC, engine="stacked"), replace(SPEC, engine="stacked", init="glorot_uniform", seed=1)]
    hook = _Seen()
    results = training.train_stack(specs, on_epoch=hook)
    assert hook.epochs == [0, 1, 2] and hook.sizes == [2, 2, 2]
    data = training.data_for(specs[1])
    for a, b in zip(hook.weights[0][1], training.build_for(specs[1], data).get_weights()):
        np.testing.assert_array_equal(a, b)  # member 1 starts from its own run's weights
    for k, (model, _) in enumerate(results):
        for a, b in zip(hook.weights[-1][k], model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_without_a_hook_the_stacked_numbers_are_those_with_one() -> None:
    """Copying the weights out to the hook and back changes nothing: the same record, bit for bit."""
    spec = replace(SPEC, engine="stacked", optimizer="adam", train_limit=640, epochs=2)
    _, plain = training.train(spec)
    _, hooked = training.train(spec, on_epoch=lambda epoch, models: None)
    assert plain.history == hooked.history
    assert (plain.test_loss, plain.test_accuracy) == (hooked.test_loss, hooked.test_accuracy)
