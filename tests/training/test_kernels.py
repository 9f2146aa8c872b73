"""The tests marked ``kernels`` (float32 results of matmuls compared across engines) pass with other matmul kernels.

Machines differ in their kernels (AVX2 or AVX-512, cache sizes that set the
blocking of a sum): results differ in the last bits. These tests rerun the
marked tests in a process whose TensorFlow uses other kernels: Eigen's instead
of oneDNN's (``TF_ENABLE_ONEDNN_OPTS=0``, on any x86-64 CPU), and oneDNN limited
to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, different where the CPU has AVX-512).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import hashlib, numpy as np, tensorflow as tf; r = np.random.default_rng(0); "
    "a = r.standard_normal((256, 784)).astype(np.float32); b = r.standard_normal((784, 128)).astype(np.float32); "
    "print(hashlib.sha256(tf.matmul(a, b).numpy().tobytes()).hexdigest())"
)
WAYS = {"eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"}, "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_turning_onednn_off_changes_the_matmul_bits() -> None:
    """The second way really runs other kernels: a float32 matmul's bits change."""
    default = _run([sys.executable, "-c", PROBE], {}).stdout.strip()
    eigen = _run([sys.executable, "-c", PROBE], WAYS["eigen"]).stdout.strip()
    assert default and eigen and default != eigen


@pytest.mark.parametrize("way", WAYS, ids=list(WAYS))
def test_kernel_sensitive_tests_pass_with_other_kernels(way: str) -> None:
    out = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "kernels",
            "-p",
            "no:cacheprovider",
            "tests/training/test_engine.py",
        ],
        WAYS[way],
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "deselected" in out.stdout
