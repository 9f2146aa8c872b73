"""Parameter sweeps: one notebook executed by papermill at every point of a grid, on Dask.

Each point is one papermill execution in a kernel of its own (IPC transport, so
parallel kernels never clash on ports), run as one Dask task: on a
``LocalCluster`` by default (worker processes with one thread each), or on a
real cluster given its scheduler address. Workers need no shared file system:
the notebook travels to the worker as text, the executed notebook comes back
through Dask, and the client writes everything into the sweep folder:

* ``<slug>.ipynb``: each point's executed notebook (cleaned like the
  reproduction's), named from its parameters, its status in the metadata;
* ``sweep.json``: the notebook, the grid, the package version, start and end,
  and every point's status (``completed`` / ``failed`` with the cell and error);
* ``sweep.csv`` and ``sweep.parquet``: one row per point and recorded value
  (:mod:`initlab.pipeline.recorded`), the parameters as columns, with status and wall time.

Every write is atomic. A rerun skips the points already completed with the same
parameters and package version, so a killed sweep resumes; a point whose cell
fails is recorded (the sweep goes on); a worker lost mid-point has its point
rerun on another worker, up to ``retries`` times.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from initlab import __version__
from initlab.errors import InvalidArgumentError, NotebookFailedError, SweepFailedError, UnknownParameterError
from initlab.files import replace_files
from initlab.paths import data_dir
from initlab.pipeline.execution import execute_notebook
from initlab.pipeline.parameters import read_parameters
from initlab.pipeline.recorded import read_records
from initlab.workers import WORKERS_ENV, thread_environment

SWEEP_FILE = "sweep.json"
TABLE_STEM = "sweep"
META_KEY = "initlab_sweep"
SLUG_MAX = 100


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its parameters and the file name they give."""

    params: dict[str, Any]
    slug: str


def parse_value(text: str) -> Any:
    """A command-line value as papermill's ``-p`` reads it, plus YAML/JSON lists and mappings.

    ``True``/``False``/``None``, integers and floats become those; text starting with
    ``[`` or ``{`` is read as YAML (so ``[0, 1, 2]`` is a list); anything else stays a string.
    """
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.strip()[:1] in "[{":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidArgumentError(
                "-p", text, f"must be valid YAML/JSON when it starts with a bracket ({exc})"
            ) from None
    return text


def _type_error(value: Any, default: Any) -> str | None:
    """Why ``value`` cannot stand where ``default`` is, or None when it can (None always can)."""
    if default is None or value is None:
        return None
    plain = not isinstance(value, bool)
    if isinstance(default, bool):
        ok, word = isinstance(value, bool), "a boolean (True or False)"
    elif isinstance(default, int):
        ok, word = isinstance(value, int) and plain, "an integer"
    elif isinstance(default, float):
        ok, word = isinstance(value, (int, float)) and plain, "a number"
    elif isinstance(default, str):
        ok, word = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        ok, word = isinstance(value, (list, tuple)), "a list (write it as YAML/JSON, e.g. [0, 1, 2])"
    elif isinstance(default, dict):
        ok, word = isinstance(value, dict), "a mapping (write it as YAML/JSON)"
    else:
        return None
    if not ok:
        return f"must be {word} like its default {default!r}; {value!r} is a {type(value).__name__}"
    if isinstance(default, (list, tuple)) and default:
        for item in value:
            if _type_error(item, default[0]):
                return (
                    f"must be a list of items like {default[0]!r} (its default is {default!r}); "
                    f"item {item!r} is a {type(item).__name__}"
                )
    return None


def check_grid(notebook: str | Path, grid: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Refuse, before anything runs, a name the notebook does not take or a value of the wrong type.

    Returns:
        The notebook's parameter defaults.
    """
    defaults = read_parameters(notebook, injected=False)
    name_of = Path(notebook).name
    if not grid:
        raise InvalidArgumentError("grid", {}, "must name at least one parameter with values (-p NAME VALUE ...)")
    for name, values in grid.items():
        if name not in defaults:
            raise UnknownParameterError(name_of, name, defaults)
        if not isinstance(values, (list, tuple)) or not values:
            raise InvalidArgumentError(name, values, "must be a non-empty list of values")
        for value in values:
            why = _type_error(value, defaults[name])
            if why:
                raise InvalidArgumentError(name, value, why)
    return defaults


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{_text(v)}" for k, v in value.items())
    return str(value)


def slug(params: Mapping[str, Any]) -> str:
    """A readable, filesystem-safe name from a point's parameters: ``learning_rate=0.001_seeds=0,1``.

    Long names are cut and end in a hash of the parameters, so two points never share one.
    """
    raw = "_".join(f"{k}={_text(v)}" for k, v in params.items())
    safe = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", raw).strip("-") or "point"
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    if len(safe) > SLUG_MAX or safe != raw:
        safe = f"{safe[:SLUG_MAX]}-{digest}"
    return safe


def expand(grid: Mapping[str, Sequence[Any]], zip_values: bool = False) -> list[Point]:
    """Every combination of the grid's values (or, zipped, the i-th values together)."""
    names = list(grid)
    if zip_values:
        lengths = {len(grid[n]) for n in names}
        if len(lengths) > 1:
            raise InvalidArgumentError(
                "--zip", {n: len(grid[n]) for n in names}, "needs the same number of values for every parameter"
            )
        combos = list(zip(*(grid[n] for n in names)))
    else:
        combos = list(itertools.product(*(grid[n] for n in names)))
    points = [dict(zip(names, c)) for c in combos]
    slugs = [slug(p) for p in points]
    if len(set(slugs)) < len(slugs):
        raise InvalidArgumentError("grid", dict(grid), "repeats a point (the same values twice)")
    return [Point(p, s) for p, s in zip(points, slugs)]


def execute_point(source: str, name: str, params: Mapping[str, Any], *, env: Mapping[str, str]) -> dict[str, Any]:
    """Run one point (inside a Dask worker): the notebook's text in, the executed notebook's text out."""

    start = time.time()
    with tempfile.TemporaryDirectory(prefix="initlab-point-") as tmp:
        src = Path(tmp) / "source.ipynb"
        src.write_text(source)
        target = Path(tmp) / "out" / name
        result: dict[str, Any] = {"status": "completed", "cell": None, "error": None, "notebook": None}
        try:
            execute_notebook(src, target, params, env=env, partial_dir=Path(tmp) / "partial")
            result["notebook"] = target.read_text()
        except NotebookFailedError as exc:
            result.update(
                status="failed",
                cell=exc.cell,
                error=exc.error,
                notebook=exc.partial.read_text() if exc.partial and exc.partial.exists() else None,
            )
    return {**result, "wall_time": time.time() - start, "host": socket.gethostname(), "pid": os.getpid()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_state(out: Path) -> dict[str, Any]:
    path = out / SWEEP_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _with_meta(text: str | None, meta: dict[str, Any]) -> str | None:
    if text is None:
        return None
    nb = json.loads(text)
    nb.setdefault("metadata", {})[META_KEY] = meta
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _done(state: Mapping[str, Any], point: Point, out: Path) -> bool:
    entry = state.get("points", {}).get(point.slug)
    return bool(
        entry
        and entry.get("status") == "completed"
        and entry.get("params") == _jsonable(point.params)
        and entry.get("version") == __version__
        and (out / f"{point.slug}.ipynb").exists()
    )


def point_environment() -> dict[str, str]:
    """What every point's kernel trains on: one thread, in its own process (the sweep's workers
    already keep every core busy, one point each)."""
    return {**thread_environment(1), WORKERS_ENV: "1"}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _client(client: Any, scheduler: str | None, workers: int, retries: int) -> tuple[Any, Any]:
    """The Dask client to use, and the cluster to close afterwards (None if not ours)."""
    if client is not None:
        return client, None
    import dask
    from distributed import Client, LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": int(retries)})
    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(
        n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    return Client(cluster), cluster


def run(
    notebook: str | Path,
    grid: Mapping[str, Sequence[Any]],
    *,
    out: str | Path | None = None,
    client: Any = None,
    zip_values: bool = False,
    workers: int = 2,
    scheduler: str | None = None,
    retries: int = 2,
    env: Mapping[str, str] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Execute ``notebook`` at every point of ``grid`` and return the collected table.

    Args:
        notebook: the source notebook.
        grid: parameter name -> the values to sweep.
        out: the sweep folder (default ``data/sweeps/<notebook stem>``).
        client: a ``distributed.Client``; default a ``LocalCluster`` of ``workers``
            processes with one thread each (or a client of ``scheduler``).
        zip_values: take the i-th values of every parameter together instead of the grid.
        retries: how often a point lost with its worker is rerun elsewhere.
        env: environment variables for every point's kernel (e.g. ``INITLAB_CACHE``).
        progress: a progress bar on stderr.

    Raises:
        SweepFailedError: after every point ran, if some failed (the table holds the rest).
    """
    notebook = Path(notebook)
    points, out, state = _start(notebook, grid, out, zip_values)
    todo = [p for p in points if not _done(state, p, out)]
    if todo:
        dask_client, cluster = _client(client, scheduler, workers, retries)
        try:
            kernel_env = {**point_environment(), **dict(env or {})}
            _execute(dask_client, notebook, todo, out, state, env=kernel_env, total=len(points), progress=progress)
        finally:
            if cluster is not None:
                dask_client.close()
                cluster.close()
    state["finished"] = _now()
    replace_files({out / SWEEP_FILE: json.dumps(state, indent=1) + "\n"})
    table = collect(out)
    bad = [
        {"slug": p.slug, **state["points"][p.slug]}
        for p in points
        if state["points"].get(p.slug, {}).get("status") != "completed"
    ]
    if bad:
        raise SweepFailedError(bad, len(points), out)
    return table


def _start(
    notebook: Path, grid: Mapping[str, Sequence[Any]], out: str | Path | None, zip_values: bool
) -> tuple[list[Point], Path, dict[str, Any]]:
    """Check the grid, expand its points and open the sweep folder: ``(points, folder, state)``."""

    if not notebook.is_file():
        raise InvalidArgumentError("notebook", str(notebook), "must be an existing notebook file")
    check_grid(notebook, grid)
    points = expand(grid, zip_values)
    out = Path(out) if out else data_dir() / "sweeps" / notebook.stem
    out.mkdir(parents=True, exist_ok=True)
    state = _read_state(out)
    state.update(
        {
            "notebook": notebook.name,
            "grid": _jsonable(dict(grid)),
            "zip": bool(zip_values),
            "version": __version__,
            "started": _now(),
            "finished": None,
        }
    )
    state.setdefault("points", {})
    replace_files({out / SWEEP_FILE: json.dumps(state, indent=1) + "\n"})
    return points, out, state


def _submit(dask_client: Any, source: str, todo: Sequence[Point], env: dict[str, str]) -> dict[Any, Point]:
    """Submit each point of ``todo`` as a Dask task running the notebook ``source``: ``{future: point}``."""
    return {
        dask_client.submit(
            execute_point,
            source,
            f"{p.slug}.ipynb",
            p.params,
            env=env,
            pure=False,
            key=f"point-{p.slug}-{os.urandom(4).hex()}",
        ): p
        for p in todo
    }


def _result(future: Any) -> dict[str, Any]:
    """A finished task's result, or a failed one naming the error when its worker was lost too often."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker lost more than `retries` times
        return {
            "status": "failed",
            "cell": None,
            "error": f"{type(exc).__name__}: {exc}",
            "notebook": None,
            "wall_time": None,
            "host": None,
            "pid": None,
        }


def _record(out: Path, state: dict[str, Any], p: Point, res: Mapping[str, Any]) -> None:
    """Write a finished point's status into the sweep's state and its executed notebook beside it."""
    meta = {
        "params": _jsonable(p.params),
        "version": __version__,
        "status": res["status"],
        "cell": res["cell"],
        "error": res["error"],
        "wall_time": res["wall_time"],
        "host": res["host"],
        "finished": _now(),
    }
    state["points"][p.slug] = meta
    files = {out / SWEEP_FILE: json.dumps(state, indent=1) + "\n"}
    text = _with_meta(res["notebook"], meta)
    if text is not None:
        files = {out / f"{p.slug}.ipynb": text, **files}
    replace_files(files)


def _execute(
    dask_client: Any,
    notebook: Path,
    todo: Sequence[Point],
    out: Path,
    state: dict[str, Any],
    *,
    env: dict[str, str],
    total: int,
    progress: bool,
) -> None:
    """Run the ``todo`` points as Dask tasks, writing each one's notebook and status as it finishes."""
    from distributed import as_completed
    from tqdm import tqdm  # a terminal bar on stderr (tqdm.auto would look for notebook widgets)

    futures = _submit(dask_client, notebook.read_text(), todo, env)
    bar = tqdm(
        total=total, initial=total - len(todo), unit="point", desc=notebook.stem, disable=not progress, file=sys.stderr
    )
    failed = 0
    for future in as_completed(futures):
        p = futures[future]
        res = _result(future)
        _record(out, state, p, res)
        failed += res["status"] != "completed"
        bar.set_postfix(failed=failed)
        bar.update(1)
    bar.close()


def _rows(out: Path, state: Mapping[str, Any]) -> list[dict[str, Any]]:

    rows = []
    names = list(state.get("grid", {}))
    for slug_, meta in state.get("points", {}).items():
        path = out / f"{slug_}.ipynb"
        records = read_records(path) if path.exists() and meta.get("status") == "completed" else {}
        base = {
            "point": slug_,
            **{
                n: _text(meta["params"].get(n))
                if isinstance(meta["params"].get(n), (list, dict))
                else meta["params"].get(n)
                for n in names
            },
            "status": meta.get("status"),
            "wall_time": meta.get("wall_time"),
        }
        if not records:
            rows.append({**base, "name": None, "value": None})
        for name, entry in records.items():
            rows.append({**base, "name": name, "value": entry["value"]})
    return rows


def collect(out: str | Path) -> pd.DataFrame:
    """Rebuild the sweep's table (``sweep.csv``, ``sweep.parquet``) from its folder and return it.

    One row per point and recorded value: ``point``, the swept parameters, ``status``,
    ``wall_time``, ``name``, ``value`` (a point with no records has one row, name empty).
    """
    out = Path(out)
    state = _read_state(out)
    if not state:
        raise InvalidArgumentError("DIR", str(out), f"must be a sweep folder (it has no {SWEEP_FILE})")
    table = pd.DataFrame(_rows(out, state))
    if "value" in table.columns:
        table["value"] = table["value"].map(lambda v: v if v is None or isinstance(v, (int, float)) else str(v))
    numeric = pd.to_numeric(table.get("value"), errors="coerce") if len(table) else None
    if numeric is not None:
        table["number"] = numeric
    csv_path, parquet_path = out / f"{TABLE_STEM}.csv", out / f"{TABLE_STEM}.parquet"
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp_parquet = Path(tmp) / "t.parquet"
        table.astype({"value": "string"} if "value" in table.columns else {}).to_parquet(tmp_parquet, index=False)
        os.replace(tmp_parquet, parquet_path)
    replace_files({csv_path: table.to_csv(index=False)})
    return table


def load(out: str | Path) -> pd.DataFrame:
    """A finished or partial sweep's table, read from its folder (rebuilt when missing or stale)."""
    out = Path(out)
    path = out / f"{TABLE_STEM}.parquet"
    state_path = out / SWEEP_FILE
    if path.exists() and state_path.exists() and path.stat().st_mtime >= state_path.stat().st_mtime:
        return pd.read_parquet(path)
    return collect(out)
