"""Latency statistics of the benchmarks: re-exported from :mod:`wds_edge.timing`.

The implementation lives in the base layer so the demo (a sibling of ``bench``) can time
its stages without importing ``bench``.
"""

from __future__ import annotations

from wds_edge.timing import LatencyStats, StageRecorder, summarize_ms, time_calls_ms

__all__ = ["LatencyStats", "summarize_ms", "time_calls_ms", "StageRecorder"]
