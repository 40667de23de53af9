"""How every ``wds-edge`` command ends: one exit-code policy and one-line error messages.

Exit codes (the same for every command, batch commands included):

* ``0``: everything was processed, or deliberately skipped for a reason the command's
  help names (e.g. ``label`` on a frame without a face);
* ``1``: an input failed: a file in a batch, a video that ended early, a malformed data
  set (:class:`~wds_edge.errors.DataError`), a source that cannot be read
  (:class:`~wds_edge.errors.CaptureError`); or a reduced-precision model failed its
  accuracy gate against FP32 (:class:`~wds_edge.errors.AccuracyGateError`: ``quantize``,
  ``build-engine``): the command ran as asked, its result did not pass;
* ``2``: usage: a bad option value, an output that cannot be written, an unusable
  model, a missing dependency (any other :class:`~wds_edge.errors.WdsEdgeError`, an
  optional package such as torch missing for a desktop command, and pydantic validation
  errors, which are told in the project's words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["EXIT_OK", "EXIT_INPUT_FAILED", "EXIT_USAGE", "exit_code_for", "run_cli"]

EXIT_OK = 0
EXIT_INPUT_FAILED = 1
EXIT_USAGE = 2


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an exception that ended a command (see the module docstring)."""
    from wds_edge.errors import AccuracyGateError, CaptureError, DataError

    failed = (DataError, CaptureError, AccuracyGateError)
    return EXIT_INPUT_FAILED if isinstance(exc, failed) else EXIT_USAGE


def _message(exc: BaseException) -> str | None:
    from pydantic import ValidationError

    from wds_edge.errors import WdsEdgeError, describe_validation_error

    if isinstance(exc, ValidationError):
        return describe_validation_error(exc, f"{exc.title} settings")
    if isinstance(exc, WdsEdgeError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError):
        return _missing_module_message(exc)
    return None


def _missing_module_message(exc: ModuleNotFoundError) -> str | None:
    """A desktop command in a kiosk-only install: the optional package it needs, in one
    line with the install hint (``None`` for a module wds-edge has no hint for: a bug)."""
    from wds_edge._deps import install_hint

    root = (exc.name or "").split(".")[0]
    hint = install_hint(root)
    if hint is None:
        return None
    return (
        f"this command needs the Python package '{root}', which is not installed "
        f"(a kiosk-only install has no desktop packages). Install it: {hint}"
    )


def run_cli(app: Callable[..., Any], argv: Sequence[str] | None = None) -> None:
    """Run the typer ``app``; a WdsEdgeError or pydantic ValidationError becomes one red
    line on stderr and :func:`exit_code_for`'s exit code, never a traceback."""
    try:
        app(args=None if argv is None else list(argv), prog_name="wds-edge")
    except Exception as exc:
        text = _message(exc)
        if text is None:
            raise
        from rich.markup import escape  # messages hold pip extras like '.[trt]'

        from wds_edge.cli.console import make_console

        make_console(stderr=True).print(f"[bold red]error:[/] {escape(text)}", highlight=False)
        raise SystemExit(exit_code_for(exc)) from None
