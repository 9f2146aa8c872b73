"""The findings of the four-initializer notebook (``000``): every branch on small frames with known answers.

Hand computations used below:

* three seeds 0.970, 0.972, 0.974: mean 0.972, s = 0.002, t(0.975, 2) = 4.3027, so the 95%
  prediction interval for one run is 0.972 ± 4.3027 · 0.002 · sqrt(4/3) = 0.972 ± 0.00994,
  printed 96.21 – 98.19 (%);
* a paired t-test (two-sided, α = 0.05) needs 10 seeds for 80% power when the gap equals the
  spread of the differences (effect size 1), the textbook value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from initlab.findings import desai, speed
from initlab.sources import DESAI_RANKING
from initlab.stats import ALPHA, holm, ranking_verdict

RN, RU, GU, HE = "random_normal", "random_uniform", "glorot_uniform", "he_normal"


def _runs(
    curves: dict[str, list[list[float]]], test: dict[str, list[float]] | None = None, train_offset: float = 0.0
) -> pd.DataFrame:
    """A tidy study frame: ``curves[init][seed]`` is the validation curve (epoch 1 first); training
    accuracy is the same curve plus ``train_offset``; test accuracy the final value unless given."""
    rows = []
    for init, per_seed in curves.items():
        for seed, curve in enumerate(per_seed):
            for epoch, v in enumerate(curve, start=1):
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": "mlp_128",
                        "init": init,
                        "seed": seed,
                        "epoch": epoch,
                        "accuracy": v + train_offset,
                        "val_accuracy": v,
                        "test_accuracy": (test[init][seed] if test else curve[-1]),
                        "status": "ok",
                    }
                )
    return pd.DataFrame(rows)


def _flat(values: dict[str, list[float]], epochs: int = 2) -> pd.DataFrame:
    """Every quantity of every run equal to one value per (init, seed)."""
    return _runs({i: [[v] * epochs for v in vs] for i, vs in values.items()})


def test_published_comparison_verdicts_against_the_prediction_interval() -> None:
    table = desai.published_comparison(_flat({RN: [0.970, 0.972, 0.974], RU: [0.9745] * 3}))
    rn = table.xs(RN, level="init")
    assert (rn["ours, 95% PI for one run (%)"] == "96.21 – 98.19").all()
    assert (rn["ours, mean (%)"] == "97.20").all()
    # paper: 91.74, 98.51, 95.72, 97.17, 97.30
    assert rn["paper vs. PI"].tolist() == ["below", "above", "below", "inside", "inside"]
    ru = table.xs(RU, level="init")  # every seed 97.45: compared exactly; the paper's test accuracy is 97.45
    assert ru["paper vs. PI"].tolist() == ["differs", "differs", "differs", "differs", "equal"]
    assert (ru["ours, 95% PI for one run (%)"] == "97.45 – 97.45").all()
    assert list(table.index.get_level_values("init").unique()) == [RN, RU]  # only the inits that ran


def test_published_comparison_clips_bounds_to_a_percent_and_handles_one_seed() -> None:
    table = desai.published_comparison(_flat({RN: [0.90, 0.999], RU: [0.97]}))
    high = table.xs(RN, level="init")["ours, 95% PI for one run (%)"].iloc[0]
    assert high.endswith("– 100.00")  # 0.9495 + 12.71 · 0.07 · 1.22 is far above 1: clipped
    ru = table.xs(RU, level="init")
    assert (ru["paper vs. PI"] == "one seed").all() and (ru["ours, 95% PI for one run (%)"] == "n/a").all()


def test_published_text_counts_and_names_what_lies_outside() -> None:
    table = desai.published_comparison(_flat({RN: [0.970, 0.972, 0.974], RU: [0.9745] * 3}))
    text = desai.published_text(table)
    assert text.startswith("3 of 10 numbers of Table 1 lie inside")  # RN: 2 inside, RU: 1 equal
    assert "from 3 seeds" in text and "Outside it (7;" in text
    assert "training accuracy, first epoch: random_normal below, random_uniform differs" in text
    inside = table.assign(**{"paper vs. PI": "inside"})
    assert desai.published_text(inside).endswith("None lies outside it.")


def test_paper_gaps_are_the_adjacent_differences_of_table_1() -> None:
    gaps = desai.paper_gaps(DESAI_RANKING)  # 97.78, 97.54, 97.45, 97.30
    assert gaps == pytest.approx([0.0024, 0.0009, 0.0015])
    assert desai.paper_gaps([HE, GU]) == pytest.approx([-0.0024])


def test_gap_seeds_from_the_spread_of_paired_differences() -> None:
    base = np.array([0.75, 0.8125, 0.875])  # dyadic values: the RU - RN differences below are exact
    swing = np.array([1.0, -1.0, 0.0])
    test = {
        GU: list(base + 0.001 + 0.0024 * swing),  # GU - HE: 0.001 + 0.0024·(1, -1, 0), s = 0.0024
        HE: list(base),
        RU: list(base - 0.5 * swing),  # HE - RU: s = 0.5, against a gap of 0.0009
        RN: list(base - 0.5 * swing - 2.0**-7),
    }  # RU - RN: 2^-7 in every seed, zero spread
    df = _runs({i: [[v] for v in vs] for i, vs in test.items()})
    g = desai.gap_seeds(df, DESAI_RANKING, desai.paper_gaps(DESAI_RANKING))
    assert g["paper gap (pp)"].tolist() == pytest.approx([0.24, 0.09, 0.15])
    assert g["sd of differences (pp)"].tolist() == pytest.approx([0.24, 50.0, 0.0], abs=1e-9)
    assert g["ours (pp)"].iloc[0] == pytest.approx(0.1)
    # effect 1 (10 seeds; the sd's chi-square interval with 2 df: 5 to 312); effect 0.0018; no spread
    assert g["seeds: alone"].tolist() == ["10 (95% CI 5–312)", "more than 10,000", "n/a"]
    family = g["seeds: within 3 steps (α/3)"]
    assert int(family.iloc[0].split()[0]) > 10 and family.iloc[1] == "more than 10,000" and family.iloc[2] == "n/a"
    assert (g["seeds now"] == 3).all()


# Two initializers, three seeds, three epochs.
A_CURVES = [[0.95, 0.97, 0.98], [0.96, 0.975, 0.98], [0.94, 0.97, 0.985]]
B_CURVES = [[0.93, 0.96, 0.97], [0.94, 0.95, 0.972], [0.925, 0.955, 0.965]]


def test_speed_values_censor_runs_that_never_reach_the_target() -> None:
    v = speed.speed_values(_runs({"a": A_CURVES, "b": B_CURVES}), target=0.97).set_index(["init", "seed"])
    assert v.loc[("a", 0), "epoch1"] == 0.95 and v.loc[("a", 0), "auc"] == pytest.approx((0.95 + 0.97 + 0.98) / 3)
    assert v.loc["a", "epochs"].tolist() == [2.0, 2.0, 2.0]
    assert v.loc["b", "epochs"].tolist() == [3.0, 3.0, 4.0]  # seed 2 never reaches 0.97: 3 epochs + 1
    assert v.loc["b", "reached"].tolist() == [True, True, False]


def test_speed_family_tests_each_measure_and_corrects_them_together() -> None:
    t = speed.speed_family(
        _runs({"a": A_CURVES, "b": B_CURVES}), [("a", "b")], target=0.97, delta=0.005, delta_epochs=0.5
    )
    assert t["metric"].tolist() == ["epoch1", "auc", "epochs"]
    assert t["name"].tolist() == ["epoch1/a > b", "auc/a > b", "epochs/a > b"]
    e1, _, ep = (t.iloc[i] for i in range(3))
    assert e1["mean"] == pytest.approx((0.02 + 0.02 + 0.015) / 3)
    assert e1["p"] == pytest.approx(st.ttest_1samp([0.02, 0.02, 0.015], 0).pvalue)
    assert ep["mean"] == pytest.approx(4 / 3) and ep["delta"] == 0.5 and ep["seeds_reached"] == 3  # 1, 1, 2 epochs
    # one family of three claims, both kinds of p-value (at most three true nulls)
    assert t["p_adj"].tolist() == pytest.approx(list(holm([*t["p"], *t["p_equiv"]], max_true=3)[:3]))
    assert set(t["verdict"]) <= {"supported", "reversed", "equivalent", "inconclusive"}


def test_speed_family_exact_and_not_tested_epochs() -> None:
    df = _runs({"a": A_CURVES, "b": B_CURVES})
    exact = (
        speed.speed_family(df, [("a", "b")], target=0.98, delta=0.005, delta_epochs=0.5)
        .set_index("metric")
        .loc["epochs"]
    )
    # a reaches 0.98 at epoch 3 in every seed, b never (counted as 4): +1 epoch in every seed
    assert exact["exact"] and exact["mean"] == 1.0 and exact["verdict"] == "supported"
    t = speed.speed_family(df, [("a", "b")], target=0.982, delta=0.005, delta_epochs=0.5)
    ep = t.set_index("metric").loc["epochs"]  # only seed 2 (a: 0.985) reaches it: fewer than 2 seeds
    assert ep["verdict"] == "not tested" and ep["seeds_reached"] == 1 and math.isnan(ep["p_adj"])
    tested = t[t["metric"] != "epochs"]
    both = holm([*tested["p"], *tested["p_equiv"]], max_true=2)  # a family of two claims, not three
    assert tested["p_adj"].tolist() == pytest.approx(list(both[:2]))
    text = speed.speed_text(t, 0.982, family="a against b")
    assert "reached, by either run, in 1 seed(s) → not tested" in text
    assert "Of 2 tested claims" in text and "1 claim(s) on epochs to the target were not tested" in text
    assert "±0.5 epochs" in text and "The family is a against b: 2 test(s)" in text


def test_speed_table_reports_reach_and_never() -> None:
    t = speed.speed_table(_runs({"a": A_CURVES, "b": B_CURVES}), target=0.975)
    assert t.loc["a", "reached 97.5%"] == "3 of 3" and t.loc["a", "median epochs to 97.5%"] == "3"
    assert t.loc["b", "reached 97.5%"] == "0 of 3" and t.loc["b", "median epochs to 97.5%"] == "never"
    assert t.loc["a", "epoch 1 (%)"].startswith("95.00 ±")
    assert t.loc["a", "collapse (pp)"] == "0.00" and t.loc["a", "median best epoch"] == "3"


def test_faster_pairs_puts_the_faster_first() -> None:
    t = pd.DataFrame(
        {
            "metric": ["epoch1", "auc", "epochs"],
            "a": ["x", "x", "x"],
            "b": ["y", "y", "y"],
            "verdict": ["supported", "reversed", "inconclusive"],
        }
    )
    assert desai.faster_pairs(t) == "after epoch 1: x > y; mean over epochs: y > x"
    assert desai.faster_pairs(t.assign(verdict="equivalent")) == "none"


def _equivalence_frame() -> pd.DataFrame:
    base = np.array([0.970, 0.975, 0.972, 0.978, 0.974])
    wiggle = np.array([0.0002, -0.0001, 0.0001, -0.0002, 0.0])
    return _runs(
        {
            "x": [[v] for v in base],
            "y": [[v] for v in base + 0.0005 + wiggle],
            "z": [[v] for v in base - 0.03 + 3 * wiggle],
        }
    )


def test_equivalence_family_decides_on_the_corrected_equivalence_test() -> None:
    t = desai.equivalence_family(_equivalence_frame(), ["x", "y", "z"], delta=0.005).set_index("claim")
    assert list(t.index) == ["x ≈ y", "x ≈ z", "y ≈ z"]
    # x - y = -0.0005 - wiggle: far inside ±0.005; x - z = 0.03 + ...: far outside
    assert t.loc["x ≈ y", "verdict"] == "equivalent" and t.loc["x ≈ z", "verdict"] == "not shown equivalent"
    d = -0.0005 - np.array([0.0002, -0.0001, 0.0001, -0.0002, 0.0])
    p_tost = max(
        st.ttest_1samp(d, -0.005, alternative="greater").pvalue, st.ttest_1samp(d, 0.005, alternative="less").pvalue
    )
    assert t["p_equiv"].loc["x ≈ y"] == pytest.approx(p_tost)
    assert t["p_equiv_adj"].tolist() == pytest.approx(list(holm(t["p_equiv"])))
    assert not t["borderline"].any()


def test_equivalence_family_marks_a_borderline_equivalence() -> None:
    t = desai.equivalence_family(_equivalence_frame(), ["x", "y", "z"], delta=0.005)
    row = t.iloc[0].copy()
    fake = pd.DataFrame([row.to_dict()])
    fake["p_equiv_adj"] = 0.03
    fake["verdict"] = "equivalent"
    fake["borderline"] = True
    assert "**equivalent, borderline**" in desai.equivalence_text(fake, 0.005)


def test_equivalence_text_lists_equivalent_and_differing_pairs() -> None:
    t = desai.equivalence_family(_equivalence_frame(), ["x", "y", "z"], delta=0.005)
    text = desai.equivalence_text(t, 0.005)
    assert "Equivalent within ±0.5 pp: x ≈ y (1 of 3 pairs)" in text
    # x - y is -0.05 pp with a tiny spread: a real difference, and within the margin
    assert "differs (Holm-corrected paired t-test): x vs y, x vs z, y vs z." in text
    assert "Both at once, a real difference smaller than the margin: x ≈ y." in text
    assert "3 pairs, each two one-sided paired t-tests over 5 seeds" in text
    assert "- x ≈ z: +3.00 pp, 95% CI [+2.94, +3.06]" in text
    one = desai.equivalence_family(_runs({"x": [[0.9]], "y": [[0.91]]}), ["x", "y"], delta=0.005)
    assert "fewer than 2 paired seeds" in desai.equivalence_text(one, 0.005)


def test_equivalence_text_exact_difference() -> None:
    df = _runs({"x": [[0.5], [0.75], [1.0]], "y": [[0.25], [0.5], [0.75]]})  # x - y = 0.25 in every seed, exactly
    text = desai.equivalence_text(desai.equivalence_family(df, ["x", "y"], delta=0.005), 0.005)
    assert "+25.00 pp in every seed" in text and "(exact: the same in every seed)" in text
    two = desai.equivalence_text(desai.equivalence_family(df[df["seed"] < 2], ["x", "y"], delta=0.005), 0.005)
    assert "+25.00 pp in each of 2 seeds, too few to test a zero spread → **not shown equivalent**" in two


def test_ranking_whole_in_three_cases() -> None:
    t = pd.DataFrame({"verdict": ["supported", "supported"]})
    assert desai.ranking_whole(t, 0.005) == "holds: every step is supported"
    assert (
        desai.ranking_whole(t.assign(verdict=["supported", "reversed"]), 0.005) == "is contradicted: 1 step(s) reversed"
    )
    assert (
        desai.ranking_whole(t.assign(verdict=["equivalent", "inconclusive"]), 0.005)
        == "is not established (1 negligible, 1 inconclusive; negligible means equivalent within ±0.5 pp)"
    )


def test_findings_text_names_test_correction_and_seeds_for_each_item() -> None:
    rng = np.random.default_rng(0)
    level = {RN: 0.9730, RU: 0.9745, GU: 0.9778, HE: 0.9754}
    curves = {
        i: [
            [m - 0.02 + rng.normal(0, 1e-3), m - 0.005 + rng.normal(0, 1e-3), m + rng.normal(0, 1e-3)] for _ in range(6)
        ]
        for i, m in level.items()
    }
    df = _runs(curves, train_offset=0.01)
    gaps = desai.paper_gaps(DESAI_RANKING)
    ranking = ranking_verdict(df, DESAI_RANKING, 0.005, gaps=gaps)
    speed_claims = speed.speed_family(df, speed.ordered_pairs(DESAI_RANKING), 0.97, delta=0.005, delta_epochs=0.5)
    eq = desai.equivalence_family(df, DESAI_RANKING, 0.005)
    text = desai.findings_text(
        published=desai.published_comparison(df),
        ranking=ranking,
        speed=speed_claims,
        equivalence=eq,
        gaps=desai.gap_seeds(df, DESAI_RANKING, gaps),
        delta=0.005,
        target=0.97,
    )
    lines = text.splitlines()
    assert [l.split("**")[1] for l in lines] == [
        "Table 1.",
        "The paper's ranking",
        "Seeds to resolve the paper's gaps",
        "Convergence speed",
        "Final test accuracies",
    ]
    assert "over 6 seeds, Holm over the 3 steps" in lines[1]
    assert "18 claims" in lines[3] and "over 6 seeds, Holm over the whole family" in lines[3]
    assert "over 6 seeds, Holm over the 6 pairs" in lines[4]
    assert all(
        step in lines[2]
        for step in ("glorot_uniform > he_normal:", "he_normal > random_uniform:", "random_uniform > random_normal:")
    )
    assert speed.ordered_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_seeds_phrase() -> None:
    assert speed.seeds_phrase(pd.DataFrame({"n": [10, 10]})) == "10"
    assert speed.seeds_phrase(pd.DataFrame({"n": [8, 10]})) == "8–10"
    assert speed.seeds_phrase(pd.DataFrame({"n": []})) == "0"
    assert ALPHA == 0.05


def test_gap_text_reads_the_seeds_against_the_verdict() -> None:
    gaps = pd.DataFrame(
        {
            "paper gap (pp)": [0.24, 0.09, 0.15, 0.2, 0.1, 0.3, 0.3],
            "ours (pp)": [0.08, 0.02, 0.3, 0.1, 0.0, 0.1, 0.05],
            "seeds: alone": ["8 (95% CI 4–90)", "42 (95% CI 20–400)", "5 (95% CI 3–40)", "more than 10,000", "n/a"]
            + ["8 (95% CI 4–90)", "—"],
            "seeds: within 7 steps (α/7)": [
                "10 (95% CI 5–120)",
                "55 (95% CI 25–600)",
                "7 (95% CI 4–60)",
                "more than 10,000",
                "n/a",
                "10 (95% CI 5–120)",
                "—",
            ],
            "seeds now": [10, 10, 10, 10, 10, 10, 10],
        },
        index=["a > b", "b > c", "c > d", "d > e", "e > f", "f > g", "g > h"],
    )
    ranking = pd.DataFrame(
        {
            "verdict": ["equivalent", "inconclusive", "supported", "inconclusive", "inconclusive"]
            + ["inconclusive", "inconclusive"],
            "ci_low": [0.0005, -0.002, 0.001, -0.01, -0.001, -0.001, -0.01],
            "ci_high": [0.0011, 0.003, 0.005, 0.01, 0.001, 0.0032, 0.01],
        }
    )
    parts = desai.gap_text(gaps, ranking).rstrip(".").split("; ")
    # a > b: the CI [+0.05, +0.11] pp lies below the paper's 0.24 pp: the gap's absence may be said
    assert parts[0] == (
        "a > b: the paper's 0.24 pp lies outside our 95% CI [+0.05, +0.11] and the step is negligible: a gap as "
        "large as the paper's is not there"
    )
    assert parts[1] == "b > c: 55 (95% CI 25–600) seeds would find the paper's 0.09 pp gap with 80% power, 10 were run"
    assert parts[2] == "c > d: resolved, supported with 10 seeds"
    assert parts[3].startswith("d > e: more than 10,000 seeds (from our spread")
    assert parts[4] == "e > f: no estimate (our differences have no spread)"
    # f > g: seeds enough by the spread, but the CI [-0.10, +0.32] contains the paper's 0.30 pp: no absence claimed
    assert parts[5] == (
        "f > g: 10 seeds are at least the 10 (95% CI 5–120) that would find the paper's 0.30 pp gap with 80% power, "
        "and the step is inconclusive (ours +0.10 pp), but the paper's gap is not outside our 95% CI, so its absence "
        "is not shown"
    )
    assert parts[6] == "g > h: the spread of 10 seeds is too uncertain to say how many would resolve it"
    assert "not there" not in desai.gap_text(gaps, ranking[["verdict"]])  # no CI: no absence


def test_a_paper_number_near_a_bound_is_marked() -> None:
    assert desai.near_bound(98.20, 96.21, 98.19) and desai.near_bound(96.19, 96.21, 98.19)
    assert not desai.near_bound(98.22, 96.21, 98.19) and not desai.near_bound(97.0, math.nan, math.nan)
    table = desai.published_comparison(_flat({RN: [0.970, 0.972, 0.974]}))
    marked = table.copy()
    marked.iloc[3, marked.columns.get_loc("paper vs. PI")] = "inside (at the bound)"
    text = desai.published_text(marked)
    assert text.startswith("2 of 5 numbers of Table 1 lie inside")  # a marked "inside" still counts inside
    assert (
        "1 lie within 0.02 pp of a bound" in text and "validation accuracy, last epoch, random_normal (inside)" in text
    )
    assert "within 0.02 pp" not in desai.published_text(table)


def test_the_validation_claim_is_one_family_against_the_best() -> None:
    # validation curves end at: HE 0.975 in every seed; RN 0.965 ± a little; RU equal to HE's in every seed
    last = {HE: [0.975, 0.976, 0.974], RN: [0.965, 0.967, 0.964], RU: [0.975, 0.976, 0.974]}
    df = _runs({i: [[0.9, v] for v in vs] for i, vs in last.items()})
    table = desai.validation_family(df, HE, 0.005)
    assert table["claim"].tolist() == [f"{HE} > {RN}", f"{HE} > {RU}"]
    verdicts = dict(zip(table["claim"], table["verdict"]))
    assert verdicts[f"{HE} > {RN}"] == "supported" and verdicts[f"{HE} > {RU}"] == "equivalent"
    text = desai.validation_text(table, HE, 0.005)
    assert f"{HE} highest in validation accuracy, as a whole, **is not established**" in text
    assert "last epoch's validation accuracy: 2 test(s)" in text


def test_engine_text_names_the_engine_of_every_run_and_the_framework() -> None:
    from initlab.report import engine_text

    df = _flat({RN: [0.97, 0.98], HE: [0.97, 0.98]}).assign(engine="stacked")
    text = engine_text(df)
    assert text.startswith("Runs: 4 on the stacked engine") and "TensorFlow 2." in text and "Keras 3." in text
    assert "no engine recorded" in engine_text(df.drop(columns="engine"))


def test_faster_pairs_say_when_a_resolved_claims_ci_reaches_inside_its_margin() -> None:
    speed = pd.DataFrame(
        [
            {
                "metric": "auc",
                "a": "he",
                "b": "rn",
                "verdict": "supported",
                "ci_low": 0.004,
                "ci_high": 0.009,
                "delta": 0.0025,
            },
            {
                "metric": "auc",
                "a": "gu",
                "b": "ru",
                "verdict": "supported",
                "ci_low": 0.001,
                "ci_high": 0.008,
                "delta": 0.0025,
            },
        ]
    )
    assert desai.faster_pairs(speed) == "mean over epochs: he > rn, gu > ru (CI reaches inside ±δ)"
