"""What `wds-edge bench compare` shows while and after it runs: numbered steps with the
time so far, a table that fits 80 columns, and a warning when the machine was busy.

Benchmarks on a shared machine mislead quietly (issue 23: under load 12 base 32 came out
faster than base 16), so the load average is read before and after the run, stored in the
report, and a busy machine is said in words next to the table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["LoadWatch", "StepPrinter", "compact_rows"]

#: The columns of the printed compare table (the JSON and CSV keep every column).
_COMPACT = {
    "config": "config",
    "model_p50_ms": "model ms",
    "e2e_p50_ms": "frame ms",
    "e2e_fps": "FPS",
    "speedup_model": "x eager",
    "mean_iou": "IoU",
}


def compact_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows with only the columns people compare (p50 latencies, FPS, the model's
    speed-up over PyTorch eager, IoU) under short names, so the table fits 80 columns;
    columns empty in every row are left out (GFLOPs, p90s and the frame speed-up stay in
    the CSV / JSON)."""
    keep = [k for k in _COMPACT if any(r.get(k) is not None for r in rows)]
    return [{_COMPACT[k]: r.get(k) for k in keep} for r in rows]


class LoadWatch:
    """The 1-minute load average before and after a benchmark, and whether it was busy.

    Busy: more than half the usable cores were taken before the run started, or more
    than the benchmark's own threads (``usable cores``) plus half a core afterwards.
    """

    def __init__(self) -> None:
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self.before = _load1()
        self.after: float | None = None

    def stop(self) -> None:
        self.after = _load1()

    @property
    def busy(self) -> bool:
        after = self.after if self.after is not None else 0.0
        return self.before > 0.5 * self.cores or after > self.cores + 0.5

    def to_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "usable_cores": self.cores}

    def warning(self) -> str | None:
        """A sentence for the console when the machine was busy, else ``None``."""
        if not self.busy:
            return None
        return (
            f"the machine was busy: load average {self.before:.1f} before and "
            f"{self.after or 0.0:.1f} after the run on {self.cores} usable cores. Other work "
            "shared the CPU, so these figures, and even their order, may be wrong; run again "
            "on an idle machine before deciding anything on them"
        )


class StepPrinter:
    """Print ``[i/N] what (elapsed so far)`` for each step (visible in logs, unlike a spinner)."""

    def __init__(self, console: Any, total: int) -> None:
        self.console, self.total, self.done = console, total, 0
        self.started = time.monotonic()

    def __call__(self, what: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        total = max(self.total, self.done)
        self.console.print(
            f"[{self.done}/{total}] {what} ({elapsed / 60:.0f} min {elapsed % 60:.0f} s so far)",
            highlight=False,
            markup=False,
        )


def _load1() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0
