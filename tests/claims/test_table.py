"""The claims table on a hand-made ledger and hand-made records: each kind of verdict, the untested claims,
the notebooks that did not run, and the files it writes."""

from __future__ import annotations

import csv
import io
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

from initlab.claims import Claim
from initlab.claims import Test as ClaimTest
from initlab.claims import table as t


def _claim(claim_id: str, *, notebook: str | None = "91_a.ipynb", source: str | None = "000_x.txt", **kw: Any) -> Claim:
    tested = kw.pop("untested", None) is None
    return Claim(
        id=claim_id,
        source=source,
        locator="§1",
        claim="A claim written\nover two lines, | with a bar.",
        phrase=None,
        kind=kw.pop("kind", "qualitative"),
        test=ClaimTest("accuracy", "a > b", None, True) if tested else None,
        margins=(),
        margin_reason=None,
        margin_declared=None,
        budget=kw.pop("budget", {"model": "mlp_128", "epochs": 5, "seeds": 3}) if tested else None,
        notebook=notebook if tested else None,
        anchor="evidence-a" if tested else None,
        untested=None if tested else "No notebook\n  varies it.",
    )


def _records(claim_id: str, verdict: str, p: list | None = None, **numbers: Any) -> dict[str, dict[str, Any]]:
    entries = {f"claim/{claim_id}/verdict": {"value": verdict, "rule": "verdict" if p else "exact", "p": p}}
    entries |= {f"claim/{claim_id}/{k}": {"value": v, "rule": "exact"} for k, v in numbers.items()}
    return {name: {"name": name, "tolerance": 0.0, **e} for name, e in entries.items()}


LEDGER = [
    _claim("000-one"),
    _claim("000-many"),
    _claim("000-table", kind="numeric"),
    _claim("000-rule"),
    _claim("000-words"),
    _claim("000-untested", untested=True),
    _claim("000-missing", notebook="92_b.ipynb"),
    _claim("000-silent"),
    _claim("07-question", source=None, kind="question", budget=None),
]
RECORDS = {
    "91_a.ipynb": {
        "test_accuracy/he_normal": {"name": "test_accuracy/he_normal", "value": 0.97, "rule": "seeds"},
        **_records(
            "000-one", "supported", [0.012, None], difference=0.42, ci_low=0.1, ci_high=0.74, unit="pp", seeds=10
        ),
        **_records(
            "000-many",
            "mixed",
            [0.3, 0.07],
            tally="2 supported, 1 inconclusive",
            tests=3,
            difference_min=0.1,
            difference_max=2.3,
            unit="pp",
        ),
        **_records(
            "000-table",
            "mixed",
            None,
            tally="1 inside, 1 below, 1 one seed",
            **{"he/verdict": "inside", "he/ours": 97.31, "he/low": 96.9, "he/high": 97.7, "he/paper": 97.4},
            **{"lecun/verdict": "below", "lecun/ours": 98.0, "lecun/low": 97.5, "lecun/high": 98.5},
            **{"lecun/paper": 97.0, "one/verdict": "one seed", "one/ours": 97.1, "one/low": "nan", "one/high": "nan"},
            **{"one/paper": 97.2},
        ),
        **_records("000-rule", "holds", None, **{"relu/he_normal/forward": "keeps", "units": 128, "loss": 2.30124}),
        **_records("000-words", "mixed", None, tally="1 holds, 2 fails"),
        **_records("07-question", "descriptive", None),
        **_records("099-stray", "holds"),
    }
}


@pytest.fixture
def rows() -> dict[str, t.ClaimRow]:
    return {r.id: r for r in t.claim_rows(LEDGER, RECORDS)}


def test_one_row_per_claim_in_the_ledgers_order(rows) -> None:
    assert list(rows) == [c.id for c in LEDGER]


def test_a_claim_decided_by_one_test(rows) -> None:
    r = rows["000-one"]
    assert r.verdict == "supported"
    assert r.evidence == "+0.42 pp [+0.10, +0.74] over 10 seeds; Holm p = 0.012"
    assert r.link == "91_a.ipynb#evidence-a" and r.budget == "model mlp_128, epochs 5, seeds 3"
    assert r.claim == "A claim written over two lines, | with a bar." and r.source == "000_x.txt"


def test_a_claim_decided_by_several_tests(rows) -> None:
    assert rows["000-many"].verdict == "mixed"
    assert rows["000-many"].evidence == "3 tests: 2 supported, 1 inconclusive; differences +0.10 to +2.30 pp"


def test_a_numeric_claim_lists_each_published_number(rows) -> None:
    assert rows["000-table"].evidence == (
        "1 inside, 1 below, 1 one seed; he: paper 97.4, ours 97.31 (PI 96.9-97.7) inside; "
        "lecun: paper 97, ours 98 (PI 97.5-98.5) below; one: paper 97.2, ours 97.1 (PI n/a-n/a) one seed"
    )


def test_a_rule_lists_its_readings(rows) -> None:
    assert rows["000-rule"].verdict == "holds"
    assert rows["000-rule"].evidence == "relu/he_normal/forward: keeps; units: 128; loss: 2.30124"
    assert rows["000-words"].evidence == "1 holds, 2 fails"


def test_untested_not_run_and_silent_claims(rows) -> None:
    assert rows["000-untested"].verdict == "untested: No notebook varies it."
    assert rows["000-untested"].link == "" and rows["000-untested"].budget == "-"
    assert rows["000-missing"].verdict == t.NOT_RUN
    assert rows["000-silent"].verdict == t.NO_VERDICT and rows["000-silent"].evidence == ""
    assert rows["07-question"].source == t.QUESTION and rows["07-question"].verdict == "descriptive"


def test_records_on_claims_outside_the_ledger_are_named() -> None:
    assert t.unknown_claims(RECORDS["91_a.ipynb"], [c.id for c in LEDGER]) == ["099-stray"]
    assert t.unknown_claims(RECORDS["91_a.ipynb"], [c.id for c in LEDGER] + ["099-stray"]) == []


def test_csv_holds_every_column(rows) -> None:
    read = list(csv.reader(io.StringIO(t.csv_text(list(rows.values())))))
    assert tuple(read[0]) == t.COLUMNS == ("id", "source", "kind", "claim", "verdict", "evidence", "budget", "link")
    assert [r[0] for r in read[1:]] == list(rows)
    assert read[1] == list(astuple(rows["000-one"]))


def test_markdown_links_the_evidence_and_keeps_the_table_intact(rows) -> None:
    text = t.markdown(list(rows.values()), note="A note.")
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 1 + len(rows)  # header and one line per claim: no cell broke a line
    assert all(line.count(" | ") == table[0].count(" | ") for line in table)  # the bar in the claim is escaped
    assert "[91#evidence-a](91_a.ipynb#evidence-a)" in text and "A note." in lines
    assert "| 000-one | 000 | qualitative |" in text and "**supported**" in text


def test_write_puts_both_files_in_place(tmp_path: Path, rows) -> None:
    csv_path, md_path = t.write(list(rows.values()), tmp_path / "out")
    assert (csv_path.name, md_path.name) == ("claims.csv", "claims.md")
    assert csv_path.read_text() == t.csv_text(list(rows.values()))
    assert md_path.read_text() == t.markdown(list(rows.values()))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["claims.csv", "claims.md"]


@pytest.mark.parametrize(
    ("fields", "printed"),
    [
        ({"verdict": "equivalent", "difference": 0.1}, "negligible"),  # a paired difference inside ±δ
        ({"verdict": "equivalent", "tests": 3}, "negligible"),
        ({"verdict": "supported", "difference": 1.0}, "supported"),
        ({"verdict": "equivalent"}, "equivalent"),  # an equivalence test's own word
        ({"verdict": "inside"}, "inside"),
    ],
)
def test_a_difference_inside_the_margin_prints_as_negligible(fields, printed) -> None:
    found = {field: {"value": value} for field, value in fields.items()}
    assert t.printed_word(found) == printed


def test_a_tally_prints_its_paired_tests_as_the_notebooks_do() -> None:
    assert t.printed_tally("2 supported, 3 equivalent") == "2 supported, 3 negligible"
    assert t.printed_tally("1 equivalent, 2 not shown equivalent") == "1 negligible, 2 not shown equivalent"
