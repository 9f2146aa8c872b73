"""benchmarks/peers.py's JAX side does the engine's work: Keras' Adam step and the same network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"
_spec = importlib.util.spec_from_file_location("peers", SCRIPT)
peers = importlib.util.module_from_spec(_spec)
sys.modules["peers"] = peers  # its dataclasses look their module up
_spec.loader.exec_module(peers)

pytestmark = pytest.mark.skipif(peers.jax is None, reason=peers.MISSING)


def _gradients(steps: int = 6) -> list[np.ndarray]:
    """Gradients spanning 1e-6 to 1e-2, where Keras' epsilon and optax's differ most."""
    rng = np.random.default_rng(0)
    scales = 10.0 ** rng.uniform(-6, -2, (steps, 4, 3))
    return list((rng.standard_normal((steps, 4, 3)) * scales).astype(np.float32))


def _keras_weights(grads: list[np.ndarray]) -> np.ndarray:
    import keras

    from initlab.training.optimizers import make_keras_optimizer

    w = keras.Variable(np.zeros((4, 3), np.float32))
    adam = make_keras_optimizer("adam")
    for g in grads:
        adam.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
    return np.asarray(w.numpy())


def _optax_weights(transform, grads: list[np.ndarray]) -> np.ndarray:
    jnp, optax = peers.jnp, peers.optax
    w = jnp.zeros((4, 3), jnp.float32)
    state = transform.init(w)
    for g in grads:
        updates, state = transform.update(jnp.asarray(g), state, w)
        w = optax.apply_updates(w, updates)
    return np.asarray(w)


def test_keras_adam_matches_keras_and_optax_adam_does_not() -> None:
    """Weights start at zero, so every digit of the six steps' sum is compared (float32: 1e-5)."""
    grads = _gradients()
    expected = _keras_weights(grads)
    np.testing.assert_allclose(_optax_weights(peers.keras_adam(), grads), expected, rtol=1e-5, atol=0)
    plain = _optax_weights(peers.optax.adam(1e-3, b1=0.9, b2=0.999, eps=1e-7), grads)
    assert np.max(np.abs(plain - expected) / np.abs(expected)) > 1e-2  # epsilon after bias correction


@pytest.mark.parametrize("variant", sorted(peers.VARIANTS))
def test_forward_matches_the_keras_cnn(variant: str) -> None:
    """Both JAX variants compute ``cnn_small``'s softmax outputs from its Keras weights."""
    from initlab.nets.models import build_model
    from initlab.training.program import program, weighted_layers

    model = build_model("cnn_small", (28, 28, 1), init="he_normal", seed=3, n_classes=10)
    params = [(np.asarray(l.kernel), np.asarray(l.bias)) for l in weighted_layers(model)]
    x = np.random.default_rng(1).uniform(0, 1, (5, 28, 28, 1)).astype(np.float32)
    logits = peers.forward(program(model), variant)(params, peers.jnp.asarray(x))
    probs = np.asarray(peers.jax.nn.softmax(logits))
    np.testing.assert_allclose(probs, np.asarray(model(x)), atol=1e-5)
