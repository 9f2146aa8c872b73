"""The per-core measurement of ``initlab bench`` runs end to end on a real cluster (its times are not asserted)."""

from __future__ import annotations

import math

import pytest

from initlab.errors import UnknownNameError
from initlab.training.percore import per_core_speedup
from initlab.workers import cores


@pytest.mark.skipif(cores() < 2, reason="one core: nothing to spread")
def test_both_ways_train_every_unit_and_give_a_finite_ratio() -> None:
    r = per_core_speedup("mlp_512_256_128_64", units_per_worker=1, train_limit=600)
    assert r.units == cores() and r.workers == cores()
    assert r.one_at_a_time > 0 and r.per_core > 0 and math.isfinite(r.speedup)


def test_an_unknown_model_is_refused_before_any_cluster_starts() -> None:
    with pytest.raises(UnknownNameError, match="mlp_128"):
        per_core_speedup("no_such_model", train_limit=600)
