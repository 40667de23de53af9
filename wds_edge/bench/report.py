"""Bench output: rich tables, JSON and CSV files (atomic), and PNG bar plots.

Every written report embeds the environment (:func:`environment_report`), and every CSV row
written with its report ends with the CPU model and the load around the run
(:data:`RUN_COLUMNS`), so a row copied out of its file still says where it was measured. The plot
needs matplotlib, which is imported lazily; without it :func:`write_plot` returns
None and the caller says the plot was skipped.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from wds_edge.io import write_bytes_atomic, write_json_atomic, write_text_atomic

__all__ = [
    "RUN_COLUMNS",
    "run_columns",
    "rows_table",
    "write_report_json",
    "write_rows_csv",
    "write_bar_plot",
    "write_figure_png",
]

logger = logging.getLogger(__name__)

#: The columns :func:`write_rows_csv` adds to every row from the rows' report.
RUN_COLUMNS = ("cpu_model", "load_before", "load_after", "busy")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def rows_table(rows: Sequence[Mapping[str, Any]], title: str, caption: str | None = None) -> Table:
    """A rich table with one column per key of the first row (later rows may lack keys)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    table = Table(title=title, caption=caption, caption_justify="left")
    for name in columns:
        numeric = any(isinstance(r.get(name), (int, float)) for r in rows)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    return table


def write_report_json(path: str | Path, report: Mapping[str, Any]) -> Path:
    """Write a report dict (already including its ``environment``) as JSON, atomically."""
    return write_json_atomic(path, dict(report))


def run_columns(report: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`RUN_COLUMNS` from a bench report: the CPU model of its ``environment`` and
    ``before`` / ``after`` / ``busy`` of its ``load_average`` (the values the JSON holds)."""
    load = report.get("load_average") or {}
    return {
        "cpu_model": report["environment"]["cpu"]["model"],
        "load_before": load.get("before"),
        "load_after": load.get("after"),
        "busy": load.get("busy"),
    }


def write_rows_csv(
    path: str | Path,
    rows: Sequence[Mapping[str, Any]],
    report: Mapping[str, Any] | None = None,
) -> Path:
    """Write flat rows as CSV (header = union of keys in first-seen order), atomically.

    Args:
        report: the bench report the rows come from (with ``environment`` and
            ``load_average``): each row then ends with :func:`run_columns`.
    """
    if report is not None:
        extra = run_columns(report)
        rows = [{**row, **extra} for row in rows]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return write_text_atomic(path, buffer.getvalue())


def write_figure_png(
    path: str | Path, figsize: tuple[float, float], draw: Callable[[Any], None]
) -> Path | None:
    """One matplotlib figure (Agg: no display) drawn by ``draw(ax)``, written as PNG
    (atomic). Returns None when matplotlib is absent (a warning is logged)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # never needs a display
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning(
            "matplotlib is not installed: plot %s skipped (pip install matplotlib)", path
        )
        return None
    fig, ax = plt.subplots(figsize=figsize, dpi=110)
    try:
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue())


def write_bar_plot(
    path: str | Path,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    ylabel: str,
    errors: Sequence[tuple[float, float]] | None = None,
    reference: float | None = None,
    reference_label: str = "",
) -> Path | None:
    """Horizontal-label bar chart as PNG (atomic). Returns None when matplotlib is absent.

    Args:
        labels / values: one bar each (e.g. configuration -> p50 latency in ms).
        errors: per bar (low, high) absolute values (e.g. p10/p90) drawn as whiskers.
        reference: draw a horizontal line at this value (e.g. the 40 ms of 25 FPS).
    """

    def draw(ax: Any) -> None:
        yerr = None
        if errors is not None:
            yerr = [
                [max(v - lo, 0.0) for v, (lo, _) in zip(values, errors, strict=False)],
                [max(hi - v, 0.0) for v, (_, hi) in zip(values, errors, strict=False)],
            ]
        ax.bar(range(len(values)), values, yerr=yerr, capsize=3, color="#4477aa")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        if reference is not None:
            ax.axhline(reference, color="#cc3311", linestyle="--", linewidth=1)
            if reference_label:
                ax.text(0, reference, reference_label, color="#cc3311", va="bottom", fontsize=8)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)

    return write_figure_png(path, (max(6.0, 0.9 * len(labels) + 2), 4.5), draw)
