"""``initlab reproduce``: nothing committed is damaged, nothing trains for the summary, notebook cleaning."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from initlab.errors import InvalidArgumentError
from initlab.pipeline.nbclean import clean
from initlab.pipeline.parameters import read_parameters
from initlab.pipeline.reproduce import notebook_paths


def test_notebook_parameters_prefer_injected_values(tmp_path: Path) -> None:
    path = next(p for p in notebook_paths() if p.name.startswith("03_"))
    params = read_parameters(path)
    assert params["epochs"] == 5 and params["seeds"] == list(range(10)) and params["validation_split"] == 0.2
    nb = nbformat.read(path, as_version=4)
    injected = nbformat.v4.new_code_cell("epochs = 1\nseeds = [7]")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.append(injected)
    tmp = tmp_path / path.name
    nbformat.write(nb, tmp)
    params = read_parameters(tmp)
    assert params["epochs"] == 1 and params["seeds"] == [7] and params["dataset"] == "mnist"
    defaults = read_parameters(tmp, injected=False)  # what a sweep checks its grid against
    assert defaults["epochs"] == 5 and defaults["seeds"] == list(range(10))


def test_the_reader_keeps_an_expression_as_its_source_text(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "import numpy as np\nshape = (784, 128)  # a tuple\nn: int = 3\nxs = np.arange(3)\nlimit = None"
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("x = 1"), cell]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert read_parameters(tmp_path / "n.ipynb") == {"shape": (784, 128), "n": 3, "xs": "np.arange(3)", "limit": None}


def test_a_study_from_a_notebooks_parameters_is_the_study_it_ran() -> None:
    from initlab.training.study import Study

    path = next(p for p in notebook_paths() if p.name.startswith("03_"))
    study = Study.from_parameters(read_parameters(path))  # delta and target are not set-up fields
    assert study == Study(
        "mnist",
        "mlp_128",
        ("random_normal", "random_uniform", "glorot_uniform", "he_normal"),
        seeds=tuple(range(10)),
        epochs=5,
        batch_size=32,
        optimizer="adam",
        learning_rate=None,
        validation_split=0.2,
        train_limit=None,
        test_limit=None,
    )
    keys = {(s.init, s.seed): s.key() for s in study.specs()}  # the keys the committed notebook's runs have
    assert keys[("random_normal", 0)] == "c47bc41b8513b283756832886ee9e8ff7cfc68be7001823b2d29c95fea423ede"
    assert keys[("he_normal", 9)] == "70a710791e2fd12077e49e02cd1199041ed7ab0f6d4424ad30b8dc793e70577d"
    patel = next(p for p in notebook_paths() if p.name.startswith("04_"))
    p = read_parameters(patel)
    studies = [Study.from_parameters({**p, "dataset": d}) for d in p["datasets"]]
    assert [s.dataset for s in studies] == ["mnist", "fashion_mnist", "cifar10"]
    assert studies[0].validation_split == 0.0 and studies[0].seeds == tuple(range(5))
    assert studies[0].model == "cnn_small"
    with pytest.raises(InvalidArgumentError, match="must name dataset"):
        Study.from_parameters({k: v for k, v in p.items() if k != "datasets"})


def test_clean_strips_timings_and_reports_problems(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {
        "input_path": "/work/x.ipynb",
        "output_path": "/work/y.ipynb",
        "start_time": "2026",
        "duration": 3.2,
        "parameters": {"epochs": 1},
    }
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


def test_clean_removes_progress_bars_and_keeps_the_lines_around_them(tmp_path: Path) -> None:
    from initlab.pipeline.nbclean import WIDGET

    tqdm_frames = "\r  0%|          | 0/3 [00:00<?, ?it/s]\r100%|##########| 3/3 [00:00<00:00, 9.1it/s]\n"
    keras_frames = "\r1/2 ━━━━━━━━━━ 0s 3ms/step\r2/2 ━━━━━━━━━━ 0s 2ms/step - loss: 0.5\n"
    table = "| init | accuracy |\n| he | 97%| \n"  # a percentage before a pipe is no bar
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=tqdm_frames),
        nbformat.v4.new_output("stream", name="stdout", text="before\n" + keras_frames + "after\n"),
        nbformat.v4.new_output(
            "display_data", {"text/plain": "100%|##########| 3/3 [00:01<00:00,  2.9run/s]", WIDGET: {}}
        ),
        nbformat.v4.new_output("stream", name="stdout", text=table),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert clean(tmp_path / "n.ipynb") == ["cell 0: progress bar removed from output"]
    outputs = nbformat.read(tmp_path / "n.ipynb", as_version=4).cells[0].outputs
    assert [o.get("text") for o in outputs] == ["before\nafter\n", table]


def test_summary_merge_updates_the_executed_sources_and_keeps_the_others(tmp_path: Path) -> None:
    import pandas as pd

    from initlab.pipeline import summary

    def row(source: str, paper: float, verdict: str):
        return {
            "source": source,
            "table": "Table 1",
            "dataset": "mnist",
            "init": "he_normal",
            "quantity": "test accuracy (%)",
            "compared_with": "test accuracy, after the last epoch",
            "paper": paper,
            "ours_mean": 97.0,
            "ours_pi_low": 96.0,
            "ours_pi_high": 98.0,
            "seeds": 3,
            "verdict": verdict,
        }

    old = pd.DataFrame([row("000", 1.0, "inside"), row("001", 2.0, "one seed")], columns=summary.COLUMNS)
    csv, _ = summary.write(old, tmp_path)
    new = pd.DataFrame([row("000", 9.0, "above")], columns=summary.COLUMNS)
    merged = summary.merge(new, csv)
    assert list(merged.source) == ["000", "001"]
    assert list(merged.paper) == [9.0, 2.0]
    assert list(merged.verdict) == ["above", "one seed"]  # the kept row survives the round trip
    assert summary.merge(new, tmp_path / "missing.csv").equals(new)
    # a summary written in an older layout (other columns) is replaced, not merged
    old.drop(columns="compared_with").to_csv(csv, index=False)
    assert summary.merge(new, csv).equals(new)


def _project(tmp_path: Path, monkeypatch, cells: dict[str, list[str]]) -> Path:
    """A project folder with numbered notebooks made of ``cells``; reproduce() pointed at it."""
    from initlab.pipeline import reproduce

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "tests" / "baselines").mkdir(parents=True)
    for name, sources in cells.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
        nb.cells[0].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / "notebooks" / name)
    monkeypatch.setattr(reproduce, "project_root", lambda: root)
    monkeypatch.setattr(reproduce, "data_dir", lambda: root / "data")
    monkeypatch.setitem(reproduce.QUICK, "91", {"x": 2})
    return root


def test_a_failing_notebook_leaves_the_committed_one_and_keeps_its_partial_output(
    tmp_path, monkeypatch, capsys
) -> None:
    from initlab.pipeline.reproduce import reproduce

    root = _project(
        tmp_path,
        monkeypatch,
        {
            "91_ok.ipynb": ["x = 1", "from initlab.pipeline import recorded\nrecorded.record('x', x)"],
            "92_broken.ipynb": ["x = 1", "raise ValueError('boom')"],
        },
    )
    committed = (root / "notebooks" / "92_broken.ipynb").read_bytes()
    assert reproduce() == 1
    err = capsys.readouterr().err
    assert "92_broken.ipynb failed at cell 1 (ValueError: boom)" in err and "data/partial/92_broken.ipynb" in err
    assert (root / "notebooks" / "92_broken.ipynb").read_bytes() == committed
    assert (root / "data" / "partial" / "92_broken.ipynb").exists()
    done = nbformat.read(root / "notebooks" / "91_ok.ipynb", as_version=4)
    assert done.cells[1].outputs and "papermill" not in done.cells[1].metadata  # executed and cleaned


def test_an_interrupted_notebook_leaves_the_committed_one(tmp_path, monkeypatch, capsys) -> None:
    import papermill

    from initlab.pipeline.reproduce import reproduce

    root = _project(tmp_path, monkeypatch, {"91_ok.ipynb": ["x = 1"]})
    committed = (root / "notebooks" / "91_ok.ipynb").read_bytes()

    def interrupted(source, output, **kwargs):
        Path(output).write_text("{}")  # papermill had started writing its output
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reproduce()
    assert "91_ok.ipynb failed before its first cell (interrupted)" in capsys.readouterr().err
    assert (root / "notebooks" / "91_ok.ipynb").read_bytes() == committed


def test_quick_baselines_take_the_notebook_and_its_recorded_numbers(tmp_path, monkeypatch) -> None:
    import json

    from initlab.pipeline.reproduce import reproduce

    root = _project(
        tmp_path,
        monkeypatch,
        {"91_ok.ipynb": ["x = 1", "from initlab.pipeline import recorded\nrecorded.record('x', x)"]},
    )
    (root / "tests" / "baselines" / "numbers.json").write_text(json.dumps({"05_other.ipynb": {"kept": 1}}))
    assert reproduce(quick=True, update_baselines=True) == 0
    baseline = nbformat.read(root / "tests" / "baselines" / "91_ok.ipynb", as_version=4)
    assert "x = 2" in baseline.cells[1].source  # the quick parameters were injected
    numbers = json.loads((root / "tests" / "baselines" / "numbers.json").read_text())
    assert numbers["91_ok.ipynb"]["x"]["value"] == 2 and numbers["05_other.ipynb"] == {"kept": 1}
    assert not list((root / "tests" / "baselines").glob(".*tmp"))


def test_unknown_notebooks_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys) -> None:
    from initlab.cli import main

    root = _project(tmp_path, monkeypatch, {"91_ok.ipynb": ["x = 1"]})
    (root / "notebooks" / "summary.csv").write_text("kept")
    assert main(["reproduce", "--notebooks", "99"]) == 2
    err = capsys.readouterr().err
    assert "Unknown notebook '99'" in err and "91_ok.ipynb" in err and "Traceback" not in err
    assert (root / "notebooks" / "summary.csv").read_text() == "kept"


def test_summary_only_never_trains_and_names_what_is_missing(tmp_path, monkeypatch, capsys) -> None:
    from initlab import training
    from initlab.pipeline import reproduce

    monkeypatch.setenv("INITLAB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(training.engines, "train_stack", lambda *a, **k: pytest.fail("summary-only trained"))
    monkeypatch.setattr(training.engines, "train", lambda *a, **k: pytest.fail("summary-only trained"))
    monkeypatch.setattr(reproduce, "data_dir", lambda: tmp_path / "data")
    monkeypatch.setattr(reproduce, "_write_claims", lambda folder, quick: None)  # the checkout's table stays as it is
    before = (reproduce.project_root() / "notebooks" / "summary.csv").read_bytes()
    assert reproduce.reproduce(notebooks=["03"], summary_only=True) == 1
    err = capsys.readouterr().err
    assert "03_mnist_four_initializers.ipynb" in err and "initlab reproduce --notebooks 03" in err
    assert (reproduce.project_root() / "notebooks" / "summary.csv").read_bytes() == before


STUDY_WITH_BARS = [
    "x = 1",
    "import sys\nfrom tqdm import tqdm\n"
    "for _ in tqdm(range(3), file=sys.stderr):\n    pass\nfor _ in tqdm(range(3), file=sys.stdout):\n    pass\n"
    "print('after the bars')",
    "from initlab.training import Study\n"
    "study = Study('mnist', 'mlp_128', ('he_normal',), epochs=1, train_limit=64, test_limit=64, engine='keras')\n"
    "df = study.run(cache=False, progress=True)\nprint(len(df), 'row')",
]


def test_progress_stays_on_stderr_and_out_of_the_executed_notebooks(tmp_path, monkeypatch, capsys) -> None:
    from initlab.pipeline.reproduce import reproduce

    root = _project(tmp_path, monkeypatch, {"91_bars.ipynb": STUDY_WITH_BARS, "92_plain.ipynb": ["x = 1"]})
    assert reproduce(progress=True) == 0
    err = capsys.readouterr().err
    assert "2/2 done" in err and "100%" in err and "91_bars" in err  # the overall bar and papermill's, on stderr
    assert "progress bar removed" not in err  # no bar reached an output to be cleaned away
    nb = nbformat.read(root / "notebooks" / "91_bars.ipynb", as_version=4)
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    assert [out.get("text") for out in outputs] == ["after the bars\n", "1 row\n"]  # no bar, nothing on stderr


@pytest.mark.parametrize(
    ("flags", "terminal", "shown"),
    [([], False, False), ([], True, True), (["--progress"], False, True), (["--no-progress"], True, False)],
)
def test_the_progress_flag_defaults_to_whether_stderr_is_a_terminal(flags, terminal, shown, monkeypatch) -> None:
    import io
    import sys

    from initlab.cli import main
    from initlab.pipeline import reproduce

    class Stderr(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    asked = {}
    monkeypatch.setattr(reproduce, "reproduce", lambda **kw: asked.update(kw) or 0)
    monkeypatch.setattr(sys, "stderr", Stderr())
    assert main(["reproduce", "--quick", *flags]) == 0
    assert asked["progress"] is shown and asked["quick"] is True


def _executed(path: Path, records: list[dict]) -> None:
    """A notebook as an executed one holds it: one code cell whose outputs are ``records``."""
    from initlab.pipeline.recorded import MIME

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("recorded")
    cell.outputs = [nbformat.v4.new_output("display_data", data={MIME: r}) for r in records]
    nb.cells = [cell]
    nbformat.write(nb, path)


def test_summary_only_rebuilds_the_claims_table_from_the_notebooks(tmp_path, monkeypatch, capsys) -> None:
    import csv

    from initlab import training
    from initlab.claims import load_ledger
    from initlab.pipeline import reproduce

    root = _project(tmp_path, monkeypatch, {})
    monkeypatch.setenv("INITLAB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(training.engines, "train_stack", lambda *a, **k: pytest.fail("summary-only trained"))
    monkeypatch.setattr(training.engines, "train", lambda *a, **k: pytest.fail("summary-only trained"))
    verdict = {"name": "claim/000-ranking/verdict", "value": "holds", "rule": "verdict", "tolerance": 0.0, "p": [0.01]}
    _executed(root / "notebooks" / "03_mnist_four_initializers.ipynb", [verdict])
    reproduce.reproduce(summary_only=True)
    assert "claims.csv, claims.md" in capsys.readouterr().out
    rows = {r["id"]: r for r in csv.DictReader((root / "notebooks" / "claims.csv").open())}
    assert len(rows) == len(load_ledger())
    assert rows["000-ranking"]["verdict"] == "holds"
    assert rows["000-ranking"]["link"] == "03_mnist_four_initializers.ipynb#evidence-desai-ranking"
    assert rows["000-he-close-to-glorot"]["verdict"] == "no verdict recorded"  # 03 ran, recorded nothing on it
    assert rows["001-ranking-mnist"]["verdict"] == "not run"  # 04 is not in the folder
    assert rows["003-orthogonal-width-depth"]["verdict"].startswith("untested: ")
    assert (
        "[03#evidence-desai-ranking](03_mnist_four_initializers.ipynb#evidence-desai-ranking)"
        in (root / "notebooks" / "claims.md").read_text()
    )


def test_a_quick_run_keeps_its_working_copies_apart_from_a_full_runs(tmp_path, monkeypatch) -> None:
    from initlab.pipeline.reproduce import partial_dir

    monkeypatch.setenv("INITLAB_DATA", str(tmp_path))
    # the same notebook run both ways at once must not share one working copy: the first to finish
    # would delete the other's
    assert partial_dir(quick=True) != partial_dir()
    assert partial_dir().name == partial_dir(quick=True).name == "partial"
