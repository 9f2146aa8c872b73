"""The symmetry notebook's findings: exact zeros, the one-unit network, noise that breaks symmetry.

Three questions about constant initialization, each answered from the notebook's
own numbers:

* Is a hidden layer's gradient at initialization zero, or only small? Float32
  and float64 norms side by side (:func:`exactness`): a real gradient is the
  same in both precisions, round-off of an exact zero shrinks with the precision.
* Is a constant network a network of one hidden unit? The families of
  :func:`constant_claims` and :func:`width_one_claims`.
* How much noise breaks the symmetry? :func:`noise_specs` and :func:`noise_table`.

Verdicts follow :mod:`initlab.stats`' protocol (paired tests over seeds, Holm
over each family, an equivalence margin δ).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from initlab.claims.verdicts import combine_rule
from initlab.errors import InvalidArgumentError
from initlab.report import Prose, family_lines, fmt_ci, protocol_text
from initlab.stats import compare_pairs, final_epochs, mean_ci

EXACT_ZERO = 1e-10  # a float64 norm below this fraction of the network's largest gradient norm is zero
FLOAT32_EPS = float(np.finfo(np.float32).eps)
FLOAT64_EPS = float(np.finfo(np.float64).eps)
CONSTANT_NAMES = {0.0: "zeros", 1.0: "ones"}
CONSTANT_INITS = ("zeros", "ones", "constant")  # the registry's constant initializers


def fmt_sig(value: float) -> str:
    """Three significant digits that never print a small number as 0 (``4e-15``) and always show a
    decimal point or exponent unless the value is exactly 0: ``0.9996`` prints ``1.0``, not ``1``."""
    text = f"{value:.3g}"
    if value == 0 or not np.isfinite(value) or any(c in text for c in ".e"):
        return "0" if value == 0 else text
    return f"{value:.1f}"


def precision_table(grads: pd.DataFrame, value: str = "kernel_grad_norm") -> pd.DataFrame:
    """Gradient norms per init (rows) and (layer, precision) (columns), as ``.3g`` text.

    ``grads`` stacks :func:`initlab.probe.runs.gradients_at_init_in` frames (a
    ``precision`` column). Text keeps a 4e-15 from printing as 0.
    """
    wide = grads.pivot_table(index="init", columns=["layer", "precision"], values=value, sort=False)
    return wide.map(fmt_sig)


def exactness(grads: pd.DataFrame, value: str = "kernel_grad_norm") -> pd.DataFrame:
    """Per (init, layer): is the gradient zero in exact arithmetic?

    The float64 norm is compared with the largest float64 norm of the same network:
    below :data:`EXACT_ZERO` of it (float64 round-off is about 1e-16 relative) the
    gradient is zero in exact arithmetic, and its float32 value is round-off.

    Returns:
        Columns ``init, layer, float32, float64, scale`` (the network's largest float64 norm),
        ``rel32, rel64`` (each norm over ``scale``) and ``zero`` (bool).
    """
    wide = grads.pivot_table(index=["init", "layer"], columns="precision", values=value, sort=False)
    if not {"float32", "float64"} <= set(wide.columns):
        raise InvalidArgumentError("grads", sorted(wide.columns), "must hold float32 and float64 rows")
    out = wide[["float32", "float64"]].reset_index()
    out["scale"] = out.groupby("init", sort=False)["float64"].transform("max")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rel32"] = np.where(out["scale"] > 0, out["float32"] / out["scale"], 0.0)
        out["rel64"] = np.where(out["scale"] > 0, out["float64"] / out["scale"], 0.0)
    out["zero"] = out["rel64"] <= EXACT_ZERO
    return out


def exactness_text(grads: pd.DataFrame, layer: str = "hidden_1") -> Prose:
    """One Markdown bullet per init on ``layer``'s kernel gradient at initialization, read by :func:`exactness`."""
    lines = []
    table = exactness(grads)
    all_zero = table.groupby("init", sort=False)[["float32", "float64"]].max().max(axis=1) == 0
    for _, r in table.query("layer == @layer").iterrows():
        if all_zero[r["init"]]:
            lines.append(
                f"- **{r['init']}**: every kernel gradient is exactly 0 in both precisions: no "
                f"signal reaches the output layer and no error reaches {layer}."
            )
        elif r["zero"] and r["float32"] == 0:
            lines.append(f"- **{r['init']}**: {layer}'s kernel gradient is exactly 0 in both precisions.")
        elif r["zero"] and r["float64"] == 0:
            lines.append(
                f"- **{r['init']}**: {layer}'s kernel gradient is exactly 0 in float64; float32 gives "
                f"{r['float32']:.3g}, round-off."
            )
        elif r["zero"]:
            lines.append(
                f"- **{r['init']}**: {layer}'s kernel gradient is zero in exact arithmetic. float64 gives "
                f"{r['float64']:.3g} ({r['rel64']:.3g} of the network's largest gradient norm, "
                f"{r['scale']:.3g}); float32 gives {r['float32']:.3g} ({r['rel32']:.3g} of it, "
                f"float32's precision being {FLOAT32_EPS:.3g}): round-off, {r['float32'] / r['float64']:.3g} "
                f"times larger in float32, where the unit of rounding is {FLOAT32_EPS / FLOAT64_EPS:.3g} "
                f"times float64's."
            )
        else:
            agree = abs(r["float32"] - r["float64"]) / r["float64"]
            lines.append(
                f"- **{r['init']}**: {layer}'s kernel gradient is a real one: {r['float32']:.3g} in "
                f"float32, {r['float64']:.3g} in float64 (they agree to {agree:.2g} relative)."
            )
    return Prose("\n".join(lines))


def collapse_table(collapse: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`initlab.probe.symmetry.collapse_identical_units` results by init, printable: the share of
    test images given the same class in percent, the largest probability difference as ``.3g`` text."""
    rows = [
        {
            "init": init,
            "units": r["units"],
            "identical": r["identical"],
            "same class (%)": f"{100 * r['same_class']:.2f}",
            "max_prob_diff": fmt_sig(r["max_prob_diff"]),
        }
        for init, r in collapse.items()
    ]
    return pd.DataFrame(rows).set_index("init")


def majority_accuracy(y_fit: np.ndarray, y_test: np.ndarray) -> tuple[int, float]:
    """The class most frequent in ``y_fit`` and its share of ``y_test``: what a network that
    can only learn its output biases (class frequencies) scores."""
    y_fit, y_test = np.asarray(y_fit), np.asarray(y_test)
    if not len(y_fit) or not len(y_test):
        raise InvalidArgumentError("y_fit", len(y_fit), "and y_test must both hold labels")
    top = int(np.bincount(y_fit).argmax())
    return top, float(np.mean(y_test == top))


def noise_label(centre: float, stddev: float) -> str:
    """``"ones + noise 1e-06"``: a constant start plus Gaussian noise of standard deviation ``stddev``."""
    return f"{CONSTANT_NAMES.get(float(centre), f'{centre:g}')} + noise {stddev:g}"


def noise_specs(
    spec: Any, centres: Sequence[float], stddevs: Sequence[float], *, seeds: Sequence[int]
) -> tuple[list[Any], list[str]]:
    """Runs started at a constant plus N(0, stddev²) noise: ``random_normal`` with ``mean`` the constant.

    Args:
        spec: a :class:`initlab.training.spec.RunSpec` giving the set-up (its init and seed are replaced).
        centres, stddevs: every pairing is run, with every seed.

    Returns:
        The runs and a :func:`noise_label` for each.
    """
    for s in stddevs:
        if not (np.isfinite(s) and s > 0):
            raise InvalidArgumentError("stddevs", list(stddevs), "must hold finite, positive numbers")
    specs, labels = [], []
    for centre in centres:
        for stddev in stddevs:
            for seed in seeds:
                specs.append(
                    replace(
                        spec,
                        init="random_normal",
                        seed=int(seed),
                        init_params={"mean": float(centre), "stddev": float(stddev)},
                    )
                )
                labels.append(noise_label(centre, stddev))
    return specs, labels


def runs_frame(specs: Sequence[Any], labels: Sequence[str], records: Sequence[Any]) -> pd.DataFrame:
    """A study-like tidy frame (one row per run and epoch) of runs trained outside ``Study.run``.

    ``init`` holds each run's label; the columns are those the protocol reads.
    """
    rows = []
    for spec, label, rec in zip(specs, labels, records, strict=True):
        history = rec.history
        for i, loss in enumerate(history.get("loss", [])):
            rows.append(
                {
                    "dataset": spec.dataset,
                    "model": spec.model,
                    "init": label,
                    "seed": spec.seed,
                    "epoch": i + 1,
                    "loss": loss,
                    **{k: history.get(k, [np.nan] * (i + 1))[i] for k in ("accuracy", "val_loss", "val_accuracy")},
                    "test_loss": rec.test_loss,
                    "test_accuracy": rec.test_accuracy,
                    "status": rec.status,
                }
            )
    return pd.DataFrame(rows)


def noise_table(sym: pd.DataFrame, runs: pd.DataFrame, layer: str = "hidden_1") -> pd.DataFrame:
    """Per label: ``layer``'s distinct units at the start and end (fewest over seeds), the mean distance
    between its units (mean over seeds, ``.3g`` text) and the test accuracy (mean ± 95% CI, %)."""
    d = sym[sym["layer"] == layer]
    end = int(d["epoch"].max())
    rows = []
    for label in dict.fromkeys(runs["init"]):
        s = d[d["init"] == label]
        first, last = s[s["epoch"] == 0], s[s["epoch"] == end]
        acc = mean_ci(final_epochs(runs[runs["init"] == label])["test_accuracy"].to_numpy())
        rows.append(
            {
                "start": label,
                "distinct units at start": int(first["distinct_units"].min()),
                f"after {end} epochs": int(last["distinct_units"].min()),
                "distance at start": fmt_sig(first["unit_spread"].mean()),
                f"distance after {end}": fmt_sig(last["unit_spread"].mean()),
                "test accuracy (%)": fmt_ci(acc["mean"], acc["half_width"]),
                "seeds": acc["n"],
            }
        )
    return pd.DataFrame(rows).set_index("start")


def constant_claims(
    df: pd.DataFrame, constants: Sequence[str], randoms: Sequence[str], *, delta: float
) -> pd.DataFrame:
    """The sources' claim that random starts learn what constant ones cannot: ``r > c`` for every pair."""
    pairs = [(r, c) for c in constants for r in randoms]
    return compare_pairs(df, pairs, delta)


def width_one_claims(df: pd.DataFrame, pairs: Sequence[tuple[str, str]], delta: float) -> pd.DataFrame:
    """``a ≈ b`` claims (equivalence within ±``delta``), e.g. a constant net against width-1 nets."""
    table = compare_pairs(df, pairs, delta)
    return table.assign(claim=[f"{a} ≈ {b}" for a, b in pairs])


def noise_claims(df: pd.DataFrame, labels: Sequence[str], constant: str, *, best: str, delta: float) -> pd.DataFrame:
    """Two claims per noisy start ``x``: ``x > constant`` (the noise helps) and ``best > x`` (it still
    falls short of a scaled random start)."""
    pairs = [(x, constant) for x in labels] + [(best, x) for x in labels]
    return compare_pairs(df, pairs, delta)


def _family_block(title: str, table: pd.DataFrame, delta: float, family: str, seeds: int) -> list[str]:
    return [
        f"**{title}**",
        "",
        *family_lines(table, delta),
        "",
        protocol_text(family, len(table), seeds, delta=delta, table=table),
        "",
    ]


def findings_text(
    *,
    grads: pd.DataFrame,
    sym: pd.DataFrame,
    df: pd.DataFrame,
    collapse: Mapping[str, Any],
    majority: tuple[int, float],
    families: Mapping[str, tuple[pd.DataFrame, float, str]],
    constants: Sequence[str],
    layer: str = "hidden_1",
) -> Prose:
    """The closing text: gradients, symmetry, what each reaches and every family's verdicts.

    Args:
        grads: float32 and float64 gradient norms at initialization (:func:`exactness`).
        sym: the symmetry frame (``init, seed, epoch, layer, unit_spread, distinct_units``).
        df: the main study's results.
        collapse: :func:`initlab.probe.symmetry.collapse_identical_units` of a trained constant net, with
            ``init`` naming it.
        majority: :func:`majority_accuracy`.
        families: title → (tested family, δ, the family's description).
        constants: the constant initializers.
    """
    runs = final_epochs(df)
    seeds = int(runs["seed"].nunique())
    d = sym[sym["layer"] == layer]
    end = int(d["epoch"].max())
    last = d[d["epoch"] == end].groupby("init")["distinct_units"].max()
    lines = [
        "**Gradients at initialization** (first 512 training images; float32 as Keras computes, "
        "float64 recomputed from the same weights):",
        "",
        exactness_text(grads, layer),
        "",
    ]
    kept = [c for c in constants if c in last.index and last[c] == 1]
    if kept:
        one = bool(collapse["identical"]) and collapse["same_class"] == 1.0
        lines += [
            f"**Symmetry.** {layer} of {', '.join(kept)} still has a single distinct unit after {end} "
            f"epochs (every tracked seed). The trained {collapse['init']} network, with {layer}'s "
            f"{collapse['units']} units replaced by one (outgoing weights summed), gives the same class "
            f"on {collapse['same_class']:.2%} of the test images (largest probability difference "
            f"{fmt_sig(collapse['max_prob_diff'])}): "
            f"{'it is a network with one hidden unit' if one else 'it is not a one-unit network'}.",
            "",
        ]
    top, share = majority
    zeros = runs[runs["init"] == "zeros"]["test_accuracy"]
    if len(zeros):
        same = bool(np.allclose(zeros, share, atol=5e-5))
        lines += [
            f"**zeros** scores {fmt_ci(zeros.mean(), mean_ci(zeros)['half_width'])}% over {seeds} seeds; "
            f"the test set's share of the most frequent training class (class {top}) is {share:.2%}"
            f"{': the same, it predicts that class for every image' if same else ''}.",
            "",
        ]
    for title, (table, delta, family) in families.items():
        lines += _family_block(title, table, delta, family, int(table["n"].min()) if len(table) else 0)
    return Prose("\n".join(lines).rstrip())


# --------------------------------------------------------------------------- readings for the claims ledger


def units_reading(
    sym: pd.DataFrame, constants: Sequence[str], randoms: Sequence[str] = (), layer: str = "hidden_1"
) -> dict[str, Any]:
    """The symmetry claims read off ``layer``'s distinct units, exactly: each constant start keeps a single
    distinct unit in every epoch (and seed tracked), each random one keeps every unit distinct.

    Returns:
        ``verdict`` (*holds*, *fails* or *mixed* over the initializers,
        :func:`initlab.claims.verdicts.combine_rule`), ``constant_units_max`` (the most distinct units a
        constant start shows in any epoch), with ``randoms`` ``random_units_min`` and ``units`` (the layer's).
    """
    d = sym[sym["layer"] == layer]
    units = int(d["distinct_units"].max())
    fewest, most = d.groupby("init")["distinct_units"].min(), d.groupby("init")["distinct_units"].max()
    constants = [i for i in constants if i in most.index]  # initializers the notebook did not run are left out
    randoms = [i for i in randoms if i in fewest.index]
    holds = [bool(most[i] == 1) for i in constants] + [bool(fewest[i] == units) for i in randoms]
    out: dict[str, Any] = {"verdict": combine_rule(holds)}
    if constants:
        out["constant_units_max"] = int(most[constants].max())
    if randoms:
        out.update(random_units_min=int(fewest[randoms].min()), units=units)
    return out


def zero_gradient_reading(grads: pd.DataFrame, init: str = "zeros", value: str = "kernel_grad_norm") -> dict[str, Any]:
    """Whether every kernel gradient of ``init`` at initialization is exactly 0 in both precisions
    (*holds* or *fails*), with the largest of those norms."""
    norms = grads.loc[grads["init"] == init, value].to_numpy(dtype=float)
    if not norms.size:
        return {"verdict": "not tested"}
    largest = float(norms.max())
    return {"verdict": combine_rule([largest == 0.0]), "largest_norm": largest}
