"""What `wds-edge bench compare` shows while and after it runs: numbered steps with the
time so far, a table that fits 80 columns, and a warning when the machine was busy.

Benchmarks on a shared machine mislead quietly, so every bench command reads the load
average before and after its run (:class:`wds_edge.bench.environment.LoadWatch`), stores it
in its report, prints it under the table with the CPU, and says a busy machine in words
(:func:`print_load`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from wds_edge.bench.environment import LoadWatch  # the library's; re-exported for the CLI

__all__ = ["LoadWatch", "StepPrinter", "compact_rows", "print_load"]

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


def print_load(console: Any, load: LoadWatch) -> None:
    """The load line under a bench table, and the busy-machine warning when it applies."""
    console.print(f"[dim]{load.describe()}[/]", highlight=False)
    if load.warning():
        console.print(f"[bold yellow]warning:[/] {load.warning()}", highlight=False)
