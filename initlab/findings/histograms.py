"""The activation-histogram notebook's findings: per-seed layer statistics, the source's window, its claims.

``002`` reads five per-initializer conclusions and one about every method off a
grid of histograms drawn after training (density, 50 bins over each layer's full
range, shown through the window x in [-1, 1], y in [0, 4]). Here:

* :func:`probe_runs` measures every run (init × seed) before and after training:
  per-layer statistics (:func:`initlab.probe.measure.stats_of`), dead units, gradients;
* :func:`source_window` says what that window shows and hides;
* :func:`activation_claims` and :func:`accuracy_claims` test the source's statements
  as paired differences over seeds, one Holm family each (:mod:`initlab.stats`);
* :func:`claims_text`, :func:`window_text`, :func:`adam_text` and :func:`gradient_text`
  write the verdicts from those tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from initlab.claims import resolve_margin
from initlab.claims.verdicts import combine_rule
from initlab.errors import InvalidArgumentError
from initlab.findings.symmetry import fmt_sig
from initlab.probe.measure import stats_of
from initlab.probe.runs import activations_before_after
from initlab.report import Prose, fmt_ci, fmt_diff_ci, fmt_mean_ci, protocol_text
from initlab.stats import (
    RUN_FAIL_BELOW,
    compare_pairs,
    failure_summary,
    failure_threshold,
    final_epochs,
    mean_ci,
    paired_test,
    test_family,
    verdict_label,
)
from initlab.training.optimizers import ADAM
from initlab.training.record import RESULT_COLUMNS

SOURCE_BINS = 50
SOURCE_XLIM = (-1.0, 1.0)
SOURCE_YLIM = (0.0, 4.0)
ZERO, SMALL, GLOROT, HE, LECUN = "zeros", "random_normal_001", "glorot_normal", "he_normal", "lecun_normal"


@dataclass
class Probes:
    """Every run measured at initialization and after training.

    ``at_init`` and ``trained`` keep the activations of the first seed of each init
    (init → layer → array), for the histograms; the frames cover every run, ``runs`` with the
    training records' rows (a study's result columns), so a probed arm needs no second training.
    """

    at_init: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    trained: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    stats: pd.DataFrame = field(default_factory=pd.DataFrame)
    grads: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)


def layer_rows(acts: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """:func:`initlab.probe.measure.stats_of` plus ``dead_units`` (a count: units zero on every example)."""

    s = stats_of(acts)
    return s.assign(dead_units=(s["frac_dead_units"] * s["units"]).round().astype(int))


def probe_runs(specs: Sequence[Any], engine: str = "auto") -> Probes:
    """Train each run once, measuring its hidden layers on the test set before and after.

    Args:
        specs: :class:`initlab.training.spec.RunSpec` runs (one per init and seed).
        engine: as in :func:`initlab.probe.runs.activations_before_after`.

    Returns:
        :class:`Probes`: ``stats`` has ``init, seed, stage, layer`` and :func:`layer_rows`' columns;
        ``grads`` the hidden layers' gradient norms (``init, seed, stage, layer, kernel_grad_norm,
        bias_grad_norm, kernel_norm``).
    """

    out = Probes()
    stats, grads, runs = [], [], []
    for spec in specs:
        before, after, record = activations_before_after(spec, engine=engine)
        runs += record.rows(replace(spec, engine=record.engine))
        for stage, acts in (("at init", before), ("trained", after)):
            stats.append(layer_rows(acts).assign(init=spec.init, seed=spec.seed, stage=stage))
        g = record.gradient_norms
        grads.append(g[g["layer"].str.startswith("hidden_")].assign(init=spec.init, seed=spec.seed))
        if spec.init not in out.at_init:
            out.at_init[spec.init], out.trained[spec.init] = before, after
    cols = ["init", "seed", "stage", "layer"]
    out.stats = pd.concat(stats, ignore_index=True)
    out.stats = out.stats[cols + [c for c in out.stats.columns if c not in cols]]
    out.grads = pd.concat(grads, ignore_index=True)[
        ["init", "seed", "stage", "layer", "kernel_grad_norm", "bias_grad_norm", "kernel_norm"]
    ]
    out.runs = pd.DataFrame(runs, columns=RESULT_COLUMNS)
    return out


def layer_table(stats: pd.DataFrame, inits: Sequence[str] | None = None) -> pd.DataFrame:
    """Means over seeds per (init, layer): exactly-zero share, dead units and std, at init and trained,
    as ``.3g`` text (a std of 8.6e-05 must not print as 0)."""
    measures = {"frac_zero": "zero share", "dead_units": "dead units", "std": "std"}
    wide = stats.pivot_table(index=["init", "layer"], columns="stage", values=list(measures), sort=False)
    wide = wide[[(m, s) for m in measures for s in ("at init", "trained")]]
    wide.columns = [f"{measures[m]} ({s})" for m, s in wide.columns]
    if inits is not None:
        wide = wide.loc[[i for i in inits if i in wide.index.get_level_values(0)]]
    return wide.map(fmt_sig)


def source_window(
    acts: Mapping[str, Mapping[str, np.ndarray]],
    bins: int = SOURCE_BINS,
    xlim: tuple[float, float] = SOURCE_XLIM,
    *,
    ylim: tuple[float, float] = SOURCE_YLIM,
) -> pd.DataFrame:
    """What the source's histogram shows of each (init, layer): ``plt.hist(a, bins, density=True)``
    over the full range of ``a``, seen through ``xlim`` × ``ylim``.

    Returns:
        Per (init, layer): ``bin_width``; the bar that holds 0: its share of the values
        (``zero_bar_share``), its density (``zero_bar_density``) and whether it rises above the
        y-limit (``clipped``); ``bars_shown`` (bars overlapping the x-window); ``outside``
        (share of values beyond the x-window); ``exact_zero`` (share exactly 0); ``largest``.
    """
    rows = []
    for init, layers in acts.items():
        for layer, a in layers.items():
            v = np.ravel(np.asarray(a, np.float64))
            density, edges = np.histogram(v, bins=bins, density=True)
            counts, _ = np.histogram(v, bins=edges)
            k = int(np.histogram([0.0], bins=edges)[0].argmax())  # the bar numpy puts 0 in
            shown = (edges[:-1] < xlim[1]) & (edges[1:] > xlim[0])
            rows.append(
                {
                    "init": init,
                    "layer": layer,
                    "bin_width": float(edges[1] - edges[0]),
                    "zero_bar_share": float(counts[k] / v.size),
                    "zero_bar_density": float(density[k]),
                    "clipped": bool(density[k] > ylim[1]),
                    "bars_shown": int(shown.sum()),
                    "outside": float(np.mean((v < xlim[0]) | (v > xlim[1]))),
                    "exact_zero": float(np.mean(v == 0)),
                    "largest": float(v.max()),
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["bins"] = bins
    return out


def _span(values: pd.Series, fmt: str) -> str:
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}"


def window_text(
    window: pd.DataFrame,
    ylim: tuple[float, float] = SOURCE_YLIM,
    xlim: tuple[float, float] = SOURCE_XLIM,
    *,
    exclude: Sequence[str] = (ZERO,),
) -> Prose:
    """What the source's window hides, layer by layer (ranges over the inits not in ``exclude``)."""
    w = window[~window["init"].isin(exclude)]
    if w.empty:
        return Prose("No initializer left to describe.")
    lines = [
        f"Through the source's window (x in [{xlim[0]:g}, {xlim[1]:g}], density up to {ylim[1]:g}; "
        f"ranges over {', '.join(dict.fromkeys(w['init']))}):",
        "",
    ]
    for layer, g in w.groupby("layer", sort=False):
        clipped = int(g["clipped"].sum())
        lines.append(
            f"- **{layer}**: bars {_span(g['bin_width'], '.2f')} wide ({len(g)} panels, "
            f"{_span(g['bars_shown'], '.0f')} bar(s) inside the window); the bar at 0 holds "
            f"{_span(g['zero_bar_share'], '.1%')} of the values, of which {_span(g['exact_zero'], '.1%')} "
            f"are exactly 0, at density {_span(g['zero_bar_density'], '.2f')} ({clipped} of {len(g)} cut "
            f"off by the y-limit); {_span(g['outside'], '.1%')} of the values lie beyond the window, "
            f"up to {_span(g['largest'], '.3g')}."
        )
    by_layer = w.groupby("layer", sort=False)[["zero_bar_density", "bin_width", "exact_zero"]].mean()
    first, last = by_layer.index[0], by_layer.index[-1]
    taller = first if by_layer.loc[first, "zero_bar_density"] > by_layer.loc[last, "zero_bar_density"] else last
    bins = int(window.attrs.get("bins", SOURCE_BINS))
    lines += [
        "",
        f"The window hides what decides the reading: the part of a bar above the y-limit, every "
        f"value beyond x = {xlim[1]:g}, and, since a bar is 1/{bins} of the layer's whole range, whether "
        f"the bar at 0 holds exact zeros or small positive values. Of {first} and {last}, the taller bar "
        f"at 0 (mean density {by_layer.loc[taller, 'zero_bar_density']:.2f}) is {taller}'s; {last}'s bars "
        f"are {by_layer.loc[last, 'bin_width'] / by_layer.loc[first, 'bin_width']:.3g} times as wide as "
        f"{first}'s (mean over the initializers).",
    ]
    return Prose("\n".join(lines))


def _per_seed(stats: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Per (init, seed): the unit-weighted share of exactly-zero activations and of dead units, all hidden layers."""
    s = stats[stats["stage"] == stage].assign(
        zeros_w=lambda d: d["frac_zero"] * d["units"], dead_w=lambda d: d["frac_dead_units"] * d["units"]
    )
    g = s.groupby(["init", "seed"], sort=False)[["zeros_w", "dead_w", "units"]].sum()
    return pd.DataFrame({"zero_share": g["zeros_w"] / g["units"], "dead_share": g["dead_w"] / g["units"]})


def _paired(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    return pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()


SHARE, RELATIVE = "share", "relative"  # how a claim's difference is measured
# The ledger entries whose margins (δ) the families use: each family states one margin per unit.
SHARE_CLAIM, RELATIVE_CLAIM, ACCURACY_CLAIM = "002-he-histogram", "002-lecun-histogram", "002-he-best-relu"


def _claim_row(statement: str, claim: str, kind: str, a: pd.Series, b: pd.Series, delta: float) -> dict[str, Any]:
    w = _paired(a, b)
    diff = (w["a"] - w["b"]) if kind == SHARE else (w["a"] / w["b"] - 1.0)
    unit = "pp" if kind == SHARE else "%"
    return {
        "statement": statement,
        "claim": claim,
        "kind": kind,
        "delta": delta,
        "scale": 100.0,
        "unit": unit,
        "a_mean": float(w["a"].mean()) if len(w) else np.nan,
        "b_mean": float(w["b"].mean()) if len(w) else np.nan,
        "gap": np.nan,
        **paired_test(diff.to_numpy(), delta),
    }


def _share_rows(pooled: pd.DataFrame, inits: set[str], share_delta: float) -> list[dict[str, Any]]:
    """The claims on shares pooled over the hidden layers: units dead and activations exactly 0, against He."""

    def col(measure: str, init: str) -> pd.Series:
        return pooled.loc[init, measure]

    rows = []
    if {SMALL, HE} <= inits:
        rows.append(
            _claim_row(
                SMALL,
                f"{SMALL} leaves more units dead than {HE}",
                SHARE,
                col("dead_share", SMALL),
                col("dead_share", HE),
                share_delta,
            )
        )
    for other in (GLOROT, LECUN):
        if {HE, other} <= inits:
            rows.append(
                _claim_row(
                    HE,
                    f"{other} leaves more units dead than {HE}",
                    SHARE,
                    col("dead_share", other),
                    col("dead_share", HE),
                    share_delta,
                )
            )
    for other in (SMALL, GLOROT, LECUN):
        if {HE, other} <= inits:
            rows.append(
                _claim_row(
                    HE,
                    f"{other} has more activations exactly 0 than {HE}",
                    SHARE,
                    col("zero_share", other),
                    col("zero_share", HE),
                    share_delta,
                )
            )
    return rows


def _std_rows(s: pd.DataFrame, inits: set[str], layers: list[str], relative_delta: float) -> list[dict[str, Any]]:
    """The claims that Glorot's activations spread wider than random normal's and LeCun's, layer by layer."""
    rows = []
    for a, b, statement in ((GLOROT, SMALL, GLOROT), (GLOROT, LECUN, LECUN)):
        if {a, b} <= inits:
            for layer in layers:
                rows.append(
                    _claim_row(
                        statement,
                        f"{layer}: std of {a} > std of {b}",
                        RELATIVE,
                        s.loc[(a, layer), "std"],
                        s.loc[(b, layer), "std"],
                        relative_delta,
                    )
                )
    return rows


def _depth_rows(
    s: pd.DataFrame, inits: Sequence[str], layers: list[str], share_delta: float, *, statement: str = "all"
) -> list[dict[str, Any]]:
    """The claims that the last layer has more activations exactly 0 than the first, per initializer."""
    if len(layers) <= 1:
        return []
    first, last = layers[0], layers[-1]
    arm = "" if statement == "all" else f"{statement.removeprefix('all, ')}, "
    return [
        _claim_row(
            statement,
            f"{arm}{init}: {last} has more activations exactly 0 than {first}",
            SHARE,
            s.loc[(init, last), "frac_zero"],
            s.loc[(init, first), "frac_zero"],
            share_delta,
        )
        for init in inits
    ]


def activation_claims(
    stats: pd.DataFrame,
    share_delta: float | None = None,
    relative_delta: float | None = None,
    *,
    stage: str = "trained",
) -> pd.DataFrame:
    """The source's statements about the histograms, as one Holm family of paired tests over seeds.

    Measured on ``stage`` (the source drew its histograms after training). Shares (of all hidden
    activations exactly 0, of hidden units dead, of one layer's activations exactly 0) are compared
    as differences in percentage points within ±``share_delta``; standard deviations as a relative
    difference ``a / b - 1`` within ±``relative_delta``; each margin by default the claims ledger's
    (:data:`SHARE_CLAIM`, :data:`RELATIVE_CLAIM`). Claims about an initializer that is not in ``stats`` are
    left out.

    Returns:
        One row per claim ``a > b``: ``statement`` (whose words it tests), ``claim``, ``kind``,
        ``delta, scale, unit``, ``a_mean, b_mean`` and :func:`initlab.stats.test_family`'s columns.
    """
    share_delta = resolve_margin(share_delta, SHARE_CLAIM)
    relative_delta = resolve_margin(relative_delta, RELATIVE_CLAIM)
    inits = set(stats["init"])
    pooled = _per_seed(stats, stage)
    s = stats[stats["stage"] == stage].set_index(["init", "layer", "seed"]).sort_index()
    layers = list(dict.fromkeys(stats["layer"]))
    rows = [
        *_share_rows(pooled, inits, share_delta),
        *_std_rows(s, inits, layers, relative_delta),
        *_depth_rows(s, list(dict.fromkeys(stats["init"])), layers, share_delta),
    ]
    return test_family(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


AS_PRINTED = "all, as printed"  # the last-layer statement measured on the source's model as printed


def last_layer_claims(
    stats: pd.DataFrame, share_delta: float | None = None, *, statement: str = AS_PRINTED, stage: str = "trained"
) -> pd.DataFrame:
    """The last-layer statement alone, one test per initializer and one Holm family: for a second arm
    (the source's model as printed) probed like the first. Rows as :func:`activation_claims`', their
    ``statement`` and the start of their ``claim`` naming the arm."""
    share_delta = resolve_margin(share_delta, SHARE_CLAIM)
    s = stats[stats["stage"] == stage].set_index(["init", "layer", "seed"]).sort_index()
    layers = list(dict.fromkeys(stats["layer"]))
    rows = _depth_rows(s, list(dict.fromkeys(stats["init"])), layers, share_delta, statement=statement)
    return test_family(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


FAIL_BELOW = RUN_FAIL_BELOW  # a run whose test accuracy stays below 20% (chance: 10%) did not train


def arm_accuracy(runs: pd.DataFrame) -> pd.DataFrame:
    """Per init, an arm's test accuracy after the last epoch: the failed runs (diverged, below
    :data:`FAIL_BELOW`, or the lower mode of two) as a count with its Wilson interval, and the mean of
    the runs that trained, never a mean over both modes: ``runs``, ``failed``, ``failure rate (95% CI)``,
    ``trained (%)``."""
    rows = []
    for init, g in final_epochs(runs).groupby("init", sort=False):
        values = np.where(g["status"] == "diverged", np.nan, g["test_accuracy"]).astype(float)
        threshold = failure_threshold(values, fail_below=FAIL_BELOW)
        threshold = -np.inf if np.isnan(threshold) else threshold  # NaN: every run trained alike
        f = failure_summary(values, threshold)
        trained = values[np.isfinite(values) & (values >= threshold)]
        rows.append(
            {
                "init": init,
                "runs": f["n"],
                "failed": f["failed"],
                "failure rate (95% CI)": f"{f['rate']:.0%} [{f['rate_low']:.0%}, {f['rate_high']:.0%}]",
                "trained (%)": fmt_mean_ci(trained) if trained.size else "-",
            }
        )
    return pd.DataFrame(rows).set_index("init")


ACCURACY_CLAIMS = (
    (ZERO, (HE, ZERO)),
    (SMALL, (HE, SMALL)),
    (GLOROT, (GLOROT, SMALL)),
    (HE, (HE, GLOROT)),
    (HE, (HE, LECUN)),
)


def accuracy_claims(df: pd.DataFrame, delta: float | None = None) -> pd.DataFrame:
    """The source's statements about learning (test accuracy, final epoch), one Holm family.

    Zero init learns poorly (he_normal > zeros); random normal hurts learning (he_normal >
    random_normal_001); Xavier learns better than random normal; He is the best choice for
    ReLU (he_normal > glorot_normal, he_normal > lecun_normal). Claims on missing inits are left out.
    ``delta``: the equivalence margin, default the claims ledger's (:data:`ACCURACY_CLAIM`).
    """
    delta = resolve_margin(delta, ACCURACY_CLAIM)
    inits = set(df["init"])
    kept = [(s, p) for s, p in ACCURACY_CLAIMS if set(p) <= inits]
    table = compare_pairs(df, [p for _, p in kept], delta)
    return table.assign(statement=[s for s, _ in kept], kind=SHARE, delta=delta, scale=100.0, unit="pp")


def claim_lines(table: pd.DataFrame) -> list[str]:
    """One bullet per tested claim, each with its own margin and unit (see :func:`activation_claims`); the
    Holm-adjusted p-value to three significant digits (:func:`~initlab.findings.symmetry.fmt_sig`)."""
    lines = []
    for _, r in table.iterrows():
        scale, unit, delta = r["scale"], r["unit"], r["delta"]
        if r["n"] < 2:
            part = f"{scale * r['mean']:+.2f} {unit} from one seed" if np.isfinite(r["mean"]) else "no paired seeds"
        elif r["exact"]:
            part = f"{scale * r['mean']:+.2f} {unit} in every seed"
        else:
            part = (
                f"{fmt_diff_ci(r['mean'], r['ci_low'], r['ci_high'], scale=scale, unit=unit)}, "
                f"Holm p = {fmt_sig(r['p_adj'])}"
            )
        lines.append(f"- {r['claim']}: {part} → **{verdict_label(r, delta, scale, unit=unit)}**")
    return lines


def accuracy_text(table: pd.DataFrame) -> Prose:
    """The accuracy claims (:func:`accuracy_claims`) as Markdown, one bullet each (:func:`claim_lines`)."""
    return Prose("\n".join(claim_lines(table)))


STATEMENTS = {
    ZERO: "**Zero**: every layer's activations sit at zero, and the model learns poorly.",
    SMALL: "**Random normal (std 0.01)**: normally distributed activations, most of them close to zero, which "
    "may leave neurons dead and hurt learning.",
    GLOROT: "**Xavier (Glorot)**: normally distributed activations with a wider spread than random normal, and "
    "better learning.",
    HE: "**He**: activations spread more evenly than with the other methods, fewer dead neurons, the best "
    "learning for ReLU.",
    LECUN: "**LeCun**: like Xavier with a slightly smaller spread.",
    "all": "**Every method**: the last hidden layer's activations concentrate at zero.",
}


def _zero_facts(stats: pd.DataFrame, stage: str) -> str:
    z = stats[(stats["init"] == ZERO) & (stats["stage"] == stage)]
    if z.empty:
        return ""
    if (z["frac_zero"] == 1).all():
        return (
            f"  - Every activation of every layer is exactly 0 in all {z['seed'].nunique()} seeds: "
            f"**holds**, trivially (no signal passes a zero kernel)."
        )
    return f"  - The share of exactly-zero activations ranges {_span(z['frac_zero'], '.1%')} over layers and seeds."


def _shape_fact(stats: pd.DataFrame, init: str, stage: str) -> str:
    z = stats[(stats["init"] == init) & (stats["stage"] == stage)]
    if z.empty:
        return ""
    return (
        f"  - Not normal: a ReLU output is never negative, and {_span(z['frac_zero'], '.1%')} of each layer's "
        f"activations are exactly 0 (every layer and seed), a spike no normal distribution has."
    )


def claims_text(
    activation: pd.DataFrame,
    accuracy: pd.DataFrame,
    stats: pd.DataFrame,
    *,
    as_printed: pd.DataFrame | None = None,
    as_printed_accuracy: pd.DataFrame | None = None,
    stage: str = "trained",
) -> Prose:
    """The verdict on each of the source's statements, grouped by initializer, then the families' method
    (each with the number of seeds its tests paired); ``as_printed`` (:func:`last_layer_claims` of the
    source's model as printed) joins the last-layer statement with its own family, with what its runs did
    (``as_printed_accuracy``: :func:`arm_accuracy`)."""
    as_printed = pd.DataFrame() if as_printed is None else as_printed
    lines = []
    for key, statement in STATEMENTS.items():
        a = activation[activation["statement"] == key] if len(activation) else activation
        b = accuracy[accuracy["statement"] == key] if len(accuracy) else accuracy
        extra = (
            _zero_facts(stats, stage)
            if key == ZERO
            else _shape_fact(stats, key, stage)
            if key in (SMALL, GLOROT)
            else ""
        )
        if not len(a) and not len(b) and not extra:
            continue
        lines += [f"- {statement}"]
        if extra:
            lines.append(extra)
        lines += ["  " + line for line in claim_lines(a)] + ["  " + line for line in claim_lines(b)]
        if key == "all" and len(as_printed):
            note = failed_arm_note(as_printed_accuracy)
            lines += [f"  On the source's model as printed:{' ' + note.strip() if note else ''}"]
            lines += ["  " + line for line in claim_lines(as_printed)]
    lines += [
        "",
        protocol_text(
            f"the source's statements about the activations after training (shares in "
            f"percentage points, δ = {100 * _first(activation, 'delta', SHARE):g} pp; "
            f"standard deviations as a relative difference, δ = "
            f"{100 * _first(activation, 'delta', RELATIVE):g}%)",
            len(activation),
            _seeds(activation),
            delta=_first(activation, "delta", SHARE),
            table=activation,
        ),
        "",
        protocol_text(
            "the source's statements about learning (test accuracy after the last epoch)",
            len(accuracy),
            _seeds(accuracy),
            delta=_first(accuracy, "delta", SHARE),
            table=accuracy,
        ),
    ]
    if len(as_printed):
        lines += ["", _as_printed_protocol(as_printed)]
    return Prose("\n".join(lines))


def _as_printed_protocol(table: pd.DataFrame) -> str:
    return protocol_text(
        f"the last-layer statement on the source's model as printed (shares in percentage points, "
        f"δ = {100 * _first(table, 'delta', SHARE):g} pp)",
        len(table),
        _seeds(table),
        delta=_first(table, "delta", SHARE),
        table=table,
    )


def failed_arm_note(accuracy: pd.DataFrame | None) -> str:
    """What an arm's runs did (:func:`arm_accuracy`), for the lines its probes judge: ``""`` when every run
    trained, else how many did not, so that a share measured on nets at chance is read as theirs."""
    if accuracy is None or not len(accuracy) or not int(accuracy["failed"].sum()):
        return ""
    failed, runs = int(accuracy["failed"].sum()), int(accuracy["runs"].sum())
    every = failed == runs
    return (
        f"  {'Every one' if every else f'{failed} of {runs}'} of these runs failed (test accuracy below "
        f"{FAIL_BELOW:.0%}{'' if every else ', or in the lower mode'}; chance is 10%): the shares below describe "
        f"{'nets that never learned' if every else 'partly nets that never learned'}, not a trained network's."
    )


def last_layer_text(table: pd.DataFrame, accuracy: pd.DataFrame | None = None) -> Prose:
    """:func:`last_layer_claims` as Markdown: the statement, what the arm's runs did (``accuracy``:
    :func:`arm_accuracy`), one bullet per initializer, the family's method."""
    note = failed_arm_note(accuracy)
    return Prose(
        "\n".join(
            [
                f"- {STATEMENTS['all']} On the source's model as printed:",
                *([note] if note else []),
                *["  " + line for line in claim_lines(table)],
                "",
                _as_printed_protocol(table),
            ]
        )
    )


def _seeds(table: pd.DataFrame) -> int:
    return int(table["n"].min()) if len(table) else 0


def _first(table: pd.DataFrame, column: str, kind: str) -> float:
    rows = table[table["kind"] == kind] if len(table) else table
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def init_text(stats: pd.DataFrame, inits: Sequence[str]) -> Prose:
    """At initialization: each init's std from the first to the last hidden layer (mean over seeds), and
    which inits share their zero pattern exactly (the same draws, scaled)."""
    s = stats[stats["stage"] == "at init"]
    layers = list(dict.fromkeys(s["layer"]))
    first, last = layers[0], layers[-1]
    m = s.groupby(["init", "layer"], sort=False)[["std", "frac_zero"]].mean()
    parts = [
        f"{i} {m.loc[(i, first), 'std']:.3g} → {m.loc[(i, last), 'std']:.3g}"
        for i in inits
        if (i, first) in m.index and m.loc[(i, first), "std"] > 0
    ]
    pattern = s.pivot_table(index=["seed", "layer"], columns="init", values="frac_zero")
    same = [i for i in inits if i in pattern.columns and i != ZERO and i != SMALL]
    alike = len(same) > 1 and all(
        np.allclose(pattern[same[0]].to_numpy(), pattern[i].to_numpy(), rtol=0, atol=1e-5) for i in same
    )
    tail = (
        f" {', '.join(same)} have the same shares of exactly-zero activations in every layer and seed (to "
        f"within 1e-5: a pre-activation within rounding of 0 may fall either side): "
        f"they draw the same normal numbers and scale them differently, and a ReLU network with zero biases "
        f"scales its activations without moving their signs, so their histograms at initialization differ "
        f"in width only."
        if alike
        else ""
    )
    return Prose(
        f"At initialization the activation std goes from {first} to {last} as follows (mean over seeds): "
        f"{'; '.join(parts)}.{tail}"
    )


def adam_threshold(step: int = 1) -> float:
    """The gradient size below which Keras' Adam damps step ``step``: ``eps / sqrt(1 - beta_2**step)``.

    Keras adds ``eps`` to ``sqrt(v)`` before the bias correction ``sqrt(1 - beta_2**t)``,
    so a weight whose gradients stay near this size or below moves less than ``lr`` per step.
    """

    return float(ADAM["epsilon"] / np.sqrt(1.0 - ADAM["beta_2"] ** step))


def _adam_verdict(accuracy: pd.DataFrame, small: str, large: str) -> str:
    """The sentence on the paired accuracy test of ``large`` > ``small``, or nothing without one."""
    row = accuracy[(accuracy["a"] == large) & (accuracy["b"] == small)] if len(accuracy) else accuracy
    return (
        f" The paired test of {large} > {small} is **{verdict_label(row.iloc[0], row.iloc[0]['delta'])}** "
        f"({100 * row.iloc[0]['mean']:+.2f} pp)."
        if len(row)
        else ""
    )


def _adam_damp(small: str, grad_rms: list[float]) -> str:
    """Whether ``small``'s gradients lie below the size where Keras' ε damps Adam's first step."""
    threshold = adam_threshold(1)
    below = max(grad_rms) < threshold
    return (
        f"{small}'s gradients (root mean square {_span(pd.Series(grad_rms), '.3g')}) lie below "
        f"the first step's threshold ε/√(1 − β₂) = {threshold:.3g}, where Keras' ε damps the step"
        if below
        else f"{small}'s gradients (root mean square {_span(pd.Series(grad_rms), '.3g')}) are not all "
        f"below the first step's threshold ε/√(1 − β₂) = {threshold:.3g}"
    )


def _shrink_word(step_ratio: list[float], grad_ratio: list[float]) -> str:
    """How Adam's first step shrinks beside the gradient's ratio at initialization."""
    return (
        "shrinks far less"
        if max(step_ratio) * 10 < min(grad_ratio)
        else "shrinks about as much"
        if max(step_ratio) * 10 >= min(grad_ratio) >= min(step_ratio)
        else "shrinks more"
    )


def adam_text(
    *,
    grads: pd.DataFrame,
    steps: pd.DataFrame,
    df: pd.DataFrame,
    accuracy: pd.DataFrame,
    small: str = SMALL,
    large: str = HE,
) -> Prose:
    """Why ``small`` trains despite gradients orders of magnitude smaller than ``large``'s.

    Args:
        grads: :class:`Probes` ``grads`` (per seed, stage, layer).
        steps: :func:`initlab.probe.runs.first_adam_step` rows for both inits.
        df: the study's results; accuracy: :func:`accuracy_claims`' table.
    """
    g = grads.groupby(["init", "stage", "layer"], sort=False)["kernel_grad_norm"].mean()
    layers = list(dict.fromkeys(grads["layer"]))
    ratio = {
        stage: [g.loc[(large, stage, l)] / g.loc[(small, stage, l)] for l in layers] for stage in ("at init", "trained")
    }
    st = steps.groupby(["init", "layer"], sort=False)[["grad_rms", "step_rms", "kernel_std"]].mean()
    hidden = [l for l in layers if (small, l) in st.index and (large, l) in st.index]
    pick = lambda init, col: [st.loc[(init, l), col] for l in hidden]  # noqa: E731
    rel = {i: [a / b for a, b in zip(pick(i, "step_rms"), pick(i, "kernel_std"))] for i in (small, large)}
    step_ratio = [a / b for a, b in zip(pick(large, "step_rms"), pick(small, "step_rms"))]
    runs = final_epochs(df)
    acc = {i: mean_ci(runs[runs["init"] == i]["test_accuracy"].to_numpy()) for i in (small, large)}
    span = lambda v: _span(pd.Series(v), ".3g")  # noqa: E731
    shrink, damp = _shrink_word(step_ratio, ratio["at init"]), _adam_damp(small, pick(small, "grad_rms"))
    return Prose(
        f"At initialization {large}'s kernel gradients are {span(ratio['at init'])} times {small}'s "
        f"({layers[0]} to {layers[-1]}, mean over seeds); after training {span(ratio['trained'])} times. "
        f"Adam's first step {shrink}: its root mean square is {span(pick(large, 'step_rms'))} for "
        f"{large} and {span(pick(small, 'step_rms'))} for {small} (hidden layers), {span(step_ratio)} times "
        f"smaller, not {span(ratio['at init'])}. It is not equal either: {damp}. Measured against the "
        f"weights, the first step is {span(rel[small])} of the kernel's std for {small} and "
        f"{span(rel[large])} for {large}. Test accuracy: {large} "
        f"{fmt_ci(acc[large]['mean'], acc[large]['half_width'])}%, {small} "
        f"{fmt_ci(acc[small]['mean'], acc[small]['half_width'])}%.{_adam_verdict(accuracy, small, large)}"
    )


def step_table(steps: pd.DataFrame) -> pd.DataFrame:
    """:func:`initlab.probe.runs.first_adam_step` rows, mean over seeds per (init, layer), as ``.3g`` text:
    the gradient's and the step's root mean square, the kernel's std and the step relative to it."""
    m = steps.groupby(["init", "layer"], sort=False)[["grad_rms", "step_rms", "kernel_std"]].mean()
    m["step / kernel std"] = m["step_rms"] / m["kernel_std"]
    return m.rename(columns={"grad_rms": "gradient rms", "step_rms": "step rms", "kernel_std": "kernel std"}).map(
        fmt_sig
    )


def gradient_table(grads: pd.DataFrame, value: str = "kernel_grad_norm") -> pd.DataFrame:
    """Gradient norms per (init, stage) and hidden layer, mean over seeds, as ``.3g`` text."""
    wide = grads.pivot_table(index=["init", "stage"], columns="layer", values=value, sort=False)
    return wide.map(fmt_sig)


def gradient_text(grads: pd.DataFrame, value: str = "kernel_grad_norm", threshold: float = 10.0) -> Prose:
    """The first hidden layer's kernel gradient norm over the last's, per init and stage (mean over seeds).

    A ratio beyond ``threshold`` either way is called vanishing or exploding towards the input;
    an init whose every norm is 0 is named apart.
    """
    if threshold <= 1:
        raise InvalidArgumentError("threshold", threshold, "must be above 1")
    layers = list(dict.fromkeys(grads["layer"]))
    stages = list(dict.fromkeys(grads["stage"]))
    first, last = layers[0], layers[-1]
    g = grads.groupby(["init", "stage", "layer"], sort=False)[value].mean()
    parts, zero, outside = [], [], []
    for init in dict.fromkeys(grads["init"]):
        if (g.loc[init] == 0).all():
            zero.append(init)
            continue
        ratios = []
        for stage in stages:
            a, b = g.loc[(init, stage, first)], g.loc[(init, stage, last)]
            ratio = a / b if b > 0 else (0.0 if a == 0 else np.inf)
            ratios.append(f"{ratio:.2g}")
            if not 1 / threshold <= ratio <= threshold:
                outside.append(f"{init} ({stage})")
        parts.append(f"{init} {' → '.join(ratios)}")
    verdict = (
        f"outside a factor of {threshold:g}: {', '.join(outside)}"
        if outside
        else f"every one within a factor of {threshold:g} of 1, so no gradient vanishes or explodes across "
        f"these {len(layers)} hidden layers"
    )
    tail = f"; {', '.join(zero)} gives every hidden kernel an exactly zero gradient throughout" if zero else ""
    return Prose(
        f"The first hidden layer's kernel gradient norm over the last's ({first} / {last}, "
        f"{' → '.join(stages)}, mean over seeds): {'; '.join(parts) or 'none'}; {verdict}{tail}."
    )


def zero_reading(stats: pd.DataFrame, *, stage: str = "trained") -> dict[str, Any]:
    """``002``'s zero-init histogram read exactly: every activation of every hidden layer is 0 in every seed
    (*holds*, else *fails*), with the smallest share of exact zeros found."""
    z = stats[(stats["init"] == ZERO) & (stats["stage"] == stage)]["frac_zero"]
    if not len(z):
        return {"verdict": "not tested"}
    return {"verdict": combine_rule([bool((z == 1).all())]), "frac_zero_min": float(z.min())}
