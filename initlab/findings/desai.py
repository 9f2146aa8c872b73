"""Desai's four initializers on MNIST (``000``, Table 1): the paper beside our runs, and its claims tested.

* :func:`published_comparison`: every number of Table 1 against the 95% prediction
  interval for one new run of ours (a published number is one run).
* :func:`paper_gaps` and :func:`gap_seeds`: the gaps of the paper's ranking, and how many
  seeds a paired test needs to resolve each of them at 80% power.
* convergence speed: :mod:`initlab.findings.speed` (shared with the catalogue notebook).
* :func:`equivalence_family` and :func:`equivalence_text`: which pairs' final test
  accuracies are equivalent within ±δ (two one-sided tests, Holm over the pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab.claims.verdicts import ranking_word
from initlab.findings.speed import ordered_pairs, per_run, seeds_phrase
from initlab.report import Prose, family_lines, fmt_diff_ci, fmt_interval, fmt_seeds, protocol_text, verdict_counts
from initlab.sources import desai_table
from initlab.stats import (
    ALPHA,
    BORDERLINE,
    VERDICT_WORDS,
    compare_pairs,
    gap_outside_ci,
    is_borderline,
    judge_published,
    mean_ci,
    paired_values,
    reaches_inside,
    seeds_needed,
    seeds_needed_interval,
    verdict_label,
)

# Table 1's columns: (our column, which epoch), and how a reader names them.
TABLE_1 = {
    "train_acc_first": ("accuracy", "first", "training accuracy, first epoch"),
    "train_acc_last": ("accuracy", "last", "training accuracy, last epoch"),
    "val_acc_first": ("val_accuracy", "first", "validation accuracy, first epoch"),
    "val_acc_last": ("val_accuracy", "last", "validation accuracy, last epoch"),
    "test_acc": ("test_accuracy", "last", "test accuracy"),
}


def published_rows(df: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Table 1 of ``000`` in long form, as numbers: each paper number beside where one run of ours lands.

    One row per (Table 1 column, init) for the initializers ``df`` holds: ``column`` (Table 1's name,
    e.g. ``test_acc``), ``quantity`` (in words), ``init``, ``paper``, ``ours_mean``, and the 95% prediction
    interval for one new run ``ours_pi_low``, ``ours_pi_high`` (percent, rounded to ``digits`` as printed,
    clipped to 0-100), ``verdict`` (:func:`initlab.stats.judge_published`'s: ``inside``, ``above``,
    ``below``; ``equal``/``differs`` when every seed is identical) and ``seeds``.
    """
    paper = desai_table().set_index("init")
    inits = [i for i in paper.index if i in set(df["init"])]
    rows = []
    for col, (value, which, label) in TABLE_1.items():
        runs = per_run(df, value, which)
        for init in inits:
            j = judge_published(
                runs.loc[runs["init"] == init, value].to_numpy(dtype=float), paper.loc[init, col], digits=digits
            )
            # an accuracy cannot leave [0, 100]%: the printed bounds are clipped (the verdict is unchanged)
            rows.append(
                {
                    "column": col,
                    "quantity": label,
                    "init": init,
                    "paper": j["published"],
                    "ours_mean": j["mean"],
                    "ours_pi_low": max(j["low"], 0.0) if np.isfinite(j["low"]) else np.nan,
                    "ours_pi_high": min(j["high"], 100.0) if np.isfinite(j["high"]) else np.nan,
                    "verdict": j["verdict"],
                    "seeds": j["n"],
                }
            )
    return pd.DataFrame(rows)


NEAR_BOUND = 0.02  # pp: a paper number this close to a bound of our interval could fall either side on another CPU


def near_bound(paper: float, low: float, high: float, within: float = NEAR_BOUND) -> bool:
    """Whether ``paper`` lies within ``within`` (percentage points) of either bound of [``low``, ``high``]."""
    return bool(np.isfinite(low) and np.isfinite(high) and min(abs(paper - low), abs(paper - high)) <= within + 1e-9)


def _judged_near(row: pd.Series, low: float, high: float) -> bool:
    """A verdict against the interval (not an exact comparison) whose paper number is near a bound."""
    return row["verdict"] in ("inside", "above", "below") and near_bound(row["paper"], low, high)


def published_comparison(df: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Table 1 of ``000`` in long form, as printed: each paper number beside where one run of ours lands.

    Rows are (quantity, init) for the initializers ``df`` holds. Columns: the paper's
    number, our mean, the 95% prediction interval for one new run (both in percent,
    rounded to ``digits`` as printed), and :func:`initlab.stats.judge_published`'s verdict
    (``inside``, ``above``, ``below``; ``equal``/``differs`` when every seed is identical), marked
    "at the bound" when the paper's number lies within :data:`NEAR_BOUND` pp of a bound (another machine's
    rounding could put it on the other side); the numbers are :func:`published_rows`'.
    """
    rows = []
    for _, r in published_rows(df, digits).iterrows():
        low, high = r["ours_pi_low"], r["ours_pi_high"]
        interval = fmt_interval(low, high, digits=digits, bracketed=False) if np.isfinite(low) else "n/a"
        rows.append(
            {
                "quantity": r["quantity"],
                "init": r["init"],
                "paper (%)": f"{r['paper']:.{digits}f}",
                "ours, mean (%)": f"{r['ours_mean']:.{digits}f}" if np.isfinite(r["ours_mean"]) else "n/a",
                "ours, 95% PI for one run (%)": interval,
                "paper vs. PI": r["verdict"] + (" (at the bound)" if _judged_near(r, low, high) else ""),
                "seeds": r["seeds"],
            }
        )
    return pd.DataFrame(rows).set_index(["quantity", "init"])


def published_text(table: pd.DataFrame) -> Prose:
    """How many of the paper's numbers land where one run of ours would, and which do not."""
    v = table["paper vs. PI"].str.replace(" (at the bound)", "", regex=False)
    out = table[~v.isin(["inside", "equal"])]
    marked = table["paper vs. PI"]
    at_bound = marked[marked.str.endswith("(at the bound)")]
    near = [f"{q}, {i} ({v[(q, i)]})" for q, i in at_bound.index]
    outside = [
        f"{q}: " + ", ".join(f"{i} {r['paper vs. PI']}" for (_, i), r in g.iterrows())
        for q, g in out.groupby(level=0, sort=False)
    ]
    seeds = int(table["seeds"].min()) if len(table) else 0
    head = (
        f"{int(v.isin(['inside', 'equal']).sum())} of {len(table)} numbers of Table 1 lie inside the 95% "
        f"prediction interval for one run of ours (t-based, from {seeds} seeds; a published number is one run, "
        f"so it is judged against where one new run would land, rounded to the paper's two decimals)."
    )
    return Prose(
        head
        + (
            f" Outside it ({len(out)}; the paper's run lies above or below ours, or differs from a "
            f"value every seed repeats): {'; '.join(outside)}."
            if outside
            else " None lies outside it."
        )
        + (
            f" {len(near)} lie within {NEAR_BOUND} pp of a bound, where another CPU's rounding could move them "
            f"across: {'; '.join(near)}."
            if near
            else ""
        )
    )


def paper_gaps(claimed: Sequence[str], column: str = "test_acc") -> list[float]:
    """The paper's gaps between adjacent steps of a ranking (``a - b``, as fractions, not percent)."""
    paper = desai_table().set_index("init")[column]
    return [float(paper[a] - paper[b]) / 100 for a, b in zip(claimed[:-1], claimed[1:])]


def _seed_count(gap: float, sd: float, n: int, alpha: float = ALPHA) -> str:
    """Seeds needed with their 95% interval (:func:`initlab.report.fmt_seeds`), ``"n/a"`` with no spread."""
    need = seeds_needed(gap, sd, alpha)
    if np.isnan(need):
        return "n/a"
    return fmt_seeds(need, *seeds_needed_interval(gap, sd, n, alpha))


def gap_seeds(
    df: pd.DataFrame, claimed: Sequence[str], gaps: Sequence[float], *, value: str = "test_accuracy"
) -> pd.DataFrame:
    """Seeds a paired t-test needs to resolve each claimed gap, from the spread of our paired differences.

    Two columns of seeds: for that test alone (level α), and for the strictest step of
    Holm's correction over the ``len(gaps)`` steps (level α / len(gaps)), an upper bound
    for the family. Each is ``"14 (95% CI 6–140)"``, its interval from the spread's; ``"—"``
    where that interval is unbounded or its ends lie more than 100× apart.

    Returns:
        One row per step ``a > b``: the claimed gap and our mean difference (pp), the
        standard deviation of our paired differences (pp), the seeds needed.
    """
    m = len(gaps)
    rows = []
    for (a, b), gap in zip(zip(claimed[:-1], claimed[1:]), gaps):
        w = paired_values(df, a, b, value=value)
        ci = mean_ci((w["a"] - w["b"]).to_numpy())
        rows.append(
            {
                "step": f"{a} > {b}",
                "paper gap (pp)": round(100 * gap, 2),
                "ours (pp)": round(100 * ci["mean"], 2) if np.isfinite(ci["mean"]) else np.nan,
                "sd of differences (pp)": round(100 * ci["std"], 3) if np.isfinite(ci["std"]) else np.nan,
                "seeds: alone": _seed_count(gap, ci["std"], ci["n"]),
                f"seeds: within {m} steps (α/{m})": _seed_count(gap, ci["std"], ci["n"], ALPHA / m),
                "seeds now": ci["n"],
            }
        )
    return pd.DataFrame(rows).set_index("step")


def gap_text(gaps: pd.DataFrame, ranking: pd.DataFrame) -> Prose:
    """What :func:`gap_seeds` means for each step, given the step's verdict and CI (``ranking``, same order).

    The paper's gap is said to be absent only where our 95% CI excludes it (on zero's side);
    seeds enough for 80% power, by a spread from a few seeds, do not show it.
    """
    family_col = next(c for c in gaps.columns if c.startswith("seeds: within"))
    parts = []
    ci = zip(ranking.get("ci_low", [np.nan] * len(ranking)), ranking.get("ci_high", [np.nan] * len(ranking)))
    for (step, g), verdict, (low, high) in zip(gaps.iterrows(), ranking["verdict"], ci):
        need, now, gap = g[family_col], int(g["seeds now"]), g["paper gap (pp)"]
        word = VERDICT_WORDS.get(verdict, verdict)
        count = need.split(" ")[0]
        if verdict == "supported":
            parts.append(f"{step}: resolved, supported with {now} seeds")
        elif gap_outside_ci(gap / 100, low, high):
            parts.append(
                f"{step}: the paper's {gap:.2f} pp lies outside our 95% CI "
                f"{fmt_interval(low, high, scale=100, signed=True)} and the step is {word}: a gap as large as "
                "the paper's is not there"
            )
        elif count.isdigit() and now >= int(count):
            parts.append(
                f"{step}: {now} seeds are at least the {need} that would find the paper's {gap:.2f} pp gap with "
                f"80% power, and the step is {word} (ours {g['ours (pp)']:+.2f} pp), but the paper's gap is not "
                "outside our 95% CI, so its absence is not shown"
            )
        elif count.isdigit():
            parts.append(f"{step}: {need} seeds would find the paper's {gap:.2f} pp gap with 80% power, {now} were run")
        elif need.startswith("more"):
            parts.append(f"{step}: {need} seeds (from our spread, the paper's gap cannot be resolved in practice)")
        elif need == "—":
            parts.append(f"{step}: the spread of {now} seeds is too uncertain to say how many would resolve it")
        else:
            parts.append(f"{step}: no estimate (our differences have no spread)")
    return Prose("; ".join(parts) + ".")


def equivalence_family(
    df: pd.DataFrame, inits: Sequence[str], delta: float, *, value: str = "test_accuracy"
) -> pd.DataFrame:
    """Every pair of ``inits``: is the final ``value`` equivalent within ±``delta``? One Holm family.

    Two one-sided tests per pair on the paired differences over seeds, Holm-corrected over
    the pairs (the difference tests are corrected too and kept). ``verdict`` is
    ``equivalent`` when the corrected equivalence test rejects, else ``not shown equivalent``;
    ``borderline`` is judged on the corrected equivalence p-value.
    """
    t = compare_pairs(df, ordered_pairs(inits), delta, value=value)
    t["claim"] = [f"{a} ≈ {b}" for a, b in zip(t["a"], t["b"])]
    t["verdict"] = np.where(t["p_equiv_adj"] < ALPHA, "equivalent", "not shown equivalent")
    t["borderline"] = [bool(not x and is_borderline(np.nan, q)) for x, q in zip(t["exact"], t["p_equiv_adj"])]
    return t


def equivalence_text(table: pd.DataFrame, delta: float, value: str = "test accuracy") -> Prose:
    """Which pairs are equivalent within ±δ, with each pair's difference and corrected p-values."""
    lines = []
    for _, r in table.iterrows():
        if r["n"] < 2:
            part = "fewer than 2 paired seeds"
        elif r["exact"]:
            part = f"{100 * r['mean']:+.2f} pp in every seed"
        elif not np.isfinite(r["p_equiv_adj"]):
            part = f"{100 * r['mean']:+.2f} pp in each of {int(r['n'])} seeds, too few to test a zero spread"
        else:
            part = f"{fmt_diff_ci(r['mean'], r['ci_low'], r['ci_high'])}, Holm p (equivalence) = {r['p_equiv_adj']:.3g}"
        mark = (", borderline" if r["borderline"] else "") + (" (exact: the same in every seed)" if r["exact"] else "")
        lines.append(f"- {r['claim']}: {part} → **{r['verdict']}{mark}**")
    eq = table.loc[table["verdict"] == "equivalent", "claim"].tolist()
    diff = table.loc[table["p_adj"] < ALPHA, "claim"].tolist()
    both = [c for c in eq if c in diff]
    n = seeds_phrase(table)
    lines += [
        "",
        f"Equivalent within ±{100 * delta:g} pp: {', '.join(eq) or 'no pair'}"
        f" ({len(eq)} of {len(table)} pairs). Pairs whose {value} differs (Holm-corrected paired t-test): "
        f"{', '.join(c.replace(' ≈ ', ' vs ') for c in diff) or 'none'}."
        + (f" Both at once, a real difference smaller than the margin: {', '.join(both)}." if both else ""),
        "",
        f"*Method.* The family is every pair of the {len(set(table['a']) | set(table['b']))} initializers: "
        f"{len(table)} pairs, each two one-sided paired t-tests over {n} seeds against ±{100 * delta:g} pp, "
        f"Holm-corrected together at α = {ALPHA:g}; *not shown equivalent* means the data do not exclude a "
        f"difference of {100 * delta:g} pp, not that one exists. *Borderline* marks a corrected p-value "
        f"within a factor of {BORDERLINE:g} of α.",
    ]
    return Prose("\n".join(lines))


def _near(r: pd.Series) -> str:
    """`` (CI reaches inside ±δ)`` for a resolved claim whose 95% CI reaches inside its margin (``delta``)."""
    return " (CI reaches inside ±δ)" if reaches_inside(r, r.get("delta", np.nan)) else ""


def faster_pairs(speed: pd.DataFrame) -> str:
    """The resolved claims of a :func:`speed_family` table, the faster initializer first, grouped by measure;
    a claim whose CI reaches inside its margin says so."""
    short = {"epoch1": "after epoch 1", "auc": "mean over epochs", "epochs": "epochs to the target"}
    parts = []
    for metric, label in short.items():
        sub = speed[(speed["metric"] == metric) & speed["verdict"].isin(["supported", "reversed"])]
        pairs = [
            (f"{r['a']} > {r['b']}" if r["verdict"] == "supported" else f"{r['b']} > {r['a']}") + _near(r)
            for _, r in sub.iterrows()
        ]
        if pairs:
            parts.append(f"{label}: {', '.join(pairs)}")
    return "; ".join(parts) or "none"


def ranking_whole(ranking: pd.DataFrame, delta: float) -> str:
    """What a ranking's step verdicts add up to, in words."""
    v = ranking["verdict"]
    if len(v) and (v == "supported").all():
        return "holds: every step is supported"
    if (v == "reversed").any():
        return f"is contradicted: {int((v == 'reversed').sum())} step(s) reversed"
    return f"is not established ({verdict_counts(ranking)}; negligible means equivalent within ±{100 * delta:g} pp)"


def _words(table: pd.DataFrame, delta: float, scale: float = 100.0, unit: str = "pp") -> str:

    return "; ".join(f"{r['claim']} **{verdict_label(r, delta, scale, unit=unit)}**" for _, r in table.iterrows())


def findings_text(
    *,
    published: pd.DataFrame,
    ranking: pd.DataFrame,
    speed: pd.DataFrame,
    equivalence: pd.DataFrame,
    gaps: pd.DataFrame,
    delta: float,
    target: float,
) -> Prose:
    """The closing summary: one bullet per question, each naming its test, correction and seeds.

    Args:
        published: :func:`published_comparison`.
        ranking: :func:`initlab.stats.ranking_verdict` on the paper's ranking.
        speed: :func:`speed_family`.
        equivalence: :func:`equivalence_family`.
        gaps: :func:`gap_seeds` for the ranking's steps.
    """
    n = seeds_phrase(ranking)
    tested = speed[speed["verdict"] != "not tested"]
    acc = tested[tested["metric"] != "epochs"]
    eq = equivalence.loc[equivalence["verdict"] == "equivalent", "claim"].tolist()
    whole = ranking_whole(ranking, delta)
    lines = [
        f"- **Table 1.** {published_text(published)}",
        f"- **The paper's ranking** of test accuracy (paired t-test and two one-sided tests against "
        f"±{100 * delta:g} pp on each adjacent step, over {n} seeds, Holm over the {len(ranking)} steps): "
        f"{_words(ranking, delta)}. The ranking as a whole {whole}.",
        f"- **Seeds to resolve the paper's gaps** (80% power, paired t-test at Holm's strictest level over the "
        f"{len(gaps)} steps, from the spread of our paired differences): {gap_text(gaps, ranking)}",
        f'- **Convergence speed** ({len(tested)} claims "a converges faster than b" for the pairs in the paper\'s '
        f"order, paired t-tests over {seeds_phrase(tested)} seeds, Holm over the whole "
        f"family): {verdict_counts(tested)}. On the two accuracy measures: {verdict_counts(acc)}; "
        f"epochs to {100 * target:g}%: {verdict_counts(tested[tested['metric'] == 'epochs'])}"
        + (
            f" ({len(speed) - len(tested)} not tested: the target was too rarely reached)"
            if len(tested) < len(speed)
            else ""
        )
        + f". Resolved, faster first: {faster_pairs(tested)}.",
        f"- **Final test accuracies** (two one-sided paired tests against ±{100 * delta:g} pp over "
        f"{seeds_phrase(equivalence)} seeds, Holm over the {len(equivalence)} pairs): "
        f"equivalent for {', '.join(eq) or 'no pair'}; {len(equivalence) - len(eq)} pair(s) not shown equivalent.",
    ]
    return Prose("\n".join(lines))


def validation_family(df: pd.DataFrame, best: str, delta: float) -> pd.DataFrame:
    """The paper's reading that ``best`` reaches the highest validation accuracy: ``best > x`` on the last
    epoch's validation accuracy for every other initializer, paired by seed, one Holm family, each with the
    paper's own gap (Table 1) for the seeds that would resolve it."""
    paper = desai_table().set_index("init")["val_acc_last"]
    others = [i for i in dict.fromkeys(df["init"]) if i != best]
    gaps = [float(paper[best] - paper[x]) / 100 if best in paper and x in paper else None for x in others]
    return compare_pairs(df, [(best, x) for x in others], delta, value="val_accuracy", gaps=gaps)


def validation_text(table: pd.DataFrame, best: str, delta: float) -> Prose:
    """The validation family's claims, its reading as a whole (it holds only if every step is supported) and
    its method."""
    whole = "is " + ranking_word(table["verdict"].tolist())
    n = int(table["n"].min()) if len(table) else 0
    return Prose(
        "\n".join(
            [
                *family_lines(table, delta),
                "",
                f"{best} highest in validation accuracy, as a whole, **{whole}** ({verdict_counts(table)}).",
                "",
                protocol_text(
                    f"{best} against each other initializer on the last epoch's validation accuracy",
                    len(table),
                    n,
                    delta=delta,
                    table=table,
                ),
            ]
        )
    )
