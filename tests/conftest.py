"""Shared test set-up: real data, no network, a private run cache removed at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["INITLAB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# A private run cache for the session: tests never read or write a user's cache.
_SESSION_CACHE = tempfile.mkdtemp(prefix="initlab-test-cache-")
os.environ["INITLAB_CACHE"] = _SESSION_CACHE
# Studies train in the test process (where monkeypatches reach them), not on a cluster of their own;
# tests/training/test_workers.py starts real clusters and trains on them.
os.environ["INITLAB_WORKERS"] = "1"
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "INITLAB_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["INITLAB_DATA"] = str(_SHARED)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    """A fresh, empty run cache for one test."""
    return tmp_path / "cache"


@pytest.fixture
def interrupt_csv_writes(monkeypatch: pytest.MonkeyPatch):
    """Call it to make ``DataFrame.to_csv`` write half of a file it is given, then raise KeyboardInterrupt."""
    import pandas as pd

    real_to_csv = pd.DataFrame.to_csv

    def interrupted(self, path_or_buf=None, *args, **kwargs):
        text = real_to_csv(self, None, *args, **kwargs)
        if path_or_buf is not None:  # written straight to the file: half of it, then the interruption
            Path(path_or_buf).write_text(text[: len(text) // 2])
        raise KeyboardInterrupt

    return lambda: monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
