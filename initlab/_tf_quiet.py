"""Import TensorFlow and Keras without the C++ log lines they print on import.

TensorFlow writes start-up notes (oneDNN, missing CUDA drivers) straight to
file descriptor 2, where notebooks would keep them as outputs. Modules that
use Keras import this first; afterwards ``TF_CPP_MIN_LOG_LEVEL=3`` keeps
runtime notes quiet. Python-level warnings and errors are not affected.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if "tensorflow" not in sys.modules:
    _saved = os.dup(2)
    _null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(_null, 2)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(_saved, 2)
        os.close(_saved)
        os.close(_null)

import tensorflow  # noqa: E402  (imported above, quietly, unless it already was)

# each new stack configuration traces once on purpose; TensorFlow would call that "retracing"
tensorflow.get_logger().setLevel("ERROR")
