"""Files written atomically: a reader never sees a partly written file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


def _umask() -> int:
    """The process's file-creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replace_files(contents: Mapping[Path, str]) -> list[Path]:
    """Write each text to its path atomically: all to temporary files first, then moved into place.

    Each temporary file sits in its path's folder (so :func:`os.replace` is a rename within
    one file system), is flushed to disk and gets the permissions a new file would get.
    Nothing is replaced until every temporary file is complete: if anything fails (or the
    process is interrupted) before then, the temporary files are removed and every path keeps
    its previous content. A path never holds a partly written file.

    Returns:
        The paths, in order.
    """
    paths = [Path(p) for p in contents]
    temps: list[Path] = []
    try:
        for path, text in zip(paths, contents.values()):
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append(Path(name))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(name, 0o666 & ~_umask())
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return paths


def copy_file(source: Path, target: Path) -> Path:
    """Copy ``source`` over ``target`` atomically (a temporary file beside ``target``, then a rename)."""
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, name)
        os.chmod(name, 0o666 & ~_umask())
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return target
