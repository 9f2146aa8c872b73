"""A notebook's parameters: the one reader of its ``parameters`` cell (and of the values a run injected).

The sweep checks a grid against the defaults; the summary rebuilds a notebook's
studies from the values it ran with (``Study.from_parameters(read_parameters(path))``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

TAGS = ("parameters", "injected-parameters")  # papermill's: the defaults, then the values a run injected


def _assignments(source: str) -> dict[str, Any]:
    """``name = value`` lines of a cell: literals as values, any other expression as its source text."""
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            out[name] = ast.get_source_segment(source, value)  # an expression: kept as its source text
    return out


def read_parameters(notebook: str | Path, *, injected: bool = True) -> dict[str, Any]:
    """The names and values of a notebook's cell tagged ``parameters``, in their order.

    Args:
        notebook: an ``.ipynb`` file.
        injected: let the values of a cell tagged ``injected-parameters`` (papermill's, in an
            executed notebook) override the defaults; False: the defaults alone.
    """
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    params: dict[str, Any] = {}
    for tag in TAGS[: 2 if injected else 1]:
        for cell in cells:
            if cell.get("cell_type") == "code" and tag in cell.get("metadata", {}).get("tags", []):
                source = cell.get("source", "")
                params.update(_assignments(source if isinstance(source, str) else "".join(source)))
    return params
