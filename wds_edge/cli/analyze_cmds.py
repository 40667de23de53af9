"""`wds-edge analyze`: wrinkle analysis of face photos (files, folders, globs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from wds_edge.cli.options import DEVICE_HELP, PRECISION_HELP, ROTATE_HELP, check_rotate

if TYPE_CHECKING:
    from wds_edge.analysis.final import FinalResult

_HELP = """Analyse face photos for wrinkles: landmarks -> Table 1 crop -> segmentation -> scores.

INPUT may be image files, folders (their images) or globs ("photos/*.jpg"), or video files
(.mp4, .mov, .avi, ...): a video is ONE capture, the kiosk session over its frames, and
gives one fused result (status, fused scores, frames used / refused by status, the
per-frame spread); a clip without a usable frame gets a status (no_face, too_blurry, ...).
The capture reads the file until 60 good frames came (the 10 sharpest are fused) or the
file ends, however long it is; --max-frames N stops it after N frames (a result that left
frames unread so says: warning frames_unread). 30 refused frames in a row (the person
walked away) set the frames collected so far aside: good frames after them are fused alone
(frames_reset counts the frames dropped), and with nothing usable after them the frames set
aside are fused. With --out DIR, writes DIR/<stem>.json
(status, scores per region, timings, crop transform) and DIR/<stem>_overlay.png for each
input. They replace what an earlier run wrote for the same stem, and the earlier files of
that stem this run does not write (of an input that fails now, an overlay or mask not
asked for) are removed; files of other stems (inputs of an earlier run that this run does
not have) are left as they are. DIR may not be a folder that a
folder or glob input reads; no input is ever written over (an input whose results would
replace another input named, e.g. DIR/a.jpg DIR/a_overlay.png --out DIR, gets an error
line). With --json, prints one JSON object per input on its own line
(status, scores: overall + one entry per region with wrinkle_ratio, timings_ms: the
stages in ms and their "total", a photo's decode included, a video's whole file). A file
that cannot be read gets an "error" line and the rest goes on. Exit code: 0 when every
input was analysed (any status, e.g. no_face: the status is the answer), 1 if any input
failed (unreadable, corrupt, too large, a folder without images, a glob matching nothing)
or a video ended before its frame count (a truncated file: its result, from the frames
that decoded, is still printed and written, with the warning "truncated"), 2 for bad
options or an --out folder that cannot be written or that the inputs are read from
(checked before any work).

Example: wds-edge analyze ../shared/data/faces/biden2.jpg --out results/ --model m.onnx
"""


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("analyze", help=_HELP)(analyze)


def analyze(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(  # noqa: B008
        ..., metavar="INPUT...", help="Image files, folders of images, or glob patterns."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for <stem>.json and <stem>_overlay.png (created)."
    ),
    json_lines: bool = typer.Option(
        False, "--json", help="Print one JSON object per input (JSON lines) instead of a table."
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="wds-edge .onnx model (default: the bundled starter model)."
    ),
    backend: str = typer.Option(
        "auto",
        "--backend",
        "-b",
        help=(
            "auto | onnxruntime | openvino | tensorrt (auto: fastest that passes the gate; "
            "on a CPU FP32 unless a reduced precision is at least 10 % faster)."
        ),
    ),
    precision: str = typer.Option(
        "auto",
        "--precision",
        "-p",
        help=PRECISION_HELP,
    ),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    landmarker: Path | None = typer.Option(
        None,
        "--landmarker",
        help="MediaPipe face_landmarker.task (default: $WDS_EDGE_FACE_LANDMARKER, then the "
        "user cache filled by `wds-edge models fetch`).",
    ),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Wrinkle probability threshold in (0, 1) (default: the model's)."
    ),
    multi_face: str = typer.Option(
        "largest",
        "--multi-face",
        help="Several faces: 'largest' analyses the largest, 'refuse' reports multiple_faces.",
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="ONNX Runtime CPU threads (default: all cores)."
    ),
    expression: str = typer.Option(
        "neutral",
        "--expression",
        help="Videos: what the capture asks of the face. 'neutral' (the wrinkle score of a "
        "resting face) or 'raise_brows' (the forehead lines with raised brows, for a "
        "botulinum-toxin consultation; warns brows_not_raised when the clip has none).",
    ),
    max_frames: int | None = typer.Option(
        None,
        "--max-frames",
        min=1,
        help="Videos: stop the capture after this many frames (default: read the whole file; "
        "it ends earlier once 60 good frames came). A result that stopped with frames of the "
        "file left unread has the warning frames_unread.",
    ),
    rotate: int = typer.Option(
        0,
        "--rotate",
        help=f"{ROTATE_HELP} Photos are turned too, after their EXIF orientation is applied "
        "(the overlay, mask and landmarks are then the turned image's).",
    ),
    no_overlay: bool = typer.Option(False, "--no-overlay", help="Do not write overlay PNGs."),
    arrays: bool = typer.Option(
        False,
        "--arrays",
        help="Put landmarks and the wrinkle mask (base64 PNG) in the JSON: the files --out "
        "writes and the lines --json prints (needs one of them).",
    ),
    save_mask: bool = typer.Option(
        False,
        "--save-mask",
        help="Also write <stem>_mask.png next to the JSON (needs --out): 0/255, the input's "
        "own size, to overlay in other software.",
    ),
) -> None:
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.analysis.batch import analyze_inputs, check_output_folder, expand_inputs
    from wds_edge.analysis.session import SessionConfig
    from wds_edge.analysis.video import TRUNCATED, is_video_file
    from wds_edge.cli.console import make_console
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge.errors import InvalidInputError
    from wds_edge.perception.expression import check_capture_expression
    from wds_edge.perception.quality import QualityConfig
    from wds_edge.runtime import PRECISION_NAMES

    if precision not in PRECISION_NAMES:
        raise InvalidInputError(
            f"--precision must be one of {', '.join(PRECISION_NAMES)}, got {precision!r}"
        )
    if multi_face not in ("largest", "refuse"):
        raise InvalidInputError(f"--multi-face must be 'largest' or 'refuse', got {multi_face!r}")
    if save_mask and out is None:
        raise InvalidInputError("--save-mask writes <stem>_mask.png into --out DIR; pass --out")
    if arrays and out is None and not json_lines:
        raise InvalidInputError(
            "--arrays puts landmarks and the mask into the JSON that --out DIR writes or --json "
            "prints; pass --out DIR or --json (the table has no room for them)"
        )
    check_capture_expression(expression)
    check_rotate(rotate)
    capture = SessionConfig(expression=expression)
    if max_frames is not None:
        if max_frames < capture.frames_fused:
            raise InvalidInputError(
                f"--max-frames must be at least {capture.frames_fused}, the frames a video's "
                f"capture fuses, got {max_frames}; leave it out to read the whole file"
            )
        capture = SessionConfig(expression=expression, max_frames=max_frames)
    console = make_console(stderr=True)
    if out is not None:
        check_output_folder(inputs, out, "--out DIR")  # before the folder is made
        claim_output_dir(ctx, out, "analysis results")
    paths = expand_inputs(inputs)
    if max_frames is not None and not any(is_video_file(p) for p in paths):
        raise InvalidInputError(
            "--max-frames limits a video's capture; the inputs are photos, each analysed as "
            "one frame: leave it out"
        )
    if expression != "neutral" and not any(is_video_file(p) for p in paths):
        raise InvalidInputError(
            f"--expression {expression} asks a video capture for that expression; the inputs "
            "are photos, which are scored as they are (their JSON has the expression scores)"
        )
    analyzer = WrinkleAnalyzer(
        model_path=str(model) if model is not None else None,
        backend=backend,
        precision=precision,
        device=device,
        landmarker_path=str(landmarker) if landmarker is not None else None,
        threshold=threshold,
        num_threads=threads,
        quality=QualityConfig(multi_face_policy=multi_face),
        video_mode=all(is_video_file(p) for p in paths),  # track the face between frames
    )
    outcomes = []
    with analyzer:
        stream = analyze_inputs(
            analyzer, paths, out, write_overlay=not no_overlay, include_arrays=arrays,
            write_mask=save_mask, session=capture, rotate=rotate,
        )  # fmt: skip
        if json_lines:
            for outcome in stream:
                typer.echo(json.dumps(outcome.to_dict(arrays), ensure_ascii=False))
                outcomes.append(outcome)
        else:
            from wds_edge.cli.console import progress_bar

            with progress_bar(
                "analysing", total=len(paths), console=console, transient=False
            ) as update:
                for outcome in stream:
                    outcomes.append(outcome)
                    update(len(outcomes), None, "")
            _print_table(outcomes, analyzer.model_info)
    failed = sum(o.failed for o in outcomes)
    truncated = sum(o.final is not None and TRUNCATED in o.final.warnings for o in outcomes)
    if failed:
        console.print(f"[red]{failed} of {len(outcomes)} inputs could not be analysed[/]")
    if truncated:
        console.print(
            f"[red]{truncated} of {len(outcomes)} inputs are videos that ended early (the file "
            "is truncated or was cut while it was read): analysed what decoded[/]"
        )
    if failed or truncated:
        raise typer.Exit(1)


def _notes(final: FinalResult) -> list[str]:
    """What the summary line says of a capture after its frame counts: the frames a reset
    dropped (the face left, then another came: only the later frames were fused) and the
    warnings."""
    reset = (
        [f"{final.frames_reset} set aside when the face left or changed"]
        if final.frames_reset
        else []
    )
    return reset + list(final.warnings)


def _print_table(outcomes: list, model: dict) -> None:  # list[InputOutcome]
    from rich.table import Table

    from wds_edge.cli.console import make_console, plain

    table = Table(
        title="wrinkle analysis",
        caption=f"{model.get('name')} on {model.get('backend')} "
        f"{str(model.get('precision', '')).upper()} ({model.get('device')})",
    )
    for column in ("input", "status", "overall %", "regions %", "ms"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        if o.final is not None:  # a video: one fused result
            f = o.final
            overall = f"{100 * f.scores['overall'].wrinkle_ratio:.2f}" if f.scores else ""
            regions = " ".join(
                f"{k}={100 * v.wrinkle_ratio:.1f}" for k, v in f.scores.items() if k != "overall"
            )
            kind = "" if f.capture == "neutral" else f"{f.capture}, "
            counts = f"{kind}{f.frames_used} fused of {f.frames_seen}"
            note = f" ({', '.join([counts, *_notes(f)])})"
            colour = "green" if f.ok else "yellow"
            ms = f.timings_ms.get("total", sum(f.timings_ms.values()))
            table.add_row(
                plain(o.input), f"[{colour}]{f.status}[/]{plain(note)}", overall, regions,
                f"{ms:.0f}",
            )  # fmt: skip
            continue
        if o.result is None:
            table.add_row(plain(o.input), "[red]error[/]", "", plain(o.error or ""), "")
            continue
        r = o.result
        overall = f"{100 * r.scores['overall'].wrinkle_ratio:.2f}" if "overall" in r.scores else ""
        regions = " ".join(
            f"{k}={100 * v.wrinkle_ratio:.1f}" for k, v in r.scores.items() if k != "overall"
        )
        status = str(getattr(r.status, "value", r.status))
        colour = "green" if r.ok else "yellow"
        table.add_row(
            plain(o.input),
            f"[{colour}]{status}[/]",
            overall,
            regions,
            f"{r.timings_ms['total']:.0f}",
        )
    make_console().print(table)
