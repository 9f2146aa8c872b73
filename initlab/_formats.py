"""Readers for the datasets' file formats, each returning the canonical bytes it hashed.

Checksums are taken over *canonical* content, the same whatever container
held it: the decompressed IDX bytes for MNIST-like files (so a recompressed
``.gz`` passes), the binary-version records for CIFAR-10. Readers of other
containers (Keras' ``mnist.npz``, CIFAR-10's python pickles) rebuild those
bytes before hashing.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

CIFAR_RECORD = 1 + 32 * 32 * 3


class Unreadable(Exception):
    """A file could not be decoded; ``content`` is what could be read of it."""

    def __init__(self, detail: str, content: bytes):
        super().__init__(detail)
        self.detail, self.content = detail, content


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def gunzip(path: Path) -> bytes:
    """The decompressed bytes of a ``.gz`` file; a truncated stream raises :class:`Unreadable`."""
    raw = path.read_bytes()
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            partial = d.decompress(raw)
        except zlib.error:
            partial = b""
        raise Unreadable(f"truncated or damaged gzip stream: {exc}", partial) from None


def parse_idx(content: bytes) -> np.ndarray:
    """An IDX byte stream (uint8 data) as an array of its declared shape."""
    if len(content) < 8:
        raise ValueError("too short for an IDX header")
    zero, dtype_code, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, content[4:4 + 4 * ndim])
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"IDX declares {dims} but holds {data.size} values")
    return data.reshape(dims)


def to_idx(array: np.ndarray) -> bytes:
    """The IDX byte stream of a uint8 array (inverse of :func:`parse_idx`)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, a.ndim) + struct.pack(">" + "I" * a.ndim, *a.shape) + a.tobytes()


def parse_cifar_bin(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 binary records as ``(images (N,32,32,3) uint8, labels (N,) uint8)``."""
    if len(content) % CIFAR_RECORD:
        raise ValueError(f"size {len(content)} is not a whole number of {CIFAR_RECORD}-byte records")
    records = np.frombuffer(content, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 0].copy()


def cifar_records(data: np.ndarray, labels: np.ndarray) -> bytes:
    """Binary-version records from pickle-version rows ``(N, 3072)`` and labels."""
    rows = np.asarray(data, dtype=np.uint8).reshape(len(labels), -1)
    out = np.empty((len(labels), CIFAR_RECORD), dtype=np.uint8)
    out[:, 0] = np.asarray(labels, dtype=np.uint8)
    out[:, 1:] = rows
    return out.tobytes()


def read_cifar_pickle(path: Path) -> bytes:
    """The canonical (binary-version) bytes of one CIFAR-10 python-pickle batch."""
    try:
        with path.open("rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        return cifar_records(batch[b"data"], batch[b"labels"])
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a damaged file
        raise Unreadable(f"unreadable pickle: {exc}", path.read_bytes()) from None


def read_npz_member(path: Path, key: str) -> bytes:
    """The canonical IDX bytes of one array of Keras' ``mnist.npz``."""
    try:
        with np.load(path) as z:
            return to_idx(z[key])
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"unreadable npz: {exc}", path.read_bytes()) from None
