"""The generic verdict writers on synthetic frames with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

import initlab.stats as st
from initlab import report


def _runs(
    values: dict[str, list[float]],
    losses: dict[str, list[float]] | None = None,
    diverged: set[tuple[str, int]] = frozenset(),
    epochs: int = 1,
) -> pd.DataFrame:
    rows = []
    for init, vs in values.items():
        for seed, v in enumerate(vs):
            for epoch in range(1, epochs + 1):
                last = epoch == epochs
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": "mlp",
                        "init": init,
                        "seed": seed,
                        "epoch": epoch,
                        "test_accuracy": v if last else 0.5,
                        "test_loss": (losses or {}).get(init, [1.0] * len(vs))[seed] if last else 9.0,
                        "status": "diverged" if (init, seed) in diverged else "ok",
                    }
                )
    return pd.DataFrame(rows)


# --- fmt_ci -----------------------------------------------------------------------------------------------


def test_fmt_ci() -> None:
    assert report.fmt_ci(0.9741, 0.0012) == "97.41 ± 0.12"
    assert report.fmt_ci(0.9741, np.nan) == "97.41"
    assert report.fmt_ci(np.nan, 0.01) == "n/a"
    assert report.fmt_ci(0.1234567, 0.0001, scale=1.0, digits=4) == "0.1235 ± 0.0001"


# --- intervals, the runs line, Prose -----------------------------------------------------------------------


def test_fmt_interval() -> None:
    assert report.fmt_interval(97.014, 97.706) == "[97.01, 97.71]"
    assert report.fmt_interval(0.005, -0.012, scale=100, digits=1, signed=True) == "[+0.5, -1.2]"
    assert report.fmt_interval(97.014, 97.706, bracketed=False) == "97.01 – 97.71"
    assert report.fmt_interval(0.1, 0.2, digits=4) == "[0.1000, 0.2000]"


def test_fmt_diff_ci() -> None:
    assert report.fmt_diff_ci(0.0123, 0.005, 0.0196) == "+1.23 pp, 95% CI [+0.50, +1.96]"
    assert report.fmt_diff_ci(-0.0123, -0.02, 0.001, unit=None, label=None) == "-1.23 [-2.00, +0.10]"
    assert report.fmt_diff_ci(0.5, 0.25, 0.75, scale=1.0, unit="x") == "+0.50 x, 95% CI [+0.25, +0.75]"
    assert report.fmt_diff_ci(0.01, 0.0, 0.02, digits=1) == "+1.0 pp, 95% CI [+0.0, +2.0]"
    assert report.fmt_diff_ci(0.01, 0.0, 0.02, unit="") == "+1.00 , 95% CI [+0.00, +2.00]"  # as family_lines wrote it


def test_fmt_mean_ci_stays_inside_the_bounds() -> None:
    assert report.fmt_mean_ci([0.96, 0.97, 0.98]) == "97.00 ± 2.48"  # 4.303 · 0.01 / √3: inside 0-100 %
    # logits 1, 2, 3: the t-interval 85.48 ± 4.303 · 11.30 / √3 = ± 28.08 would reach 113.56 %; logit-t:
    # expit(2 ± 2.4841)
    values = list(1 / (1 + np.exp(-np.array([1.0, 2.0, 3.0]))))
    assert report.fmt_mean_ci(values) == "85.48 [38.13, 98.88]"
    assert report.fmt_mean_ci(values, bounds=None) == "85.48 ± 28.08"
    assert report.fmt_mean_ci([0.02, 0.01, 0.0]).startswith("1.00 [0.")  # past 0 %: kept above it
    assert report.fmt_mean_ci([0.97]) == "97.00" and report.fmt_mean_ci([]) == "n/a"


def test_fmt_runs_reports_failures_as_a_rate() -> None:
    # bimodal: 2 of 4 at chance, Wilson (0.150, 0.850); never 53.00 ± 68
    assert report.fmt_runs([0.10, 0.95, 0.11, 0.96]) == (
        "2 of 4 runs failed (below 53.00; 50%, 95% CI 15%–85%); the 2 that trained: 95.50 [82.88, 98.95]"
    )
    # a diverged run: Wilson (1/3) = (0.0615, 0.7923)
    assert report.fmt_runs([0.96, np.nan, 0.97, 0.98]) == (
        "1 of 4 runs failed (diverged; 25%, 95% CI 5%–70%); the 3 that trained: 97.00 ± 2.48"
    )
    assert report.fmt_runs([0.1, 0.9, 0.91], fail_below=0.5, what="seeds").startswith(
        "1 of 3 seeds failed (below 50.00; 33%, 95% CI 6%–79%); the 2 that trained: "
    )
    assert report.fmt_runs([np.nan, np.nan]) == "2 of 2 runs failed (diverged; 100%, 95% CI 34%–100%); none trained"
    assert report.fmt_runs([0.96, 0.97, 0.98]) == "97.00 ± 2.48"  # one mode: mean and CI


def test_fmt_seeds() -> None:
    assert report.fmt_seeds(14.0, 6.0, 140.0) == "14 (95% CI 6–140)"
    assert report.fmt_seeds(90.0, 44.0, 2930.0) == "90 (95% CI 44–2,930)"
    assert report.fmt_seeds(90.0, 26.0, 3447.0) == "—"  # ends 132× apart
    assert report.fmt_seeds(np.inf, 900.0, np.inf) == "—"  # unbounded
    assert report.fmt_seeds(np.inf, np.inf, np.inf) == "more than 10,000"
    assert report.fmt_seeds(np.nan, np.nan, np.nan) == "—"


def test_fmt_pi() -> None:
    assert report.fmt_pi(98.7, 98.1, 99.3) == "98.70 [98.10, 99.30]"
    assert report.fmt_pi(0.12345, 0.1, 0.15, digits=4) == "0.1235 [0.1000, 0.1500]"
    assert report.fmt_pi(11.35, np.nan, np.nan, verdict="equal") == "every run: 11.35"
    assert report.fmt_pi(11.35, np.nan, np.nan, verdict="differs", each="seed") == "every seed: 11.35"
    assert report.fmt_pi(98.7, np.nan, np.nan, verdict="one seed") == "98.70 (one run)"
    assert report.fmt_pi(98.7, np.nan, np.nan, verdict="one seed", each="seed") == "98.70 (one seed)"
    assert report.fmt_pi(np.nan, np.nan, np.nan, verdict="no runs") == "no run"
    assert report.fmt_pi(98.7, 98.1, 99.3, verdict="above") == "98.70 [98.10, 99.30]"


def test_runs_line() -> None:
    runs = pd.DataFrame({"init": ["a", "b", "c"], "wall_time": [60.0, 90.0, 30.0]})
    assert report.runs_line(runs) == "3 runs; their recorded training time adds up to 3.0 min"
    epochs = pd.DataFrame(
        {"init": ["a", "a", "b"], "seed": [0, 0, 0], "epoch": [1, 2, 1], "wall_time": [60.0, 60.0, 33.0]}
    )  # a run's time is on each of its epochs
    assert report.runs_line(epochs, ["init", "seed"]) == "2 runs; their recorded training time adds up to 1.6 min"


def test_prose_is_a_string_that_renders_as_markdown() -> None:
    text = report.Prose("**bold** claim")
    assert isinstance(text, str) and text == "**bold** claim" and "bold" in text
    assert text._repr_markdown_() == "**bold** claim"
    printed = []

    class _Printer:
        def text(self, s: str) -> None:
            printed.append(s)

    text._repr_pretty_(_Printer(), False)
    assert printed == ["**bold** claim"]


# --- summary_table ----------------------------------------------------------------------------------------

_ACC = {"he": [0.97, 0.98, 0.96, 0.97], "randn": [0.10, 0.95, 0.11, 0.96], "zeros": [0.1135] * 4}
_LOSS = {"he": [0.10, 0.12, 0.08, 0.10], "randn": [2.3, 0.2, 2.3, 0.3], "zeros": [2.3026] * 4}


def test_summary_table_means_over_all_runs() -> None:
    one_mode = {k: v for k, v in _ACC.items() if k != "randn"}
    t = report.summary_table(_runs(one_mode, _LOSS, diverged={("zeros", 3)}, epochs=2))
    assert list(t.index) == ["he", "zeros"]
    assert list(t.columns) == ["test_accuracy", "test_loss", "seeds", "diverged"]
    # he: mean 0.97, s = sqrt(0.0002 / 3), half = 3.1824 · s / 2 = 0.01299; loss: 0.1 ± 3.1824 · 0.01633 / 2
    assert t.loc["he", "test_accuracy"] == "97.00 ± 1.30"
    assert t.loc["he", "test_loss"] == "0.1000 ± 0.0260"
    assert t.loc["zeros", "test_accuracy"] == "11.35 ± 0.00"  # every seed identical
    assert t.loc["zeros", "diverged"] == 1 and t.loc["he", "diverged"] == 0
    assert (t["seeds"] == 4).all()


def test_summary_table_never_averages_a_bimodal_set() -> None:
    # randn's plain mean, 53 %, describes no run: two stuck at 10-11 %, two at 95-96 %, split at 53 %
    t = report.summary_table(_runs(_ACC, _LOSS, epochs=2))
    assert list(t.columns) == ["test_accuracy", "test_loss", "seeds", "diverged", "failed"]
    assert t.loc["randn", "failed"] == "2 of 4 below 53.00 (50%, 95% CI 15%–85%)"
    assert t.loc["he", "failed"] == "0 of 4 (0%, 95% CI 0%–49%)"
    # the 2 that trained: 0.955 ± 12.706 · 0.00707 / √2 = ± 6.35 runs past 100%: the logit-t interval instead
    assert t.loc["randn", "test_accuracy"] == "95.50 [82.88, 98.95] (n = 2)"
    assert t.loc["randn", "test_loss"] == "0.2500 ± 0.6353 (n = 2)"


def test_summary_table_failures_as_a_wilson_rate() -> None:
    t = report.summary_table(_runs(_ACC, _LOSS, epochs=2), fail_below=0.5)
    assert list(t.columns) == ["test_accuracy", "test_loss", "seeds", "diverged", "failed"]
    # randn: 2 of 4 failed, Wilson (0.150, 0.850); the 2 that trained: 0.955 ± 12.706 · 0.00707 / √2 would
    # reach 101.85 %: the interval is the logit-t one, inside 0-100 %
    assert t.loc["randn", "failed"] == "2 of 4 (50%, 95% CI 15%–85%)"
    assert t.loc["randn", "test_accuracy"] == "95.50 [82.88, 98.95] (n = 2)"
    assert t.loc["randn", "test_loss"] == "0.2500 ± 0.6353 (n = 2)"
    # he: none failed, Wilson upper bound z²/(4 + z²) = 0.49
    assert t.loc["he", "failed"] == "0 of 4 (0%, 95% CI 0%–49%)"
    assert t.loc["he", "test_accuracy"] == "97.00 ± 1.30"
    # zeros: no run trained; lower bound 4/(4 + z²) = 0.51
    assert t.loc["zeros", "failed"] == "4 of 4 (100%, 95% CI 51%–100%)"
    assert t.loc["zeros", "test_accuracy"] == "no run trained"
    assert t.loc["zeros", "test_loss"] == "no run trained"
    assert (t["seeds"] == 4).all()


def test_summary_table_counts_a_diverged_nan_as_failed() -> None:
    acc = {"he": [0.97, np.nan, 0.96]}
    t = report.summary_table(_runs(acc, diverged={("he", 1)}), values=["test_accuracy"], fail_below=0.5)
    assert t.loc["he", "failed"].startswith("1 of 3 (33%")
    assert t.loc["he", "test_accuracy"] == "96.50 [80.75, 99.46] (n = 2)"  # 96.50 ± 6.35 would pass 100 %
    assert t.loc["he", "diverged"] == 1
    # without fail_below the diverged run is still a failure, never averaged
    auto = report.summary_table(_runs(acc, diverged={("he", 1)}), values=["test_accuracy"])
    assert auto.loc["he", "failed"].startswith("1 of 3 diverged (33%")


def test_summary_table_nobody_trained_anywhere() -> None:
    t = report.summary_table(_runs({"zeros": [0.1, 0.1]}), values=["test_accuracy"], fail_below=0.5)
    assert t.loc["zeros", "test_accuracy"] == "no run trained"
    assert t.loc["zeros", "failed"].startswith("2 of 2 (100%")


def test_summary_table_other_grouping() -> None:
    df = pd.concat([_runs({"he": [0.9, 0.92, 0.91]}), _runs({"he": [0.5, 0.52, 0.51]}).assign(dataset="cifar10")])
    t = report.summary_table(df, values=["test_accuracy"], by=["dataset", "init"])
    assert t.loc[("mnist", "he"), "test_accuracy"] == "91.00 ± 2.48"  # 4.303 · 0.01 / √3
    assert t.loc[("cifar10", "he"), "test_accuracy"] == "51.00 ± 2.48"
    two = report.summary_table(df[df["seed"] < 2], values=["test_accuracy"], by=["dataset", "init"])
    assert two.loc[("mnist", "he"), "test_accuracy"].startswith("91.00 [")  # ± 12.71 would pass 100 %


# --- protocol_text, family_lines, verdict_counts ----------------------------------------------------------


def test_protocol_text_counts_the_p_values_a_family_holds() -> None:
    table = pd.DataFrame(
        {
            "p": [0.01, 0.02, np.nan, 0.5],
            "p_equiv": [0.3, np.nan, np.nan, 0.2],  # a sign test has no equivalence test; a row without seeds none
            "exact": [False, False, False, True],  # an exact row takes no part
        }
    )
    assert report.family_p_values(table) == (3, 2)
    text = report.protocol_text("x", 4, 5, delta=0.005, table=table)
    assert "all 3 p-values Holm-corrected together" in text and "no step multiplies by more than 2" in text


def test_protocol_text_names_family_correction_and_seeds() -> None:
    text = report.protocol_text("the 6 pairs of initializers", 6, 10, delta=0.005)
    for part in (
        "The family is the 6 pairs of initializers",
        "6 test(s)",
        "over 10 seeds",
        "±0.5 pp",
        "Holm-corrected",
        "α = 0.05",
        "80% power",
        "factor of 2",
        "all 12 p-values Holm-corrected together",
        "no step multiplies by more than 6",
        "*negligible* when the corrected equivalence test rejects, whatever the sign",
        "within ±0.25 and ±1 pp",
        "the 95% CI does not lie inside ±0.5 pp",
        "chi-square interval",
        "within a factor of 100",
    ):
        assert part in text, part
    assert "±0.02 units" in report.protocol_text("x", 1, "3 to 5", delta=0.02, scale=1.0, unit="units")
    assert "over 3 to 5 seeds" in report.protocol_text("x", 1, "3 to 5", delta=0.02)


def _family() -> pd.DataFrame:
    rows = [
        {
            "claim": "a > b",
            "n": 1,
            "mean": 0.01,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p": np.nan,
            "p_equiv": np.nan,
            "exact": False,
            "seeds_needed": np.nan,
            "gap": np.nan,
        },
        {
            "claim": "a > c",
            "n": 0,
            "mean": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p": np.nan,
            "p_equiv": np.nan,
            "exact": False,
            "seeds_needed": np.nan,
            "gap": np.nan,
        },
        {
            "claim": "c > d",
            "n": 5,
            "mean": 0.02,
            "ci_low": 0.02,
            "ci_high": 0.02,
            "p": 0.0,
            "p_equiv": 1.0,
            "exact": True,
            "seeds_needed": np.nan,
            "gap": np.nan,
        },
        {
            "claim": "e > f",
            "n": 5,
            "mean": 0.0123,
            "ci_low": 0.0051,
            "ci_high": 0.0195,
            "p": 0.004,
            "p_equiv": 0.9,
            "exact": False,
            "seeds_needed": 4.0,
            "gap": np.nan,
        },
        {
            "claim": "g > h",
            "n": 5,
            "mean": -0.003,
            "ci_low": -0.012,
            "ci_high": 0.006,
            "p": 0.3,
            "p_equiv": 0.6,
            "exact": False,
            "std": 0.00725,  # half-width 0.009 = 2.776 · sd / √5
            "seeds_needed": 28.0,
            "gap": 0.004,
        },
    ]
    return st.test_family(pd.DataFrame(rows))


def test_family_lines_every_branch() -> None:
    lines = report.family_lines(_family(), delta=0.005)
    # Holm over the 2 tested rows only, both kinds of p-value (at most 2 true nulls): 0.004, 0.3, 0.6, 0.9
    # → ×2, ×2, ×2, ×1 = 0.008, 0.6, 1, 0.9. Seeds for the 0.4 pp gap: 28, from the sd's interval 12 to 215.
    assert lines == [
        "- a > b: +1.00 pp from one seed → **inconclusive (needs at least 2 seeds)**",
        "- a > c: no paired seeds → **inconclusive (needs at least 2 seeds)**",
        "- c > d: +2.00 pp in every seed → **supported (exact: the same in all 5 seeds)**",
        "- e > f: +1.23 pp, 95% CI [+0.51, +1.95], Holm p = 0.008 → **supported**",
        "- g > h: -0.30 pp, 95% CI [-1.20, +0.60], Holm p = 0.600 → "
        "**inconclusive (about 28 seeds (95% CI 12–215) would resolve a 0.40 pp gap)**",
    ]


def test_family_lines_label_column_and_units() -> None:
    t = _family().rename(columns={"claim": "pair"})
    line = report.family_lines(t.iloc[[3]], delta=0.005, scale=1.0, unit="nats", label="pair")[0]
    assert line == "- e > f: +0.01 nats, 95% CI [+0.01, +0.02], Holm p = 0.008 → **supported**"


def test_family_lines_borderline_and_equivalent() -> None:
    t = st.test_family(
        pd.DataFrame(
            [
                {
                    "claim": "x",
                    "n": 8,
                    "mean": 0.01,
                    "ci_low": 0.001,
                    "ci_high": 0.019,
                    "p": 0.04,
                    "p_equiv": 0.9,
                    "exact": False,
                    "seeds_needed": 8.0,
                    "gap": np.nan,
                }
            ]
        )
    )
    assert report.family_lines(t, 0.005) == [
        "- x: +1.00 pp, 95% CI [+0.10, +1.90], Holm p = 0.040 → **supported (its 95% CI reaches +0.10 pp, inside "
        "±0.5 pp: it may be too small to matter), borderline (Holm-adjusted p = 0.040)**"
    ]
    t = st.test_family(
        pd.DataFrame(
            [
                {
                    "claim": "y",
                    "n": 8,
                    "mean": 0.0,
                    "ci_low": 0.0,
                    "ci_high": 0.0,
                    "p": 1.0,
                    "p_equiv": 0.0,
                    "exact": True,
                    "seeds_needed": np.nan,
                    "gap": np.nan,
                }
            ]
        )
    )
    assert report.family_lines(t, 0.005) == [
        "- y: +0.00 pp in every seed → **negligible: equivalent within ±0.5 pp (exact: the same in all 8 seeds)**"
    ]


def test_verdict_counts() -> None:
    t = pd.DataFrame({"verdict": ["inconclusive", "supported", "reversed", "supported", "equivalent"]})
    assert report.verdict_counts(t) == "2 supported, 1 reversed, 1 negligible, 1 inconclusive"
    assert report.verdict_counts(t.iloc[[0]]) == "1 inconclusive"
    assert report.verdict_counts(t.iloc[[]]) == "no tests"


# --- ranking_text -----------------------------------------------------------------------------------------

_BASE = np.array([0.90, 0.91, 0.89, 0.905, 0.895])


def _ranking(b_gain: list[float], c_gain: list[float]) -> pd.DataFrame:
    return _runs(
        {
            "a": list(_BASE + 0.04 + np.array([0.001, -0.001, 0.002, 0.0, -0.002])),
            "b": list(_BASE + np.array(b_gain)),
            "c": list(_BASE + np.array(c_gain)),
        }
    )


def test_ranking_text_holds() -> None:
    df = _ranking([0.020, 0.021, 0.019, 0.022, 0.018], [0.0, 0.001, -0.001, 0.0, 0.0])
    text = report.ranking_text(df=df, claimed=["a", "b", "c"], delta=0.005, source="000")
    assert isinstance(text, report.Prose)
    assert text.startswith("Claimed ranking by 000: **a > b > c** (test accuracy), differences in percentage points:")
    assert "- a > b: +2.00 pp, 95% CI [" in text and "- b > c: +2.00 pp" in text
    assert "Of 2 adjacent steps: 2 supported; the ranking as a whole **holds**." in text
    assert "The family is the 2 adjacent steps of this ranking: 2 test(s), each a paired t-test over 5 seeds" in text


def test_ranking_text_not_established() -> None:
    df = _ranking([0.020, 0.021, 0.019, 0.022, 0.018], [0.030, -0.020, 0.025, -0.030, 0.010])
    text = report.ranking_text(df=df, claimed=["a", "b", "c"], delta=0.005)
    assert "Claimed ranking by the source:" in text
    assert "Of 2 adjacent steps: 1 supported, 1 inconclusive; the ranking as a whole **is not established**." in text
    assert "**inconclusive (about " in text


def test_ranking_text_contradicted() -> None:
    df = _ranking([0.020, 0.021, 0.019, 0.022, 0.018], [0.050, 0.049, 0.052, 0.051, 0.048])
    text = report.ranking_text(df=df, claimed=["a", "b", "c"], delta=0.005, gaps=[0.01, 0.02])
    assert "- b > c: -3.00 pp" in text and "→ **reversed**" in text
    assert "Of 2 adjacent steps: 1 supported, 1 reversed; the ranking as a whole **is contradicted**." in text


def test_ranking_text_equivalent_step_is_not_a_holding_ranking() -> None:
    df = _ranking([0.040, 0.041, 0.039, 0.0402, 0.0398], [0.020, 0.021, 0.019, 0.022, 0.018])
    text = report.ranking_text(df=df, claimed=["a", "b", "c"], delta=0.005)
    assert "**negligible: equivalent within ±0.5 pp (" in text
    assert "1 supported, 1 negligible; the ranking as a whole **is not established**." in text
    # a negligible step shows the p-value that decided it, the equivalence test's
    step = next(line for line in text.splitlines() if line.startswith("- a > b:"))
    assert "Holm equivalence p " in step and "Holm p " not in step


def test_p_values_are_printed_without_a_false_zero() -> None:
    assert report.fmt_p(0.0423) == "= 0.042" and report.fmt_p(3e-9) == "< 0.001" and report.fmt_p(1.0) == "= 1.000"
    assert report.fmt_p(float("nan")) == "= n/a"
