"""Deep plain networks: signal propagation, trainability, learning rates and the state at initialization.

The deep-network notebook asks three questions of ``deep_mlp`` networks (a
stack of equal-width Dense layers) for every pairing of a hidden activation
and a kernel initializer:

1. *At initialization*, does the spread of the activations (forwards) and of
   the gradients (backwards) stay put, shrink or blow up from layer to layer?
   :func:`propagation_grid` measures it and :func:`growth_verdicts` classifies it.
2. *In training*, which pairings learn within a fixed budget, at which depth and
   learning rate? :func:`depth_study` trains them (several seeds, a grid of
   learning rates), :func:`select_rates` picks each set-up's rate on validation
   accuracy, and :func:`trainability` grades the test accuracies, with the
   validation curve's peak and collapse (:mod:`initlab.convergence`).
3. *What does the start look like?* :func:`init_diagnostics` measures the
   trained networks' untrained state (saturation, dead units, gradient norms, how
   alike the inputs look to the last hidden layer) and :func:`defects` names
   what passes a stated threshold (:data:`DEFECT_THRESHOLDS`).

The claims of ``004`` are tested in :mod:`initlab.findings.deep`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
from initlab.convergence import convergence_table, run_keys
from initlab.errors import InvalidArgumentError
from initlab.nets.layers import activation_name
from initlab.probe.measure import LayerProbe, saturated
from initlab.probe.propagation import signal_propagation
from initlab.stats import final_epochs, mean_ci

GROWTH_THRESHOLD = 10.0  # a change by more than this factor from first to last hidden layer
TRAINS, FAILS = 0.80, 0.20  # test-accuracy grades; 10 balanced classes put chance near 0.10
COLLAPSE = 0.20  # mean drop from each run's best validation accuracy to its last that grades "collapses"
GRADES = ("trains", "partial", "fails", "collapses", "diverged")
DEFAULT_LEARNING_RATE = {"adam": 1e-3, "sgd": 1e-2}  # Keras' defaults
SETUP_KEYS = ("depth", "activation", "init", "preprocess")  # one set-up, across seeds (and learning rates)
# ReLU with orthogonal kernels scaled to He's variance (gain sqrt 2), under its own name in the results.
ORTHOGONAL_RELU = "orthogonal_gain_sqrt2"
ORTHOGONAL_RELU_PARAMS = {"orthogonal": {"gain": math.sqrt(2.0)}}
# Defects of an untrained network (:func:`defects`), each with the threshold it must pass.
DEFECT_THRESHOLDS = {
    "faded": 1e-3,              # activation std of the last hidden layer below this
    "grown": GROWTH_THRESHOLD,  # ... or above this
    "gradient_ratio": GROWTH_THRESHOLD ** 2,  # first / last hidden kernel gradient norm beyond this either way
    "saturated": 0.5,           # share of tanh outputs saturated (|y| > 0.97), averaged over the layers
    "dead_units": 0.10,         # share of ReLU units that are 0 on every probe input, averaged over the layers
    "collinear": 0.95,          # mean cosine similarity of two inputs' last-layer representations
}


def propagation_grid(depth: int, width: int, activations: Sequence[str], inits: Sequence[str],
                     x: np.ndarray, y: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """:func:`initlab.probe.propagation.signal_propagation` for every (activation, init) pair, in one frame.

    Signals that overflow become ``inf`` or NaN and ones that underflow become 0;
    NumPy's warnings about them are silenced (the values say it).
    """
    frames = []
    with np.errstate(all="ignore"):
        for activation in activations:
            for init in inits:
                frames.append(signal_propagation(depth, width, activation, init, seed, x, y))
                keras.backend.clear_session()
    return pd.concat(frames, ignore_index=True)


def growth(first: float, last: float) -> float:
    """``last / first`` for a signal that may have overflowed (inf, NaN) or underflowed (0).

    Returns ``inf`` when either value is not finite (an overflow upstream), 0
    when ``last`` is 0 (also for 0/0: nothing is left of the signal).
    """
    if not (np.isfinite(first) and np.isfinite(last)):
        return float("inf")
    if last == 0:
        return 0.0
    return float("inf") if first == 0 else float(last / first)


def classify(ratio: float, threshold: float = GROWTH_THRESHOLD) -> str:
    """``"vanishes"`` below ``1/threshold``, ``"explodes"`` above ``threshold``, else ``"keeps"``."""
    if not threshold > 1:
        raise InvalidArgumentError("threshold", threshold, "must be a number > 1")
    if ratio < 1 / threshold:
        return "vanishes"
    return "explodes" if ratio > threshold else "keeps"


def growth_verdicts(frame: pd.DataFrame, threshold: float = GROWTH_THRESHOLD) -> pd.DataFrame:
    """Classify each (activation, init) of a propagation frame as keeping, losing or blowing up its signal.

    Forwards: the activation std of the last hidden layer over the first's.
    Backwards: the gradient norm with respect to the first hidden layer's output
    over the last's (gradients flow from the head towards the input). A change
    by more than ``threshold`` either way is a vanishing or exploding signal;
    an overflow (inf or NaN) counts as exploding. ``*_per_layer`` is the
    geometric-mean factor per layer, ``ratio ** (1 / (depth - 1))``.

    Returns:
        One row per (activation, init): ``depth``, ``forward_ratio``,
        ``forward_per_layer``, ``forward``, ``backward_ratio``,
        ``backward_per_layer``, ``backward``, and ``last_saturated`` (tanh) /
        ``last_zero`` (ReLU), the last hidden layer's saturated or exactly-zero share.
    """
    rows = []
    for (activation, init), d in frame.groupby(["activation", "init"], sort=False):
        depth = int(d["layer_index"].max())
        if depth < 2:
            raise InvalidArgumentError("frame", f"depth {depth}", "must hold at least 2 hidden layers")

        def ends(statistic: str) -> tuple[float, float]:
            s = d[d["statistic"] == statistic].set_index("layer_index")["value"]
            return float(s.loc[1]), float(s.loc[depth])

        a_first, a_last = ends("activation_std")
        g_first, g_last = ends("activation_grad_norm")
        fwd, bwd = growth(a_first, a_last), growth(g_last, g_first)
        last = d[d["layer_index"] == depth].set_index("statistic")["value"]
        rows.append({"activation": activation, "init": init, "depth": depth,
                     "forward_ratio": fwd, "forward_per_layer": fwd ** (1 / (depth - 1)),
                     "forward": classify(fwd, threshold),
                     "backward_ratio": bwd, "backward_per_layer": bwd ** (1 / (depth - 1)),
                     "backward": classify(bwd, threshold),
                     "last_saturated": float(last.get("frac_saturated", np.nan)),
                     "last_zero": float(last.get("frac_zero", np.nan))})
    return pd.DataFrame(rows)


def architecture(depth: int, width: int, activation: str) -> str:
    """The ``model`` label of a deep run: ``"deep_mlp(depth=50, width=64, activation=relu)"``."""
    return f"deep_mlp(depth={int(depth)}, width={int(width)}, activation={activation})"


def effective_rate(learning_rate: float | None, optimizer: str = "adam") -> float:
    """The learning rate a run uses: ``learning_rate``, or the optimizer's Keras default for None."""
    if optimizer not in DEFAULT_LEARNING_RATE:
        raise InvalidArgumentError("optimizer", optimizer, f"must be one of {', '.join(DEFAULT_LEARNING_RATE)}")
    return DEFAULT_LEARNING_RATE[optimizer] if learning_rate is None else float(learning_rate)


def depth_study(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str],
                seeds: Sequence[int], width: int, learning_rates: Sequence[float | None] = (None,),
                names: Mapping[str, str] | None = None, **study: Any) -> pd.DataFrame:
    """Train ``deep_mlp`` for every depth, activation, learning rate, init and seed (:func:`initlab.training.study.run_study`).

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
        **study: passed to ``run_study`` (``epochs``, ``batch_size``, ``train_limit``,
            ``preprocess``, ``init_params``, ...), except ``learning_rate``.

    Returns:
        ``run_study``'s rows plus ``depth``, ``width``, ``activation``, ``learning_rate``
        (the rate used) and ``preprocess``; ``model`` names the architecture
        (:func:`architecture`), so runs of different depths or activations never merge
        in :func:`initlab.stats.final_epochs`.
    """
    from initlab import training

    if "learning_rate" in study:
        raise InvalidArgumentError("learning_rate", study["learning_rate"], "is not taken here: pass learning_rates")
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    optimizer = study.get("optimizer", "adam")
    frames = []
    for depth in depths:
        for activation in activations:
            for rate in learning_rates:
                used = effective_rate(rate, optimizer)
                df = training.run_study(dataset, "deep_mlp", inits, seeds=seeds,
                                      learning_rate=None if used == DEFAULT_LEARNING_RATE[optimizer] else used,
                                      model_params={"depth": int(depth), "width": int(width),
                                                    "activation": activation}, **study)
                frames.append(df.assign(model=architecture(depth, width, activation), depth=int(depth),
                                        width=int(width), activation=activation, learning_rate=used,
                                        preprocess=study.get("preprocess", "scale")))
    out = pd.concat(frames, ignore_index=True)
    if names:
        out["init"] = out["init"].replace(dict(names))
    return out


def rate_grid_study(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str],
                    seeds: Sequence[int], width: int, learning_rates: Sequence[float | None],
                    rate_depths: Sequence[int], rate_inits: Sequence[str] | None = None, **study: Any) -> pd.DataFrame:
    """:func:`depth_study` at ``learning_rates[0]`` everywhere, and at the other rates only where they matter.

    Args:
        learning_rates: the grid; the first is trained at every depth.
        rate_depths: the depths that also train at the other rates.
        rate_inits: the inits that do (default all; those left out train at the first rate only).
        **study: passed to :func:`depth_study` (``names``, ``init_params``, ``preprocess``, ``epochs``, ...).
    """
    if not len(learning_rates):
        raise InvalidArgumentError("learning_rates", list(learning_rates), "must hold at least one rate")
    frames = [depth_study(dataset, depths, activations, inits, seeds, width, learning_rates[:1], **study)]
    grid_inits = [i for i in inits if rate_inits is None or i in rate_inits]
    grid_depths = [d for d in rate_depths if d in depths]
    if len(learning_rates) > 1 and grid_inits and grid_depths:
        frames.append(depth_study(dataset, grid_depths, activations, grid_inits, seeds, width, learning_rates[1:],
                                  **study))
    return pd.concat(frames, ignore_index=True)


def setup_keys(df: pd.DataFrame, rate: bool = True) -> list[str]:
    """The columns of ``df`` that name one set-up (:data:`SETUP_KEYS`, with ``learning_rate`` if ``rate``)."""
    return [k for k in (*SETUP_KEYS, *(["learning_rate"] if rate else [])) if k in df.columns]


def run_table(df: pd.DataFrame, target: float = TRAINS) -> pd.DataFrame:
    """One row per run: its last epoch's values and its validation curve's
    :data:`initlab.convergence.METRICS` (``epochs_to_target`` at ``target``)."""
    conv = convergence_table(df, target)
    return final_epochs(df).merge(conv, on=run_keys(df), how="left")


def grade(mean: float, diverged: int, collapse: float = float("nan"), trains: float = TRAINS,
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


def trainability(df: pd.DataFrame, trains: float = TRAINS, fails: float = FAILS,
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
                     "status": grade(ci["mean"], diverged, collapse, trains, fails, collapsed)})
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


def mean_cosine(a: np.ndarray) -> float:
    """Mean cosine similarity between the rows of ``a`` (pairs of distinct rows); NaN if a row is all zero."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    norms = np.linalg.norm(a, axis=1)
    if len(a) < 2 or not np.all(np.isfinite(norms)) or np.any(norms == 0):
        return float("nan")
    u = a / norms[:, None]
    gram = u @ u.T
    n = len(a)
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))


def probe_summary(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """One forward and backward pass of a ``hidden_*`` network on ``(x, y)``, summarized.

    Returns:
        ``loss``; ``last_std`` (activation std of the last hidden layer);
        ``similarity`` (:func:`mean_cosine` of the last hidden layer's outputs:
        near 1 when every input looks the same to the head); ``frac_saturated``
        (tanh and sigmoid layers, averaged over them) and ``frac_dead_units``
        (ReLU layers: units that are 0 on every example, averaged over them),
        NaN where no layer has that activation; ``grad_first`` and ``grad_last``
        (L2 norms of the first and last hidden kernels' loss gradients) and
        ``grad_ratio`` (first over last; NaN when the last is 0).
    """
    probe = LayerProbe(model, loss="sparse_categorical_crossentropy")
    with np.errstate(all="ignore"):
        result = probe(x, y)
        hidden = [layer for layer in probe.layers if layer.name.startswith("hidden_")]
        if not hidden:
            raise InvalidArgumentError("model", model.name, "must have hidden layers named hidden_*")
        acts = [np.asarray(result.activations[layer.name], dtype=np.float64) for layer in hidden]
        kinds = [activation_name(layer) for layer in hidden]
        sat = [float(saturated(a, k).mean()) for a, k in zip(acts, kinds) if k in ("tanh", "sigmoid")]
        dead = [float(np.mean(np.all(a == 0, axis=0))) for a, k in zip(acts, kinds) if k == "relu"]
        g_first = float(np.linalg.norm(result.kernel_grads[hidden[0].name]))
        g_last = float(np.linalg.norm(result.kernel_grads[hidden[-1].name]))
        return {"loss": result.loss, "last_std": float(acts[-1].std()), "similarity": mean_cosine(acts[-1]),
                "frac_saturated": float(np.mean(sat)) if sat else float("nan"),
                "frac_dead_units": float(np.mean(dead)) if dead else float("nan"),
                "grad_first": g_first, "grad_last": g_last,
                "grad_ratio": g_first / g_last if g_last > 0 and np.isfinite(g_last) else float("nan")}


def init_diagnostics(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str],
                     width: int, seed: int = 0, n_samples: int = 256,
                     init_params: Mapping[str, Mapping[str, Any]] | None = None,
                     names: Mapping[str, str] | None = None, **spec: Any) -> pd.DataFrame:
    """:func:`probe_summary` of the untrained networks a :func:`depth_study` starts from.

    Each network is built exactly as the study builds it (:func:`initlab.training.build.build_for`:
    the same seed, and LSUV fitted on the same examples) and probed on the
    first ``n_samples`` training examples with their labels.

    Args:
        dataset, depths, activations, inits, width, seed: which networks.
        n_samples: size of the probe batch.
        init_params, names: as for :func:`depth_study` (per-initializer parameters, and
            the ``init`` value reported for them).
        **spec: further :class:`initlab.training.spec.RunSpec` fields that select the data
            (``train_limit``, ``preprocess``).

    Returns:
        One row per (depth, activation, init) with the :func:`probe_summary` columns.
    """
    from initlab import training

    if int(n_samples) < 2:
        raise InvalidArgumentError("n_samples", n_samples, "must be an integer >= 2")
    rows = []
    for depth in depths:
        for activation in activations:
            for init in inits:
                s = training.RunSpec(dataset=dataset, model="deep_mlp", init=init, seed=int(seed), **spec,
                                   init_params=dict((init_params or {}).get(init, {})),
                                   model_params={"depth": int(depth), "width": int(width), "activation": activation})
                data = training.data_for(s)
                model = training.build_for(s, data)
                x, y = data.x_train[:n_samples], data.y_train[:n_samples]
                rows.append({"depth": int(depth), "activation": activation,
                             "init": (names or {}).get(init, init), **probe_summary(model, x, y)})
                keras.backend.clear_session()
    return pd.DataFrame(rows)


def defect_list(diag: Mapping[str, float], thresholds: Mapping[str, float] | None = None) -> list[tuple[str, str]]:
    """The defects a :func:`probe_summary` row shows, as ``(short name, description with its threshold)``.

    ``thresholds`` overrides entries of :data:`DEFECT_THRESHOLDS`. A defect is a
    measured departure from a healthy start; it says nothing by itself about
    whether training can repair it. Empty when no measurement passes its threshold.
    """
    t = {**DEFECT_THRESHOLDS, **(thresholds or {})}
    std = diag["last_std"]
    if not (np.isfinite(diag["loss"]) and np.isfinite(std)):
        return [("overflow", "the forward pass overflows (loss not finite)")]
    out = []
    if std < t["faded"]:
        out.append(("faded", f"the signal has faded by the last hidden layer (std {std:.3g} < {t['faded']:g})"))
    elif std > t["grown"]:
        out.append(("grown", f"the signal has grown by the last hidden layer (std {std:.3g} > {t['grown']:g})"))
    if diag["grad_first"] == 0 and diag["grad_last"] == 0:
        out.append(("no gradient", "no gradient reaches the hidden kernels (both norms exactly 0)"))
    ratio, limit = diag["grad_ratio"], t["gradient_ratio"]
    if np.isfinite(ratio) and ratio > 0 and not (1 / limit <= ratio <= limit):
        out.append(("gradient ratio", f"the first hidden kernel's gradient is {ratio:.3g} times the last one's "
                                      f"(outside [{1 / limit:g}, {limit:g}])"))
    sat = diag.get("frac_saturated", np.nan)
    if np.isfinite(sat) and sat > t["saturated"]:
        out.append(("saturated", f"{sat:.0%} of tanh outputs are saturated (> {t['saturated']:.0%})"))
    dead = diag.get("frac_dead_units", np.nan)
    if np.isfinite(dead) and dead >= t["dead_units"]:
        out.append(("dead units", f"{dead:.0%} of ReLU units are dead on every probe input "
                                  f"(≥ {t['dead_units']:.0%})"))
    sim = diag.get("similarity", np.nan)
    if np.isfinite(sim) and sim >= t["collinear"]:
        out.append(("collinear", f"the inputs' last-layer representations are nearly collinear "
                                 f"(mean cosine {sim:.3g} ≥ {t['collinear']:g})"))
    return out


def defects(diag: Mapping[str, float], thresholds: Mapping[str, float] | None = None) -> list[str]:
    """The descriptions of :func:`defect_list`."""
    return [text for _, text in defect_list(diag, thresholds)]


def diagnosis_table(diag: pd.DataFrame) -> pd.DataFrame:
    """:func:`init_diagnostics` rows indexed by set-up, to three significant digits as text (a ratio of
    4e-08 never prints as 0), with the short names of :func:`defect_list` as ``defects``."""
    out = diag.set_index(["depth", "activation", "init"])
    found = [", ".join(name for name, _ in defect_list(r)) or "none" for _, r in out.iterrows()]
    numbers = out.drop(columns=["grad_first", "grad_last"]).apply(lambda c: c.map(lambda v: f"{v:.3g}"))
    return numbers.assign(defects=found)
