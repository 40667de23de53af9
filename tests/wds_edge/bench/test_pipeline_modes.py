"""wds_edge.bench.pipeline_bench.parse_modes: the --modes list of `bench pipeline`."""

from __future__ import annotations

import pytest

from wds_edge.bench.pipeline_bench import parse_modes
from wds_edge.errors import InvalidInputError


def test_modes_with_and_without_threads() -> None:
    assert parse_modes(["serial", " Two-Stage:2 ", "two-stage"]) == [
        ("serial", None),
        ("two-stage", 2),
        ("two-stage", None),
    ]


@pytest.mark.parametrize("spec", ["serial:0", "serial:x", "serial:\u00b2", "two-stage:\u0661"])
def test_threads_must_be_a_whole_number_of_at_least_one(spec: str) -> None:
    """'serial:²' ended in a ValueError traceback; 'two-stage:١' (Arabic-Indic one) was
    silently read as one thread."""
    with pytest.raises(InvalidInputError, match="must be a number >= 1"):
        parse_modes([spec])


def test_a_mode_listed_twice_or_unknown_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="listed twice"):
        parse_modes(["serial", "serial"])
    with pytest.raises(InvalidInputError, match="unknown pipeline mode"):
        parse_modes(["parallel"])
