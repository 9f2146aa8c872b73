"""The findings of the catalogue notebook (``003``): every branch on small frames with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from initlab.errors import InvalidArgumentError
from initlab.findings import catalogue as cat
from initlab.findings import speed


def _runs(
    final: dict[str, list[float]],
    losses: dict[str, list[list[float]]] | None = None,
    status: dict[str, list[str]] | None = None,
    epochs: int = 2,
) -> pd.DataFrame:
    """A tidy frame: ``final[init][seed]`` is the test (and every epoch's validation) accuracy."""
    rows = []
    for init, values in final.items():
        for seed, v in enumerate(values):
            for epoch in range(1, epochs + 1):
                loss = losses[init][seed][epoch - 1] if losses and init in losses else 1.0 / epoch
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": "mlp_128_64",
                        "init": init,
                        "seed": seed,
                        "epoch": epoch,
                        "loss": loss,
                        "accuracy": v,
                        "val_accuracy": v,
                        "test_accuracy": v,
                        "test_loss": 1 - v,
                        "status": (status or {}).get(init, ["ok"] * len(values))[seed],
                    }
                )
    return pd.DataFrame(rows)


def test_catalogue_table_counts_failures_and_averages_the_runs_that_trained() -> None:
    df = _runs({"bad": [0.1, 0.1], "good": [0.97, 0.98], "bimodal": [0.9, 0.2]})
    t = cat.catalogue_table(df, fail_below=0.5)
    assert list(t.index) == ["good", "bimodal", "bad"]  # best mean of the runs that trained first
    assert t.loc["bimodal", "failed"] == "1 of 2 (50%, 95% CI 9%–91%)"
    assert t.loc["bimodal", "test_accuracy"] == "90.00 (n = 1)"  # one run trained: no interval
    assert t.loc["bad", "test_accuracy"] == "no run trained"
    assert t.loc["good", "failed"].startswith("0 of 2 (0%")
    assert cat.trained_inits(df, 0.5) == ["good"]


def test_failures_count_diverged_runs() -> None:
    df = _runs({"a": [0.9, math.nan, 0.3]})
    assert cat.failures(df, 0.5)["failed"].tolist() == [0.0, 1.0, 1.0]


def test_reference_family_compares_every_other_initializer_with_the_reference() -> None:
    df = _runs({"x": [0.90, 0.91, 0.92], "ref": [0.95, 0.97, 0.96], "y": [0.951, 0.969, 0.962]})
    t = cat.reference_family(df, "ref", delta=0.005)
    assert t["claim"].tolist() == ["ref > x", "ref > y"]
    assert t["mean"].tolist() == pytest.approx([0.05, -0.002 / 3])  # ref - y: -0.001, +0.001, -0.002
    assert len(t) == 2 and set(t["verdict"]) <= {"supported", "reversed", "equivalent", "inconclusive"}


def test_group_runs_average_the_members_per_seed() -> None:
    df = _runs({"g1": [0.9, 0.8], "g2": [0.7, math.nan], "o": [0.5, 0.5]})
    runs = cat.group_runs(df, ["g1", "g2"], label="G")
    g = runs[runs["init"] == "G"].set_index("seed")["test_accuracy"]
    assert g.loc[0] == pytest.approx(0.8) and math.isnan(g.loc[1])  # a member's missing value spoils the seed
    t = cat.group_family(df, ["g1", "g2"], ["o"], delta=0.005, label="G")
    # seed 0: 0.8 > 0.5; seed 1: the group's run counts as diverged, below 0.5: a sign test, one win, one loss
    assert t["claim"].tolist() == ["G > o"] and t["test"].iloc[0] == "sign"
    assert (t["wins"].iloc[0], t["losses"].iloc[0]) == (1, 1)


def test_group_family_difference_and_extra_claims() -> None:
    df = _runs({"g1": [0.90, 0.92, 0.91], "g2": [0.94, 0.96, 0.97], "o": [0.80, 0.81, 0.82], "p": [0.5, 0.4, 0.6]})
    t = cat.group_family(df, ["g1", "g2"], ["o"], delta=0.005, extra=[("o", "p")])
    assert t["mean"].iloc[0] == pytest.approx(np.mean([0.92 - 0.80, 0.94 - 0.81, 0.94 - 0.82]))
    assert t["claim"].tolist() == [f"{cat.GROUP} > o", "o > p"]
    assert t["mean"].iloc[1] == pytest.approx(np.mean([0.30, 0.41, 0.22]))


def test_draw_repeatability() -> None:
    d = cat.draw_repeatability(["zeros", "he_normal", "identity"], (6, 4))
    assert d["same seed repeats"].all()
    assert d["random"].tolist() == [False, True, False]


def test_spread_table_std_interval_and_degenerate_cases() -> None:
    df = _runs({"a": [0.90, 0.92, 0.94], "c": [0.5, 0.5, 0.5], "one": [0.7, math.nan, math.nan]})
    t = cat.spread_table(df)
    assert t.loc["a", "std over seeds (pp)"] == pytest.approx(2.0)
    lo, hi = 2.0 * math.sqrt(2 / st.chi2.ppf(0.975, 2)), 2.0 * math.sqrt(2 / st.chi2.ppf(0.025, 2))
    assert t.loc["a", "95% CI of the std (pp)"] == f"{lo:.3f} – {hi:.3f}"
    assert t.loc["a", "lowest – highest (%)"] == "90.00 – 94.00"
    assert t.loc["c", "95% CI of the std (pp)"] == "0 (every seed identical)"
    assert t.loc["one", "seeds"] == 1 and t.loc["one", "95% CI of the std (pp)"] == "n/a"


def test_pitman_morgan_matches_the_correlation_of_sum_and_difference() -> None:
    x, y = np.array([1.0, 2.0, 3.0, 4.0, 6.0]), np.array([1.0, 1.5, 1.0, 1.5, 1.2])
    r = np.corrcoef(x + y, x - y)[0, 1]
    t = r * math.sqrt(3 / (1 - r * r))
    res = cat.pitman_morgan(x, y)
    assert res["r"] == pytest.approx(r) and res["p"] == pytest.approx(2 * st.t.sf(abs(t), 3))
    assert res["ratio"] == pytest.approx(x.std(ddof=1) / y.std(ddof=1)) and res["n"] == 5
    assert math.isnan(cat.pitman_morgan([1.0, 2.0], [3.0, 1.0])["p"])  # fewer than 3 pairs
    const = cat.pitman_morgan([1.0, 2.0, 4.0], [0.5, 0.5, 0.5])  # y constant: x varies more, exactly
    assert const["p"] == 0.0 and const["r"] == 1.0 and const["ratio"] == math.inf
    assert cat.pitman_morgan([0.5, 0.5, 0.5], [1.0, 2.0, 4.0])["r"] == -1.0
    both = cat.pitman_morgan([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])
    assert math.isnan(both["p"]) and math.isnan(both["ratio"])
    assert cat.pitman_morgan([1.0, math.nan, 2.0, 5.0], [1.0, 1.0, 1.5, 1.2])["n"] == 3


def test_spread_family_verdicts() -> None:
    k = np.arange(12)
    wide_sd = 0.9 + 0.01 * np.where(k % 2 == 0, 1, -1) * (1 + k)  # large spread
    narrow = 0.9 + 0.0001 * np.where(k % 3 == 0, 1, -1)  # small spread
    mid = 0.9 + 0.002 * np.where(k % 2 == 0, -1, 1) * (1 + (k % 3))
    df = _runs({"w": list(wide_sd), "n": list(narrow), "m": list(mid), "m2": list(mid[::-1])})
    t = cat.spread_family(df, ["w", "n", "m"], ["m2"]).set_index("claim")
    assert t.loc["w varies more than m2", "verdict"] == "supported"
    assert t.loc["n varies more than m2", "verdict"] == "reversed"
    assert t.loc["m varies more than m2", "verdict"] == "inconclusive"  # the same values, reordered: ratio 1
    assert t["p_adj"].tolist() == pytest.approx(list(cat.holm(t["p"])))
    assert t["p_equiv_adj"].isna().all() and not t["exact"].any()
    lines = cat.spread_lines(t.reset_index())
    assert lines[0].startswith("- w varies more than m2: std") and lines[0].endswith("→ **supported**")


def test_spread_lines_few_seeds_and_borderline() -> None:
    row = {
        "claim": "a varies more than b",
        "n": 2,
        "sd_a": 0.02,
        "sd_b": 0.01,
        "ratio": 2.0,
        "p_adj": np.nan,
        "verdict": "inconclusive",
        "borderline": False,
    }
    assert (
        cat.spread_lines(pd.DataFrame([row]))[0]
        == "- a varies more than b: std 2.000 against 1.000 pp (ratio 2.00) → **inconclusive (needs at least 3 seeds)**"
    )
    row.update(n=10, p_adj=0.04, verdict="supported", borderline=True)
    assert cat.spread_lines(pd.DataFrame([row]))[0].endswith(
        "Holm p = 0.04 → **supported, borderline (Holm-adjusted p = 0.040)**"
    )


def test_spread_text_states_both_readings_and_the_method() -> None:
    df = _runs({"random_normal": [0.90, 0.92, 0.95], "he_normal": [0.91, 0.92, 0.93]})
    draws = cat.draw_repeatability(["zeros", "he_normal"], (4, 3))
    text = cat.spread_text(cat.spread_family(df, ["random_normal"], ["he_normal"]), draws)
    assert text.startswith("With a fixed seed, 2 of 2 initializers draw exactly the same kernel twice (1 of them")
    assert "1 Pitman–Morgan tests of equal variance for paired samples" in text and "over 3 seeds" in text
    assert "no initializer is unrepeatable" in text
    flaky = draws.assign(**{"same seed repeats": [True, False]})
    assert "he_normal did not repeat its draw." in cat.spread_text(
        cat.spread_family(df, ["random_normal"], ["he_normal"]), flaky
    )


def _grads() -> pd.DataFrame:
    rows = []
    profiles = {
        "he_normal": (1.0, 0.5, 0.25),
        "big": (100.0, 50.0, 25.0),
        "vanish": (0.001, 0.5, 0.25),
        "explode": (100.0, 0.5, 0.25),
        "zeros": (0.0, 0.0, 0.0),
        "hidden_zero": (0.0, 0.0, 0.1),
        "roundoff": (2e-4, 5e-4, 6000.0),
        "tiny_but_real": (2e-2, 5e-4, 6000.0),
        "overflow": (float("inf"), 5e3, 6000.0),  # a gradient that overflowed: explodes, never "zero"
    }
    for init, norms in profiles.items():
        for seed, f in ((0, 1.0), (1, 1.2 if init == "he_normal" else 1.0)):
            for layer, g in zip(("hidden_1", "hidden_2", "output"), norms):
                rows.append(
                    {
                        "init": init,
                        "seed": seed,
                        "layer": layer,
                        "kernel_grad_norm": g * (f if layer == "hidden_1" else 1.0),
                    }
                )
    return pd.DataFrame(rows)


def test_gradient_summary_reads_scale_and_profile_against_the_reference() -> None:
    s = cat.gradient_summary(_grads(), reference="he_normal")
    assert s.loc["he_normal", "hidden_1"] == 1.1  # median of 1.0 and 1.2
    assert s.loc["he_normal", "seed_spread"] == pytest.approx(0.2 / 1.1)
    assert s.loc["big", "scale"] == pytest.approx(np.exp(np.mean(np.log([100 / 1.1, 100, 100]))))
    assert s.loc["big", "profile"] == pytest.approx((100 / 25) / (1.1 / 0.25))
    # ones' hidden gradients: float32 round-off of an exact 0, below 1e-6 of its 6000 output norm
    assert s["verdict"].to_dict() == {
        "he_normal": "neither",
        "big": "neither",
        "vanish": "vanishes",
        "explode": "explodes",
        "zeros": "zero",
        "hidden_zero": "zero",
        "roundoff": "zero",
        "tiny_but_real": "vanishes",
        "overflow": "explodes",
    }
    assert math.isnan(s.loc["zeros", "scale"]) and math.isnan(s.loc["zeros", "profile"])


def test_blowup_table_counts_rising_losses_and_divergence() -> None:
    losses = {"a": [[1.0, 0.5, 1.2], [1.0, 0.5, 0.4], [1.0, math.nan, math.nan]], "b": [[1.0, 0.9, 1.05]] * 3}
    df = _runs({"a": [0.9] * 3, "b": [0.9] * 3}, losses=losses, status={"a": ["ok", "ok", "diverged"]}, epochs=3)
    t = cat.blowup_table(df)
    assert t.loc["a", "loss blow-ups"] == 2 and t.loc["a", "diverged"] == 1  # 1.2 > 1.1; NaN
    assert t.loc["a", "either, rate (95% CI)"] == "67% (21%–94%)"
    assert t.loc["b", "loss blow-ups"] == 0 and t.loc["b", "either, rate (95% CI)"] == "0% (0%–56%)"  # 1.05 ≤ 1.1
    assert list(t.index) == ["a", "b"]


def test_gradient_text_answers_the_warning() -> None:
    g = _grads().replace({"init": {"big": "random_normal", "vanish": "random_uniform"}})
    s = cat.gradient_summary(g)
    df = _runs({"random_normal": [0.9] * 3}, losses={"random_normal": [[1.0, 2.0]] * 3})
    text = cat.gradient_text(summary=s, blowups=cat.blowup_table(df), seeds=2)
    assert (
        "- random_normal: 97× he_normal's overall; first-to-last layer ratio 0.91× he_normal's → "
        "**neither vanishes nor explodes** (its hidden_2 gradient is 1e+02× he_normal's)." in text
    )
    assert "random_uniform:" in text and "→ **vanishes**" in text
    assert "Of the 2 initializers the page warns about, 1 do so here." in text
    assert (
        "explode:" in text
        and (
            "zeros: every hidden kernel's gradient is zero (exactly, or float32 round-off "
            "below 1e-06 of the largest layer's) → **zero**"
        )
        in text
    )
    assert "0 of 3 runs diverged and 3 had a training loss" in text
    assert "(random_normal: 0 diverged, 3 blow-up(s))" in text
    assert "at most 18%" in text  # he_normal's two seeds: 0.2 / 1.1


def test_catalogue_text_names_test_correction_and_seeds() -> None:
    inits = ["zeros", "ones", "orthogonal", "random_normal", "random_uniform", *cat.VARIANCE_SCALING]
    rng = np.random.default_rng(0)
    final = {
        i: [0.1135] * 5 if i == "zeros" else [math.nan] * 5 if i == "ones" else list(0.975 + rng.normal(0, 0.002, 5))
        for i in inits
    }
    df = _runs(final, status={"ones": ["diverged"] * 5}, epochs=3)
    table = cat.catalogue_table(df, 0.5)
    ref = cat.reference_family(df, "he_normal", 0.005)
    simpler = ["zeros", "orthogonal", "random_normal", "random_uniform"]
    group = cat.group_family(df, cat.VARIANCE_SCALING, simpler, delta=0.005, extra=[("orthogonal", "zeros")])
    draws = cat.draw_repeatability(inits, (4, 3))
    spread = cat.spread_family(df, cat.WARNED, cat.VARIANCE_SCALING)
    speed_claims = speed.speed_family(df, [("orthogonal", "random_normal")], 0.99, delta=0.005, delta_epochs=0.5)
    grads = cat.gradient_summary(_grads().replace({"init": {"big": "random_normal", "vanish": "random_uniform"}}))
    text = cat.catalogue_text(
        table=table,
        reference=ref,
        group=group,
        draws=draws,
        spread=spread,
        speed=speed_claims,
        grads=grads,
        blowups=cat.blowup_table(df),
        delta=0.005,
        fail_below=0.5,
        target=0.99,
        ref_name="he_normal",
    )
    lines = text.splitlines()
    assert [l.split("**")[1] for l in lines] == [
        "Failures",
        "Against he_normal",
        "The page's conclusion",
        "Repeatability",
        "Vanishing or exploding gradients",
        "Orthogonal accelerates convergence",
    ]
    assert "zeros failed in 5 of 5 (100%, 95% CI 57%–100%), runs that trained: none" in lines[0]
    assert "ones failed in 5 of 5 (100%, 95% CI 57%–100%), 5 of them diverged, runs that trained: none" in lines[0]
    assert (
        "over 5 seeds, sign tests where a run failed (diverged, or below the failure threshold), Holm over 10 "
        "comparisons" in lines[1]
    )
    assert "Holm over 5)" in lines[2] and "vs zeros **supported**" in lines[2]
    assert "; orthogonal > zeros **supported**." in lines[2]
    assert "for 11 of 11 initializers" in lines[3] and "12 Pitman–Morgan tests over 5 seeds" in lines[3]
    assert "random_normal **neither vanishes nor explodes**, random_uniform **vanishes**" in lines[4]
    assert "Holm over the 2 tested claims" in lines[5]
    assert "1 claim(s) on epochs to the target not tested" in lines[5]


def test_gradients_at_init_on_real_data() -> None:
    g = cat.gradients_at_init("mnist", "mlp_128_64", ["zeros", "he_normal"], seeds=[0], train_limit=256, n_samples=64)
    assert list(g["layer"].unique()) == ["hidden_1", "hidden_2", "output"]
    z = g[g["init"] == "zeros"].set_index("layer")["kernel_grad_norm"]
    assert z["hidden_1"] == 0.0 and z["hidden_2"] == 0.0  # zero weights pass no gradient to hidden kernels
    assert (g.loc[g["init"] == "he_normal", "kernel_grad_norm"] > 0).all()


def test_sign_test_ranks_a_diverged_run_last() -> None:
    s = cat.sign_test([0.9, 0.8, math.nan, math.nan, 0.5], [math.nan, 0.7, math.nan, 0.6, 0.5])
    # seed 0: a trained, b diverged → a ahead; seed 1: 0.8 > 0.7; seed 2: both diverged (tie);
    # seed 3: a diverged → behind; seed 4: equal (tie)
    assert (s["wins"], s["losses"], s["ties"], s["n"]) == (2, 1, 2, 3)
    assert s["mean"] == pytest.approx(1 / 3) and s["p"] == pytest.approx(1.0)  # binomial(2 of 3) two-sided
    ten = cat.sign_test([0.9] * 10, [math.nan] * 10)
    assert ten["p"] == pytest.approx(2 * 0.5**10)
    assert math.isnan(cat.sign_test([math.nan], [math.nan])["p"])


def test_compare_with_failures_uses_a_sign_test_where_a_run_diverged() -> None:
    df = _runs(
        {
            "ref": [0.95 + 0.001 * k for k in range(10)],
            "gone": [math.nan] * 10,
            "close": [0.95 + 0.001 * k + 0.0002 * (-1) ** k for k in range(10)],
        }
    )
    t = cat.compare_with_failures(df, [("ref", "gone"), ("ref", "close"), ("gone", "ref")], 0.005).set_index("claim")
    assert t.loc["ref > gone", "test"] == "sign" and t.loc["ref > close", "test"] == "t"
    assert t.loc["ref > gone", "p"] == pytest.approx(2 * 0.5**10)
    p = t["p"].to_numpy()  # Holm over the three together
    assert t.loc["ref > gone", "p_adj"] == pytest.approx(min(1.0, 3 * p.min()) if p[0] == p.min() else p[0])
    assert t.loc["ref > gone", "verdict"] == "supported" and t.loc["gone > ref", "verdict"] == "reversed"
    assert t.loc["ref > close", "verdict"] == "equivalent"  # differences of ±0.02 pp
    assert math.isnan(t.loc["ref > gone", "p_equiv_adj"])
    lines = cat.comparison_lines(t.reset_index(), 0.005)
    assert lines[0].startswith(
        "- ref > gone: ref ahead in 10 seed(s), behind in 0 (sign test: a failed run counts last), Holm p = "
    )
    assert lines[0].endswith("→ **supported**")
    assert lines[1].startswith("- ref > close: -0.00 pp") or lines[1].startswith("- ref > close: +0.00 pp")
    text = cat.family_text(t.reset_index(), "a test family", 0.005)
    assert "The family is a test family: 3 test(s)" in text
    assert (
        "2 claim(s) involve a run that failed (diverged, or below the failure threshold): each is an exact "
        "two-sided sign test" in text
    )
    plain = cat.family_text(t.reset_index().iloc[[1]], "one claim", 0.005)
    assert "diverged" not in plain and "The family is one claim: 1 test(s)" in plain


def test_sign_lines_mention_ties() -> None:
    df = _runs({"a": [0.9, math.nan, 0.7], "b": [math.nan, math.nan, 0.6]})
    t = cat.compare_with_failures(df, [("a", "b")], 0.005)
    assert cat.comparison_lines(t, 0.005)[0].startswith(
        "- a > b: a ahead in 2 seed(s), behind in 0, 1 tied (1 with both runs failed) (sign test"
    )


def test_gradient_summary_names_the_largest_layer() -> None:
    s = cat.gradient_summary(_grads())
    assert s.loc["big", "largest"] == pytest.approx(100.0) and s.loc["big", "largest_layer"] == "hidden_2"
    assert s.loc["explode", "largest_layer"] == "hidden_1"
    text = cat.gradient_text(
        summary=s.rename(index={"big": "random_normal"}), blowups=cat.blowup_table(_runs({"x": [0.9]}))
    )
    assert "(its hidden_2 gradient is 1e+02× he_normal's)" in text


def test_two_failed_runs_tie_whatever_their_numbers() -> None:
    """Failure is a rate, not a level: a diverged run and one stuck at chance both failed, and neither ranks."""
    s = cat.sign_test([math.nan] * 4 + [0.9], [0.10, 0.11, 0.10, 0.98, 0.11], fail_below=0.5)
    # seeds 0-2: both failed (tie); seed 3: a failed, b trained → behind; seed 4: a trained, b failed → ahead
    assert (s["wins"], s["losses"], s["ties"], s["both_failed"]) == (1, 1, 3, 3)
    assert cat.sign_test([0.10], [0.11], fail_below=0.5)["both_failed"] == 1
    assert cat.sign_test([0.10], [0.11])["wins"] == 0 and cat.sign_test([0.10], [0.11])["losses"] == 1  # no threshold


def test_a_pair_that_failed_in_every_seed_is_not_ranked() -> None:
    df = _runs({"ones": [math.nan] * 10, "zeros": [0.1135] * 10, "ref": [0.97 + 0.001 * k for k in range(10)]})
    t = cat.compare_with_failures(df, [("ones", "zeros"), ("ref", "zeros")], 0.005, fail_below=0.5)
    t = t.set_index("claim")
    assert t.loc["ones > zeros", "test"] == "sign" and t.loc["ones > zeros", "verdict"] == "inconclusive"
    assert t.loc["ref > zeros", "test"] == "sign" and t.loc["ref > zeros", "verdict"] == "supported"  # 10 of 10
    line = cat.comparison_lines(t.reset_index(), 0.005)[0]
    assert "10 tied (10 with both runs failed)" in line and "failure is compared as a rate" in line
    # without the threshold, the run at chance outranks the diverged one, as before
    old = cat.compare_with_failures(df, [("ones", "zeros")], 0.005).set_index("claim")
    assert old.loc["ones > zeros", "verdict"] == "reversed"


def _layer_norms(norms: dict[str, list[float]]) -> pd.DataFrame:
    layers = ["hidden_1", "hidden_2", "output"]
    return pd.DataFrame(
        [
            {"init": i, "seed": s, "layer": layer, "kernel_grad_norm": v}
            for i, vs in norms.items()
            for s in (0, 1)
            for layer, v in zip(layers, vs)
        ]
    )


def test_a_gradient_that_shrinks_in_every_layer_vanishes_by_scale_not_by_profile() -> None:
    grads = _layer_norms({"he_normal": [1.0, 1.0, 1.0], "random_normal": [1e-9, 1e-9, 1e-9], "steep": [1e-3, 0.1, 1.0]})
    by_profile = cat.gradient_summary(grads, "he_normal")
    by_scale = cat.gradient_summary(grads, "he_normal", rule="scale")
    assert by_profile.loc["random_normal", "verdict"] == "neither"  # the ratio first/last is He's
    assert by_scale.loc["random_normal", "verdict"] == "vanishes"  # 1e-9 of He's gradient
    assert by_profile.loc["steep", "verdict"] == "vanishes" and by_scale.loc["steep", "verdict"] == "vanishes"
    reading = cat.gradient_reading(by_profile, by_scale, inits=["random_normal", "steep"])
    assert reading["verdict"] == "holds" and reading["random_normal/gradient"] == "neither"
    assert reading["random_normal/gradient_deep"] == "vanishes"
    assert cat.gradient_reading(by_profile, by_profile, inits=["random_normal"])["verdict"] == "fails"
    assert cat.gradient_reading(by_profile, inits=["random_normal"])["verdict"] == "descriptive"
    text = cat.deep_gradient_text(by_scale, depth=20, width=64, reference="he_normal", inits=["random_normal"])
    assert "random_normal: the whole gradient 1e-09× he_normal's" in text and "**holds**" in text
    with pytest.raises(InvalidArgumentError, match="rule"):
        cat.gradient_summary(grads, "he_normal", rule="slope")


def test_inked_counts_read_the_first_pixels_in_row_major_order() -> None:
    images = np.zeros((3, 4, 4), dtype=np.uint8)
    images[0, 0, 1] = 9  # pixel 1
    images[1, 1, 0] = 9  # pixel 4
    assert cat.inked_counts(images, (1, 2, 5, 16)) == {1: 0, 2: 1, 5: 2, 16: 2}


def test_inked_text_on_real_data() -> None:
    text = cat.inked_text("mnist", pixels=(10, 64), validation_split=0.2, train_limit=1000)
    assert text.startswith("Training images that ink any of the first pixels") and "of 800 images" in text
    assert "pixels 0–9: 0 of 800" in text  # MNIST's top row is never inked
