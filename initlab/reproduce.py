"""``initlab reproduce``: execute every notebook with papermill, clean it, and write the summary."""

from __future__ import annotations

import shutil
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
    "06": {"seeds": [0, 1], "epochs": 1, "train_limit": 400, "test_limit": 300, "depths": [2, 5],
           "probe_depth": 10, "probe_width": 64},
}


def baselines_dir() -> Path:
    """Where the nbval baselines (quick-profile runs) are kept."""
    return project_root() / "tests" / "baselines"


def notebook_paths(selection: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks in ``notebooks/`` (optionally only those selected)."""
    found = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return found
    return [p for p in found if any(p.name == s or p.name.startswith(s.zfill(2) + "_") for s in selection)]


def quick_parameters(path: Path) -> dict:
    """The quick profile's parameters of a numbered notebook (empty if it has none)."""
    return dict(QUICK.get(path.name[:2], {}))


def execute(path: Path, target: Path, parameters: dict) -> None:
    """Run one notebook with papermill (no progress bar) and clean the result."""
    import papermill as pm

    from initlab.nbclean import clean

    target.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(path), str(target), parameters=parameters, cwd=str(path.parent),
                        progress_bar=False, kernel_name="python3")
    for problem in clean(target):
        print(f"    warning: {target.name}: {problem}", file=sys.stderr)


def reproduce(quick: bool = False, notebooks: Sequence[str] | None = None,
              update_baselines: bool = False, summary_only: bool = False) -> int:
    """Execute the notebooks in order and write the summary table.

    Full runs write the executed notebooks in place and the summary to
    ``notebooks/summary.{csv,md}``; quick runs write both to ``data/quick/``
    (and, with ``update_baselines``, copy the notebooks to ``tests/baselines/``).

    Returns:
        0 when every notebook ran, 1 otherwise.
    """
    import papermill as pm

    from initlab import summary

    paths = notebook_paths(notebooks)
    out_dir = data_dir() / "quick" if quick else None
    failed = []
    started = time.perf_counter()
    for i, path in enumerate(paths if not summary_only else [], start=1):
        target = (out_dir / path.name) if out_dir else path
        print(f"[{i}/{len(paths)}] {path.name} ...", flush=True)
        start = time.perf_counter()
        try:
            execute(path, target, quick_parameters(path) if quick else {})
        except pm.PapermillExecutionError as exc:
            failed.append(path.name)
            print(f"    failed: {exc.ename}: {exc.evalue}", file=sys.stderr)
            continue
        print(f"    done in {time.perf_counter() - start:.0f} s", flush=True)
        if quick and update_baselines:
            shutil.copyfile(target, baselines_dir() / path.name)
    executed = [(out_dir / p.name) if out_dir else p for p in paths]
    table = summary.build([p for p in executed if p.exists()])
    folder = out_dir or (project_root() / "notebooks")
    if notebooks:  # a selection: keep the other notebooks' rows
        table = summary.merge(table, folder / "summary.csv")
    if len(table):
        csv, md = summary.write(table, folder)
        print(f"summary: {len(table)} numbers beside the papers' -> {csv.name}, {md.name}")
    print(f"total {time.perf_counter() - started:.0f} s; {len(paths) - len(failed)} of {len(paths)} notebooks ran"
          if not summary_only else "summary rebuilt from the cache")
    return 1 if failed else 0
