"""``initlab reproduce``: execute every notebook with papermill and collect the summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from initlab.paths import data_dir, project_root

# Small, fast parameters for `initlab reproduce --quick` and the test suite: real data, small subsets.
QUICK: dict[str, dict] = {
    "01": {"seeds": [0, 1], "epochs": 2, "train_limit": 2000, "test_limit": 1000},
    "02": {"seeds": [0, 1], "epochs": 1, "train_limit": 2000, "test_limit": 1000},
    "03": {"seeds": [0, 1], "epochs": 2, "train_limit": 2000, "test_limit": 1000},
    "04": {"seeds": [0, 1], "epochs": 1, "train_limit": 1000, "test_limit": 500},
    "05": {"seeds": [0, 1], "epochs": 2, "train_limit": 1000, "test_limit": 500},
}


def quick_parameters(path: Path) -> dict:
    """The quick profile's parameters of a numbered notebook (empty if it has none)."""
    return dict(QUICK.get(path.name[:2], {}))


def notebook_paths(selection: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks in ``notebooks/`` (optionally only those selected)."""
    found = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return found
    return [p for p in found if any(p.name == s or p.name.startswith(s.zfill(2) + "_") for s in selection)]


def reproduce(quick: bool = False, notebooks: Sequence[str] | None = None) -> int:
    """Execute the notebooks in order; full runs write in place, quick runs to ``data/quick/``.

    Returns:
        0 when every notebook ran, 1 otherwise.
    """
    import papermill as pm

    paths = notebook_paths(notebooks)
    if not paths:
        print("no notebooks to execute in notebooks/")
        return 0
    out_dir = data_dir() / "quick" if quick else None
    failed = []
    for i, path in enumerate(paths, start=1):
        target = (out_dir / path.name) if out_dir else path
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"[{i}/{len(paths)}] {path.name} ...", flush=True)
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(path), str(target), parameters=quick_parameters(path) if quick else {},
                                cwd=str(path.parent), progress_bar=False, kernel_name="python3")
        except pm.PapermillExecutionError as exc:
            failed.append(path.name)
            print(f"    failed: {exc.ename}: {exc.evalue}", file=sys.stderr)
            continue
        print(f"    done in {time.perf_counter() - start:.0f} s -> {target}")
    return 1 if failed else 0
