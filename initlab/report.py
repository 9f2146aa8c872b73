"""Shared tables and verdict sentences: mean ± CI tables, a family of tests in words, ranking verdicts.

Each notebook's own tables and verdicts are in :mod:`initlab.findings`; they are
written from the results with these pieces, never by hand: numbers with their
intervals (:func:`fmt_ci`, :func:`fmt_interval`, :func:`fmt_diff_ci`, :func:`fmt_pi`,
:func:`fmt_p`), the runs-and-time line (:func:`runs_line`), and :class:`Prose`, the
text every writer returns, which Jupyter shows as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


class Prose(str):
    """A writer's text: a ``str`` (search, compare and join it as one) that Jupyter shows as Markdown.

    ``display(writer(...))`` renders it; IPython's plain printer and ``print`` show the text as is.
    """

    def _repr_markdown_(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def fmt_ci(mean: float, half: float, scale: float = 100.0, *, digits: int = 2) -> str:
    """``"97.41 ± 0.12"`` (accuracies as percent by default); no interval with one seed."""
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(half):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def fmt_interval(
    low: float, high: float, *, scale: float = 1.0, digits: int = 2, signed: bool = False, bracketed: bool = True
) -> str:
    """An interval as printed: ``"[97.01, 97.71]"``; ``signed`` gives ``"[+0.50, -1.20]"`` (differences),
    ``bracketed=False`` ``"97.01 – 97.71"``. Both ends are multiplied by ``scale`` first."""
    sign = "+" if signed else ""
    lo, hi = f"{scale * low:{sign}.{digits}f}", f"{scale * high:{sign}.{digits}f}"
    return f"[{lo}, {hi}]" if bracketed else f"{lo} – {hi}"


def fmt_diff_ci(
    diff: float,
    low: float,
    high: float,
    *,
    scale: float = 100.0,
    unit: str | None = "pp",
    digits: int = 2,
    label: str | None = "95% CI",
) -> str:
    """A difference with its confidence interval: ``"+1.23 pp, 95% CI [+0.50, +1.96]"``.

    Signed, each value times ``scale`` (accuracies as fractions to percentage points by
    default); ``unit=None`` leaves the unit out and ``label=None`` the label:
    ``"+1.23 [+0.50, +1.96]"``.
    """
    text = f"{scale * diff:+.{digits}f}" + (f" {unit}" if unit is not None else "")
    text += f", {label}" if label is not None else ""
    return f"{text} {fmt_interval(low, high, scale=scale, digits=digits, signed=True)}"


def fmt_pi(mean: float, low: float, high: float, *, verdict: str = "inside", digits: int = 2, each: str = "run") -> str:
    """Where one run of ours lands, as printed: ``"98.70 [98.10, 99.30]"`` (mean and 95% prediction interval).

    ``verdict`` is :func:`initlab.stats.judge_published`'s: with ``equal`` or ``differs`` (every
    seed identical) ``"every run: 11.35"``, with ``one seed`` ``"98.70 (one run)"``, with
    ``no runs`` ``"no run"``; ``each`` names the unit counted (``"run"`` or ``"seed"``).
    """
    if verdict in ("equal", "differs"):
        return f"every {each}: {mean:.{digits}f}"
    if verdict == "one seed":
        return f"{mean:.{digits}f} (one {each})"
    if verdict == "no runs":
        return "no run"
    return f"{mean:.{digits}f} {fmt_interval(low, high, digits=digits)}"


def runs_line(runs: pd.DataFrame, keys: Sequence[str] | None = None) -> str:
    """``"24 runs; their recorded training time adds up to 3.5 min"``, from the runs' ``wall_time`` (seconds).

    ``runs`` has one row per run; with ``keys``, a run has several rows (one per epoch) and
    is told apart by ``keys``: runs are the distinct key combinations, and each run's time
    is counted once.
    """
    if keys is None:
        n, seconds = len(runs), runs["wall_time"].sum()
    else:
        n = len(runs.drop_duplicates(list(keys)))
        seconds = runs.groupby(list(keys))["wall_time"].first().sum()
    return f"{n} runs; their recorded training time adds up to {seconds / 60:.1f} min"


def fmt_p(p: float) -> str:
    """``"= 0.042"``, or ``"< 0.001"`` for smaller p-values (never a bare 0 or 1 that reads as exact)."""
    if not np.isfinite(p):
        return "= n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def summary_table(
    df: pd.DataFrame,
    values: Sequence[str] = ("test_accuracy", "test_loss"),
    by: Sequence[str] = ("init",),
    *,
    fail_below: float | None = None,
) -> pd.DataFrame:
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
        s = (
            summarize(kept, value, by=by).reindex(columns=[*by, "mean", "half_width"])
            if len(kept)
            else pd.DataFrame(columns=[*by, "mean", "half_width"])
        )
        scale = 100.0 if "accuracy" in value else 1.0
        digits = 2 if "accuracy" in value else 4
        s[value] = [fmt_ci(m, h, scale, digits=digits) for m, h in zip(s["mean"], s["half_width"])]
        s = s[[*by, value]]
        out = s if out is None else out.merge(s, on=list(by), how="outer")
    groups = runs.groupby(list(by), sort=False)
    seeds = groups.agg(
        seeds=("seed", "nunique"), diverged=("status", lambda x: int((x == "diverged").sum()))
    ).reset_index()
    table = seeds.merge(out, on=list(by), how="left")
    for value in values:
        table[value] = table[value].fillna("no run trained")
    if fail_below is not None:
        cells = []
        for _, g in groups:
            f = failure_summary(g["test_accuracy"].to_numpy(dtype=float), fail_below)
            rate = f"{f['rate']:.0%}, 95% CI {f['rate_low']:.0%}–{f['rate_high']:.0%}"
            cells.append(f"{f['failed']} of {f['n']} ({rate})")
        table["failed"] = cells
    return table.set_index(list(by))[[*values, "seeds", "diverged", *(["failed"] if fail_below is not None else [])]]


def protocol_text(
    family: str, n_tests: int, seeds: int | str, *, delta: float, scale: float = 100.0, unit: str = "pp"
) -> str:
    """The sentence that names a family of tests, its correction and its seeds."""
    return (
        f"*Method.* The family is {family}: {n_tests} test(s), each a paired t-test over {seeds} seeds "
        f"(two-sided, for a difference) and two one-sided tests (for equivalence within "
        f"±{delta * scale:g} {unit}), Holm-corrected together at α = {ALPHA:g}. A claim is *supported* or "
        f"*reversed* when the corrected difference test rejects, *equivalent* when the corrected "
        f"equivalence test does, and otherwise *inconclusive*, with the seeds that would give 80% power "
        f"against the gap claimed (that test alone). *Borderline* marks a corrected p-value within a "
        f"factor of {BORDERLINE:g} of α: another machine's rounding could move it across."
    )


def family_lines(
    table: pd.DataFrame, delta: float, scale: float = 100.0, *, unit: str = "pp", label: str = "claim"
) -> list[str]:
    """One Markdown bullet per tested claim: difference, CI, corrected p-value and verdict."""
    lines = []
    for _, r in table.iterrows():
        if r["n"] < 2:
            stats_part = (
                f"{scale * r['mean']:+.2f} {unit} from one seed" if np.isfinite(r["mean"]) else "no paired seeds"
            )
        elif r["exact"]:
            stats_part = f"{scale * r['mean']:+.2f} {unit} in every seed"
        else:
            stats_part = (
                f"{fmt_diff_ci(r['mean'], r['ci_low'], r['ci_high'], scale=scale, unit=unit)}, "
                f"Holm p {fmt_p(r['p_adj'])}"
            )
        lines.append(f"- {r[label]}: {stats_part} → **{verdict_label(r, delta, scale, unit=unit)}**")
    return lines


def claims_text(table: pd.DataFrame, delta: float) -> Prose:
    """A family's claims as Markdown, one bullet each (:func:`family_lines`)."""
    return Prose("\n".join(family_lines(table, delta)))


def verdict_counts(table: pd.DataFrame) -> str:
    """``"2 supported, 1 inconclusive"``: the verdicts of a family, counted (zero counts left out)."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts) or "no tests"


def ranking_text(
    *,
    df: pd.DataFrame,
    claimed: Sequence[str],
    delta: float,
    value: str = "test_accuracy",
    source: str = "the source",
    gaps: Sequence[float | None] | None = None,
) -> Prose:
    """A Markdown verdict on a claimed ranking (best first): each adjacent step a paired test, one Holm family.

    Args:
        df: the study's tidy frame.
        claimed: initializers, best first.
        delta: the equivalence margin (units of ``value``; accuracies as fractions).
        gaps: per step the gap the source reports (for the seeds-needed estimate).
    """
    if len(claimed) < 2:
        raise InvalidArgumentError("claimed", list(claimed), "must rank at least two initializers")
    v = ranking_verdict(df, claimed, delta, value=value, gaps=gaps)
    n = int(v["n"].min()) if len(v) else 0
    lines = [
        f"Claimed ranking by {source}: **{' > '.join(claimed)}** ({value.replace('_', ' ')}), "
        f"differences in percentage points:",
        "",
        *family_lines(v, delta),
        "",
    ]
    supported = int((v["verdict"] == "supported").sum())
    whole = (
        "**holds**"
        if supported == len(v)
        else "**is not established**"
        if not (v["verdict"] == "reversed").any()
        else "**is contradicted**"
    )
    lines += [
        f"Of {len(v)} adjacent steps: {verdict_counts(v)}; the ranking as a whole {whole}.",
        "",
        protocol_text(f"the {len(v)} adjacent steps of this ranking", len(v), n, delta=delta),
    ]
    return Prose("\n".join(lines))
