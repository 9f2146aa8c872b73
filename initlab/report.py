"""Shared tables and verdict sentences: mean ± CI tables, a family of tests in words, ranking verdicts.

Each notebook's own tables and verdicts are in :mod:`initlab.findings`; they are
written from the results with these pieces, never by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.stats import (
    ALPHA,
    BORDERLINE,
    VERDICTS,
    failure_summary,
    final_epochs,
    ranking_verdict,
    summarize,
    verdict_label,
)


def fmt_ci(mean: float, half: float, scale: float = 100.0, digits: int = 2) -> str:
    """``"97.41 ± 0.12"`` (accuracies as percent by default); no interval with one seed."""
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(half):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def fmt_p(p: float) -> str:
    """``"= 0.042"``, or ``"< 0.001"`` for smaller p-values (never a bare 0 or 1 that reads as exact)."""
    if not np.isfinite(p):
        return "= n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def summary_table(df: pd.DataFrame, values: Sequence[str] = ("test_accuracy", "test_loss"),
                  by: Sequence[str] = ("init",), fail_below: float | None = None) -> pd.DataFrame:
    """Mean ± CI of each value per group, plus the number of seeds and diverged runs.

    With ``fail_below`` (an accuracy), runs below it count as failures: a ``failed``
    column gives their number and rate with a Wilson interval, and every value is
    averaged over the runs that trained only.
    """
    runs = final_epochs(df)
    if fail_below is not None:
        ok = runs["test_accuracy"].ge(fail_below) & np.isfinite(runs["test_accuracy"])
        kept = runs[ok].assign(epoch=runs["epoch"].max())
    else:
        kept = runs
    out = None
    for value in values:
        s = summarize(kept, value, by=by).reindex(columns=[*by, "mean", "half_width"]) if len(kept) else \
            pd.DataFrame(columns=[*by, "mean", "half_width"])
        scale = 100.0 if "accuracy" in value else 1.0
        digits = 2 if "accuracy" in value else 4
        s[value] = [fmt_ci(m, h, scale, digits) for m, h in zip(s["mean"], s["half_width"])]
        s = s[[*by, value]]
        out = s if out is None else out.merge(s, on=list(by), how="outer")
    groups = runs.groupby(list(by), sort=False)
    seeds = groups.agg(seeds=("seed", "nunique"),
                       diverged=("status", lambda x: int((x == "diverged").sum()))).reset_index()
    table = seeds.merge(out, on=list(by), how="left")
    for value in values:
        table[value] = table[value].fillna("no run trained")
    if fail_below is not None:
        cells = []
        for _, g in groups:
            f = failure_summary(g["test_accuracy"].to_numpy(dtype=float), fail_below)
            cells.append(f"{f['failed']} of {f['n']} ({f['rate']:.0%}, 95% CI {f['rate_low']:.0%}–{f['rate_high']:.0%})")
        table["failed"] = cells
    return table.set_index(list(by))[[*values, "seeds", "diverged", *(["failed"] if fail_below is not None else [])]]


def protocol_text(family: str, n_tests: int, seeds: int | str, delta: float, scale: float = 100.0,
                  unit: str = "pp") -> str:
    """The sentence that names a family of tests, its correction and its seeds."""
    return (f"*Method.* The family is {family}: {n_tests} test(s), each a paired t-test over {seeds} seeds "
            f"(two-sided, for a difference) and two one-sided tests (for equivalence within "
            f"±{delta * scale:g} {unit}), Holm-corrected together at α = {ALPHA:g}. A claim is *supported* or "
            f"*reversed* when the corrected difference test rejects, *equivalent* when the corrected "
            f"equivalence test does, and otherwise *inconclusive*, with the seeds that would give 80% power "
            f"against the gap claimed (that test alone). *Borderline* marks a corrected p-value within a "
            f"factor of {BORDERLINE:g} of α: another machine's rounding could move it across.")


def family_lines(table: pd.DataFrame, delta: float, scale: float = 100.0, unit: str = "pp",
                 label: str = "claim") -> list[str]:
    """One Markdown bullet per tested claim: difference, CI, corrected p-value and verdict."""
    lines = []
    for _, r in table.iterrows():
        if r["n"] < 2:
            stats_part = f"{scale * r['mean']:+.2f} {unit} from one seed" if np.isfinite(r["mean"]) else "no paired seeds"
        elif r["exact"]:
            stats_part = f"{scale * r['mean']:+.2f} {unit} in every seed"
        else:
            stats_part = (f"{scale * r['mean']:+.2f} {unit}, 95% CI [{scale * r['ci_low']:+.2f}, "
                          f"{scale * r['ci_high']:+.2f}], Holm p {fmt_p(r['p_adj'])}")
        lines.append(f"- {r[label]}: {stats_part} → **{verdict_label(r, delta, scale, unit)}**")
    return lines


def verdict_counts(table: pd.DataFrame) -> str:
    """``"2 supported, 1 inconclusive"``: the verdicts of a family, counted (zero counts left out)."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts) or "no tests"


def ranking_text(df: pd.DataFrame, claimed: Sequence[str], delta: float, value: str = "test_accuracy",
                 source: str = "the source", gaps: Sequence[float | None] | None = None) -> str:
    """A Markdown verdict on a claimed ranking (best first): each adjacent step a paired test, one Holm family.

    Args:
        df: the study's tidy frame.
        claimed: initializers, best first.
        delta: the equivalence margin (units of ``value``; accuracies as fractions).
        gaps: per step the gap the source reports (for the seeds-needed estimate).
    """
    if len(claimed) < 2:
        raise InvalidArgumentError("claimed", list(claimed), "must rank at least two initializers")
    v = ranking_verdict(df, claimed, delta, value, gaps=gaps)
    n = int(v["n"].min()) if len(v) else 0
    lines = [f"Claimed ranking by {source}: **{' > '.join(claimed)}** ({value.replace('_', ' ')}), "
             f"differences in percentage points:", "", *family_lines(v, delta), ""]
    supported = int((v["verdict"] == "supported").sum())
    whole = ("**holds**" if supported == len(v) else
             "**is not established**" if not (v["verdict"] == "reversed").any() else "**is contradicted**")
    lines += [f"Of {len(v)} adjacent steps: {verdict_counts(v)}; the ranking as a whole {whole}.", "",
              protocol_text(f"the {len(v)} adjacent steps of this ranking", len(v), n, delta)]
    return "\n".join(lines)
