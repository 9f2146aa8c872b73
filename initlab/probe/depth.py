"""Deep plain networks at initialization: signal propagation and the state training starts from.

The deep-network notebook asks three questions of ``deep_mlp`` networks (a
stack of equal-width Dense layers) for every pairing of a hidden activation
and a kernel initializer:

1. *At initialization*, does the spread of the activations (forwards) and of
   the gradients (backwards) stay put, shrink or blow up from layer to layer?
   :func:`propagation_grid` measures it and :func:`growth_verdicts` classifies it.
2. *In training*, which pairings learn within a fixed budget, at which depth and
   learning rate? That is :mod:`initlab.findings.deep`'s (:func:`~initlab.findings.deep.depth_study`).
3. *What does the start look like?* :func:`init_diagnostics` measures the
   trained networks' untrained state (saturation, dead units, gradient norms, how
   alike the inputs look to the last hidden layer) and :func:`defects` names
   what passes a stated threshold (:data:`DEFECT_THRESHOLDS`).

The claims of ``004`` are tested in :mod:`initlab.findings.deep`.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from initlab import training
from initlab.errors import InvalidArgumentError
from initlab.nets.layers import activation_name
from initlab.probe.measure import LayerProbe, saturated
from initlab.probe.propagation import signal_propagation

GROWTH_THRESHOLD = 10.0  # a change by more than this factor from first to last hidden layer
# A change beyond GROWTH_THRESHOLD made of per-layer factors within this much of 1 is a slow drift
# ("grows slowly", "shrinks slowly"), not an explosion: set above SELU with LeCun's per-layer gradient
# factor in mean-field theory (chi_1 about 1.07, Klambauer et al.), which compounds past 10 over 50 layers.
SLOW_PER_LAYER = 1.1
# ReLU with orthogonal kernels scaled to He's variance (gain sqrt 2), under its own name in the results.
ORTHOGONAL_RELU = "orthogonal_gain_sqrt2"
ORTHOGONAL_RELU_PARAMS = {"orthogonal": {"gain": math.sqrt(2.0)}}
# Defects of an untrained network (:func:`defects`), each with the threshold it must pass.
DEFECT_THRESHOLDS = {
    "faded": 1e-3,  # activation std of the last hidden layer below this
    "grown": GROWTH_THRESHOLD,  # ... or above this
    "gradient_ratio": GROWTH_THRESHOLD**2,  # first / last hidden kernel gradient norm beyond this either way
    "saturated": 0.5,  # share of tanh outputs saturated (|y| > 0.97), averaged over the layers
    "dead_units": 0.10,  # share of ReLU units that are 0 on every probe input, averaged over the layers
    "collinear": 0.95,  # mean cosine similarity of two inputs' last-layer representations
}


def propagation_grid(
    depth: int,
    width: int,
    activations: Sequence[str],
    *,
    inits: Sequence[str],
    x: np.ndarray,
    y: np.ndarray | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`initlab.probe.propagation.signal_propagation` for every (activation, init) pair, in one frame.

    Signals that overflow become ``inf`` or NaN and ones that underflow become 0;
    NumPy's warnings about them are silenced (the values say it).
    """
    frames = []
    with np.errstate(all="ignore"):
        for activation in activations:
            for init in inits:
                frames.append(signal_propagation(depth, width, activation, init=init, seed=seed, x=x, y=y))
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


def classify(
    ratio: float, threshold: float = GROWTH_THRESHOLD, *, layers: int | None = None, slow: float = SLOW_PER_LAYER
) -> str:
    """``"vanishes"`` below ``1/threshold``, ``"explodes"`` above ``threshold``, else ``"keeps"``; with
    ``layers`` (the steps the ratio spans), a change beyond the threshold whose per-layer factor
    ``ratio ** (1 / layers)`` lies within ``[1/slow, slow]`` is ``"shrinks slowly"`` or ``"grows slowly"``."""
    if not threshold > 1:
        raise InvalidArgumentError("threshold", threshold, "must be a number > 1")
    if 1 / threshold <= ratio <= threshold:
        return "keeps"
    if layers and 0 < ratio < math.inf and 1 / slow <= ratio ** (1 / layers) <= slow:
        return "shrinks slowly" if ratio < 1 else "grows slowly"
    return "vanishes" if ratio < 1 / threshold else "explodes"


def growth_verdicts(frame: pd.DataFrame, threshold: float = GROWTH_THRESHOLD) -> pd.DataFrame:
    """Classify each (activation, init) of a propagation frame as keeping, losing or blowing up its signal.

    Forwards: the activation std of the last hidden layer over the first's.
    Backwards: the gradient norm with respect to the first hidden layer's output
    over the last's (gradients flow from the head towards the input). A change
    by more than ``threshold`` either way is a vanishing or exploding signal, or a slow
    drift when every layer's share of it is small (:func:`classify`); an overflow (inf or
    NaN) counts as exploding. ``*_per_layer`` is the
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
        rows.append(
            {
                "activation": activation,
                "init": init,
                "depth": depth,
                "forward_ratio": fwd,
                "forward_per_layer": fwd ** (1 / (depth - 1)),
                "forward": classify(fwd, threshold, layers=depth - 1),
                "backward_ratio": bwd,
                "backward_per_layer": bwd ** (1 / (depth - 1)),
                "backward": classify(bwd, threshold, layers=depth - 1),
                "last_saturated": float(last.get("frac_saturated", np.nan)),
                "last_zero": float(last.get("frac_zero", np.nan)),
            }
        )
    return pd.DataFrame(rows)


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
        return {
            "loss": result.loss,
            "last_std": float(acts[-1].std()),
            "similarity": mean_cosine(acts[-1]),
            "frac_saturated": float(np.mean(sat)) if sat else float("nan"),
            "frac_dead_units": float(np.mean(dead)) if dead else float("nan"),
            "grad_first": g_first,
            "grad_last": g_last,
            "grad_ratio": g_first / g_last if g_last > 0 and np.isfinite(g_last) else float("nan"),
        }


def init_diagnostics(
    dataset: str,
    depths: Sequence[int],
    activations: Sequence[str],
    *,
    inits: Sequence[str],
    width: int,
    seed: int = 0,
    n_samples: int = 256,
    init_params: Mapping[str, Mapping[str, Any]] | None = None,
    names: Mapping[str, str] | None = None,
    **spec: Any,
) -> pd.DataFrame:
    """:func:`probe_summary` of the untrained networks a :func:`~initlab.findings.deep.depth_study` starts from.

    Each network is built exactly as the study builds it (:func:`initlab.training.build.build_for`:
    the same seed, and LSUV fitted on the same examples) and probed on the
    first ``n_samples`` training examples with their labels.

    Args:
        dataset, depths, activations, inits, width, seed: which networks.
        n_samples: size of the probe batch.
        init_params, names: as for :func:`~initlab.findings.deep.depth_study` (per-initializer parameters, and
            the ``init`` value reported for them).
        **spec: further :class:`initlab.training.spec.RunSpec` fields that select the data
            (``train_limit``, ``preprocess``).

    Returns:
        One row per (depth, activation, init) with the :func:`probe_summary` columns.
    """

    if int(n_samples) < 2:
        raise InvalidArgumentError("n_samples", n_samples, "must be an integer >= 2")
    rows = []
    for depth in depths:
        for activation in activations:
            for init in inits:
                s = training.RunSpec(
                    dataset=dataset,
                    model="deep_mlp",
                    init=init,
                    seed=int(seed),
                    **spec,
                    init_params=dict((init_params or {}).get(init, {})),
                    model_params={"depth": int(depth), "width": int(width), "activation": activation},
                )
                data = training.data_for(s)
                model = training.build_for(s, data)
                x, y = data.x_train[:n_samples], data.y_train[:n_samples]
                rows.append(
                    {
                        "depth": int(depth),
                        "activation": activation,
                        "init": (names or {}).get(init, init),
                        **probe_summary(model, x, y),
                    }
                )
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
        out.append(
            (
                "gradient ratio",
                f"the first hidden kernel's gradient is {ratio:.3g} times the last one's "
                f"(outside [{1 / limit:g}, {limit:g}])",
            )
        )
    sat = diag.get("frac_saturated", np.nan)
    if np.isfinite(sat) and sat > t["saturated"]:
        out.append(("saturated", f"{sat:.0%} of tanh outputs are saturated (> {t['saturated']:.0%})"))
    dead = diag.get("frac_dead_units", np.nan)
    if np.isfinite(dead) and dead >= t["dead_units"]:
        out.append(("dead units", f"{dead:.0%} of ReLU units are dead on every probe input (≥ {t['dead_units']:.0%})"))
    sim = diag.get("similarity", np.nan)
    if np.isfinite(sim) and sim >= t["collinear"]:
        out.append(
            (
                "collinear",
                f"the inputs' last-layer representations are nearly collinear "
                f"(mean cosine {sim:.3g} ≥ {t['collinear']:g})",
            )
        )
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
