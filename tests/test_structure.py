"""benchmarks/structure.py measures a small package written here exactly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "structure.py"
_spec = importlib.util.spec_from_file_location("structure", SCRIPT)
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)

LONG_BODY = "".join(f"    x{i} = {i}\n" for i in range(60))  # with a def and a return line: 62 lines

A = (
    "from pkg import b\n"
    "import pkg.c\n"
    "\n"
    "\n"
    "def long():\n" + LONG_BODY + "    return 0\n"
    "\n"
    "\n"
    "def short():\n" + LONG_BODY[: LONG_BODY.index("    x58")] + "    return 0\n"
    "\n"
    "\n"
    "def wide(p1, p2, p3, p4, p5, *args, k1, k2, **kw):\n"
    "    from pkg.c import helper\n"
    "    return helper()\n"
)  # 4 + 62 (long) + 2 + 60 (short, not over 60) + 2 + 3 = 133 lines
B = (
    "from . import c\n"
    "from pkg import VERSION\n"
    "\n"
    "\n"
    "class K:\n"
    "    def narrow(self, a, b, c, d, e, f, g, h):\n"
    "        return c\n"
    "\n"
    "    @classmethod\n"
    "    def broad(cls, a, b, c, d, e, f, g, h, i):\n"
    "        return VERSION\n"
)
C = "import os\n\n\ndef helper():\n    return os.sep\n"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """pkg/__init__.py, a.py, b.py and c.py: edges a->b, a->c, b->c, b->pkg; one import inside a function."""
    root = tmp_path / "pkg"
    root.mkdir()
    for name, text in {"__init__": 'VERSION = "1"\n', "a": A, "b": B, "c": C}.items():
        (root / f"{name}.py").write_text(text)
    return root


def test_figures_of_a_known_package(package: Path) -> None:
    figures = structure.measure(package)
    assert figures["lines"] == {"pkg.a": 133, "pkg.b": 11, "pkg.c": 5, "pkg": 1}
    assert (figures["modules"], figures["total_lines"], figures["big_files"]) == (4, 150, [])
    assert [(f["name"], f["where"], f["lines"]) for f in figures["long_functions"]] == [("long", "pkg/a.py:5", 62)]
    assert [(f["name"], f["where"], f["params"]) for f in figures["many_params"]] == [
        ("wide", "pkg/a.py:131", 9),
        ("K.broad", "pkg/b.py:10", 9),
    ]
    assert structure.imports(structure.load(package))[0] == {
        ("pkg.a", "pkg.b"),
        ("pkg.a", "pkg.c"),
        ("pkg.b", "pkg.c"),
        ("pkg.b", "pkg"),
    }
    graph = [figures[k] for k in ("edges", "files_in_graph", "levels", "cycle", "function_level_imports")]
    assert graph == [4, 4, 3, None, 1]


def test_a_big_file_and_an_accepted_exception(package: Path) -> None:
    (package / "cli.py").write_text("def build_parser():\n" + LONG_BODY * 7 + "    return 0\n")
    figures = structure.measure(package)
    assert figures["big_files"] == ["pkg.cli"]
    assert [(f["name"], f["exception"]) for f in figures["long_functions"]] == [
        ("build_parser", "the argparse table"),
        ("long", None),
    ]
    assert "build_parser  (accepted exception: the argparse table)" in structure.report(figures)


def test_a_cycle_is_reported() -> None:
    assert structure.levels({("a", "b"), ("b", "c"), ("c", "a")}) == (0, ["a", "b", "c", "a"])
    assert structure.levels({("a", "b"), ("b", "c"), ("a", "c")}) == (3, None)
    assert structure.levels(set()) == (0, None)


def test_json_and_text_output(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    structure.main(["--root", str(package), "--json"])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(structure.measure(package)))
    structure.main(["--root", str(package)])
    text = capsys.readouterr().out
    assert "total: 150 lines in 4 modules" in text
    assert "import edges: 4, files in graph: 4, levels: 3" in text
    assert "function-level imports of the package's modules: 1" in text
