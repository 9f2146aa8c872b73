"""The engine benchmark as a script: ``python benchmarks/bench_engine.py [--quick]``.

Same as ``initlab bench``; see :mod:`initlab.training.bench` for what is measured.
"""

import sys

from initlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
