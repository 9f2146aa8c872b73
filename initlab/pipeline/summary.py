"""The reproduction summary: every number of the papers' tables beside ours.

The numbers come from the same runs the notebooks made: :func:`build` reads
each notebook's parameters (its defaults, or the values a run injected) and
asks the runner for those studies, which the cache answers without training.

A published number is one run: each is judged against a 95% prediction interval
for one run of ours (:func:`initlab.stats.judge_published`), rounded as the paper
prints it and decided on the printed bounds; where every seed gives the same
value it is compared exactly. ``compared_with`` names which of our metrics each
paper number is set beside.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from initlab.errors import MissingRunsError
from initlab.files import replace_files
from initlab.findings import patel, zero_init
from initlab.pipeline.parameters import read_parameters
from initlab.report import fmt_pi
from initlab.sources import desai_table
from initlab.stats import final_epochs
from initlab.training.study import Study

COLUMNS = [
    "source",
    "table",
    "dataset",
    "init",
    "quantity",
    "compared_with",
    "paper",
    "ours_mean",
    "ours_pi_low",
    "ours_pi_high",
    "seeds",
    "verdict",
]
REPLAYS = 100  # zero-initialized replays behind 001's zero row when a notebook does not say


def _row(
    source: str, table: str, dataset: str, init: str, quantity: str, compared_with: str, paper: float, values: Any
) -> dict[str, Any]:
    """One accuracy (percent, 2 decimals) judged against the prediction interval of ``values`` (fractions)."""
    j = patel.judge(list(values), paper, "accuracy")
    return {
        "source": source,
        "table": table,
        "dataset": dataset,
        "init": init,
        "quantity": quantity,
        "compared_with": compared_with,
        "paper": j["published"],
        "ours_mean": j["mean"],
        "ours_pi_low": j["low"],
        "ours_pi_high": j["high"],
        "seeds": j["n"],
        "verdict": j["verdict"],
    }


def desai_rows(p: dict[str, Any], cache_root: Path | None = None) -> list[dict[str, Any]]:
    """000 Table 1 from the MNIST four-initializer notebook's runs (read from the cache, never trained).

    ``p``: the notebook's parameters (:func:`~initlab.pipeline.parameters.read_parameters`); its study
    is ``Study.from_parameters(p)``, the one the notebook ran.
    """
    df = Study.from_parameters(p).run(cache_root=cache_root, cached_only=True)
    last = final_epochs(df)
    first = df[df["epoch"] == df["epoch"].min()]
    kept, held = f"first {1 - p['validation_split']:.0%}", f"last {p['validation_split']:.0%}"
    train = f"the epoch's mean over its batches, on the {kept} of the training set"
    rows = []
    for r in desai_table().itertuples():
        for quantity, ours, frame, col, paper in (
            (
                "train accuracy, first epoch (%)",
                f"training accuracy, epoch 1 ({train})",
                first,
                "accuracy",
                r.train_acc_first,
            ),
            (
                "train accuracy, last epoch (%)",
                f"training accuracy, last epoch ({train})",
                last,
                "accuracy",
                r.train_acc_last,
            ),
            (
                "validation accuracy, first epoch (%)",
                f"validation accuracy, epoch 1 ({held} of the training set)",
                first,
                "val_accuracy",
                r.val_acc_first,
            ),
            (
                "validation accuracy, last epoch (%)",
                f"validation accuracy, last epoch ({held} of the training set)",
                last,
                "val_accuracy",
                r.val_acc_last,
            ),
            ("test accuracy (%)", "test accuracy, after the last epoch", last, "test_accuracy", r.test_acc),
        ):
            values = frame.loc[frame["init"] == r.init, col]
            rows.append(_row("000", "Table 1", "mnist", r.init, quantity, ours, paper, values))
    return rows


def _zero_replays(p: dict[str, Any], replays: int) -> pd.DataFrame | None:
    """``replays`` replays of the zero-initialized network on each dataset's full training set, if zeros is run."""
    if "zeros" not in p["inits"]:
        return None
    return pd.concat(
        [
            zero_init.replay_study(
                d, range(replays), epochs=p["epochs"], batch_size=p["batch_size"], validation_split=0.0
            )
            for d in p["datasets"]
        ],
        ignore_index=True,
    )


def _compared_with(r: pd.Series, metric: str, *, kept: str, replays: int) -> str:
    """What of ours a row of 001's tables is compared with, in words."""
    if r["source"] == "replay":
        ours = (
            f"{metric}, last epoch, of the zero-initialized net replayed from the labels on the full "
            f"training set ({replays} shuffles)"
        )
    else:
        ours = f"{metric}, last epoch (the epoch's mean over its batches, on the {kept} of the training set)"
    if r["dataset"] == "average":
        ours += "; each seed's mean over the three datasets"
    elif r["judged_on"] == "runs that trained":
        ours += f"; the {int(r['runs'] - r['failed'])} of {int(r['runs'])} runs that trained"
    return ours


def patel_rows(p: dict[str, Any], cache_root: Path | None = None) -> list[dict[str, Any]]:
    """001 Tables 1 and 2 (and their averages) beside our training accuracy and loss, last epoch.

    The paper's tables were identified (notebook 04) as training numbers on the whole
    training set; its zero row is judged against ``p["replays"]`` replays of the
    zero-initialized network trained on the full training set
    (:func:`initlab.findings.zero_init.replay_study`), the other rows against the
    notebook's runs (read from the cache), over the runs that trained where some did not.
    """
    df = pd.concat(
        [
            Study.from_parameters({**p, "dataset": d}).run(cache_root=cache_root, cached_only=True)
            for d in p["datasets"]
        ],
        ignore_index=True,
    )
    replays = int(p.get("replays", REPLAYS))
    zeros = _zero_replays(p, replays)
    kept = f"first {1 - p['validation_split']:.0%}"
    rows = []
    for table, value, quantity in (("Table 1", "accuracy", "model accuracy (%)"), ("Table 2", "loss", "model loss")):
        metric = "training accuracy" if value == "accuracy" else "training loss"
        for _, r in patel.comparison_rows(df, value, zero_replay=zeros).iterrows():
            rows.append(
                {
                    "source": "001",
                    "table": table,
                    "dataset": r["dataset"],
                    "init": r["init"],
                    "quantity": quantity,
                    "compared_with": _compared_with(r, metric, kept=kept, replays=replays),
                    "paper": r["paper"],
                    "ours_mean": r["ours_mean"],
                    "ours_pi_low": r["ours_pi_low"],
                    "ours_pi_high": r["ours_pi_high"],
                    "seeds": r["seeds"],
                    "verdict": r["verdict"],
                }
            )
    return rows


BUILDERS = {"03": desai_rows, "04": patel_rows}


def build(notebooks: list[Path], cache_roots: Mapping[str, Path] | None = None, quick: bool = False) -> pd.DataFrame:
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
            rows += builder(read_parameters(path), (cache_roots or {}).get(path.name))
        except MissingRunsError as exc:
            command = f"initlab reproduce {'--quick ' if quick else ''}--notebooks {path.name[:2]}"
            missing.append(f"{path.name}: {exc}; `{command}` trains them")
    if missing:
        raise MissingRunsError("; ".join(missing))
    return pd.DataFrame(rows, columns=COLUMNS)


def merge(table: pd.DataFrame, previous: Path) -> pd.DataFrame:
    """``table`` plus the rows of ``previous`` (a summary CSV) for sources ``table`` does not hold.

    Re-executing some notebooks then updates their rows and keeps the others'. A previous
    summary in another layout (other columns) is replaced, not merged.
    """
    if not previous.exists():
        return table
    old = pd.read_csv(previous, dtype={"source": str})
    if list(old.columns) != COLUMNS:
        return table
    kept = old[~old["source"].isin(set(table["source"]))]
    if table.empty:
        return kept.reset_index(drop=True)
    return pd.concat([kept, table], ignore_index=True).sort_values("source", kind="stable").reset_index(drop=True)


def _digits(quantity: str) -> int:
    return 2 if "accuracy" in quantity else 4


def ours_text(row: Any) -> str:
    """Our side of a row as printed: ``"97.36 [97.01, 97.71]"``, ``"every seed: 11.35"``, ``"98.70 (one seed)"``."""
    return fmt_pi(
        row["ours_mean"],
        row["ours_pi_low"],
        row["ours_pi_high"],
        verdict=row["verdict"],
        digits=_digits(row["quantity"]),
        each="seed",
    )


def markdown(table: pd.DataFrame) -> str:
    """The summary table as the Markdown page ``summary.md`` holds."""
    shown = table.copy()
    shown["paper"] = [f"{v:.{_digits(q)}f}" for v, q in zip(shown["paper"], shown["quantity"])]
    shown["ours (95% PI, one run)"] = [ours_text(r) for _, r in shown.iterrows()]
    cols = [
        "source",
        "table",
        "dataset",
        "init",
        "quantity",
        "compared_with",
        "paper",
        "ours (95% PI, one run)",
        "seeds",
        "verdict",
    ]
    lines = [
        "# Every number of the papers' tables beside ours",
        "",
        "Generated by `initlab reproduce` from the notebooks' runs. A published number is one run, so it is "
        "judged against a 95% prediction interval for one run of ours (mean ± t·s·sqrt(1 + 1/n) over the "
        "seeds), rounded as the paper prints it; the verdict (*inside*, *above*, *below*) is decided on the "
        "printed bounds. Where every seed gives the same value the paper is compared exactly (*equal* or "
        "*differs*); one seed gives no interval (*one seed*). `compared_with` names the metric of ours each "
        "paper number is set beside.",
        "",
        "| " + " | ".join(c.replace("_", " ") for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
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
