"""Clean executed notebooks for committing: no run times, absolute paths or memory addresses."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def clean(path: Path) -> list[str]:
    """Strip volatile metadata in place and return any problems left in the outputs.

    Removes papermill's timings and input/output paths and per-cell execution
    timestamps. Problems reported (not silently edited): absolute paths, memory
    addresses, progress bars, error outputs.
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
            if "\r" in text or re.search(r"\d+%\|", text):
                problems.append(f"cell {i}: progress bar in output")
    nbformat.write(nb, path)
    return problems
