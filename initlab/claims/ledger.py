"""The claims ledger: every claim the five source documents make about initialization, and the questions
notebooks 07 and 08 ask beyond them, each with where and how a notebook puts it to the test.

The ledger is data, ``ledger.yaml`` beside this module (reviewed like code); :mod:`initlab.claims.entries`
turns its entries into :class:`~initlab.claims.entries.Claim` objects. Each entry holds a stable
``id``, the ``source`` file, a ``locator`` and a ``phrase`` (at most six consecutive words of the source, to
find the place with a text search), our paraphrase of the ``claim``, its ``kind``, the ``test`` a
notebook runs (or why none does: ``untested``), the equivalence ``margin`` with its reason and history,
the training ``budget``, and the ``notebook`` and ``anchor`` (``<a id="..."></a>`` at the start of the
markdown cell just before the evidence), with optional ``see_also`` (more evidence, as
``notebook#anchor``) and, for questions, the ``related`` claims. Numeric claims and rankings point into the
published tables of :mod:`initlab.sources` instead of repeating their numbers.

:func:`load_ledger` reads it (once, from the installed package), :func:`get_claim` and :func:`margin`
look entries up (:func:`resolve_margin`: a margin given, else the ledger's), and :func:`validate_ledger`
checks it against the sources, the tables and the notebooks.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import yaml

from initlab import sources
from initlab.claims.entries import UNITS, Claim, parse_entries
from initlab.errors import InvalidArgumentError, LedgerError, UnknownNameError
from initlab.paths import project_root

LEDGER_FILE = "ledger.yaml"
KINDS = ("numeric", "ranking", "qualitative", "question")
PHRASE_WORDS = 6  # a phrase locates the place; it never quotes more than this many words
BUDGET_NEEDS = (("epochs", "steps"), ("learning_rate",), ("seeds",))  # each group: one of these keys
ID_PATTERN = re.compile(r"^(\d{2,3})-[a-z0-9]+(?:-[a-z0-9]+)*$")
ANCHOR_PATTERN = re.compile(r"^evidence-[a-z0-9]+(?:-[a-z0-9]+)*$")
LEADING_ANCHORS = re.compile(r'^(?:\s*<a id="([^"]+)"></a>)+')
SOURCE_FILE = re.compile(r"\((\d{3}_[0-9a-f]+\.txt)\)")


@functools.cache
def load_ledger() -> tuple[Claim, ...]:
    """Every entry of the ledger, read once from the installed package's ``ledger.yaml``.

    Raises:
        LedgerError: the file is not a list of well-formed entries (:func:`parse_entries`).
    """
    text = resources.files("initlab.claims").joinpath(LEDGER_FILE).read_text(encoding="utf-8")
    entries = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's when built with it
    if not isinstance(entries, list):
        raise LedgerError([f"{LEDGER_FILE} must hold a list of entries, not {type(entries).__name__}"])
    return parse_entries(entries)


def get_claim(claim_id: str) -> Claim:
    """The ledger's entry ``claim_id``.

    Raises:
        UnknownNameError: no entry has that id (the message lists every id).
    """
    for claim in load_ledger():
        if claim.id == claim_id:
            return claim
    raise UnknownNameError("claim", claim_id, (c.id for c in load_ledger()))


def margin(claim_id: str, *, unit: str | None = None) -> float | None:
    """The equivalence margin of claim ``claim_id`` in the code's units (accuracy as a fraction: 0.5 pp is
    0.005; a relative 10 % is 0.10; epochs as epochs), or ``None`` when its test has none.

    Args:
        claim_id: an id of the ledger.
        unit: which margin, for an entry with several (``pp``, ``%``, ``epochs``).

    Raises:
        UnknownNameError: no entry has that id.
        InvalidArgumentError: the entry has several margins and ``unit`` names none of them.
    """
    return get_claim(claim_id).margin(unit=unit)


def resolve_margin(value: float | None, claim_id: str, *, unit: str | None = None) -> float:
    """``value`` when one is given (a sweep varying the margin, say), otherwise claim ``claim_id``'s margin
    in the code's units (:func:`margin`).

    Raises:
        UnknownNameError: no entry has that id.
        InvalidArgumentError: ``value`` is None and the entry states no margin (in ``unit``).
    """
    if value is not None:
        return float(value)
    found = margin(claim_id, unit=unit)
    if found is None:
        raise InvalidArgumentError("value", value, f"must be given: the ledger states no margin for {claim_id}")
    return found


# --------------------------------------------------------------------------- checking


def source_files() -> tuple[str, ...]:
    """The source documents' file names, as :data:`initlab.sources.SOURCES` lists them."""
    return tuple(m.group(1) for text in sources.SOURCES.values() for m in [SOURCE_FILE.search(text)] if m)


class _Anchors:
    """The anchors each notebook holds at the start of its markdown cells, read once per notebook."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._read: dict[str, set[str] | None] = {}

    def of(self, notebook: str) -> set[str] | None:
        """The anchors of ``notebook`` (a file name in the folder), ``None`` when there is no such file."""
        if notebook not in self._read:
            path = self.folder / notebook
            if not path.is_file():
                self._read[notebook] = None
            else:
                cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
                found: set[str] = set()
                for cell in cells:
                    text = cell.get("source", "")
                    text = text if isinstance(text, str) else "".join(text)
                    lead = LEADING_ANCHORS.match(text) if cell.get("cell_type") == "markdown" else None
                    if lead:
                        found.update(re.findall(r'<a id="([^"]+)"></a>', lead.group(0)))
                self._read[notebook] = found
        return self._read[notebook]

    def problems(self, notebook: str, anchor: str | None) -> list[str]:
        """What is wrong with pointing at ``anchor`` in ``notebook``; nothing when it is there."""
        held = self.of(notebook)
        if held is None:
            return [f"notebook {notebook} does not exist in {self.folder}"]
        if anchor is None:
            return [f"names notebook {notebook} but no anchor"]
        if not ANCHOR_PATTERN.match(anchor):
            return [f"anchor {anchor!r} is not of the form evidence-<words>"]
        if anchor not in held:
            return [f"notebook {notebook} has no anchor {anchor!r} at the start of a markdown cell"]
        return []


def _id_problems(c: Claim, files: Sequence[str]) -> list[str]:
    m = ID_PATTERN.match(c.id)
    if not m:
        return [f"id must be <source or notebook number>-<words>, lowercase with hyphens, got {c.id!r}"]
    if c.kind == "question":
        ok = bool(c.notebook) and c.notebook.startswith(m.group(1) + "_")
        return [] if ok else ["a question's id starts with its notebook's number"]
    if c.source in files and not c.source.startswith(m.group(1) + "_"):
        return [f"id must start with its source's number ({c.source[:3]})"]
    return []


def _source_problems(c: Claim, files: Sequence[str]) -> list[str]:
    if c.kind not in KINDS:
        return [f"kind {c.kind!r} is not one of {', '.join(KINDS)}"]
    if c.kind == "question":
        return [] if c.source is None and c.phrase is None else ["a question has no source and no phrase"]
    out = [] if c.source in files else [f"source {c.source!r} is not a file of the sources' list: {', '.join(files)}"]
    words = len(str(c.phrase or "").split())
    if not 1 <= words <= PHRASE_WORDS:
        out.append(f"phrase must be 1 to {PHRASE_WORDS} consecutive words of the source, has {words}")
    return out


def _table_problems(table: str, columns: Iterable[str], rows: Iterable[str], tables: Mapping) -> list[str]:
    if table not in tables:
        return [f"table {table!r} is not one of {', '.join(tables)}"]
    frame = tables[table]
    out = [f"column {col!r} is not in {table} ({', '.join(frame.columns)})" for col in columns if col not in frame]
    out += [f"row {row!r} is not in {table} ({', '.join(frame.index)})" for row in rows if row not in frame.index]
    return out


def _reference_problems(c: Claim, tables: Mapping) -> list[str]:
    """Numeric entries point at published cells, rankings agree with the tables they cite."""
    out = []
    if (c.kind == "numeric") != (c.numeric is not None):
        out.append("a numeric entry, and only one, names published cells (numeric: table, column)")
    if c.numeric is not None:
        out += _table_problems(c.numeric.table, [c.numeric.column], c.numeric.rows or (), tables)
    if (c.kind == "ranking") != (c.ranking is not None):
        out.append("a ranking entry, and only one, names its order and the table it reads (ranking:)")
    if c.ranking is not None:
        r = c.ranking
        found = _table_problems(r.table, r.columns, r.order, tables)
        if r.better not in ("higher", "lower"):
            found.append(f"ranking.better must be higher or lower, got {r.better!r}")
        out += found
        if not found:
            for col in r.columns:
                values = [float(tables[r.table].loc[row, col]) for row in r.order]
                ok = all((a > b) if r.better == "higher" else (a < b) for a, b in zip(values, values[1:]))
                if not ok:
                    out.append(f"order {' > '.join(r.order)} disagrees with {r.table}'s {col}: {values}")
    return out


def _evidence_problems(c: Claim, anchors: _Anchors, ids: set[str]) -> list[str]:
    """A tested claim names a notebook and an anchor it holds; an untested one says why and names neither."""
    out = []
    if c.test is None:
        if not c.untested:
            out.append("has no test and no untested reason")
        if c.notebook or c.anchor or c.margins or c.budget is not None:
            out.append("an untested claim names no notebook, anchor, margin or budget")
    else:
        if c.untested:
            out.append("has a test and an untested reason")
        out += anchors.problems(c.notebook, c.anchor) if c.notebook else ["has a test but no notebook"]
    for ref in c.see_also:
        notebook, _, anchor = ref.partition("#")
        out += [f"see_also {ref}: {p}" for p in anchors.problems(notebook, anchor or None)]
    out += [f"related id {r!r} is not in the ledger" for r in c.related if r not in ids]
    return out


def _margin_problems(c: Claim) -> list[str]:
    if not c.margins:
        stale = [name for name in ("margin_reason", "margin_declared") if getattr(c, name)]
        return [f"{', '.join(stale)} given without a margin"] if stale else []
    out = [f"margin unit {m.unit!r} is not one of {', '.join(UNITS)}" for m in c.margins if m.unit not in UNITS]
    out += [f"margin {m.value:g} {m.unit} must be positive" for m in c.margins if not m.value > 0]
    if len({m.unit for m in c.margins}) < len(c.margins):
        out.append("an entry's margins must differ in unit")
    if len(c.margins) > 1 and any(not m.applies_to for m in c.margins):
        out.append("each of several margins says what it applies to (applies_to)")
    if not c.margin_reason:
        out.append("has a margin but no margin_reason")
    if not c.margin_declared:
        out.append("has a margin but no margin_declared")
    return out


def _budget_problems(c: Claim) -> list[str]:
    if c.test is None:
        return []
    if not c.test.training:
        return [] if c.budget is None else ["gives a budget for a test that trains nothing"]
    if not isinstance(c.budget, Mapping):
        return ["trains networks but has no budget"]
    need = [" or ".join(group) for group in BUDGET_NEEDS if not any(k in c.budget for k in group)]
    return [f"budget lacks {', '.join(need)}"] if need else []


def _family_problems(claims: Sequence[Claim]) -> list[str]:
    """Claims tested in one family of one notebook state one margin per unit (a family is judged as one)."""
    values: dict[tuple[str, str, str], dict[float, list[str]]] = {}
    for c in claims:
        if c.test is not None and c.test.family and c.notebook:
            for m in c.margins:
                values.setdefault((c.notebook, c.test.family, m.unit), {}).setdefault(m.value, []).append(c.id)
    return [
        f"{notebook}, family '{family}': its claims state different margins in {unit}: "
        + "; ".join(f"{v:g} ({', '.join(ids)})" for v, ids in found.items())
        for (notebook, family, unit), found in values.items()
        if len(found) > 1
    ]


def ledger_problems(claims: Sequence[Claim], *, notebooks_dir: str | Path | None = None) -> list[str]:
    """Every problem of ``claims``, one line each (``"<id>: <what is wrong>"``); empty when they pass.

    Checks: ids unique and well formed; kinds known; each source a file of the sources' list with a
    phrase of at most :data:`PHRASE_WORDS` words; numeric entries resolve to published cells and
    rankings agree with the tables they cite; each tested claim's notebook exists in ``notebooks_dir``
    (default: the checkout's ``notebooks/``) and holds its anchor (``see_also`` anchors too); a margin
    comes with its reason and history, and the claims of one tested family state one margin per unit; a
    test that trains has a budget.
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else project_root() / "notebooks"
    files, tables, anchors = source_files(), sources.published_tables(), _Anchors(folder)
    ids = Counter(c.id for c in claims)
    problems = [f"{i}: id used {n} times" for i, n in sorted(ids.items()) if n > 1]
    for c in claims:
        found = (
            _id_problems(c, files)
            + _source_problems(c, files)
            + _reference_problems(c, tables)
            + _evidence_problems(c, anchors, set(ids))
            + _margin_problems(c)
            + _budget_problems(c)
        )
        problems += [f"{c.id}: {p}" for p in found]
    return problems + _family_problems(claims)


def validate_ledger(claims: Sequence[Claim] | None = None, *, notebooks_dir: str | Path | None = None) -> None:
    """Check the ledger (default: :func:`load_ledger`'s) as :func:`ledger_problems` does.

    Raises:
        LedgerError: listing every problem found.
    """
    problems = ledger_problems(load_ledger() if claims is None else claims, notebooks_dir=notebooks_dir)
    if problems:
        raise LedgerError(problems)
