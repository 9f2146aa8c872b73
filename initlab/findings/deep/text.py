"""Notebook 06's tables and prose: growth, trainability, rates, diagnoses, the claim families and
the findings, generated from the numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from initlab.claims import resolve_margin
from initlab.findings.deep.claims import rate_text, setup_name
from initlab.findings.deep.grid import (
    COLLAPSE,
    FAILS,
    FAMILIES,
    MARGIN_CLAIM,
    PREPROCESS_WORDS,
    SNN_ANSWERS,
    SNN_REFERENCE,
    TRAINS,
    VALUES,
    setup_keys,
)
from initlab.probe.depth import DEFECT_THRESHOLDS, defects
from initlab.report import Prose, family_lines, fmt_ci, fmt_seeds, protocol_text, verdict_counts
from initlab.stats import verdict_mark, wilson_interval


def growth_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """:func:`initlab.probe.depth.growth_verdicts` laid out to quote: ratios to three significant digits as text
    (a ratio of 4e-08 never prints as 0), shares as percent."""
    v = verdicts.set_index(["activation", "init"])
    out = pd.DataFrame(index=v.index)
    for way in ("forward", "backward"):
        out[f"{way} ratio"] = v[f"{way}_ratio"].map(lambda x: f"{x:.3g}")
        out[f"{way} per layer"] = v[f"{way}_per_layer"].map(lambda x: f"{x:.3g}")
        out[way] = v[way]
    for col, name in (("last_saturated", "last layer saturated"), ("last_zero", "last layer zero")):
        out[name] = v[col].map(lambda x: "-" if not np.isfinite(x) else f"{x:.0%}")
    return out


def accuracy_cell(row: Mapping, short: bool = False) -> str:
    """A set-up's test accuracy (percent) as quoted: mean ± 95% CI half-width when no run failed, or when
    every run failed without diverging (a level, not a rate); otherwise the failure count and rate with
    its Wilson interval, and the mean of the runs that learned. ``short`` keeps a table cell narrow."""
    runs, failed, diverged = int(row["runs"]), int(row["failed"]), int(row["diverged"])
    if diverged == runs:
        return f"all {runs} diverged"
    if failed == 0 or (failed == runs and diverged == 0):
        mean, half = row["mean"], row["half_width"]
        if np.isfinite(half) and (mean - half < 0 or mean + half > 1):  # the bounded interval instead
            return f"{100 * mean:.2f} [{100 * row['ci_low']:.2f}, {100 * row['ci_high']:.2f}]"
        return fmt_ci(mean, half)
    low, high = wilson_interval(failed, runs)
    if short:
        rest = f", rest {100 * row['trained_mean']:.1f}" if failed < runs else ""
        return f"{failed}/{runs} failed" + (f" ({100 * low:.0f}–{100 * high:.0f}%){rest}" if rest else "")
    div = f", {diverged} diverged" if diverged else ""
    if failed == runs:
        return f"{failed} of {runs} failed{div}"
    return f"{failed} of {runs} failed{div} (95% CI {low:.0%}–{high:.0%}); others {100 * row['trained_mean']:.2f}"


def _scaled(table: pd.DataFrame, preprocess: str = "scale") -> pd.DataFrame:
    return table[table["preprocess"] == preprocess] if "preprocess" in table.columns else table


def grade_cell(row: Mapping) -> str:
    """A set-up in a table cell (under 50 characters): ``"93.44 ± 1.55 · trains"``; where some runs
    failed, ``"1/3 failed (6–79%), rest 91.2 · partial"`` (the Wilson interval of the rate); a
    collapse adds the validation peak it fell from."""
    cell = f"{accuracy_cell(row, short=True)} · {row['status']}"
    if row["status"] == "collapses":
        cell += f" from {100 * row['peak']:.1f}"
    return cell


def trainability_table(table: pd.DataFrame, depth: int, preprocess: str = "scale") -> pd.DataFrame:
    """One depth of a :func:`trainability` table laid out to quote: inits by activation."""
    t = _scaled(table, preprocess)
    t = t[t["depth"] == depth]
    t = t.assign(cell=[grade_cell(r) for _, r in t.iterrows()])
    wide = t.pivot(index="init", columns="activation", values="cell")
    wide = wide.reindex(index=list(dict.fromkeys(t["init"])), columns=list(dict.fromkeys(t["activation"])))
    wide.columns.name = f"depth {depth}{PREPROCESS_WORDS[preprocess]}"
    return wide.fillna("-")


def _label(row: Mapping) -> str:
    """The init, with ``(standardized)`` for standardized inputs."""
    return row["init"] + (" (standardized)" if row.get("preprocess", "scale") == "standardize" else "")


def rate_table(all_rates: pd.DataFrame, chosen: pd.DataFrame, depth: int, *, default: float) -> pd.DataFrame:
    """At one depth: each set-up at ``default``, its validation score (:func:`select_rates`)
    at every rate tried, the rate chosen and its result there. ``all_rates`` is a
    :func:`trainability` table over the grid, ``chosen`` its :func:`select_rates`."""
    t = all_rates[all_rates["depth"] == depth]
    c = chosen[chosen["depth"] == depth]
    keys = [k for k in setup_keys(t, rate=False) if k != "depth"]
    picked = {tuple(r[k] for k in keys): r for _, r in c.iterrows()}
    rows = []
    for key, g in t.groupby(keys, sort=False):
        r = picked[key]
        base = g[g["learning_rate"] == default]
        scores = " / ".join(
            f"{rate_text(x['learning_rate'])}: {100 * x['val_score']:.1f}"
            for _, x in g.sort_values("learning_rate", ascending=False).iterrows()
        )
        rows.append(
            {
                "activation": r["activation"],
                "init": _label(r),
                f"at {rate_text(default)}": grade_cell(base.iloc[0]) if len(base) else "-",
                "validation score by rate": scores,
                "chosen rate": rate_text(r["learning_rate"]),
                "at the chosen rate": grade_cell(r),
            }
        )
    return pd.DataFrame(rows).set_index(["activation", "init"])


def _mark(r: Mapping, delta: float) -> str:
    return verdict_mark(r, delta)


def _edge_words(r: Mapping) -> str:
    """``"a: highest; b: lowest"``: the sides whose chosen rate is an edge of their grid (the best may lie
    beyond it), empty when neither is."""
    sides = [(s, r.get(f"{s}_edge", "")) for s in "ab"]
    return "; ".join(f"{s}: {e}" for s, e in sides if isinstance(e, str) and e)


def _side(r: Mapping, s: str) -> str:
    """One side of a test for the table: its mean over the runs that trained, and how many failed."""
    failed, mean = int(r.get(f"{s}_failed", 0) or 0), r[f"{s}_mean"]
    level = f"{100 * mean:.1f}" if np.isfinite(mean) else "none trained"
    return f"{level} ({failed} failed)" if failed else level


def claims_table(tests: pd.DataFrame, family: str, delta: float | None = None) -> pd.DataFrame:
    """One family's tests laid out to quote: both means (%) over the runs that trained with the failed runs
    counted beside, the paired difference (pp) with its 95% CI (where a run failed, the failure counts the
    claim is decided on),
    the Holm-adjusted p-value (``exact``: zero spread, decided by its size), the verdict and, for an
    inconclusive one, the seeds that would resolve the gap at 80% power with their 95% interval
    (:func:`initlab.report.fmt_seeds`: "-" where unknown, unbounded or uselessly wide). The verdict cell
    says what the family's line says about the margin ``delta`` (default the claims ledger's,
    :func:`initlab.stats.verdict_mark`)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    rows = []
    for _, r in tests[tests["family"] == family].iterrows():
        rates = r.get("test") == "failures"
        ci = f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]" if np.isfinite(r["ci_low"]) else "n/a"
        need = r["seeds_needed"]
        rows.append(
            {
                "depth": f"{r['depth']}{PREPROCESS_WORDS[r['preprocess']]}",
                "a > b": f"{r['a']} > {r['b']}",
                "a (%)": _side(r, "a"),
                "b (%)": _side(r, "b"),
                "a - b (pp)": f"failed {int(r['a_failed'])} vs {int(r['b_failed'])} of {int(r['n'])}"
                if rates
                else f"{100 * r['mean']:+.1f}"
                if np.isfinite(r["mean"])
                else "n/a",
                "95% CI": "failure rates (Fisher)" if rates else ci,
                "seeds": int(r["n"]),
                "Holm p": "exact" if r["exact"] else (f"{r['p_adj']:.3g}" if np.isfinite(r["p_adj"]) else "n/a"),
                "verdict": _mark(r, delta),
                "rate at a grid edge": _edge_words(r) or "-",
                "seeds to resolve": fmt_seeds(need, r.get("seeds_low", np.nan), r.get("seeds_high", np.nan)).replace(
                    "—", "-"
                )
                if r["verdict"] == "inconclusive"
                else "-",
            }
        )
    return pd.DataFrame(rows).set_index(["depth", "a > b"])


def _factor(word: str, ratio: float, per_layer: float) -> str:
    """``"vanishes ×0.707 per layer"``, ``"underflows to 0"``, ``"overflows"``, ``"kept"``."""
    if word == "keeps":
        return "kept"
    if ratio == 0:
        return "underflows to 0"
    if not np.isfinite(ratio):
        return "overflows"
    return f"{word} ×{per_layer:.3g} per layer (×{ratio:.3g} in all)"


def propagation_text(verdicts: pd.DataFrame) -> str:
    """Per activation: which inits keep the signal both ways at initialization, and what the others do."""
    lines = []
    for activation, v in verdicts.groupby("activation", sort=False):
        kept = v[(v["forward"] == "keeps") & (v["backward"] == "keeps")]
        others = []
        for _, r in v.drop(kept.index).iterrows():
            note = (
                f"; {r['last_saturated']:.0%} of the last layer saturated"
                if np.isfinite(r["last_saturated"]) and r["last_saturated"] > 0.5
                else ""
            )
            others.append(
                f"{r['init']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])}, "
                f"backwards {_factor(r['backward'], r['backward_ratio'], r['backward_per_layer'])}{note})"
            )
        lines.append(
            f"- **{activation}** ({int(v['depth'].max())} layers): kept both ways by "
            f"{', '.join(kept['init']) or 'none'}; not by {'; '.join(others) or 'none'}."
        )
    return "\n".join(lines)


def _grade_counts(t: pd.DataFrame) -> str:
    c = t["status"].value_counts()
    return (
        f"{c.get('trains', 0)} of {len(t)} set-ups train (mean test accuracy ≥ {TRAINS:.0%}), "
        f"{c.get('partial', 0)} partly, {c.get('fails', 0)} fail (< {FAILS:.0%}), "
        f"{c.get('collapses', 0)} collapse, {c.get('diverged', 0)} diverge"
    )


def _collapse_line(r: Mapping) -> str:
    return (
        f"{setup_name(r['activation'], r['init'])} at depth {r['depth']}: validation accuracy peaks at "
        f"{100 * r['peak']:.1f}% (median epoch {r['best_epoch']:g}) and ends at {100 * r['val_final']:.1f}%"
    )


def trainability_text(base: pd.DataFrame, chosen: pd.DataFrame, default: float, *, rates: Sequence[float]) -> str:
    """Grades per depth at the default rate and at each set-up's chosen rate, the collapses, and what the
    grid changed. ``base`` and ``chosen`` are :func:`trainability` tables (one rate per set-up)."""
    scaled = _scaled(base)
    lines = [f"At the default learning rate {rate_text(default)}:", ""]
    lines += [f"- depth {d}: {_grade_counts(t)}." for d, t in scaled.groupby("depth")]
    coll = scaled[scaled["status"] == "collapses"]
    if len(coll):
        lines += [
            "",
            "Collapses (each run's best validation accuracy minus its last, averaged over seeds, at "
            f"least {100 * COLLAPSE:.0f} pp): the network learned, then lost it:",
            "",
        ]
        lines += [f"- {_collapse_line(r)}." for _, r in coll.iterrows()]
    grid_depths = sorted(set(chosen.loc[chosen["rates"] > 1, "depth"])) if "rates" in chosen.columns else []
    rates_words = ", ".join(rate_text(r) for r in rates)
    c_scaled = _scaled(chosen)
    for d in grid_depths:
        t = c_scaled[c_scaled["depth"] == d]
        b = scaled[scaled["depth"] == d].set_index(["activation", "init"])
        changed = []
        for _, r in t.iterrows():
            was = b.loc[(r["activation"], r["init"])]
            if r["status"] != was["status"]:
                changed.append(
                    f"{setup_name(r['activation'], r['init'])}: {was['status']} at {rate_text(default)} → "
                    f"{r['status']} at {rate_text(r['learning_rate'])} ({accuracy_cell(r)}%)"
                )
        fixed = [setup_name(r["activation"], r["init"]) for _, r in t[t["rates"] == 1].iterrows()]
        only = f" Trained at {rate_text(default)} only: {', '.join(fixed)}." if fixed else ""
        n_extended = int((t["rates"] > len(rates)).sum())
        extended = f", extended at its edges for {n_extended} set-up(s)" if n_extended else ""
        lines += [
            "",
            f"At depth {d}, each set-up at the learning rate, of those it tried (the grid {rates_words}"
            f"{extended}), with the best mean final validation accuracy (never the test set): "
            f"{_grade_counts(t)}.{only}",
            "",
        ]
        lines += [f"- {c}." for c in changed] or ["- No grade changes."]
    return "\n".join(lines)


def diagnosis_text(chosen: pd.DataFrame, diag: pd.DataFrame, depth: int) -> str:
    """At ``depth``: the defects each untrained network shows, beside its grade at its chosen rate.

    Where no defect passes its threshold, the text says only that: these diagnostics
    do not account for the shortfall (they do not show that training causes it).
    """
    t = _scaled(chosen)
    t = t[t["depth"] == depth]
    d = diag.set_index(["depth", "activation", "init"])
    bad, good = [], []
    for _, r in t.iterrows():
        key = (depth, r["activation"], r["init"])
        if key not in d.index:
            continue
        found = defects(d.loc[key])
        name = f"{setup_name(r['activation'], r['init'])} ({r['status']} at {rate_text(r['learning_rate'])})"
        if r["status"] == "trains":
            if found:
                good.append(f"- {name}, despite: {'; '.join(found)}.")
            continue
        if found:
            bad.append(f"- {name}: {'; '.join(found)}.")
        else:
            m = d.loc[key]
            bad.append(
                f"- {name}: no measured defect passes its threshold (last-layer std {m['last_std']:.3g}, "
                f"cosine {m['similarity']:.3g}, gradient ratio {m['grad_ratio']:.3g}); these diagnostics "
                "do not account for the shortfall."
            )
    th = DEFECT_THRESHOLDS
    lines = [
        f"A start counts as defective when the last hidden layer's activation std is below {th['faded']:g} or "
        f"above {th['grown']:g}, no gradient reaches the hidden kernels, the first and last hidden kernels' "
        f"gradient norms differ by more than {th['gradient_ratio']:g}× either way, more than "
        f"{th['saturated']:.0%} of tanh outputs are saturated, at least {th['dead_units']:.0%} of ReLU units "
        f"are zero on every probe input, or two inputs' last-layer representations have a mean cosine "
        f"similarity of at least {th['collinear']:g} (nearly collinear: the head sees almost one direction).",
        "",
        f"At depth {depth}, the set-ups that do not train at their chosen rate:",
        "",
        *(bad or ["- none."]),
    ]
    if good:
        lines += [
            "",
            "Set-ups that train although their start shows a defect (a defect is not a verdict on trainability):",
            "",
            *good,
        ]
    return "\n".join(lines)


def family_text(tests: pd.DataFrame, family: str, seeds: int, *, delta: float | None = None) -> Prose:
    """One family's tests in words: the claim, the method, one line per test and the counts (``delta``: the
    margin the tests used, default the claims ledger's)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    t = tests[tests["family"] == family]
    unit = "pp of validation accuracy averaged over the epochs" if VALUES.get(family) == "auc" else "pp"
    lines = [
        f"**{family}**",
        "",
        protocol_text(FAMILIES[family], len(t), seeds, delta=delta, table=t),
        "",
        *family_lines(t, delta),
        "",
        f"Of {len(t)} tests: {verdict_counts(t)}.",
    ]
    edged = [(r["claim"], _edge_words(r)) for _, r in t.iterrows() if _edge_words(r)]
    if edged:
        lines += [
            "",
            f"At an edge of the rates tried ({len(edged)} of {len(t)} tests; the verdict holds for the rates "
            "tried, a better rate may lie beyond): " + "; ".join(f"{c} ({w})" for c, w in edged) + ".",
        ]
    if unit != "pp":
        lines.insert(-1, f"(Differences in {unit}.)")
    return Prose("\n".join(lines))


def families_text(tests: pd.DataFrame, seeds: int, delta: float | None = None) -> Prose:
    """Every family of :func:`claim_tests` in words (:func:`family_text`), in the order they were tested."""
    return Prose("\n\n".join(family_text(tests, f, seeds, delta=delta) for f in dict.fromkeys(tests["family"])))


def _snn_side(r: Mapping, side: str, name: str) -> str:
    """One side (``start`` or ``reference``) of an :func:`snn_answers` row: ``selu + zeros (fails: 10 of 10 runs
    failed)``, ``(partial: 6 of 10 runs failed, the rest 55.5%)`` or ``(trains, 93.0%)``: a failed run is
    counted, never averaged."""
    status, mean = r[f"{side}_status"], r[f"{side}_mean"]
    failed, runs, rest = (r.get(f"{side}_{k}", np.nan) for k in ("failed", "runs", "trained_mean"))
    if np.isfinite(failed) and failed > 0:
        rest = f", the rest {100 * rest:.1f}%" if np.isfinite(rest) and failed < runs else ""
        return f"{name} ({status}: {int(failed)} of {int(runs)} runs failed{rest})"
    return f"{name} ({status}, {100 * mean:.1f}%)" if np.isfinite(mean) else f"{name} ({status})"


def snn_text(answers: pd.DataFrame) -> Prose:
    """``004``'s self-normalizing claim, set-up by set-up, from :func:`snn_answers` (each test's verdict with
    what its line says about the margin: :func:`snn_answers`' ``mark``)."""
    lines = []
    for _, r in answers.iterrows():
        start = _snn_side(r, "start", f"selu + {r['start']}")
        ref = _snn_side(r, "reference", f"selu + {SNN_REFERENCE}")
        mark = r.get("mark", r["verdict"])
        lines.append(
            f"- depth {r['depth']}{PREPROCESS_WORDS[r['preprocess']]}: {start} against {ref}, test "
            f"**{mark}** → the claim **{r['answer']}**."
        )
    counts = answers["answer"].value_counts()
    summary = ", ".join(f"{int(counts[a])} {a}" for a in SNN_ANSWERS if a in counts) or "no cells"
    return Prose("\n".join([*lines, "", f"Of {len(answers)} (start, depth, input scaling) cells: {summary}."]))


def _claim_mark(r: Mapping) -> str:
    return r["claim"] + (" (borderline)" if r["borderline"] else " (exact)" if r["exact"] else "")


def orthogonal_at_init(verdicts: pd.DataFrame) -> str:
    """Which activations keep their signal both ways at initialization with orthogonal kernels of gain 1."""
    o = verdicts[verdicts["init"] == "orthogonal"]
    kept = o[(o["forward"] == "keeps") & (o["backward"] == "keeps")]["activation"].tolist()
    lost = [
        f"{r['activation']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])}, "
        f"backwards {_factor(r['backward'], r['backward_ratio'], r['backward_per_layer'])})"
        for _, r in o.iterrows()
        if r["activation"] not in kept
    ]
    if not len(o):
        return "Orthogonal kernels were not probed at initialization."
    return (
        f"At initialization, orthogonal kernels of gain 1 keep the signal both ways with "
        f"{', '.join(kept) or 'no activation'}" + (f"; not with {'; '.join(lost)}" if lost else "") + "."
    )


def _family_lines(tests: pd.DataFrame, verdicts: pd.DataFrame) -> list[str]:
    """One bullet per family of the post's claims, with the orthogonal start's signal under its family."""
    lines = []
    for family in dict.fromkeys(tests["family"]):
        t = tests[tests["family"] == family]
        sup = [_claim_mark(r) for _, r in t.iterrows() if r["verdict"] == "supported"]
        rev = [_claim_mark(r) for _, r in t.iterrows() if r["verdict"] == "reversed"]
        lines.append(
            f"- *{family}* ({len(t)} tests): {verdict_counts(t)}."
            + (f" Supported: {'; '.join(sup)}." if sup else "")
            + (f" Reversed: {'; '.join(rev)}." if rev else "")
        )
        if family == "orthogonal":
            lines.append(f"  {orthogonal_at_init(verdicts)}")
    return lines


def _snn_lines(answers: pd.DataFrame) -> list[str]:
    """The bullet on self-normalizing networks from a random or zero start, if any cell was answered."""
    if not len(answers):
        return []
    counts = answers["answer"].value_counts()
    return [
        f"- *Self-normalizing networks train as well from a random or zero start as with "
        f"{SNN_REFERENCE}*: of {len(answers)} (start, depth, input scaling) cells the claim "
        + ", ".join(f"{a} in {int(counts[a])}" for a in SNN_ANSWERS if a in counts)
        + ". It holds only where SELU from that start trains and its test finds it better or "
        "equivalent; an inconclusive test is never counted as holding."
    ]


def budget_text(
    *,
    epochs: int,
    train_examples: int,
    batch_size: int,
    optimizer: str,
    rates: Sequence[float],
    limits: Sequence[float] | None = None,
) -> str:
    """The training budget every verdict of the notebook is judged at, as one sentence."""
    grid = ", ".join(rate_text(r) for r in rates)
    extended = (
        f", extended half a decade at a time where a set-up's best rate was an edge whose score still rose, "
        f"within {rate_text(limits[0])} to {rate_text(limits[1])} (an edge that remains is flagged)"
        if limits
        else ""
    )
    return (
        f"*Budget.* Every training verdict holds for {epochs} epochs over {train_examples:,} training images "
        f"(batch {batch_size}, {optimizer}), at each set-up's learning rate chosen on validation from the grid "
        f"{grid}{extended}. A longer budget may change a grade; the curves above show which runs still rose."
    )


def _method_lines(tests: pd.DataFrame, seeds: int, delta: float) -> list[str]:
    """The closing paragraph on the method behind every verdict: tests, correction, rates and grades."""
    seeds_word = f"{seeds} seeds"
    sizes = tests.groupby("family", sort=False).size()
    return [
        "",
        f"*Method.* Every verdict above is a paired t-test over {seeds_word} (runs with the same seed see "
        "the same batches), two-sided for a difference and two one-sided tests for equivalence within "
        f"±{100 * delta:g} pp, Holm-corrected within its family ({len(sizes)} families: "
        f"{'; '.join(f'{f} {n} tests' for f, n in sizes.items())}) "
        "at α = 0.05; *borderline* marks a corrected p-value within a factor of 2 of α. Each set-up is "
        "compared at its learning rate chosen on validation accuracy; the test accuracy reported is at "
        "that rate. Grades are descriptive thresholds on the mean test accuracy over seeds "
        f"(trains ≥ {TRAINS:.0%}, fails < {FAILS:.0%}; collapses: a mean drop of at least "
        f"{100 * COLLAPSE:.0f} pp from the best validation epoch; diverged: any run's loss overflowed), "
        "not tests.",
    ]


def findings_text(
    *,
    verdicts: pd.DataFrame,
    base: pd.DataFrame,
    chosen: pd.DataFrame,
    diag: pd.DataFrame,
    tests: pd.DataFrame,
    answers: pd.DataFrame,
    seeds: int,
    default: float,
    rates: Sequence[float],
    delta: float | None = None,
    budget: str = "",
) -> Prose:
    """The notebook's closing text: propagation, trainability (default and chosen rates), the starts at the
    deepest depth, each claim's verdicts, and the method behind every verdict (``delta``: the tests' margin,
    default the claims ledger's; ``budget``: :func:`budget_text`, closing the method)."""
    delta = resolve_margin(delta, MARGIN_CLAIM)
    deepest = int(chosen["depth"].max())
    lines = [
        "**Signal propagation at initialization** (activation std forwards, gradient norm backwards; a "
        "change of more than 10× over the depth counts):",
        "",
        propagation_text(verdicts),
        "",
        "**Trainability in the fixed budget.**",
        "",
        trainability_text(base, chosen, default, rates=rates),
        "",
        "**What the starts show.**",
        "",
        diagnosis_text(chosen, diag, deepest),
        "",
        "**The post's claims.**",
        "",
        *_family_lines(tests, verdicts),
        *_snn_lines(answers),
        *_method_lines(tests, seeds, delta),
        *(["", budget] if budget else []),
    ]
    return Prose("\n".join(lines))
