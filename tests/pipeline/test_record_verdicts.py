"""Recorded verdicts of a family of tests, and the rule that compares them across machines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import initlab.stats as st
from initlab.pipeline import recorded


@pytest.fixture(autouse=True)
def _private_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorded, "RECORDED", {})


def _table(*rows: tuple[str, str, float, float, bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"claim": c, "verdict": v, "p_adj": p, "p_equiv_adj": q, "exact": x} for c, v, p, q, x in rows]
    )


def _records(*rows: tuple[str, str, float, float, bool]) -> dict[str, dict]:
    entries = recorded.record_family(_table(*rows), "ranking")
    return json.loads(json.dumps({e["name"]: e for e in entries}))  # as stored in a notebook


def test_record_family_entries() -> None:
    entries = recorded.record_family(
        _table(
            ("a > b", "supported", 0.001, 0.9, False),
            ("c > d", "supported", 0.0, 1.0, True),
            ("e > f", "inconclusive", np.nan, np.nan, False),
        ),
        "mnist",
    )
    assert [e["name"] for e in entries] == ["mnist/a > b", "mnist/c > d", "mnist/e > f"]
    assert [e["value"] for e in entries] == ["supported", "supported", "inconclusive"]
    assert all(e["rule"] == "verdict" and e["tolerance"] == 0.0 for e in entries)
    assert entries[0]["p"] == [0.001, 0.9]
    assert entries[1]["p"] == [None, None]  # exact: no p-value to be near the level
    assert entries[2]["p"] == ["nan", "nan"]  # JSON has no NaN
    assert set(recorded.RECORDED) == {"mnist/a > b", "mnist/c > d", "mnist/e > f"}


def test_record_family_other_label_and_a_real_family() -> None:
    df = pd.DataFrame(
        [
            {"seed": s, "act": a, "auc": v}
            for a, vs in {"relu": [0.8, 0.82, 0.81], "tanh": [0.7, 0.71, 0.69]}.items()
            for s, v in enumerate(vs)
        ]
    )
    fam = st.compare_pairs(df, [("relu", "tanh")], delta=0.01, value="auc", key="act").rename(columns={"claim": "pair"})
    (entry,) = recorded.record_family(fam, "speed", label="pair")
    assert entry["name"] == "speed/relu > tanh" and entry["value"] == "supported"
    assert entry["p"][0] == pytest.approx(float(fam.loc[0, "p_adj"]))
    assert all(isinstance(v, float) for v in entry["p"])  # numpy floats stored as plain floats


def test_same_verdict_passes() -> None:
    ref = _records(("a > b", "supported", 0.001, 0.9, False), ("c > d", "equivalent", 0.8, 0.001, False))
    cur = _records(("a > b", "supported", 0.0004, 0.95, False), ("c > d", "equivalent", 0.7, 0.002, False))
    assert recorded.compare(ref, cur) == []


def test_different_verdicts_far_from_the_level_fail() -> None:
    ref = _records(("a > b", "supported", 0.001, 0.9, False))
    cur = _records(("a > b", "inconclusive", 0.3, 0.9, False))
    (problem,) = recorded.compare(ref, cur)
    assert problem.startswith("ranking/a > b: verdict 'inconclusive' differs from the reference 'supported'")
    assert "4x of the level" in problem


@pytest.mark.parametrize(
    "p_ref, p_cur, ok",
    [
        (0.06, 0.3, True),  # the reference was near the level
        (0.001, 0.07, True),  # the current run is
        (0.2, 0.3, True),  # 4 × 0.05, inclusive
        (0.0125, 0.3, True),  # 0.05 / 4, inclusive
        (0.21, 0.3, False),
        (0.001, 0.012, False),
    ],
)
def test_different_verdicts_near_the_level_pass(p_ref: float, p_cur: float, ok: bool) -> None:
    ref = _records(("a > b", "supported", p_ref, 0.9, False))
    cur = _records(("a > b", "inconclusive", p_cur, 0.9, False))
    assert (recorded.compare(ref, cur) == []) is ok


def test_an_equivalence_p_near_the_level_counts_too() -> None:
    ref = _records(("a > b", "equivalent", 0.7, 0.04, False))
    cur = _records(("a > b", "inconclusive", 0.6, 0.07, False))
    assert recorded.compare(ref, cur) == []
    far = _records(("a > b", "inconclusive", 0.6, 0.5, False))
    assert recorded.compare(_records(("a > b", "equivalent", 0.7, 0.001, False)), far) != []


def test_exact_rows_must_match_exactly() -> None:
    ref = _records(("a > b", "supported", 0.0, 1.0, True))
    assert recorded.compare(ref, _records(("a > b", "supported", 0.0, 1.0, True))) == []
    assert recorded.compare(ref, _records(("a > b", "equivalent", 1.0, 0.0, True))) != []
    # an exact reference against a tested run far from the level: no excuse on either side
    assert recorded.compare(ref, _records(("a > b", "inconclusive", 0.5, 0.5, False))) != []
    # NaN p-values (one seed) are no excuse either
    nan = _records(("a > b", "inconclusive", np.nan, np.nan, False))
    assert recorded.compare(ref, nan) != []


def test_missing_and_new_verdicts() -> None:
    ref = _records(("a > b", "supported", 0.001, 0.9, False))
    cur = _records(("a > c", "supported", 0.001, 0.9, False))
    assert recorded.compare(ref, cur) == [
        "ranking/a > b: recorded in the reference, missing now",
        "ranking/a > c: new, not in the reference",
    ]
