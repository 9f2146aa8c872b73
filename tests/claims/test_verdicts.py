"""The verdicts' names, the ids they may name, and how several tests add up to one claim's verdict."""

from __future__ import annotations

import pytest

from initlab.claims import load_ledger
from initlab.claims.verdicts import (
    WORDS,
    check_claim_id,
    combine,
    combine_published,
    combine_rule,
    combiner,
    deciding_p,
    nearest_to_level,
    ranking_word,
    record_name,
    split_record_name,
    tally,
)
from initlab.errors import UnknownClaimError, UnknownNameError


def test_record_names_round_trip() -> None:
    name = record_name("000-ranking", "he_normal/verdict")
    assert name == "claim/000-ranking/he_normal/verdict"
    assert split_record_name(name) == ("000-ranking", "he_normal/verdict")
    for other in ("test_accuracy/he_normal", "claim/000-ranking", "claim//verdict", "claims/x/verdict"):
        assert split_record_name(other) is None


def test_a_known_id_passes() -> None:
    assert check_claim_id("000-ranking") == "000-ranking"
    assert check_claim_id("x-1", ["x-1"]) == "x-1"


def test_an_unknown_id_is_refused_in_one_line_with_close_matches() -> None:
    with pytest.raises(UnknownClaimError) as err:
        check_claim_id("000-rankin")
    message = str(err.value)
    assert isinstance(err.value, ValueError) and "\n" not in message
    assert "'000-rankin'" in message and "close matches: 000-ranking" in message
    assert err.value.close[0] == "000-ranking" and len(err.value.close) <= 5
    assert len(message) < 300  # close matches, not the ledger's hundred ids


def test_an_id_like_none_of_the_ledger_says_so() -> None:
    with pytest.raises(UnknownClaimError, match="no id of the ledger is close") as err:
        check_claim_id("zzzz")
    assert err.value.close == []
    assert len(load_ledger()) > 100  # the ids checked against are the ledger's


@pytest.mark.parametrize(
    "words, each, ranking",
    [
        (["supported", "supported"], "supported", "holds"),
        (["supported", "inconclusive"], "mixed", "not established"),
        (["supported", "reversed"], "mixed", "contradicted"),
        (["equivalent", "equivalent"], "equivalent", "not established"),
        ([], "not tested", "not established"),
    ],
)
def test_several_tests_add_up(words: list[str], each: str, ranking: str) -> None:
    assert combine(words) == each == combiner("each")(words)
    assert ranking_word(words) == ranking == combiner("ranking")(words)


def test_an_unknown_combiner_lists_the_rules() -> None:
    with pytest.raises(UnknownNameError, match="each, ranking"):
        combiner("majority")


def test_published_rows_and_rules() -> None:
    assert combine_published(["inside", "equal", "inside"]) == "inside"
    assert combine_published(["above", "above"]) == "above"
    assert combine_published(["inside", "below"]) == "mixed"
    assert combine_rule([True, True]) == "holds"
    assert combine_rule([False]) == "fails"
    assert combine_rule([True, False]) == "mixed"
    assert combine_rule([]) == "not tested"


def test_tally_counts_in_a_fixed_order() -> None:
    assert tally(["inconclusive", "supported", "supported", "odd"]) == "2 supported, 1 inconclusive, 1 odd"
    assert tally([]) == ""
    assert len(set(WORDS)) == len(WORDS)


def test_the_deciding_p_values() -> None:
    assert deciding_p("supported", 0.01, 0.9) == [0.01, None]  # the difference test decided alone
    assert deciding_p("equivalent", 0.4, float("nan")) == [0.4, None]
    assert deciding_p("inconclusive", 0.2, 0.3) == [0.2, 0.3]


def test_the_test_nearest_to_turning() -> None:
    rows = [
        {"verdict": "supported", "p_adj": 1e-6, "p_equiv_adj": 0.9, "exact": False},
        {"verdict": "inconclusive", "p_adj": 0.3, "p_equiv_adj": 0.07, "exact": False},  # 0.07: 0.15 decades off
        {"verdict": "supported", "p_adj": 0.0, "p_equiv_adj": 1.0, "exact": True},
    ]
    assert nearest_to_level(rows) == [0.3, 0.07]
    assert nearest_to_level(rows[:1]) == [1e-6, None]
    assert nearest_to_level(rows[2:]) is None  # an exact row has no p-value to turn on
    assert nearest_to_level([{"verdict": "inconclusive", "p_adj": float("nan"), "p_equiv_adj": None}]) is None
