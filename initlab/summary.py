"""The reproduction summary: every number of the papers' tables beside ours.

The numbers come from the same runs the notebooks made: :func:`build` reads
each notebook's parameters (its defaults, or the values a run injected) and
asks the runner for those studies, which the cache answers without training.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pandas as pd

from initlab import runner
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


def desai_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    """000 Table 1 from the MNIST four-initializer notebook's runs."""
    df = runner.run_study(p["dataset"], p["model"], p["inits"], seeds=p["seeds"], epochs=p["epochs"],
                          batch_size=p["batch_size"], validation_split=p["validation_split"],
                          train_limit=p["train_limit"], test_limit=p["test_limit"])
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


def patel_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    """001 Tables 1 and 2 (and their averages) from the three-dataset notebook's runs."""
    df = pd.concat([runner.run_study(d, p["model"], p["inits"], seeds=p["seeds"], epochs=p["epochs"],
                                     batch_size=p["batch_size"], validation_split=p["validation_split"],
                                     train_limit=p["train_limit"], test_limit=p["test_limit"])
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
        per_seed = last[last["init"] == init].groupby("seed")[["test_accuracy", "test_loss"]].mean()
        rows.append(_row("001", "Table 1", "average", init, "test accuracy (%)", acc, per_seed["test_accuracy"], 100.0))
        rows.append(_row("001", "Table 2", "average", init, "test loss", loss, per_seed["test_loss"], 1.0))
    return rows


BUILDERS = {"03": desai_rows, "04": patel_rows}


def build(notebooks: list[Path]) -> pd.DataFrame:
    """The summary table for the executed notebooks that reproduce a paper's table."""
    rows = []
    for path in notebooks:
        builder = BUILDERS.get(path.name[:2])
        if builder is not None:
            rows += builder(notebook_parameters(path))
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


def write(table: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, md = folder / "summary.csv", folder / "summary.md"
    table.to_csv(csv, index=False, float_format="%.4f")
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
    md.write_text("\n".join(lines) + "\n")
    return csv, md
