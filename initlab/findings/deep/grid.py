"""Notebook 06's training grid: deep plain nets by depth, activation, initializer and learning rate, run
through :func:`~initlab.training.study.run_grid`, graded, and each set-up's rate chosen on validation accuracy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab.convergence import convergence_table, run_keys
from initlab.errors import InvalidArgumentError
from initlab.probe.depth import ORTHOGONAL_RELU
from initlab.rate_choice import best_rate, extension
from initlab.stats import RUN_FAIL_BELOW, bounded_mean_ci, final_epochs, mean_ci
from initlab.training.optimizers import resolved_learning_rate
from initlab.training.study import Study, run_each, run_options

MARGIN_CLAIM = "004-snn-any-start"  # the ledger entry whose margin (δ) every claim family of 06 uses


# The variance scaling each activation is usually paired with, and a mismatched one.
MATCHED_INIT = {
    "relu": ("he_normal", "lecun_normal"),
    "tanh": ("glorot_normal", "he_normal"),
    "selu": ("lecun_normal", "he_normal"),
    "linear": ("lecun_normal", "he_normal"),
}


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


TRAINS, FAILS = 0.80, RUN_FAIL_BELOW  # test-accuracy grades; 10 balanced classes put chance near 0.10


COLLAPSE = 0.20  # mean drop from each run's best validation accuracy to its last that grades "collapses"


GRADES = ("trains", "partial", "fails", "collapses", "diverged")


SETUP_KEYS = ("depth", "activation", "init", "preprocess")  # one set-up, across seeds (and learning rates)


# How far a learning-rate grid is extended where a set-up's best rate is an edge (:func:`rate_grid_study`).
# Down: Adam moves a weight by at most about the rate per step, so 5 epochs of 250 steps at 1e-5 move it by
# 0.0125 at most, a fifteenth of a He kernel's std at width 64 (0.18): below it the budget cannot train.
# Up: divergence ends the extension long before 0.1 (100 times Keras' default) in a deep plain net.
RATE_LIMITS = (1e-5, 0.1)


def architecture(depth: int, width: int, activation: str) -> str:
    """The ``model`` label of a deep run: ``"deep_mlp(depth=50, width=64, activation=relu)"``."""
    return f"deep_mlp(depth={int(depth)}, width={int(width)}, activation={activation})"


def depth_studies(
    dataset: str,
    depths: Sequence[int],
    activations: Sequence[str],
    *,
    inits: Sequence[str],
    seeds: Sequence[int],
    width: int,
    learning_rates: Sequence[float | None] = (None,),
    **setup: Any,
) -> list:
    """One :class:`~initlab.training.study.Study` of ``deep_mlp`` per depth, activation and learning
    rate, in that order (the rate innermost); ``setup``: further Study fields (``epochs``,
    ``train_limit``, ``preprocess``, ``init_params``...), not ``learning_rate``."""

    if "learning_rate" in setup:
        raise InvalidArgumentError("learning_rate", setup["learning_rate"], "is not taken here: pass learning_rates")
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    return [
        Study(
            dataset,
            "deep_mlp",
            tuple(inits),
            seeds=tuple(seeds),
            learning_rate=rate,
            model_params={"depth": int(depth), "width": int(width), "activation": activation},
            **setup,
        )
        for depth in depths
        for activation in activations
        for rate in learning_rates
    ]


def _labelled(studies: Sequence[Any], run: Mapping[str, Any]) -> pd.DataFrame:
    """Each study's rows (``RESULT_COLUMNS``) with its depth, width, activation, learning rate and
    preprocessing, in the order of ``studies``; ``model`` names the architecture.

    :func:`~initlab.training.study.run_each` runs them one learning rate at a time: studies of
    one rate differ in their architecture, so every run keeps the stack mates it has in a study
    of its own (a stack's float32 rounding depends on its members).
    """

    rates = list(dict.fromkeys(s.learning_rate for s in studies))
    parts = [[i for i, s in enumerate(studies) if s.learning_rate == rate] for rate in rates]
    out = []
    for s, df in zip(studies, run_each(studies, parts=parts, **run)):
        p = s.model_params
        out.append(
            df.assign(
                model=architecture(p["depth"], p["width"], p["activation"]),
                depth=int(p["depth"]),
                width=int(p["width"]),
                activation=p["activation"],
                learning_rate=resolved_learning_rate(s.optimizer, s.learning_rate),
                preprocess=s.preprocess,
            )
        )
    return pd.concat(out, ignore_index=True)


def depth_study(
    dataset: str,
    depths: Sequence[int],
    activations: Sequence[str],
    *,
    inits: Sequence[str],
    seeds: Sequence[int],
    width: int,
    learning_rates: Sequence[float | None] = (None,),
    names: Mapping[str, str] | None = None,
    **options: Any,
) -> pd.DataFrame:
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

    setup, run = run_options(options)
    studies = depth_studies(
        dataset, depths, activations, inits=inits, seeds=seeds, width=width, learning_rates=learning_rates, **setup
    )
    out = _labelled(studies, run)
    if names:
        out["init"] = out["init"].replace(dict(names))
    return out


def _edges(df: pd.DataFrame, limits: tuple[float, float]) -> dict[tuple, list[str]]:
    """The set-ups of a trained grid whose best rate (:func:`select_rates`) is an edge of the rates they
    tried, scoring at least :data:`~initlab.rate_choice.RATE_GAIN` above the next rate inwards, with room
    within ``limits`` (:func:`~initlab.rate_choice.extension`): ``{(depth, activation, next rate): [init, ...]}``."""
    table = trainability(df)
    keys = setup_keys(table, rate=False)
    out: dict[tuple, list[str]] = {}
    for key, g in table.groupby(keys, sort=False):
        new = extension(g["learning_rate"].to_numpy(float), g["val_score"].to_numpy(float), limits)
        if new is not None:
            r = dict(zip(keys, key))
            out.setdefault((int(r["depth"]), r["activation"], new), []).append(r["init"])
    return out


def rate_grid_study(
    dataset: str,
    depths: Sequence[int],
    activations: Sequence[str],
    *,
    inits: Sequence[str],
    seeds: Sequence[int],
    width: int,
    learning_rates: Sequence[float | None],
    rate_depths: Sequence[int],
    rate_inits: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    rate_limits: tuple[float, float] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`depth_study` at ``learning_rates[0]`` everywhere, and at the other rates only where they matter.

    Args:
        learning_rates: the grid; the first is trained at every depth.
        rate_depths: the depths that also train at the other rates.
        rate_inits: the inits that do (default all; those left out train at the first rate only).
        names: as for :func:`depth_study`.
        rate_limits: ``(lowest, highest)``: where a set-up's best rate on validation is the lowest or
            highest it tried and beats the next rate inwards by :data:`~initlab.rate_choice.RATE_GAIN`, it
            trains at the next rate beyond (:func:`~initlab.rate_choice.next_rate`), again until its best rate
            is interior, its score flat, or the next rate would leave these limits (:func:`select_rates` marks
            an edge that remains). A rate that diverges scores 0, so divergence ends an extension upwards.
            ``None``: the grid as given.
        **options: as for :func:`depth_study` (``init_params``, ``preprocess``, ``epochs``, ...).
    """
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")

    setup, run = run_options(options)
    studies = depth_studies(
        dataset, depths, activations, inits=inits, seeds=seeds, width=width, learning_rates=learning_rates[:1], **setup
    )
    grid_inits = [i for i in inits if rate_inits is None or i in rate_inits]
    grid_depths = [d for d in rate_depths if d in depths]
    if len(learning_rates) > 1 and grid_inits and grid_depths:
        studies += depth_studies(
            dataset,
            grid_depths,
            activations,
            inits=grid_inits,
            seeds=seeds,
            width=width,
            learning_rates=learning_rates[1:],
            **setup,
        )
    out = _labelled(studies, run)
    if names:
        out["init"] = out["init"].replace(dict(names))
    names_back = {v: k for k, v in (names or {}).items()}
    while rate_limits is not None:
        edges = _edges(out, rate_limits)
        if not edges:
            break
        extra = [
            study
            for (depth, activation, rate), edge_inits in edges.items()
            for study in depth_studies(
                dataset,
                [depth],
                [activation],
                inits=[names_back.get(i, i) for i in edge_inits],
                seeds=seeds,
                width=width,
                learning_rates=[rate],
                **setup,
            )
        ]
        more = _labelled(extra, run)
        if names:
            more["init"] = more["init"].replace(dict(names))
        out = pd.concat([out, more], ignore_index=True)
    return out


def setup_keys(df: pd.DataFrame, rate: bool = True) -> list[str]:
    """The columns of ``df`` that name one set-up (:data:`SETUP_KEYS`, with ``learning_rate`` if ``rate``)."""
    return [k for k in (*SETUP_KEYS, *(["learning_rate"] if rate else [])) if k in df.columns]


def run_table(df: pd.DataFrame, target: float = TRAINS) -> pd.DataFrame:
    """One row per run: its last epoch's values and its validation curve's
    :data:`initlab.convergence.METRICS` (``epochs_to_target`` at ``target``)."""
    conv = convergence_table(df, target)
    return final_epochs(df).merge(conv, on=run_keys(df), how="left")


def grade(
    mean: float,
    diverged: int,
    collapse: float = float("nan"),
    *,
    trains: float = TRAINS,
    fails: float = FAILS,
    collapsed: float = COLLAPSE,
) -> str:
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


def trainability(
    df: pd.DataFrame, *, trains: float = TRAINS, fails: float = FAILS, collapsed: float = COLLAPSE
) -> pd.DataFrame:
    """Per set-up of a :func:`depth_study` (:func:`setup_keys`): test accuracy, the curve's peak and collapse, a grade.

    Returns:
        One row per set-up, in the order they first appear in ``df``: the set-up's
        columns, ``runs``, ``n`` (runs that finished), ``mean, half_width, ci_low,
        ci_high`` (test accuracy over those; where mean ± half-width leaves 0-1, ``ci_low`` and
        ``ci_high`` are the logit interval, :func:`initlab.stats.bounded_mean_ci`), ``diverged`` (runs
        whose loss overflowed),
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
        if ci["n"] >= 2 and (ci["ci_low"] < 0 or ci["ci_high"] > 1):  # an interval inside 0-100%
            ci = {**ci, **{k: v for k, v in bounded_mean_ci(acc).items() if k in ("ci_low", "ci_high")}}
        diverged = int(len(g) - len(ok))
        learned = acc[acc >= fails]
        collapse = float(ok["collapse"].mean()) if len(ok) else nan
        rows.append(
            {
                **dict(zip(keys, key)),
                "runs": len(g),
                "n": ci["n"],
                "mean": ci["mean"],
                "half_width": ci["half_width"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "diverged": diverged,
                "failed": diverged + int(np.sum(~(acc >= fails))),
                "trained_mean": float(learned.mean()) if learned.size else nan,
                "val_final": float(ok["final"].mean()) if len(ok) else nan,
                "peak": float(ok["peak"].mean()) if len(ok) else nan,
                "collapse": collapse,
                "val_score": float(ok["final"].fillna(0.0).sum() / len(g)),
                "best_epoch": float(ok["best_epoch"].median()) if len(ok) else nan,
                "status": grade(ci["mean"], diverged, collapse, trains=trains, fails=fails, collapsed=collapsed),
            }
        )
    return pd.DataFrame(rows)


def select_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Each set-up's learning rate: the one with the highest ``val_score`` in a :func:`trainability` table.

    The score is the mean final validation accuracy over seeds, a diverged run
    counting 0; the test set plays no part. Ties go to the larger rate.

    Returns:
        ``table``'s row of each set-up at its chosen rate, in the order set-ups first
        appear, with ``rates`` (how many rates were tried) and ``edge``: ``"highest"`` or
        ``"lowest"`` when the chosen rate is the highest or lowest tried (the best may lie
        beyond), ``"only rate"`` for a set-up tried at one rate, else ``""``.
    """
    keys = setup_keys(table, rate=False)
    rows = []
    for _, g in table.groupby(keys, sort=False):
        i, edge = best_rate(g["learning_rate"].to_numpy(float), g["val_score"].to_numpy(float))
        rows.append({**g.iloc[i].to_dict(), "rates": len(g), "edge": edge})
    return pd.DataFrame(rows).reset_index(drop=True)


def at_rates(df: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` trained at each set-up's chosen rate (:func:`select_rates`)."""
    keys = [*setup_keys(df, rate=False), "learning_rate"]
    return df.merge(rates[[*keys, *(["edge"] if "edge" in rates.columns else [])]], on=keys, how="inner")
