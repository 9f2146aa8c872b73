"""Where initlab keeps things: the project folder, its data/ and the run cache."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout holding ``pyproject.toml`` (editable install), else the cwd."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file():
        return here
    return Path.cwd()


def data_dir() -> Path:
    """The project's ``data/`` folder (downloads land here)."""
    return project_root() / "data"


def cache_dir() -> Path:
    """Where finished runs are cached: ``$INITLAB_CACHE`` or ``data/cache``."""
    env = os.environ.get("INITLAB_CACHE")
    return Path(env) if env else data_dir() / "cache"


def offline() -> bool:
    """True when downloads are switched off (``INITLAB_OFFLINE=1``)."""
    return os.environ.get("INITLAB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
