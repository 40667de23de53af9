"""Latency statistics: percentiles over timed samples, and a per-stage recorder.

A base module (numpy only): the analysis, the demo and the benchmarks all time stages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.progress import ProgressCallback

__all__ = ["LatencyStats", "summarize_ms", "time_calls_ms", "StageRecorder", "ms_since"]


def ms_since(start: float) -> float:
    """Milliseconds since ``start``, a :func:`time.perf_counter` reading."""
    return (time.perf_counter() - start) * 1000.0


@dataclass(frozen=True)
class LatencyStats:
    """Summary of latency samples in milliseconds.

    Percentiles use linear interpolation between order statistics (numpy's default),
    so ``p50`` of ``[1, 2, 3, 4]`` is 2.5 ms.
    """

    count: int
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    std_ms: float

    def to_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @property
    def throughput_per_s(self) -> float:
        """Items per second at the mean latency (one item per sample)."""
        return 1000.0 / self.mean_ms if self.mean_ms > 0 else math.inf


def time_calls_ms(
    fn: Callable[[Any], Any],
    arg: Any,
    *,
    warmup: int,
    runs: int,
    on_run: ProgressCallback | None = None,
) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls ``fn(arg)``, after ``warmup`` untimed calls.

    Args:
        on_run: called as ``on_run(runs_done, runs, "")`` after every timed run.

    Raises:
        InvalidInputError: ``runs < 1`` or ``warmup < 0``.
    """
    if runs < 1 or warmup < 0:
        raise InvalidInputError(f"need runs >= 1 and warmup >= 0, got runs={runs} warmup={warmup}")
    for _ in range(warmup):
        fn(arg)
    times_ms = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(arg)
        times_ms.append((time.perf_counter() - t0) * 1000.0)
        if on_run is not None:
            on_run(i + 1, runs, "")
    return times_ms


def summarize_ms(samples_ms: Iterable[float]) -> LatencyStats:
    """Summarize latency samples (milliseconds, finite, >= 0).

    Raises:
        InvalidInputError: no samples, or a negative / non-finite sample.
    """
    values = np.asarray(list(samples_ms), dtype=np.float64)
    if values.size == 0:
        raise InvalidInputError("cannot summarize zero latency samples: time at least one run")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidInputError("latency samples must be finite and >= 0 ms")
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LatencyStats(
        count=int(values.size),
        min_ms=float(values.min()),
        mean_ms=float(values.mean()),
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        max_ms=float(values.max()),
        std_ms=float(values.std()),
    )


class StageRecorder:
    """Collects per-stage millisecond samples (``add("landmarks", 12.3)``).

    Memory grows with the number of samples; benchmarks are bounded runs. For an
    endless loop use a bounded recorder (``max_samples``), which keeps the newest.
    """

    def __init__(self, stages: Sequence[str] = (), max_samples: int | None = None) -> None:
        self._order: list[str] = list(stages)
        self._samples: dict[str, list[float]] = {s: [] for s in stages}
        self._max = max_samples

    def add(self, stage: str, value_ms: float) -> None:
        if stage not in self._samples:
            self._order.append(stage)
            self._samples[stage] = []
        bucket = self._samples[stage]
        bucket.append(float(value_ms))
        if self._max is not None and len(bucket) > self._max:
            del bucket[: len(bucket) - self._max]

    def add_all(self, timings_ms: Mapping[str, float]) -> None:
        for stage, value in timings_ms.items():
            self.add(stage, value)

    def samples(self, stage: str) -> list[float]:
        return list(self._samples.get(stage, []))

    def summary(self) -> dict[str, LatencyStats]:
        """Stage -> stats, in first-seen order; stages with no samples are left out."""
        return {s: summarize_ms(self._samples[s]) for s in self._order if self._samples[s]}
