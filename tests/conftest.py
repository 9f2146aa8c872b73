"""Shared test set-up: real data, no network, a private run cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["INITLAB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# A private run cache for the whole session (nbval's kernels inherit it): tests never use a user's cache.
os.environ["INITLAB_CACHE"] = tempfile.mkdtemp(prefix="initlab-test-cache-")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "INITLAB_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["INITLAB_DATA"] = str(_SHARED)


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    """A fresh, empty run cache for one test."""
    return tmp_path / "cache"
