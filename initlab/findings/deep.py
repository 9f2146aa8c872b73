"""What the deep-network notebook found: its training grid, its grades, the tests of ``004``'s claims and the
verdicts in words.

Which pairings of activation and initializer learn within a fixed budget, at which depth and
learning rate? :func:`depth_study` trains them (several seeds, a grid of learning rates, as a
list of studies run by :func:`initlab.training.study.run_grid`), :func:`select_rates` picks each
set-up's rate on validation accuracy, and :func:`trainability` grades the test accuracies, with
the validation curve's peak and collapse (:mod:`initlab.convergence`).

The claims of ``004`` are tested as paired differences over seeds
(:func:`initlab.stats.paired_test`), one Holm family per claim (:data:`FAMILIES`):

* ``orthogonal``: orthogonal kernels against glorot_normal (for a square kernel the
  same variance, without the orthogonality), per activation and depth; and, for
  ReLU, orthogonal kernels of gain √2 against he_normal (again the same variance);
* ``orthogonal speed``: the same pairs in the area under the validation-accuracy
  curve (the post credits orthogonal kernels with faster convergence);
* ``variance scaling``: each activation's usual scaling against a mismatched one;
* ``snn``: SELU started from zeros or a plain random normal against SELU with
  lecun_normal (self-normalizing networks "eliminate the need for careful
  initialization"), with [0, 1]-scaled and with standardized inputs;
* ``snn vs other activations``: SELU against ReLU and tanh from the same start.

Every test compares each set-up at the learning rate chosen for it on validation
accuracy (:func:`select_rates`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab.convergence import convergence_table, run_keys
from initlab.errors import InvalidArgumentError
from initlab.probe.depth import DEFECT_THRESHOLDS, ORTHOGONAL_RELU, defects
from initlab.report import Prose, family_lines, fmt_ci, protocol_text, verdict_counts
from initlab.stats import final_epochs, mean_ci, paired_test, test_family, wilson_interval

DELTA = 0.02  # equivalence margin: 2 pp of test accuracy, below the seed-to-seed spread of one set-up
# The variance scaling each activation is usually paired with, and a mismatched one.
MATCHED_INIT = {"relu": ("he_normal", "lecun_normal"), "tanh": ("glorot_normal", "he_normal"),
                "selu": ("lecun_normal", "he_normal"), "linear": ("lecun_normal", "he_normal")}
SNN_INITS = ("zeros", "random_normal_001", "random_normal_1")  # 004: "random or zero initialization"
SNN_REFERENCE = "lecun_normal"  # the self-normalizing set-up's own initializer (Klambauer et al.)
FAMILIES = {
    "orthogonal": "orthogonal against glorot_normal for each activation and depth (for a square kernel the "
                  f"same variance, without the orthogonality) and ReLU + {ORTHOGONAL_RELU} against ReLU + "
                  "he_normal (the same variance), in final test accuracy",
    "orthogonal speed": "the same pairs in the area under the validation-accuracy curve (its mean over the "
                        "epochs: higher when a network gets there sooner)",
    "variance scaling": "each activation's usual variance scaling against a mismatched one, per depth, in "
                        "final test accuracy",
    "snn": f"SELU started from {', '.join(SNN_INITS)} against SELU with {SNN_REFERENCE}, per depth and input "
           "scaling, in final test accuracy",
    "snn vs other activations": f"SELU against ReLU and tanh from the same start ({', '.join(SNN_INITS)}), "
                                "per depth, in final test accuracy",
}
VALUES = {"orthogonal speed": "auc"}  # the compared value when not the final test accuracy
PREPROCESS_WORDS = {"scale": "", "standardize": ", standardized inputs"}
SNN_ANSWERS = ("holds", "fails", "inconclusive", "neither trains")
TEST_COLUMNS = ["family", "claim", "depth", "preprocess", "a", "b", "value", "a_mean", "b_mean"]


TRAINS, FAILS = 0.80, 0.20  # test-accuracy grades; 10 balanced classes put chance near 0.10
COLLAPSE = 0.20  # mean drop from each run's best validation accuracy to its last that grades "collapses"
GRADES = ("trains", "partial", "fails", "collapses", "diverged")
SETUP_KEYS = ("depth", "activation", "init", "preprocess")  # one set-up, across seeds (and learning rates)


# --------------------------------------------------------------------------- training and grading


def architecture(depth: int, width: int, activation: str) -> str:
    """The ``model`` label of a deep run: ``"deep_mlp(depth=50, width=64, activation=relu)"``."""
    return f"deep_mlp(depth={int(depth)}, width={int(width)}, activation={activation})"


def depth_studies(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str], *,
                  seeds: Sequence[int], width: int, learning_rates: Sequence[float | None] = (None,),
                  **setup: Any) -> list:
    """One :class:`~initlab.training.study.Study` of ``deep_mlp`` per depth, activation and learning
    rate, in that order (the rate innermost); ``setup``: further Study fields (``epochs``,
    ``train_limit``, ``preprocess``, ``init_params``...), not ``learning_rate``."""
    from initlab.training.study import Study

    if "learning_rate" in setup:
        raise InvalidArgumentError("learning_rate", setup["learning_rate"], "is not taken here: pass learning_rates")
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    return [Study(dataset, "deep_mlp", tuple(inits), seeds=tuple(seeds), learning_rate=rate,
                  model_params={"depth": int(depth), "width": int(width), "activation": activation}, **setup)
            for depth in depths for activation in activations for rate in learning_rates]


def _labelled(studies: Sequence[Any], run: Mapping[str, Any]) -> pd.DataFrame:
    """Each study's rows (``RESULT_COLUMNS``) with its depth, width, activation, learning rate and
    preprocessing, in the order of ``studies``; ``model`` names the architecture.

    :func:`~initlab.training.study.run_each` runs them one learning rate at a time: studies of
    one rate differ in their architecture, so every run keeps the stack mates it has in a study
    of its own (a stack's float32 rounding depends on its members).
    """
    from initlab.training.optimizers import resolved_learning_rate
    from initlab.training.study import run_each

    rates = list(dict.fromkeys(s.learning_rate for s in studies))
    parts = [[i for i, s in enumerate(studies) if s.learning_rate == rate] for rate in rates]
    out = []
    for s, df in zip(studies, run_each(studies, parts=parts, **run)):
        p = s.model_params
        out.append(df.assign(model=architecture(p["depth"], p["width"], p["activation"]), depth=int(p["depth"]),
                             width=int(p["width"]), activation=p["activation"],
                             learning_rate=resolved_learning_rate(s.optimizer, s.learning_rate),
                             preprocess=s.preprocess))
    return pd.concat(out, ignore_index=True)


def depth_study(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str], *,
                seeds: Sequence[int], width: int, learning_rates: Sequence[float | None] = (None,),
                names: Mapping[str, str] | None = None, **options: Any) -> pd.DataFrame:
    """Train ``deep_mlp`` for every depth, activation, learning rate, init and seed: the
    :func:`depth_studies` run by :func:`initlab.training.study.run_grid`.

    Args:
        dataset: a dataset name.
        depths, activations, inits, seeds: the grid.
        width: units per hidden layer.
        learning_rates: one study per rate; None (or the optimizer's default itself)
            trains with the optimizer's default, so those runs share the cache with
            studies that name no rate.
        names: the ``init`` value to report for an initializer whose ``init_params``
            differ from its defaults (e.g. ``{"orthogonal": ORTHOGONAL_RELU}``), so such
            runs never merge with the defaults' in a table.
        **options: :class:`~initlab.training.study.Study` fields (``epochs``, ``batch_size``,
            ``train_limit``, ``preprocess``, ``init_params``, ...; not ``learning_rate``) and
            :func:`~initlab.training.study.run_grid` options (``cache``, ``cache_root``...).

    Returns:
        ``RESULT_COLUMNS`` plus ``depth``, ``width``, ``activation``, ``learning_rate``
        (the rate used) and ``preprocess``; ``model`` names the architecture
        (:func:`architecture`), so runs of different depths or activations never merge
        in :func:`initlab.stats.final_epochs`.
    """
    from initlab.training.study import run_options

    setup, run = run_options(options)
    studies = depth_studies(dataset, depths, activations, inits, seeds=seeds, width=width,
                            learning_rates=learning_rates, **setup)
    out = _labelled(studies, run)
    if names:
        out["init"] = out["init"].replace(dict(names))
    return out


def rate_grid_study(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str], *,
                    seeds: Sequence[int], width: int, learning_rates: Sequence[float | None],
                    rate_depths: Sequence[int], rate_inits: Sequence[str] | None = None,
                    names: Mapping[str, str] | None = None, **options: Any) -> pd.DataFrame:
    """:func:`depth_study` at ``learning_rates[0]`` everywhere, and at the other rates only where they matter.

    Args:
        learning_rates: the grid; the first is trained at every depth.
        rate_depths: the depths that also train at the other rates.
        rate_inits: the inits that do (default all; those left out train at the first rate only).
        names, **options: as for :func:`depth_study` (``init_params``, ``preprocess``, ``epochs``, ...).
    """
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    from initlab.training.study import run_options

    setup, run = run_options(options)
    studies = depth_studies(dataset, depths, activations, inits, seeds=seeds, width=width,
                            learning_rates=learning_rates[:1], **setup)
    grid_inits = [i for i in inits if rate_inits is None or i in rate_inits]
    grid_depths = [d for d in rate_depths if d in depths]
    if len(learning_rates) > 1 and grid_inits and grid_depths:
        studies += depth_studies(dataset, grid_depths, activations, grid_inits, seeds=seeds, width=width,
                                 learning_rates=learning_rates[1:], **setup)
    out = _labelled(studies, run)
    if names:
        out["init"] = out["init"].replace(dict(names))
    return out


def setup_keys(df: pd.DataFrame, rate: bool = True) -> list[str]:
    """The columns of ``df`` that name one set-up (:data:`SETUP_KEYS`, with ``learning_rate`` if ``rate``)."""
    return [k for k in (*SETUP_KEYS, *(["learning_rate"] if rate else [])) if k in df.columns]


def run_table(df: pd.DataFrame, target: float = TRAINS) -> pd.DataFrame:
    """One row per run: its last epoch's values and its validation curve's
    :data:`initlab.convergence.METRICS` (``epochs_to_target`` at ``target``)."""
    conv = convergence_table(df, target)
    return final_epochs(df).merge(conv, on=run_keys(df), how="left")


def grade(mean: float, diverged: int, collapse: float = float("nan"), *, trains: float = TRAINS,
          fails: float = FAILS, collapsed: float = COLLAPSE) -> str:
    """One of :data:`GRADES` for a set-up.

    ``"diverged"`` (any run), then ``"collapses"`` (the mean drop from each run's best
    validation accuracy to its last is at least ``collapsed``), then by the mean test
    accuracy: ``"trains"`` (>= ``trains``), ``"fails"`` (< ``fails``) or ``"partial"``.
    """
    if diverged:
        return "diverged"
    if np.isfinite(collapse) and collapse >= collapsed:
        return "collapses"
    if not np.isfinite(mean) or mean < fails:
        return "fails"
    return "trains" if mean >= trains else "partial"


def trainability(df: pd.DataFrame, *, trains: float = TRAINS, fails: float = FAILS,
                 collapsed: float = COLLAPSE) -> pd.DataFrame:
    """Per set-up of a :func:`depth_study` (:func:`setup_keys`): test accuracy, the curve's peak and collapse, a grade.

    Returns:
        One row per set-up, in the order they first appear in ``df``: the set-up's
        columns, ``runs``, ``n`` (runs that finished), ``mean, half_width, ci_low,
        ci_high`` (test accuracy over those), ``diverged`` (runs whose loss overflowed),
        ``failed`` (diverged or below ``fails``), ``trained_mean`` (mean test accuracy
        of the runs that did not fail), ``val_final``, ``peak`` and ``collapse`` (means
        over the finished runs of the last and best validation accuracy and of their
        difference), ``val_score`` (the mean last validation accuracy with a diverged
        run counted as 0: it leaves no usable network), ``best_epoch`` (median epoch of
        the peak) and ``status`` (:func:`grade`).
    """
    runs = run_table(df, trains)
    keys = setup_keys(df)
    groups = dict(iter(runs.groupby(keys, sort=False)))
    nan = float("nan")
    rows = []
    for key in dict.fromkeys(df[keys].itertuples(index=False, name=None)):  # in the order of df
        g = groups[key]
        ok = g[g["status"] != "diverged"]
        acc = ok["test_accuracy"].to_numpy(dtype=float)
        ci = mean_ci(acc)
        diverged = int(len(g) - len(ok))
        learned = acc[acc >= fails]
        collapse = float(ok["collapse"].mean()) if len(ok) else nan
        rows.append({**dict(zip(keys, key)), "runs": len(g), "n": ci["n"], "mean": ci["mean"],
                     "half_width": ci["half_width"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                     "diverged": diverged, "failed": diverged + int(np.sum(~(acc >= fails))),
                     "trained_mean": float(learned.mean()) if learned.size else nan,
                     "val_final": float(ok["final"].mean()) if len(ok) else nan,
                     "peak": float(ok["peak"].mean()) if len(ok) else nan, "collapse": collapse,
                     "val_score": float(ok["final"].fillna(0.0).sum() / len(g)),
                     "best_epoch": float(ok["best_epoch"].median()) if len(ok) else nan,
                     "status": grade(ci["mean"], diverged, collapse, trains=trains, fails=fails,
                                          collapsed=collapsed)})
    return pd.DataFrame(rows)


def select_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Each set-up's learning rate: the one with the highest ``val_score`` in a :func:`trainability` table.

    The score is the mean final validation accuracy over seeds, a diverged run
    counting 0; the test set plays no part. Ties go to the larger rate.

    Returns:
        ``table``'s row of each set-up at its chosen rate, in the order set-ups first
        appear, with ``rates`` (how many rates were tried).
    """
    keys = setup_keys(table, rate=False)
    rows = []
    for _, g in table.groupby(keys, sort=False):
        best = g.sort_values(["val_score", "learning_rate"], ascending=False, kind="stable").iloc[0]
        rows.append({**best.to_dict(), "rates": len(g)})
    return pd.DataFrame(rows).reset_index(drop=True)


def at_rates(df: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` trained at each set-up's chosen rate (:func:`select_rates`)."""
    keys = [*setup_keys(df, rate=False), "learning_rate"]
    return df.merge(rates[keys], on=keys, how="inner")




def setup_name(activation: str, init: str) -> str:
    """``"relu + he_normal"``."""
    return f"{activation} + {init}"


def rate_text(rate: float) -> str:
    """A learning rate as printed: ``1e-03``."""
    return f"{rate:.0e}"


# --------------------------------------------------------------------------- claims


def claim_pairs(setups: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """The comparisons that test ``004``'s claims, among the (activation, init) set-ups a study has.

    Each is ``{"family", "a_activation", "a_init", "b_activation", "b_init", "value"}``:
    the claim predicts ``a`` higher than ``b`` in ``value`` (for ``snn``: at least as high).
    """
    have = set(map(tuple, setups))
    pairs = []

    def add(family: str, a: tuple[str, str], b: tuple[str, str]) -> None:
        if a in have and b in have:
            pairs.append({"family": family, "a_activation": a[0], "a_init": a[1], "b_activation": b[0],
                          "b_init": b[1], "value": VALUES.get(family, "test_accuracy")})

    activations = list(dict.fromkeys(a for a, _ in setups))
    for family in ("orthogonal", "orthogonal speed"):
        for act in activations:
            add(family, (act, "orthogonal"), (act, "glorot_normal"))
        add(family, ("relu", ORTHOGONAL_RELU), ("relu", "he_normal"))
    for act in activations:
        if act in MATCHED_INIT:
            add("variance scaling", (act, MATCHED_INIT[act][0]), (act, MATCHED_INIT[act][1]))
    for init in SNN_INITS:
        add("snn", ("selu", init), ("selu", SNN_REFERENCE))
    for init in SNN_INITS:
        for other in ("relu", "tanh"):
            add("snn vs other activations", ("selu", init), (other, init))
    return pairs


def claim_tests(runs: pd.DataFrame, delta: float = DELTA,
                pairs: Sequence[Mapping[str, str]] | None = None) -> pd.DataFrame:
    """Paired tests of each claim at every depth and input scaling where both sides ran, Holm per family.

    Args:
        runs: one row per run (:func:`run_table`), each set-up at one learning rate.
        delta: the equivalence margin (accuracy as a fraction).
        pairs: default :func:`claim_pairs` of the set-ups in ``runs``.

    Runs with the same seed see the same batches, so differences are taken seed by
    seed; a diverged run has no accuracy and its seed drops out of the pair
    (``dropped``).

    Returns:
        One row per test: :data:`TEST_COLUMNS`, :func:`initlab.stats.paired_test`'s and
        :func:`initlab.stats.test_family`'s columns. ``claim`` names the test
        (``"depth 50: relu + orthogonal > relu + glorot_normal"``).
    """
    if pairs is None:
        pairs = claim_pairs(list(dict.fromkeys(runs[["activation", "init"]].itertuples(index=False, name=None))))
    prep = runs["preprocess"] if "preprocess" in runs.columns else pd.Series("scale", index=runs.index)
    runs = runs.assign(preprocess=prep)
    cells = list(dict.fromkeys(runs[["depth", "preprocess"]].itertuples(index=False, name=None)))
    cells.sort(key=lambda c: (c[1] != "scale", c[0]))
    rows = []
    for pair in pairs:
        for depth, preprocess in cells:
            at = runs[(runs["depth"] == depth) & (runs["preprocess"] == preprocess)]
            side = {s: at[(at["activation"] == pair[f"{s}_activation"]) & (at["init"] == pair[f"{s}_init"])]
                    .set_index("seed")[pair["value"]] for s in "ab"}
            if not (len(side["a"]) and len(side["b"])):
                continue
            both = side["a"].index.intersection(side["b"].index)
            diff = (side["a"].loc[both] - side["b"].loc[both]).to_numpy(dtype=float)
            a, b = (setup_name(pair[f"{s}_activation"], pair[f"{s}_init"]) for s in "ab")
            rows.append({"family": pair["family"], "claim": f"depth {depth}{PREPROCESS_WORDS[preprocess]}: {a} > {b}",
                         "depth": int(depth), "preprocess": preprocess, "a": a, "b": b, "value": pair["value"],
                         "a_mean": float(side["a"].mean()), "b_mean": float(side["b"].mean()),
                         **paired_test(diff, delta)})
    if not rows:
        return pd.DataFrame(columns=[*TEST_COLUMNS, "n", "mean", "p", "p_equiv", "exact", "verdict", "borderline"])
    table = pd.DataFrame(rows)
    return pd.concat([test_family(g) for _, g in table.groupby("family", sort=False)], ignore_index=True)


def snn_answer(verdict: str, start: str, reference: str) -> str:
    """The answer (:data:`SNN_ANSWERS`) to "SELU from this start trains as well as SELU + lecun_normal".

    ``verdict`` is the paired test's; ``start`` and ``reference`` are the two set-ups'
    grades. *holds*: the start trains and the test finds it better or equivalent;
    *fails*: the test finds it worse, or the start learns nothing (fails, collapses or
    diverges) where the reference learns; *neither trains*: both learn nothing, so
    the budget says nothing about the claim; otherwise *inconclusive*.
    """
    learns = ("trains", "partial")
    if verdict == "reversed":
        return "fails"
    if start == "trains" and verdict in ("supported", "equivalent"):
        return "holds"
    if start not in learns:
        return "fails" if reference in learns else "neither trains"
    return "inconclusive"


def snn_answers(tests: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`snn_answer` for every ``snn`` test, with both set-ups' grades from ``table``.

    ``table`` is :func:`trainability`'s at the chosen learning rates.

    Returns:
        One row per test: ``depth, preprocess, start, claim, verdict, start_status,
        start_mean, reference_status, reference_mean, answer``.
    """
    t = table.assign(preprocess=table["preprocess"] if "preprocess" in table.columns else "scale")
    t = t.set_index(["depth", "preprocess", "activation", "init"])
    rows = []
    for _, r in tests[tests["family"] == "snn"].iterrows():
        start_init = r["a"].split(" + ", 1)[1]
        s = t.loc[(r["depth"], r["preprocess"], "selu", start_init)]
        ref = t.loc[(r["depth"], r["preprocess"], "selu", SNN_REFERENCE)]
        rows.append({"depth": r["depth"], "preprocess": r["preprocess"], "start": start_init, "claim": r["claim"],
                     "verdict": r["verdict"], "start_status": s["status"], "start_mean": s["mean"],
                     "reference_status": ref["status"], "reference_mean": ref["mean"],
                     "answer": snn_answer(r["verdict"], s["status"], ref["status"])})
    return pd.DataFrame(rows, columns=["depth", "preprocess", "start", "claim", "verdict", "start_status",
                                       "start_mean", "reference_status", "reference_mean", "answer"])


# --------------------------------------------------------------------------- tables


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
        return fmt_ci(row["mean"], row["half_width"])
    low, high = wilson_interval(failed, runs)
    if short:
        rest = f", rest {100 * row['trained_mean']:.1f}" if failed < runs else ""
        return f"{failed}/{runs} failed" + (f" ({100 * low:.0f}–{100 * high:.0f}%){rest}" if rest else "")
    div = f", {diverged} diverged" if diverged else ""
    if failed == runs:
        return f"{failed} of {runs} failed{div}"
    return (f"{failed} of {runs} failed{div} (95% CI {low:.0%}–{high:.0%}); "
            f"others {100 * row['trained_mean']:.2f}")


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


def rate_table(all_rates: pd.DataFrame, chosen: pd.DataFrame, depth: int, default: float) -> pd.DataFrame:
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
        scores = " / ".join(f"{rate_text(x['learning_rate'])}: {100 * x['val_score']:.1f}"
                            for _, x in g.sort_values("learning_rate", ascending=False).iterrows())
        rows.append({"activation": r["activation"], "init": _label(r),
                     f"at {rate_text(default)}": grade_cell(base.iloc[0]) if len(base) else "-",
                     "validation score by rate": scores, "chosen rate": rate_text(r["learning_rate"]),
                     "at the chosen rate": grade_cell(r)})
    return pd.DataFrame(rows).set_index(["activation", "init"])


def _mark(r: Mapping) -> str:
    if r["exact"]:
        return f"{r['verdict']} (exact)"
    return f"{r['verdict']}, borderline" if r["borderline"] else str(r["verdict"])


def claims_table(tests: pd.DataFrame, family: str) -> pd.DataFrame:
    """One family's tests laid out to quote: both means (%), the paired difference (pp) with its 95% CI,
    the Holm-adjusted p-value (``exact``: zero spread, decided by its sign), the verdict and, for an
    inconclusive one, the seeds that would resolve the gap at 80% power."""
    rows = []
    for _, r in tests[tests["family"] == family].iterrows():
        ci = f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]" if np.isfinite(r["ci_low"]) else "n/a"
        need = r["seeds_needed"]
        rows.append({"depth": f"{r['depth']}{PREPROCESS_WORDS[r['preprocess']]}", "a > b": f"{r['a']} > {r['b']}",
                     "a (%)": f"{100 * r['a_mean']:.1f}", "b (%)": f"{100 * r['b_mean']:.1f}",
                     "a - b (pp)": f"{100 * r['mean']:+.1f}" if np.isfinite(r["mean"]) else "n/a",
                     "95% CI": ci, "seeds": int(r["n"]),
                     "Holm p": "exact" if r["exact"] else (f"{r['p_adj']:.3g}" if np.isfinite(r["p_adj"]) else "n/a"),
                     "verdict": _mark(r),
                     "seeds to resolve": (f"{need:.0f}" if np.isfinite(need) else "> 10,000" if np.isinf(need) else "-")
                     if r["verdict"] == "inconclusive" else "-"})
    return pd.DataFrame(rows).set_index(["depth", "a > b"])


# --------------------------------------------------------------------------- texts


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
            note = (f"; {r['last_saturated']:.0%} of the last layer saturated"
                    if np.isfinite(r["last_saturated"]) and r["last_saturated"] > 0.5 else "")
            others.append(f"{r['init']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])}, "
                          f"backwards {_factor(r['backward'], r['backward_ratio'], r['backward_per_layer'])}{note})")
        lines.append(f"- **{activation}** ({int(v['depth'].max())} layers): kept both ways by "
                     f"{', '.join(kept['init']) or 'none'}; not by {'; '.join(others) or 'none'}.")
    return "\n".join(lines)


def _grade_counts(t: pd.DataFrame) -> str:
    c = t["status"].value_counts()
    return (f"{c.get('trains', 0)} of {len(t)} set-ups train (mean test accuracy ≥ {TRAINS:.0%}), "
            f"{c.get('partial', 0)} partly, {c.get('fails', 0)} fail (< {FAILS:.0%}), "
            f"{c.get('collapses', 0)} collapse, {c.get('diverged', 0)} diverge")


def _collapse_line(r: Mapping) -> str:
    return (f"{setup_name(r['activation'], r['init'])} at depth {r['depth']}: validation accuracy peaks at "
            f"{100 * r['peak']:.1f}% (median epoch {r['best_epoch']:g}) and ends at {100 * r['val_final']:.1f}%")


def trainability_text(base: pd.DataFrame, chosen: pd.DataFrame, default: float, rates: Sequence[float]) -> str:
    """Grades per depth at the default rate and at each set-up's chosen rate, the collapses, and what the
    grid changed. ``base`` and ``chosen`` are :func:`trainability` tables (one rate per set-up)."""
    scaled = _scaled(base)
    lines = [f"At the default learning rate {rate_text(default)}:", ""]
    lines += [f"- depth {d}: {_grade_counts(t)}." for d, t in scaled.groupby("depth")]
    coll = scaled[scaled["status"] == "collapses"]
    if len(coll):
        lines += ["", "Collapses (each run's best validation accuracy minus its last, averaged over seeds, at "
                  f"least {100 * COLLAPSE:.0f} pp): the network learned, then lost it:", ""]
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
                changed.append(f"{setup_name(r['activation'], r['init'])}: {was['status']} at {rate_text(default)} → "
                               f"{r['status']} at {rate_text(r['learning_rate'])} ({accuracy_cell(r)}%)")
        fixed = [setup_name(r["activation"], r["init"]) for _, r in t[t["rates"] == 1].iterrows()]
        only = f" Trained at {rate_text(default)} only: {', '.join(fixed)}." if fixed else ""
        lines += ["", f"At depth {d}, each set-up at the learning rate of {rates_words} with the best mean final "
                  f"validation accuracy (never the test set): {_grade_counts(t)}.{only}", ""]
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
            bad.append(f"- {name}: no measured defect passes its threshold (last-layer std {m['last_std']:.3g}, "
                       f"cosine {m['similarity']:.3g}, gradient ratio {m['grad_ratio']:.3g}); these diagnostics "
                       "do not account for the shortfall.")
    th = DEFECT_THRESHOLDS
    lines = [f"A start counts as defective when the last hidden layer's activation std is below {th['faded']:g} or "
             f"above {th['grown']:g}, no gradient reaches the hidden kernels, the first and last hidden kernels' "
             f"gradient norms differ by more than {th['gradient_ratio']:g}× either way, more than "
             f"{th['saturated']:.0%} of tanh outputs are saturated, at least {th['dead_units']:.0%} of ReLU units "
             f"are zero on every probe input, or two inputs' last-layer representations have a mean cosine "
             f"similarity of at least {th['collinear']:g} (nearly collinear: the head sees almost one direction).",
             "", f"At depth {depth}, the set-ups that do not train at their chosen rate:", "", *(bad or ["- none."])]
    if good:
        lines += ["", "Set-ups that train although their start shows a defect (a defect is not a verdict on "
                  "trainability):", "", *good]
    return "\n".join(lines)


def family_text(tests: pd.DataFrame, family: str, seeds: int, delta: float = DELTA) -> Prose:
    """One family's tests in words: the claim, the method, one line per test and the counts."""
    t = tests[tests["family"] == family]
    unit = "pp of validation accuracy averaged over the epochs" if VALUES.get(family) == "auc" else "pp"
    lines = [f"**{family}**", "", protocol_text(FAMILIES[family], len(t), seeds, delta), "",
             *family_lines(t, delta), "", f"Of {len(t)} tests: {verdict_counts(t)}."]
    if unit != "pp":
        lines.insert(-1, f"(Differences in {unit}.)")
    return Prose("\n".join(lines))


def families_text(tests: pd.DataFrame, seeds: int, delta: float = DELTA) -> Prose:
    """Every family of :func:`claim_tests` in words (:func:`family_text`), in the order they were tested."""
    return Prose("\n\n".join(family_text(tests, f, seeds, delta) for f in dict.fromkeys(tests["family"])))


def snn_text(answers: pd.DataFrame) -> Prose:
    """``004``'s self-normalizing claim, set-up by set-up, from :func:`snn_answers`."""
    lines = []
    for _, r in answers.iterrows():
        start = f"selu + {r['start']} ({r['start_status']}, {100 * r['start_mean']:.1f}%)" \
            if np.isfinite(r["start_mean"]) else f"selu + {r['start']} ({r['start_status']})"
        ref = f"selu + {SNN_REFERENCE} ({r['reference_status']}, {100 * r['reference_mean']:.1f}%)" \
            if np.isfinite(r["reference_mean"]) else f"selu + {SNN_REFERENCE} ({r['reference_status']})"
        lines.append(f"- depth {r['depth']}{PREPROCESS_WORDS[r['preprocess']]}: {start} against {ref}, test "
                     f"**{r['verdict']}** → the claim **{r['answer']}**.")
    counts = answers["answer"].value_counts()
    summary = ", ".join(f"{int(counts[a])} {a}" for a in SNN_ANSWERS if a in counts) or "no cells"
    return Prose("\n".join([*lines, "", f"Of {len(answers)} (start, depth, input scaling) cells: {summary}."]))


def _claim_mark(r: Mapping) -> str:
    return r["claim"] + (" (borderline)" if r["borderline"] else " (exact)" if r["exact"] else "")


def orthogonal_at_init(verdicts: pd.DataFrame) -> str:
    """Which activations keep their signal both ways at initialization with orthogonal kernels of gain 1."""
    o = verdicts[verdicts["init"] == "orthogonal"]
    kept = o[(o["forward"] == "keeps") & (o["backward"] == "keeps")]["activation"].tolist()
    lost = [f"{r['activation']} (forwards {_factor(r['forward'], r['forward_ratio'], r['forward_per_layer'])}, "
            f"backwards {_factor(r['backward'], r['backward_ratio'], r['backward_per_layer'])})"
            for _, r in o.iterrows() if r["activation"] not in kept]
    if not len(o):
        return "Orthogonal kernels were not probed at initialization."
    return (f"At initialization, orthogonal kernels of gain 1 keep the signal both ways with "
            f"{', '.join(kept) or 'no activation'}" + (f"; not with {'; '.join(lost)}" if lost else "") + ".")


def findings_text(*, verdicts: pd.DataFrame, base: pd.DataFrame, chosen: pd.DataFrame, diag: pd.DataFrame,
                  tests: pd.DataFrame, answers: pd.DataFrame, seeds: int, default: float,
                  rates: Sequence[float], delta: float = DELTA) -> Prose:
    """The notebook's closing text: propagation, trainability (default and chosen rates), the starts at the
    deepest depth, each claim's verdicts, and the method behind every verdict."""
    deepest = int(chosen["depth"].max())
    lines = ["**Signal propagation at initialization** (activation std forwards, gradient norm backwards; a "
             "change of more than 10× over the depth counts):", "", propagation_text(verdicts), "",
             "**Trainability in the fixed budget.**", "", trainability_text(base, chosen, default, rates), "",
             "**What the starts show.**", "", diagnosis_text(chosen, diag, deepest), "", "**The post's claims.**", ""]
    for family in dict.fromkeys(tests["family"]):
        t = tests[tests["family"] == family]
        sup = [_claim_mark(r) for _, r in t.iterrows() if r["verdict"] == "supported"]
        rev = [_claim_mark(r) for _, r in t.iterrows() if r["verdict"] == "reversed"]
        lines.append(f"- *{family}* ({len(t)} tests): {verdict_counts(t)}."
                     + (f" Supported: {'; '.join(sup)}." if sup else "")
                     + (f" Reversed: {'; '.join(rev)}." if rev else ""))
        if family == "orthogonal":
            lines.append(f"  {orthogonal_at_init(verdicts)}")
    if len(answers):
        counts = answers["answer"].value_counts()
        lines.append(f"- *Self-normalizing networks train as well from a random or zero start as with "
                     f"{SNN_REFERENCE}*: of {len(answers)} (start, depth, input scaling) cells the claim "
                     + ", ".join(f"{a} in {int(counts[a])}" for a in SNN_ANSWERS if a in counts)
                     + ". It holds only where SELU from that start trains and its test finds it better or "
                       "equivalent; an inconclusive test is never counted as holding.")
    seeds_word = f"{seeds} seeds"
    sizes = tests.groupby("family", sort=False).size()
    lines += ["", f"*Method.* Every verdict above is a paired t-test over {seeds_word} (runs with the same seed see "
              "the same batches), two-sided for a difference and two one-sided tests for equivalence within "
              f"±{100 * delta:g} pp, Holm-corrected within its family ({len(sizes)} families: "
              f"{'; '.join(f'{f} {n} tests' for f, n in sizes.items())}) "
              "at α = 0.05; *borderline* marks a corrected p-value within a factor of 2 of α. Each set-up is "
              "compared at its learning rate chosen on validation accuracy; the test accuracy reported is at "
              "that rate. Grades are descriptive thresholds on the mean test accuracy over seeds "
              f"(trains ≥ {TRAINS:.0%}, fails < {FAILS:.0%}; collapses: a mean drop of at least "
              f"{100 * COLLAPSE:.0f} pp from the best validation epoch; diverged: any run's loss overflowed), "
              "not tests."]
    return Prose("\n".join(lines))
