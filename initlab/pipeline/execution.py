"""Execute one notebook with papermill, safely: a kernel of its own, and nothing replaced until it completes.

The kernel talks to papermill over IPC sockets (files in Jupyter's runtime
folder), not TCP ports, so parallel executions never clash and ipykernel has no
reason to warn about unencrypted TCP. The notebook runs into a working copy;
only a run in which every cell completed is cleaned and moved into place
(atomically). On an error or an interrupt the target is left as it was and
the working copy is kept for inspection.

Progress bars never reach the outputs: the kernel starts with ``TQDM_DISABLE=1``,
which silences every tqdm bar in it (a study's ``progress=True`` included), and
papermill's own bar over the cells, when asked for, is drawn by this process on
its stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from initlab.errors import NotebookFailedError
from initlab.files import copy_file
from initlab.pipeline.nbclean import clean

KERNEL_ENV = {"TQDM_DISABLE": "1"}  # no progress bar inside the kernel, where it would become an output


def _manager_class(env: Mapping[str, str]) -> type:
    """A kernel manager that uses IPC transport and starts the kernel with ``env`` added."""
    from jupyter_client import AsyncKernelManager

    extra = dict(env)

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any):
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)

        async def _async_pre_start_kernel(self, **kw: Any):
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra}
            return await super()._async_pre_start_kernel(**kw)

    return IPCKernelManager


def _failed_cell(path: Path) -> int | None:
    """The index of the first cell papermill marked as failed or left running."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable partial file has no cell to name
        return None
    for i, cell in enumerate(nb.cells):
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if status in ("failed", "running") or any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return None


def execute_notebook(
    source: Path,
    target: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    partial_dir: Path | None = None,
    progress: bool = False,
) -> list[str]:
    """Execute ``source`` with ``parameters`` and write the cleaned result to ``target``.

    Args:
        source: the notebook to run (its folder is the working directory).
        target: where the executed notebook goes; replaced only if every cell ran.
        parameters: papermill parameters.
        env: environment variables added for the kernel (e.g. ``INITLAB_CACHE``).
        partial_dir: where a failed or interrupted run's output is kept (default: a
            temporary folder).
        progress: papermill's bar over the cells, on this process's stderr (never in the outputs).

    Returns:
        Problems :func:`initlab.pipeline.nbclean.clean` found in the outputs (progress bars, paths).

    Raises:
        NotebookFailedError: a cell raised (or papermill could not start the kernel).
    """
    import papermill as pm

    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_dir = Path(partial_dir) if partial_dir else Path(tempfile.mkdtemp(prefix="initlab-partial-"))
    partial_dir.mkdir(parents=True, exist_ok=True)
    working = partial_dir / target.name
    try:
        pm.execute_notebook(
            str(source),
            str(working),
            parameters=dict(parameters or {}),
            cwd=str(source.parent),
            progress_bar={"desc": source.stem, "leave": False, "file": sys.stderr} if progress else False,
            kernel_name="python3",
            log_output=False,
            kernel_manager_class=_manager_class({**KERNEL_ENV, **(env or {})}),
        )
    except pm.PapermillExecutionError as exc:
        raise NotebookFailedError(target.name, exc.cell_index, f"{exc.ename}: {exc.evalue}".strip(), working) from None
    except KeyboardInterrupt:
        raise NotebookFailedError(
            target.name, _failed_cell(working), "interrupted", working if working.exists() else None
        ) from None
    except Exception as exc:  # noqa: BLE001 - kernel start-up and I/O failures, named in one line
        raise NotebookFailedError(
            target.name, _failed_cell(working), f"{type(exc).__name__}: {exc}", working if working.exists() else None
        ) from None
    problems = clean(working)
    copy_file(working, target)
    working.unlink()
    with contextlib.suppress(OSError):
        partial_dir.rmdir()  # only when nothing else is kept there
    return problems
