"""The findings of the optimizer notebook (07): every writer on small frames with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from initlab.findings import optimizers as opt
from initlab.stats import holm

M0, M2 = "mlp_128", "mlp_512_256_128_64"


def _frame(values: dict, epochs: int = 2, test_offset: float = 0.0, diverged: dict | None = None) -> pd.DataFrame:
    """A run_grid-like frame: ``values[(model, setting, init, rate)]`` lists each seed's final validation
    accuracy (NaN: a diverged run); the test accuracy is that plus ``test_offset``; the validation curve
    rises linearly from 0.5 to its final value."""
    rows = []
    for (model, setting, init, rate), per_seed in values.items():
        optimizer = "adam" if setting == "adam" else "sgd"
        for seed, v in enumerate(per_seed):
            bad = math.isnan(v)
            for epoch in range(1, epochs + 1):
                val = math.nan if bad else 0.5 + (v - 0.5) * epoch / epochs
                rows.append(
                    {
                        "dataset": "mnist",
                        "model": model,
                        "init": init,
                        "seed": seed,
                        "epoch": epoch,
                        "loss": 1.0 / epoch,
                        "accuracy": val,
                        "val_loss": 1.0,
                        "val_accuracy": val,
                        "test_loss": 1.0,
                        "test_accuracy": math.nan if bad else v + test_offset,
                        "wall_time": 1.0,
                        "status": "diverged" if bad else "ok",
                        "diverged_epoch": 1 if bad else math.nan,
                        "engine": "stacked",
                        "optimizer": optimizer,
                        "learning_rate": rate,
                        "momentum": 0.9 if setting.startswith("momentum") else 0.0,
                        "nesterov": False,
                        "optimizer_setting": setting,
                    }
                )
    return pd.DataFrame(rows)


def _table(
    rates: list[float], scores: list[float], setting: str = "sgd", init: str = "he_normal", model: str = M0
) -> pd.DataFrame:
    """A rate_table-like frame for one set-up: ``val_score`` per rate."""
    return pd.DataFrame(
        {
            "model": model,
            "optimizer_setting": setting,
            "init": init,
            "learning_rate": rates,
            "val_score": scores,
            "mean": scores,
            "half_width": 0.001,
            "n": 3,
            "runs": 3,
            "diverged": 0,
            "accuracies": [(s,) * 3 for s in scores],
        }
    )


# --------------------------------------------------------------------------- grid and tables


def test_grid_studies_make_one_study_per_optimizer_and_rate() -> None:
    studies = opt.grid_studies(
        "mnist",
        M0,
        ["he_normal"],
        seeds=[0, 1],
        epochs=2,
        grids=[("adam", 0.0, [1e-3, 1e-2]), ("sgd", 0.9, [0.01])],
        train_limit=1000,
    )
    assert [(s.optimizer, s.momentum, s.learning_rate) for s in studies] == [
        ("adam", 0.0, 1e-3),
        ("adam", 0.0, 1e-2),
        ("sgd", 0.9, 0.01),
    ]
    assert all(s.train_limit == 1000 and s.seeds == (0, 1) and s.epochs == 2 for s in studies)


def test_final_runs_keep_runs_that_differ_only_in_momentum_apart() -> None:
    df = _frame({(M0, "sgd", "he_normal", 0.01): [0.9], (M0, "momentum 0.9", "he_normal", 0.01): [0.95]})
    runs = opt.final_runs(df)
    assert len(runs) == 2 and set(runs["epoch"]) == {2}
    assert sorted(runs["val_accuracy"]) == pytest.approx([0.9, 0.95])


def test_rate_table_counts_a_diverged_run_as_zero_in_the_validation_score() -> None:
    df = _frame({(M0, "sgd", "he_normal", 0.1): [0.9, 0.8, math.nan], (M0, "sgd", "he_normal", 0.01): [0.7, 0.7, 0.7]})
    t = opt.rate_table(df).set_index("learning_rate")
    assert t.loc[0.1, "runs"] == 3 and t.loc[0.1, "diverged"] == 1 and t.loc[0.1, "n"] == 2
    assert t.loc[0.1, "val_score"] == pytest.approx((0.9 + 0.8 + 0.0) / 3)
    assert t.loc[0.1, "mean"] == pytest.approx(0.85)  # the runs that finished
    assert t.loc[0.01, "half_width"] == 0.0 and t.loc[0.01, "val_score"] == pytest.approx(0.7)
    assert list(t.index) == [0.01, 0.1]  # sorted by rate


def test_best_rate_inside_the_grid_and_its_window() -> None:
    b = opt.best_rates(_table([0.001, 0.01, 0.1, 1.0], [0.90, 0.95, 0.945, 0.80])).iloc[0]
    assert b["best_rate"] == 0.01 and b["edge"] == "" and b["trains"]
    # 0.945 is within 1 pp of 0.95, 0.90 is not: the window is [0.01, 0.1] on the grid ...
    assert (b["window_low"], b["window_high"]) == (0.01, 0.1)
    assert b["window_decades"] == pytest.approx(1.0)
    # ... and narrower than the span of the next rates outside it, 0.001 to 1: 3 decades
    assert b["window_max"] == pytest.approx(3.0)
    assert opt.window_words(b) == "1 (1–3)"
    assert (
        opt.best_table(opt.best_rates(_table([0.001, 0.01, 0.1, 1.0], [0.90, 0.95, 0.945, 0.80]))).iloc[0]["grid edge"]
        == "-"
    )


def test_best_rate_at_an_edge_ties_and_failures() -> None:
    rising = opt.best_rates(_table([0.01, 0.1, 1.0], [0.8, 0.9, 0.95])).iloc[0]
    assert rising["edge"] == "highest" and rising["window_decades"] == 0.0 and math.isinf(rising["window_max"])
    assert opt.window_words(rising) == "≥ 0 (open)"
    falling = opt.best_rates(_table([0.01, 0.1], [0.95, 0.9])).iloc[0]
    assert falling["edge"] == "lowest"
    tie = opt.best_rates(_table([0.01, 0.1, 1.0], [0.11, 0.11, 0.0])).iloc[0]
    assert tie["best_rate"] == 0.1 and tie["edge"] == "" and not tie["trains"]  # ties go to the larger rate
    only = opt.best_rates(_table([0.01], [0.9])).iloc[0]
    assert only["edge"] == "only rate"
    # the window stops at the first rate that falls out of it, even if a later one climbs back
    gap = opt.best_rates(_table([0.001, 0.01, 0.1, 1.0], [0.5, 0.95, 0.90, 0.949])).iloc[0]
    assert (gap["window_low"], gap["window_high"]) == (0.01, 0.01) and gap["window_max"] == pytest.approx(2.0)


def test_at_rates_and_default_rates() -> None:
    df = _frame(
        {
            (M0, "adam", "he_normal", 0.001): [0.9],
            (M0, "adam", "he_normal", 0.01): [0.95],
            (M0, "sgd", "he_normal", 0.1): [0.93],
            (M0, "sgd", "he_normal", 0.3): [0.94],
        }
    )
    best = opt.best_rates(opt.rate_table(df))
    picked = opt.at_rates(df, best)
    assert sorted(set(picked["learning_rate"])) == [0.01, 0.3]
    assert picked["optimizer_setting"].tolist() == ["adam", "adam", "sgd", "sgd"]  # by set-up, seed, epoch
    assert picked["epoch"].tolist() == [1, 2, 1, 2]
    d = opt.default_rates(df)  # Keras: adam 0.001 (in the grid), sgd 0.01 (not in it)
    assert d[["optimizer_setting", "default_rate"]].values.tolist() == [["adam", 0.001]]
    assert set(opt.at_rates(df, d, "default_rate")["learning_rate"]) == {0.001}


def test_accuracy_and_best_tables_show_divergence_edges_and_failures() -> None:
    df = _frame(
        {
            (M0, "sgd", "he_normal", 0.1): [0.9, 0.9, math.nan],
            (M0, "sgd", "he_normal", 1.0): [math.nan] * 3,
            (M0, "adam", "he_normal", 0.001): [0.95, 0.95, 0.95],
            (M2, "sgd", "random_normal_001", 0.1): [0.11] * 3,
            (M2, "sgd", "random_normal_001", 1.0): [0.1] * 3,
        }
    )
    table = opt.rate_table(df)
    wide = opt.accuracy_table(table, M0)
    assert list(wide.columns) == ["0.001", "0.1", "1"] and wide.columns.name == "learning rate"
    assert wide.loc[("sgd", "he_normal"), "1"] == "all 3 diverged"
    assert wide.loc[("sgd", "he_normal"), "0.1"] == "1/3 failed (1 div.); 90.00 ± 0.00"  # failures counted apart
    assert wide.loc[("adam", "he_normal"), "0.1"] == "-"  # not tried
    bt = opt.best_table(opt.best_rates(table))
    assert bt.loc[(M0, "sgd", "he_normal"), "grid edge"] == "lowest"
    assert bt.loc[(M0, "adam", "he_normal"), "grid edge"] == "only rate"
    assert bt.loc[(M2, "sgd", "random_normal_001"), "grid edge"] == "trains at no rate"
    assert bt.loc[(M0, "sgd", "he_normal"), "validation (%)"] == "60.00"  # (0.9 + 0.9 + 0) / 3
    assert opt.accuracy_table(table, M2).loc[("sgd", "random_normal_001"), "0.1"] == "3/3 failed"  # at chance


def test_a_bimodal_cell_is_a_failure_count_not_a_mean() -> None:
    """Two runs at chance and three that trained: not 58.04 ± 57 but the failures and the trained runs' mean."""
    df = _frame({(M2, "adam", "random_normal_001", 0.03): [0.1135, 0.1135, 0.93, 0.94, 0.95]})
    cell = opt.accuracy_table(opt.rate_table(df), M2).loc[("adam", "random_normal_001"), "0.03"]
    assert cell.startswith("2/5 failed; 94.00 ")


def test_speed_at_best_indexes_by_model_setting_and_init() -> None:
    df = _frame(
        {
            (M0, "sgd", "he_normal", 0.1): [0.96, 0.96],
            (M0, "sgd", "random_normal", 0.1): [0.90, 0.91],
            (M0, "adam", "he_normal", 0.001): [0.97, 0.97],
        }
    )
    t = opt.speed_at_best(df, target=0.95)
    assert list(t.index.names) == opt.SETUP
    assert list(t.index.get_level_values(1)) == ["adam", "sgd", "sgd"]  # sorted as the other tables
    assert t.loc[(M0, "sgd", "he_normal"), "reached 95%"] == "2 of 2"
    assert t.loc[(M0, "sgd", "random_normal"), "median epochs to 95%"] == "never"
    assert t.loc[(M0, "sgd", "he_normal"), "median epochs to 95%"] == "2"  # 0.73 after epoch 1, 0.96 after 2


# --------------------------------------------------------------------------- the sources' claims


def test_source_claims() -> None:
    assert opt.source_claims(M0, ["he_normal", "random_normal", "glorot_uniform"]) == [
        ("glorot_uniform", "he_normal"),
        ("glorot_uniform", "random_normal"),
        ("he_normal", "random_normal"),
    ]
    assert opt.source_claims(M2, ["random_normal_001", "he_normal"]) == [("he_normal", "random_normal_001")]
    assert len(opt.source_claims(M2, ["random_normal_001", "he_normal", "glorot_normal", "lecun_normal"])) == 4
    assert opt.source_claims("cnn_small", ["he_normal"]) == []


NOISE = np.array([0.001, -0.001, 0.0005, -0.0005])  # he_normal - glorot_uniform under adam: mean 0


def _claims_frame() -> pd.DataFrame:
    base = np.array([0.95, 0.96, 0.94, 0.955])
    values = {}
    for setting, shift in (("adam", [0.0, 0.0, 0.0, 0.0]), ("sgd", [0.02, 0.025, 0.03, 0.02])):
        values[(M0, setting, "glorot_uniform", 0.01)] = list(base + np.array(shift))
        values[(M0, setting, "he_normal", 0.01)] = list(base + NOISE)
    return opt.final_runs(_frame(values))


def test_claim_tests_pair_by_seed_and_holm_correct_per_model_and_condition() -> None:
    runs = _claims_frame()
    t = opt.claim_tests(runs, "best", delta=0.005)
    assert t["claim"].tolist() == ["adam: glorot_uniform > he_normal", "sgd: glorot_uniform > he_normal"]
    assert t["name"].iloc[0] == f"{M0}/best/adam/glorot_uniform > he_normal"
    adam, sgd = t.iloc[0], t.iloc[1]
    assert adam["mean"] == pytest.approx(0.0, abs=1e-12) and adam["verdict"] == "equivalent"
    assert sgd["mean"] == pytest.approx(np.mean([0.019, 0.026, 0.0295, 0.0205]))
    assert sgd["verdict"] == "supported" and sgd["a_rate"] == 0.01 and sgd["n"] == 4
    # one family per (model, condition): both settings' tests, both kinds of p-value, corrected together
    both = holm([*t["p"], *t["p_equiv"]], max_true=2)
    assert t["p_adj"].tolist() == pytest.approx(list(both[:2]))
    assert t["p_equiv_adj"].tolist() == pytest.approx(list(both[2:]))
    assert opt.claim_tests(runs.iloc[:0], "best", 0.005).empty


def test_claim_tests_drop_a_diverged_seed() -> None:
    runs = opt.final_runs(
        _frame(
            {
                (M2, "sgd", "he_normal", 0.1): [0.95, math.nan, 0.96, 0.95],
                (M2, "sgd", "random_normal_001", 0.1): [0.11, 0.11, 0.11, 0.11],
            }
        )
    )
    r = opt.claim_tests(runs, "default", 0.005).iloc[0]
    # random_normal_001 failed in every seed, he_normal diverged once: decided on the failure rates, 1 of 4
    # against 4 of 4 (Fisher's exact test, p = 1/7 · 1 ... = 0.143), never on a failed run's level
    assert r["test"] == "failures" and (r["n"], r["a_failed"], r["b_failed"]) == (4, 1, 4)
    assert r["p"] == pytest.approx(0.142857, rel=1e-4) and r["verdict"] == "inconclusive"
    both = opt.final_runs(
        _frame(
            {
                (M2, "sgd", "he_normal", 0.1): [0.95, 0.97, 0.96, 0.95, 0.96],
                (M2, "sgd", "random_normal_001", 0.1): [0.11] * 5,
            }
        )
    )
    r = opt.claim_tests(both, "default", 0.005).iloc[0]
    assert r["p"] == pytest.approx(2 / 252) and r["verdict"] == "supported"  # 0 of 5 against 5 of 5


def test_claim_tests_take_explicit_claims_and_skip_missing_sides() -> None:
    runs = _claims_frame()
    t = opt.claim_tests(runs, "best", 0.005, claims={M0: [("he_normal", "glorot_uniform"), ("he_normal", "zeros")]})
    assert t["claim"].tolist() == ["adam: he_normal > glorot_uniform", "sgd: he_normal > glorot_uniform"]
    assert t["verdict"].tolist() == ["equivalent", "reversed"]
    assert opt.claim_tests(runs, "best", 0.005, claims={}).empty


def test_washout_table_of_no_tests_is_empty() -> None:
    w = opt.washout_table(opt.claim_tests(_claims_frame().iloc[:0], "best", 0.005), {})
    assert w.empty and list(w.index.names) == ["model", "condition", "optimizer_setting"]


@pytest.mark.parametrize(
    "verdicts, ranking, washout",
    [
        (["supported", "supported"], "holds", "not washed out"),
        (["supported", "reversed"], "is contradicted", "not washed out"),
        (["equivalent", "equivalent"], "is not established", "washed out"),
        (["equivalent", "inconclusive"], "is not established", "undecided"),
        ([], "is not established", "undecided"),
    ],
)
def test_ranking_and_washout_words(verdicts, ranking, washout) -> None:
    assert opt.ranking_word(verdicts) == ranking
    assert opt.washout_word(verdicts) == washout


def test_washout_table_and_family_text() -> None:
    runs = _claims_frame()
    t = opt.claim_tests(runs, "best", delta=0.005)
    w = opt.washout_table(t, {"best": runs})
    adam, sgd = w.loc[(M0, "best", "adam")], w.loc[(M0, "best", "sgd")]
    assert adam["spread (pp)"] == "0.00" and adam["initializer"] == "washed out" and adam["pairs"] == "1 negligible"
    assert sgd["best / worst init"] == "glorot_uniform / he_normal" and sgd["ranking"] == "holds"
    assert sgd["spread (pp)"] == "2.38"  # mean of 0.019, 0.026, 0.0295, 0.0205
    text = opt.family_text(tests=t, model=M0, condition="best", delta=0.005)
    assert "000_5f419284b061c44b.txt" in text and "Holm" in text and "2 test(s)" in text
    assert "- *adam*: the ranking is not established; the initializer: washed out (1 negligible)." in text
    assert "- *sgd*: the ranking holds; the initializer: not washed out (1 supported)." in text
    untested = opt.family_text(tests=t, model=M0, condition="default", delta=0.005)
    assert untested.startswith("No claim of `000_5f419284b061c44b.txt`")


# --------------------------------------------------------------------------- RandomNormal(0.01)


def _scale_runs() -> pd.DataFrame:
    return opt.final_runs(
        _frame(
            {
                (M2, "adam", "he_normal", 0.001): [0.96, 0.96, 0.95, 0.96, 0.95],
                (M2, "adam", "random_normal_001", 0.003): [0.95, 0.94, 0.94, 0.95, 0.94],
                (M2, "sgd", "he_normal", 0.1): [0.95, 0.96, 0.96, 0.95, 0.96],
                (M2, "sgd", "random_normal_001", 1.0): [0.11, 0.12, 0.11, 0.11, 0.12],
            }
        )
    )


def test_gap_tests_compare_each_setting_s_lead_with_adam_s_per_seed() -> None:
    g = opt.gap_tests(_scale_runs(), "random_normal_001", "he_normal", delta=0.005)
    r = g.iloc[0]
    assert len(g) == 1 and r["name"] == "sgd > adam" and r["verdict"] == "supported"
    # the small start failed in every seed under sgd, in none under adam: its accuracy is no level to take a
    # lead from, so the claim is decided on its failures (Fisher's exact test, 0 of 5 against 5 of 5)
    assert r["test"] == "failures" and (r["a_failed"], r["b_failed"], r["n"]) == (0, 5, 5)
    assert r["p"] == pytest.approx(2 / 252) and r["mean"] == pytest.approx(1.0)
    assert "random_normal_001's failures: under adam against under sgd" in r["claim"]
    assert np.isnan(r["gap"])  # no gap is claimed: a verdict never reads the lead as one
    trained = _scale_runs().assign(
        test_accuracy=lambda t: np.where(t["test_accuracy"] < 0.2, t["test_accuracy"] + 0.7, t["test_accuracy"])
    )  # the small start trains under sgd too (81-82%): a paired t-test on the leads
    r = opt.gap_tests(trained, "random_normal_001", "he_normal", delta=0.005).iloc[0]
    # leads: adam 0.01, 0.02, 0.01, 0.01, 0.01; sgd 0.14, 0.14, 0.15, 0.14, 0.14
    assert r["test"] == "t" and r["lead"] == pytest.approx(0.142) and r["reference_lead"] == pytest.approx(0.012)
    assert r["mean"] == pytest.approx(0.13) and r["verdict"] == "supported"
    assert opt.gap_tests(
        _scale_runs().query("optimizer_setting == 'adam'"), "random_normal_001", "he_normal", delta=0.005
    ).empty


def _steps(adam_ratio: float, sgd_ratio: float) -> pd.DataFrame:
    """First steps for two inits over two layers: ``small``'s relative step is ``ratio`` times ``scaled``'s."""
    rows = []
    for optimizer, ratio in (("adam", adam_ratio), ("sgd", sgd_ratio)):
        for layer in ("hidden_1", "output"):
            rows.append(
                {
                    "optimizer": optimizer,
                    "layer": layer,
                    "init": "he_normal",
                    "seed": 0,
                    "grad_rms": 1e-2,
                    "relative_step": 1e-3,
                }
            )
            rows.append(
                {
                    "optimizer": optimizer,
                    "layer": layer,
                    "init": "random_normal_001",
                    "seed": 0,
                    "grad_rms": 1e-7,
                    "relative_step": 1e-3 * ratio,
                }
            )
    return pd.DataFrame(rows)


def test_step_ratios_and_the_answer() -> None:
    ratios = opt.step_ratios(_steps(5.0, 1e-4), "random_normal_001", "he_normal")
    assert ratios["grad_ratio"].tolist() == pytest.approx([1e-5] * 4)
    assert ratios.set_index(["optimizer", "layer"])["step_ratio"].tolist() == pytest.approx([5, 5, 1e-4, 1e-4])
    gaps = opt.gap_tests(_scale_runs(), "random_normal_001", "he_normal", delta=0.005)
    assert opt.scale_answer(gaps, ratios) == "consistent"
    assert (
        opt.scale_answer(gaps, opt.step_ratios(_steps(5.0, 0.5), "random_normal_001", "he_normal")) == "not consistent"
    )  # SGD's step not much smaller: the steps do not tell the optimizers apart
    undecided = gaps.assign(verdict="inconclusive")
    assert opt.scale_answer(undecided, ratios) == "undecided"
    assert opt.scale_answer(gaps.assign(verdict="reversed"), ratios) == "not consistent"


def test_scale_text_reports_each_setting_the_lead_and_the_steps() -> None:
    runs = _scale_runs()
    df = _frame(
        {
            (M2, "adam", "he_normal", 0.001): [0.96, 0.96, 0.95],
            (M2, "adam", "random_normal_001", 0.003): [0.95, 0.94, 0.94],
            (M2, "sgd", "he_normal", 0.1): [0.95, 0.96, 0.96],
            (M2, "sgd", "random_normal_001", 1.0): [0.11, 0.12, 0.11],
        }
    )
    best = opt.best_rates(opt.rate_table(df))
    tests = opt.claim_tests(runs, "best", 0.005)
    gaps = opt.gap_tests(runs, "random_normal_001", "he_normal", delta=0.005)
    text = opt.scale_text(
        best=best,
        tests=tests,
        gaps=gaps,
        steps=_steps(5.0, 1e-4),
        small="random_normal_001",
        scaled="he_normal",
        delta=0.005,
    )
    assert "- *sgd*, test accuracy (%): random_normal_001 3/3 failed at" in text
    assert "(it reaches 50% validation accuracy at no rate" in text
    assert "he_normal > random_normal_001: **supported**" in text  # 0 of 5 against 5 of 5 failed: p = 0.008
    assert "1e-05 times he_normal's" in text and "**consistent**" in text
    assert "In 2 of 2 layers" in text  # 1e-7 is below eps / sqrt(1 - beta_2) = 3.16e-6
    assert "adam*, test accuracy (%): random_normal_001 94.33" in text and "no rate" not in text.split("\n")[0]


def test_scale_text_skips_a_setting_without_both_starts_and_an_empty_gap_family() -> None:
    df = _frame(
        {
            (M2, "adam", "he_normal", 0.001): [0.96, 0.96, 0.95],
            (M2, "adam", "random_normal_001", 0.003): [0.95, 0.94, 0.94],
            (M2, "sgd", "he_normal", 0.1): [0.95, 0.96, 0.96],
        }
    )
    best = opt.best_rates(opt.rate_table(df))
    runs = opt.final_runs(opt.at_rates(df, best))
    tests = opt.claim_tests(runs, "best", 0.005)
    gaps = opt.gap_tests(runs[runs["optimizer_setting"] == "adam"], "random_normal_001", "he_normal", delta=0.005)
    text = opt.scale_text(
        best=best,
        tests=tests,
        gaps=gaps,
        steps=_steps(5.0, 1e-4),
        small="random_normal_001",
        scaled="he_normal",
        delta=0.005,
    )
    assert text.startswith("- *adam*, test accuracy (%): random_normal_001 94.33") and "- *sgd*" not in text
    assert "against Adam's, per seed" not in text and "**undecided**" in text


def test_step_table_layout() -> None:
    t = opt.step_table(_steps(5.0, 1e-4))
    assert list(t.index) == ["hidden_1", "output"]
    assert list(t.columns) == [
        "gradient rms, he_normal",
        "gradient rms, random_normal_001",
        "adam step / std, he_normal",
        "adam step / std, random_normal_001",
        "sgd step / std, he_normal",
        "sgd step / std, random_normal_001",
    ]
    assert t.loc["hidden_1", "adam step / std, random_normal_001"] == "0.005"
    assert t.loc["output", "sgd step / std, random_normal_001"] == "1e-07"
    assert t.loc["output", "gradient rms, he_normal"] == "0.01"


def test_first_steps_take_sgd_s_step_as_rate_times_gradient() -> None:
    steps = opt.first_steps("mnist", M0, ["he_normal"], seeds=[0], train_limit=1000)
    sgd = steps[steps["optimizer"] == "sgd"].set_index("layer")
    adam = steps[steps["optimizer"] == "adam"].set_index("layer")
    # Keras' SGD, default rate 0.01: the step is 0.01 · g exactly (float32 rounding aside)
    assert sgd["step_rms"].to_numpy() == pytest.approx(0.01 * sgd["grad_rms"].to_numpy(), rel=1e-3)
    # Adam's first step is lr · g / (|g| + eps'): never longer than its rate 0.001 per weight
    assert (adam["step_rms"] <= 0.001 * (1 + 1e-5)).all()
    assert steps["relative_step"].to_numpy() == pytest.approx((steps["step_rms"] / steps["kernel_std"]).to_numpy())


# --------------------------------------------------------------------------- the grid and the summary


def test_grid_text_names_edges_failures_and_open_windows() -> None:
    best = pd.concat(
        [
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.9, 0.95, 0.9])),
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.8, 0.9, 0.95], init="random_normal")),
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.10, 0.11, 0.10], init="random_normal_001", model=M2)),
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.11, 0.11, 0.0], init="zeros")),
        ],
        ignore_index=True,
    )
    text = opt.grid_text(best)
    assert text.startswith("Of 4 (model, optimizer setting, initializer) set-ups, 3 have their best rate inside")
    assert "random_normal: best at the grid's highest rate 1; the optimum may lie beyond the grid." in text
    assert (
        "Inside the grid but training at no rate: `mlp_512_256_128_64` sgd random_normal_001, `mlp_128` sgd zeros."
        in text
    )
    assert "1 set-up(s) that train have a window that reaches an edge" in text
    clean = opt.grid_text(opt.best_rates(_table([0.01, 0.1, 1.0], [0.9, 0.95, 0.9])))
    assert clean == (
        "Of 1 (model, optimizer setting, initializer) set-ups, 1 have their best rate inside the grid, "
        "with a lower rate and a higher one that score less: a rising and a falling side."
    )
    only = opt.grid_text(opt.best_rates(_table([0.01], [0.9])))
    assert "- `mlp_128`, sgd, he_normal: trained at one rate only 0.01; the optimum may lie beyond the grid." in only
    failed_edge = opt.grid_text(opt.best_rates(_table([0.01, 0.1], [0.1, 0.11], init="zeros")))
    assert "trains at no rate (best mean validation accuracy 11.0%), so its best rate means nothing" in failed_edge


def test_findings_text_summarizes_every_part() -> None:
    runs = _claims_frame()
    tests = opt.claim_tests(runs, "best", delta=0.005)
    washout = opt.washout_table(tests, {"best": runs})
    best = pd.concat(
        [
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.9, 0.95, 0.9])),
            opt.best_rates(_table([0.01, 0.1, 1.0], [0.9, 0.95, 0.949], init="glorot_uniform")),
        ],
        ignore_index=True,
    )
    text = opt.findings_text(
        best=best, washout=washout, tests=tests, scale_answer_word="consistent", seeds=4, delta=0.005
    )
    assert "- **The grid.** 2 of 2 set-ups have their best rate inside the grid; 0 train at no rate of it." in text
    assert (
        "- `mlp_128`, sgd: best rate(s) 0.1 (across 2 initializer(s) that train); windows within 1 pp of the "
        "best: at least 0 decade(s) wide, open at an edge of the grid for some." in text
    )
    narrow = opt.findings_text(
        best=best.iloc[:1], washout=washout, tests=tests, scale_answer_word="consistent", seeds=4, delta=0.005
    )  # the window shows only the best rate: the grid's step is too coarse to measure it
    assert "narrower than the grid's step (under 2 decade(s)): this grid cannot measure them." in narrow
    assert "adam: ranking is not established, initializer washed out (spread 0.00 pp)" in text
    assert "**RandomNormal(0.01) and Adam's invariance to scale:** consistent." in text
    assert "paired t-test over 4 seeds" in text and "±0.5 pp" in text


def _intervention_runs(eps_small: list[float], eps_he: tuple[float, ...] = (0.96, 0.95, 0.96)) -> pd.DataFrame:
    return opt.final_runs(
        _frame(
            {
                (M2, "adam", "he_normal", 0.001): [0.96, 0.96, 0.95, 0.96, 0.95],
                (M2, "adam", "random_normal_001", 0.003): [0.95, 0.94, 0.94, 0.95, 0.94],
                (M2, opt.INTERVENTION, "he_normal", 0.001): list(eps_he),
                (M2, opt.INTERVENTION, "random_normal_001", 0.003): eps_small,
            }
        )
    )


def test_the_intervention_reads_the_lead_under_a_large_epsilon() -> None:
    runs = _intervention_runs([0.11, 0.12, 0.11, 0.11, 0.12])  # the small start stops training under epsilon
    gaps = opt.gap_tests(runs, "random_normal_001", "he_normal", delta=0.005)
    assert list(gaps["name"]) == [f"{opt.INTERVENTION} > adam"] and gaps["verdict"].iloc[0] == "supported"
    assert opt.intervention_answer(gaps) == "consistent"
    unchanged = _intervention_runs([0.95, 0.94, 0.94, 0.95, 0.94], (0.96, 0.96, 0.95, 0.96, 0.95))  # Adam's leads
    same = opt.gap_tests(unchanged, "random_normal_001", "he_normal", delta=0.005)
    assert same["verdict"].iloc[0] == "equivalent" and opt.intervention_answer(same) == "not consistent"
    assert opt.intervention_answer(same.assign(verdict="inconclusive")) == "undecided"
    assert opt.intervention_answer(same.iloc[:0]) == "not tested"
    ratios = opt.step_ratios(_steps(5.0, 1e-4), "random_normal_001", "he_normal")
    sgd_gaps = opt.gap_tests(_scale_runs(), "random_normal_001", "he_normal", delta=0.005)
    both = opt.scale_reading(sgd_gaps, ratios, gaps)
    assert both["verdict"] == "consistent" and both["intervention"] == "consistent"
    assert opt.scale_reading(sgd_gaps, ratios, same)["verdict"] == "not consistent"  # the intervention disagrees
    assert "intervention" not in opt.scale_reading(sgd_gaps, ratios)
    best = opt.best_rates(
        opt.rate_table(
            _frame(
                {
                    k: v
                    for k, v in [
                        ((M2, "adam", "he_normal", 0.001), [0.96, 0.96, 0.95]),
                        ((M2, opt.INTERVENTION, "random_normal_001", 0.003), [0.11, 0.12, 0.11]),
                        ((M2, opt.INTERVENTION, "he_normal", 0.001), [0.96, 0.95, 0.96]),
                        ((M2, "adam", "random_normal_001", 0.003), [0.95, 0.94, 0.94]),
                    ]
                }
            )
        )
    )
    text = opt.intervention_text(best=best, intervened=gaps, small="random_normal_001", scaled="he_normal", delta=0.005)
    assert f"- *{opt.INTERVENTION}*, test accuracy (%): random_normal_001 3/3 failed at its best rate" in text
    assert "**consistent** with the mechanism" in text


def test_budget_text_names_the_set_ups_still_rising() -> None:
    # _frame's curves rise linearly from 0.5 to the final value over the epochs: 3 epochs to 0.95 gain 15 pp
    df = _frame({(M2, "adam", "random_normal_001", 0.003): [0.95] * 3, (M0, "adam", "he_normal", 0.001): [0.5] * 3}, 3)
    rising = opt.still_rising(df)
    assert list(rising["init"]) == ["random_normal_001"] and rising["last_gain"].iloc[0] == pytest.approx(0.15)
    text = opt.budget_text(df, train_examples=9600, batch_size=32)
    assert text.startswith(f"*Budget.* Every training verdict holds for `{M2}` 3 epochs (900 steps)")
    assert f"`{M2}` adam random_normal_001 (+15.0 pp)" in text and "he_normal" not in text
    flat = opt.budget_text(df[df["init"] == "he_normal"], train_examples=9600, batch_size=32)
    assert "every set-up's validation curve had levelled off" in flat
