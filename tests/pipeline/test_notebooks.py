"""Every notebook runs once, on real data with the quick profile, and is checked against its baseline.

One papermill execution per notebook (each with a fresh run cache of its own, so
the result does not depend on which notebooks ran before) serves three checks:
the run itself (no errors, figures, tables, verdicts, nothing on stderr); the
cells tagged ``nbval-check-output`` against ``tests/baselines/`` with nbval's
comparison and the sanitizers of ``sanitize.cfg`` (verdict words, counts and
layout exactly; every decimal masked); and the recorded numbers against
``tests/baselines/numbers.json`` within each number's tolerance.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

from initlab.errors import NotebookFailedError
from initlab.pipeline import recorded
from initlab.pipeline.execution import execute_notebook
from initlab.pipeline.reproduce import NUMBERS, baselines_dir, notebook_paths, quick_parameters

NOTEBOOKS = notebook_paths()
CHECK = "nbval-check-output"
SKIP = {
    "metadata",
    "traceback",
    "execution_count",
    "output_type",
    "name",
    "image/png",
    "image/jpeg",
    "application/vnd.jupyter.widget-view+json",
    recorded.MIME,
}
PATTERNS = get_sanitize_patterns((baselines_dir() / "sanitize.cfg").read_text())


@pytest.fixture(scope="session")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Execute a notebook with its quick parameters once per session; returns the executed file."""
    done: dict[str, Path] = {}

    def run(path: Path) -> Path:
        if path.name not in done:
            folder = tmp_path_factory.mktemp(path.stem)
            execute_notebook(
                path,
                folder / path.name,
                quick_parameters(path),
                env={"INITLAB_CACHE": str(folder / "cache")},
                partial_dir=folder / "partial",
            )
            done[path.name] = folder / path.name
        return done[path.name]

    return run


def sanitize(text):
    if not isinstance(text, str):
        return text
    for regex, replacement in PATTERNS:
        text = re.sub(regex, replacement, text)
    return text


def comparable(outputs: list) -> dict[str, list]:
    """A cell's outputs as nbval compares them: by output field and MIME type, sanitized."""
    flat: dict[str, list] = defaultdict(list)
    nodes = [nbformat.from_dict(o) for o in outputs]
    for out in transform_streams_for_comparison(coalesce_streams(nodes)):
        for key, value in out.items():
            if key == "data":
                for mime, data in value.items():  # text rendered as Markdown: its plain form is a stand-in
                    if mime not in SKIP and not (mime == "text/plain" and "text/markdown" in value):
                        flat[mime].append(sanitize(data))
            elif key not in SKIP:
                flat[key].append(sanitize(value))
    return dict(flat)


def test_every_source_experiment_has_a_notebook() -> None:
    """One per source experiment (01-06), then the studies beyond the sources (07 optimizers, 08 criticality)."""
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell_and_an_introduction(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "What we found" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert all("def " not in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_baseline_holds_the_notebooks_cells_and_the_quick_parameters(path: Path) -> None:
    """The baseline is the notebook as committed, run with the quick profile (nothing stale)."""
    notebook = nbformat.read(path, as_version=4)
    baseline = nbformat.read(baselines_dir() / path.name, as_version=4)
    injected = [c for c in baseline.cells if "injected-parameters" in c.metadata.get("tags", [])]
    kept = [c for c in baseline.cells if c not in injected]
    assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in kept] == [
        (c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells
    ], f"tests/baselines/{path.name} is stale: run `initlab reproduce --quick --update-baselines`"
    assert len(injected) == 1
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(injected[0].source).body}
    assert values == quick_parameters(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_real_data(path: Path, executed) -> None:
    nb = nbformat.read(executed(path), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure produced"
    assert any("text/html" in o.get("data", {}) for o in outputs), "no table produced"
    assert any("text/markdown" in o.get("data", {}) for o in outputs), "no generated verdict"
    assert any(recorded.MIME in o.get("data", {}) for o in outputs), "no recorded numbers"
    stderr = [o for o in outputs if o.get("name") == "stderr"]
    assert not stderr, f"stray stderr output: {json.dumps(stderr)[:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_cells_match_the_baseline(path: Path, executed) -> None:
    """Verdict words, counts and table layout exactly; decimals are the recorded numbers' job."""
    ran = nbformat.read(executed(path), as_version=4)
    baseline = nbformat.read(baselines_dir() / path.name, as_version=4)
    checked = [i for i, c in enumerate(baseline.cells) if CHECK in c.metadata.get("tags", [])]
    assert checked, "no cell is checked against the baseline"
    for i in checked:
        assert comparable(ran.cells[i].outputs) == comparable(baseline.cells[i].outputs), (
            f"cell {i} differs from tests/baselines/{path.name}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_recorded_numbers_match_the_baseline(path: Path, executed) -> None:
    reference = json.loads((baselines_dir() / NUMBERS).read_text())[path.name]
    problems = recorded.compare(reference, recorded.read_records(executed(path)))
    assert not problems, "\n".join(problems)


def test_sanitizers_mask_rounding_and_keep_verdicts() -> None:
    a = "<td>67.897377</td> not resolved (+8.50 pp); 47% zero; 128 distinct unit(s); 1.290617e+08"
    b = "<td>67.897385</td> not resolved (+8.30 pp); 46% zero; 128 distinct unit(s); 1.290620e+08"
    assert sanitize(a) == sanitize(b)
    assert sanitize(a) != sanitize(a.replace("not resolved", "supported"))
    assert sanitize(a) != sanitize(a.replace("128 distinct", "127 distinct"))


def test_a_failing_notebook_names_its_cell_and_leaves_the_target(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from initlab.nets.initializers import get_initializer"),
        nbformat.v4.new_code_cell("get_initializer('kaiming')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, target = tmp_path / "broken.ipynb", tmp_path / "out" / "broken.ipynb"
    nbformat.write(nb, src)
    target.parent.mkdir()
    target.write_text("committed")
    with pytest.raises(NotebookFailedError) as err:
        execute_notebook(src, target, partial_dir=tmp_path / "partial")
    assert err.value.cell == 1 and "UnknownNameError" in str(err.value) and "kaiming" in str(err.value)
    assert target.read_text() == "committed"
    assert err.value.partial == tmp_path / "partial" / "broken.ipynb" and err.value.partial.exists()


def test_kernels_talk_over_ipc_and_print_nothing(tmp_path: Path, capfd) -> None:
    """No TCP ports (parallel runs never clash) and no transport warning on the terminal."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().transport)"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "ipc.ipynb")
    execute_notebook(tmp_path / "ipc.ipynb", tmp_path / "out" / "ipc.ipynb", partial_dir=tmp_path / "partial")
    ran = nbformat.read(tmp_path / "out" / "ipc.ipynb", as_version=4)
    assert ran.cells[0].outputs[0]["text"].strip() == "ipc"
    captured = capfd.readouterr()
    assert "TCP" not in captured.err + captured.out
