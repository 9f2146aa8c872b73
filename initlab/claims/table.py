"""The claims table: one row per claim of the ledger, with the verdict the notebooks recorded on it.

Built from the ledger and the records of the executed notebooks (:func:`initlab.pipeline.recorded.read_records`
reads them; here they are plain mappings, name -> entry): :func:`claim_rows` gives one :class:`ClaimRow` per
claim, :func:`markdown` and :func:`csv_text` lay them out and :func:`write` puts ``claims.csv`` and
``claims.md`` in a folder. A claim the ledger leaves untested reads ``untested: <why>``; a tested one whose
notebook holds no verdict reads :data:`NOT_RUN` (no executed notebook) or :data:`NO_VERDICT`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from initlab.claims.entries import Claim
from initlab.claims.verdicts import split_record_name
from initlab.files import replace_files
from initlab.report import fmt_p
from initlab.stats import VERDICT_WORDS

CSV_FILE, MD_FILE = "claims.csv", "claims.md"
NOT_RUN = "not run"
NO_VERDICT = "no verdict recorded"
QUESTION = "question"  # the source column of a notebook's own question


@dataclass(frozen=True)
class ClaimRow:
    """One claim as the table shows it: the ledger's ``id``, ``source`` (file, or *question*), ``kind`` and
    paraphrase (``claim``), the notebooks' ``verdict`` with the ``evidence`` numbers behind it, the training
    ``budget`` and the ``link`` to the evidence (``NN_name.ipynb#anchor``, relative to the notebooks)."""

    id: str
    source: str
    kind: str
    claim: str
    verdict: str
    evidence: str
    budget: str
    link: str


COLUMNS = tuple(f.name for f in fields(ClaimRow))


def claim_records(records: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """The verdict records among a notebook's ``records`` (name -> entry), by claim id, then field."""
    found: dict[str, dict[str, Mapping[str, Any]]] = {}
    for name, entry in records.items():
        split = split_record_name(name)
        if split is not None:
            found.setdefault(split[0], {})[split[1]] = entry
    return found


def unknown_claims(records: Mapping[str, Mapping[str, Any]], ids: Sequence[str]) -> list[str]:
    """The claim ids ``records`` holds verdicts on that ``ids`` (the ledger's) does not, sorted."""
    return sorted(set(claim_records(records)) - set(ids))


def _number(value: Any, digits: int = 6) -> str:
    if value in ("nan", "inf", "-inf"):  # a non-finite number as a record stores it
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if math.isfinite(value) else "n/a"


def _signed(value: Any) -> str:
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return f"{value:+.2f}" if finite else "n/a"


def _value(found: Mapping[str, Mapping[str, Any]], field: str) -> Any:
    return found[field]["value"] if field in found else None


def _test_text(found: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A tested claim's evidence: one test's difference and CI with its p-values, or several tests' tally."""
    unit = _value(found, "unit") or ""
    parts = []
    if "difference" in found:
        parts.append(
            f"{_signed(_value(found, 'difference'))} {unit} "
            f"[{_signed(_value(found, 'ci_low'))}, {_signed(_value(found, 'ci_high'))}] over "
            f"{_value(found, 'seeds')} seeds"
        )
        p = found["verdict"].get("p") or [None, None]
        parts += [f"{name} p {fmt_p(float(v))}" for name, v in zip(("Holm", "equivalence"), p) if v is not None]
    elif "tests" in found:
        n = _value(found, "tests")
        parts.append(f"{n} test{'' if n == 1 else 's'}: {printed_tally(str(_value(found, 'tally')))}")
        if "difference_min" in found:
            low, high = _value(found, "difference_min"), _value(found, "difference_max")
            parts.append(f"differences {_signed(low)} to {_signed(high)} {unit}")
    return parts


def _published_text(found: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A numeric claim's evidence: each published number beside our prediction interval and the verdict."""
    rows = [field[: -len("/verdict")] for field in found if field.endswith("/verdict")]
    return [
        f"{row}: paper {_number(_value(found, f'{row}/paper'))}, ours {_number(_value(found, f'{row}/ours'))} "
        f"(PI {_number(_value(found, f'{row}/low'))}-{_number(_value(found, f'{row}/high'))}) "
        f"{_value(found, f'{row}/verdict')}"
        for row in rows
    ]


TEST_FIELDS = {"verdict", "unit", "difference", "ci_low", "ci_high", "seeds", "tests", "tally"}
TEST_FIELDS |= {"difference_min", "difference_max"}


def evidence_text(found: Mapping[str, Mapping[str, Any]]) -> str:
    """The numbers behind one claim's verdict (its records by field, :func:`claim_records`), in words."""
    published = [f for f in found if "/" in f and f.rsplit("/", 1)[1] in ("verdict", "ours", "low", "high", "paper")]
    parts = _published_text(found) if published else _test_text(found)
    if "tally" in found and (published or "tests" not in found):
        parts.insert(0, str(_value(found, "tally")))
    parts += [f"{f}: {_number(e['value'])}" for f, e in found.items() if f not in TEST_FIELDS and f not in published]
    return "; ".join(parts)


def budget_text(budget: Mapping[str, Any] | None) -> str:
    """A training budget in one line: ``model mlp_128, dataset mnist, epochs 5, ...``; ``-`` for none."""
    if not budget:
        return "-"
    return ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in budget.items())


def link(claim: Claim) -> str:
    """Where a claim's evidence is, relative to the notebooks' folder: ``NN_name.ipynb#anchor``."""
    return f"{claim.notebook}#{claim.anchor}" if claim.notebook and claim.anchor else ""


def printed_tally(tally: str) -> str:
    """A recorded tally as the notebooks print it: a paired test's *equivalent* reads *negligible*
    (:func:`printed_word`); *not shown equivalent* stays."""
    return re.sub(r"(?<!shown )\bequivalent\b", VERDICT_WORDS["equivalent"], tally)


def printed_word(found: Mapping[str, Mapping[str, Any]]) -> str:
    """A claim's recorded verdict as the notebooks print it: a paired difference inside the margin reads
    *negligible* (:data:`initlab.stats.VERDICT_WORDS`); an equivalence test's own *equivalent* stays."""
    word = str(found["verdict"]["value"])
    paired = "difference" in found or "tests" in found
    return VERDICT_WORDS.get(word, word) if paired else word


def claim_row(claim: Claim, records: Mapping[str, Mapping[str, Any]] | None) -> ClaimRow:
    """One claim's row, from ``records`` (its notebook's, ``None`` when that notebook did not run)."""
    if claim.test is None:
        verdict, evidence = f"untested: {' '.join(str(claim.untested).split())}", ""
    elif records is None:
        verdict, evidence = NOT_RUN, ""
    else:
        found = claim_records(records).get(claim.id, {})
        verdict = printed_word(found) if "verdict" in found else NO_VERDICT
        evidence = evidence_text(found) if "verdict" in found else ""
    return ClaimRow(
        id=claim.id,
        source=claim.source or QUESTION,
        kind=claim.kind,
        claim=" ".join(claim.claim.split()),
        verdict=verdict,
        evidence=evidence,
        budget=budget_text(claim.budget),
        link=link(claim),
    )


def claim_rows(claims: Sequence[Claim], records: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[ClaimRow]:
    """One row per claim, in the ledger's order.

    Args:
        claims: the ledger's entries (:func:`initlab.claims.load_ledger`).
        records: per notebook file name, its records (name -> entry); a notebook missing here did not run.
    """
    return [claim_row(c, records.get(c.notebook) if c.notebook else None) for c in claims]


def csv_text(rows: Sequence[ClaimRow]) -> str:
    """The rows as CSV, with a header of :data:`COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(astuple(r) for r in rows)
    return out.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[ClaimRow], *, note: str = "") -> str:
    """The rows as the Markdown page ``claims.md``: a heading, how to read it (and ``note``), one table row per
    claim with its link to the evidence."""
    lines = [
        "# Every claim of the sources, and what the notebooks found",
        "",
        "Generated by `initlab reproduce` from the claims ledger (`initlab/claims/ledger.yaml`) and the verdicts "
        "the executed notebooks recorded under each claim's id. Verdicts: a paired test's *supported*, "
        "*reversed*, *negligible* (equivalent within the claim's margin ±δ) or *inconclusive* (several tests "
        "of one claim: the word they share, else "
        "*mixed*, with their tally); a ranking *holds*, is *contradicted* or *not established*; a published "
        "number *inside*, *above* or *below* our 95% prediction interval for one run; a rule the notebook "
        "applies *holds*, *fails* or is *mixed*; *descriptive* where the notebook shows the numbers and decides "
        "nothing. Differences are ours minus the claim's rival, with their 95% CI and Holm-adjusted p-values.",
        "",
    ]
    if note:
        lines += [note, ""]
    head = ("id", "source", "kind", "claim", "verdict", "evidence", "budget", "evidence in")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        where = f"[{r.link.split('#')[0][:2]}#{r.link.split('#')[1]}]({r.link})" if r.link else "-"
        cells = (r.id, r.source.split("_")[0], r.kind, r.claim, f"**{r.verdict}**", r.evidence or "-", r.budget, where)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write(rows: Sequence[ClaimRow], folder: str | Path, *, note: str = "") -> tuple[Path, Path]:
    """Write ``claims.csv`` and ``claims.md`` into ``folder``, both atomically (:func:`replace_files`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / CSV_FILE, folder / MD_FILE
    replace_files({csv_path: csv_text(rows), md_path: markdown(rows, note=note)})
    return csv_path, md_path
