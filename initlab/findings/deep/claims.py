"""Notebook 06's claims put to the test: orthogonal against Gaussian, matched against mismatched
scaling, and `004`'s self-normalizing claim, as paired families over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from initlab.claims import resolve_margin
from initlab.claims.verdicts import combine, combine_rule, tally
from initlab.findings.deep.grid import (
    FAILS,
    MARGIN_CLAIM,
    MATCHED_INIT,
    PREPROCESS_WORDS,
    SNN_INITS,
    SNN_REFERENCE,
    TEST_COLUMNS,
    VALUES,
)
from initlab.probe.depth import ORTHOGONAL_RELU
from initlab.stats import paired_or_failures, test_family, verdict_mark


def setup_name(activation: str, init: str) -> str:
    """``"relu + he_normal"``."""
    return f"{activation} + {init}"


def rate_text(rate: float) -> str:
    """A learning rate as printed: ``1e-03``."""
    return f"{rate:.0e}"


def claim_pairs(setups: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """The comparisons that test ``004``'s claims, among the (activation, init) set-ups a study has.

    Each is ``{"family", "a_activation", "a_init", "b_activation", "b_init", "value"}``:
    the claim predicts ``a`` higher than ``b`` in ``value`` (for ``snn``: at least as high).
    """
    have = set(map(tuple, setups))
    pairs = []

    def add(family: str, a: tuple[str, str], b: tuple[str, str]) -> None:
        if a in have and b in have:
            pairs.append(
                {
                    "family": family,
                    "a_activation": a[0],
                    "a_init": a[1],
                    "b_activation": b[0],
                    "b_init": b[1],
                    "value": VALUES.get(family, "test_accuracy"),
                }
            )

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


def claim_tests(
    runs: pd.DataFrame, delta: float | None = None, pairs: Sequence[Mapping[str, str]] | None = None
) -> pd.DataFrame:
    """Paired tests of each claim at every depth and input scaling where both sides ran, Holm per family.

    Args:
        runs: one row per run (:func:`run_table`), each set-up at one learning rate.
        delta: the equivalence margin (accuracy as a fraction); default the claims ledger's
            (:data:`~initlab.findings.deep.grid.MARGIN_CLAIM`).
        pairs: default :func:`claim_pairs` of the set-ups in ``runs``.

    Runs with the same seed see the same batches, so differences are taken seed by
    seed. Where a run of either side failed (test accuracy below :data:`~initlab.findings.deep.grid.FAILS`,
    or diverged), the claim is decided on the failure rates instead (:func:`initlab.stats.paired_or_failures`):
    a failure is a rate, never averaged into a difference; ``a_mean``/``b_mean`` are over the runs that trained and
    ``a_failed``/``b_failed`` count the others.

    Returns:
        One row per test: :data:`TEST_COLUMNS`, ``a_edge`` and ``b_edge`` (the side's rate at an edge of
        its grid, :func:`select_rates`' ``edge``, when ``runs`` carries it), :func:`initlab.stats.paired_test`'s
        and :func:`initlab.stats.test_family`'s columns. ``claim`` names the test
        (``"depth 50: relu + orthogonal > relu + glorot_normal"``).
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
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
            rows_of = {
                s: at[(at["activation"] == pair[f"{s}_activation"]) & (at["init"] == pair[f"{s}_init"])].set_index(
                    "seed"
                )
                for s in "ab"
            }
            side = {s: rows_of[s][pair["value"]] for s in "ab"}
            if not (len(side["a"]) and len(side["b"])):
                continue
            failed = {s: ~rows_of[s]["test_accuracy"].ge(FAILS) for s in "ab"}  # below 20%, or diverged (NaN)
            edges = {
                s: ",".join(dict.fromkeys(rows_of[s]["edge"])) if "edge" in rows_of[s].columns else "" for s in "ab"
            }
            test = paired_or_failures(side["a"], side["b"], delta, failed_a=failed["a"], failed_b=failed["b"])
            a, b = (setup_name(pair[f"{s}_activation"], pair[f"{s}_init"]) for s in "ab")
            rows.append(
                {
                    "family": pair["family"],
                    "claim": f"depth {depth}{PREPROCESS_WORDS[preprocess]}: {a} > {b}",
                    "depth": int(depth),
                    "preprocess": preprocess,
                    "a": a,
                    "b": b,
                    "value": pair["value"],
                    "a_mean": float(side["a"][~failed["a"]].mean()),
                    "b_mean": float(side["b"][~failed["b"]].mean()),
                    "a_failed": int(failed["a"].sum()),
                    "b_failed": int(failed["b"].sum()),
                    "a_edge": edges["a"],
                    "b_edge": edges["b"],
                    **test,
                }
            )
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


def snn_answers(tests: pd.DataFrame, table: pd.DataFrame, delta: float | None = None) -> pd.DataFrame:
    """:func:`snn_answer` for every ``snn`` test, with both set-ups' grades from ``table``.

    ``table`` is :func:`trainability`'s at the chosen learning rates; ``delta`` the tests' margin (default the
    claims ledger's), for each verdict's ``mark`` (:func:`initlab.stats.verdict_mark`).

    Returns:
        One row per test: ``depth, preprocess, start, claim, verdict, mark``, and for the start and the
        reference (``start_…``, ``reference_…``) ``status, mean, failed, runs, trained_mean``, and ``answer``.
    """
    delta = resolve_margin(delta, MARGIN_CLAIM)
    t = table.assign(preprocess=table["preprocess"] if "preprocess" in table.columns else "scale")
    t = t.set_index(["depth", "preprocess", "activation", "init"])
    rows = []
    for _, r in tests[tests["family"] == "snn"].iterrows():
        start_init = r["a"].split(" + ", 1)[1]
        s = t.loc[(r["depth"], r["preprocess"], "selu", start_init)]
        ref = t.loc[(r["depth"], r["preprocess"], "selu", SNN_REFERENCE)]
        rows.append(
            {
                "depth": r["depth"],
                "preprocess": r["preprocess"],
                "start": start_init,
                "claim": r["claim"],
                "verdict": r["verdict"],
                "mark": verdict_mark(r, delta),
                "start_status": s["status"],
                "start_mean": s["mean"],
                "start_failed": s["failed"],
                "start_runs": s["runs"],
                "start_trained_mean": s["trained_mean"],
                "reference_status": ref["status"],
                "reference_mean": ref["mean"],
                "reference_failed": ref["failed"],
                "reference_runs": ref["runs"],
                "reference_trained_mean": ref["trained_mean"],
                "answer": snn_answer(r["verdict"], s["status"], ref["status"]),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "depth",
            "preprocess",
            "start",
            "claim",
            "verdict",
            "mark",
            "start_status",
            "start_mean",
            "start_failed",
            "start_runs",
            "start_trained_mean",
            "reference_status",
            "reference_mean",
            "reference_failed",
            "reference_runs",
            "reference_trained_mean",
            "answer",
        ],
    )


# --------------------------------------------------------------------------- readings for the claims ledger


def snn_reading(answers: pd.DataFrame) -> dict[str, Any]:
    """``004``'s self-normalizing claim over every cell of :func:`snn_answers`: the answer the cells share,
    otherwise *mixed*, with their tally."""
    words = [str(a) for a in answers["answer"]]
    return {"verdict": combine(words), "tally": tally(words) or "none"}


def propagation_reading(
    verdicts: pd.DataFrame,
    *,
    inits: Sequence[str],
    activations: Sequence[str] | None = None,
    directions: Sequence[str] = ("forward", "backward"),
    keeps: bool = True,
) -> dict[str, Any]:
    """A claim about signal propagation read off :func:`initlab.probe.depth.growth_verdicts`, cell by cell.

    For each (activation, init) of ``inits`` (and ``activations``, default every one measured), the claim
    holds when the signal keeps (changes by less than the growth threshold over the depth) in every one of
    ``directions``, or, with ``keeps=False``, when it vanishes or explodes in at least one of them (a slow
    drift, :func:`initlab.probe.depth.classify`, does neither).

    Returns:
        ``verdict`` (*holds*, *fails* or *mixed* over the cells; *not tested* with none), and each cell's
        words, ``<activation>/<init>/<direction>``.
    """
    v = verdicts[verdicts["init"].isin(list(inits))]
    if activations is not None:
        v = v[v["activation"].isin(list(activations))]
    holds, words = [], {}
    for _, r in v.iterrows():
        kept = all(r[d] == "keeps" for d in directions)
        holds.append(kept if keeps else any(r[d] in ("vanishes", "explodes") for d in directions))
        words.update({f"{r['activation']}/{r['init']}/{d}": str(r[d]) for d in directions})
    return {"verdict": combine_rule(holds), **words}


def trains_by_depth(table: pd.DataFrame, preprocess: str = "scale") -> dict[str, int]:
    """How many set-ups of :func:`~initlab.findings.deep.grid.trainability`'s ``table`` train at each depth
    (grade *trains*), and how many there are: ``trains/depth <d>`` and ``setups/depth <d>``."""
    t = table[table["preprocess"] == preprocess] if "preprocess" in table.columns else table
    out: dict[str, int] = {}
    for depth, g in t.groupby("depth", sort=True):
        out[f"trains/depth {int(depth)}"] = int((g["status"] == "trains").sum())
        out[f"setups/depth {int(depth)}"] = len(g)
    return out
