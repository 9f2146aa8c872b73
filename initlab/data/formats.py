"""Readers for the datasets' file formats, each returning the canonical bytes it hashes.

Checksums cover *canonical* content, the same whatever container held it:
the decompressed IDX bytes for MNIST-like files (so a recompressed ``.gz``
passes), the binary-version bytes for CIFAR-10. Readers of other containers
(Keras' ``mnist.npz``, CIFAR-10's python pickles) rebuild those bytes first.
:class:`Candidate` knows where each format keeps each file.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CIFAR_RECORD = 1 + 32 * 32 * 3  # one label byte, then 1,024 R, 1,024 G and 1,024 B bytes
NPZ_MEMBERS = {
    "train-images-idx3-ubyte": "x_train",
    "train-labels-idx1-ubyte": "y_train",
    "t10k-images-idx3-ubyte": "x_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
_HASHED_AS = {
    "idx-gz": "sha256 of the decompressed IDX content",
    "keras-npz": "sha256 of the IDX bytes rebuilt from the array",
    "cifar-pickle": "sha256 of the binary-version bytes rebuilt from the pickle",
}


class Unreadable(Exception):
    """A file could not be decoded; ``content`` is the part that could be."""

    def __init__(self, detail: str, content: bytes):
        super().__init__(detail)
        self.detail, self.content = detail, content


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _gunzip_prefix(raw: bytes) -> bytes:
    """What decompresses of a damaged gzip stream before the damage."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = []
    for start in range(0, len(raw), 1 << 16):
        try:
            out.append(d.decompress(raw[start : start + (1 << 16)]))
        except zlib.error:
            break
    return b"".join(out)


def gunzip(path: Path) -> bytes:
    """The decompressed bytes of a ``.gz`` file.

    Raises:
        Unreadable: the stream is truncated or damaged (``content`` holds the
            part that decompresses).
    """
    raw = path.read_bytes()
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        partial = _gunzip_prefix(raw)
        kind = "truncated" if isinstance(exc, EOFError) else "damaged"
        raise Unreadable(
            f"{kind} gzip file, only {len(partial):,} bytes decompress; the actual hash is of that part", partial
        ) from None


def parse_idx(content: bytes) -> np.ndarray:
    """A uint8 IDX byte stream as a (read-only) array of its declared shape."""
    if len(content) < 4:
        raise ValueError("too short for an IDX header")
    zero, dtype_code, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("not a uint8 IDX stream")
    dims = struct.unpack(">" + "I" * ndim, content[4 : 4 + 4 * ndim])
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"IDX header declares shape {dims} but the stream holds {data.size} values")
    return data.reshape(dims)


def to_idx(array: np.ndarray) -> bytes:
    """The IDX byte stream of a uint8 array (inverse of :func:`parse_idx`).

    The header is big-endian: magic ``0x0000 08 <ndim>`` (``0x00000803`` for
    images, ``0x00000801`` for labels), then one 32-bit count per axis.
    """
    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got {a.dtype}")
    return struct.pack(">HBB", 0, 0x08, a.ndim) + struct.pack(">" + "I" * a.ndim, *a.shape) + a.tobytes()


def parse_cifar_bin(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 binary records as ``(images (N, 32, 32, 3), labels (N,))``, uint8, channels last."""
    if len(content) % CIFAR_RECORD:
        raise ValueError(f"{len(content)} bytes is not a whole number of {CIFAR_RECORD}-byte records")
    records = np.frombuffer(content, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW planes to HWC
    return np.ascontiguousarray(images), records[:, 0].copy()


def cifar_records(data: np.ndarray, labels: object) -> bytes:
    """Binary-version records (label byte + 3,072 pixel bytes) from pickle-version rows and labels."""
    labels = np.asarray(labels)
    rows = np.asarray(data)
    if rows.dtype != np.uint8 or rows.shape != (len(labels), CIFAR_RECORD - 1):
        raise ValueError(
            f"expected uint8 rows of shape ({len(labels)}, {CIFAR_RECORD - 1}), got {rows.dtype} {rows.shape}"
        )
    out = np.empty((len(labels), CIFAR_RECORD), dtype=np.uint8)
    out[:, 0] = labels
    out[:, 1:] = rows
    return out.tobytes()


def _unpickle(path: Path) -> dict:
    with path.open("rb") as fh:
        return pickle.load(fh, encoding="bytes")


def read_cifar_pickle(path: Path) -> bytes:
    """The canonical (binary-version) bytes of one CIFAR-10 python-pickle batch.

    Raises:
        Unreadable: the file is not such a pickle (``content``: its raw bytes).
    """
    try:
        batch = _unpickle(path)
        return cifar_records(batch[b"data"], batch[b"labels"])
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a damaged file
        raise Unreadable(f"not a readable CIFAR-10 batch pickle: {exc!r}", path.read_bytes()) from None


def read_cifar_meta_pickle(path: Path) -> bytes:
    """The canonical bytes of ``batches.meta``: ``batches.meta.txt`` (names one a line, then a blank line)."""
    try:
        names = _unpickle(path)[b"label_names"]
        return b"\n".join(names) + b"\n\n"
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"not a readable CIFAR-10 meta pickle: {exc!r}", path.read_bytes()) from None


def read_npz_member(path: Path, key: str) -> bytes:
    """The canonical IDX bytes of one array (``x_train`` ...) of Keras' ``mnist.npz``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return to_idx(z[key])
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"no readable uint8 array {key!r} in the npz: {exc!r}", path.read_bytes()) from None


@dataclass(frozen=True)
class Candidate:
    """A place a dataset may be: a folder (or ``mnist.npz``) and the format expected there."""

    path: Path
    format: str
    keys: tuple[str, ...]  # the canonical names of the files it must hold

    def files(self) -> dict[str, Path]:
        """The file holding each canonical key."""
        if self.format == "keras-npz":
            return dict.fromkeys(self.keys, self.path)
        if self.format == "idx-gz":
            return {k: self.path / f"{k}.gz" for k in self.keys}
        if self.format == "cifar-bin":
            return {k: self.path / ("batches.meta.txt" if k == "batches.meta" else f"{k}.bin") for k in self.keys}
        return {k: self.path / k for k in self.keys}

    def canonical(self, key: str) -> bytes:
        """The canonical content of file ``key`` (what its checksum covers)."""
        path = self.files()[key]
        if self.format == "idx-gz":
            return gunzip(path)
        if self.format == "keras-npz":
            return read_npz_member(path, NPZ_MEMBERS[key])
        if self.format == "cifar-bin":
            return path.read_bytes()
        if key == "batches.meta":
            return read_cifar_meta_pickle(path)
        return read_cifar_pickle(path)

    def hashed_as(self) -> str:
        """What the checksum of a file in this format is taken over (for error messages)."""
        return _HASHED_AS.get(self.format, "")
