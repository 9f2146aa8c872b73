"""Notebook 08's training: plain tanh nets over (``σ_w²``, depth), and Gaussian against orthogonal kernels at
criticality, each cell trained over a grid of SGD learning rates and judged at the rate it does best on
validation (:mod:`initlab.rate_choice`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from initlab.errors import InvalidArgumentError
from initlab.rate_choice import best_rate, extension
from initlab.theory.isometry import critical_point, setup_label
from initlab.training.study import Study, run_each, run_options

KERNEL_INIT = {"gaussian": "variance_scaling", "orthogonal": "orthogonal"}
INIT_KERNEL = {v: k for k, v in KERNEL_INIT.items()}
CELL = ("sigma_w2", "depth")  # one cell of the trainability grid
ISOMETRY_CELL = ("setup", "kernel")  # one cell of the isometry comparison
# How far a cell's rate grid is extended where its best rate is an edge (:func:`initlab.rate_choice.extension`):
# two half-decades beyond each end of the notebook's grid (3e-3 to 3e-2), a bound on the cost fixed before the
# runs. Upwards, divergence (a diverged run scores 0) usually ends the extension first.
RATE_LIMITS = (1e-3, 0.3)

Pair = tuple[tuple, float]  # (cell, learning rate)


def gaussian_params(sigma_w2: float) -> dict:
    """``variance_scaling`` parameters for ``N(0, σ_w² / fan_in)`` kernels (untruncated)."""
    return {"scale": float(sigma_w2), "mode": "fan_in", "distribution": "untruncated_normal"}


def net_params(depth: int, width: int, activation: str, *, sigma_b2: float) -> dict:
    """``deep_mlp`` options; hidden biases ``N(0, σ_b²)`` when ``σ_b² > 0`` (zeros otherwise)."""
    params = {"depth": int(depth), "width": int(width), "activation": activation}
    return {**params, "bias_std": math.sqrt(sigma_b2)} if sigma_b2 > 0 else params


def budget_scores(df: pd.DataFrame, cell: Sequence[str], budgets: Sequence[int]) -> pd.DataFrame:
    """One row per (cell, learning rate, budget, seed): ``value``, the run's validation accuracy after
    ``budget`` epochs; 0 for a run that diverged by then (it leaves no usable network)."""
    keys = [*cell, "learning_rate", "seed"]
    rows = []
    for key, g in df.groupby(keys, sort=False):
        g = g.set_index("epoch")
        diverged = g["diverged_epoch"].dropna()
        at = int(diverged.iloc[0]) if len(diverged) else None
        for b in budgets:
            value = float(g["val_accuracy"].get(int(b), np.nan))
            if (at is not None and at <= b) or not np.isfinite(value):
                value = 0.0
            rows.append({**dict(zip(keys, key)), "budget": int(b), "value": value})
    return pd.DataFrame(rows)


def chosen_rates(scores: pd.DataFrame, cell: Sequence[str]) -> pd.DataFrame:
    """Each cell's (and budget's) learning rate: the best mean ``value`` over seeds of :func:`budget_scores`
    (:func:`initlab.rate_choice.best_rate`; the test set plays no part).

    Returns:
        One row per cell (and budget): the cell's columns, ``learning_rate``, ``score`` (its mean),
        ``rates`` (how many were tried) and ``edge`` (``"lowest"``, ``"highest"``, ``"only rate"`` or ``""``).
    """
    keys = [*cell, *(["budget"] if "budget" in scores.columns else [])]
    means = scores.groupby([*keys, "learning_rate"], sort=False)["value"].mean().reset_index()
    rows = []
    for key, g in means.groupby(keys, sort=False):
        rates, values = g["learning_rate"].to_numpy(float), g["value"].to_numpy(float)
        i, edge = best_rate(rates, values)
        rows.append(
            {**dict(zip(keys, key)), "learning_rate": rates[i], "score": values[i], "rates": len(g), "edge": edge}
        )
    return pd.DataFrame(rows)


def at_chosen(df: pd.DataFrame, chosen: pd.DataFrame, cell: Sequence[str]) -> pd.DataFrame:
    """The rows of ``df`` trained at each cell's chosen rate (one budget's rows of :func:`chosen_rates`)."""
    return df.merge(chosen[[*cell, "learning_rate"]], on=[*cell, "learning_rate"], how="inner")


def _train(
    build: Callable[[Sequence[Pair]], tuple[list[Study], list[dict]]],
    pairs: Sequence[Pair],
    cell: Sequence[str],
    budgets: Sequence[int],
    rate_limits: tuple[float, float] | None,
    run: Mapping,
) -> pd.DataFrame:
    """Train ``build(pairs)`` (studies and the labels of their rows); then, while a cell's best rate at
    some budget is an edge worth extending within ``rate_limits`` (:func:`initlab.rate_choice.extension`),
    train that cell at the next rate out."""

    def trained(batch: Sequence[Pair]) -> pd.DataFrame:
        studies, labels = build(batch)
        frames = run_each(studies, **run)
        out = pd.concat([f.assign(**label) for f, label in zip(frames, labels)], ignore_index=True)
        return out.assign(kernel=out["init"].map(INIT_KERNEL))

    df = trained(pairs)
    while rate_limits is not None:
        means = budget_scores(df, cell, budgets).groupby([*cell, "budget", "learning_rate"], sort=False)["value"]
        means = means.mean().reset_index()
        more = []
        for key, g in means.groupby([*cell, "budget"], sort=False):
            new = extension(g["learning_rate"].to_numpy(float), g["value"].to_numpy(float), tuple(rate_limits))
            if new is not None:
                more.append((tuple(key[:-1]), new))
        more = list(dict.fromkeys(more))
        if not more:
            break
        df = pd.concat([df, trained(more)], ignore_index=True)
    return df


def trainability_runs(
    dataset: str,
    sigma_w2s: Sequence[float],
    depths: Sequence[int],
    *,
    sigma_b2: float,
    width: int,
    seeds: Sequence[int],
    learning_rates: Sequence[float],
    budgets: Sequence[int],
    rate_limits: tuple[float, float] | None = RATE_LIMITS,
    train_limit: int | None = None,
    test_limit: int | None = None,
    batch_size: int = 32,
    activation: str = "tanh",
    **run: object,
) -> pd.DataFrame:
    """Train a ``deep_mlp`` of every (``σ_w²``, depth) with each seed and learning rate, plain SGD, for
    ``max(budgets)`` epochs; each cell's grid is extended where its best rate at a budget is an edge.

    One :class:`~initlab.training.study.Study` per (depth, ``σ_w²``, rate), all run by
    :func:`~initlab.training.study.run_grid` (runs of one depth share stacks whatever their ``σ_w²`` or
    rate). ``run`` goes to ``run_grid`` (``cache``...) or, for a study field (``engine``...), to every
    study. Returns the studies' rows with ``sigma_w2, sigma_b2, depth, width, activation, learning_rate,
    kernel`` added.
    """
    if not len(learning_rates) or not len(budgets):
        raise InvalidArgumentError("learning_rates, budgets", (learning_rates, budgets), "must each hold a value")
    setup, grid = run_options(run)
    epochs = int(max(budgets))

    def build(batch: Sequence[Pair]) -> tuple[list[Study], list[dict]]:
        studies, labels = [], []
        for (w, depth), rate in sorted(batch, key=lambda p: (p[0][1], p[0][0], p[1])):
            studies.append(
                Study(
                    dataset,
                    "deep_mlp",
                    ("variance_scaling",),
                    seeds=tuple(seeds),
                    epochs=epochs,
                    batch_size=batch_size,
                    optimizer="sgd",
                    learning_rate=float(rate),
                    train_limit=train_limit,
                    test_limit=test_limit,
                    init_params={"variance_scaling": gaussian_params(w)},
                    model_params=net_params(depth, width, activation, sigma_b2=sigma_b2),
                    **setup,
                )
            )
            labels.append(
                dict(
                    sigma_w2=float(w),
                    sigma_b2=float(sigma_b2),
                    depth=int(depth),
                    width=int(width),
                    activation=activation,
                    learning_rate=float(rate),
                )
            )
        return studies, labels

    pairs = [((float(w), int(d)), float(r)) for d in depths for w in sigma_w2s for r in learning_rates]
    return _train(build, pairs, CELL, budgets, rate_limits, grid)


def isometry_runs(
    dataset: str,
    setups: Sequence[tuple[str, float]],
    *,
    depth: int,
    width: int,
    seeds: Sequence[int],
    learning_rates: Sequence[float],
    epochs: int,
    rate_limits: tuple[float, float] | None = RATE_LIMITS,
    train_limit: int | None = None,
    test_limit: int | None = None,
    batch_size: int = 32,
    **run: object,
) -> pd.DataFrame:
    """Gaussian and orthogonal kernels of the critical variance, per ``(activation, σ_b²)`` set-up, each
    over a grid of SGD learning rates (extended where a kernel's best rate on final validation accuracy
    is an edge).

    Both kernels have entries of variance ``σ_w² / fan_in`` (orthogonal: gain ``√σ_w²``), so the pair
    differs only in the kernels' singular values. Rows as :func:`trainability_runs`' with ``setup``.
    """
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    setup, grid = run_options(run)
    points = {setup_label(a, b): (a, b) for a, b in setups}

    def build(batch: Sequence[Pair]) -> tuple[list[Study], list[dict]]:
        by_study: dict[tuple[str, float], list[str]] = {}
        for (label, kernel), rate in batch:
            by_study.setdefault((label, float(rate)), []).append(KERNEL_INIT[kernel])
        studies, labels = [], []
        for (label, rate), inits in by_study.items():
            activation, sigma_b2 = points[label]
            sw2, sb2 = critical_point(activation, sigma_b2)
            studies.append(
                Study(
                    dataset,
                    "deep_mlp",
                    tuple(sorted(inits, key=list(INIT_KERNEL).index)),
                    seeds=tuple(seeds),
                    epochs=epochs,
                    batch_size=batch_size,
                    optimizer="sgd",
                    learning_rate=rate,
                    train_limit=train_limit,
                    test_limit=test_limit,
                    init_params={"variance_scaling": gaussian_params(sw2), "orthogonal": {"gain": math.sqrt(sw2)}},
                    model_params=net_params(depth, width, activation, sigma_b2=sb2),
                    **setup,
                )
            )
            labels.append(
                dict(
                    sigma_w2=sw2,
                    sigma_b2=sb2,
                    depth=int(depth),
                    width=int(width),
                    activation=activation,
                    setup=label,
                    learning_rate=rate,
                )
            )
        return studies, labels

    pairs = [((label, k), float(r)) for label in points for k in KERNEL_INIT for r in learning_rates]
    return _train(build, pairs, ISOMETRY_CELL, [epochs], rate_limits, grid)
