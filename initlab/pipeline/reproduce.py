"""``initlab reproduce``: execute every notebook with papermill, clean it, and write the summary and the
claims table.

Nothing committed is damaged by a failed or interrupted run: each notebook runs
into a working copy (kept in ``data/partial/`` when it fails) and replaces the
committed one only when every cell completed; the summary, the nbval baselines
and their recorded numbers are written atomically.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import initlab.claims.table as claims_table
import initlab.pipeline.summary as summary
from initlab.claims import load_ledger
from initlab.errors import InitlabError, InvalidArgumentError, NotebookFailedError, UnknownNameError
from initlab.files import copy_file, replace_files
from initlab.paths import data_dir, project_root
from initlab.pipeline.execution import execute_notebook
from initlab.pipeline.progress import NotebookProgress
from initlab.pipeline.recorded import read_records
from initlab.workers import cluster_for_kernels, threads_per_unit, worker_count

# Each notebook's expected wall time in seconds, its weight in the overall progress bar.
# full: the run at the defaults in docs/reproduction.md (idle 2-core machine, empty run cache);
# quick: the `done in` lines of one `initlab reproduce --quick` on the same machine, cores shared.
WALL_SECONDS: dict[str, dict[str, int]] = {
    "full": {"01": 99, "02": 304, "03": 32, "04": 1161, "05": 415, "06": 342, "07": 157, "08": 139},
    "quick": {"01": 42, "02": 59, "03": 20, "04": 71, "05": 35, "06": 119, "07": 44, "08": 34},
}

# Small, fast parameters for `initlab reproduce --quick` and the test suite: real data, small subsets.
QUICK: dict[str, dict] = {
    "01": {"seeds": [0, 1], "epochs": 2, "train_limit": 2000, "test_limit": 1000},
    "02": {"seeds": [0, 1], "epochs": 1, "train_limit": 2000, "test_limit": 1000},
    "03": {"seeds": [0, 1], "epochs": 2, "train_limit": 2000, "test_limit": 1000},
    "04": {"seeds": [0, 1], "epochs": 1, "train_limit": 1000, "test_limit": 500},
    "05": {"seeds": [0, 1], "epochs": 2, "train_limit": 1000, "test_limit": 500},
    "06": {
        "seeds": [0, 1],
        "epochs": 1,
        "train_limit": 400,
        "test_limit": 1000,
        "depths": [2, 5],
        "probe_depth": 10,
        "probe_width": 64,
        "rate_depths": [5],
        "learning_rates": [0.001, 0.0001],
        "rate_limits": None,
    },
    "07": {
        "seeds": [0, 1],
        "epochs": 1,
        "deep_epochs": 1,
        "train_limit": 500,
        "test_limit": 500,
        "adam_rates": [0.001, 0.01],
        "sgd_rates": [0.01, 0.1],
        "momentum_rates": [0.01],
        "intervention_rates": [0.001, 0.01],
        "probe_seeds": 1,
    },
    "08": {
        "sigma_w2s": [1.0, 1.76, 4.0],
        "depths": [2, 8, 32],
        "width": 64,
        "seeds": [0, 1],
        "learning_rates": [0.01, 0.03],
        "rate_limits": None,
        "budgets": [1, 2],
        "train_limit": 600,
        "test_limit": 500,
        "sim_width": 200,
        "sim_depth": 10,
        "sim_seeds": [0, 1],
        "spectrum_depths": [2, 8],
        "spectrum_width": 64,
        "isometry_depth": 4,
        "isometry_width": 64,
        "isometry_seeds": [0, 1, 2],
        "isometry_train_limit": 600,
        "isometry_epochs": 2,
        "phase_points": 15,
    },
}
NUMBERS = "numbers.json"  # the quick profile's recorded numbers, beside the nbval baselines


def baselines_dir() -> Path:
    """Where the nbval baselines (quick-profile runs) are kept."""
    return project_root() / "tests" / "baselines"


def partial_dir(*, quick: bool = False) -> Path:
    """Where the output of a notebook that failed or was interrupted is kept: ``data/partial``, or
    ``data/quick/partial`` for the quick profile, so that a quick run beside a full one never takes the
    other's working copy of the same notebook."""
    return data_dir() / ("quick" if quick else "") / "partial"


def notebook_paths(selection: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks in ``notebooks/`` (optionally only those selected).

    Raises:
        UnknownNameError: a selected name matches no notebook (the message lists them).
    """
    found = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return found

    def matches(path: Path, name: str) -> bool:
        return path.name == name or path.stem == name or (name.isdigit() and path.name.startswith(name.zfill(2) + "_"))

    for name in selection:
        if not any(matches(p, str(name)) for p in found):
            raise UnknownNameError("notebook", name, [p.name[:2] for p in found] + [p.name for p in found])
    return [p for p in found if any(matches(p, str(s)) for s in selection)]


def quick_parameters(path: Path) -> dict:
    """The quick profile's parameters of a numbered notebook (empty if it has none)."""
    return dict(QUICK.get(path.name[:2], {}))


def expected_seconds(paths: Sequence[Path], *, quick: bool) -> list[int | None]:
    """Each notebook's expected wall time in :data:`WALL_SECONDS` (``None`` for a notebook it does not list)."""
    table = WALL_SECONDS["quick" if quick else "full"]
    return [table.get(p.name[:2]) for p in paths]


def quick_cache(path: Path) -> Path:
    """The quick profile's own run cache for one notebook (fresh on every quick run)."""
    return data_dir() / "quick" / "cache" / path.name[:2]


def write_numbers(records: dict[str, dict], folder: Path) -> Path:
    """Merge the notebooks' records into ``folder/numbers.json`` (other notebooks' entries kept)."""

    target = folder / NUMBERS
    numbers = json.loads(target.read_text()) if target.exists() else {}
    numbers.update(records)
    replace_files({target: json.dumps(dict(sorted(numbers.items())), indent=1, sort_keys=True) + "\n"})
    return target


def reproduce(
    *,
    quick: bool = False,
    notebooks: Sequence[str] | None = None,
    update_baselines: bool = False,
    summary_only: bool = False,
    threads: int | None = None,
    progress: bool = False,
) -> int:
    """Execute the notebooks in order and write the summary table.

    Full runs replace the notebooks in place (only when they complete) and write the
    summary to ``notebooks/summary.{csv,md}``, using the run cache (``$INITLAB_CACHE`` or
    ``data/cache``). Quick runs write both to ``data/quick/``, each notebook with a fresh
    cache of its own (so a notebook's numbers do not depend on which ran before it); with
    ``update_baselines`` they copy the notebooks and their recorded numbers to
    ``tests/baselines/``. ``summary_only`` executes nothing and trains nothing: it rebuilds
    the summary from the cache and names the notebooks whose runs are missing. ``progress``
    shows, on stderr, papermill's bar over the running notebook's cells and an overall bar
    over the notebooks, weighted by their expected wall times (:data:`WALL_SECONDS`), with
    the time left; the notebooks' outputs are the same either way.

    Units of work train on one Dask cluster that every notebook's kernel shares: one worker per
    ``threads`` cores, ``threads`` (default ``$INITLAB_THREADS``, else 1) threads each
    (:func:`initlab.workers.cluster_for_kernels`).

    Returns:
        0 when every notebook ran (and the summary could be built), 1 otherwise.
    """
    if update_baselines and not quick:
        raise InvalidArgumentError("update_baselines", True, "needs --quick (the baselines are quick-profile runs)")
    paths = notebook_paths(notebooks)
    out_dir = data_dir() / "quick" if quick else None
    started = time.perf_counter()
    if summary_only:
        failed: list[str] = []
    else:
        with cluster_for_kernels(threads=threads) as cluster:
            print(
                f"units of work train on {worker_count(threads)} worker(s) of {threads_per_unit(threads)} thread(s)"
                + (f" (Dask scheduler {cluster.scheduler_address})" if cluster is not None else " in each kernel"),
                flush=True,
            )
            failed = _execute_all(paths, out_dir, quick=quick, update_baselines=update_baselines, progress=progress)
    done = [p for p in paths if p.name not in failed]
    built = _write_summary(done, out_dir, quick=quick, keep_others=bool(notebooks or failed))
    _write_claims(out_dir or (project_root() / "notebooks"), quick=quick)
    code = 0 if built and not failed else 1
    if summary_only:
        print("summary rebuilt from the cache" if code == 0 else "summary not rebuilt (see above)")
    else:
        print(f"total {time.perf_counter() - started:.0f} s; {len(done)} of {len(paths)} notebooks ran")
    return code


def _execute_all(
    paths: Sequence[Path], out_dir: Path | None, *, quick: bool, update_baselines: bool, progress: bool
) -> list[str]:
    """Execute each notebook into ``out_dir`` (or in place); with ``update_baselines`` copy the
    executed ones and their recorded numbers to the baselines. Returns the names of those that failed."""

    failed: list[str] = []
    records: dict[str, dict] = {}
    with NotebookProgress(expected_seconds(paths, quick=quick), enabled=progress) as bar:
        for i, path in enumerate(paths, start=1):
            target = (out_dir / path.name) if out_dir else path
            bar.start()
            completed = _execute_one(path, target, f"[{i}/{len(paths)}]", quick=quick, bar=bar)
            bar.finish(completed=completed)
            if not completed:
                failed.append(path.name)
                continue
            if quick and update_baselines:
                copy_file(target, baselines_dir() / path.name)
                records[path.name] = read_records(target)
    if records:
        print(f"recorded numbers -> {write_numbers(records, baselines_dir()).name}")
    return failed


def _execute_one(path: Path, target: Path, label: str, *, quick: bool, bar: NotebookProgress) -> bool:
    """Execute one notebook into ``target`` (a quick run with a fresh cache of its own); whether it completed.

    Raises:
        KeyboardInterrupt: the notebook was interrupted (its target is left as it was).
    """

    env = {}
    if quick:
        shutil.rmtree(quick_cache(path), ignore_errors=True)
        env["INITLAB_CACHE"] = str(quick_cache(path))
    bar.say(f"{label} {path.name} ...")
    start = time.perf_counter()
    try:
        problems = execute_notebook(
            path,
            target,
            quick_parameters(path) if quick else {},
            env=env,
            partial_dir=partial_dir(quick=quick),
            progress=bar.enabled,
        )
    except NotebookFailedError as exc:
        bar.say(f"    failed: {exc}", err=True)
        if exc.error == "interrupted":
            raise KeyboardInterrupt from None
        return False
    for problem in problems:
        bar.say(f"    warning: {path.name}: {problem}", err=True)
    bar.say(f"    done in {time.perf_counter() - start:.0f} s")
    return True


def _write_claims(folder: Path, *, quick: bool) -> None:
    """Write the claims table (``claims.csv``, ``claims.md``) from the verdicts the executed notebooks in
    ``folder`` recorded, every notebook there (:mod:`initlab.claims.table`)."""
    records = {p.name: read_records(p) for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}
    rows = claims_table.claim_rows(load_ledger(), records)
    note = "Quick profile: small subsets, 1-2 epochs and 2 seeds, not the budgets listed." if quick else ""
    csv, md = claims_table.write(rows, folder, note=note)
    print(f"claims: {len(rows)} claims of the ledger with their verdicts -> {csv.name}, {md.name}")


def _write_summary(done: Sequence[Path], out_dir: Path | None, *, quick: bool, keep_others: bool) -> bool:
    """Build the summary of the notebooks that ran from the cache and write it; whether it could be built.

    ``keep_others``: a selection, or notebooks that failed: the other notebooks' rows are kept.
    """

    folder = out_dir or (project_root() / "notebooks")
    try:
        executed = [(out_dir / p.name) if out_dir else p for p in done]
        table = summary.build(
            [p for p in executed if p.exists()],
            cache_roots={p.name: quick_cache(p) for p in done} if quick else None,
            quick=quick,
        )
    except InitlabError as exc:
        print(f"summary not rebuilt: {exc}", file=sys.stderr)
        return False
    if keep_others:
        table = summary.merge(table, folder / "summary.csv")
    if len(table):
        csv, md = summary.write(table, folder)
        print(f"summary: {len(table)} numbers beside the papers' -> {csv.name}, {md.name}")
    return True
