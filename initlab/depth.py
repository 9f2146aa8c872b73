"""Deep plain networks: signal propagation, trainability and what explains the failures.

The deep-network notebook asks three questions of ``deep_mlp`` networks (a
stack of equal-width Dense layers) for every pairing of a hidden activation
and a kernel initializer:

1. *At initialization*, does the spread of the activations (forwards) and of
   the gradients (backwards) stay put, shrink or blow up from layer to layer?
   :func:`propagation_grid` measures it and :func:`growth_verdicts` classifies it.
2. *In training*, which pairings learn within a fixed budget, at which depth?
   :func:`depth_study` trains them (several seeds) and :func:`trainability`
   grades the test accuracies.
3. *Why* do the failures fail? :func:`init_diagnostics` measures the trained
   networks' starting state (saturation, dead units, gradient norms, how alike
   the inputs look to the last hidden layer) and :func:`failure_reasons`
   names the defects.

:func:`claim_comparisons` then pits initializers against each other, paired
by seed, for the claims of ``004`` (orthogonal init, variance scaling matched
to the activation, self-normalizing SELU networks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)
import keras
import numpy as np
import pandas as pd

from initlab.diagnostics import LayerProbe, activation_name, saturated
from initlab.errors import InvalidArgumentError
from initlab.propagation import signal_propagation
from initlab.stats import final_epochs, mean_ci

GROWTH_THRESHOLD = 10.0  # a change by more than this factor from first to last hidden layer
TRAINS, FAILS = 0.80, 0.20  # test-accuracy grades; 10 balanced classes put chance near 0.10
COLLAPSED = 0.999  # mean cosine similarity of two inputs' last-layer representations
# The variance scaling each activation is usually paired with, and a mismatched one.
MATCHED_INIT = {"relu": ("he_normal", "lecun_normal"), "tanh": ("glorot_normal", "he_normal"),
                "selu": ("lecun_normal", "he_normal"), "linear": ("lecun_normal", "he_normal")}
SNN_INITS = ("zeros", "random_normal_001", "random_normal_1")  # 004: "random or zero initialization"
COMPARISON_COLUMNS = ["claim", "a_activation", "a_init", "b_activation", "b_init", "depth", "n", "mean_diff",
                      "ci_low", "ci_high", "a_mean", "b_mean", "diverged", "verdict"]


def propagation_grid(depth: int, width: int, activations: Sequence[str], inits: Sequence[str],
                     x: np.ndarray, y: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """:func:`initlab.propagation.signal_propagation` for every (activation, init) pair, in one frame.

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


def depth_study(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str],
                seeds: Sequence[int], width: int, **study: Any) -> pd.DataFrame:
    """Train ``deep_mlp`` for every depth, activation, init and seed (:func:`initlab.runner.run_study`).

    Args:
        dataset: a dataset name.
        depths, activations, inits, seeds: the grid.
        width: units per hidden layer.
        **study: passed to ``run_study`` (``epochs``, ``batch_size``, ``train_limit``, ...).

    Returns:
        ``run_study``'s rows plus ``depth``, ``width`` and ``activation``; ``model``
        names the architecture (:func:`architecture`), so runs of different depths
        or activations never merge in :func:`initlab.stats.final_epochs`.
    """
    from initlab import runner

    frames = []
    for depth in depths:
        for activation in activations:
            df = runner.run_study(dataset, "deep_mlp", inits, seeds=seeds,
                                  model_params={"depth": int(depth), "width": int(width), "activation": activation},
                                  **study)
            frames.append(df.assign(model=architecture(depth, width, activation), depth=int(depth),
                                    width=int(width), activation=activation))
    return pd.concat(frames, ignore_index=True)


def grade(mean: float, diverged: int, trains: float = TRAINS, fails: float = FAILS) -> str:
    """``"diverged"`` (any run), ``"trains"`` (mean >= ``trains``), ``"fails"`` (mean < ``fails``), else ``"partial"``."""
    if diverged:
        return "diverged"
    if not np.isfinite(mean) or mean < fails:
        return "fails"
    return "trains" if mean >= trains else "partial"


def trainability(df: pd.DataFrame, trains: float = TRAINS, fails: float = FAILS) -> pd.DataFrame:
    """Per (depth, activation, init) of a :func:`depth_study`: test accuracy over seeds and a grade.

    Returns:
        One row per set-up, in the order they first appear in ``df``: columns
        ``depth, activation, init, n, mean, half_width, ci_low, ci_high``
        (test accuracy over the seeds that finished), ``diverged`` (runs whose loss
        overflowed) and ``status`` (:func:`grade`).
    """
    runs = final_epochs(df)
    keys = ["depth", "activation", "init"]
    groups = dict(iter(runs.groupby(keys, sort=False)))
    rows = []
    for depth, activation, init in dict.fromkeys(df[keys].itertuples(index=False, name=None)):  # as in df
        g = groups[(depth, activation, init)]
        ci = mean_ci(g["test_accuracy"].to_numpy(dtype=float))
        diverged = int((g["status"] == "diverged").sum())
        rows.append({"depth": depth, "activation": activation, "init": init, "n": ci["n"], "mean": ci["mean"],
                     "half_width": ci["half_width"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                     "diverged": diverged, "status": grade(ci["mean"], diverged, trains, fails)})
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
        return {"loss": result.loss, "last_std": float(acts[-1].std()), "similarity": mean_cosine(acts[-1]),
                "frac_saturated": float(np.mean(sat)) if sat else float("nan"),
                "frac_dead_units": float(np.mean(dead)) if dead else float("nan"),
                "grad_first": g_first, "grad_last": g_last,
                "grad_ratio": g_first / g_last if g_last > 0 and np.isfinite(g_last) else float("nan")}


def init_diagnostics(dataset: str, depths: Sequence[int], activations: Sequence[str], inits: Sequence[str],
                     width: int, seed: int = 0, n_samples: int = 256, **spec: Any) -> pd.DataFrame:
    """:func:`probe_summary` of the untrained networks a :func:`depth_study` starts from.

    Each network is built exactly as the study builds it (:func:`initlab.runner.build_for`:
    the same seed, and LSUV fitted on the same examples) and probed on the
    first ``n_samples`` training examples with their labels.

    Args:
        dataset, depths, activations, inits, width, seed: which networks.
        n_samples: size of the probe batch.
        **spec: further :class:`initlab.runner.RunSpec` fields that select the data
            (``train_limit``, ``preprocess``).

    Returns:
        One row per (depth, activation, init) with the :func:`probe_summary` columns.
    """
    from initlab import runner

    if int(n_samples) < 2:
        raise InvalidArgumentError("n_samples", n_samples, "must be an integer >= 2")
    rows = []
    for depth in depths:
        for activation in activations:
            for init in inits:
                s = runner.RunSpec(dataset=dataset, model="deep_mlp", init=init, seed=int(seed), **spec,
                                   model_params={"depth": int(depth), "width": int(width), "activation": activation})
                data = runner.data_for(s)
                model = runner.build_for(s, data)
                x, y = data.x_train[:n_samples], data.y_train[:n_samples]
                rows.append({"depth": int(depth), "activation": activation, "init": init,
                             **probe_summary(model, x, y)})
                keras.backend.clear_session()
    return pd.DataFrame(rows)


def failure_reasons(diag: Mapping[str, float]) -> list[str]:
    """The defects a :func:`probe_summary` row shows, in words (empty when it looks healthy)."""
    reasons = []
    g_first, g_last, std = diag["grad_first"], diag["grad_last"], diag["last_std"]
    if not (np.isfinite(diag["loss"]) and np.isfinite(std)):
        reasons.append("the forward pass overflows (loss not finite)")
        return reasons
    if std < 1e-3:
        reasons.append(f"the signal has faded by the last hidden layer (std {std:.1e})")
    elif std > GROWTH_THRESHOLD:
        reasons.append(f"the signal has grown by the last hidden layer (std {std:.3g})")
    if g_first == 0 and g_last == 0:
        reasons.append("no gradient reaches the hidden kernels")
    ratio = diag["grad_ratio"]
    if np.isfinite(ratio) and ratio > 0 and not (1 / GROWTH_THRESHOLD ** 2 <= ratio <= GROWTH_THRESHOLD ** 2):
        reasons.append(f"the first layer's kernel gradient is {ratio:.1e} times the last one's")
    if diag.get("frac_saturated", np.nan) > 0.5:
        reasons.append(f"{diag['frac_saturated']:.0%} of tanh outputs are saturated")
    if diag.get("frac_dead_units", np.nan) > 0.5:
        reasons.append(f"{diag['frac_dead_units']:.0%} of ReLU units are dead on the probe batch")
    if diag.get("similarity", np.nan) > COLLAPSED:
        reasons.append(f"every input looks alike to the head (cosine {diag['similarity']:.4f})")
    return reasons


def claim_pairs(activations: Sequence[str], inits: Sequence[str]) -> list[dict[str, str]]:
    """The comparisons that test ``004``'s claims, for the activations and inits a study has.

    Each is ``{"claim", "a_activation", "a_init", "b_activation", "b_init"}`` where the
    claim predicts ``a`` to do better than ``b`` (or, for ``"snn"``, at least as well):

    - ``orthogonal``: orthogonal against glorot_normal (for a square layer, the
      same variance without the orthogonality), per activation;
    - ``variance scaling``: the activation's usual scaling against a mismatched
      one (:data:`MATCHED_INIT`);
    - ``snn``: SELU with zeros or a plain random normal against SELU with
      lecun_normal (the self-normalizing set-up), and against ReLU and tanh with
      the same start.
    """
    have = set(inits)
    pairs = []

    def add(claim: str, a: tuple[str, str], b: tuple[str, str]) -> None:
        if a[1] in have and b[1] in have and a[0] in activations and b[0] in activations:
            pairs.append({"claim": claim, "a_activation": a[0], "a_init": a[1],
                          "b_activation": b[0], "b_init": b[1]})

    for act in activations:
        add("orthogonal", (act, "orthogonal"), (act, "glorot_normal"))
    for act in activations:
        if act in MATCHED_INIT:
            add("variance scaling", (act, MATCHED_INIT[act][0]), (act, MATCHED_INIT[act][1]))
    for init in SNN_INITS:
        add("snn", ("selu", init), ("selu", "lecun_normal"))
        for other in ("relu", "tanh"):
            add("snn", ("selu", init), (other, init))
    return pairs


def claim_comparisons(df: pd.DataFrame, pairs: Sequence[Mapping[str, str]] | None = None,
                      value: str = "test_accuracy") -> pd.DataFrame:
    """Paired-by-seed differences ``a - b`` of ``value`` at every depth, for each pair (default :func:`claim_pairs`).

    Runs with the same seed see the same batches (the stacked engine's paired
    design), so the difference is taken seed by seed. A diverged run has no
    accuracy: its seed drops out of the pair (``n`` says how many remain) and
    ``diverged`` counts such runs.

    Returns:
        One row per (pair, depth), columns :data:`COMPARISON_COLUMNS`: the pair's fields, ``depth``, ``n``, ``mean_diff``,
        ``ci_low``, ``ci_high`` (95% CI of the mean difference), ``a_mean``, ``b_mean``,
        ``diverged`` and ``verdict``: ``"a better"`` (CI above 0), ``"b better"``
        (below 0), ``"both fail"`` (both means below :data:`FAILS`) or ``"no difference
        resolved"``.
    """
    runs = final_epochs(df)
    pairs = claim_pairs(sorted(set(df["activation"])), sorted(set(df["init"]))) if pairs is None else pairs
    rows = []
    for pair in pairs:
        for depth in sorted(set(runs["depth"])):
            at = runs[runs["depth"] == depth]
            a = at[(at["activation"] == pair["a_activation"]) & (at["init"] == pair["a_init"])].set_index("seed")
            b = at[(at["activation"] == pair["b_activation"]) & (at["init"] == pair["b_init"])].set_index("seed")
            diff = (a[value] - b[value]).dropna()
            ci = mean_ci(diff.to_numpy(dtype=float))
            a_mean, b_mean = float(a[value].mean()), float(b[value].mean())
            if ci["n"] >= 2 and ci["ci_low"] > 0:
                verdict = "a better"
            elif ci["n"] >= 2 and ci["ci_high"] < 0:
                verdict = "b better"
            elif not (a_mean >= FAILS or b_mean >= FAILS):
                verdict = "both fail"
            else:
                verdict = "no difference resolved"
            rows.append({**pair, "depth": int(depth), "n": ci["n"], "mean_diff": ci["mean"],
                         "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "a_mean": a_mean, "b_mean": b_mean,
                         "diverged": int((a["status"] == "diverged").sum() + (b["status"] == "diverged").sum()),
                         "verdict": verdict})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def diagnosis_table(diag: pd.DataFrame) -> pd.DataFrame:
    """:func:`init_diagnostics` rows indexed by set-up, rounded, with :func:`failure_reasons` as ``diagnosis``."""
    out = diag.set_index(["depth", "activation", "init"])
    reasons = ["; ".join(failure_reasons(r)) or "-" for _, r in out.iterrows()]
    numbers = out.apply(lambda c: c.map(lambda v: float(f"{v:.3g}") if np.isfinite(v) else v))
    return numbers.assign(diagnosis=reasons)
