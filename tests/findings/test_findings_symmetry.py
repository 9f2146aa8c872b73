"""The symmetry notebook's writers on small synthetic frames with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initlab.errors import InvalidArgumentError
from initlab.findings import symmetry
from initlab.training.record import RunRecord
from initlab.training.spec import RunSpec

SEEDS = [0, 1, 2, 3, 4]


def _grads() -> pd.DataFrame:
    """Gradient norms of three networks in both precisions (kernel norms of hidden_1 and output)."""
    rows = []
    for init, (h32, o32, h64, o64) in {
        "zeros": (0.0, 0.0, 0.0, 0.0),
        "ones": (4e-6, 68.0, 4e-15, 68.0),
        "flat": (0.0, 2.0, 0.0, 2.0),
        "he_normal": (1.1, 0.5, 1.1000001, 0.5),
    }.items():
        for precision, h, o in (("float32", h32, o32), ("float64", h64, o64)):
            rows += [
                {"layer": "hidden_1", "kernel_grad_norm": h, "init": init, "seed": 0, "precision": precision},
                {"layer": "output", "kernel_grad_norm": o, "init": init, "seed": 0, "precision": precision},
            ]
    return pd.DataFrame(rows)


def test_precision_table_never_prints_a_small_norm_as_zero() -> None:
    t = symmetry.precision_table(_grads())
    assert t.loc["ones", ("hidden_1", "float64")] == "4e-15"
    assert t.loc["ones", ("hidden_1", "float32")] == "4e-06"
    assert t.loc["zeros", ("output", "float32")] == "0"
    assert t.loc["he_normal", ("hidden_1", "float64")] == "1.1"


def test_exactness_reads_float64_against_the_network_scale() -> None:
    e = symmetry.exactness(_grads()).set_index(["init", "layer"])
    assert e.loc[("ones", "hidden_1"), "scale"] == 68.0
    assert e.loc[("ones", "hidden_1"), "rel64"] == pytest.approx(4e-15 / 68)
    assert e.loc[("ones", "hidden_1"), "rel32"] == pytest.approx(4e-6 / 68)
    assert bool(e.loc[("ones", "hidden_1"), "zero"]) and not bool(e.loc[("ones", "output"), "zero"])
    assert bool(e.loc[("zeros", "hidden_1"), "zero"]) and e.loc[("zeros", "hidden_1"), "scale"] == 0
    assert not bool(e.loc[("he_normal", "hidden_1"), "zero"])
    with pytest.raises(InvalidArgumentError, match="float32 and float64"):
        symmetry.exactness(_grads().query("precision == 'float32'"))


def test_exactness_text_has_one_branch_per_case() -> None:
    lines = symmetry.exactness_text(_grads()).split("\n")
    assert lines[0].startswith("- **zeros**: every kernel gradient is exactly 0 in both precisions")
    assert lines[1].startswith(
        "- **ones**: hidden_1's kernel gradient is zero in exact arithmetic. float64 gives "
        "4e-15 (5.88e-17 of the network's largest gradient norm, 68)"
    )
    assert "float32 gives 4e-06 (5.88e-08 of it" in lines[1] and "round-off, 1e+09 times larger" in lines[1]
    assert "5.37e+08 times float64's" in lines[1]  # 2^-23 / 2^-52 = 2^29
    assert lines[2] == "- **flat**: hidden_1's kernel gradient is exactly 0 in both precisions."
    assert lines[3] == (
        "- **he_normal**: hidden_1's kernel gradient is a real one: 1.1 in float32, 1.1 in float64 "
        "(they agree to 9.1e-08 relative)."
    )


def test_majority_accuracy() -> None:
    assert symmetry.majority_accuracy(np.array([1, 1, 2]), np.array([1, 2, 2, 0])) == (1, 0.25)
    with pytest.raises(InvalidArgumentError, match="y_fit"):
        symmetry.majority_accuracy(np.array([], int), np.array([1]))


def test_noise_specs_and_labels() -> None:
    base = RunSpec(dataset="mnist", model="mlp_128", init="he_normal", seed=7)
    specs, labels = symmetry.noise_specs(base, [1.0, 0.0, 0.5], [1e-6, 0.01], seeds=[0, 3])
    assert len(specs) == len(labels) == 3 * 2 * 2
    assert labels[0] == "ones + noise 1e-06" and labels[4] == "zeros + noise 1e-06" and labels[-1] == "0.5 + noise 0.01"
    assert specs[1].seed == 3 and specs[1].init == "random_normal"
    assert specs[2].init_params == {"mean": 1.0, "stddev": 0.01}
    with pytest.raises(InvalidArgumentError, match="stddevs"):
        symmetry.noise_specs(base, [1.0], [0.0], seeds=[0])


def _record(acc: float, epochs: int = 2) -> RunRecord:
    return RunRecord.from_dict(
        {
            "history": {
                "loss": [1.0] * epochs,
                "accuracy": [0.5] * epochs,
                "val_loss": [1.0] * epochs,
                "val_accuracy": [0.5] * epochs,
            },
            "test_loss": 0.3,
            "test_accuracy": acc,
            "wall_time": 1.0,
            "status": "ok",
            "diverged_epoch": None,
        }
    )


def test_runs_frame_and_noise_table() -> None:
    base = RunSpec(dataset="mnist", model="mlp_128", init="x", seed=0)
    specs, labels = symmetry.noise_specs(base, [1.0], [1e-4], seeds=[0, 1])
    runs = symmetry.runs_frame(specs, labels, [_record(0.80), _record(0.90)])
    assert len(runs) == 4 and list(runs["epoch"]) == [1, 2, 1, 2] and set(runs["init"]) == {"ones + noise 0.0001"}
    sym = pd.DataFrame(
        [
            {
                "init": "ones + noise 0.0001",
                "seed": s,
                "epoch": e,
                "layer": layer,
                "unit_spread": 1e-5 * (1 + s) if e == 0 else 2.0 + s,
                "distinct_units": 5 if s else 4,
            }
            for s in (0, 1)
            for e in (0, 2)
            for layer in ("hidden_1", "hidden_2")
        ]
    )
    t = symmetry.noise_table(sym, runs)
    row = t.loc["ones + noise 0.0001"]
    assert row["distinct units at start"] == 4 and row["after 2 epochs"] == 4  # fewest over the seeds
    assert row["distance at start"] == "1.5e-05" and row["distance after 2"] == "2.5"
    # mean 0.85, sd 0.0707, t(0.975, 1) = 12.706: half width 12.706 * 0.0707 / sqrt 2 = 0.635
    assert row["test accuracy (%)"] == "85.00 ± 63.53" and row["seeds"] == 2


def _study(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dataset": "mnist", "model": "m", "init": init, "seed": s, "epoch": 1, "test_accuracy": v, "status": "ok"}
            for init, vals in values.items()
            for s, v in zip(SEEDS, vals)
        ]
    )


def test_constant_claims_pair_every_random_with_every_constant() -> None:
    df = _study(
        {
            "zeros": [0.1135] * 5,
            "ones": [0.28, 0.29, 0.27, 0.30, 0.28],
            "he_normal": [0.975, 0.976, 0.974, 0.975, 0.977],
            "glorot_uniform": [0.974, 0.975, 0.976, 0.973, 0.975],
        }
    )
    t = symmetry.constant_claims(df, ["zeros", "ones"], ["he_normal", "glorot_uniform"], delta=0.005)
    assert list(t["claim"]) == [
        "he_normal > zeros",
        "glorot_uniform > zeros",
        "he_normal > ones",
        "glorot_uniform > ones",
    ]
    assert (t["verdict"] == "supported").all()


def test_width_one_claims_are_equivalence_claims() -> None:
    df = _study(
        {
            "ones": [0.28, 0.29, 0.27, 0.30, 0.28],
            "ones, width 1": [0.282, 0.289, 0.272, 0.298, 0.281],
            "he_normal, width 1": [0.35, 0.36, 0.35, 0.37, 0.35],
            "zeros, width 1": [0.29, 0.30, 0.28, 0.31, 0.29],
        }
    )
    pairs = [("ones", "ones, width 1"), ("ones", "he_normal, width 1"), ("ones", "zeros, width 1")]
    t = symmetry.width_one_claims(df, pairs, 0.05)
    assert list(t["claim"]) == ["ones ≈ ones, width 1", "ones ≈ he_normal, width 1", "ones ≈ zeros, width 1"]
    # -0.04 pp (sd 0.18 pp): inside ±5 pp; -6.8 pp: below zero; -1 pp in every seed: exact and inside ±5 pp,
    # so negligible (a difference inside the margin is never a verdict on its sign)
    assert list(t["verdict"]) == ["equivalent", "reversed", "equivalent"]
    assert list(t["exact"]) == [False, False, True]


def test_noise_claims_both_directions() -> None:
    df = _study(
        {
            "ones": [0.28, 0.29, 0.27, 0.30, 0.28],
            "he_normal": [0.975, 0.976, 0.974, 0.975, 0.977],
            "x": [0.88, 0.87, 0.89, 0.86, 0.88],
            "y": [0.980, 0.981, 0.982, 0.980, 0.983],
        }
    )
    t = symmetry.noise_claims(df, ["x", "y"], "ones", best="he_normal", delta=0.005).set_index("claim")
    assert t.loc["x > ones", "verdict"] == "supported" and t.loc["y > ones", "verdict"] == "supported"
    assert t.loc["he_normal > x", "verdict"] == "supported"
    assert t.loc["he_normal > y", "verdict"] == "reversed"  # y beats he_normal by 0.58 pp in the mean


def test_collapse_table_formats_tiny_differences() -> None:
    t = symmetry.collapse_table(
        {
            "ones": {"units": 128, "identical": True, "same_class": 1.0, "max_prob_diff": 2e-11},
            "he": {"units": 128, "identical": False, "same_class": 0.137, "max_prob_diff": 0.96},
        }
    )
    assert t.loc["ones", "max_prob_diff"] == "2e-11" and t.loc["ones", "same class (%)"] == "100.00"
    assert t.loc["he", "same class (%)"] == "13.70" and not t.loc["he", "identical"]


def _sym(end_units: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "init": init,
                "seed": 0,
                "epoch": e,
                "layer": "hidden_1",
                "unit_spread": 0.0,
                "distinct_units": 1 if e == 0 and n == 1 else n,
            }
            for init, n in end_units.items()
            for e in (0, 5)
        ]
    )


def test_findings_text_sections() -> None:
    df = _study(
        {
            "zeros": [0.1135] * 5,
            "ones": [0.28, 0.29, 0.27, 0.30, 0.28],
            "he_normal": [0.975, 0.976, 0.974, 0.975, 0.977],
        }
    )
    fam = symmetry.constant_claims(df, ["zeros", "ones"], ["he_normal"], delta=0.005)
    collapse = {"init": "ones", "units": 128, "identical": True, "same_class": 1.0, "max_prob_diff": 2e-11}
    text = symmetry.findings_text(
        grads=_grads(),
        sym=_sym({"zeros": 1, "ones": 1, "he_normal": 128}),
        df=df,
        collapse=collapse,
        majority=(1, 0.1135),
        families={"Random against constant.": (fam, 0.005, "every pair")},
        constants=["zeros", "ones"],
    )
    assert "**Symmetry.** hidden_1 of zeros, ones still has a single distinct unit after 5 epochs" in text
    assert "gives the same class on 100.00% of the test images (largest probability difference 2e-11)" in text
    assert (
        "**zeros** scores 11.35 ± 0.00% over 5 seeds; the test set's share of the most frequent training "
        "class (class 1) is 11.35%: the same, it predicts that class for every image."
    ) in text
    assert "**Random against constant.**" in text and "- he_normal > ones: +" in text
    assert "*Method.* The family is every pair: 2 test(s), each a paired t-test over 5 seeds" in text
    other = symmetry.findings_text(
        grads=_grads(),
        sym=_sym({"zeros": 1, "ones": 3}),
        df=df,
        collapse=collapse,
        majority=(7, 0.10),
        families={},
        constants=["zeros", "ones"],
    )
    assert "hidden_1 of zeros still has" in other  # ones broke its symmetry here: not named
    assert "(class 7) is 10.00%." in other and "the same, it predicts" not in other
    broken = symmetry.findings_text(
        grads=_grads(),
        sym=_sym({"ones": 1}),
        df=df,
        collapse={**collapse, "same_class": 0.99},
        majority=(1, 0.1135),
        families={},
        constants=["ones"],
    )
    assert "of the test images (largest probability difference 2e-11): it is not a one-unit network." in broken


def test_exactness_text_when_only_float64_is_exactly_zero() -> None:
    g = _grads()
    g.loc[(g["init"] == "ones") & (g["layer"] == "hidden_1") & (g["precision"] == "float64"), "kernel_grad_norm"] = 0.0
    line = symmetry.exactness_text(g).split("\n")[1]
    assert line == "- **ones**: hidden_1's kernel gradient is exactly 0 in float64; float32 gives 4e-06, round-off."


def test_fmt_sig_never_prints_zero_or_a_bare_integer() -> None:
    assert symmetry.fmt_sig(4.47e-15) == "4.47e-15" and symmetry.fmt_sig(0.0) == "0"
    assert symmetry.fmt_sig(0.9996) == "1.0" and symmetry.fmt_sig(512.0) == "512.0"  # a masked decimal
    assert symmetry.fmt_sig(67.897) == "67.9" and symmetry.fmt_sig(12345.0) == "1.23e+04"
    assert symmetry.fmt_sig(float("inf")) == "inf"
