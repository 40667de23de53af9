"""The CLI's one console and its progress bars (rich).

Every command module prints through :func:`make_console` and shows long work with
:func:`progress_bar` (one bar fed by a :data:`~wds_edge.progress.ProgressCallback`) or
:func:`rich_progress` (several tasks, e.g. engine build phases, training epochs), so
output width, stream and bar style are decided here once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wds_edge.progress import ProgressCallback

__all__ = ["make_console", "plain", "rich_progress", "progress_bar"]

#: Width when stdout is not a terminal (CI logs, ``| tee``): rich would wrap at 80.
PIPED_WIDTH = 200


def make_console(*, stderr: bool = False) -> Any:
    """A rich ``Console`` on stdout (results) or stderr (status, errors)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def plain(value: object) -> str:
    """``value`` as text to put into rich markup (a print's f-string, a table's cell or
    title): shown as written, so a file named ``scan[/x].jpg`` or ``fr [cam1]`` is neither
    dropped as a style tag nor a ``MarkupError``."""
    from rich.markup import escape

    return escape(str(value))


def rich_progress(
    *,
    console: Any = None,
    transient: bool = True,
    count: bool = True,
    download: bool = False,
    remaining: bool = False,
) -> Any:
    """A rich ``Progress`` with the CLI's columns: description, bar, ``n/total`` (or bytes
    and speed with ``download``), the task's ``info`` field, elapsed (and remaining) time.

    Tasks must be added with an ``info`` field: ``add_task(name, total=..., info="")``.
    Description and info are plain text, not rich markup: brackets show as written.
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    # Descriptions and info carry file names and messages ("face[b].jpg"): shown as
    # written, never parsed as rich markup (which would drop "[b]" as a bold tag).
    columns: list[Any] = [
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
    ]
    if download:
        columns += [DownloadColumn(), TransferSpeedColumn()]
    elif count:
        columns.append(MofNCompleteColumn())
    columns += [TextColumn("{task.fields[info]}", markup=False), TimeElapsedColumn()]
    if remaining:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=transient)


@contextmanager
def progress_bar(
    description: str,
    total: int | None = None,
    *,
    console: Any = None,
    transient: bool = True,
    download: bool = False,
) -> Iterator[ProgressCallback]:
    """One progress bar; yields the :data:`ProgressCallback` that advances it.

    A callback ``total`` of None keeps the bar's current total (unknown stays a pulse).
    """
    with rich_progress(console=console, transient=transient, download=download) as bar:
        task = bar.add_task(description, total=total, info="")

        def update(done: int, total: int | None = None, info: str = "") -> None:
            if total is None:
                bar.update(task, completed=done, info=info)
            else:
                bar.update(task, completed=done, total=total, info=info)

        yield update
