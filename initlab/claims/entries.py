"""One entry of the claims ledger as objects: :class:`Claim` with its :class:`Test`, :class:`Margin` and
references into the published tables (:class:`NumericRef`, :class:`RankingRef`), and
:func:`parse_entries`, which builds them from the ledger's YAML and refuses malformed entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from initlab.errors import InvalidArgumentError, LedgerError

UNITS = {"pp": 0.01, "%": 0.01, "epochs": 1.0}  # a margin's unit -> the factor to the units the code computes in
FIELDS = (
    "id",
    "source",
    "locator",
    "claim",
    "phrase",
    "kind",
    "test",
    "margin",
    "margin_reason",
    "margin_declared",
    "budget",
    "notebook",
    "anchor",
)
OPTIONAL = ("untested", "numeric", "ranking", "see_also", "related")
TEST_FIELDS = ("metric", "comparison", "family", "training")


@dataclass(frozen=True)
class Margin:
    """An equivalence margin as the ledger states it: ``value`` in ``unit`` (``pp``, ``%`` or ``epochs``);
    ``applies_to`` names what it applies to when an entry has several."""

    value: float
    unit: str
    applies_to: str | None = None

    @property
    def delta(self) -> float:
        """The margin in the units the code computes in: accuracy and relative differences as fractions."""
        return self.value * UNITS[self.unit]


@dataclass(frozen=True)
class Test:
    """How a notebook puts a claim to the test: the ``metric``, the ``comparison`` made, the ``family``
    its p-values are corrected in (``None``: no family), and ``training``: whether it trains networks."""

    metric: str
    comparison: str
    family: str | None
    training: bool


@dataclass(frozen=True)
class NumericRef:
    """Published cells a numeric claim rests on: ``column`` of ``table`` (a name of
    :func:`initlab.sources.published_tables`) for ``rows``, or for every row when ``rows`` is ``None``."""

    table: str
    column: str
    rows: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RankingRef:
    """A published ranking: ``order`` (best first) of the rows of ``table`` in each of ``columns``,
    where ``better`` (``higher`` or ``lower``) values rank first."""

    table: str
    columns: tuple[str, ...]
    order: tuple[str, ...]
    better: str = "higher"


@dataclass(frozen=True)
class Claim:
    """One entry of the ledger; :mod:`initlab.claims.ledger` describes the fields."""

    id: str
    source: str | None
    locator: str
    claim: str
    phrase: str | None
    kind: str
    test: Test | None
    margins: tuple[Margin, ...]
    margin_reason: str | None
    margin_declared: str | None
    budget: Mapping[str, Any] | None
    notebook: str | None
    anchor: str | None
    untested: str | None = None
    numeric: NumericRef | None = None
    ranking: RankingRef | None = None
    see_also: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    def margin(self, *, unit: str | None = None) -> float | None:
        """This claim's margin in the code's units (see :func:`initlab.claims.ledger.margin`)."""
        if not self.margins:
            return None
        if unit is None and len(self.margins) > 1:
            units = ", ".join(m.unit for m in self.margins)
            raise InvalidArgumentError("unit", unit, f"must name one of claim {self.id}'s margins ({units})")
        chosen = [m for m in self.margins if unit is None or m.unit == unit]
        if not chosen:
            units = ", ".join(m.unit for m in self.margins)
            raise InvalidArgumentError("unit", unit, f"must be one of claim {self.id}'s margin units ({units})")
        return chosen[0].delta


# --------------------------------------------------------------------------- reading


def _frozen(value: Any) -> Any:
    """``value`` with its mappings read-only and its lists tuples, all the way down."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _margins(raw: Any, where: str, problems: list[str]) -> tuple[Margin, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if not (isinstance(item, Mapping) and {"value", "unit"} <= set(item)):
            problems.append(f"{where}: a margin must be a mapping with value and unit (and applies_to), got {item!r}")
        elif isinstance(item["value"], bool) or not isinstance(item["value"], (int, float)):
            problems.append(f"{where}: a margin's value must be a number, got {item['value']!r}")
        else:
            out.append(Margin(float(item["value"]), str(item["unit"]), item.get("applies_to")))
    return tuple(out)


def _test(raw: Any, where: str, problems: list[str]) -> Test | None:
    if raw is None:
        return None
    missing = [k for k in TEST_FIELDS if not isinstance(raw, Mapping) or k not in raw]
    if missing:
        problems.append(f"{where}: test lacks {', '.join(missing)}")
        return None
    if not isinstance(raw["training"], bool):
        problems.append(f"{where}: test.training must be true or false, got {raw['training']!r}")
    return Test(str(raw["metric"]), str(raw["comparison"]), raw["family"], bool(raw["training"]))


def _numeric(raw: Any, where: str, problems: list[str]) -> NumericRef | None:
    if raw is None:
        return None
    if not (isinstance(raw, Mapping) and {"table", "column"} <= set(raw)):
        problems.append(f"{where}: numeric must name a table and a column, got {raw!r}")
        return None
    rows = raw.get("rows")
    return NumericRef(str(raw["table"]), str(raw["column"]), None if rows is None else tuple(map(str, rows)))


def _ranking(raw: Any, where: str, problems: list[str]) -> RankingRef | None:
    if raw is None:
        return None
    if not (isinstance(raw, Mapping) and {"table", "columns", "order"} <= set(raw)):
        problems.append(f"{where}: ranking must name a table, its columns and an order, got {raw!r}")
        return None
    return RankingRef(
        str(raw["table"]),
        tuple(map(str, raw["columns"])),
        tuple(map(str, raw["order"])),
        str(raw.get("better", "higher")),
    )


def _claim(entry: Any, index: int, problems: list[str]) -> Claim | None:
    """One entry as a :class:`Claim`; structural problems go to ``problems`` (and ``None`` is returned)."""
    if not isinstance(entry, Mapping):
        problems.append(f"entry {index}: not a mapping")
        return None
    where = f"entry {index} ({entry.get('id', 'no id')})"
    missing = [k for k in FIELDS if k not in entry]
    unknown = [k for k in entry if k not in FIELDS + OPTIONAL]
    if missing or unknown:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has unknown field(s) {', '.join(unknown)}"] if unknown else []
        )
        problems.append(f"{where}: {'; '.join(parts)}")
        return None
    before = len(problems)
    claim = Claim(
        id=str(entry["id"]),
        source=entry["source"],
        locator=str(entry["locator"]),
        claim=str(entry["claim"]),
        phrase=entry["phrase"],
        kind=str(entry["kind"]),
        test=_test(entry["test"], where, problems),
        margins=_margins(entry["margin"], where, problems),
        margin_reason=entry["margin_reason"],
        margin_declared=entry["margin_declared"],
        budget=None if entry["budget"] is None else _frozen(entry["budget"]),
        notebook=entry["notebook"],
        anchor=entry["anchor"],
        untested=entry.get("untested"),
        numeric=_numeric(entry.get("numeric"), where, problems),
        ranking=_ranking(entry.get("ranking"), where, problems),
        see_also=tuple(entry.get("see_also") or ()),
        related=tuple(entry.get("related") or ()),
    )
    return claim if len(problems) == before else None


def parse_entries(entries: Iterable[Any]) -> tuple[Claim, ...]:
    """The ledger's entries (as read from YAML) as :class:`Claim` objects, in their order.

    Raises:
        LedgerError: an entry lacks a field, has an unknown one, or a field has the wrong shape.
    """
    problems: list[str] = []
    claims = [_claim(entry, i, problems) for i, entry in enumerate(entries)]
    if problems:
        raise LedgerError(problems)
    return tuple(c for c in claims if c is not None)
