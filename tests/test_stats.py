"""Confidence intervals and paired differences against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initlab.stats import mean_ci, paired_difference, ranking_verdict, summarize


def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"dataset": "mnist", "model": "m", "init": init, "seed": s, "epoch": 1, "test_accuracy": v}
            for init, vs in values.items() for s, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_mean_ci_matches_t_formula() -> None:
    x = [0.1, 0.4, 0.35, 0.8, 0.2]
    ci = mean_ci(x)
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / np.sqrt(5)
    assert ci["mean"] == pytest.approx(np.mean(x))
    assert ci["ci_low"] == pytest.approx(np.mean(x) - half)
    assert ci["ci_high"] == pytest.approx(np.mean(x) + half)


def test_mean_ci_single_value_has_no_interval() -> None:
    ci = mean_ci([0.5])
    assert ci["n"] == 1 and np.isnan(ci["ci_low"])


def test_summarize_uses_last_epoch() -> None:
    df = _frame({"a": [0.1, 0.2], "b": [0.5, 0.7]})
    df2 = df.assign(epoch=2, test_accuracy=df.test_accuracy + 1)
    out = summarize(pd.concat([df, df2]), "test_accuracy").set_index("init")
    assert out.loc["a", "mean"] == pytest.approx(1.15)
    assert out.loc["b", "n"] == 2


def test_paired_difference_removes_shared_seed_noise() -> None:
    base = np.array([0.90, 0.95, 0.85, 0.92, 0.88])
    df = _frame({"a": list(base + 0.01), "b": list(base)})
    d = paired_difference(df, "a", "b")
    assert d["mean"] == pytest.approx(0.01)
    assert d["supported"]  # every paired gap is exactly +0.01
    # Unpaired, the same gap is swamped by the seed-to-seed spread:
    assert mean_ci(base + 0.01)["ci_low"] < mean_ci(base)["mean"]


def test_ranking_verdict_words() -> None:
    df = _frame({"a": [0.9, 0.91, 0.92], "b": [0.8, 0.82, 0.81], "c": [0.85, 0.79, 0.83]})
    v = ranking_verdict(df, ["a", "b", "c"]).set_index("claim")
    assert v.loc["a > b", "verdict"] == "supported"
    assert v.loc["b > c", "verdict"] == "not resolved"
    assert ranking_verdict(df, ["b", "a"]).iloc[0]["verdict"] == "reversed"
