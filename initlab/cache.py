"""An on-disk cache of finished runs: one JSON file per run, written atomically.

A run is stored under the sha256 of its full specification (which includes
the package version), so a changed set-up or a new release never reuses an old
result. Each file carries a checksum of its payload; an entry that cannot be
read or does not match is reported, moved aside and recomputed, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any


def spec_key(spec: dict[str, Any]) -> str:
    """The cache key of a run specification (sha256 of its canonical JSON)."""
    return hashlib.sha256(_canonical(spec).encode()).hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


class CorruptCacheWarning(UserWarning):
    """A cache entry was unreadable and will be recomputed."""


class RunCache:
    """Finished runs under ``root``, one ``<key>.json`` each."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file a run with this key is stored in."""
        return self.root / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored payload for ``key``, or None if absent or corrupted."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            payload = record["payload"]
            if record.get("key") != key:
                raise ValueError("stored key differs from its file name")
            if record.get("sha256") != hashlib.sha256(_canonical(payload).encode()).hexdigest():
                raise ValueError("payload checksum mismatch")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            aside = path.with_suffix(".corrupt")
            os.replace(path, aside)
            warnings.warn(f"cache entry {path.name} is corrupted ({exc}); moved to {aside.name} "
                          "and the run is recomputed", CorruptCacheWarning, stacklevel=2)
            return None
        return payload

    def save(self, key: str, payload: dict[str, Any]) -> Path:
        """Store ``payload`` atomically (temporary file, fsync, rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "sha256": hashlib.sha256(_canonical(payload).encode()).hexdigest(),
                  "payload": payload}
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(record, sort_keys=True, allow_nan=True))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.path(key)
