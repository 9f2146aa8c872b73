"""The statistical protocol against hand-computed cases and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import initlab.stats as st  # imported as a module: pytest would collect ``test_family`` as a test
from initlab import report
from initlab.errors import InvalidArgumentError

T975_DF3 = 3.1824463052837078  # t quantile 0.975 with 3 degrees of freedom (printed tables: 3.182)
Z975 = 1.959963984540054


def _frame(values: dict[str, list[float]], **extra: object) -> pd.DataFrame:
    rows = [
        {"dataset": "mnist", "model": "m", "init": init, "seed": s, "epoch": 1, "test_accuracy": v, **extra}
        for init, vs in values.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def _row(mean: float, p: float, p_equiv: float = 1.0, exact: bool = False, n: int = 5, **kw: object) -> dict:
    return {"claim": kw.pop("claim", "x"), "n": n, "mean": mean, "p": p, "p_equiv": p_equiv, "exact": exact, **kw}


# --- mean_ci, summarize ---------------------------------------------------------------------------------


def test_mean_ci_matches_t_formula() -> None:
    x = [0.1, 0.4, 0.35, 0.8, 0.2]
    ci = st.mean_ci(x)
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / np.sqrt(5)
    assert ci["mean"] == pytest.approx(np.mean(x))
    assert ci["ci_low"] == pytest.approx(np.mean(x) - half)
    assert ci["ci_high"] == pytest.approx(np.mean(x) + half)


def test_mean_ci_single_value_has_no_interval() -> None:
    ci = st.mean_ci([0.5])
    assert ci["n"] == 1 and ci["mean"] == 0.5 and np.isnan(ci["ci_low"])


def test_mean_ci_identical_values_have_zero_width() -> None:
    # 0.1 + 0.1 + 0.1 = 0.30000000000000004: a naive std is ~1.7e-17, not zero.
    ci = st.mean_ci([0.1, 0.1, 0.1])
    assert ci["std"] == 0.0 and ci["half_width"] == 0.0 and ci["mean"] == 0.1


def test_summarize_uses_last_epoch() -> None:
    df = _frame({"a": [0.1, 0.2], "b": [0.5, 0.7]})
    df2 = df.assign(epoch=2, test_accuracy=df.test_accuracy + 1)
    out = st.summarize(pd.concat([df, df2]), "test_accuracy").set_index("init")
    assert out.loc["a", "mean"] == pytest.approx(1.15)
    assert out.loc["b", "n"] == 2


def test_summarize_refuses_unknown_column() -> None:
    with pytest.raises(InvalidArgumentError, match="test_accuracy"):
        st.summarize(_frame({"a": [0.1, 0.2]}), "val_acc")


# --- prediction_interval ----------------------------------------------------------------------------------


def test_prediction_interval_by_hand() -> None:
    # mean 0.93, s = sqrt(0.002 / 3) = 0.0258199, half = 3.18245 * s * sqrt(1.25) = 0.0918693
    pi = st.prediction_interval([0.90, 0.92, 0.94, 0.96])
    assert pi["n"] == 4 and not pi["exact"]
    assert pi["mean"] == pytest.approx(0.93)
    assert pi["std"] == pytest.approx(math.sqrt(0.002 / 3))
    assert pi["half_width"] == pytest.approx(0.0918693, abs=1e-7)
    assert pi["half_width"] == pytest.approx(T975_DF3 * math.sqrt(0.002 / 3) * math.sqrt(1 + 1 / 4))
    assert (pi["low"], pi["high"]) == pytest.approx((0.93 - 0.0918693, 0.93 + 0.0918693), abs=1e-7)
    # wider than the confidence interval of the mean by sqrt(n + 1)
    assert pi["half_width"] / st.mean_ci([0.90, 0.92, 0.94, 0.96])["half_width"] == pytest.approx(math.sqrt(5))


def test_prediction_interval_zero_spread_is_exact() -> None:
    pi = st.prediction_interval([0.1, 0.1, 0.1])
    assert pi["exact"] and pi["half_width"] == 0.0
    assert pi["low"] == pi["high"] == pi["mean"] == 0.1


def test_prediction_interval_one_value_has_none() -> None:
    pi = st.prediction_interval([0.97])
    assert pi["n"] == 1 and pi["mean"] == 0.97 and not pi["exact"]
    assert np.isnan(pi["low"]) and np.isnan(pi["high"]) and np.isnan(pi["half_width"])


def test_prediction_interval_drops_non_finite_values() -> None:
    pi = st.prediction_interval([0.90, np.nan, 0.92, np.inf, 0.94, -np.inf, 0.96])
    ref = st.prediction_interval([0.90, 0.92, 0.94, 0.96])
    assert pi == ref
    assert st.prediction_interval([np.nan])["n"] == 0


# --- judge_published --------------------------------------------------------------------------------------

_VALUES = [0.95, 0.955, 0.96, 0.965]  # prediction interval [0.9345327, 0.9804673]: printed [93.45, 98.05]


def test_judge_published_decides_on_printed_bounds() -> None:
    pi = st.prediction_interval(_VALUES)
    high, low = pi["high"] * 100, pi["low"] * 100
    # The unrounded bounds would call 98.05 "above" and 93.45 "below"; the printed ones contain both.
    assert 98.05 > high and round(high, 2) == 98.05
    assert 93.45 < low and round(low, 2) == 93.45
    top = st.judge_published(_VALUES, 98.05)
    assert (top["low"], top["high"], top["mean"]) == (93.45, 98.05, 95.75)
    assert top["verdict"] == "inside"
    assert st.judge_published(_VALUES, 93.45)["verdict"] == "inside"
    assert st.judge_published(_VALUES, 98.06)["verdict"] == "above"
    assert st.judge_published(_VALUES, 93.44)["verdict"] == "below"
    assert "prediction interval" in top["reason"] and "4 seeds" in top["reason"]


def test_judge_published_rounds_the_published_number_as_printed() -> None:
    assert st.judge_published(_VALUES, 98.054)["verdict"] == "inside"  # printed 98.05
    assert st.judge_published(_VALUES, 98.055)["verdict"] == "above"  # printed 98.06 (98.055 is 98.05500...01)
    assert st.judge_published(_VALUES, 95.0, digits=0)["high"] == 98.0


def test_judge_published_zero_spread_compared_exactly() -> None:
    same = [0.9731] * 5
    eq = st.judge_published(same, 97.31)
    assert eq["verdict"] == "equal" and eq["low"] == eq["high"] == 97.31
    assert "5 seeds" in eq["reason"] and "exactly" in eq["reason"]
    diff = st.judge_published(same, 97.30)
    assert diff["verdict"] == "differs" and "exactly" in diff["reason"]
    # 0.1 three times has a naive std of 1.7e-17: still exact, never a zero-width "no"
    assert st.judge_published([0.1, 0.1, 0.1], 10.0)["verdict"] == "equal"


def test_judge_published_one_seed_and_no_runs() -> None:
    one = st.judge_published([0.97, np.nan], 97.0)
    assert one["verdict"] == "one seed" and one["mean"] == 97.0 and np.isnan(one["low"])
    none = st.judge_published([np.nan, np.inf], 97.0)
    assert none["verdict"] == "no runs" and none["n"] == 0 and np.isnan(none["mean"])
    assert st.judge_published([], 97.0)["verdict"] == "no runs"


def test_judge_published_refuses_a_missing_published_number() -> None:
    with pytest.raises(InvalidArgumentError, match="published"):
        st.judge_published(_VALUES, float("nan"))


# --- paired_test ------------------------------------------------------------------------------------------

_DIFF = [0.012, 0.004, 0.009, -0.002, 0.015, 0.007]


def test_paired_test_matches_scipy() -> None:
    r = st.paired_test(_DIFF, 0.005)
    assert r["n"] == 6 and r["dropped"] == 0 and not r["exact"]
    assert r["p"] == pytest.approx(stats.ttest_1samp(_DIFF, 0.0).pvalue, rel=1e-12)
    low = stats.ttest_1samp(_DIFF, -0.005, alternative="greater").pvalue
    high = stats.ttest_1samp(_DIFF, 0.005, alternative="less").pvalue
    assert r["p_equiv"] == pytest.approx(max(low, high), rel=1e-12)
    assert high > low  # the mean (0.0075) is above +δ, so the upper test is the one that fails
    # the t statistic by hand: mean / (s / sqrt(n))
    t = np.mean(_DIFF) / (np.std(_DIFF, ddof=1) / math.sqrt(6))
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(t), 5), rel=1e-10)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((st.mean_ci(_DIFF)["ci_low"], st.mean_ci(_DIFF)["ci_high"]))


def test_paired_test_seeds_needed_uses_the_claimed_gap() -> None:
    sd = float(np.std(_DIFF, ddof=1))
    assert st.paired_test(_DIFF, 0.005)["seeds_needed"] == st.seeds_needed(np.mean(_DIFF), sd)
    assert st.paired_test(_DIFF, 0.005, gap=0.002)["seeds_needed"] == st.seeds_needed(0.002, sd)
    assert st.paired_test(_DIFF, 0.005, gap=0.002)["seeds_needed"] > st.paired_test(_DIFF, 0.005)["seeds_needed"]


def test_paired_test_zero_variance_is_exact() -> None:
    up = st.paired_test([0.01] * 5, 0.005)
    assert up["exact"] and up["std"] == 0.0 and up["p"] == 0.0 and up["p_equiv"] == 1.0
    assert np.isnan(up["seeds_needed"])
    down = st.paired_test([-0.01] * 3, 0.005)
    assert down["exact"] and down["p"] == 0.0 and down["mean"] == -0.01
    # inside the margin: equivalence holds too, but a difference present in every seed is real
    small = st.paired_test([0.002] * 4, 0.005)
    assert small["exact"] and small["p"] == 0.0 and small["p_equiv"] == 0.0
    # 0.2 pp: inside ±0.25 pp and ±1 pp too; 0.3 pp is not inside ±0.25 pp
    assert small["p_equiv_half"] == 0.0 and small["p_equiv_double"] == 0.0
    assert st.paired_test([0.003] * 4, 0.005)["p_equiv_half"] == 1.0
    zero = st.paired_test([0.0, 0.0, 0.0], 0.005)
    assert zero["exact"] and zero["p"] == 1.0 and zero["p_equiv"] == 0.0
    # the same difference written as a float sum (0.1 + 0.1 + 0.1 ≠ 0.3) is still exact
    assert st.paired_test([0.1, 0.1, 0.1], 0.005)["exact"]


def test_zero_variance_verdicts_follow_the_sign() -> None:
    t = st.test_family(
        pd.DataFrame(
            [
                {"claim": c, **st.paired_test(d, 0.005)}
                for c, d in [("up", [0.01] * 5), ("down", [-0.01] * 5), ("small", [0.002] * 5), ("zero", [0.0] * 5)]
            ]
        )
    )
    v = t.set_index("claim")
    assert v.loc["up", "verdict"] == "supported"
    assert v.loc["down", "verdict"] == "reversed"
    # inside ±δ: negligible, never "supported", though the difference is present in every seed
    assert v.loc["small", "verdict"] == "equivalent"
    assert v.loc["zero", "verdict"] == "equivalent"
    assert st.verdict_label(v.loc["small"], 0.005) == (
        "negligible: equivalent within ±0.5 pp (nonzero: +0.20 pp; within ±0.25 pp: yes, ±1 pp: yes) "
        "(exact: the same in all 5 seeds)"
    )
    assert st.verdict_label(v.loc["zero"], 0.005).startswith("negligible: equivalent within ±0.5 pp (within ±0.25")
    assert not v["borderline"].any()


def test_paired_test_drops_and_counts_non_finite() -> None:
    r = st.paired_test([0.012, np.nan, 0.004, np.inf, 0.009, -np.inf, -0.002, 0.015, 0.007], 0.005)
    ref = st.paired_test(_DIFF, 0.005)
    assert r["dropped"] == 3 and r["n"] == 6
    assert r["p"] == ref["p"] and r["p_equiv"] == ref["p_equiv"]


def test_paired_test_one_seed_has_no_test() -> None:
    r = st.paired_test([0.01, np.nan], 0.005)
    assert r["n"] == 1 and r["dropped"] == 1 and r["mean"] == 0.01
    assert np.isnan(r["p"]) and np.isnan(r["p_equiv"]) and not r["exact"]
    assert st.paired_test([], 0.005)["n"] == 0


@pytest.mark.parametrize("delta", [0.0, -0.01, float("nan"), float("inf")])
def test_paired_test_refuses_a_bad_margin(delta: float) -> None:
    with pytest.raises(InvalidArgumentError, match="delta.*equivalence margin|equivalence margin"):
        st.paired_test(_DIFF, delta)


# --- holm -------------------------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04;
    # the running maximum: 0.02, 0.03, 0.06, 0.06
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.02, 0.02]) == pytest.approx([0.04, 0.04])
    assert st.holm([0.2]) == pytest.approx([0.2])


def test_holm_caps_at_one_and_stays_monotone() -> None:
    assert st.holm([0.3, 0.6, 0.9]) == pytest.approx([0.9, 1.0, 1.0])
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.3, 12)
    adj = st.holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert np.all(adj >= p) and np.all(adj <= 1)
    assert np.all(adj <= np.minimum(1, p * len(p)) + 1e-15)  # never stricter than Bonferroni


def test_holm_leaves_nan_out_of_the_family() -> None:
    out = st.holm([0.01, np.nan, 0.04])
    assert np.isnan(out[1])
    assert out[[0, 2]] == pytest.approx([0.02, 0.04])  # m = 2, not 3
    assert np.isnan(st.holm([np.nan, np.nan])).all()
    assert st.holm([]).size == 0


def test_holm_caps_the_true_nulls() -> None:
    # 4 p-values, at most 2 true: multipliers min(2, 4), min(2, 3), min(2, 2), 1 = 2, 2, 2, 1
    # → 0.02, 0.04, 0.06, 0.04 → running maximum 0.02, 0.04, 0.06, 0.06
    assert st.holm([0.01, 0.02, 0.03, 0.04], max_true=2) == pytest.approx([0.02, 0.04, 0.06, 0.06])
    assert st.holm([0.01, 0.02, 0.03, 0.04]) == pytest.approx([0.04, 0.06, 0.06, 0.06])
    p = np.random.default_rng(4).uniform(0, 0.2, 8)
    assert st.holm(p, max_true=8) == pytest.approx(st.holm(p)) and st.holm(p, max_true=20) == pytest.approx(st.holm(p))
    assert np.all(st.holm(p, max_true=3) <= st.holm(p)) and np.all(st.holm(p, max_true=3) >= p)
    assert st.holm([0.03, 0.04], max_true=1) == pytest.approx([0.03, 0.04])  # one claim: no correction needed
    with pytest.raises(InvalidArgumentError, match="max_true"):
        st.holm([0.1], max_true=0)


def test_holm_matches_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(2).uniform(0, 0.2, 9)
    assert st.holm(p) == pytest.approx(multitest.multipletests(p, method="holm")[1])


# --- seeds_needed -----------------------------------------------------------------------------------------


def _simulated_power(effect: float, n: int, trials: int = 40_000) -> float:
    x = np.random.default_rng(3).normal(effect, 1.0, (trials, n))
    t = x.mean(axis=1) / (x.std(axis=1, ddof=1) / math.sqrt(n))
    return float((np.abs(t) > stats.t.ppf(0.975, n - 1)).mean())


def test_seeds_needed_known_values() -> None:
    # two-sided paired t-test, α = 0.05, power 0.8 (e.g. G*Power): d = 1 → 10, d = 0.5 → 34
    assert st.seeds_needed(1.0, 1.0) == 10
    assert st.seeds_needed(0.5, 1.0) == 34
    assert st.seeds_needed(0.01, 0.01) == 10  # only the ratio matters
    assert st.seeds_needed(-0.005, 0.01) == 34  # and not the sign


def test_seeds_needed_against_simulation() -> None:
    assert _simulated_power(1.0, 10) >= 0.79  # ≈ 0.803
    assert _simulated_power(1.0, 9) < 0.77  # ≈ 0.748: one seed fewer does not reach 80%


@pytest.mark.parametrize("effect", [0.3, 0.7, 1.5, 3.0])
def test_seeds_needed_is_the_smallest_sufficient_n(effect: float) -> None:
    def power(n: int) -> float:
        c = stats.t.ppf(0.975, n - 1)
        nc = effect * math.sqrt(n)
        return stats.nct.sf(c, n - 1, nc) + stats.nct.cdf(-c, n - 1, nc)

    n = int(st.seeds_needed(effect, 1.0))
    assert power(n) >= 0.8
    assert n == 2 or power(n - 1) < 0.8


def test_seeds_needed_undefined_and_infeasible() -> None:
    assert np.isnan(st.seeds_needed(0.0, 1.0))
    assert np.isnan(st.seeds_needed(0.01, 0.0))
    assert np.isnan(st.seeds_needed(np.nan, 1.0)) and np.isnan(st.seeds_needed(0.01, np.nan))
    assert st.seeds_needed(1e-3, 1.0) == np.inf  # needs millions
    assert st.seeds_needed(0.5, 1.0, max_seeds=20) == np.inf
    assert st.seeds_needed(0.5, 1.0, max_seeds=34) == 34


def test_seeds_needed_interval_from_the_chi_square_interval_of_the_spread() -> None:
    # 2 degrees of freedom: the chi-square quantile at q is -2 ln(1 - q), so the sd lies between
    # sqrt(2 / (-2 ln 0.025)) = 0.5207 and sqrt(2 / (-2 ln 0.975)) = 6.2847 times the estimate
    lo_sd, hi_sd = math.sqrt(2 / (-2 * math.log(0.025))), math.sqrt(2 / (-2 * math.log(0.975)))
    assert (lo_sd, hi_sd) == pytest.approx((0.5207, 6.2847), abs=1e-4)
    low, high = st.seeds_needed_interval(1.0, 1.0, 3)
    assert (low, high) == (st.seeds_needed(1.0, lo_sd), st.seeds_needed(1.0, hi_sd)) == (5.0, 312.0)
    assert low <= st.seeds_needed(1.0, 1.0) <= high
    # more seeds, a narrower interval around the same estimate
    assert st.seeds_needed_interval(1.0, 1.0, 10)[1] < st.seeds_needed_interval(1.0, 1.0, 5)[1] < high
    assert all(np.isnan(v) for v in st.seeds_needed_interval(1.0, 1.0, 1))
    assert all(np.isnan(v) for v in st.seeds_needed_interval(1.0, 0.0, 5))
    assert st.seeds_needed_interval(1e-3, 1.0, 5) == (np.inf, np.inf)
    # the rule for showing it: bounded, ends within a factor of 100
    assert st.seeds_shown(5.0, 312.0) and st.seeds_shown(2.0, 200.0) and not st.seeds_shown(2.0, 201.0)
    assert not st.seeds_shown(900.0, np.inf) and not st.seeds_shown(np.nan, np.nan)
    assert st.paired_test(_DIFF, 0.005)["seeds_low"] <= st.paired_test(_DIFF, 0.005)["seeds_needed"]


def _p2(t: float) -> float:
    """Two-sided p-value of Student's t with 2 degrees of freedom: 1 - t / sqrt(t² + 2)."""
    return 1 - abs(t) / math.sqrt(t * t + 2)


# --- decide, test_family, verdict_label -------------------------------------------------------------------


def test_decide_each_branch() -> None:
    assert st.decide(0.01, 0.01, 0.9) == "supported"
    assert st.decide(-0.01, 0.01, 0.9) == "reversed"
    assert st.decide(0.001, 0.4, 0.01) == "equivalent"
    assert st.decide(0.001, 0.4, 0.3) == "inconclusive"
    assert st.decide(0.001, np.nan, np.nan) == "inconclusive"
    assert st.decide(0.01, 0.05, 0.05) == "inconclusive"  # the level is strict
    # equivalence comes first: a shown difference inside ±δ is negligible, whatever its sign
    assert st.decide(0.001, 0.001, 0.01) == "equivalent"
    assert st.decide(-0.001, 0.001, 0.01) == "equivalent"
    # a shown difference whose CI lies inside ±δ, equivalence not surviving the correction: never supported
    assert st.decide(0.004, 0.001, 0.06, ci_inside=True) == "inconclusive"


def test_four_verdicts_on_synthetic_data() -> None:
    df = _frame(
        {
            "base": [0.900, 0.910, 0.890, 0.905, 0.895, 0.900],
            "better": [0.920, 0.932, 0.908, 0.927, 0.913, 0.921],  # +2 pp ± 0.2
            "worse": [0.880, 0.889, 0.872, 0.884, 0.874, 0.881],  # −2 pp
            "same": [0.9003, 0.9098, 0.8901, 0.9049, 0.8952, 0.9001],  # within ±0.05 pp
            "noisy": [0.930, 0.880, 0.915, 0.870, 0.925, 0.885],
        }
    )
    t = st.compare_pairs(
        df, [("better", "base"), ("worse", "base"), ("same", "base"), ("noisy", "base")], delta=0.005
    ).set_index("claim")
    assert t.loc["better > base", "verdict"] == "supported"
    assert t.loc["worse > base", "verdict"] == "reversed"
    assert t.loc["same > base", "verdict"] == "equivalent"
    assert t.loc["noisy > base", "verdict"] == "inconclusive"
    assert t.loc["noisy > base", "seeds_needed"] > 6
    assert list(t.columns[-7:]) == [
        "p_adj",
        "p_equiv_adj",
        "p_equiv_half_adj",
        "p_equiv_double_adj",
        "ci_inside",
        "verdict",
        "borderline",
    ]


def test_holm_applies_across_the_family() -> None:
    alone = st.test_family(pd.DataFrame([_row(0.01, 0.03)]))
    assert alone.loc[0, "verdict"] == "supported" and alone.loc[0, "p_adj"] == pytest.approx(0.03)
    fam = st.test_family(
        pd.DataFrame([_row(0.01, 0.03, claim="a"), _row(0.01, 0.5, claim="b"), _row(0.01, 0.6, claim="c")])
    )
    assert fam["p_adj"].tolist() == pytest.approx([0.09, 1.0, 1.0])
    assert fam.loc[0, "verdict"] == "inconclusive"  # passes alone, not after correction
    assert bool(fam.loc[0, "borderline"])  # 0.09 lies in [0.025, 0.1]
    # one family over both kinds of p-value: sorted 0.02, 0.03, 0.9, 0.9 → ×2, ×2, ×2, ×1 (at most 2 true
    # nulls, one per claim) = 0.04, 0.06, 1, 0.9 → running maximum 0.04, 0.06, 1, 1. Holm on the equivalence
    # p-values alone would give 0.04, 0.04; Holm over the 4 without the cap 0.08, 0.09.
    eq = st.test_family(pd.DataFrame([_row(0.0, 0.9, p_equiv=0.02), _row(0.0, 0.9, p_equiv=0.03)]))
    assert eq["p_equiv_adj"].tolist() == pytest.approx([0.04, 0.06])
    assert eq["p_adj"].tolist() == pytest.approx([1.0, 1.0])
    assert eq["verdict"].tolist() == ["equivalent", "inconclusive"]


def test_exact_rows_take_no_part_in_the_correction() -> None:
    fam = st.test_family(pd.DataFrame([_row(0.01, 0.01), _row(0.01, 0.02), _row(0.02, 0.0, p_equiv=1.0, exact=True)]))
    # 2 claims tested: ×2 on the p-values 0.01, 0.02 (with 3 claims ×3: 0.03, 0.06)
    assert fam["p_adj"].tolist() == pytest.approx([0.02, 0.04, 0.0])
    assert fam["verdict"].tolist() == ["supported", "supported", "supported"]
    assert not fam.loc[2, "borderline"]


@pytest.mark.parametrize("p, borderline", [(0.0249, False), (0.025, True), (0.049, True), (0.1, True), (0.1001, False)])
def test_borderline_band(p: float, borderline: bool) -> None:
    fam = st.test_family(pd.DataFrame([_row(0.01, p)]))
    assert bool(fam.loc[0, "borderline"]) is borderline


def test_borderline_equivalent_near_a_difference() -> None:
    # negligible is decided first: its difference test at 0.06 cannot undo it, only its equivalence test
    fam = st.test_family(pd.DataFrame([_row(0.002, 0.06, p_equiv=0.001)]))
    assert fam.loc[0, "verdict"] == "equivalent" and not fam.loc[0, "borderline"]
    fam = st.test_family(pd.DataFrame([_row(0.002, 0.9, p_equiv=0.04)]))
    assert fam.loc[0, "verdict"] == "equivalent" and bool(fam.loc[0, "borderline"])
    assert (
        st.verdict_label(fam.loc[0], 0.005)
        == "negligible: equivalent within ±0.5 pp, borderline (Holm-adjusted equivalence p = 0.040)"
    )
    # supported, its equivalence test at 0.06: another machine could make it negligible
    fam = st.test_family(pd.DataFrame([_row(0.002, 0.001, p_equiv=0.06)]))
    assert fam.loc[0, "verdict"] == "supported" and bool(fam.loc[0, "borderline"])
    assert st.verdict_label(fam.loc[0], 0.005) == "supported, borderline (Holm-adjusted equivalence p = 0.060)"
    fam = st.test_family(pd.DataFrame([_row(0.02, 0.001, p_equiv=0.9)]))
    assert fam.loc[0, "verdict"] == "supported" and not fam.loc[0, "borderline"]


def test_empty_family() -> None:
    cols = ["claim", "n", "mean", "p", "p_equiv", "exact"]
    fam = st.test_family(pd.DataFrame(columns=cols))
    assert len(fam) == 0 and {"p_adj", "verdict", "borderline"} <= set(fam.columns)


def _label(**row: object) -> str:
    base = {
        "verdict": "supported",
        "n": 5,
        "mean": 0.01,
        "gap": np.nan,
        "seeds_needed": np.nan,
        "exact": False,
        "borderline": False,
        "p_adj": 0.001,
        "p_equiv_adj": 0.9,
    }
    return st.verdict_label({**base, **row}, delta=0.005)


def test_verdict_label_every_branch() -> None:
    assert _label() == "supported"
    # a shown difference whose CI still reaches inside ±δ says so
    assert _label(ci_low=0.002, ci_high=0.018) == (
        "supported (its 95% CI reaches +0.20 pp, inside ±0.5 pp: it may be too small to matter)"
    )
    assert _label(verdict="reversed", mean=-0.01, ci_low=-0.02, ci_high=-0.004).startswith(
        "reversed (its 95% CI reaches -0.40"
    )
    assert _label(ci_low=0.006, ci_high=0.014) == "supported"  # the whole CI beyond δ
    # a CI inside ±δ that the corrected equivalence test does not confirm: the line says both
    assert _label(verdict="inconclusive", mean=0.001, p_adj=0.4, p_equiv_adj=0.08, ci_inside=True) == (
        "inconclusive (a +0.10 pp difference whose 95% CI lies inside ±0.5 pp, but equivalence does not pass the "
        "correction over the family (Holm-adjusted p = 0.080))"
    )
    assert _label(verdict="reversed", mean=-0.01) == "reversed"
    assert _label(verdict="equivalent", p_adj=0.9, p_equiv_adj=0.01) == "negligible: equivalent within ±0.5 pp"
    assert (
        _label(verdict="equivalent", p_adj=0.9, p_equiv_adj=0.01, p_equiv_half_adj=0.2, p_equiv_double_adj=0.001)
        == "negligible: equivalent within ±0.5 pp (within ±0.25 pp: not shown, ±1 pp: yes)"
    )
    # a difference shown too: its sign is named
    assert (
        _label(verdict="equivalent", mean=0.0014, p_adj=0.007, p_equiv_adj=0.001, p_equiv_double_adj=0.0)
        == "negligible: equivalent within ±0.5 pp (nonzero: +0.14 pp; within ±1 pp: yes)"
    )
    # seeds needed: shown with its interval, or not at all (no interval, or ends more than 100× apart)
    assert (
        _label(verdict="inconclusive", mean=0.003, seeds_needed=14.0, seeds_low=6.0, seeds_high=140.0)
        == "inconclusive (about 14 seeds (95% CI 6–140) would resolve a 0.30 pp gap)"
    )
    assert (
        _label(verdict="inconclusive", mean=0.003, gap=-0.012, seeds_needed=7.0, seeds_low=3.0, seeds_high=90.0)
        == "inconclusive (about 7 seeds (95% CI 3–90) would resolve a 1.20 pp gap)"
    )
    assert _label(verdict="inconclusive", mean=0.003, seeds_needed=14.0, seeds_low=5.0, seeds_high=2000.0) == (
        "inconclusive"
    )
    assert _label(verdict="inconclusive", mean=0.003, seeds_needed=14.0) == "inconclusive"  # no interval known
    assert _label(verdict="inconclusive", n=1) == "inconclusive (needs at least 2 seeds)"
    assert (
        _label(verdict="inconclusive", seeds_needed=np.inf, seeds_low=np.inf, seeds_high=np.inf)
        == "inconclusive (no feasible number of seeds resolves it: more than 10,000, even at the spread's lower "
        "95% bound)"
    )
    assert _label(verdict="inconclusive", seeds_needed=np.inf, seeds_low=900.0, seeds_high=np.inf) == "inconclusive"
    assert _label(verdict="inconclusive", mean=0.0) == "inconclusive"  # no gap to size
    assert _label(exact=True, n=4) == "supported (exact: the same in all 4 seeds)"
    assert _label(borderline=True, p_adj=0.041) == "supported, borderline (Holm-adjusted p = 0.041)"
    assert (
        _label(verdict="equivalent", borderline=True, p_adj=0.6, p_equiv_adj=0.03)
        == "negligible: equivalent within ±0.5 pp, borderline (Holm-adjusted equivalence p = 0.030)"
    )
    assert (
        _label(
            verdict="inconclusive",
            borderline=True,
            p_adj=0.5,
            p_equiv_adj=0.07,
            seeds_needed=30.0,
            seeds_low=12.0,
            seeds_high=400.0,
        )
        == "inconclusive (about 30 seeds (95% CI 12–400) would resolve a 1.00 pp gap), borderline "
        "(Holm-adjusted equivalence p = 0.070)"
    )
    assert (
        st.verdict_label({"verdict": "equivalent", "n": 5, "mean": 0.0}, delta=0.02, scale=1.0, unit="units")
        == "negligible: equivalent within ±0.02 units"
    )


def test_verdict_label_computes_the_seeds_interval_from_the_spread() -> None:
    # n = 5, sd = gap = 1 pp: seeds_needed 10; the sd's chi-square interval (4 df) gives 6 to 67 seeds
    row = {"verdict": "inconclusive", "n": 5, "mean": 0.0, "std": 0.01, "gap": 0.01, "seeds_needed": 10.0}
    assert st.seeds_needed_interval(0.01, 0.01, 5) == (6.0, 67.0)
    assert st.verdict_label(row, 0.005) == "inconclusive (about 10 seeds (95% CI 6–67) would resolve a 1.00 pp gap)"
    # n = 3: 5 to 312 seeds, within a factor of 100: shown
    assert "(95% CI 5–312)" in st.verdict_label({**row, "n": 3}, 0.005)
    # a gap of 0.3 sd from 3 seeds: 26 to 3,447, more than 100× apart: not shown; from 10 seeds: 44 to 293
    assert st.seeds_needed_interval(0.003, 0.01, 3) == (26.0, 3447.0)
    small = {**row, "gap": 0.003, "seeds_needed": 90.0}
    assert st.verdict_label({**small, "n": 3}, 0.005) == "inconclusive"
    assert st.verdict_label({**small, "n": 10}, 0.005) == (
        "inconclusive (about 90 seeds (95% CI 44–293) would resolve a 0.30 pp gap)"
    )


def test_the_paper_gap_is_absent_only_when_the_ci_excludes_it() -> None:
    # notebook 04, CIFAR-10 He > Xavier: +1.70 pp, CI [+0.18, +3.22], the paper's +2.41 inside it
    row = {
        "verdict": "inconclusive",
        "n": 3,
        "mean": 0.0170,
        "std": 0.00612,
        "ci_low": 0.0018,
        "ci_high": 0.0322,
        "gap": 0.0241,
        "seeds_needed": 3.0,
        "seeds_low": 2.0,
        "seeds_high": 5.0,
        "p": 0.03,
        "p_adj": 0.2,
        "p_equiv": 0.9,
        "p_equiv_adj": 1.0,
    }
    assert not st.gap_outside_ci(0.0241, 0.0018, 0.0322)
    label = st.verdict_label(row, 0.0025)
    assert "not there" not in label and "smaller" not in label
    assert label == (
        "inconclusive (p = 0.030 alone: the correction over the family leaves it open; "
        "about 3 seeds (95% CI 2–5) would resolve a 2.41 pp gap)"
    )
    # the CI below the claimed gap: now it may be said, and the seeds for it are no longer the point
    below = {**row, "mean": 0.002, "ci_low": -0.005, "ci_high": 0.009, "p": 0.4}
    assert st.verdict_label(below, 0.0025) == (
        "inconclusive (the claimed +2.41 pp lies above the 95% CI: a gap that large is not there)"
    )
    assert st.gap_outside_ci(0.0241, -0.005, 0.009)
    assert st.gap_outside_ci(-0.02, -0.01, 0.01) and not st.gap_outside_ci(-0.02, -0.03, 0.01)
    assert not st.gap_outside_ci(0.005, 0.01, 0.02)  # ours larger than claimed: nothing is absent
    assert not st.gap_outside_ci(np.nan, 0.0, 0.01) and not st.gap_outside_ci(0.01, np.nan, np.nan)
    assert not st.gap_outside_ci(0.0, 0.01, 0.02)


def test_a_difference_inside_the_margin_is_negligible_never_supported() -> None:
    # notebook 05's +0.14 pp [0.10, 0.19] against ±0.5 pp, as three seeds: 0.12, 0.14, 0.16 pp
    t = st.paired_test([0.0012, 0.0014, 0.0016], 0.005)
    se = 0.0002 / math.sqrt(3)
    assert t["p"] == pytest.approx(_p2(0.0014 / se), rel=1e-9)  # 0.0067: a difference is shown
    assert t["p_equiv"] == pytest.approx(_p2((0.005 - 0.0014) / se) / 2, rel=1e-9)
    row = st.test_family(pd.DataFrame([{"claim": "a > b", **t, "gap": np.nan}])).iloc[0]
    assert row["verdict"] == "equivalent" and row["ci_inside"]
    assert st.verdict_label(row, 0.005) == (
        "negligible: equivalent within ±0.5 pp (nonzero: +0.14 pp; within ±0.25 pp: yes, ±1 pp: yes)"
    )


def test_a_ci_inside_the_margin_with_equivalence_lost_to_the_correction_is_not_supported() -> None:
    # three claims, both kinds of p-value in one family (at most 3 true nulls): sorted 0.001, 0.001, 0.001,
    # 0.02 → ×3: the first claim's equivalence p becomes 0.06. Its 95% CI lies inside ±δ (p_equiv < 0.025).
    fam = st.test_family(
        pd.DataFrame(
            [
                _row(0.004, 0.001, p_equiv=0.02, claim="a"),
                _row(0.02, 0.001, p_equiv=0.9, claim="b"),
                _row(0.02, 0.001, p_equiv=0.9, claim="c"),
            ]
        )
    ).set_index("claim")
    assert fam["p_adj"].tolist() == pytest.approx([0.003, 0.003, 0.003])
    assert fam.loc["a", "p_equiv_adj"] == pytest.approx(0.06)
    assert fam["ci_inside"].tolist() == [True, False, False]
    assert fam["verdict"].tolist() == ["inconclusive", "supported", "supported"]
    assert st.verdict_label(fam.loc["a"], 0.005) == (
        "inconclusive (a +0.40 pp difference whose 95% CI lies inside ±0.5 pp, but equivalence does not pass "
        "the correction over the family (Holm-adjusted p = 0.060)), borderline (Holm-adjusted equivalence p = 0.060)"
    )


def test_equivalence_at_half_and_twice_the_margin() -> None:
    # differences 0, 0.1, 0.2 pp: mean 0.1 pp, se = 0.1 / sqrt(3) pp; one-sided p with 2 df is
    # (1 - t / sqrt(t² + 2)) / 2 at t = (margin - mean) / se: ±0.5 pp 0.0101, ±0.25 pp 0.0608, ±1 pp 0.0020
    t = st.paired_test([0.0, 0.001, 0.002], 0.005)
    se = 0.001 / math.sqrt(3)
    for key, margin in (("p_equiv", 0.005), ("p_equiv_half", 0.0025), ("p_equiv_double", 0.01)):
        assert t[key] == pytest.approx(_p2((margin - 0.001) / se) / 2, rel=1e-9), key
    assert (t["p_equiv"], t["p_equiv_half"], t["p_equiv_double"]) == pytest.approx((0.0101, 0.0608, 0.0020), abs=1e-4)
    row = st.test_family(pd.DataFrame([{"claim": "a > b", **t, "gap": np.nan}])).iloc[0]
    assert row["verdict"] == "equivalent"
    assert (
        st.verdict_label(row, 0.005) == "negligible: equivalent within ±0.5 pp (within ±0.25 pp: not shown, ±1 pp: yes)"
    )
    # in a family the δ/2 and 2δ readings are adjusted as the family would adjust the claim's own p-value
    other = {"claim": "c > d", **st.paired_test([0.01, 0.011, 0.012], 0.005), "gap": np.nan}
    fam = st.test_family(pd.DataFrame([{"claim": "a > b", **t, "gap": np.nan}, other])).set_index("claim")
    swapped = st.test_family(
        pd.DataFrame([{"claim": "a > b", **t, "p_equiv": t["p_equiv_double"], "gap": np.nan}, other])
    ).set_index("claim")
    assert fam.loc["a > b", "p_equiv_double_adj"] == pytest.approx(swapped.loc["a > b", "p_equiv_adj"])
    assert fam.loc["a > b", "p_equiv_double_adj"] == pytest.approx(2 * t["p_equiv_double"])


def test_the_verdict_words_are_documented() -> None:
    assert st.VERDICTS == ("supported", "reversed", "equivalent", "inconclusive")  # recorded: kept stable
    assert [st.VERDICT_WORDS[v] for v in st.VERDICTS] == ["supported", "reversed", "negligible", "inconclusive"]


# --- wilson_interval, failure_summary ---------------------------------------------------------------------


def test_wilson_interval_by_hand() -> None:
    assert st.wilson_interval(1, 3) == pytest.approx((0.0615, 0.7923), abs=1e-4)
    z2 = Z975**2
    # k = 0: (0, z²/(n + z²)); k = n: (n/(n + z²), 1)
    assert st.wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert st.wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    assert st.wilson_interval(10, 10)[1] <= 1.0 and st.wilson_interval(0, 10)[0] >= 0.0
    lo, hi = st.wilson_interval(5, 10)
    assert (lo + hi) / 2 == pytest.approx(0.5) and lo == pytest.approx(0.2366, abs=1e-4)


def test_wilson_interval_edges() -> None:
    assert all(np.isnan(v) for v in st.wilson_interval(0, 0))
    with pytest.raises(InvalidArgumentError, match="k"):
        st.wilson_interval(4, 3)
    with pytest.raises(InvalidArgumentError, match="k"):
        st.wilson_interval(-1, 3)


def test_failure_summary_on_a_bimodal_sample() -> None:
    values = [0.10, 0.45, 0.10, 0.46, np.nan, 0.47]  # two stuck at chance, one diverged, three trained
    f = st.failure_summary(values, threshold=0.3)
    assert (f["n"], f["failed"], f["trained_n"]) == (6, 3, 3)
    assert f["rate"] == 0.5
    assert (f["rate_low"], f["rate_high"]) == pytest.approx(st.wilson_interval(3, 6))
    assert f["trained_mean"] == pytest.approx(0.46)
    assert f["trained_half_width"] == pytest.approx(stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3))
    # the plain mean would be 0.316 with an interval reaching below chance; the summary never averages failures
    assert st.failure_summary([0.9, 0.95], 0.3)["failed"] == 0
    empty = st.failure_summary([], 0.3)
    assert empty["n"] == 0 and np.isnan(empty["rate"])


def test_failure_threshold_finds_failed_runs() -> None:
    # two stuck at chance, two trained: the widest gap (0.84) is 84× the spread inside either cluster
    assert st.failure_threshold([0.10, 0.95, 0.11, 0.96]) == pytest.approx(0.53)
    assert st.failure_threshold([0.1, 0.9]) == pytest.approx(0.5)
    assert np.isnan(st.failure_threshold([0.95, 0.96, 0.97]))  # one cluster
    assert np.isnan(st.failure_threshold([0.30, 0.45, 0.60, 0.75]))  # evenly spread: gap 0.15 < 3 × 0.30
    assert np.isnan(st.failure_threshold([0.90, 0.95]))  # a gap under 10 pp is no failure
    assert st.failure_threshold([0.9, np.nan, 0.92]) == -np.inf  # only the diverged run failed
    assert st.failure_threshold([0.1, 0.9, 0.91], fail_below=0.5) == 0.5
    assert st.failure_threshold([0.6, 0.61, 0.97, 0.97], fail_below=0.5) == pytest.approx(0.79)  # above it: bimodal
    assert st.failure_threshold([np.nan, np.inf]) == -np.inf
    f = st.failure_summary([0.10, 0.95, 0.11, 0.96], st.failure_threshold([0.10, 0.95, 0.11, 0.96]))
    assert (f["failed"], f["trained_n"]) == (2, 2) and f["trained_mean"] == pytest.approx(0.955)


def test_bounded_mean_ci_is_a_logit_t_interval() -> None:
    # logits 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027 → 2 ± 2.4841 → expit: 0.3813 to 0.9888
    z = np.array([1.0, 2.0, 3.0])
    values = 1 / (1 + np.exp(-z))
    b = st.bounded_mean_ci(values)
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(
        (1 / (1 + math.exp(-(2 - half))), 1 / (1 + math.exp(-(2 + half))))
    )
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((0.3813, 0.9888), abs=1e-4)
    assert b["mean"] == pytest.approx(values.mean()) and b["ci_low"] < b["mean"] < b["ci_high"]
    assert st.mean_ci(values)["ci_high"] > 1.0  # the t-interval runs past 100%
    # on another scale (percent) the same interval, scaled
    pct = st.bounded_mean_ci(100 * values, low=0.0, high=100.0)
    assert (pct["ci_low"], pct["ci_high"]) == pytest.approx((100 * b["ci_low"], 100 * b["ci_high"]))
    # values at the bound are clipped to eps, and the interval stays inside
    top = st.bounded_mean_ci([1.0, 1.0, 0.99])
    assert 0.0 < top["ci_low"] < top["ci_high"] < 1.0
    same = st.bounded_mean_ci([1.0, 1.0, 1.0])
    assert same["ci_low"] == same["ci_high"] == 1.0
    assert np.isnan(st.bounded_mean_ci([0.5])["ci_low"])
    with pytest.raises(InvalidArgumentError, match="values"):
        st.bounded_mean_ci([0.5, 1.2])
    with pytest.raises(InvalidArgumentError, match="high"):
        st.bounded_mean_ci([0.5, 0.6], low=1.0, high=0.0)


# --- paired_values, compare_pairs, ranking_verdict --------------------------------------------------------


def test_paired_values_pairs_by_seed() -> None:
    df = _frame({"a": [0.9, 0.8, 0.7, 0.6], "b": [0.5, 0.4, 0.3]})
    df = df[~((df["init"] == "a") & (df["seed"] == 1))]  # seed 1: only b ran; seed 3: only a ran
    w = st.paired_values(df.sample(frac=1, random_state=0), "a", "b")
    assert list(w.index) == [0, 2] and list(w.columns) == ["a", "b"]
    assert w.loc[2].tolist() == [0.7, 0.3]


def test_paired_values_takes_the_last_or_a_stated_epoch() -> None:
    df = _frame({"a": [0.9, 0.8], "b": [0.5, 0.4]})
    df2 = df.assign(epoch=2, test_accuracy=df.test_accuracy + 0.05)
    both = pd.concat([df, df2])
    assert st.paired_values(both, "a", "b")["a"].tolist() == pytest.approx([0.95, 0.85])
    assert st.paired_values(both, "a", "b", epoch=1)["a"].tolist() == pytest.approx([0.9, 0.8])


def test_paired_values_refuses_unknown_init_with_the_valid_ones() -> None:
    df = _frame({"he": [0.9], "glorot": [0.8]})
    with pytest.raises(InvalidArgumentError, match=r"\(glorot, he\).*lecun"):
        st.paired_values(df, "he", "lecun")
    with pytest.raises(InvalidArgumentError, match="val_acc"):
        st.paired_values(df, "he", "glorot", value="val_acc")


def test_paired_values_refuses_several_runs_per_seed() -> None:
    df = pd.concat(
        [
            _frame({"a": [0.9, 0.8], "b": [0.5, 0.4]}),
            _frame({"a": [0.7, 0.6], "b": [0.3, 0.2]}).assign(dataset="cifar10"),
        ]
    )
    with pytest.raises(InvalidArgumentError, match="one run per seed.*dataset"):
        st.paired_values(df, "a", "b")
    assert len(st.paired_values(df[df["dataset"] == "mnist"], "a", "b")) == 2


def test_compare_pairs_counts_a_diverged_seed() -> None:
    df = _frame({"a": [0.92, 0.93, np.nan, 0.91], "b": [0.90, 0.90, 0.90, 0.90], "c": [0.90] * 3})
    t = st.compare_pairs(df, [("a", "b"), ("a", "c")], delta=0.005, gaps=[0.02, None]).set_index("claim")
    assert t.loc["a > b", "n"] == 3 and t.loc["a > b", "dropped"] == 1  # the NaN seed, counted
    assert t.loc["a > c", "n"] == 2 and t.loc["a > c", "dropped"] == 1  # seed 3: c never ran, not counted
    assert t.loc["a > b", "gap"] == 0.02 and np.isnan(t.loc["a > c", "gap"])
    assert t.loc["a > b", "mean"] == pytest.approx(0.02)


def test_compare_pairs_refuses_gaps_that_do_not_match_the_claims() -> None:
    df = _frame({"a": [0.9, 0.8], "b": [0.5, 0.4], "c": [0.3, 0.2]})
    with pytest.raises(InvalidArgumentError, match="one gap.*2 claim"):
        st.compare_pairs(df, [("a", "b"), ("b", "c")], delta=0.01, gaps=[0.02])
    with pytest.raises(InvalidArgumentError, match="gaps"):
        st.ranking_verdict(df, ["a", "b", "c"], delta=0.01, gaps=[0.02, 0.01, 0.0])


def test_compare_pairs_on_another_key_and_value() -> None:
    df = pd.DataFrame(
        [
            {"seed": s, "activation": act, "auc": v}
            for act, vs in {"relu": [0.8, 0.82, 0.81], "tanh": [0.7, 0.7, 0.69]}.items()
            for s, v in enumerate(vs)
        ]
    )
    t = st.compare_pairs(df, [("relu", "tanh")], delta=0.01, value="auc", key="activation")
    assert t.loc[0, "claim"] == "relu > tanh" and t.loc[0, "n"] == 3
    assert t.loc[0, "mean"] == pytest.approx((0.1 + 0.12 + 0.12) / 3)


def test_paired_difference_removes_shared_seed_noise() -> None:
    base = np.array([0.90, 0.95, 0.85, 0.92, 0.88])
    gains = np.array([0.010, 0.012, 0.009, 0.011, 0.010])
    df = _frame({"a": list(base + gains), "b": list(base)})
    d = st.paired_difference(df, "a", "b")
    assert d["mean"] == pytest.approx(0.0104) and d["ci_low"] > 0
    # Unpaired, the same gap is swamped by the seed-to-seed spread:
    assert st.mean_ci(base + gains)["ci_low"] < st.mean_ci(base)["mean"]


def test_ranking_verdict_one_family_of_adjacent_steps() -> None:
    df = _frame({"a": [0.90, 0.91, 0.92, 0.905], "b": [0.80, 0.82, 0.81, 0.805], "c": [0.85, 0.79, 0.83, 0.80]})
    v = st.ranking_verdict(df, ["a", "b", "c"], delta=0.005).set_index("claim")
    assert list(v.index) == ["a > b", "b > c"]
    assert v.loc["a > b", "verdict"] == "supported"
    assert v.loc["b > c", "verdict"] == "inconclusive"
    assert (v["mean_diff"] == v["mean"]).all()
    tests = [st.paired_test(st.paired_values(df, x, y).eval("a - b"), 0.005) for x, y in [("a", "b"), ("b", "c")]]
    both = st.holm([t["p"] for t in tests] + [t["p_equiv"] for t in tests], max_true=2)  # one family of 4
    assert v["p_adj"].tolist() == pytest.approx(list(both[:2]))
    assert v["p_equiv_adj"].tolist() == pytest.approx(list(both[2:]))
    assert st.ranking_verdict(df, ["b", "a"], delta=0.005).iloc[0]["verdict"] == "reversed"
    assert set(st.VERDICTS) == {"supported", "reversed", "equivalent", "inconclusive"}


def test_float32_noise_in_a_constant_difference_reads_exact() -> None:
    # 30 of 10,000 test images in every seed, as float32 accuracies store it
    diff = np.float32(0.9730) - np.float32([0.9700, 0.9700, 0.9700]) + np.float32([0, 3e-8, -4e-8])
    t = st.paired_test(diff.astype(float), delta=0.005)
    assert t["exact"] and t["mean"] == pytest.approx(0.003, abs=1e-9)
    noise = st.paired_test([3e-8, 6e-8, -2e-8], delta=0.005)
    assert noise["exact"] and noise["mean"] == 0.0 and noise["p_equiv"] == 0.0


def test_two_identical_seeds_are_not_yet_exact() -> None:
    t = st.paired_test([0.004, 0.004], delta=0.005)
    assert not t["exact"] and np.isnan(t["p"]) and np.isnan(t["p_equiv"])
    row = st.test_family(pd.DataFrame([{"claim": "a > b", **t, "gap": np.nan}])).iloc[0]
    assert row["verdict"] == "inconclusive"
    assert st.verdict_label(row, 0.005) == "inconclusive (identical in 2 seeds: needs at least 3 to call it exact)"
    assert st.paired_test([0.004] * 3, delta=0.005)["exact"]
    pi = st.prediction_interval([0.5, 0.5])
    assert not pi["exact"] and np.isnan(pi["low"]) and pi["mean"] == 0.5
    judged = st.judge_published([0.1135, 0.1135], 11.35)
    assert judged["verdict"] == "too few seeds" and "2 identical seeds" in judged["reason"]
    assert st.judge_published([0.1135] * 3, 11.35)["verdict"] == "equal"


def test_an_inconclusive_claim_left_open_by_the_correction_says_so() -> None:
    row = {
        "verdict": "inconclusive",
        "n": 3,
        "seeds_needed": 3.0,
        "gap": float("nan"),
        "mean": 0.1099,
        "exact": False,
        "borderline": False,
        "p": 0.04,
        "p_adj": 0.2,
        "p_equiv": 0.9,
        "p_equiv_adj": 0.9,
    }
    assert (
        st.verdict_label(row, 0.02) == "inconclusive (p = 0.040 alone: the correction over the family leaves it open)"
    )
    # equivalence passing alone, lost to the correction, says so too
    eq = {**row, "p": 0.5, "p_adj": 1.0, "p_equiv": 0.01, "p_equiv_adj": 0.08}
    assert "equivalence p = 0.010 alone: the correction over the family leaves it open" in st.verdict_label(eq, 0.02)


def test_final_epochs_keeps_each_runs_last_epoch_by_its_keys() -> None:
    """Two optimizer settings at one rate are two runs; given keys replace the default ones."""
    df = pd.DataFrame(
        {
            "dataset": "mnist",
            "model": "m",
            "init": "he",
            "seed": [0, 0, 0, 0, 1, 1],
            "epoch": [1, 2, 1, 2, 1, 2],
            "learning_rate": 0.01,
            "optimizer_setting": ["sgd", "sgd", "momentum 0.9", "momentum 0.9", "sgd", "sgd"],
            "test_accuracy": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )
    last = st.final_epochs(df)
    assert sorted(last.test_accuracy) == [0.2, 0.4, 0.6] and (last.epoch == 2).all()
    by_init = st.final_epochs(df, ["init"])  # the setting is not a key here: one run per seed
    assert list(by_init.seed) == [0, 1] and list(by_init.columns) == list(df.columns)


def test_a_claim_with_failed_runs_is_decided_on_failure_rates() -> None:
    seeds = range(5)
    trained = pd.Series([0.95, 0.96, 0.97, 0.95, 0.96], index=seeds)
    assert st.paired_or_failures(trained, trained - 0.01, 0.005)["test"] == "t"  # every run trained
    failing = pd.Series([0.11] * 5, index=seeds)
    r = st.paired_or_failures(trained, failing, 0.005, failed_b=failing < 0.2)
    # 0 of 5 against 5 of 5 failed: Fisher's exact two-sided p = 2 / C(10, 5) = 2 / 252
    assert r["test"] == "failures" and (r["n"], r["a_failed"], r["b_failed"]) == (5, 0, 5)
    assert r["p"] == pytest.approx(2 / 252) and r["mean"] == pytest.approx(1.0) and np.isnan(r["ci_low"])
    mixed = pd.Series([0.95, np.nan, 0.96, 0.12, 0.97], index=seeds)  # a diverged run fails too
    r = st.paired_or_failures(mixed, trained, 0.005, failed_a=mixed < 0.2)
    assert (r["a_failed"], r["b_failed"]) == (2, 0) and r["mean"] == pytest.approx(-0.4)
    row = st.test_family(pd.DataFrame([{"claim": "a > b", **r, "gap": np.nan}])).iloc[0]
    assert row["verdict"] == "inconclusive" and np.isnan(row["p_equiv_adj"])
    line = report.family_lines(pd.DataFrame([row]), 0.005)[0]
    assert line.startswith("- a > b: failed in 2 vs 0 of 5 runs (Fisher's exact test on the failure rates")


def test_a_half_margin_the_ci_lies_inside_says_only_the_correction_blocks_it() -> None:
    row = {
        "verdict": "equivalent",
        "n": 5,
        "mean": 0.0005,
        "exact": False,
        "borderline": False,
        "p_adj": 0.9,
        "p_equiv_adj": 0.001,
        "p_equiv_half_adj": 0.2,
        "p_equiv_double_adj": 0.0001,
        "ci_low": -0.001,
        "ci_high": 0.002,  # inside ±0.25 pp, yet the corrected test at that margin does not pass
    }
    assert st.verdict_label(row, 0.005) == (
        "negligible: equivalent within ±0.5 pp (within ±0.25 pp: not shown after Holm (CI inside), ±1 pp: yes)"
    )
    assert "±0.25 pp: not shown," in st.verdict_label({**row, "ci_high": 0.004}, 0.005)


def test_a_sign_test_whose_seeds_all_tied_says_so() -> None:
    row = {"verdict": "inconclusive", "n": 0, "ties": 10, "test": "sign", "mean": np.nan, "exact": False}
    assert st.verdict_label(row, 0.005) == "inconclusive (every one of 10 seeds tied: nothing to rank)"
