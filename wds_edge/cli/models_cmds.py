"""`wds-edge models fetch|path`: get the FaceLandmarker model; show where models are found."""

from __future__ import annotations

from pathlib import Path

import typer

_FETCH_HELP = """Download the MediaPipe FaceLandmarker model and verify its sha256.

Saves face_landmarker.task into the user cache folder (see `wds-edge models path`),
where `wds-edge analyze` and the SDK find it. The file is checked against its known
sha256 and moved into place only when it matches. Offline kiosk: run this on a
connected machine, copy the file over and set WDS_EDGE_FACE_LANDMARKER=/path/to/it.

Example: wds-edge models fetch --dest /opt/kiosk/models
"""

_PATH_HELP = """Show where each model is looked for and which file would be used.

FaceLandmarker order: --landmarker PATH, then $WDS_EDGE_FACE_LANDMARKER, then the user
cache (filled by `wds-edge models fetch`). Also shows the bundled default wrinkle model.
Exit code 1 when a required model is missing.
"""


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    models = typer.Typer(
        name="models",
        help="Get and locate the models the kiosk needs (FaceLandmarker, wrinkle model).",
        no_args_is_help=True,
    )
    models.command("fetch", help=_FETCH_HELP)(fetch)
    models.command("path", help=_PATH_HELP)(path)
    app.add_typer(models, name="models")


def _check_sha256(value: str) -> str:
    """``--sha256``: 64 hex digits (a typo is refused before the download, not blamed on
    the file after it)."""
    from wds_edge.errors import InvalidInputError
    from wds_edge.perception.landmarker_model import SHA256_HEX

    if not SHA256_HEX.fullmatch(value):
        raise InvalidInputError(
            f"--sha256 takes a sha256 digest, 64 hex digits (0-9, a-f), got {value!r} "
            f"({len(value)} characters): copy the whole digest (e.g. from `sha256sum FILE`), "
            "or leave --sha256 out to check the canonical model's"
        )
    return value.lower()


def fetch(
    ctx: typer.Context,
    dest: Path | None = typer.Option(
        None, "--dest", help="Folder to save face_landmarker.task in (default: user cache)."
    ),
    url: str | None = typer.Option(
        None,
        "--url",
        help="Download address (https:// or file://; default: Google's canonical URL).",
    ),
    sha256: str | None = typer.Option(
        None,
        "--sha256",
        help="Expected sha256 of the file, 64 hex digits (default: the canonical model's).",
    ),
) -> None:
    """Download and verify the FaceLandmarker model."""
    from wds_edge.cli.console import make_console, plain, progress_bar
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge.perception.landmarker_model import (
        FACE_LANDMARKER_SHA256,
        FACE_LANDMARKER_SIZE_BYTES,
        FACE_LANDMARKER_URL,
        fetch_face_landmarker,
        user_model_dir,
    )

    expected = _check_sha256(sha256) if sha256 is not None else FACE_LANDMARKER_SHA256
    source = url or FACE_LANDMARKER_URL
    # a folder this command makes is removed again when the fetch fails (nothing saved)
    folder = claim_output_dir(
        ctx,
        dest.expanduser() if dest is not None else user_model_dir(),
        "FaceLandmarker model",
        min_free_bytes=FACE_LANDMARKER_SIZE_BYTES,
    )
    with progress_bar("face_landmarker.task", download=True) as update:
        saved = fetch_face_landmarker(folder, url=source, sha256=expected, progress=update)
    make_console().print(f"[green]saved[/] {plain(saved)} (sha256 verified)", highlight=False)


def path(
    landmarker: Path | None = typer.Option(
        None, "--landmarker", help="A FaceLandmarker .task file to check first."
    ),
) -> None:
    """Print where models are found, or what is missing and how to get it."""
    from rich.table import Table

    from wds_edge.cli.console import make_console, plain
    from wds_edge.errors import ModelError
    from wds_edge.perception.landmarker_model import model_locations, resolve_face_landmarker

    console = make_console()
    table = Table(title="FaceLandmarker lookup (first match wins)")
    table.add_column("order")
    table.add_column("source")
    table.add_column("path")
    table.add_column("state")
    for order, (origin, candidate) in enumerate(model_locations(landmarker), start=1):
        if candidate is None:
            table.add_row(str(order), plain(origin), "-", "not set")
        else:
            state = "[green]present[/]" if candidate.is_file() else "[yellow]missing[/]"
            table.add_row(str(order), plain(origin), plain(candidate), state)
    console.print(table)
    missing = False
    try:
        console.print(f"FaceLandmarker: [green]{plain(resolve_face_landmarker(landmarker))}[/]")
    except ModelError as exc:
        missing = True
        console.print(f"FaceLandmarker: [red]not usable[/] - {plain(exc)}", highlight=False)
    try:
        from wds_edge.model.bundled import default_model_path

        console.print(f"default wrinkle model: [green]{plain(default_model_path())}[/]")
    except ModelError as exc:
        console.print(f"default wrinkle model: [yellow]none[/] - {plain(exc)}", highlight=False)
    except ImportError:  # the bundled-model module is not part of this build
        console.print("default wrinkle model: [yellow]none[/] - pass --model PATH to analyze")
    if missing:
        raise typer.Exit(1)
