"""The reproduction summary: every number of the papers' tables beside ours.

The numbers come from the same runs the notebooks made: :func:`build` reads
each notebook's parameters (its defaults, or the values a run injected) and
asks the runner for those studies, which the cache answers without training.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from initlab import runner
from initlab.errors import MissingRunsError
from initlab.files import replace_files
from initlab.sources import PATEL_AVERAGES, desai_table, patel_tables
from initlab.stats import mean_ci, final_epochs

COLUMNS = ["source", "table", "dataset", "init", "quantity", "paper", "ours_mean", "ours_ci_low",
           "ours_ci_high", "seeds", "paper_inside_ci"]


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The parameters a notebook ran with: injected values override the tagged defaults."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    params: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in nb.cells:
            if tag in cell.metadata.get("tags", []):
                tree = ast.parse(cell.source)
                for node in tree.body:
                    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                        params[node.targets[0].id] = ast.literal_eval(node.value)
    return params


def _row(source: str, table: str, dataset: str, init: str, quantity: str, paper: float,
         values: Any, scale: float) -> dict[str, Any]:
    ci = mean_ci(list(values))
    inside = bool(ci["ci_low"] * scale <= paper <= ci["ci_high"] * scale) if ci["n"] >= 2 else None
    return {"source": source, "table": table, "dataset": dataset, "init": init, "quantity": quantity,
            "paper": paper, "ours_mean": ci["mean"] * scale, "ours_ci_low": ci["ci_low"] * scale,
            "ours_ci_high": ci["ci_high"] * scale, "seeds": ci["n"], "paper_inside_ci": inside}


def desai_rows(p: dict[str, Any], cache_root: Path | None = None) -> list[dict[str, Any]]:
    """000 Table 1 from the MNIST four-initializer notebook's runs (read from the cache, never trained)."""
    df = runner.run_study(p["dataset"], p["model"], p["inits"], seeds=p["seeds"], epochs=p["epochs"],
                          batch_size=p["batch_size"], validation_split=p["validation_split"],
                          train_limit=p["train_limit"], test_limit=p["test_limit"], cache_root=cache_root,
                          cached_only=True)
    last = final_epochs(df)
    first = df[df["epoch"] == df["epoch"].min()]
    rows = []
    for r in desai_table().itertuples():
        for quantity, frame, col, paper in (
                ("train accuracy, first epoch (%)", first, "accuracy", r.train_acc_first),
                ("train accuracy, last epoch (%)", last, "accuracy", r.train_acc_last),
                ("validation accuracy, first epoch (%)", first, "val_accuracy", r.val_acc_first),
                ("validation accuracy, last epoch (%)", last, "val_accuracy", r.val_acc_last),
                ("test accuracy (%)", last, "test_accuracy", r.test_acc)):
            values = frame.loc[frame["init"] == r.init, col]
            rows.append(_row("000", "Table 1", "mnist", r.init, quantity, paper, values, 100.0))
    return rows


def patel_rows(p: dict[str, Any], cache_root: Path | None = None) -> list[dict[str, Any]]:
    """001 Tables 1 and 2 (and their averages) from the three-dataset notebook's runs (read from the cache)."""
    df = pd.concat([runner.run_study(d, p["model"], p["inits"], seeds=p["seeds"], epochs=p["epochs"],
                                     batch_size=p["batch_size"], validation_split=p["validation_split"],
                                     train_limit=p["train_limit"], test_limit=p["test_limit"],
                                     cache_root=cache_root, cached_only=True)
                    for d in p["datasets"]], ignore_index=True)
    last = final_epochs(df)
    rows = []
    for r in patel_tables().itertuples():
        if r.dataset not in p["datasets"]:
            continue
        values = last[(last["init"] == r.init) & (last["dataset"] == r.dataset)]
        rows.append(_row("001", "Table 1", r.dataset, r.init, "test accuracy (%)", r.test_acc,
                         values["test_accuracy"], 100.0))
        rows.append(_row("001", "Table 2", r.dataset, r.init, "test loss", r.test_loss, values["test_loss"], 1.0))
    for init, (acc, loss) in PATEL_AVERAGES.items():
        # a seed's average needs every dataset's value: a seed with a diverged run (NaN) is left
        # out, as the per-dataset rows leave it out (mean_ci keeps finite values only)
        per_seed = (last[last["init"] == init].groupby("seed")[["test_accuracy", "test_loss"]]
                    .agg(lambda column: column.mean(skipna=False)))
        rows.append(_row("001", "Table 1", "average", init, "test accuracy (%)", acc, per_seed["test_accuracy"], 100.0))
        rows.append(_row("001", "Table 2", "average", init, "test loss", loss, per_seed["test_loss"], 1.0))
    return rows


BUILDERS = {"03": desai_rows, "04": patel_rows}


def build(notebooks: list[Path], cache_roots: Mapping[str, Path] | None = None,
          quick: bool = False) -> pd.DataFrame:
    """The summary table for the executed notebooks that reproduce a paper's table.

    Reads the notebooks' runs from the cache (``cache_roots[notebook name]``, else the
    default cache) and never trains.

    Raises:
        MissingRunsError: runs are missing; the message names each notebook and the
            command that trains them.
    """
    rows, missing = [], []
    for path in notebooks:
        builder = BUILDERS.get(path.name[:2])
        if builder is None:
            continue
        try:
            rows += builder(notebook_parameters(path), (cache_roots or {}).get(path.name))
        except MissingRunsError as exc:
            command = f"initlab reproduce {'--quick ' if quick else ''}--notebooks {path.name[:2]}"
            missing.append(f"{path.name}: {exc}; `{command}` trains them")
    if missing:
        raise MissingRunsError("; ".join(missing))
    return pd.DataFrame(rows, columns=COLUMNS)


def merge(table: pd.DataFrame, previous: Path) -> pd.DataFrame:
    """``table`` plus the rows of ``previous`` (a summary CSV) for sources ``table`` does not hold.

    Re-executing some notebooks then updates their rows and keeps the others'.
    """
    if not previous.exists():
        return table
    old = pd.read_csv(previous, dtype={"source": str})
    old["paper_inside_ci"] = old["paper_inside_ci"].astype(object).where(old["paper_inside_ci"].notna(), None)
    kept = old[~old["source"].isin(set(table["source"]))]
    if table.empty:
        return kept.reset_index(drop=True)
    return pd.concat([kept, table], ignore_index=True).sort_values("source", kind="stable").reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The summary table as the Markdown page ``summary.md`` holds."""
    shown = table.copy()
    shown["ours (95% CI)"] = [
        f"{m:.2f} [{lo:.2f}, {hi:.2f}]" if "accuracy" in q else f"{m:.4f} [{lo:.4f}, {hi:.4f}]"
        for m, lo, hi, q in zip(shown["ours_mean"], shown["ours_ci_low"], shown["ours_ci_high"], shown["quantity"])]
    shown["paper inside our CI"] = shown["paper_inside_ci"].apply(lambda v: "n/a" if v is None else "yes" if v else "no")
    cols = ["source", "table", "dataset", "init", "quantity", "paper", "ours (95% CI)", "seeds", "paper inside our CI"]
    lines = ["# Every number of the papers' tables beside ours", "",
             "Generated by `initlab reproduce` from the notebooks' runs (mean and 95% t-interval over seeds).", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown[cols].itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write(table: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.md`` into ``folder``, each atomically.

    Both files are written to temporary files in ``folder`` and only then moved into
    place (:func:`replace_files`), so an interrupted run leaves the previous summary,
    never a truncated one.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv, md = folder / "summary.csv", folder / "summary.md"
    replace_files({csv: table.to_csv(index=False, float_format="%.4f"), md: markdown(table)})
    return csv, md
