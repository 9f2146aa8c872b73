"""Downloads from the datasets' official URLs: temporary file, checksum, then into place.

Only :func:`initlab.data.datasets.load_dataset` calls this (this module knows nothing
of the datasets but what their declarations say), and only when a dataset
is found nowhere and downloads are allowed. Each file is streamed into a
temporary file in its destination folder, verified, and moved into place with
``os.replace``; a file that fails its check is deleted, never kept.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from initlab.data import formats as fmt
from initlab.errors import ChecksumError, InitlabError


@dataclass(frozen=True)
class RemoteArchive:
    """An archive downloaded whole (CIFAR-10): its file name under the base URL and its md5."""

    filename: str
    md5: str


def _stream(url: str, folder: Path, desc: str) -> tuple[Path, str]:
    """Stream ``url`` into a temporary file in ``folder``; return it and its md5."""
    from tqdm import tqdm

    fd, name = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=folder)
    tmp, md5 = Path(name), hashlib.md5(usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr, leave=False) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InitlabError(
            f"Download of {url} failed: {exc}. Check the network, or point INITLAB_DATA at a folder holding a copy."
        ) from None
    except BaseException:  # an interrupt: leave no partial file behind
        tmp.unlink(missing_ok=True)
        raise
    return tmp, md5.hexdigest()


def _place(tmp: Path, final: Path, expected: str, canonical: bytes, detail: str) -> None:
    """Move ``tmp`` to ``final`` if ``canonical`` (its content) has the expected sha256; else delete it."""
    actual = fmt.sha256(canonical)
    if actual != expected:
        tmp.unlink(missing_ok=True)
        raise ChecksumError(str(final), expected, actual, detail)
    os.replace(tmp, final)


def _fetch_idx(spec: Any, base_url: str, folder: Path) -> None:
    for f in spec.files:
        final = folder / f.remote
        if final.is_file():
            continue  # kept from an earlier, interrupted fetch; verified when loaded
        tmp, _ = _stream(base_url + f.remote, folder, f"{spec.name} {f.remote}")
        try:
            content = fmt.gunzip(tmp)
        except fmt.Unreadable as exc:
            tmp.unlink()
            raise ChecksumError(str(final), f.sha256, fmt.sha256(exc.content), f"download: {exc.detail}") from None
        _place(tmp, final, f.sha256, content, "download; sha256 of the decompressed IDX content")


def _fetch_cifar(spec: Any, base_url: str, folder: Path) -> None:
    remote, published = spec.archive.filename, spec.archive.md5
    archive, md5 = _stream(base_url + remote, folder, f"{spec.name} {remote}")
    try:
        if md5 != published:
            raise ChecksumError(base_url + remote, published, md5, "download", algorithm="md5")
        with tarfile.open(archive, "r:*") as tar:
            for f in spec.files:
                name = "batches.meta.txt" if f.key == "batches.meta" else f"{f.key}.bin"
                # Read named regular members only: nothing in the archive chooses a path.
                member = tar.getmember(f"{spec.folders[0][0]}/{name}")
                if not member.isfile():
                    raise InitlabError(f"{remote}: {member.name} is not a regular file")
                content = tar.extractfile(member).read()
                fd, tmp = tempfile.mkstemp(prefix=".extract-", suffix=".part", dir=folder)
                with os.fdopen(fd, "wb") as out:
                    out.write(content)
                _place(Path(tmp), folder / name, f.sha256, content, "extracted from the download")
    except (tarfile.TarError, KeyError, EOFError) as exc:
        raise InitlabError(f"{remote} from {base_url} is not the expected archive: {exc}") from None
    finally:
        archive.unlink(missing_ok=True)


def fetch(spec: Any, folder: Path) -> Path:
    """Download the files of ``spec`` from its ``base_url`` into ``folder``, verified.

    Args:
        spec: the dataset's declaration (an :class:`initlab.data.datasets.DatasetSpec`: its
            ``kind``, ``files``, ``base_url`` and, for an archive, ``archive``).
        folder: the destination, usually ``data/<dataset folder>``; created if needed.

    Returns:
        ``folder``.

    Raises:
        ChecksumError: a downloaded file does not match its checksum (it is deleted).
        InitlabError: the download failed.
    """
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        (_fetch_idx if spec.kind == "idx" else _fetch_cifar)(spec, spec.base_url, folder)
    except BaseException:
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return folder
