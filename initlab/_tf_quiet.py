"""Import TensorFlow and Keras without the C++ log lines they print on import or at run time.

TensorFlow writes start-up notes (absl's "before InitializeLog" warning,
oneDNN, missing CUDA drivers, CPU features) straight to file descriptor 2
before any log level applies, where notebooks would keep them as outputs:
fd 2 goes to /dev/null while TensorFlow and Keras are imported, and Python's
``sys.stderr`` to a copy of the real stderr meanwhile. Its run-time
notes (``cuInit`` failing on the first XLA op, the XLA service, tf.data's
"NodeDef mentions attribute") are logged at the level ``TF_CPP_MIN_LOG_LEVEL``
sets, 3 here unless the caller chose one. Modules that use Keras import this
first. Python-level warnings and errors are not affected, during the import
or after it (only TensorFlow's own Python logger is set to errors, for its
retracing notes).
"""

from __future__ import annotations

import os
import sys

if not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):  # unset, or empty (which TensorFlow reads as 0)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def _writes_to_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # no file behind it (a notebook's stream, a capture), or closed
        return False


if "tensorflow" not in sys.modules:
    sys.stderr.flush()
    _saved = os.dup(2)
    _null = os.open(os.devnull, os.O_WRONLY)
    _python_stderr = sys.stderr
    if _writes_to_fd2(sys.stderr):
        # Python's own writes (warnings, logging, tracebacks) keep going where fd 2 went
        sys.stderr = os.fdopen(os.dup(_saved), "w", buffering=1, errors="backslashreplace")
    os.dup2(_null, 2)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(_saved, 2)
        os.close(_saved)
        os.close(_null)
        if sys.stderr is not _python_stderr:
            sys.stderr.close()
            sys.stderr = _python_stderr

import tensorflow  # noqa: E402  (imported above, quietly, unless it already was)

# each new stack configuration traces once on purpose; TensorFlow would call that "retracing"
tensorflow.get_logger().setLevel("ERROR")
