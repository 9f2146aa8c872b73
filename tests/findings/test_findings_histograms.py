"""The histogram notebook's writers on small synthetic frames with hand-computed answers."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError
from initlab.findings import histograms as h

matplotlib.use("Agg")
SEEDS = [0, 1, 2, 3, 4]
LAYERS = {"hidden_1": 8, "hidden_2": 4}  # units per layer


def test_layer_rows_count_dead_units() -> None:
    a = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 3.0]])  # units 0 and 2 are 0 on both examples
    r = h.layer_rows({"hidden_1": a}).iloc[0]
    assert r["dead_units"] == 2 and r["frac_dead_units"] == 0.5 and r["frac_zero"] == 5 / 8
    assert r["frac_above_1"] == 2 / 8


def test_source_window_by_hand() -> None:
    # 8 zeros, a 1 and a 2: 50 bars over [0, 2] of width 0.04; the bar at 0 holds the 8 zeros:
    # density 0.8 / 0.04 = 20, above the y-limit 4; bars overlapping [-1, 1]: the 25 left of 1;
    # beyond the window: the 2 (1 itself is inside)
    acts = {"x": {"hidden_1": np.array([0.0] * 8 + [1.0, 2.0])}, "zeros": {"hidden_1": np.zeros(6)}}
    w = h.source_window(acts).set_index("init")
    r = w.loc["x"]
    assert r["bin_width"] == pytest.approx(0.04) and r["zero_bar_share"] == pytest.approx(0.8)
    assert r["zero_bar_density"] == pytest.approx(20.0) and bool(r["clipped"])
    assert r["bars_shown"] == 25 and r["outside"] == pytest.approx(0.1) and r["largest"] == 2.0
    assert r["exact_zero"] == pytest.approx(0.8)
    z = w.loc["zeros"]  # all values equal: numpy's range is [-0.5, 0.5], so the bar at 0 is 0.02 wide
    assert z["bin_width"] == pytest.approx(0.02) and z["zero_bar_density"] == pytest.approx(50.0)
    assert z["outside"] == 0 and w.attrs["bins"] == 50


def _window(density_first: float, density_last: float) -> pd.DataFrame:
    rows = []
    for init in ("zeros", "a", "b"):
        for layer, dens, width in (("hidden_1", density_first, 0.2), ("hidden_4", density_last, 0.6)):
            rows.append(
                {
                    "init": init,
                    "layer": layer,
                    "bin_width": width,
                    "zero_bar_share": 0.9 if init == "a" else 0.8,
                    "zero_bar_density": dens,
                    "clipped": dens > 4,
                    "bars_shown": 6 if layer == "hidden_1" else 2,
                    "outside": 0.05,
                    "exact_zero": 0.85,
                    "largest": 9.5 if init == "a" else 12.0,
                }
            )
    return pd.DataFrame(rows)


def test_window_text_by_hand() -> None:
    text = h.window_text(_window(4.5, 1.2))
    assert "ranges over a, b)" in text  # zeros left out
    assert (
        "- **hidden_1**: bars 0.20 wide (2 panels, 6 bar(s) inside the window); the bar at 0 holds 80.0%–90.0% "
        "of the values, of which 85.0% are exactly 0, at density 4.50 (2 of 2 cut off by the y-limit); 5.0% of "
        "the values lie beyond the window, up to 9.5–12."
    ) in text
    assert "(0 of 2 cut off by the y-limit)" in text
    assert "the taller bar at 0 (mean density 4.50) is hidden_1's; hidden_4's bars are 3 times as wide" in text
    assert "is hidden_4's" in h.window_text(_window(1.0, 2.0))
    assert h.window_text(_window(1.0, 2.0).query("init == 'zeros'")) == "No initializer left to describe."


def _stats(values: dict[tuple[str, str], list[tuple[float, float, float]]]) -> pd.DataFrame:
    """Trained-stage rows from (init, layer) -> per seed (frac_zero, frac_dead_units, std)."""
    rows = []
    for (init, layer), per_seed in values.items():
        for seed, (fz, fd, sd) in zip(SEEDS, per_seed):
            rows.append(
                {
                    "init": init,
                    "seed": seed,
                    "stage": "trained",
                    "layer": layer,
                    "units": LAYERS[layer],
                    "mean": 0.0,
                    "std": sd,
                    "frac_zero": fz,
                    "frac_dead_units": fd,
                    "dead_units": round(fd * LAYERS[layer]),
                    "frac_above_1": 0.0,
                }
            )
    return pd.DataFrame(rows)


def _jitter(base: float, step: float) -> list[float]:
    return [base + step * k for k in (0, 1, -1, 2, -2)]


def _synthetic() -> pd.DataFrame:
    v = {}
    for init in h.ZERO, h.SMALL, h.GLOROT, h.HE, h.LECUN:
        for layer in LAYERS:
            if init == h.ZERO:
                v[(init, layer)] = [(1.0, 1.0, 0.0)] * 5
                continue
            fz = {"hidden_1": 0.9, "hidden_2": 0.6}[layer] + (0.0 if init != h.HE else 0.001)
            dead = {h.SMALL: 0.25, h.HE: 0.0, h.GLOROT: 0.125, h.LECUN: 0.001}[init]
            sd = {h.SMALL: 2.0, h.GLOROT: 1.0, h.HE: 1.0, h.LECUN: 1.0}[init] * (1 if layer == "hidden_1" else 3)
            v[(init, layer)] = list(
                zip(
                    _jitter(fz, 0.003 if init == h.HE else 0.002),
                    _jitter(dead, 0.001 if dead else 0.0),
                    _jitter(sd, 0.01 * sd),
                )
            )
    return _stats(v)


def test_activation_claims_reach_every_verdict() -> None:
    t = h.activation_claims(_synthetic()).set_index("claim")
    assert len(t) == 1 + 2 + 3 + 2 + 2 + 5  # two layers: two std claims per pair
    # dead share pooled over 12 units: small 0.25 vs he 0: +25 pp (jitter cancels in the mean)
    r = t.loc["random_normal_001 leaves more units dead than he_normal"]
    assert r["mean"] == pytest.approx(0.25) and r["verdict"] == "supported" and r["statement"] == h.SMALL
    # lecun 0.1 pp more dead units than he: within ±2 pp, tight: equivalent
    assert t.loc["lecun_normal leaves more units dead than he_normal", "verdict"] == "equivalent"
    # zero share: he has 0.1 pp more zeros in the mean (sd 0.16 pp): equivalent, not "fewer"
    assert t.loc["glorot_normal has more activations exactly 0 than he_normal", "verdict"] == "equivalent"
    # glorot's std is half of random normal's: -50%, reversed
    r = t.loc["hidden_1: std of glorot_normal > std of random_normal_001"]
    assert r["mean"] == pytest.approx(-0.5, abs=0.01) and r["verdict"] == "reversed" and r["unit"] == "%"
    # glorot and lecun share the same std: equivalent within ±10%
    assert t.loc["hidden_2: std of glorot_normal > std of lecun_normal", "verdict"] == "equivalent"
    # last layer 30 pp fewer zeros than the first: reversed; zeros: 0 in every seed, exact, equivalent
    r = t.loc["he_normal: hidden_2 has more activations exactly 0 than hidden_1"]
    assert r["mean"] == pytest.approx(-0.3) and r["verdict"] == "reversed"
    r = t.loc["zeros: hidden_2 has more activations exactly 0 than hidden_1"]
    assert r["exact"] and r["verdict"] == "equivalent"
    assert (t["p_adj"].dropna() <= 1).all() and "borderline" in t.columns


def test_activation_claims_leave_out_missing_inits_and_keep_inconclusive() -> None:
    s = _synthetic()
    noisy = s.copy()
    he = noisy["init"] == h.HE
    noisy.loc[he, "frac_dead_units"] = [0.0, 0.5, 0.0, 0.5, 0.0] * 2  # he's dead share swings 0 / 50%
    t = h.activation_claims(noisy[noisy["init"] != h.LECUN]).set_index("claim")
    assert not any("lecun" in c for c in t.index)
    assert t.loc["random_normal_001 leaves more units dead than he_normal", "verdict"] == "inconclusive"
    assert h.activation_claims(s[s["init"] == h.ZERO]).index.size == 1  # only the last-layer claim


def _study(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dataset": "mnist", "model": "m", "init": init, "seed": s, "epoch": 1, "test_accuracy": v, "status": "ok"}
            for init, vals in values.items()
            for s, v in zip(SEEDS, vals)
        ]
    )


def test_accuracy_claims_by_statement() -> None:
    df = _study(
        {
            h.ZERO: [0.1135] * 5,
            h.SMALL: _jitter(0.977, 0.001),
            h.GLOROT: _jitter(0.977, 0.0012),
            h.HE: _jitter(0.9775, 0.0011),
            h.LECUN: _jitter(0.960, 0.001),
        }
    )
    t = h.accuracy_claims(df, 0.005).set_index("claim")
    assert list(t["statement"]) == [h.ZERO, h.SMALL, h.GLOROT, h.HE, h.HE]
    assert t.loc["he_normal > zeros", "verdict"] == "supported"
    assert t.loc["glorot_normal > random_normal_001", "verdict"] == "equivalent"
    assert t.loc["he_normal > lecun_normal", "verdict"] == "supported"
    assert (t["unit"] == "pp").all() and (t["delta"] == 0.005).all()
    assert list(h.accuracy_claims(df[df["init"] != h.ZERO], 0.005)["claim"])[0] == "he_normal > random_normal_001"


def test_claim_lines_and_claims_text() -> None:
    act = h.activation_claims(_synthetic())
    df = _study({h.ZERO: [0.1135] * 5, h.HE: _jitter(0.9775, 0.0011)})
    acc = h.accuracy_claims(df, 0.005)
    lines = h.claim_lines(act)
    assert lines[0].startswith("- random_normal_001 leaves more units dead than he_normal: +25.00 pp, 95% CI [")
    p = act.iloc[0]["p_adj"]
    assert p < 1e-3 and f"Holm p = {p:.3g} → **supported**" in lines[0]  # a small p printed, not 0.000
    assert any(
        line.endswith(
            "**negligible: equivalent within ±2 pp (within ±1 pp: yes, ±4 pp: yes) (exact: the same in all 5 seeds)**"
        )
        for line in lines
    )
    assert any(
        "std of glorot_normal > std of random_normal_001: -50.00 %" in line and "**reversed" in line for line in lines
    )
    one = act.iloc[:1].assign(n=1, verdict="inconclusive")
    assert h.claim_lines(one)[0] == (
        "- random_normal_001 leaves more units dead than he_normal: +25.00 pp from one "
        "seed → **inconclusive (needs at least 2 seeds)**"
    )
    text = h.claims_text(act, acc, _synthetic())
    assert text.startswith(
        "- **Zero**: every layer's activations sit at zero, and the model learns poorly.\n"
        "  - Every activation of every layer is exactly 0 in all 5 seeds: **holds**"
    )
    assert "  - he_normal > zeros: +86.40 pp" in text
    assert text.index("**Random normal") < text.index("**He**") < text.index("**Every method**")
    # random normal's layers: 0.9 +- jitter and 0.6 +- jitter exactly zero: "not normal"
    assert "  - Not normal: a ReLU output is never negative, and 59.6%–90.4% of each layer's activations" in text
    assert (
        "(shares in percentage points, δ = 2 pp; standard deviations as a relative difference, δ = 10%): "
        "15 test(s), each a paired t-test over 5 seeds" in text
    )
    assert "test accuracy after the last epoch): 1 test(s)" in text
    s = _synthetic()
    s.loc[s["init"] == h.ZERO, "frac_zero"] = 0.5
    assert "ranges 50.0% over layers and seeds" in h.claims_text(act, acc, s)


def _at_init(alike: bool) -> pd.DataFrame:
    rows = []
    for init, scale in ((h.SMALL, 0.01), (h.GLOROT, 1.0), (h.HE, 1.4)):
        for seed in (0, 1):
            for k, layer in enumerate(LAYERS):
                fz = 0.5 + 0.01 * k + (0.02 if (not alike and init == h.HE) else 0.0)
                rows.append(
                    {
                        "init": init,
                        "seed": seed,
                        "stage": "at init",
                        "layer": layer,
                        "units": 4,
                        "std": scale * (0.5**k),
                        "frac_zero": fz,
                    }
                )
    return pd.DataFrame(rows)


def test_init_text_by_hand() -> None:
    text = h.init_text(_at_init(True), [h.ZERO, h.SMALL, h.GLOROT, h.HE])
    assert text.startswith(
        "At initialization the activation std goes from hidden_1 to hidden_2 as follows "
        "(mean over seeds): random_normal_001 0.01 → 0.005; glorot_normal 1 → 0.5; "
        "he_normal 1.4 → 0.7."
    )
    assert "glorot_normal, he_normal have the same shares of exactly-zero activations" in text
    assert "same shares" not in h.init_text(_at_init(False), [h.SMALL, h.GLOROT, h.HE])


def test_adam_threshold() -> None:
    assert h.adam_threshold(1) == pytest.approx(1e-7 / math.sqrt(0.001))
    assert h.adam_threshold(100_000) == pytest.approx(1e-7)


def _grads() -> pd.DataFrame:
    rows = []
    for init, at_init, trained in ((h.SMALL, 1e-4, 0.1), (h.HE, 1.0, 0.2), (h.ZERO, 0.0, 0.0)):
        for seed in (0, 1):
            for k, layer in enumerate(LAYERS):
                rows += [
                    {
                        "init": init,
                        "seed": seed,
                        "stage": "at init",
                        "layer": layer,
                        "kernel_grad_norm": at_init * (1 + k),
                    },
                    {
                        "init": init,
                        "seed": seed,
                        "stage": "trained",
                        "layer": layer,
                        "kernel_grad_norm": trained / (1 + 19 * k),
                    },
                ]
    return pd.DataFrame(rows)


def _steps(small_grad: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"init": init, "seed": 0, "layer": layer, "grad_rms": g, "step_rms": s, "kernel_std": w}
            for init, g, s, w in ((h.SMALL, small_grad, 1e-4, 0.01), (h.HE, 3e-3, 8e-4, 0.05))
            for layer in LAYERS
        ]
    )


def test_adam_text_by_hand() -> None:
    df = _study({h.SMALL: _jitter(0.977, 0.001), h.HE: _jitter(0.977, 0.0012)})
    acc = h.accuracy_claims(df, 0.005)
    text = h.adam_text(grads=_grads(), steps=_steps(2e-7), df=df, accuracy=acc)
    assert text.startswith(
        "At initialization he_normal's kernel gradients are 1e+04 times random_normal_001's "
        "(hidden_1 to hidden_2, mean over seeds); after training 2 times."
    )
    assert (
        "root mean square is 0.0008 for he_normal and 0.0001 for random_normal_001 (hidden layers), 8 times "
        "smaller, not 1e+04" in text
    )
    assert "(root mean square 2e-07) lie below the first step's threshold ε/√(1 − β₂) = 3.16e-06" in text
    assert "the first step is 0.01 of the kernel's std for random_normal_001 and 0.016 for he_normal" in text
    assert "The paired test of he_normal > random_normal_001 is **negligible: equivalent within ±0.5 pp" in text
    assert "Adam's first step shrinks far less: its" in text  # 8 times against 1e4
    assert "are not all below the first step's threshold" in h.adam_text(
        grads=_grads(), steps=_steps(1e-5), df=df, accuracy=acc
    )
    same = _steps(2e-7)
    same.loc[same["init"] == h.SMALL, "step_rms"] = 8e-8  # 1e4 times smaller, as the gradients
    assert "Adam's first step shrinks about as much: its" in h.adam_text(
        grads=_grads(), steps=same, df=df, accuracy=acc
    )


def test_step_table() -> None:
    t = h.step_table(_steps(2e-7))
    assert list(t.columns) == ["gradient rms", "step rms", "kernel std", "step / kernel std"]
    assert t.loc[(h.HE, "hidden_1"), "step / kernel std"] == "0.016"
    assert t.loc[(h.SMALL, "hidden_2"), "gradient rms"] == "2e-07"


def test_gradient_table_and_text() -> None:
    g = _grads()
    t = h.gradient_table(g)
    assert t.loc[(h.SMALL, "at init"), "hidden_1"] == "0.0001" and t.loc[(h.ZERO, "trained"), "hidden_2"] == "0"
    text = h.gradient_text(g)
    # small: at init 1e-4 / 2e-4 = 0.5; trained 0.1 / (0.1 / 20) = 20 -> outside a factor of 10
    assert "random_normal_001 0.5 → 20; he_normal 0.5 → 20" in text
    assert "outside a factor of 10: random_normal_001 (trained), he_normal (trained)" in text
    assert text.endswith("; zeros gives every hidden kernel an exactly zero gradient throughout.")
    calm = h.gradient_text(g[g["stage"] == "at init"])
    assert "every one within a factor of 10 of 1, so no gradient vanishes or explodes across these 2" in calm
    with pytest.raises(InvalidArgumentError, match="threshold"):
        h.gradient_text(g, threshold=1.0)


def test_layer_table_formats_means_over_seeds() -> None:
    s = pd.concat([_synthetic(), _synthetic().assign(stage="at init", std=8.6e-05)])
    t = h.layer_table(s, [h.HE, h.SMALL])
    assert list(t.index.get_level_values(0).unique()) == [h.HE, h.SMALL]
    assert list(t.columns) == [
        "zero share (at init)",
        "zero share (trained)",
        "dead units (at init)",
        "dead units (trained)",
        "std (at init)",
        "std (trained)",
    ]
    assert t.loc[(h.SMALL, "hidden_1"), "std (at init)"] == "8.6e-05"  # never printed as 0
    assert t.loc[(h.SMALL, "hidden_1"), "dead units (trained)"] == "2.0"  # 0.25 of 8 units, a mean


def test_probe_runs_keep_the_first_seed_and_measure_all() -> None:
    from initlab import training

    specs = [
        training.RunSpec(
            dataset="mnist",
            model="deep_mlp",
            init=init,
            seed=seed,
            epochs=1,
            validation_split=0.0,
            train_limit=64,
            test_limit=48,
            model_params={"depth": 2, "width": 8},
        )
        for init in ("he_normal", "zeros")
        for seed in (0, 1)
    ]
    p = h.probe_runs(specs)
    assert list(p.at_init) == list(p.trained) == ["he_normal", "zeros"]
    assert set(p.trained["he_normal"]) == {"hidden_1", "hidden_2"} and len(p.trained["he_normal"]["hidden_1"]) == 48
    assert len(p.stats) == 2 * 2 * 2 * 2 and list(p.stats.columns[:4]) == ["init", "seed", "stage", "layer"]
    z = p.stats[p.stats["init"] == "zeros"]
    assert (z["dead_units"] == 8).all() and (z["frac_zero"] == 1).all()
    assert set(p.grads["layer"]) == {"hidden_1", "hidden_2"} and len(p.grads) == 2 * 2 * 2 * 2
    assert (p.grads[p.grads["init"] == "zeros"]["kernel_grad_norm"] == 0).all()
    assert len(p.runs) == 4 and set(p.runs["engine"]) <= {"stacked", "keras"}  # one epoch per run
    assert p.runs["test_accuracy"].between(0, 1).all()


def test_last_layer_claims_of_a_second_arm_are_their_own_family() -> None:
    stats = _synthetic()
    t = h.last_layer_claims(stats, 0.02)
    assert list(t["statement"].unique()) == [h.AS_PRINTED] and len(t) == 5  # one test per init
    assert t["claim"].str.startswith("as printed, ").all()
    he = t[t["claim"].str.contains("he_normal")].iloc[0]
    assert he["mean"] == pytest.approx(0.6 - 0.9) and he["verdict"] == "reversed"  # hidden_2 has fewer zeros
    assert (t["p_adj"] >= t["p"]).all() and t["p_adj"].max() <= 1  # Holm within the arm's family
    assert h.last_layer_claims(stats[stats["layer"] == "hidden_1"]).empty  # one layer: nothing to compare
    text = h.last_layer_text(t)
    assert text.startswith("- **Every method**") and text.count("→ **reversed") == 4
    assert "as printed, zeros: hidden_2 has more activations exactly 0 than hidden_1: +0.00 pp in every seed" in text
    assert "*Method.* The family is the last-layer statement on the source's model as printed" in text
    assert "5 test(s)" in text and "over 5 seeds" in text
    both = h.claims_text(h.activation_claims(stats, 0.02, 0.1), pd.DataFrame(), stats, as_printed=t)
    assert both.count("as printed, ") == 5 and both.count("*Method.*") == 3
    # an arm whose runs never trained says so beside the shares it judges
    dead = pd.DataFrame({"runs": [5, 5], "failed": [5, 5]}, index=["zeros", "he_normal"])
    assert "Every one of these runs failed (test accuracy below 20%; chance is 10%)" in h.last_layer_text(t, dead)
    some = pd.DataFrame({"runs": [5, 5], "failed": [0, 2]}, index=["zeros", "he_normal"])
    assert "2 of 10 of these runs failed" in h.claims_text(
        h.activation_claims(stats, 0.02, 0.1), pd.DataFrame(), stats, as_printed=t, as_printed_accuracy=some
    )
    assert h.failed_arm_note(some.assign(failed=0)) == ""


def test_arm_accuracy_counts_failed_runs_apart() -> None:
    rows = []
    for init, accs, status in [
        ("he_normal", [0.95, 0.96, 0.97, 0.1, 0.1], "ok"),  # 2 at chance: failures, not part of the mean
        ("zeros", [0.1135] * 5, "ok"),  # all at chance
        ("glorot_normal", [0.9, 0.92, 0.94, 0.96, 0.98], "ok"),
    ]:
        for seed, a in enumerate(accs):
            rows.append({"init": init, "seed": seed, "epoch": 5, "test_accuracy": a, "status": status})
    rows.append({"init": "lecun_normal", "seed": 0, "epoch": 5, "test_accuracy": np.nan, "status": "diverged"})
    rows.append({"init": "lecun_normal", "seed": 1, "epoch": 5, "test_accuracy": 0.9, "status": "ok"})
    t = h.arm_accuracy(pd.DataFrame(rows))
    assert t.loc["he_normal", "failed"] == 2 and t.loc["he_normal", "trained (%)"].startswith("96.00 ± ")
    assert t.loc["zeros", "failed"] == 5 and t.loc["zeros", "trained (%)"] == "-"
    assert t.loc["zeros", "failure rate (95% CI)"] == "100% [57%, 100%]"  # Wilson, 5 of 5
    assert t.loc["glorot_normal", "failed"] == 0 and t.loc["glorot_normal", "trained (%)"] == "94.00 ± 3.93"
    assert t.loc["lecun_normal", "failed"] == 1 and t.loc["lecun_normal", "trained (%)"] == "90.00"


def test_source_histogram_grid_draws_the_source_window() -> None:
    from initlab import plots

    acts = {"x": {"hidden_1": np.array([0.0] * 8 + [1.0, 2.0]), "hidden_2": np.linspace(0, 0.5, 1000)}}
    fig = plots.source_histogram_grid(acts, title="t")
    a, b = fig.axes
    assert a.get_xlim() == (-1, 1) and a.get_ylim() == (0, 4) and a.get_yscale() == "linear"
    assert a.get_title() == "hidden_1" and a.get_ylabel() == "x\ndensity"
    # 10% beyond the window; the bar at 0 (density 20, see test_source_window_by_hand) is cut off
    assert a.texts[0].get_text() == "10.0% beyond x = 1\nbar cut off at 4 (reaches 20)"
    assert b.texts[0].get_text() == "0.0% beyond x = 1"  # density 2 everywhere: nothing cut off
    assert fig._suptitle.get_text() == "t"
