"""Recorded verdicts of a family of tests, and the rule that compares them across machines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import initlab.stats as st
from initlab.claims.verdicts import tally
from initlab.errors import InvalidArgumentError, UnknownClaimError
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


def test_the_test_that_decides_first_is_the_one_that_counts() -> None:
    # supported, its equivalence p near the level: another machine may call it negligible
    ref = _records(("a > b", "supported", 0.001, 0.06, False))
    assert recorded.compare(ref, _records(("a > b", "equivalent", 0.001, 0.04, False))) == []
    # negligible is decided before the difference test: a difference p near the level is no excuse
    ref = _records(("a > b", "equivalent", 0.06, 0.001, False))
    assert recorded.compare(ref, _records(("a > b", "inconclusive", 0.5, 0.5, False))) != []


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


# --------------------------------------------------------------------------- verdicts on the ledger's claims


def test_a_verdict_naming_no_claim_of_the_ledger_is_refused() -> None:
    with pytest.raises(UnknownClaimError) as err:
        recorded.record_verdict("000-rankng", "holds")
    assert "\n" not in str(err.value) and "close matches: 000-ranking" in str(err.value)
    assert recorded.RECORDED == {}  # nothing was recorded
    with pytest.raises(UnknownClaimError):
        recorded.record_tested("002-he-best-reLU", _table(("a > b", "supported", 0.001, 0.9, False)))
    with pytest.raises(UnknownClaimError):
        recorded.record_tests(_table(("a > b", "supported", 0.001, 0.9, False)), ["000-ranking", "000-rnaking"])


def test_record_verdict_names_rules_and_tolerances() -> None:
    entries = recorded.record_verdict(
        "000-all-learn", "descriptive", tolerances={"gap": 0.3}, gap=1.25, diverged=0, unit="pp"
    )
    by = {e["name"]: e for e in entries}
    assert by["claim/000-all-learn/verdict"] == {
        "name": "claim/000-all-learn/verdict",
        "value": "descriptive",
        "rule": "exact",
        "tolerance": 0.0,
    }
    assert (by["claim/000-all-learn/gap"]["rule"], by["claim/000-all-learn/gap"]["tolerance"]) == ("seeds", 0.3)
    assert by["claim/000-all-learn/diverged"]["rule"] == "exact"
    tested, tally_entry, count = recorded.record_verdict(
        "000-ranking", "holds", p=[0.03, None], tally="3 supported", tests=3
    )
    assert tested["rule"] == "verdict" and tested["p"] == [0.03, None]
    assert (tally_entry["rule"], tally_entry["p"]) == ("verdict", [0.03, None])  # a word beside it turns with it
    assert count["rule"] == "exact"
    with pytest.raises(InvalidArgumentError, match="verdict"):
        recorded.record_verdict("000-ranking", "")


def _family() -> pd.DataFrame:
    """A real family: three pairs over five seeds, a clear lead, a tie and a small noisy gap."""
    rows = []
    for s in range(5):
        for init, v in {"a": 0.90, "b": 0.85 + 0.001 * s, "c": 0.85 + 0.001 * s, "d": 0.84 + 0.01 * (s % 2)}.items():
            rows.append({"seed": s, "init": init, "test_accuracy": v})
    return st.compare_pairs(pd.DataFrame(rows), [("a", "b"), ("b", "c"), ("c", "d")], delta=0.005)


def test_one_test_records_its_difference_and_interval() -> None:
    fam = _family()
    entries = {e["name"]: e for e in recorded.record_tested("000-he-close-to-glorot", fam, ["a > b"])}
    row = fam.iloc[0]
    verdict = entries["claim/000-he-close-to-glorot/verdict"]
    assert verdict["value"] == row["verdict"] == "supported" and verdict["p"] == [pytest.approx(row["p_adj"]), None]
    assert entries["claim/000-he-close-to-glorot/difference"]["value"] == pytest.approx(100 * row["mean"])
    low, high = (entries[f"claim/000-he-close-to-glorot/{k}"]["value"] for k in ("ci_low", "ci_high"))
    assert (low, high) == (pytest.approx(100 * row["ci_low"]), pytest.approx(100 * row["ci_high"]))
    assert entries["claim/000-he-close-to-glorot/unit"]["value"] == "pp"
    assert entries["claim/000-he-close-to-glorot/seeds"]["value"] == 5
    d, c = entries["claim/000-he-close-to-glorot/difference"], entries["claim/000-he-close-to-glorot/ci_low"]
    assert d["rule"] == c["rule"] == "seeds" and c["tolerance"] >= d["tolerance"] >= 0.01


def test_several_tests_record_their_tally_and_range() -> None:
    fam = _family()
    entries = {e["name"]: e for e in recorded.record_tested("000-sensitivity", fam)}
    assert entries["claim/000-sensitivity/verdict"]["value"] == "mixed"
    assert entries["claim/000-sensitivity/tests"]["value"] == 3
    assert entries["claim/000-sensitivity/tally"]["value"] == tally(fam["verdict"])
    assert entries["claim/000-sensitivity/difference_min"]["value"] == pytest.approx(100 * fam["mean"].min())
    assert entries["claim/000-sensitivity/difference_max"]["value"] == pytest.approx(100 * fam["mean"].max())
    ranking = {e["name"]: e for e in recorded.record_tested("000-ranking", fam, combine="ranking")}
    assert ranking["claim/000-ranking/verdict"]["value"] in ("not established", "contradicted")


def test_tests_the_table_lacks_leave_the_claim_untested() -> None:
    verdict, counted, tests = recorded.record_tested("000-ranking", _family(), ["x > y"])
    assert (verdict["value"], counted["value"], tests["value"]) == ("not tested", "none", 0)
    assert verdict["rule"] == "exact"


def test_record_tests_takes_a_mapping_or_a_list() -> None:
    fam = _family()
    recorded.record_tests(fam, {"000-he-close-to-glorot": ["b > c"], "000-sensitivity": None})
    recorded.record_tests(fam, ["002-shallow-insensitive"])
    assert recorded.RECORDED["claim/000-he-close-to-glorot/tests"]["value"] == 1
    assert recorded.RECORDED["claim/000-sensitivity/tests"]["value"] == 3
    assert recorded.RECORDED["claim/002-shallow-insensitive/tests"]["value"] == 3


def test_a_published_table_records_every_claim_that_cites_it() -> None:
    rows = pd.DataFrame(
        [
            {"column": c, "init": i, "paper": 97.0, "ours_mean": 97.2, "ours_pi_low": 96.8, "ours_pi_high": 97.6,
             "verdict": "below" if (c, i) == ("test_acc", "he_normal") else "inside"}
            for c in ("train_acc_first", "train_acc_last", "val_acc_first", "val_acc_last", "test_acc")
            for i in ("glorot_uniform", "he_normal")
        ]
    )  # fmt: skip
    recorded.record_published("desai_table1", rows, key="column")
    got = recorded.RECORDED
    assert got["claim/000-table1-val-last/verdict"]["value"] == "inside"
    assert got["claim/000-table1-test/verdict"]["value"] == "mixed"
    assert got["claim/000-table1-test/tally"]["value"] == "1 inside, 1 below"
    assert got["claim/000-table1-test/he_normal/verdict"]["value"] == "below"
    ours = got["claim/000-table1-test/he_normal/ours"]
    assert ours["value"] == 97.2 and ours["rule"] == "seeds" and ours["tolerance"] == pytest.approx(0.4)
    assert got["claim/000-table1-test/he_normal/paper"]["value"] == 97.0
    with pytest.raises(InvalidArgumentError, match="desai_table1"):
        recorded.record_published("table_9", rows, key="column")
    with pytest.raises(InvalidArgumentError, match="ours_mean"):
        recorded.record_published("desai_table1", rows.drop(columns="ours_mean"), key="column")


def test_claim_verdicts_compare_like_the_families() -> None:
    fam = _family()
    ref = {e["name"]: e for e in recorded.record_tested("000-ranking", fam, combine="ranking")}
    ref = json.loads(json.dumps(ref))
    assert recorded.compare(ref, ref) == []
    moved = json.loads(json.dumps(ref))
    moved["claim/000-ranking/verdict"]["value"] = "holds"
    near = ref["claim/000-ranking/verdict"]["p"]
    far = all(v is None or not 0.0125 <= v <= 0.2 for v in near)
    assert (recorded.compare(ref, moved) != []) is far


def test_a_sign_test_gives_its_counts_not_a_difference() -> None:
    sign = {"claim": "ones > zeros", "test": "sign", "wins": 1, "losses": 3, "ties": 1, "n": 4, "mean": -0.5}
    sign |= {"std": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_adj": 0.6, "p_equiv_adj": np.nan}
    sign |= {"exact": False, "verdict": "inconclusive"}
    t_row = {**sign, "claim": "a > b", "test": "t", "mean": 0.02, "std": 0.01, "ci_low": 0.01, "ci_high": 0.03}
    table = pd.DataFrame([sign, t_row])
    entries = recorded.record_tested("000-ranking", table, ["ones > zeros"])
    one = {e["name"].rsplit("/", 1)[1]: e["value"] for e in entries}
    assert (one["wins"], one["losses"], one["ties"]) == (1, 3, 1) and "difference" not in one
    both = {e["name"].rsplit("/", 1)[1]: e["value"] for e in recorded.record_tested("000-sensitivity", table)}
    assert both["difference_min"] == both["difference_max"] == pytest.approx(2.0)  # the t-test's alone


def _claim(verdict: str, p: list, tally_word: str) -> dict[str, dict]:
    entries = recorded.record_verdict("000-ranking", verdict, p=p, tally=tally_word)
    return json.loads(json.dumps({e["name"]: e for e in entries}))


def test_words_beside_a_tested_verdict_may_turn_with_it_near_the_level() -> None:
    near = _claim("not established", [0.07, 0.6], "2 supported, 1 inconclusive")
    assert recorded.compare(_claim("holds", [0.04, None], "3 supported"), near) == []
    assert recorded.compare(_claim("holds", [1e-5, None], "3 supported"), near) == []  # the current run is near
    far = _claim("not established", [0.5, 0.9], "2 supported, 1 inconclusive")
    problems = recorded.compare(_claim("holds", [1e-5, None], "3 supported"), far)
    assert [p.split(":")[0] for p in problems] == ["claim/000-ranking/verdict", "claim/000-ranking/tally"]
