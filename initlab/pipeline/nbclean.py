"""Clean executed notebooks for committing: no run times, progress bars, absolute paths or memory addresses."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
BAR = re.compile(r"\d+%\|[^|\n]*\| *[\d.]+[kMGT]?/[\d.?]+[kMGT]?")  # tqdm's " 42%|####      | 42/100"
WIDGET = "application/vnd.jupyter.widget-view+json"


def strip_progress(text: str) -> str:
    """``text`` without its progress displays: lines redrawn with carriage returns, and tqdm bars."""
    lines = text.replace("\r\n", "\n").split("\n")
    out = "\n".join(line for line in lines if "\r" not in line and not BAR.search(line))
    return out if out.strip() else ""


def _is_progress(out: dict) -> bool:
    """A display output that is a progress widget (tqdm's notebook bar)."""
    data = out.get("data", {})
    return WIDGET in data and bool(BAR.search(str(data.get("text/plain", ""))))


def clean(path: Path) -> list[str]:
    """Strip volatile metadata and progress bars in place and return the problems found in the outputs.

    Removes papermill's timings and input/output paths, per-cell execution
    timestamps, and progress bars (stream lines redrawn with carriage returns,
    tqdm bars, tqdm's notebook widgets; each removal is reported). Problems
    reported, not edited: absolute paths, memory addresses, error outputs.
    """
    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill")
    if pm is not None:
        nb.metadata["papermill"] = {k: v for k, v in pm.items() if k in ("parameters", "version", "default_parameters")}
    problems = []
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        pmc = cell.metadata.get("papermill")
        if pmc is not None:
            cell.metadata.pop("papermill")
        if cell.cell_type == "code" and _remove_progress(cell):
            problems.append(f"cell {i}: progress bar removed from output")
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text", "") + "".join(
                v for k, v in out.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)
            )
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: error output {out.get('ename')}")
            if ADDRESS.search(text):
                problems.append(f"cell {i}: memory address in output")
            if re.search(r"(/work/|/root/|/home/|/tmp/)", text):
                problems.append(f"cell {i}: absolute path in output")
    nbformat.write(nb, path)
    return problems


def _remove_progress(cell: dict) -> bool:
    """Remove the progress bars from a code cell's outputs; whether there were any."""
    kept, removed = [], False
    for out in cell.get("outputs", []):
        if _is_progress(out):
            removed = True
            continue
        if out.get("output_type") == "stream":
            text = strip_progress(out.get("text", ""))
            if text != out.get("text", ""):
                removed = True
                if not text:
                    continue
                out["text"] = text
        kept.append(out)
    cell["outputs"] = kept
    return removed
