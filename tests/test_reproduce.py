"""The reproduction's pieces: the summary beside the papers' numbers, and notebook cleaning."""

from __future__ import annotations

from pathlib import Path

import nbformat

from initlab import summary
from initlab.nbclean import clean
from initlab.reproduce import notebook_paths

TINY = {"dataset": "mnist", "model": "mlp_128", "inits": ["random_normal", "random_uniform", "glorot_uniform", "he_normal"],
        "seeds": [0, 1], "epochs": 2, "batch_size": 64, "validation_split": 0.2, "train_limit": 400, "test_limit": 200}


def test_summary_lists_every_number_of_desai_table_1(tmp_path: Path) -> None:
    rows = summary.desai_rows(TINY)
    assert len(rows) == 4 * 5  # four initializers x five columns of Table 1
    he = {r["quantity"]: r for r in rows if r["init"] == "he_normal"}
    assert he["test accuracy (%)"]["paper"] == 97.54
    assert he["train accuracy, first epoch (%)"]["paper"] == 91.91
    for r in rows:
        assert r["seeds"] == 2 and r["ours_ci_low"] <= r["ours_mean"] <= r["ours_ci_high"]
        assert 0 <= r["ours_mean"] <= 100 and isinstance(r["paper_inside_ci"], bool)
    csv, md = summary.write(summary.pd.DataFrame(rows, columns=summary.COLUMNS), tmp_path)
    assert csv.exists() and "| 000 | Table 1 | mnist | he_normal | test accuracy (%) | 97.54 |" in md.read_text()


def test_notebook_parameters_prefer_injected_values() -> None:
    path = next(p for p in notebook_paths() if p.name.startswith("03_"))
    params = summary.notebook_parameters(path)
    assert params["epochs"] == 5 and params["seeds"] == [0, 1, 2, 3, 4] and params["validation_split"] == 0.2
    nb = nbformat.read(path, as_version=4)
    injected = nbformat.v4.new_code_cell("epochs = 1\nseeds = [7]")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.append(injected)
    tmp = path.parent / ".test_injected.ipynb"
    try:
        nbformat.write(nb, tmp)
        params = summary.notebook_parameters(tmp)
    finally:
        tmp.unlink()
    assert params["epochs"] == 1 and params["seeds"] == [7] and params["dataset"] == "mnist"


def test_clean_strips_timings_and_reports_problems(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/work/x.ipynb", "output_path": "/work/y.ipynb",
                                "start_time": "2026", "duration": 3.2, "parameters": {"epochs": 1}}
    ok = nbformat.v4.new_code_cell("1")
    ok.metadata["papermill"] = {"duration": 1.0}
    ok.metadata["execution"] = {"iopub.status.busy": "2026"}
    ok.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"})]
    bad = nbformat.v4.new_code_cell("f")
    bad.outputs = [nbformat.v4.new_output("stream", name="stdout", text="<function f at 0x7f3a2b1c9d30> in /root/x\n")]
    nb.cells = [ok, bad]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    problems = clean(path)
    again = nbformat.read(path, as_version=4)
    assert again.metadata["papermill"] == {"parameters": {"epochs": 1}}
    assert "papermill" not in again.cells[0].metadata and "execution" not in again.cells[0].metadata
    assert any("memory address" in p for p in problems) and any("absolute path" in p for p in problems)
    assert not any(p.startswith("cell 0") for p in problems)


def test_summary_merge_updates_the_executed_sources_and_keeps_the_others(tmp_path: Path) -> None:
    import pandas as pd

    from initlab import summary

    def row(source: str, paper: float, inside):
        return {"source": source, "table": "Table 1", "dataset": "mnist", "init": "he_normal",
                "quantity": "test accuracy (%)", "paper": paper, "ours_mean": 97.0, "ours_ci_low": 96.0,
                "ours_ci_high": 98.0, "seeds": 3, "paper_inside_ci": inside}

    old = pd.DataFrame([row("000", 1.0, True), row("001", 2.0, None)], columns=summary.COLUMNS)
    csv, _ = summary.write(old, tmp_path)
    new = pd.DataFrame([row("000", 9.0, False)], columns=summary.COLUMNS)
    merged = summary.merge(new, csv)
    assert list(merged.source) == ["000", "001"]
    assert list(merged.paper) == [9.0, 2.0]
    assert merged.paper_inside_ci.iloc[1] is None  # "n/a" survives the round trip
    assert summary.merge(new, tmp_path / "missing.csv").equals(new)
