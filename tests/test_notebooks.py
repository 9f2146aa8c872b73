"""Every notebook runs end to end under papermill on real data with small parameters."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from initlab.reproduce import notebook_paths, quick_parameters

HERE = Path(__file__).resolve().parent
NOTEBOOKS = notebook_paths()


def test_every_source_experiment_has_a_notebook() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell_and_an_introduction(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "What we found" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert all("def " not in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_real_data(path: Path, tmp_path: Path) -> None:
    # The session's run cache (conftest): runs the nbval baselines already trained with the same
    # quick parameters are reused; run alone, this test trains them itself.
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), parameters=quick_parameters(path), cwd=str(path.parent),
                        progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure produced"
    assert any("text/html" in o.get("data", {}) for o in outputs), "no table produced"
    assert any("text/markdown" in o.get("data", {}) for o in outputs), "no generated verdict"
    stderr = [o for o in outputs if o.get("name") == "stderr"]
    assert not stderr, f"stray stderr output: {json.dumps(stderr)[:300]}"


def test_a_failing_cell_fails_with_its_error(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from initlab.initializers import get_initializer"),
                nbformat.v4.new_code_cell("get_initializer('kaiming')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "broken.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(src), str(tmp_path / "out.ipynb"), progress_bar=False, kernel_name="python3")
    assert err.value.ename == "UnknownNameError" and "kaiming" in err.value.evalue
