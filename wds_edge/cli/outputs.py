"""Output folders of CLI commands: checked before the work, removed again if the run
created them and wrote nothing (a failed run leaves no empty folder behind)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

__all__ = ["claim_output_dir"]


def claim_output_dir(ctx: Any, path: str | os.PathLike[str], what: str, **kwargs: int) -> Path:
    """:func:`wds_edge.io.ensure_writable_dir` for a command's output folder; when the
    command ends (done or failed), the folders this call created are removed if they are
    still empty.

    Args:
        ctx: the command's ``typer.Context`` (its close runs the clean-up).
        path / what / kwargs: as :func:`wds_edge.io.ensure_writable_dir`.

    Raises:
        OutputError: see :func:`wds_edge.io.ensure_writable_dir`.
    """
    from wds_edge.io import ensure_writable_dir

    folder = Path(path)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    ensure_writable_dir(folder, what, **kwargs)
    if created:
        ctx.call_on_close(lambda: _remove_if_empty(created))
    return folder


def _remove_if_empty(created: list[Path]) -> None:
    """Remove the created folders, innermost first, while they are empty."""
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()  # fails (and stops nothing else) when something was written
