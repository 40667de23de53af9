"""`wds-edge frames`: turn a kiosk recording into training photos (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

FRAMES_HELP = """Save every N-th frame of a video as images, to label and train on.

Record people at your kiosk (same camera, light and distance as in use), extract
frames, then label and train:

  wds-edge frames kiosk_clip.mp4 --out photos/ --every 10

  wds-edge label --images photos/ --auto --out labels/

  wds-edge train --data labels/ --out runs/mine --base 16

Files are named <video stem>_f<frame index>.png (frame index = position in the
video, 0-based). Frames without a usable face are fine here: 'wds-edge label --auto'
reports and skips them (exit code 0).

Exit code: 0 frames written, 1 the video could not be read, gave no frame in the
range or ended before its frame count (a truncated file: the frames before the cut are
written and valid), 2 usage (bad options, an --out that cannot be written; checked
first).
"""


def _frames(
    ctx: typer.Context,
    video: str = typer.Argument(
        ..., help="Video file (MP4, AVI, MKV, ...; anything OpenCV/FFmpeg decodes)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for the images (created)."),
    every: int = typer.Option(
        1, "--every", help="Keep one frame in N (1 = all; 10 at 30 fps = 3 per second)."
    ),
    start: int = typer.Option(0, "--start", help="First frame index to consider (0-based)."),
    stop: int = typer.Option(
        None, "--stop", help="Stop before this frame index (default: end of the video)."
    ),
    image_format: str = typer.Option(
        "png", "--format", help="png (lossless, default) or jpg (smaller)."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace the frames an earlier run wrote to --out with this video's name (PNG "
        "and JPEG): those this run does not rewrite are removed once it wrote its frames (a "
        "run that writes none or finds the video truncated keeps them); without it such "
        "frames make the command refuse.",
    ),
) -> None:
    from wds_edge.capture.extract import extract_frames
    from wds_edge.cli.console import make_console, progress_bar
    from wds_edge.cli.outputs import claim_output_dir

    claim_output_dir(ctx, out, "frames")

    with progress_bar("frames read", total=stop) as update:
        result = extract_frames(
            video, out, every=every, start=start, stop=stop, image_format=image_format,
            overwrite=force, progress=update,
        )  # fmt: skip
    size = f"{result.size[0]}x{result.size[1]}" if result.size else "-"
    make_console().print(
        f"wrote {len(result.paths)} frames ({size}) of {result.frames_read} read to {out}"
        + (
            f" (frames {result.indices[0]}..{result.indices[-1]} every {every})"
            if result.indices
            else ""
        ),
        markup=False,
    )
    if result.ended_early:
        make_console(stderr=True).print(
            f"[red]the video ended early ({result.frames_read} of {result.expected_frames} "
            "frames decoded): the file is truncated or was cut while it was read; the frames "
            "before the cut are written[/]"
        )
    if result.earlier_kept:
        make_console(stderr=True).print(
            f"kept the {result.earlier_kept} frame(s) of the earlier run that this run did not "
            "rewrite (it failed); rerun with --force once it can write its frames"
        )
    if not result.paths or result.ended_early:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `frames` to `app`."""
    app.command("frames", help=FRAMES_HELP)(_frames)
