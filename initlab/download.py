"""Downloads from the datasets' official URLs: temporary file, checksum, then into place."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from initlab import _formats as fmt
from initlab.errors import ChecksumError, InitlabError
from initlab.paths import data_dir


def _download(url: str, target_dir: Path, desc: str) -> Path:
    """Stream ``url`` into a temporary file in ``target_dir`` with a progress bar."""
    from tqdm.auto import tqdm

    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=target_dir)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InitlabError(f"download of {url} failed: {exc}") from None
    return Path(tmp)


def _place(tmp: Path, final: Path, expected: str, content: bytes | None) -> None:
    actual = fmt.sha256(content if content is not None else tmp.read_bytes())
    if actual != expected:
        tmp.unlink(missing_ok=True)
        raise ChecksumError(str(final), expected, actual, "downloaded file")
    os.replace(tmp, final)


def fetch(spec) -> "Candidate":  # noqa: F821 - the datasets module's Candidate
    """Download ``spec`` into the project's ``data/`` and return where it now is."""
    from initlab.datasets import CIFAR_BATCHES, CIFAR_TAR_MD5, IDX_KEYS, Candidate

    if spec.kind == "idx":
        folder = data_dir() / spec.folders[0]
        for key in IDX_KEYS:
            final = folder / f"{key}.gz"
            if final.is_file():
                continue
            tmp = _download(spec.url + f"{key}.gz", folder, f"{spec.name} {key}")
            try:
                content = fmt.gunzip(tmp)
            except fmt.Unreadable as exc:
                tmp.unlink(missing_ok=True)
                raise ChecksumError(str(final), spec.sha256[key], fmt.sha256(exc.content), exc.detail) from None
            _place(tmp, final, spec.sha256[key], content)
        return Candidate(folder, "idx-gz")

    folder = data_dir() / "cifar-10-batches-bin"
    tmp = _download(spec.url, data_dir(), "cifar10 archive")
    try:
        md5 = hashlib.md5(tmp.read_bytes()).hexdigest()
        if md5 != CIFAR_TAR_MD5:
            raise ChecksumError(spec.url, f"md5 {CIFAR_TAR_MD5}", f"md5 {md5}", "downloaded archive")
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tmp) as tar:
            for key in CIFAR_BATCHES:
                member = tar.getmember(f"cifar-10-batches-bin/{key}.bin")
                fd, part = tempfile.mkstemp(prefix=".extract-", suffix=".part", dir=folder)
                with tar.extractfile(member) as src, os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _place(Path(part), folder / f"{key}.bin", spec.sha256[key], None)
    finally:
        tmp.unlink(missing_ok=True)
    return Candidate(folder, "cifar-bin")
