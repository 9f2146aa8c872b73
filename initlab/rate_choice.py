"""A learning rate chosen from a grid on validation: the best rate, whether it sits at an edge of the
rates tried, and the next rate out when the grid should be extended.

The score is a validation score (e.g. the mean final validation accuracy over seeds, a diverged run
counting 0); the test set plays no part. Notebooks 06, 07 and 08 choose their rates this way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# An edge is extended only where its validation score beats the next rate inwards by this much: a flat
# score (a set-up that learns nothing at either rate) points nowhere. Half a percentage point is ten
# images of a 2,000-image validation set, the size of the spread between seeds of a set-up that trains.
RATE_GAIN = 0.005

EDGES = ("lowest", "highest", "only rate", "")  # where a chosen rate sits in the rates tried


def best_rate(rates: Sequence[float], scores: Sequence[float]) -> tuple[int, str]:
    """``(index, edge)`` of the best rate: the highest score, ties to the larger rate; ``edge`` is
    ``"lowest"`` or ``"highest"`` when that rate is the smallest or largest tried (the best may lie
    beyond), ``"only rate"`` for a grid of one rate, else ``""``."""
    rates, scores = np.asarray(rates, dtype=float), np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    i = max(range(len(rates)), key=lambda j: (scores[j], rates[j]))
    if len(rates) == 1:
        return i, "only rate"
    return i, "highest" if rates[i] == rates.max() else "lowest" if rates[i] == rates.min() else ""


def next_rate(rate: float, *, up: bool) -> float:
    """The neighbour of ``rate`` half a decade up or down on the 1-3-10 series (0.001 -> 0.003 -> 0.01;
    0.0001 -> 3e-05 -> 1e-05); a rate off the series moves by sqrt(10)."""
    exponent = np.floor(np.log10(rate))
    mantissa = rate / 10**exponent
    series = [1.0, 3.0, 10.0] if up else [0.3, 1.0, 3.0]
    for i, m in enumerate(series[:-1]):
        if np.isclose(mantissa, m if up else series[i + 1], rtol=1e-6):
            return float(f"{(series[i + 1] if up else m) * 10**exponent:.3g}")
    return float(f"{rate * (10**0.5 if up else 10**-0.5):.3g}")


def extension(
    rates: Sequence[float], scores: Sequence[float], limits: tuple[float, float], *, gain: float = RATE_GAIN
) -> float | None:
    """The next rate to try beyond an edge of the grid, or None.

    Where the best rate (:func:`best_rate`) is the highest (lowest) tried, its score beats the next rate
    inwards by at least ``gain``, and the next rate up (down) stays within ``limits`` (lowest, highest).
    """
    order = np.argsort(np.asarray(rates, dtype=float))
    rates = np.asarray(rates, dtype=float)[order]
    scores = np.nan_to_num(np.asarray(scores, dtype=float)[order], nan=0.0)
    if len(rates) < 2:
        return None
    i, edge = best_rate(rates, scores)
    if edge == "highest" and scores[-1] - scores[-2] >= gain:
        new = next_rate(rates[-1], up=True)
        return new if new <= limits[1] * (1 + 1e-9) else None
    if edge == "lowest" and scores[0] - scores[1] >= gain:
        new = next_rate(rates[0], up=False)
        return new if new >= limits[0] * (1 - 1e-9) else None
    return None
