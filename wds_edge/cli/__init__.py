"""The ``wds-edge`` command line (typer).

Commands are thin: each parses options and calls one library function. Desktop
commands (train, eval, label, export, ...) import torch and friends lazily inside
the command body, so the kiosk-side commands work without them.
"""

from __future__ import annotations

import logging

import typer

from wds_edge.cli import (
    analyze_cmds,
    bench_cmds,
    data_cmds,
    demo_cmds,
    export_cmds,
    label_cmds,
    models_cmds,
    repeat_cmds,
    serve_cmds,
    train_cmds,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="wds-edge",
    help=(
        "Facial wrinkle segmentation from training to the kiosk.\n\n"
        "Desktop: label -> train -> eval -> export -> calibrate. "
        "Kiosk: models fetch -> build-engine -> analyze / demo / serve / bench.\n\n"
        "Exit codes: 0 all processed (or skipped for a reason the command's help names), "
        "1 an input failed or a model failed its accuracy gate, 2 usage (bad option, "
        "unwritable output, unusable model)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More log output (-vv: debug)."
    ),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for _module in (
    train_cmds,
    label_cmds,
    analyze_cmds,
    models_cmds,
    export_cmds,
    demo_cmds,
    bench_cmds,
    data_cmds,
    serve_cmds,
    repeat_cmds,
):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: errors become one line and the exit-code policy of
    :mod:`wds_edge.cli.errors` (0 done, 1 an input failed, 2 usage)."""
    from wds_edge.cli.errors import run_cli

    run_cli(app, argv)
