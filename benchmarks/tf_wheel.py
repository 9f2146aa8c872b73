"""What the installed TensorFlow wheel (``tensorflow`` or ``tensorflow-cpu``) does on this machine.

Run it once with each wheel's interpreter and compare the lines:

1. which distribution provides the ``tensorflow`` module, and its size on disk;
2. the seconds ``import initlab._tf_quiet`` takes (TensorFlow and Keras);
3. the float32 matmul rate (:func:`initlab.training.bench.matmul_rate`, best of 10, median of 5);
4. a small study on both engines (two initializers x two seeds, 2 epochs on the
   first 2,000 MNIST images, cache off) and a digest of its losses and
   accuracies to 6 decimals: equal digests mean the two wheels train the same numbers;
5. which CUDA notes TensorFlow writes to stderr in a fresh process when nothing quiets it
   (``TF_CPP_MIN_LOG_LEVEL`` unset, no redirection).

    python benchmarks/tf_wheel.py           # all of it
    python benchmarks/tf_wheel.py --rate    # only the distribution and (3), to alternate the two wheels
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

CUDA_NOTES = ("cudart_stub.cc", "cuInit", "cuda_platform.cc")
PROBE = "import tensorflow as tf; tf.function(lambda a: a @ a, jit_compile=True)(tf.ones((2, 2))).numpy()"


def distribution() -> tuple[str, float]:
    """The distribution that installed the ``tensorflow`` module and its size on disk in MB."""
    name = metadata.packages_distributions()["tensorflow"][0]
    files = metadata.distribution(name).files or []
    size = sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file())
    return name, size / 1e6


def cuda_notes() -> list[str]:
    """The CUDA notes a fresh, unquieted process writes to stderr on import and first XLA op."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    err = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stderr
    return sorted({note for note in CUDA_NOTES if note in err})


def main(*, rate_only: bool = False) -> None:
    name, size = distribution()
    print(f"distribution: {name} {metadata.version(name)}, {size:.0f} MB installed")
    start = time.perf_counter()
    import initlab._tf_quiet  # noqa: F401

    print(f"import tensorflow + keras: {time.perf_counter() - start:.1f} s")
    from initlab.training.bench import matmul_rate
    from initlab.training.study import Study

    rates = [matmul_rate() for _ in range(5)]
    print(f"float32 matmul rate: {statistics.median(rates) / 1e9:.0f} GFLOP/s (median of 5)")
    if rate_only:
        return
    for engine in ("stacked", "keras"):
        study = Study(
            "mnist",
            "mlp_128",
            ("he_normal", "glorot_uniform"),
            seeds=(0, 1),
            epochs=2,
            train_limit=2000,
            test_limit=1000,
            engine=engine,
        )
        start = time.perf_counter()
        df = study.run(cache=False)
        seconds = time.perf_counter() - start
        numbers = df[["loss", "accuracy", "val_loss", "test_loss", "test_accuracy"]].to_numpy().round(6)
        digest = hashlib.sha256(numbers.tobytes()).hexdigest()[:12]
        final = df[df.epoch == df.epoch.max()].test_accuracy.mean()
        print(f"{engine} engine: {seconds:.1f} s, mean final test accuracy {final:.4f}, digest {digest}")
    print(f"CUDA notes in an unquieted process: {', '.join(cuda_notes()) or 'none'}")


if __name__ == "__main__":
    main(rate_only="--rate" in sys.argv[1:])
