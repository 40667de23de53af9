"""The one progress-callback type of long-running library calls.

``progress(done, total, info)``: ``done`` items so far (crops, frames, bytes, images),
``total`` the expected number (``None`` while unknown), ``info`` a short note on the
current item (a file name, a phase; may be ``""``). Library functions call it and never
draw anything; the CLI turns it into a rich progress bar
(:func:`wds_edge.cli.console.progress_bar`). The desktop packages (``train``,
``calibration``) use the same type.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "no_progress"]

#: ``progress(done, total_or_None, info)`` - see the module docstring.
ProgressCallback = Callable[[int, "int | None", str], None]


def no_progress(done: int, total: int | None, info: str = "") -> None:
    """A :data:`ProgressCallback` that ignores every update."""
