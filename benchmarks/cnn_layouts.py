"""The CNN's epoch in the engine's two conv layouts, and XLA's matmuls at its shapes, in one process.

Part 1 trains ``cnn_small`` (K = 1, batch 32, Adam) for one epoch on MNIST (48,000
training and 12,000 validation images) alternately channels last (the engine's earlier
layout) and channels first (its default; ``initlab.training.conv``), ROUNDS times, from
the same initial weights, measuring the float32 matmul rate (``initlab bench``'s compute
limit) before each round. It prints the median seconds per epoch (training and
validation, as ``initlab bench`` counts FLOPs), the share of the compute limit, the
process's CPU seconds and the ratio of the layouts.

Part 2 times XLA's matmuls alone at the shapes of the second convolution in each layout
(forward, weight gradient, input gradient; batch 32) as a share of the same limit: what
the convolutions could reach with nothing else in the step.

    python benchmarks/cnn_layouts.py [ROUNDS] [THREADS] [PRECISION]

THREADS = 1 runs TensorFlow on one thread (the limit is then one core's): on a machine
shared with other work, CPU seconds and one-thread times are steadier than two threads'
(0: TensorFlow's own choice). PRECISION ``bfloat16`` does part 1's matmuls in bfloat16.
"""

import initlab._tf_quiet  # noqa: F401

# isort: split
import sys
import time

import numpy as np
import tensorflow as tf

from initlab import training
from initlab.training.bench import matmul_rate, training_flops
from initlab.training.conv import CONV_LAYOUTS
from initlab.training.record import batch_order
from initlab.training.spec import RunSpec

MATMUL_STEPS = 50


def _epoch_runner(layout: str, models, data, precision: str):
    """A function timing one epoch (training and validation) of a fresh stack in ``layout``."""

    def run() -> tuple[float, float, float]:
        stack = training.StackedModels(models, conv_layout=layout, precision=precision)
        order = batch_order(0, 0, int(data.x.shape[0]))[None]
        wall, cpu = time.perf_counter(), time.process_time()
        loss, _ = stack.train_epoch(data.x, data.y, order, batch_size=32)
        stack.evaluate(data.val)
        return time.perf_counter() - wall, time.process_time() - cpu, float(loss[0])

    return run


def compare_layouts(rounds: int, precision: str = "float32") -> None:
    """Part 1: an epoch in each layout, interleaved, ``rounds`` times."""
    prepared = training.prepare_data("mnist", preprocess="scale", channels=True, test_limit=None)
    spec = RunSpec(dataset="mnist", model="cnn_small", init="he_normal", seed=0)
    models = [training.build_for(spec, prepared)]
    data = training.handed_over(prepared, 0.2, True)
    flops = training_flops(models[0], n_train=int(data.x.shape[0]), n_val=data.val.n, epochs=1)
    runs = {layout: _epoch_runner(layout, models, data, precision) for layout in CONV_LAYOUTS}
    for run in runs.values():
        run()  # compiles
    times = {layout: [] for layout in runs}
    rates = []
    for r in range(rounds):
        rates.append(matmul_rate(repeats=5))
        for layout in CONV_LAYOUTS[:: 1 if r % 2 else -1]:
            times[layout].append(runs[layout]())
    rate = np.median(rates) / 1e9
    print(f"cnn_small, K = 1, {precision}, one epoch, {rounds} rounds; matmul rate median {rate:.0f} GFLOP/s")
    print(f"{'layout':>15} {'s per epoch':>12} {'share of limit':>15} {'CPU s':>7} {'loss':>9}")
    for layout, runs_ in times.items():
        wall, cpu, loss = (np.array(v) for v in zip(*runs_))
        share = np.median(flops / wall / np.array(rates))
        print(f"{layout:>15} {np.median(wall):12.2f} {share:15.0%} {np.median(cpu):7.2f} {loss[-1]:9.6f}")
    first, last = (np.array([t[0] for t in times[layout]]) for layout in CONV_LAYOUTS)
    print(f"channels first / channels last: {np.median(last / first):.2f}x faster (median of per-round ratios)")


def _matmul_loop(a: tf.Tensor, b: tf.Tensor, **transposes):
    @tf.function(jit_compile=True)
    def loop(a, b):
        def body(i, total):
            scale = 1.0 + tf.cast(i, tf.float32) * 1e-9  # a new product each step
            return i + 1, total + tf.matmul(a * scale, b, **transposes)

        out = tf.zeros(tf.matmul(a, b, **transposes).shape)
        return tf.while_loop(lambda i, _: i < MATMUL_STEPS, body, (0, out))[1]

    loop(a, b).numpy()
    return lambda: loop(a, b).numpy()


def matmul_shares(rounds: int) -> None:
    """Part 2: XLA's matmuls at the second convolution's shapes, as shares of the limit."""
    rng = np.random.default_rng(0)

    def t(*shape):
        return tf.constant(rng.standard_normal(shape).astype(np.float32))

    last, first = 32 * 11 * 11, 32 * 10 * 10  # output positions: all, or those the pooling keeps
    cases = {  # operands, transposes, output positions
        "channels last, forward P W": (t(last, 288), t(288, 64), {}, last),
        "channels last, weights P^T G": (t(last, 288), t(last, 64), {"transpose_a": True}, last),
        "channels last, input G W^T": (t(last, 64), t(288, 64), {"transpose_b": True}, last),
        "channels first, forward W^T P": (t(288, 64), t(288, first), {"transpose_a": True}, first),
        "channels first, weights P G^T": (t(288, first), t(64, first), {"transpose_b": True}, first),
        "channels first, input W G": (t(288, 64), t(64, first), {}, first),
    }
    loops = {name: _matmul_loop(a, b, **tr) for name, (a, b, tr, _) in cases.items()}
    shares = {name: [] for name in cases}
    for _ in range(rounds):
        rate = matmul_rate(repeats=5)
        for name, loop in loops.items():
            start = time.perf_counter()
            loop()
            positions = cases[name][3]
            shares[name].append(2 * positions * 288 * 64 * MATMUL_STEPS / (time.perf_counter() - start) / rate)
    print(f"XLA matmuls at the second convolution's shapes (batch 32), {rounds} rounds; share of the limit:")
    for name, values in shares.items():
        print(f"{name:>32} {np.median(values):5.0%}")


def main(rounds: int = 5, threads: int = 0, precision: str = "float32") -> None:
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    compare_layouts(rounds, precision)
    matmul_shares(rounds)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 5, int(args[1]) if len(args) > 1 else 0, args[2] if len(args) > 2 else "float32")
