"""bench compare's console output (issue 23 item 8): a table that fits 80 columns, numbered
steps, and a warning when the machine was busy."""

from __future__ import annotations

import io

from rich.console import Console

from wds_edge.bench.report import rows_table
from wds_edge.cli.bench_output import LoadWatch, StepPrinter, compact_rows

ROWS = [  # what CompareRow.row() gives for --widths 8,16,32 with the eager baseline
    {"config": f"b{w} {b} fp32", "width": w, "backend": b, "precision": "fp32",
     "gflops": g, "model_p50_ms": 81.23 * w / 8, "model_p90_ms": 90.5 * w / 8,
     "e2e_p50_ms": 120.55 * w / 8, "e2e_p90_ms": 130.1 * w / 8, "e2e_fps": 8.12,
     "speedup_model": 2.21, "speedup_e2e": 1.53}
    for w, g in ((8, 8.0), (16, 31.7), (32, 126.0)) for b in ("onnxruntime", "torch-eager")
]  # fmt: skip


def render(rows: list[dict], width: int = 80) -> str:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(rows_table(rows, title="compare"))
    return console.export_text()


def test_the_printed_table_fits_80_columns() -> None:
    text = render(compact_rows(ROWS))
    assert all(len(line) <= 80 for line in text.splitlines())
    for row in ROWS:  # every configuration on one line, unbroken
        assert row["config"] in text
    assert "b16 torch-eager fp32" not in render(ROWS)  # the full table folds them


def test_compact_rows_drop_empty_columns_and_keep_the_figures() -> None:
    rows = [{**r, "e2e_p50_ms": None, "e2e_fps": None, "speedup_e2e": None} for r in ROWS]
    compact = compact_rows(rows)
    assert list(compact[0]) == ["config", "model ms", "x eager"]
    assert compact[2]["model ms"] == ROWS[2]["model_p50_ms"]


def test_a_busy_machine_is_said_in_words() -> None:
    watch = LoadWatch()
    watch.cores, watch.before, watch.after = 2, 0.3, 2.2  # the benchmark's own 2 threads
    assert watch.warning() is None
    watch.before, watch.after = 6.8, 8.9  # issue 23: other work on the 2 cores
    warning = watch.warning()
    assert warning is not None and "load average 6.8 before and 8.9 after" in warning
    watch.before, watch.after = 0.3, 4.0  # something started during the run
    assert watch.busy


def test_steps_are_numbered_with_the_time_so_far() -> None:
    console = Console(width=80, file=io.StringIO(), record=True)
    steps = StepPrinter(console, total=2)
    steps("timing b8 onnxruntime fp32")
    steps("timing b16 onnxruntime fp32")
    steps("timing b16 torch-eager fp32")  # more steps than estimated: the total follows
    lines = console.export_text().splitlines()
    assert lines[0].startswith("[1/2] timing b8 onnxruntime fp32 (0 min")
    assert lines[2].startswith("[3/3] ")
