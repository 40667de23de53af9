"""The CLI's one console and progress bar (wds_edge.cli.console)."""

from __future__ import annotations

import io

from rich.console import Console

from wds_edge.cli.console import PIPED_WIDTH, make_console, progress_bar
from wds_edge.progress import ProgressCallback


def test_progress_bar_is_driven_by_a_progress_callback() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    with progress_bar("crops", total=4, console=console, transient=False) as update:
        callback: ProgressCallback = update
        callback(1, None, "a.jpg")
        callback(3, 5, "b.jpg")  # a new total replaces the old one
    text = out.getvalue()
    assert "crops" in text and "3/5" in text and "b.jpg" in text


def test_piped_console_does_not_wrap_at_80_columns(capsys) -> None:  # noqa: ANN001
    console = make_console()  # pytest captures stdout: not a terminal
    assert console.width == PIPED_WIDTH


def test_progress_bar_shows_brackets_in_names_as_written() -> None:
    # "[b]" in a file name is not a rich bold tag: it stays in the description and info.
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False)
    with progress_bar(
        "pipeline on face[b].jpg", total=2, console=console, transient=False
    ) as update:
        update(1, None, "clip[/].mp4 [red]x")
    text = out.getvalue()
    assert "face[b].jpg" in text
    assert "clip[/].mp4 [red]x" in text
