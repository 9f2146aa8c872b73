"""The optimizer notebook's findings (07): does the optimizer, tuned, wash out the initializer?

For each (model, optimizer setting, initializer) over a grid of learning rates:

* :func:`rate_table`: test and validation accuracy per learning rate (mean ± 95% CI over seeds);
* :func:`best_rates`: the rate with the best mean final *validation* accuracy (a diverged run
  counting 0; the test set plays no part), whether it sits at an edge of the grid, and the window
  of rates within 1 pp of it, in decades, as a discrete grid can measure it;
* :func:`speed_at_best`: convergence speed at that rate (:mod:`initlab.findings.speed`);
* :func:`claim_tests`: the sources' rankings (``000``: Table 1's order, every pair; ``002``:
  He first for ReLU, random normal (0.01) last) re-tested on test accuracy, paired by seed,
  each initializer at its own best rate or all at the optimizer's default rate, one Holm
  family per (model, condition); :func:`washout_table` reads them per optimizer setting;
* :func:`gap_tests`, :func:`first_steps` and :func:`scale_text`: why RandomNormal(0.01) trains
  under Adam (``002``) and what becomes of it under SGD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from initlab.claims import resolve_margin
from initlab.claims.verdicts import combine, nearest_to_level, tally
from initlab.claims.verdicts import ranking_word as ranking_verdict_word
from initlab.findings import speed
from initlab.probe.runs import first_adam_step
from initlab.rate_choice import best_rate
from initlab.report import Prose, family_lines, fmt_mean_ci, protocol_text, verdict_counts
from initlab.sources import DESAI_RANKING
from initlab.stats import (
    RUN_FAIL_BELOW,
    failure_row,
    failure_threshold,
    final_epochs,
    mean_ci,
    paired_or_failures,
    paired_test,
    reaches_inside,
    test_family,
    verdict_label,
)
from initlab.training.optimizers import ADAM, resolved_learning_rate
from initlab.training.spec import RunSpec
from initlab.training.study import Study

SETUP = ["model", "optimizer_setting", "init"]
WINDOW_CLAIM = "07-best-rate-window"  # the ledger entry whose margin is the learning-rate window
FAIL_BELOW = 0.5  # a best validation score below this: the set-up trains at no rate of the grid
SOURCES = {"mlp_128": "000_5f419284b061c44b.txt", "mlp_512_256_128_64": "002_aee8d08a7a4b8178.txt"}
# 002: He is the choice for ReLU; Xavier learns better than random normal (0.01), which hurts learning.
KAKUJO_CLAIMS = (
    ("he_normal", "glorot_normal"),
    ("he_normal", "lecun_normal"),
    ("he_normal", "random_normal_001"),
    ("glorot_normal", "random_normal_001"),
)
CONDITIONS = {
    "best": "each initializer at its own best learning rate",
    "default": "every initializer at the optimizer's default learning rate",
}
RANKING_WORDS = ("holds", "is contradicted", "is not established")
WASHOUT_WORDS = ("washed out", "not washed out", "undecided")


def rate_text(rate: float) -> str:
    """A learning rate as printed: ``0.001``, ``0.3``, ``1``."""
    return f"{rate:g}"


# --------------------------------------------------------------------------- the grid


def grid_studies(
    dataset: str,
    model: str,
    inits: Sequence[str],
    *,
    seeds: Sequence[int],
    epochs: int,
    grids: Sequence[tuple[str, float, Sequence[float]]],
    **common: Any,
) -> list:
    """One :class:`initlab.training.study.Study` per (optimizer, momentum, learning rate) of ``grids``,
    to run by :func:`initlab.training.study.run_grid` (which stacks runs across rates and momenta).

    Args:
        grids: ``(optimizer, momentum, rates)`` triples, e.g. ``("sgd", 0.9, [0.001, 0.01])``.
        common: further :class:`~initlab.training.study.Study` fields (``train_limit``, ``test_limit``...).
    """

    return [
        Study(
            dataset,
            model,
            tuple(inits),
            seeds=tuple(seeds),
            epochs=epochs,
            optimizer=optimizer,
            learning_rate=float(rate),
            momentum=float(momentum),
            **common,
        )
        for optimizer, momentum, rates in grids
        for rate in rates
    ]


def final_runs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run (model, optimizer setting, learning rate, init, seed): its last epoch."""
    return final_epochs(df, [k for k in ("dataset", *SETUP, "learning_rate") if k in df.columns])


def rate_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, optimizer setting, init, learning rate): the final accuracies over seeds.

    Returns:
        One row per set-up and rate: ``runs``, ``diverged``, ``n`` (runs with a test accuracy),
        ``mean, half_width`` (test accuracy), ``val_mean, val_half_width`` (final validation
        accuracy of the runs that finished) and ``val_score`` (their sum over all runs: a
        diverged run counts 0, it leaves no usable network).
    """
    runs = final_runs(df)
    rows = []
    for key, g in runs.groupby([*SETUP, "learning_rate"], sort=False):
        ok = g[g["status"] != "diverged"]
        test, val = mean_ci(ok["test_accuracy"]), mean_ci(ok["val_accuracy"])
        rows.append(
            {
                **dict(zip([*SETUP, "learning_rate"], key)),
                "runs": len(g),
                "diverged": len(g) - len(ok),
                "n": test["n"],
                "mean": test["mean"],
                "half_width": test["half_width"],
                "val_mean": val["mean"],
                "val_half_width": val["half_width"],
                "val_score": float(ok["val_accuracy"].fillna(0.0).sum() / len(g)),
                "accuracies": tuple(np.where(g["status"] == "diverged", np.nan, g["test_accuracy"]).astype(float)),
            }
        )
    return pd.DataFrame(rows).sort_values([*SETUP, "learning_rate"], kind="stable", ignore_index=True)


def _window(rates: np.ndarray, scores: np.ndarray, i: int, window: float) -> tuple[int, int]:
    """The contiguous run of grid indices around ``i`` whose score is within ``window`` of ``scores[i]``."""
    lo = hi = i
    while lo > 0 and scores[lo - 1] >= scores[i] - window:
        lo -= 1
    while hi < len(rates) - 1 and scores[hi + 1] >= scores[i] - window:
        hi += 1
    return lo, hi


def best_rates(table: pd.DataFrame, window: float | None = None, fail_below: float = FAIL_BELOW) -> pd.DataFrame:
    """Each set-up's best learning rate on validation, its place in the grid and its window.

    The best rate has the highest ``val_score`` (ties go to the larger rate). ``edge`` is
    ``"lowest"`` or ``"highest"`` when it is the grid's first or last rate (the optimum may lie
    beyond: the grid shows no rising or no falling side), ``"only rate"`` for a one-rate grid,
    else ``""``. The window is the contiguous run of grid rates around the best whose score is
    within ``window`` of it (default: the claims ledger's margin, :data:`WINDOW_CLAIM`):
    ``window_decades`` = log10(highest / lowest of them) is what the grid can show (0 when only the best
    qualifies); the true window is wider, but narrower than ``window_max``, log10 of the ratio of the next
    grid rates outside it (``inf`` when the run reaches an edge of the grid: the window is open there).
    ``trains`` is False when even the best score stays below ``fail_below``.
    """
    window = resolve_margin(window, WINDOW_CLAIM)
    rows = []
    for key, g in table.groupby(SETUP, sort=False):
        g = g.sort_values("learning_rate")
        rates, scores = g["learning_rate"].to_numpy(float), g["val_score"].to_numpy(float)
        i, edge = best_rate(rates, scores)
        lo, hi = _window(rates, scores, i, window)
        open_ = lo == 0 or hi == len(rates) - 1
        best = g.iloc[i]
        rows.append(
            {
                **dict(zip(SETUP, key)),
                "best_rate": rates[i],
                "rates": len(rates),
                "edge": edge,
                "val_score": scores[i],
                "mean": best["mean"],
                "half_width": best["half_width"],
                "n": int(best["n"]),
                "runs": int(best["runs"]),
                "diverged": int(best["diverged"]),
                "accuracies": best["accuracies"],
                "window_low": rates[lo],
                "window_high": rates[hi],
                "window_decades": float(np.log10(rates[hi] / rates[lo])),
                "window_max": np.inf if open_ else float(np.log10(rates[hi + 1] / rates[lo - 1])),
                "trains": bool(scores[i] >= fail_below),
            }
        )
    return pd.DataFrame(rows)


def at_rates(df: pd.DataFrame, rates: pd.DataFrame, column: str = "best_rate") -> pd.DataFrame:
    """The rows of ``df`` trained at each set-up's rate in ``rates[column]`` (e.g. :func:`best_rates`)."""
    keys = rates[[*SETUP, column]].rename(columns={column: "learning_rate"})
    order = [k for k in (*SETUP, "seed", "epoch") if k in df.columns]
    return df.merge(keys, on=[*SETUP, "learning_rate"], how="inner").sort_values(order, ignore_index=True)


def default_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Each set-up at its optimizer's Keras default learning rate, where the grid holds it.

    ``table`` needs ``optimizer`` beside :data:`SETUP` and ``learning_rate`` (a result frame will do).

    Returns:
        One row per set-up whose grid holds the default: :data:`SETUP` and ``default_rate``.
    """

    rows = []
    for key, g in table.groupby(SETUP, sort=False):
        rate = resolved_learning_rate(str(g["optimizer"].iloc[0]), None)
        if np.isclose(g["learning_rate"].to_numpy(float), rate, rtol=1e-9, atol=0).any():
            rows.append({**dict(zip(SETUP, key)), "default_rate": rate})
    return pd.DataFrame(rows, columns=[*SETUP, "default_rate"])


# --------------------------------------------------------------------------- tables


def _cell(row: Mapping) -> str:
    """Test accuracy (%) of one set-up at one rate: mean ± CI (inside 0–100) when every run trained alike;
    when some failed (diverged, below :data:`FAIL_BELOW`, or the lower mode of a bimodal set), the failures
    as a count and the mean of the runs that trained, never a mean over both."""
    runs, diverged = int(row["runs"]), int(row["diverged"])
    if diverged == runs:
        return f"all {runs} diverged"
    values = np.asarray(row["accuracies"], dtype=float)
    threshold = failure_threshold(values, fail_below=FAIL_BELOW)
    if np.isnan(threshold):
        return fmt_mean_ci(values)
    trained = values[np.isfinite(values) & (values >= threshold)]
    failed = f"{runs - trained.size}/{runs} failed" + (f" ({diverged} div.)" if diverged else "")
    return failed + (f"; {fmt_mean_ci(trained)}" if trained.size else "")


def accuracy_table(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's test accuracy (%) as mean ± 95% CI: rows (optimizer setting, init), a column per rate.

    Settings with different grids share the columns; a rate a setting did not try reads ``-``.
    """
    t = table[table["model"] == model].assign(cell=lambda d: [_cell(r) for _, r in d.iterrows()])
    wide = t.pivot_table(
        index=["optimizer_setting", "init"], columns="learning_rate", values="cell", aggfunc="first", sort=False
    )
    wide = wide.reindex(columns=sorted(wide.columns)).fillna("-")
    wide.columns = [rate_text(r) for r in wide.columns]
    wide.columns.name = "learning rate"
    return wide


def _window_bounds(g: pd.DataFrame) -> str:
    """What a grid says of its set-ups' windows: the smallest width it shows and the largest it allows
    (:func:`best_rates`' ``window_decades`` and ``window_max``); a grid that shows none is named too coarse."""
    shown, most = float(g["window_decades"].min()), float(g["window_max"].max())
    if not np.isfinite(most):
        return f"at least {shown:.2g} decade(s) wide, open at an edge of the grid for some"
    if float(g["window_decades"].max()) == 0:
        return f"narrower than the grid's step (under {most:.2g} decade(s)): this grid cannot measure them"
    return f"between {shown:.2g} and {most:.2g} decade(s) wide as far as this grid can tell"


def window_words(row: Mapping) -> str:
    """A window as the grid measures it: ``"0.5 (0.5–1.5)"``, ``"≥ 1 (open)"``."""
    shown = f"{row['window_decades']:.2g}"
    if np.isinf(row["window_max"]):
        return f"≥ {shown} (open)"
    return f"{shown} ({shown}–{row['window_max']:.2g})"


def best_table(best: pd.DataFrame) -> pd.DataFrame:
    """:func:`best_rates` laid out to quote: the best rate, validation score and test accuracy there (%),
    the window in decades (grid value, then its bounds) and the grid edge it sits on."""
    out = pd.DataFrame(
        {
            "best rate": best["best_rate"].map(rate_text),
            "validation (%)": best["val_score"].map(lambda v: f"{100 * v:.2f}"),
            "test (%)": [_cell(r) for _, r in best.iterrows()],
            "window ±1 pp (decades)": [window_words(r) for _, r in best.iterrows()],
            "grid edge": [("trains at no rate" if not r["trains"] else r["edge"] or "-") for _, r in best.iterrows()],
        }
    )
    out.index = pd.MultiIndex.from_frame(best[SETUP])
    return out


def speed_at_best(df_best: pd.DataFrame, target: float) -> pd.DataFrame:
    """Convergence speed of each set-up at its best rate (:func:`initlab.findings.speed.speed_table`),
    rows (model, optimizer setting, init). ``df_best`` holds one rate per set-up (:func:`at_rates`)."""
    parts = []
    for (model, setting), g in df_best.groupby(["model", "optimizer_setting"], sort=False):
        t = speed.speed_table(g, target)
        parts.append(t.set_index(pd.MultiIndex.from_tuples([(model, setting, i) for i in t.index], names=SETUP)))
    return pd.concat(parts).sort_index()


# --------------------------------------------------------------------------- the sources' rankings


def source_claims(model: str, inits: Iterable[str]) -> list[tuple[str, str]]:
    """The pairs ``(a, b)`` a source ranks ``a`` above ``b``, among ``inits``.

    ``mlp_128`` (``000``): every pair of Table 1's test-accuracy order. ``mlp_512_256_128_64``
    (``002``): :data:`KAKUJO_CLAIMS`. Other models: none.
    """
    have = set(inits)
    if model == "mlp_128":
        return list(combinations([i for i in DESAI_RANKING if i in have], 2))
    if model == "mlp_512_256_128_64":
        return [(a, b) for a, b in KAKUJO_CLAIMS if a in have and b in have]
    return []


_CLAIM_COLUMNS = [
    "model",
    "condition",
    "optimizer_setting",
    "claim",
    "name",
    "a",
    "b",
    "n",
    "mean",
    "p",
    "p_equiv",
    "exact",
    "p_adj",
    "p_equiv_adj",
    "verdict",
    "borderline",
]


def _pair_test(
    s: pd.DataFrame, pair: tuple[str, str], delta: float, *, model: str, condition: str, setting: str
) -> dict[str, Any] | None:
    """The paired test of one claim ``a > b`` under one setting, or ``None`` when a side has no run."""
    a, b = pair
    side = {x: s[s["init"] == x].set_index("seed") for x in (a, b)}
    if not (len(side[a]) and len(side[b])):
        return None
    failed = {x: ~side[x]["test_accuracy"].ge(RUN_FAIL_BELOW) for x in (a, b)}  # below 20%, or diverged (NaN)
    test = paired_or_failures(
        side[a]["test_accuracy"], side[b]["test_accuracy"], delta, failed_a=failed[a], failed_b=failed[b]
    )
    return {
        "model": model,
        "condition": condition,
        "optimizer_setting": setting,
        "claim": f"{setting}: {a} > {b}",
        "name": f"{model}/{condition}/{setting}/{a} > {b}",
        "a": a,
        "b": b,
        "a_rate": float(side[a]["learning_rate"].iloc[0]),
        "b_rate": float(side[b]["learning_rate"].iloc[0]),
        "a_mean": float(side[a]["test_accuracy"][~failed[a]].mean()),
        "b_mean": float(side[b]["test_accuracy"][~failed[b]].mean()),
        **test,
    }


def claim_tests(
    runs: pd.DataFrame, condition: str, delta: float, *, claims: Mapping[str, Sequence[tuple[str, str]]] | None = None
) -> pd.DataFrame:
    """Each source claim ``a > b`` under each optimizer setting, on final test accuracy, paired by seed.

    Args:
        runs: one row per run, one learning rate per set-up (:func:`final_runs` of :func:`at_rates`).
        condition: a key of :data:`CONDITIONS`, naming how the rates were set.
        delta: the equivalence margin (accuracy as a fraction).
        claims: per model, the pairs; default :func:`source_claims` of the inits present.

    Returns:
        One row per test: ``model, condition, optimizer_setting, claim, name, a, b, a_rate, b_rate,
        a_mean, b_mean``, :func:`initlab.stats.paired_test`'s and :func:`initlab.stats.test_family`'s
        columns; one Holm family per (model, condition). Where a run of either side failed (below
        :data:`~initlab.stats.RUN_FAIL_BELOW`, or diverged), the claim is decided on the failure rates
        (:func:`initlab.stats.paired_or_failures`); ``a_mean``/``b_mean`` are over the runs that trained.
    """
    rows = []
    for model, m in runs.groupby("model", sort=False):
        pairs = source_claims(model, m["init"].unique()) if claims is None else claims.get(model, [])
        for setting, s in m.groupby("optimizer_setting", sort=False):
            for pair in pairs:
                row = _pair_test(s, pair, delta, model=model, condition=condition, setting=setting)
                if row is not None:
                    rows.append(row)
    if not rows:
        return pd.DataFrame(columns=_CLAIM_COLUMNS)
    table = pd.DataFrame(rows)
    return pd.concat([test_family(g) for _, g in table.groupby(["model", "condition"], sort=False)], ignore_index=True)


def ranking_word(verdicts: Sequence[str]) -> str:
    """A source's ranking from its pairs' verdicts: :data:`RANKING_WORDS`."""
    v = list(verdicts)
    if v and all(x == "supported" for x in v):
        return "holds"
    return "is contradicted" if "reversed" in v else "is not established"


def washout_word(verdicts: Sequence[str]) -> str:
    """Whether the optimizer washed the initializers' differences out: :data:`WASHOUT_WORDS`.

    *washed out*: every tested pair equivalent within ±δ; *not washed out*: some pair differs
    (supported or reversed); otherwise *undecided*.
    """
    v = list(verdicts)
    if v and all(x == "equivalent" for x in v):
        return "washed out"
    return "not washed out" if any(x in ("supported", "reversed") for x in v) else "undecided"


def washout_table(tests: pd.DataFrame, runs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per (model, condition, optimizer setting): the spread of the initializers' mean test accuracy,
    the verdicts of the source's pairs, the ranking's fate and whether the differences washed out.

    Args:
        tests: :func:`claim_tests` of every condition, concatenated.
        runs: per condition, the runs the tests used (one rate per set-up).
    """
    rows = []
    for (model, condition, setting), t in tests.groupby(["model", "condition", "optimizer_setting"], sort=False):
        r = runs[condition]
        means = r[(r["model"] == model) & (r["optimizer_setting"] == setting)].groupby("init")["test_accuracy"].mean()
        rows.append(
            {
                "model": model,
                "condition": condition,
                "optimizer_setting": setting,
                "spread (pp)": f"{100 * (means.max() - means.min()):.2f}",
                "best / worst init": f"{means.idxmax()} / {means.idxmin()}",
                "pairs": verdict_counts(t),
                "ranking": ranking_word(t["verdict"]),
                "initializer": washout_word(t["verdict"]),
            }
        )
    columns = [
        "model",
        "condition",
        "optimizer_setting",
        "spread (pp)",
        "best / worst init",
        "pairs",
        "ranking",
        "initializer",
    ]
    return pd.DataFrame(rows, columns=columns).set_index(columns[:3])


def _near_margin(tests: pd.DataFrame, delta: float) -> str:
    """``" (only by differences whose CIs reach inside ±0.5 pp)"`` where every shown difference of ``tests``
    has a CI reaching inside ±δ, else ``""``."""
    shown = [r for r in tests.to_dict("records") if r["verdict"] in ("supported", "reversed")]
    if shown and all(reaches_inside(r, delta) for r in shown):
        return f" (only by differences whose CIs reach inside ±{100 * delta:g} pp)"
    return ""


def family_text(*, tests: pd.DataFrame, model: str, condition: str, delta: float) -> Prose:
    """One family (a model under one condition) in words: the method, one line per test, the counts."""
    t = tests[(tests["model"] == model) & (tests["condition"] == condition)]
    if not len(t):
        return Prose(f"No claim of `{SOURCES.get(model, model)}` was tested under {CONDITIONS[condition]}.")
    n = speed.seeds_phrase(t)
    family = (
        f"the claims of `{SOURCES.get(model, model)}` on `{model}` under every optimizer setting, "
        f"{CONDITIONS[condition]}, in final test accuracy"
    )
    lines = [protocol_text(family, len(t), n, delta=delta, table=t), "", *family_lines(t, delta)]
    for setting, s in t.groupby("optimizer_setting", sort=False):
        lines.append(
            f"- *{setting}*: the ranking {ranking_word(s['verdict'])}; the initializer: "
            f"{washout_word(s['verdict'])}{_near_margin(s, delta)} ({verdict_counts(s)})."
        )
    return Prose("\n".join(lines))


def families_text(*, tests: pd.DataFrame, models: Sequence[str], delta: float) -> Prose:
    """Every model's family under each condition (default rates, then best rates), headed and in words."""
    return Prose(
        "\n\n".join(
            f"**`{model}`, {CONDITIONS[c]}.**\n\n" + family_text(tests=tests, model=model, condition=c, delta=delta)
            for model in models
            for c in ("default", "best")
        )
    )


# --------------------------------------------------------------------------- RandomNormal(0.01) under Adam and SGD


def gap_tests(runs: pd.DataFrame, small: str, scaled: str, *, delta: float, reference: str = "adam") -> pd.DataFrame:
    """Is ``scaled``'s lead over ``small`` larger under each other optimizer setting than under ``reference``?

    Per seed: (scaled − small) under the setting minus (scaled − small) under ``reference``, test
    accuracy, each initializer at the rate ``runs`` holds for it; one Holm family. Where a run of ``small``
    failed under either (below :data:`~initlab.stats.RUN_FAIL_BELOW`, or diverged), its accuracy is no level
    to take a lead from: the claim is decided on ``small``'s failures under ``reference`` against under the
    setting (:func:`initlab.stats.failure_row`, ``test = "failures"``).

    Returns:
        One row per setting: ``claim, name, optimizer_setting, lead, reference_lead`` (the mean leads),
        ``gap`` (NaN: no gap is claimed, the test asks only whether the lead grows),
        :func:`initlab.stats.paired_test`'s and :func:`initlab.stats.test_family`'s columns.
    """

    def lead(setting: str) -> pd.Series:
        s = runs[runs["optimizer_setting"] == setting]
        return (
            s[s["init"] == scaled].set_index("seed")["test_accuracy"]
            - s[s["init"] == small].set_index("seed")["test_accuracy"]
        )

    def small_failed(setting: str) -> pd.Series:
        s = runs[(runs["optimizer_setting"] == setting) & (runs["init"] == small)].set_index("seed")
        return ~s["test_accuracy"].ge(RUN_FAIL_BELOW)  # below 20%, or diverged (NaN)

    base, base_failed = lead(reference), small_failed(reference)
    rows = []
    for setting in dict.fromkeys(runs["optimizer_setting"]):
        if setting == reference:
            continue
        mine, mine_failed = lead(setting), small_failed(setting)
        both = mine.index.intersection(base.index)
        claim = f"{scaled} − {small}: larger under {setting} than under {reference}"
        if base_failed.loc[both].any() or mine_failed.loc[both].any():
            # a failed run's accuracy is no level to take a lead from: the lead grows when the small start
            # fails more often under the setting than under the reference (Fisher's exact test)
            test = failure_row(base_failed.loc[both], mine_failed.loc[both])
            claim += f" ({small}'s failures: under {reference} against under {setting})"
        else:
            test = {"test": "t", **paired_test((mine.loc[both] - base.loc[both]).to_numpy(float), delta)}
        rows.append(
            {
                "claim": claim,
                "name": f"{setting} > {reference}",
                "optimizer_setting": setting,
                "lead": float(mine.mean()),
                "reference_lead": float(base.mean()),
                "gap": np.nan,
                **test,
            }
        )
    return test_family(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


def first_steps(
    dataset: str,
    model: str,
    inits: Sequence[str],
    *,
    seeds: Sequence[int],
    optimizers: Sequence[str] = ("adam", "sgd"),
    **spec: Any,
) -> pd.DataFrame:
    """The first optimizer step of each untrained run, per kernel layer, at each optimizer's default rate.

    Keras takes one step on the first training batch (:func:`initlab.probe.runs.first_adam_step`,
    which steps with the run's own optimizer). SGD's step is ``lr · g``, with momentum too (the
    velocity starts at 0); Adam's is about ``lr`` per weight whatever the gradient's size.

    Returns:
        One row per (init, seed, optimizer, layer): ``grad_rms, step_rms, kernel_std`` and
        ``relative_step`` (``step_rms / kernel_std``).
    """

    frames = [
        first_adam_step(RunSpec(dataset=dataset, model=model, init=init, seed=int(seed), optimizer=opt, **spec)).assign(
            optimizer=opt
        )
        for init in inits
        for seed in seeds
        for opt in optimizers
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.assign(relative_step=out["step_rms"] / out["kernel_std"])


def step_table(steps: pd.DataFrame) -> pd.DataFrame:
    """:func:`first_steps`, mean over seeds, as ``.3g`` text, one row per layer: per init the gradient's
    root mean square, then each optimizer's first step relative to the kernel's std."""
    m = steps.groupby(["layer", "init", "optimizer"], sort=False)[["grad_rms", "relative_step"]].mean()
    inits = list(dict.fromkeys(steps["init"]))
    layers = list(dict.fromkeys(steps["layer"]))
    out = pd.DataFrame(index=pd.Index(layers, name="layer"))
    first = steps["optimizer"].iloc[0]  # the gradient is the same whichever optimizer steps
    for init in inits:
        out[f"gradient rms, {init}"] = [m.loc[(layer, init, first), "grad_rms"] for layer in layers]
    for optimizer in dict.fromkeys(steps["optimizer"]):
        for init in inits:
            out[f"{optimizer} step / std, {init}"] = [
                m.loc[(layer, init, optimizer), "relative_step"] for layer in layers
            ]
    return out.map(lambda v: f"{v:.3g}")


def _span(values: Sequence[float], fmt: str = ".3g") -> str:
    """``"0.1–2.5"``: the smallest and largest of ``values``, or one number when they agree to 0.5%."""
    v = [float(x) for x in values]
    return f"{min(v):{fmt}}" if np.isclose(min(v), max(v), rtol=0.005) else f"{min(v):{fmt}}–{max(v):{fmt}}"


def step_ratios(steps: pd.DataFrame, small: str, scaled: str) -> pd.DataFrame:
    """Per (optimizer, layer): ``small``'s relative first step over ``scaled``'s, and their gradient ratio."""
    m = steps.groupby(["optimizer", "layer", "init"], sort=False)[["grad_rms", "relative_step"]].mean()
    rows = []
    for (opt, layer), g in m.groupby(level=[0, 1], sort=False):
        g = g.droplevel([0, 1])
        rows.append(
            {
                "optimizer": opt,
                "layer": layer,
                "grad_ratio": g.loc[small, "grad_rms"] / g.loc[scaled, "grad_rms"],
                "step_ratio": g.loc[small, "relative_step"] / g.loc[scaled, "relative_step"],
            }
        )
    return pd.DataFrame(rows)


def scale_answer(gaps: pd.DataFrame, ratios: pd.DataFrame, factor: float = 10.0) -> str:
    """Whether the runs bear out "Adam trains the small start because its step ignores the gradient's scale".

    ``consistent``: the scaled start's lead is larger under every other setting than under Adam
    (:func:`gap_tests` supported) and, relative to the weights, Adam's first step for the small
    start is within ``factor`` of the scaled start's or larger in every layer while SGD's is more
    than ``factor`` times smaller in some layer; ``not consistent`` when a lead is smaller
    (reversed) or the steps do not differ so; otherwise ``undecided``.
    """
    r = ratios.set_index("optimizer")["step_ratio"]
    steps_fit = bool((r.loc[["adam"]] >= 1 / factor).all() and (r.loc[["sgd"]] < 1 / factor).any())
    v = gaps["verdict"] if len(gaps) else pd.Series(dtype=str)
    if len(v) and (v == "supported").all() and steps_fit:
        return "consistent"
    if (v == "reversed").any() or not steps_fit:
        return "not consistent"
    return "undecided"


def _setting_line(
    b: pd.DataFrame, tests: pd.DataFrame, setting: str, *, small: str, scaled: str, delta: float, model: str
) -> str:
    """One setting's bullet: both starts at their best rates and the test of ``scaled`` > ``small``."""
    s, h = b.loc[(setting, small)], b.loc[(setting, scaled)]
    t = tests[
        (tests["model"] == model)
        & (tests["condition"] == "best")
        & (tests["optimizer_setting"] == setting)
        & (tests["a"] == scaled)
        & (tests["b"] == small)
    ]
    trains = (
        "" if s["trains"] else (f" (it reaches {100 * FAIL_BELOW:.0f}% validation accuracy at no rate of the grid)")
    )
    verdict = f"; {scaled} > {small}: **{verdict_label(t.iloc[0], delta)}**" if len(t) else ""
    return (
        f"- *{setting}*, test accuracy (%): {small} {_cell(s)} at its best rate {rate_text(s['best_rate'])}"
        f"{trains}; {scaled} {_cell(h)} at {rate_text(h['best_rate'])}{verdict}."
    )


def _step_lines(steps: pd.DataFrame, gaps: pd.DataFrame, *, small: str, scaled: str) -> list[str]:
    """The paragraphs on the first step of each optimizer from either start, and the answer they give."""
    ratios = step_ratios(steps, small, scaled)
    by = {opt: ratios[ratios["optimizer"] == opt] for opt in ratios["optimizer"].unique()}
    threshold = ADAM["epsilon"] / np.sqrt(1 - ADAM["beta_2"])
    small_grads = steps[(steps["init"] == small) & (steps["optimizer"] == "adam")].groupby("layer")["grad_rms"].mean()
    damped = int((small_grads < threshold).sum())
    return [
        "",
        f"At initialization {small}'s kernel gradients are {_span(by['sgd']['grad_ratio'])} times "
        f"{scaled}'s (first batch, layer by layer, mean over seeds). Relative to the kernel's own scale, "
        f"SGD's first step (momentum's is the same: its velocity starts at 0) moves {small}'s kernels "
        f"{_span(by['sgd']['step_ratio'])} times as far as {scaled}'s, at any rate; Adam's moves them "
        f"{_span(by['adam']['step_ratio'])} times as far. In {damped} of {len(small_grads)} layers {small}'s "
        f"gradient rms is below ε/√(1 − β₂) = {threshold:.3g}, where Keras' ε damps Adam's step.",
        "",
        f"Adam's invariance to the gradient's scale as the reason {small} trains under Adam: "
        f"**{scale_answer(gaps, ratios)}** with these runs (the lead test and the first step above; a "
        f"mechanism read off one step and a paired comparison, not a proof; the intervention below, Adam with a "
        f"large ε, tests it, and the findings give the verdict of both).",
    ]


def scale_text(
    *,
    best: pd.DataFrame,
    tests: pd.DataFrame,
    gaps: pd.DataFrame,
    steps: pd.DataFrame,
    small: str,
    scaled: str,
    delta: float,
    model: str = "mlp_512_256_128_64",
) -> Prose:
    """The RandomNormal(0.01) question in words: how ``small`` does beside ``scaled`` under each setting,
    how the lead changes from Adam, what the first step does with each start, and the answer."""

    b = best[best["model"] == model].set_index(["optimizer_setting", "init"])
    lines = [
        _setting_line(b, tests, setting, small=small, scaled=scaled, delta=delta, model=model)
        for setting in dict.fromkeys(b.index.get_level_values(0))
        if (setting, small) in b.index and (setting, scaled) in b.index
    ]
    if len(gaps):
        lines += [
            "",
            f"The lead of {scaled} over {small} against Adam's, per seed (one Holm family of {len(gaps)}):",
            "",
            *family_lines(gaps, delta),
        ]
    lines += _step_lines(steps, gaps, small=small, scaled=scaled)
    return Prose("\n".join(lines))


# --------------------------------------------------------------------------- the grid and the summary


def grid_text(best: pd.DataFrame) -> Prose:
    """Whether the grid brackets every set-up's best rate, and which set-ups sit at an edge or train at no rate."""
    edge = best[best["edge"] != ""]
    failed = best[~best["trains"]]
    open_ = best[np.isinf(best["window_max"]) & best["trains"]]
    head = (
        f"Of {len(best)} (model, optimizer setting, initializer) set-ups, {len(best) - len(edge)} have their "
        "best rate inside the grid, with a lower rate and a higher one that score less: a rising and a "
        "falling side."
    )
    lines = [head]
    for _, r in edge.iterrows():
        why = (
            f"trains at no rate (best mean validation accuracy {100 * r['val_score']:.1f}%), so its best rate "
            "means nothing"
            if not r["trains"]
            else "the optimum may lie beyond the grid"
        )
        where = "trained at one rate only" if r["edge"] == "only rate" else f"best at the grid's {r['edge']} rate"
        lines.append(
            f"- `{r['model']}`, {r['optimizer_setting']}, {r['init']}: {where} {rate_text(r['best_rate'])}; {why}."
        )
    if len(failed[failed["edge"] == ""]):
        lines.append(
            "- Inside the grid but training at no rate: "
            + ", ".join(
                f"`{r['model']}` {r['optimizer_setting']} {r['init']}"
                for _, r in failed[failed["edge"] == ""].iterrows()
            )
            + "."
        )
    if len(open_):
        lines.append(
            f"{len(open_)} set-up(s) that train have a window that reaches an edge of the grid: "
            "their width is a lower bound."
        )
    return Prose("\n".join(lines))


RISING = 0.005  # a mean validation gain of half a point in the last epoch: the curve has not levelled off


def still_rising(df: pd.DataFrame, gain: float = RISING) -> pd.DataFrame:
    """The set-ups of ``df`` (each at one rate, e.g. :func:`at_rates` of the best) whose mean validation
    accuracy over seeds still rose by at least ``gain`` in the last epoch: ``model, optimizer_setting,
    init, epochs, last_gain``, one row per such set-up."""
    rows = []
    for key, g in df.groupby(SETUP, sort=False):
        curve = g.groupby("epoch")["val_accuracy"].mean().sort_index()
        if len(curve) >= 2 and curve.iloc[-1] - curve.iloc[-2] >= gain:
            rows.append({**dict(zip(SETUP, key)), "epochs": len(curve), "last_gain": curve.iloc[-1] - curve.iloc[-2]})
    return pd.DataFrame(rows, columns=[*SETUP, "epochs", "last_gain"])


def budget_text(df: pd.DataFrame, *, train_examples: int, batch_size: int) -> str:
    """Each model's budget (epochs over ``train_examples`` images, the steps they make) and the set-ups still
    rising at its end (:func:`still_rising`), whose verdicts a longer budget may change."""
    per_model = df.groupby("model", sort=False)["epoch"].max()
    steps = -(-train_examples // batch_size)
    parts = [f"`{m}` {int(e)} epochs ({int(e) * steps:,} steps)" for m, e in per_model.items()]
    rising = still_rising(df)
    tail = (
        "; still rising at the end (mean validation accuracy up at least "
        f"{100 * RISING:g} pp in the last epoch), so a longer budget may change their verdicts: "
        + ", ".join(
            f"`{r['model']}` {r['optimizer_setting']} {r['init']} (+{100 * r['last_gain']:.1f} pp)"
            for _, r in rising.iterrows()
        )
        if len(rising)
        else "; every set-up's validation curve had levelled off (less than "
        f"{100 * RISING:g} pp gained in the last epoch)"
    )
    return (
        f"*Budget.* Every training verdict holds for {', '.join(parts)} over {train_examples:,} training "
        f"images, batch {batch_size}, each set-up at its best rate{tail}."
    )


def findings_text(
    *,
    best: pd.DataFrame,
    washout: pd.DataFrame,
    tests: pd.DataFrame,
    scale_answer_word: str,
    seeds: int,
    delta: float,
    window: float | None = None,
    budget: str = "",
) -> Prose:
    """The closing summary: the grid, the best rates and windows, the rankings under both conditions,
    the RandomNormal(0.01) answer, and the method behind every verdict (``window``: default the ledger's;
    ``budget``: :func:`budget_text`, closing it)."""
    window = resolve_margin(window, WINDOW_CLAIM)
    trains = best[best["trains"]]
    lines = [
        f"- **The grid.** {len(best) - int((best['edge'] != '').sum())} of {len(best)} set-ups have their best "
        f"rate inside the grid; {int((~best['trains']).sum())} train at no rate of it."
    ]
    for (model, setting), g in trains.groupby(["model", "optimizer_setting"], sort=False):
        rates = sorted(g["best_rate"].unique())
        lines.append(
            f"- `{model}`, {setting}: best rate(s) {', '.join(rate_text(r) for r in rates)} "
            f"(across {len(g)} initializer(s) that train); windows within {100 * window:g} pp of the best: "
            f"{_window_bounds(g)}."
        )
    for (model, condition), w in washout.groupby(level=[0, 1], sort=False):
        parts = [
            f"{s}: ranking {r['ranking']}, initializer {r['initializer']} (spread {r['spread (pp)']} pp)"
            for (_, _, s), r in w.iterrows()
        ]
        t = tests[(tests["model"] == model) & (tests["condition"] == condition)]
        lines.append(
            f"- **`{SOURCES.get(model, model)}` on `{model}`, {CONDITIONS[condition]}** ({len(t)} tests, "
            f"{verdict_counts(t)}): {'; '.join(parts)}."
        )
    lines.append(f"- **RandomNormal(0.01) and Adam's invariance to scale:** {scale_answer_word}.")
    lines += [
        "",
        f"*Method.* Every verdict is a paired t-test over {seeds} seeds (runs with the same seed share "
        "their batch order, and their initial weights when the initializer is the same), two-sided for a "
        f"difference and two one-sided tests for equivalence within ±{100 * delta:g} pp, Holm-corrected "
        "within its family at α = 0.05: one family per (model, condition) holding the source's pairs under "
        "every optimizer setting, and one for the RandomNormal(0.01) lead against Adam's. Each best rate is "
        "chosen on the mean final validation accuracy (a diverged run counting 0), never on the test set, "
        "and the test accuracy is then compared at it. *Washed out* means every tested pair of a setting is "
        "equivalent; *not washed out*, that some pair differs; a ranking *holds* when every pair of it is "
        "supported.",
        *(["", budget] if budget else []),
    ]
    return Prose("\n".join(lines))


# --------------------------------------------------------------------------- readings for the claims ledger


def ranking_reading(tests: pd.DataFrame, model: str, condition: str) -> dict[str, Any]:
    """A source's ranking on ``model`` under every optimizer setting at ``condition``: per setting the
    ranking's word (:func:`initlab.claims.verdicts.ranking_word`: holds, contradicted, not established),
    the word the settings share (else *mixed*), and the p-values of the test nearest to turning (``p``)."""
    t = tests[(tests["model"] == model) & (tests["condition"] == condition)]
    words = {
        str(s): ranking_verdict_word([str(v) for v in g["verdict"]])
        for s, g in t.groupby("optimizer_setting", sort=False)
    }
    return {"verdict": combine(list(words.values())), "p": nearest_to_level(t.to_dict("records")), **words}


def washout_reading(tests: pd.DataFrame) -> dict[str, Any]:
    """Whether the optimizer washes the initializers out, over every (model, condition, optimizer setting)
    of ``tests`` (:func:`washout_word` each): the word they share (else *mixed*), the tally, each one's
    word (``<model>/<condition>/<setting>``) and the p-values of the test nearest to turning (``p``)."""
    groups = tests.groupby(["model", "condition", "optimizer_setting"], sort=False)
    words = {"/".join(map(str, key)): washout_word(g["verdict"]) for key, g in groups}
    found = list(words.values())
    return {
        "verdict": combine(found),
        "p": nearest_to_level(tests.to_dict("records")),
        "tally": tally(found) or "none",
        **words,
    }


INTERVENTION = "adam_large_eps"  # Adam whose epsilon (1e-4) swamps the small start's gradients, not He's


def intervention_answer(intervened: pd.DataFrame) -> str:
    """What switching Adam's scale indifference off says of it, from :func:`gap_tests` of
    :data:`INTERVENTION` against Adam (one row).

    The mechanism predicts the scaled start's lead grows once epsilon swamps the small start's gradients:
    ``consistent`` when that test is *supported*; ``not consistent`` when it is *reversed* or the
    difference is negligible (equivalent within the margin); ``undecided`` otherwise (inconclusive)."""
    if not len(intervened):
        return "not tested"
    v = str(intervened["verdict"].iloc[0])
    return "consistent" if v == "supported" else "not consistent" if v in ("reversed", "equivalent") else "undecided"


def scale_reading(gaps: pd.DataFrame, ratios: pd.DataFrame, intervened: pd.DataFrame | None = None) -> dict[str, Any]:
    """:func:`scale_answer` with the tally of :func:`gap_tests`' verdicts and the p-values of the test
    nearest to turning (``p``); with ``intervened`` (:func:`gap_tests` of :data:`INTERVENTION`), the
    verdict is *consistent* only when both the runs and steps and the intervention say so, *not consistent*
    when either says not, else *undecided*, and ``intervention`` holds the intervention's own answer."""
    answer = scale_answer(gaps, ratios)
    extra: dict[str, Any] = {}
    if intervened is not None:
        second = intervention_answer(intervened)
        extra["intervention"] = second
        answer = (
            "consistent"
            if answer == second == "consistent"
            else "not consistent"
            if "not consistent" in (answer, second)
            else "undecided"
        )
    return {
        "verdict": answer,
        "p": nearest_to_level(gaps.to_dict("records")),
        "tally": tally(str(v) for v in gaps["verdict"]) or "none",
        **extra,
    }


def intervention_text(*, best: pd.DataFrame, intervened: pd.DataFrame, small: str, scaled: str, delta: float) -> Prose:
    """The intervention in words: both starts at their best rates under Adam and under :data:`INTERVENTION`,
    the test of the lead against Adam's, and what it says of the mechanism."""
    b = best.set_index(["optimizer_setting", "init"])
    lines = []
    for setting in ("adam", INTERVENTION):
        if (setting, small) in b.index and (setting, scaled) in b.index:
            s, h = b.loc[(setting, small)], b.loc[(setting, scaled)]
            lines.append(
                f"- *{setting}*, test accuracy (%): {small} {_cell(s)} at its best rate {rate_text(s['best_rate'])}; "
                f"{scaled} {_cell(h)} at {rate_text(h['best_rate'])}."
            )
    lines += ["", *family_lines(intervened, delta)] if len(intervened) else []
    lines += [
        "",
        f"Switching the scale indifference off for {small}'s gradients (ε = 1e-4, above them, below "
        f"{scaled}'s): **{intervention_answer(intervened)}** with the mechanism (it predicts a larger lead; a "
        "single intervention on one network, each start at its best rate of the grid).",
    ]
    return Prose("\n".join(lines))


def window_reading(best: pd.DataFrame) -> dict[str, Any]:
    """What :func:`best_rates` shows of the best rates and their windows (*descriptive*: nothing is
    decided): how many set-ups, how many train at some rate, how many have their best rate at an edge of
    the grid, and how many a window open at an edge."""
    return {
        "verdict": "descriptive",
        "setups": len(best),
        "trains": int(best["trains"].sum()),
        "best_at_edge": int((best["edge"] != "").sum()),
        "open_windows": int(np.isinf(best["window_max"].to_numpy(dtype=float)).sum()),
    }
