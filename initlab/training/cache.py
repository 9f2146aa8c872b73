"""An on-disk cache of finished runs: one JSON file per run, written atomically.

A run is stored under the sha256 of its full specification (which includes
the package version), so a changed set-up or a new release never reuses an old
result. Each file carries a checksum of its payload; an entry that cannot be
read or does not match is reported, moved aside and recomputed, never used.

Several processes may share one cache folder. Entries are only ever replaced
whole (a temporary file renamed over the entry), so a reader sees an old entry
or a new one, never half of one. A corrupted entry is moved aside under a name
no other process uses; a process that finds it gone (another one moved it) or
replaced by a good entry (another one recomputed it) goes on without it, and a
good entry that lands in the moment between the check and the move is put back.

A run's :class:`~initlab.training.record.RunRecord` is stored in the layout of
:meth:`~initlab.training.record.RunRecord.to_dict` (:meth:`RunCache.save_record`,
:meth:`RunCache.load_record`); entries written before records were objects (plain dicts,
with or without ``initial_loss``) load unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import warnings
from pathlib import Path
from typing import Any

from initlab.training.record import RunRecord


def spec_key(spec: dict[str, Any]) -> str:
    """The cache key of a run specification (sha256 of its canonical JSON)."""
    return hashlib.sha256(_canonical(spec).encode()).hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _checksum(payload: Any) -> str:
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def _check(path: Path, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(payload, None)`` for a good entry, ``(None, None)`` for none, ``(None, problem)`` for a bad one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, str(exc)
    try:
        record = json.loads(text)
        payload = record["payload"]
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable: {exc}"
    if record.get("key") != key:
        return None, "stored key differs from its file name"
    if record.get("sha256") != _checksum(payload):
        return None, "payload checksum mismatch"
    return payload, None


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
        """The stored payload for ``key``, or None if absent or corrupted (then it is moved aside)."""
        path = self.path(key)
        payload, problem = _check(path, key)
        if problem is None:
            return payload
        payload, aside = self._set_aside(path, key)
        if payload is None:
            where = f"moved to {aside.name}" if aside else "another process moved it aside"
            warnings.warn(
                f"cache entry {path.name} is corrupted ({problem}); {where} and the run is recomputed",
                CorruptCacheWarning,
                stacklevel=2,
            )
        return payload

    def _set_aside(self, path: Path, key: str) -> tuple[dict[str, Any] | None, Path | None]:
        """Move a corrupted entry out of the way unless another process got there first.

        Returns:
            ``(payload, None)`` when a good entry took its place, ``(None, aside)`` when it
            was moved to ``aside``, ``(None, None)`` when it had already gone.
        """
        payload, problem = _check(path, key)
        if problem is None:
            return payload, None
        aside = path.with_name(f"{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.corrupt")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return None, None
        payload, _ = _check(aside, key)
        if payload is not None:  # a good entry was written between the check and the move
            os.replace(aside, path)
            return payload, None
        return None, aside

    def load_record(self, key: str) -> RunRecord | None:
        """The run stored under ``key`` as a :class:`RunRecord`, or None (see :meth:`load`)."""
        payload = self.load(key)
        return None if payload is None else RunRecord.from_dict(payload)

    def save_record(self, key: str, record: RunRecord) -> Path:
        """Store a run's record (:meth:`RunRecord.to_dict`'s layout) under ``key``."""
        return self.save(key, record.to_dict())

    def save(self, key: str, payload: dict[str, Any]) -> Path:
        """Store ``payload`` atomically (temporary file, fsync, rename, fsync of the folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "sha256": _checksum(payload), "payload": payload}
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
        _fsync_dir(self.root)
        return self.path(key)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
