"""Shared tables and verdict sentences: mean ± CI tables, a family of tests in words, ranking verdicts.

Each notebook's own tables and verdicts are in :mod:`initlab.findings`; they are
written from the results with these pieces, never by hand: numbers with their
intervals (:func:`fmt_ci`, :func:`fmt_mean_ci` for bounded values, :func:`fmt_interval`,
:func:`fmt_diff_ci`, :func:`fmt_pi`, :func:`fmt_p`, :func:`fmt_seeds`), runs that failed as
a rate (:func:`fmt_runs`), the runs-and-time line (:func:`runs_line`), and :class:`Prose`, the
text every writer returns, which Jupyter shows as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.stats import (
    ALPHA,
    BORDERLINE,
    MAX_SEEDS,
    SEEDS_RANGE,
    VERDICT_WORDS,
    VERDICTS,
    bounded_mean_ci,
    failure_summary,
    failure_threshold,
    final_epochs,
    mean_ci,
    ranking_verdict,
    seeds_shown,
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


def fmt_mean_ci(
    values: Sequence[float], *, scale: float = 100.0, digits: int = 2, bounds: tuple[float, float] | None = (0.0, 1.0)
) -> str:
    """The mean of ``values`` with its 95% CI, kept inside ``bounds`` (accuracies: 0 to 1).

    ``"97.41 ± 0.12"`` (:func:`fmt_ci`) while mean ± half-width stays inside the bounds;
    otherwise the logit-t interval (:func:`initlab.stats.bounded_mean_ci`), which cannot
    leave them: ``"99.50 [97.93, 99.88]"``. ``bounds=None``: an unbounded quantity, always ±.
    """
    ci = mean_ci(values)
    if bounds is None or not np.isfinite(ci["half_width"]) or bounds[0] <= ci["ci_low"] <= ci["ci_high"] <= bounds[1]:
        return fmt_ci(ci["mean"], ci["half_width"], scale, digits=digits)
    b = bounded_mean_ci(values, low=bounds[0], high=bounds[1])
    return f"{b['mean'] * scale:.{digits}f} {fmt_interval(b['ci_low'], b['ci_high'], scale=scale, digits=digits)}"


def fmt_runs(
    values: Sequence[float],
    *,
    fail_below: float | None = None,
    scale: float = 100.0,
    digits: int = 2,
    bounds: tuple[float, float] | None = (0.0, 1.0),
    what: str = "runs",
) -> str:
    """Runs' values as a reader should see them: a failure rate when some failed, else a mean with its CI.

    Failed runs (:func:`initlab.stats.failure_threshold`: below ``fail_below``, the lower
    cluster of a bimodal set, or diverged) give ``"2 of 5 runs failed (below 50.00; 40%,
    95% CI 12%–77%); the 3 that trained: 97.10 ± 0.30"``, never a mean ± CI over both
    modes; otherwise :func:`fmt_mean_ci`.
    """
    threshold = failure_threshold(values, fail_below=fail_below)
    if np.isnan(threshold):
        return fmt_mean_ci(values, scale=scale, digits=digits, bounds=bounds)
    f = failure_summary(values, threshold)
    x = np.asarray(list(values), dtype=float)
    trained = x[np.isfinite(x) & (x >= threshold)]
    why = "diverged" if np.isinf(threshold) else f"below {threshold * scale:.{digits}f}"
    text = (
        f"{f['failed']} of {f['n']} {what} failed ({why}; {f['rate']:.0%}, "
        f"95% CI {f['rate_low']:.0%}–{f['rate_high']:.0%})"
    )
    if not trained.size:
        return text + "; none trained"
    return (
        text + f"; the {trained.size} that trained: {fmt_mean_ci(trained, scale=scale, digits=digits, bounds=bounds)}"
    )


def fmt_seeds(need: float, low: float, high: float) -> str:
    """A seeds-needed estimate as printed: ``"14 (95% CI 6–140)"``; ``"more than 10,000"`` when even the
    interval's low end is; ``"—"`` when unknown or not shown by the rule of :func:`initlab.stats.seeds_shown`
    (an interval unbounded, or whose ends differ by more than :data:`initlab.stats.SEEDS_RANGE` times)."""
    if np.isinf(low):
        return f"more than {MAX_SEEDS:,}"
    if not (np.isfinite(need) and seeds_shown(low, high)):
        return "—"
    return f"{int(need)} (95% CI {int(low)}–{int(high):,})"


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


def _key(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def summary_table(
    df: pd.DataFrame,
    values: Sequence[str] = ("test_accuracy", "test_loss"),
    by: Sequence[str] = ("init",),
    *,
    fail_below: float | None = None,
) -> pd.DataFrame:
    """Mean ± CI of each value per group, plus the number of seeds and diverged runs.

    Runs that failed never enter a mean: per group, a run fails below ``fail_below`` (an
    accuracy), in the lower cluster of a bimodal set, or with no final accuracy
    (:func:`initlab.stats.failure_threshold`). When some run failed, or ``fail_below`` is
    given, a ``failed`` column gives their number and rate with a Wilson interval (and
    the threshold, where it is not ``fail_below``), and every value is averaged over the
    runs that trained only, its cell saying ``(n = 4)`` where those are fewer than the seeds.
    Accuracy intervals stay inside 0–100% (:func:`fmt_mean_ci`).
    """
    runs = final_epochs(df)
    thresholds = {}
    for key, g in runs.groupby(list(by), sort=False):
        t = failure_threshold(g["test_accuracy"].to_numpy(dtype=float), fail_below=fail_below)
        thresholds[_key(key)] = fail_below if fail_below is not None and not np.isfinite(t) else t
    failing = fail_below is not None or any(not np.isnan(t) for t in thresholds.values())
    limit = [thresholds[k] for k in runs[list(by)].itertuples(index=False, name=None)]
    ok = runs["test_accuracy"].ge(np.nan_to_num(np.asarray(limit, dtype=float), nan=-np.inf)) & np.isfinite(
        runs["test_accuracy"]
    )
    kept = runs[ok].assign(epoch=runs["epoch"].max()) if failing else runs
    out = None
    for value in values:
        s = (
            summarize(kept, value, by=by).reindex(columns=[*by, "mean", "half_width"])
            if len(kept)
            else pd.DataFrame(columns=[*by, "mean", "half_width"])
        )
        scale = 100.0 if "accuracy" in value else 1.0
        digits = 2 if "accuracy" in value else 4
        if "accuracy" in value and len(kept):  # bounded: an interval running past 0 or 100% is drawn inside
            cells = kept.groupby(list(by), sort=False)[value].apply(
                lambda v: fmt_mean_ci(v.to_numpy(dtype=float), scale=scale, digits=digits)
            )
            s[value] = [cells[k if len(by) > 1 else k[0]] for k in s[list(by)].itertuples(index=False, name=None)]
        else:
            s[value] = [fmt_ci(m, h, scale, digits=digits) for m, h in zip(s["mean"], s["half_width"])]
        s = s[[*by, value]]
        out = s if out is None else out.merge(s, on=list(by), how="outer")
    groups = runs.groupby(list(by), sort=False)
    seeds = groups.agg(
        seeds=("seed", "nunique"), diverged=("status", lambda x: int((x == "diverged").sum()))
    ).reset_index()
    table = seeds.merge(out, on=list(by), how="left")
    if failing:  # a mean over fewer runs than the group has says over how many
        counts = kept.groupby(list(by), sort=False)["seed"].nunique().rename("averaged").reset_index()
        table = table.merge(counts, on=list(by), how="left")
        fewer = table["averaged"].fillna(0).lt(table["seeds"]) & table["averaged"].fillna(0).gt(0)
        for value in values:
            table[value] = [
                f"{cell} (n = {int(n)})" if short and isinstance(cell, str) else cell
                for cell, n, short in zip(table[value], table["averaged"].fillna(0), fewer)
            ]
        table = table.drop(columns="averaged")
    for value in values:
        table[value] = table[value].fillna("no run trained")
    if failing:
        cells = []
        for key, g in groups:
            t = thresholds[_key(key)]
            f = failure_summary(g["test_accuracy"].to_numpy(dtype=float), -np.inf if np.isnan(t) else t)
            rate = f"{f['rate']:.0%}, 95% CI {f['rate_low']:.0%}–{f['rate_high']:.0%}"
            why = "" if t == fail_below or np.isnan(t) else " diverged" if np.isinf(t) else f" below {100 * t:.2f}"
            cells.append(f"{f['failed']} of {f['n']}{why} ({rate})")
        table["failed"] = cells
    return table.set_index(list(by))[[*values, "seeds", "diverged", *(["failed"] if failing else [])]]


def family_p_values(table: pd.DataFrame) -> tuple[int, int]:
    """``(p-values, claims)`` a :func:`initlab.stats.test_family` table corrects together: the difference and
    equivalence p-values that exist (a sign test has no equivalence test; exact rows and rows without paired
    seeds have none), and the claims with at least one."""
    exact = table["exact"].astype(bool).to_numpy() if "exact" in table.columns else np.zeros(len(table), bool)
    p = np.isfinite(table["p"].to_numpy(float)) & ~exact if "p" in table.columns else np.zeros(len(table), bool)
    q = (
        np.isfinite(table["p_equiv"].to_numpy(float)) & ~exact
        if "p_equiv" in table.columns
        else np.zeros(len(table), bool)
    )
    return int(p.sum() + q.sum()), int((p | q).sum())


def protocol_text(
    family: str,
    n_tests: int,
    seeds: int | str,
    *,
    delta: float,
    scale: float = 100.0,
    unit: str = "pp",
    table: pd.DataFrame | None = None,
) -> str:
    """The sentence that names a family of tests, its correction, its verdict words and its seeds; given the
    family's ``table``, the p-values it counts are those the table holds (:func:`family_p_values`)."""
    d = delta * scale
    p_values, tested = family_p_values(table) if table is not None else (2 * n_tests, n_tests)
    return (
        f"*Method.* The family is {family}: {n_tests} test(s), each a paired t-test over {seeds} seeds "
        f"(two-sided, for a difference) and two one-sided tests (for equivalence within "
        f"±{d:g} {unit}), all {p_values} p-values Holm-corrected together at α = {ALPHA:g} (a claim's two "
        f"null hypotheses cannot both hold, so no step multiplies by more than {max(tested, 1)}). A claim is "
        f"*negligible* when the corrected equivalence test rejects, whatever the sign, and its line says "
        f"whether that also holds within ±{d / 2:g} and ±{2 * d:g} {unit}; *supported* or *reversed* when "
        f"the corrected difference test rejects and the 95% CI does not lie inside ±{d:g} {unit} (a line says "
        f"when the CI still reaches inside ±{d:g} {unit}); otherwise *inconclusive*, with the seeds that would "
        f"give 80% power against the gap claimed (that test alone) and their 95% interval from the spread's "
        f"chi-square interval, shown only when that interval is bounded and its ends lie within a factor of "
        f"{SEEDS_RANGE:g}. *Borderline* marks a corrected p-value within a factor of {BORDERLINE:g} of α: another "
        f"machine's rounding could move it across."
    )


def _sign_line(r: pd.Series, delta: float, label: str) -> str:
    """A sign-test claim (:func:`initlab.stats.paired_or_sign`) as a Markdown bullet: seeds ahead and behind."""
    both = int(r.get("both_failed", 0) or 0)
    ties = f", {int(r['ties'])} tied" + (f" ({both} with both runs failed)" if both else "") if r["ties"] else ""
    p = f", Holm p = {r['p_adj']:.3f}" if np.isfinite(r["p_adj"]) else ""
    none = (
        " — both failed in every seed: failure is compared as a rate (the failure table), not ranked"
        if both and both == r["ties"] and not r["n"]
        else ""
    )
    a, b = (r["a"], r["b"]) if "a" in r and "b" in r else ("a", "b")
    return (
        f"- {r[label]}: {a} ahead in {int(r['wins'])} seed(s), behind in {int(r['losses'])}{ties} (sign test: a "
        f"failed run counts last){p}{none} → **{verdict_label(r, delta)}**"
    )


def family_lines(
    table: pd.DataFrame, delta: float, scale: float = 100.0, *, unit: str = "pp", label: str = "claim"
) -> list[str]:
    """One Markdown bullet per tested claim: difference, CI, the deciding corrected p-value (the equivalence
    test's for a negligible claim) and verdict; a sign test (a row with ``test == "sign"``) as the seeds each
    side was ahead in, a test of failure rates (``test == "failures"``) as the two sides' failure counts."""
    lines = []
    for _, r in table.iterrows():
        if r.get("test") == "sign":
            lines.append(_sign_line(r, delta, label))
            continue
        if r.get("test") == "failures":
            p = f", Holm p {fmt_p(r['p_adj'])}" if np.isfinite(r["p_adj"]) else ""
            lines.append(
                f"- {r[label]}: failed in {int(r['a_failed'])} vs {int(r['b_failed'])} of {int(r['n'])} runs "
                f"(Fisher's exact test on the failure rates: a failure is a rate, not averaged){p} → "
                f"**{verdict_label(r, delta)}**"
            )
            continue
        if r["n"] < 2:
            stats_part = (
                f"{scale * r['mean']:+.2f} {unit} from one seed" if np.isfinite(r["mean"]) else "no paired seeds"
            )
        elif r["exact"]:
            stats_part = f"{scale * r['mean']:+.2f} {unit} in every seed"
        elif r["verdict"] == "equivalent":  # decided by the equivalence test: its p-value is the one shown
            stats_part = (
                f"{fmt_diff_ci(r['mean'], r['ci_low'], r['ci_high'], scale=scale, unit=unit)}, "
                f"Holm equivalence p {fmt_p(r['p_equiv_adj'])}"
            )
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
    """``"2 supported, 1 negligible"``: the verdicts of a family, counted in their printed words
    (:data:`initlab.stats.VERDICT_WORDS`; zero counts left out)."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {VERDICT_WORDS[v]}" for v in VERDICTS if v in counts) or "no tests"


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
        protocol_text(f"the {len(v)} adjacent steps of this ranking", len(v), n, delta=delta, table=v),
    ]
    return Prose("\n".join(lines))


def engine_text(df: pd.DataFrame) -> Prose:
    """Which engine trained the runs of ``df`` (its ``engine`` column) and the framework this environment has
    (TensorFlow and Keras versions, read from the installed packages)."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    engines = final_epochs(df)["engine"].value_counts() if "engine" in df.columns else pd.Series(dtype=int)
    runs = ", ".join(f"{int(n)} on the {e} engine" for e, n in engines.items()) or "no engine recorded"
    return Prose(
        f"Runs: {runs} (`stacked`: initlab's engine with `keras.Model.fit`'s arithmetic; `keras`: `fit` itself). "
        f"Framework here: TensorFlow {installed('tensorflow')}, Keras {installed('keras')}."
    )
