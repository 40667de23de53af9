"""`bench compare`'s paired speed-up: hand-computed values (issue 25)."""

from __future__ import annotations

import pytest

from wds_edge.bench.backend_compare import paired_speedup
from wds_edge.errors import InvalidInputError


def test_paired_speedup_is_the_median_of_per_round_ratios() -> None:
    # rounds 1-2 run in a slow stretch, round 3 in a fast one: per round the row is 2x, 2x and
    # 0.5x the first entry's speed -> median 2.0; the p50s (12 vs 20 ms) would say 0.6x
    base = [10.0, 40.0, 12.0]
    row = [5.0, 20.0, 24.0]
    assert paired_speedup(base, row) == pytest.approx(2.0)
    assert paired_speedup(base, base) == pytest.approx(1.0)
    assert paired_speedup([10.0, 10.0], [20.0, 40.0]) == pytest.approx(0.375)  # (0.5+0.25)/2


def test_paired_speedup_needs_one_time_per_round_on_both_sides() -> None:
    with pytest.raises(InvalidInputError, match="one entry per round"):
        paired_speedup([1.0, 2.0], [1.0])
    with pytest.raises(InvalidInputError, match="one entry per round"):
        paired_speedup([], [])
