"""What a sweep costs: the fixed cost per point, and serial execution against a 2-worker LocalCluster.

Three measurements, in one process, on this machine:

1. the fixed cost of one point: a notebook that does nothing (kernel start,
   ``import initlab``, one record), then the same loading and preparing MNIST;
2. N points of a training notebook (``03`` at small parameters: one seed,
   ``train_limit`` 3000, one epoch) executed one after another in this process;
3. the same N points as a sweep on a ``LocalCluster`` of 2 worker processes.

The ratio (2) / (3) is the speed-up a 2-core machine gets from the cluster.

    python benchmarks/sweep_overhead.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from initlab.paths import project_root
from initlab.pipeline import sweep

TOY = project_root() / "tests" / "notebooks" / "sweep_toy.ipynb"
SOURCE = project_root() / "notebooks" / "03_mnist_four_initializers.ipynb"
SMALL = {"epochs": 1, "train_limit": 3000, "test_limit": 1000}


def _point(notebook: Path, params: dict, env: dict) -> float:
    start = time.perf_counter()
    result = sweep.execute_point(notebook.read_text(), "point.ipynb", params, env=env)
    if result["status"] != "completed":
        raise RuntimeError(f"{notebook.name} {params}: {result['error']}")
    return time.perf_counter() - start


def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="initlab-sweep-bench-") as tmp:
        env = {"INITLAB_CACHE": str(Path(tmp) / "cache-serial")}  # every point trains: nothing cached
        empty = min(_point(TOY, {"a": i}, env) for i in range(3))
        loaded = min(_point(TOY, {"a": i, "dataset": "mnist"}, env) for i in range(3))
        print(
            f"fixed cost per point: {empty:.1f} s (kernel start, import, record); "
            f"{loaded:.1f} s with MNIST loaded and prepared ({loaded - empty:.1f} s for the data)"
        )
        grid = {"seeds": [[s] for s in range(n)], **{k: [v] for k, v in SMALL.items()}}
        points = sweep.expand(grid)
        start = time.perf_counter()
        for p in points:
            _point(SOURCE, p.params, env)
        serial = time.perf_counter() - start
        print(f"{n} points of {SOURCE.name}, one after another: {serial:.1f} s ({serial / n:.1f} s per point)")
        start = time.perf_counter()
        sweep.run(
            SOURCE,
            grid,
            out=Path(tmp) / "sweep",
            workers=2,
            progress=False,
            env={"INITLAB_CACHE": str(Path(tmp) / "cache-cluster")},
        )
        parallel = time.perf_counter() - start
        print(
            f"the same {n} points on a 2-worker LocalCluster: {parallel:.1f} s (cluster start included); "
            f"serial / cluster = {serial / parallel:.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
