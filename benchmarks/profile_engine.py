"""Where one compiled training epoch of the stacked engine spends its time, op by op.

Trains ``MODEL`` (default: the `002` deep MLP) for one epoch on the first
9,600 MNIST training images at stack size K (default 1) under TensorFlow's
profiler, with XLA's per-op trace events switched on, and prints the compiled
ops that take the most time in total (milliseconds over the epoch's 240 steps,
and calls). The op names are those of XLA's optimized HLO
(``XLA_FLAGS=--xla_dump_to=DIR --xla_dump_hlo_as_text`` shows what each one is:
``dot.N`` or ``MatMul…`` a matmul, ``*_fusion`` an elementwise or reduction pass). Ops that
can run at the same time may overlap, so the rows need not add up to the epoch;
and with more than one thread XLA runs a matmul asynchronously, so part of its time
shows up nowhere: ``--threads 1`` runs everything in turn on one thread, and its rows
add up. ``--layout`` picks the convolutions' layout (``initlab.training.conv``).

    python benchmarks/profile_engine.py [MODEL] [K] [ROWS] [--threads N] [--layout LAYOUT]
"""

import initlab._tf_quiet  # noqa: E402,F401

# isort: split
import argparse
import os
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true").strip()

import collections  # noqa: E402
import glob  # noqa: E402

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from initlab import training  # noqa: E402
from initlab.nets.models import get_model_entry  # noqa: E402
from initlab.training.conv import CONV_LAYOUTS  # noqa: E402
from initlab.training.spec import RunSpec  # noqa: E402
from initlab.training.stack import fit_stack  # noqa: E402

N_IMAGES = 9600  # 240 training steps of 32 after the 20% validation split


def op_times(logdir: str) -> list[tuple[str, int, float]]:
    """(name, calls, total milliseconds) of every traced event, longest first."""
    path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for plane in space.planes:
        names = {i: m.name for i, m in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                entry = totals[names.get(event.metadata_id, "?")]
                entry[0] += 1
                entry[1] += event.duration_ps / 1e9
    return sorted(((n, int(c), ms) for n, (c, ms) in totals.items()), key=lambda t: -t[2])


def main(
    model: str = "mlp_512_256_128_64", k: int = 1, rows: int = 25, threads: int = 0, layout: str | None = None
) -> None:
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    data = training.prepare_data(
        "mnist",
        preprocess="scale",
        channels=get_model_entry(model).convolutional,
        train_limit=N_IMAGES,
        test_limit=None,
    )
    specs = [RunSpec(dataset="mnist", model=model, init="he_normal", seed=i, train_limit=N_IMAGES) for i in range(k)]
    models = [training.build_for(s, data) for s in specs]
    seeds = list(range(k))
    fit_stack(models, seeds, data.x_train, y_train=data.y_train, epochs=1, conv_layout=layout)  # compiles
    steps = int(N_IMAGES * 0.8) // 32
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        fit_stack(models, seeds, data.x_train, y_train=data.y_train, epochs=1, conv_layout=layout)
        tf.profiler.experimental.stop()
        times = op_times(logdir)
    per_step = [t for t in times if t[1] == steps]
    print(f"{model}, K = {k}: one epoch of {steps} steps; compiled ops called once per step, longest first")
    print(f"{'ms in all':>10} {'calls':>6}  op")
    for name, calls, ms in per_step[:rows]:
        print(f"{ms:10.1f} {calls:6d}  {name}")
    print(f"{sum(t[2] for t in per_step):10.1f}         all {len(per_step)} ops called once per step")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time each compiled op of one training epoch.")
    parser.add_argument("model", nargs="?", default="mlp_512_256_128_64")
    parser.add_argument("k", nargs="?", type=int, default=1)
    parser.add_argument("rows", nargs="?", type=int, default=25)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow's threads (default: its own choice)")
    parser.add_argument("--layout", choices=CONV_LAYOUTS, help="the convolutions' layout (default: the engine's)")
    args = parser.parse_args()
    main(args.model, args.k, args.rows, args.threads, args.layout)
