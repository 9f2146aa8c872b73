"""The claims ledger: the real one passes its checks, each check catches a hand-made bad entry, every
published cell is referenced, and the code takes its margins from it (none is written into the findings)."""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import json
import re
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import nbformat
import pytest
import tomllib
import yaml

from initlab import sources
from initlab.claims import (
    get_claim,
    ledger_problems,
    load_ledger,
    margin,
    parse_entries,
    resolve_margin,
    validate_ledger,
)
from initlab.claims.ledger import LEDGER_FILE, PHRASE_WORDS, source_files
from initlab.errors import InvalidArgumentError, LedgerError, UnknownNameError
from initlab.pipeline.parameters import read_parameters

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
FINDINGS = ROOT / "initlab" / "findings"
SEEDS = ROOT.parent / "shared" / "seeds"

# Entries per source file (and per notebook for the questions): a review changes these on purpose.
COUNTS = {
    "000_5f419284b061c44b.txt": 23,
    "001_4ffb92c45e2663f8.txt": 21,
    "002_aee8d08a7a4b8178.txt": 21,
    "003_7feae8cb6a341968.txt": 17,
    "004_89339e7897266897.txt": 16,
    "07_optimizers.ipynb": 7,
    "08_criticality.ipynb": 6,
}


@functools.cache
def _raw_entries() -> tuple[dict, ...]:
    text = resources.files("initlab.claims").joinpath(LEDGER_FILE).read_text(encoding="utf-8")
    return tuple(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def _raw(claim_id: str) -> dict:
    """A fresh copy of one entry as the YAML holds it."""
    return copy.deepcopy(next(e for e in _raw_entries() if e["id"] == claim_id))


# --------------------------------------------------------------------------- the real ledger


def test_the_ledger_validates() -> None:
    validate_ledger()
    assert ledger_problems(load_ledger()) == []


def test_count_per_source() -> None:
    counted = Counter(c.source or c.notebook for c in load_ledger())
    assert dict(counted) == COUNTS
    assert set(counted) - {"07_optimizers.ipynb", "08_criticality.ipynb"} == set(source_files())


def test_every_published_cell_is_referenced_by_a_numeric_entry() -> None:
    tables = sources.published_tables()
    cells = {(name, row, col) for name, t in tables.items() for row in t.index for col in t.columns}
    referenced = set()
    for c in load_ledger():
        if c.numeric is not None:
            rows = c.numeric.rows or tuple(tables[c.numeric.table].index)
            referenced |= {(c.numeric.table, row, c.numeric.column) for row in rows}
    assert len(cells) == 4 * 5 + 2 * 4 * 4
    assert cells - referenced == set()


def test_published_tables_hold_the_sources_numbers() -> None:
    tables = sources.published_tables()
    for r in sources.patel_tables().itertuples():
        assert tables["patel_table1"].loc[r.init, r.dataset] == r.acc
        assert tables["patel_table2"].loc[r.init, r.dataset] == r.loss
    for init, (acc, loss) in sources.PATEL_AVERAGES.items():
        assert (tables["patel_table1"].loc[init, "average"], tables["patel_table2"].loc[init, "average"]) == (acc, loss)
    assert tables["desai_table1"].equals(sources.desai_table().set_index("init"))


def test_rankings_name_the_sources_orders() -> None:
    assert list(get_claim("000-ranking").ranking.order) == sources.DESAI_RANKING
    for dataset in ("mnist", "cifar10", "fashion_mnist"):
        r = get_claim(f"001-ranking-{dataset.replace('_', '-')}").ranking
        assert r.columns == (dataset,) and r.order == ("randn_he", "randn_lecun", "randn_001", "zeros")


def test_load_is_cached_and_entries_are_frozen() -> None:
    claims = load_ledger()
    assert load_ledger() is claims
    claim = get_claim("000-ranking")
    with pytest.raises(dataclasses.FrozenInstanceError):
        claim.kind = "numeric"
    with pytest.raises(TypeError):
        claim.budget["seeds"] = 3


def test_importing_reads_nothing() -> None:
    code = "import initlab.claims as c; print(c.load_ledger.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "0"


def test_an_unknown_id_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError) as err:
        get_claim("000-no-such-claim")
    assert isinstance(err.value, ValueError)
    assert "'000-no-such-claim'" in str(err.value) and "000-ranking" in str(err.value)
    assert err.value.valid == sorted(c.id for c in load_ledger())


def test_margins_in_the_codes_units() -> None:
    assert margin("000-ranking") == pytest.approx(0.005)
    assert margin("001-ranking-mnist") == pytest.approx(0.0025)
    assert margin("002-lecun-histogram") == pytest.approx(0.10)
    assert margin("000-convergence-speed", unit="pp") == pytest.approx(0.005)
    assert margin("000-convergence-speed", unit="epochs") == pytest.approx(0.5)
    assert margin("000-table1-test") is None
    with pytest.raises(InvalidArgumentError, match="epochs"):
        margin("000-convergence-speed")
    with pytest.raises(InvalidArgumentError, match="pp"):
        margin("000-ranking", unit="epochs")


def test_a_margin_comes_with_its_history() -> None:
    for c in load_ledger():
        if c.margins:
            assert re.search(r"\b[0-9a-f]{7}\b", c.margin_declared), c.id
            assert "first run" in c.margin_declared or "before" in c.margin_declared, c.id


def test_anchors_sit_just_before_code_cells() -> None:
    """An anchor opens the markdown cell right before the evidence, which is code."""
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if cell.cell_type == "markdown" and cell.source.startswith("<a id="):
                assert i + 1 < len(cells) and cells[i + 1].cell_type == "code", (path.name, i)
                assert i > 0, "the title cell keeps its heading first"


def test_every_anchor_in_a_notebook_is_used() -> None:
    used = {(c.notebook, c.anchor) for c in load_ledger() if c.notebook}
    used |= {tuple(ref.split("#")) for c in load_ledger() for ref in c.see_also}
    held = set()
    for path in NOTEBOOKS.glob("0*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            held |= {(path.name, a) for a in re.findall(r'<a id="(evidence-[^"]+)"></a>', text)}
    assert held == used


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source documents are not on this machine")
def test_phrases_find_their_place_and_claims_are_paraphrases() -> None:
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("0*.txt")}
    runs = {
        tuple(w[i : i + PHRASE_WORDS])
        for t in texts.values()
        for w in [words(t)]
        for i in range(len(w) - PHRASE_WORDS + 1)
    }
    for c in load_ledger():
        if c.phrase is not None:
            assert c.phrase in texts[c.source], (c.id, c.phrase)
        for text in (c.claim, c.margin_reason or "", c.untested or ""):
            w = words(text)
            copied = [" ".join(w[i : i + PHRASE_WORDS]) for i in range(len(w) - PHRASE_WORDS + 1)]
            assert not [run for run in copied if tuple(run.split()) in runs], (c.id, text)


# --------------------------------------------------------------------------- margins the code runs with

MARGIN_NAME = re.compile(r"(^|_)(delta|window|margin)(_|$)", re.IGNORECASE)


def _numeric(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _margin_constants(path: Path) -> list[str]:
    """Margins written into a module: a module constant named like one, or such a parameter's numeric default."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"{path.name}: {t.id} = {ast.unparse(node.value)}"
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and _numeric(node.value)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name) and MARGIN_NAME.search(t.id)
    ]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            positional = a.args[len(a.args) - len(a.defaults) :]
            pairs = list(zip(positional, a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
            found += [
                f"{path.name}: {node.name}({arg.arg}={ast.unparse(d)})"
                for arg, d in pairs
                if MARGIN_NAME.search(arg.arg) and _numeric(d)
            ]
    return found


def test_no_margin_is_written_into_the_findings() -> None:
    """Every δ the findings use comes from the ledger: no module constant, no numeric default."""
    found = [c for path in sorted(FINDINGS.rglob("*.py")) for c in _margin_constants(path)]
    assert found == []


def test_the_scan_finds_a_margin_written_in(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("DELTA = 0.02\nWINDOW: float = 0.01\ndef f(x, delta=0.005, *, delta_epochs=0.5, n=3): ...\n")
    assert len(_margin_constants(module)) == 4


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0*.ipynb")), ids=lambda p: p.stem)
def test_notebook_margins_default_to_the_ledger(path: Path) -> None:
    """A notebook's margin parameters are None by default, meaning the ledger's (a sweep may still set them)."""
    params = read_parameters(path, injected=False)
    assert {k: v for k, v in params.items() if MARGIN_NAME.search(k) and v is not None} == {}


def _claim_constants() -> dict[str, str]:
    """The ledger ids the findings name as the source of their margins (``*_CLAIM = "<id>"``)."""
    found = {}
    for path in FINDINGS.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                found |= {
                    f"{path.stem}.{t.id}": node.value.value
                    for t in node.targets
                    if isinstance(t, ast.Name) and t.id.endswith("_CLAIM")
                }
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                for t in node.targets:
                    if isinstance(t, ast.Tuple):
                        found |= {
                            f"{path.stem}.{n.id}": v.value
                            for n, v in zip(t.elts, node.value.elts)
                            if isinstance(n, ast.Name) and n.id.endswith("_CLAIM") and isinstance(v, ast.Constant)
                        }
    return found


def test_the_findings_name_claims_with_margins() -> None:
    named = _claim_constants()
    assert len(named) >= 7, named
    assert {where: margin(claim) for where, claim in named.items() if margin(claim) is None} == {}


# The margins the committed results were computed with (before the ledger held them): a change is on purpose.
PINNED = [
    ("000-improper-init-fails", "pp", 0.005),
    ("000-homogeneous-local-minimum", "pp", 0.05),
    ("002-he-best-relu", "pp", 0.005),
    ("002-he-histogram", "pp", 0.02),
    ("002-lecun-histogram", "%", 0.10),
    ("000-ranking", "pp", 0.005),
    ("000-convergence-speed", "epochs", 0.5),
    ("001-ranking-mnist", "pp", 0.0025),
    ("003-orthogonal-speed", "pp", 0.005),
    ("003-orthogonal-speed", "epochs", 0.5),
    ("004-snn-any-start", "pp", 0.02),
    ("07-washout", "pp", 0.005),
    ("07-best-rate-window", "pp", 0.01),
    ("08-isometry-speed", "pp", 0.02),
]


@pytest.mark.parametrize("claim_id, unit, value", PINNED, ids=[f"{c}/{u}" for c, u, _ in PINNED])
def test_the_margins_are_those_the_results_were_computed_with(claim_id: str, unit: str, value: float) -> None:
    assert margin(claim_id, unit=unit) == pytest.approx(value)


def test_resolve_margin_prefers_a_given_value() -> None:
    assert resolve_margin(None, "000-ranking") == pytest.approx(0.005)
    assert resolve_margin(0.01, "000-ranking") == 0.01
    assert resolve_margin(None, "000-convergence-speed", unit="epochs") == pytest.approx(0.5)
    with pytest.raises(InvalidArgumentError, match="no margin for 000-table1-test"):
        resolve_margin(None, "000-table1-test")


# --------------------------------------------------------------------------- each check on a bad entry


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    """A notebooks folder with one small notebook holding the anchors the base entries cite."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A title"),
        nbformat.v4.new_markdown_cell(
            '<a id="evidence-table1-comparison"></a><a id="evidence-desai-ranking"></a>\nText'
        ),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell('Text, then <a id="evidence-not-at-start"></a>'),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    nbformat.write(nb, tmp_path / "03_mnist_four_initializers.ipynb")
    return tmp_path


def _base() -> list[dict]:
    """Two clean entries, a ranking with a margin and a numeric one, citing only the small notebook."""
    ranking, numeric = _raw("000-ranking"), _raw("000-table1-test")
    ranking.pop("see_also")
    return [ranking, numeric]


def _problems(entries: list[dict], folder: Path) -> list[str]:
    return ledger_problems(parse_entries(entries), notebooks_dir=folder)


def test_the_base_entries_are_clean(notebooks: Path) -> None:
    assert _problems(_base(), notebooks) == []


def _set(index: int, **fields):
    def change(entries: list[dict]) -> None:
        entries[index].update(fields)

    return change


def _nested(index: int, key: str, **fields):
    def change(entries: list[dict]) -> None:
        entries[index][key] = {**entries[index][key], **fields}

    return change


def _drop_budget_key(entries: list[dict]) -> None:
    entries[0]["budget"] = {k: v for k, v in entries[0]["budget"].items() if k != "seeds"}


def _second_margin_without_target(entries: list[dict]) -> None:
    entries[0]["margin"] = [{"value": 0.5, "unit": "pp"}, {"value": 0.5, "unit": "epochs"}]


def _copy_with_other_margin(entries: list[dict]) -> None:
    twin = copy.deepcopy(entries[0])
    twin.update(id="000-ranking-twin", margin={"value": 1.0, "unit": "pp"})
    entries.append(twin)


BAD = [
    ("duplicate id", _set(1, id="000-ranking"), "000-ranking: id used 2 times"),
    ("malformed id", _set(0, id="Ranking_000"), "id must be <source or notebook number>-<words>"),
    ("id of another source", _set(0, id="001-desai-ranking"), "id must start with its source's number (000)"),
    ("unknown kind", _set(0, kind="anecdote"), "kind 'anecdote' is not one of numeric, ranking"),
    ("unknown source", _set(0, source="005_0000000000000000.txt"), "is not a file of the sources' list"),
    ("long phrase", _set(0, phrase="one two three four five six seven"), "phrase must be 1 to 6"),
    ("question with a source", _set(0, kind="question"), "a question has no source and no phrase"),
    ("unknown table", _nested(1, "numeric", table="desai_table9"), "table 'desai_table9' is not one of"),
    ("unknown column", _nested(1, "numeric", column="test_accuracy"), "column 'test_accuracy' is not in desai_table1"),
    ("unknown row", _nested(1, "numeric", rows=["lecun_normal"]), "row 'lecun_normal' is not in desai_table1"),
    ("numeric without cells", _set(1, numeric=None), "a numeric entry, and only one, names published cells"),
    (
        "ranking against its table",
        _nested(0, "ranking", order=["he_normal", "glorot_uniform", "random_uniform", "random_normal"]),
        "disagrees with desai_table1's test_acc",
    ),
    ("ranking direction", _nested(0, "ranking", better="lower"), "disagrees with desai_table1's test_acc"),
    ("missing notebook", _set(0, notebook="09_nothing.ipynb"), "notebook 09_nothing.ipynb does not exist"),
    ("missing anchor", _set(0, anchor="evidence-elsewhere"), "has no anchor 'evidence-elsewhere'"),
    ("anchor not at the start", _set(0, anchor="evidence-not-at-start"), "has no anchor 'evidence-not-at-start'"),
    ("anchor name", _set(0, anchor="ranking"), "is not of the form evidence-<words>"),
    ("see_also anchor", _set(0, see_also=["03_mnist_four_initializers.ipynb#evidence-gone"]), "see_also"),
    ("related id", _set(0, related=["000-gone"]), "related id '000-gone' is not in the ledger"),
    ("margin without reason", _set(0, margin_reason=None), "has a margin but no margin_reason"),
    ("margin without history", _set(0, margin_declared=None), "has a margin but no margin_declared"),
    ("reason without margin", _set(1, margin_reason="because"), "margin_reason given without a margin"),
    ("unknown unit", _set(0, margin={"value": 0.5, "unit": "points"}), "margin unit 'points' is not one of"),
    ("margins without targets", _second_margin_without_target, "each of several margins says what it applies to"),
    ("training without budget", _set(0, budget=None), "trains networks but has no budget"),
    ("budget without seeds", _drop_budget_key, "budget lacks seeds"),
    ("untested without reason", _set(0, test=None), "has no test and no untested reason"),
    ("untested with a notebook", _set(0, test=None, untested="not run"), "an untested claim names no notebook"),
    ("one family, two margins", _copy_with_other_margin, "its claims state different margins in pp"),
]


@pytest.mark.parametrize("change, expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_check_fails_on_a_bad_entry(notebooks: Path, change, expected: str) -> None:
    entries = _base()
    change(entries)
    problems = _problems(entries, notebooks)
    assert any(expected in p for p in problems), problems
    with pytest.raises(LedgerError, match=re.escape(expected)):
        validate_ledger(parse_entries(entries), notebooks_dir=notebooks)


@pytest.mark.parametrize(
    "change, expected",
    [
        (_set(0, quote="a sentence of the source"), "has unknown field(s) quote"),
        (lambda e: e[0].pop("anchor"), "lacks anchor"),
        (_set(0, test={"metric": "accuracy"}), "test lacks comparison, family, training"),
        (_set(0, margin=0.5), "a margin must be a mapping with value and unit"),
        (_set(0, margin={"value": "half a point", "unit": "pp"}), "a margin's value must be a number"),
        (_set(1, numeric={"column": "test_acc"}), "numeric must name a table and a column"),
    ],
    ids=[
        "unknown field",
        "missing field",
        "incomplete test",
        "bare margin",
        "margin in words",
        "numeric without table",
    ],
)
def test_a_malformed_entry_is_refused_when_read(change, expected: str) -> None:
    entries = _base()
    change(entries)
    with pytest.raises(LedgerError, match=re.escape(expected)):
        parse_entries(entries)


# --------------------------------------------------------------------------- packaging


def test_the_ledger_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert LEDGER_FILE in config["initlab.claims"]
    assert resources.files("initlab.claims").joinpath(LEDGER_FILE).is_file()
