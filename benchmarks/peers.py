"""The stacked engine against a peer, JAX + optax, on the same work.

    python benchmarks/peers.py [--quick] [--repeats N]

Both sides train the same K Keras-initialized models (the specifications of
``initlab bench``: he_normal, glorot_uniform, lecun_normal, random_normal, seeds
0, 1, ...) for one epoch on initlab's prepared MNIST (``prepare_data``, the last
20% of the training set held out, handed over once), batch 32, each model in the
batch order of its seed (``batch_order``), with Keras' Adam (learning rate 1e-3,
beta_1 0.9, beta_2 0.999, epsilon 1e-7, epsilon added to the root of the second
moment before bias correction) and sparse categorical cross-entropy. An epoch is
what ``fit_stack`` does in one: the untrained loss on the first 2,048 training
examples, the training batches, the validation set, then the test set.

initlab's time is ``initlab.training.bench._engine_way`` (one warm-up epoch, then
one timed). JAX's side vmaps the K models and runs the epoch's batches in one
jit-compiled ``lax.scan`` (float32, CPU), after one warm-up epoch; its Adam step is
an optax ``GradientTransformation`` in Keras' form (:func:`keras_adam`). The CNN
runs two ways on JAX: ``lax.conv_general_dilated`` with ``lax.reduce_window``
pooling (JAX's own, the "JAX" column), and convolutions as matmuls over image
patches with reshape-and-max pooling (the engine's way, the "JAX im2col" column).
Each case times initlab, then every JAX variant, in turn, ``--repeats`` times; the
table holds medians in seconds per model, and each side's mean test accuracy: with
the same weights, batches and arithmetic they agree up to float32 rounding.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from initlab.nets.models import get_model_entry
from initlab.training.bench import BenchConfig, _engine_way, _specs, matmul_rate
from initlab.training.build import build_for
from initlab.training.optimizers import ADAM
from initlab.training.prepare import PreparedData, handed_over, prepare_data
from initlab.training.program import Op, program, weighted_layers
from initlab.training.record import batch_order
from initlab.training.stack import EngineData, EvalSet

try:
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax
except ImportError:  # the script says what to install; the test module skips
    jax = None

MISSING = "benchmarks/peers.py needs jax and optax: pip install -e '.[peers]'"
BATCH = 32
VALIDATION_SPLIT = 0.2


@dataclass(frozen=True)
class Case:
    """One row of the table: a model and the number of models per stack."""

    model: str
    k: int


CASES = (
    Case("mlp_128", 1),
    Case("mlp_128", 8),
    Case("mlp_128", 32),
    Case("mlp_512_256_128_64", 1),
    Case("mlp_512_256_128_64", 4),
    Case("cnn_small", 1),
)


@dataclass(frozen=True)
class Plan:
    """How much one run measures: training examples (None: all), test examples, repeats."""

    train_limit: int | None
    test_limit: int | None
    repeats: int


FULL, QUICK = Plan(None, None, 3), Plan(1600, 1000, 2)


# -- optax: Keras' Adam -------------------------------------------------------------------
class KerasAdamState(NamedTuple):
    """Keras' Adam state: the step count (float32, as Keras casts it) and both moments."""

    count: Any
    mu: Any
    nu: Any


def keras_adam(
    learning_rate: float = ADAM["learning_rate"],
    *,
    b1: float = ADAM["beta_1"],
    b2: float = ADAM["beta_2"],
    eps: float = ADAM["epsilon"],
) -> Any:
    """Keras' Adam as an optax ``GradientTransformation``.

    Keras adds ``eps`` to ``sqrt(v)`` before bias correction, folding both corrections into
    the step size, ``w <- w - m * lr * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps)``;
    ``optax.adam`` adds it after, so the two differ where ``sqrt(v)`` is small.
    """

    def init(params: Any) -> KerasAdamState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return KerasAdamState(jnp.zeros([], jnp.float32), zeros, zeros)

    def update(grads: Any, state: KerasAdamState, params: Any = None) -> tuple[Any, KerasAdamState]:
        count = state.count + 1.0
        alpha = learning_rate * jnp.sqrt(1.0 - b2**count) / (1.0 - b1**count)
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1.0 - b1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (jnp.square(g) - v) * (1.0 - b2), state.nu, grads)
        updates = jax.tree.map(lambda m, v: -(m * alpha) / (jnp.sqrt(v) + eps), mu, nu)
        return updates, KerasAdamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


# -- one model's forward pass, from the engine's program of the Keras model -----------------
def lax_conv(h: jax.Array, w: jax.Array) -> jax.Array:
    """JAX's own stride-1 'valid' convolution: ``h`` (B, H, W, C), ``w`` (kh, kw, C, O)."""
    return lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def patch_conv(h: jax.Array, w: jax.Array) -> jax.Array:
    """The same convolution as one matmul over image patches (im2col); autodiff gives col2im."""
    kh, kw, c, o = w.shape
    height, width = h.shape[1], h.shape[2]
    patches = jnp.concatenate(
        [h[:, i : height - kh + 1 + i, j : width - kw + 1 + j, :] for i in range(kh) for j in range(kw)], axis=-1
    )
    return patches @ w.reshape(kh * kw * c, o)


def window_pool(h: jax.Array, size: tuple[int, int]) -> jax.Array:
    """JAX's own max-pooling (``lax.reduce_window``, stride equal to the window, 'valid')."""
    window = (1, *size, 1)
    return lax.reduce_window(h, -jnp.inf, lax.max, window, window, "VALID")


def reshape_pool(h: jax.Array, size: tuple[int, int]) -> jax.Array:
    """Max-pooling as a reshape and a maximum (what the engine does)."""
    (ph, pw), (b, height, width, c) = size, h.shape
    h2, w2 = height // ph, width // pw
    return h[:, : h2 * ph, : w2 * pw].reshape(b, h2, ph, w2, pw, c).max(axis=(2, 4))


VARIANTS: dict[str, tuple[Callable, Callable]] = {
    "jax": (lax_conv, window_pool),  # JAX's own ops (for a dense model, its matmuls alone)
    "im2col": (patch_conv, reshape_pool),  # the engine's forms of convolution and pooling
}

ACTIVATIONS = {"relu": lambda h: jnp.maximum(h, 0.0), "linear": lambda h: h}


def forward(ops: Sequence[Op], variant: str) -> Callable[[Any, Any], Any]:
    """One model's logits, ``(params, x) -> (B, n_classes)``, for the engine's ``ops``."""
    conv, pool = VARIANTS[variant]

    def logits(params: Any, h: Any) -> Any:
        i = 0
        for n, op in enumerate(ops):
            if op.kind == "flatten":
                h = h.reshape(h.shape[0], -1)
            elif op.kind == "pool":
                h = pool(h, op.size)
            else:
                w, b = params[i]
                i += 1
                h = (conv(h, w) if op.kind == "conv" else h @ w) + b
                h = h if n == len(ops) - 1 else ACTIVATIONS[op.activation.__name__](h)
        return h

    return logits


# -- the compiled epoch ------------------------------------------------------------------
@dataclass(frozen=True)
class Compiled:
    """A case's jit-compiled pieces: the training scan and the evaluation scan."""

    init: Callable
    train: Callable
    evaluate: Callable


def compile_case(ops: Sequence[Op], variant: str) -> Compiled:
    """Training and evaluation of K models (vmapped) for one architecture and conv variant."""
    logits = forward(ops, variant)
    adam = keras_adam()

    def loss(params: Any, x: Any, y: Any) -> tuple[Any, tuple[Any, Any]]:
        out = logits(params, x)
        losses = optax.losses.softmax_cross_entropy_with_integer_labels(out, y)
        return losses.mean(), (losses.sum(), (out.argmax(-1) == y).sum().astype(jnp.float32))

    def step(params: Any, state: Any, x: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        (_, (loss_sum, hits)), grads = jax.value_and_grad(loss, has_aux=True)(params, x, y)
        updates, state = adam.update(grads, state)
        return optax.apply_updates(params, updates), state, loss_sum, hits

    def train(params: Any, state: Any, x: Any, y: Any, order: Any) -> tuple[Any, Any, Any, Any]:
        def body(carry: Any, idx: Any) -> tuple[Any, tuple[Any, Any]]:
            params, state = carry
            params, state, loss_sum, hits = jax.vmap(step)(params, state, x[idx], y[idx])
            return (params, state), (loss_sum, hits)

        (params, state), (losses, hits) = lax.scan(body, (params, state), order)
        return params, state, losses.sum(0), hits.sum(0)

    def evaluate(params: Any, xs: Any, ys: Any) -> tuple[Any, Any]:
        def body(_: Any, block: tuple[Any, Any]) -> tuple[None, tuple[Any, Any]]:
            out = jax.vmap(logits, in_axes=(0, None))(params, block[0])
            losses = optax.losses.softmax_cross_entropy_with_integer_labels(out, block[1][None])
            return None, (losses.sum(-1), (out.argmax(-1) == block[1]).sum(-1).astype(jnp.float32))

        _, (losses, hits) = lax.scan(body, None, (xs, ys))
        return losses.sum(0), hits.sum(0)

    return Compiled(jax.jit(jax.vmap(adam.init)), jax.jit(train), jax.jit(evaluate))


# -- data and weights on JAX's side, converted once like the engine's handover ---------------
@dataclass(frozen=True)
class PeerData:
    """The engine's handed-over data as JAX arrays: training set, and the three evaluated sets in blocks."""

    x: Any
    y: Any
    first: tuple[tuple[Any, Any], ...]
    val: tuple[tuple[Any, Any], ...]
    test: tuple[tuple[Any, Any], ...]


def _blocks(s: EvalSet) -> tuple[tuple[Any, Any], ...]:
    return tuple((jnp.asarray(np.asarray(xs)), jnp.asarray(np.asarray(ys))) for xs, ys in s.parts)


def peer_data(data: EngineData) -> PeerData:
    """``data`` (the engine's tensors) as JAX arrays, in the engine's evaluation blocks
    (``initlab.training.stack.EVAL_BLOCK``: 2,048 examples for dense models, 16 for the CNN)."""
    sets = (_blocks(s) for s in (data.first, data.val, data.test))
    return PeerData(jnp.asarray(np.asarray(data.x)), jnp.asarray(np.asarray(data.y)), *sets)


ATTRS = ("kernel", "bias")


def initial_params(model: str, k: int, data: PreparedData, limit: int | None) -> tuple[list[Op], list]:
    """The engine's program of ``model`` and the initial weights of the K models ``_engine_way`` trains,
    stacked: one (kernel, bias) pair per layer, each with a leading axis of K."""
    models = [build_for(s, data) for s in _specs(model, k, limit)]
    layers = [weighted_layers(m) for m in models]
    params = [
        tuple(np.stack([np.asarray(getattr(ls[j], a).numpy(), np.float32) for ls in layers]) for a in ATTRS)
        for j in range(len(layers[0]))
    ]
    return program(models[0]), params


def _orders(seeds: Sequence[int], n: int) -> list[np.ndarray]:
    """Epoch 0's batches per seed as (steps, K, batch) index arrays: full batches, then the rest."""
    order = np.stack([batch_order(s, 0, n) for s in seeds])
    full = n // BATCH * BATCH
    parts = [order[:, :full].reshape(len(seeds), -1, BATCH)] if full else []
    parts += [order[:, full:].reshape(len(seeds), 1, -1)] if n > full else []
    return [p.transpose(1, 0, 2) for p in parts]


def _sums(c: Compiled, params: Any, blocks: tuple[tuple[Any, Any], ...]) -> np.ndarray:
    """Hits of every model summed over ``blocks`` (the losses are computed too, as the engine does, and dropped)."""
    return sum(np.asarray(c.evaluate(params, xs, ys)[1]) for xs, ys in blocks)


def peer_epoch(c: Compiled, params0: list, seeds: Sequence[int], d: PeerData) -> tuple[float, float]:
    """One epoch of K models as ``fit_stack`` does it; returns seconds per model and mean test accuracy."""
    start = time.perf_counter()
    params = jax.tree.map(jnp.asarray, params0)
    state = c.init(params)
    _sums(c, params, d.first)
    for order in _orders(seeds, int(d.x.shape[0])):
        params, state, _, _ = c.train(params, state, d.x, d.y, jnp.asarray(order))
    _sums(c, params, d.val)
    test = _sums(c, params, d.test) / sum(int(ys.size) for _, ys in d.test)
    return (time.perf_counter() - start) / len(seeds), float(np.mean(test))


# -- the measurement -------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """A case's medians (seconds per model) and mean test accuracies, initlab's and each JAX variant's."""

    case: Case
    initlab: float
    peers: dict[str, float]
    accuracy: dict[str, float]

    @property
    def ratio(self) -> float:
        """The faster peer's time over initlab's: above 1, initlab is faster."""
        return min(self.peers.values()) / self.initlab


def variants(model: str) -> tuple[str, ...]:
    """The JAX variants timed for ``model``: both for a CNN, JAX's own for a dense model (nothing differs)."""
    return tuple(VARIANTS) if get_model_entry(model).convolutional else ("jax",)


def measure(case: Case, plan: Plan, log: Callable[[str], None] = print) -> Row:
    """Time ``case`` on initlab and on every JAX variant, interleaved, after a warm-up epoch each."""
    conv = get_model_entry(case.model).convolutional
    data = prepare_data(
        "mnist", preprocess="scale", channels=conv, train_limit=plan.train_limit, test_limit=plan.test_limit
    )
    ops, params = initial_params(case.model, case.k, data, plan.train_limit)
    seeds = [s.seed for s in _specs(case.model, case.k, plan.train_limit)]
    peer = peer_data(handed_over(data, VALIDATION_SPLIT, conv))
    compiled = {v: compile_case(ops, v) for v in variants(case.model)}
    for c in compiled.values():
        peer_epoch(c, params, seeds, peer)  # warm-up: compiles every shape the timed epochs meet
    cfg = BenchConfig(models=(case.model,), epochs=1, train_limit=plan.train_limit)
    times: dict[str, list[float]] = {name: [] for name in ("initlab", *compiled)}
    accuracy: dict[str, float] = {}
    for r in range(plan.repeats):
        times["initlab"].append((run := _engine_way(case.model, case.k, cfg, data))[0])
        accuracy["initlab"] = run[1]
        for name, c in compiled.items():
            times[name].append((run := peer_epoch(c, params, seeds, peer))[0])
            accuracy[name] = run[1]
        log(f"  {case.model} K={case.k} repeat {r + 1}: " + ", ".join(f"{n} {t[-1]:.3f}" for n, t in times.items()))
    medians = {name: float(np.median(t)) for name, t in times.items()}
    return Row(case, medians.pop("initlab"), medians, accuracy)


# -- the report ------------------------------------------------------------------------------
def machine(rate: float) -> str:
    """The machine line: CPU model, cores, initlab's float32 matmul rate, the library versions."""
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    return (
        f"{cpu}, {len(os.sched_getaffinity(0))} cores, float32 matmul rate {rate / 1e9:.0f} GFLOP/s "
        f"(initlab.training.bench.matmul_rate); jax {jax.__version__}, optax {optax.__version__}, "
        f"tensorflow {tf.__version__}"
    )


HEADER = (
    "| model | K | initlab s/model | JAX s/model | JAX im2col s/model | initlab speed-up over the faster peer "
    "| test accuracy initlab | test accuracy JAX |\n|---|---|---|---|---|---|---|---|"
)


def table_row(row: Row) -> str:
    """One Markdown row: JAX's own convolution in the JAX column, the patch form in the im2col one."""
    own = row.peers["jax"]
    im2col = f"{row.peers['im2col']:.3f}" if "im2col" in row.peers else "(no convolution)"
    jax_acc = " / ".join(f"{row.accuracy[v]:.4f}" for v in row.peers)
    return (
        f"| `{row.case.model}` | {row.case.k} | {row.initlab:.3f} | {own:.3f} | {im2col} | {row.ratio:.2f}× "
        f"| {row.accuracy['initlab']:.4f} | {jax_acc} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every case of :data:`CASES` and print the table with the machine line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and repeats (under about two minutes)")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per case (the median is shown)")
    args = parser.parse_args(argv)
    if jax is None:
        print(MISSING, file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error(f"--repeats must be an integer >= 1. Received: {args.repeats}")
        plan = Plan(plan.train_limit, plan.test_limit, args.repeats)
    n = plan.train_limit or 60000
    print(
        f"MNIST, {int(n * (1 - VALIDATION_SPLIT))} training + {n - int(n * (1 - VALIDATION_SPLIT))} validation + "
        f"{plan.test_limit or 10000} test images, batch 32, one epoch, Keras' Adam; seconds per model, "
        f"median of {plan.repeats} after a warm-up epoch; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rate = matmul_rate()
    rows = [measure(case, plan, log=lambda s: print(s, flush=True)) for case in CASES]
    print(f"\n{machine(rate)}; load average at the end {os.getloadavg()[0]:.1f}\n")
    print("\n".join([HEADER, *map(table_row, rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
