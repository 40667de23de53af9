"""`wds-edge demo`: the live camera demo (window, or headless recording for CI / remote kiosks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from wds_edge._checks import is_digits
from wds_edge.cli.options import (
    DEVICE_HELP,
    PRECISION_HELP,
    ROTATE_HELP,
    THRESHOLD_HELP,
    check_rotate,
    check_threshold,
)

if TYPE_CHECKING:
    from rich.console import Console

    from wds_edge.demo.config import DemoSummary

#: ``DemoSummary.stopped_by`` of a run a stop signal ended (see ``demo.loop.STOP_SIGNALS``).
STOP_SIGNAL_NAMES = ("SIGINT", "SIGTERM")


def demo_cmd(
    ctx: typer.Context,
    source: str = typer.Option(
        "0",
        "--source",
        "-s",
        help="Camera index (0), v4l2:///dev/video0, csi://0, rtsp://..., or a video file.",
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="ONNX model from `wds-edge export`; omit for the bundled one."
    ),
    backend: str = typer.Option("auto", help="auto | onnxruntime | openvino | tensorrt."),
    precision: str = typer.Option(
        "auto",
        help=PRECISION_HELP,
    ),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    landmarker: Path | None = typer.Option(
        None, help="face_landmarker.task (default: $WDS_EDGE_FACE_LANDMARKER or the user cache)."
    ),
    threads: int | None = typer.Option(
        None,
        min=1,
        help="ONNX Runtime intra-op threads (default: all cores with --sync; in the two-stage "
        "pipeline one fewer, so the landmarks keep a core).",
    ),
    threshold: float | None = typer.Option(None, help=THRESHOLD_HELP),
    headless: bool = typer.Option(
        False,
        "--headless",
        help="No window: use with --record, --jsonl, --screenshot and/or --summary-json.",
    ),
    record: Path | None = typer.Option(
        None,
        help="Write the annotated video (.mp4 or .avi). It plays in real time: where frames "
        "are dropped (a camera, --realtime) each shown frame repeats until the next one.",
    ),
    jsonl: Path | None = typer.Option(None, help="Write one JSON line per frame."),
    max_frames: int | None = typer.Option(
        None, min=1, help="Stop after N frames (with --loop: a soak test of N frames)."
    ),
    realtime: bool | None = typer.Option(
        None,
        "--realtime/--no-realtime",
        help="On a video file, drop frames like a camera would (default: on with a window, "
        "off headless, where every frame is processed).",
    ),
    sync: bool | None = typer.Option(
        None,
        "--sync/--async",
        help="Run landmarks and segmentation one after the other on the display loop (--sync) "
        "or as a two-stage pipeline on two threads (--async, the default). Either way every "
        "good frame is segmented.",
    ),
    loop: bool = typer.Option(False, "--loop", help="Start a video file over at its end."),
    rotate: int = typer.Option(0, "--rotate", help=ROTATE_HELP),
    screenshot: Path | None = typer.Option(
        None,
        help="Save the displayed image once, after --screenshot-after frames (.png, .jpg, ...); "
        "a run that ends sooner saves its last frame.",
    ),
    screenshot_after: int = typer.Option(30, min=1, help="Frames before --screenshot is taken."),
    snapshot_dir: Path = typer.Option(
        Path("wds_snapshots"), help="Folder for snapshots (key s): frame, overlay PNG, JSON."
    ),
    summary_json: Path | None = typer.Option(None, help="Write the run summary as JSON."),
) -> None:
    """Live demo: wrinkle overlay, region scores, kiosk prompt, FPS and stage times.

    Keys in the window: q / Esc quit, s snapshot, space start a capture session, b start a
    capture with raised brows (forehead and glabella lines). Ctrl-C or SIGTERM stop the run
    the same way: the outputs are finished, the summary printed and written (exit code 0);
    pressing Ctrl-C again meanwhile only logs a line.
    A snapshot that cannot be saved is a warning (banner, summary); the run goes on, as it
    does after a capture whose frames cannot be fused (a new capture can start).
    Exit code 1 when a video file ended before its frame count (truncated file) or the
    source failed for good (a camera that did not come back, a looped file without frames);
    2 for a usage error, found before the model loads: no display for the window (run with
    --headless), an output that names the --source or another output, or one that cannot be
    written (--record, --jsonl, --screenshot, --summary-json, --snapshot-dir); and 2 when
    the recording or the JSON lines cannot be written during the run (a recording OpenCV
    cannot encode fails at its first frame; a full disk when it fills): the run's outputs
    are dropped, an earlier file at their names stays as it was.
    """
    from wds_edge.analysis.analyzer import AnalyzerConfig
    from wds_edge.cli.console import make_console
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge.demo.app import DemoConfig, run_demo
    from wds_edge.demo.loop import IgnoreStopSignals
    from wds_edge.demo.outputs import (
        check_distinct_outputs,
        check_record_path,
        check_screenshot_path,
    )
    from wds_edge.errors import InvalidInputError
    from wds_edge.io import ensure_writable_file

    outputs = (record, jsonl, screenshot, summary_json)
    if headless and all(path is None for path in outputs):
        raise InvalidInputError(
            "--headless shows nothing: add --record out.mp4, --jsonl out.jsonl, --screenshot "
            "shot.png and/or --summary-json summary.json"
        )
    if not headless:
        from wds_edge.demo.ui import check_can_open_window

        check_can_open_window()  # no display: exit 2 with the --headless hint, nothing loaded
    check_threshold(threshold)
    check_rotate(rotate)
    # the names first, before any folder is made or anything loads
    if record is not None:
        check_record_path(record)
    if screenshot is not None:
        check_screenshot_path(screenshot)
    check_distinct_outputs(
        source if not is_digits(source) else None,
        {"--record": record, "--jsonl": jsonl, "--screenshot": screenshot,
         "--summary-json": summary_json},
    )  # fmt: skip
    for path, what in ((record, "video"), (jsonl, "JSON lines"), (summary_json, "summary")):
        if path is not None:
            ensure_writable_file(path, what)
    if screenshot is not None:
        ensure_writable_file(screenshot, "screenshot")
    if not headless:  # the s key saves there; made only if needed, removed again if unused
        claim_output_dir(ctx, snapshot_dir, "snapshots (--snapshot-dir)")

    cfg = DemoConfig(
        source=int(source) if is_digits(source) else source,  # a string: URIs stay intact
        analyzer=AnalyzerConfig(
            model_path=None if model is None else str(model),
            backend=backend,
            precision=precision,
            device=device,
            landmarker_path=None if landmarker is None else str(landmarker),
            num_threads=threads,
            threshold=threshold,
            video_mode=True,
        ),
        headless=headless,
        record_path=record,
        jsonl_path=jsonl,
        max_frames=max_frames,
        realtime=realtime,
        sync=sync,
        loop=loop,
        rotate=rotate,
        screenshot_path=screenshot,
        screenshot_after_frames=screenshot_after,
        snapshot_dir=snapshot_dir,
    )
    console = make_console(stderr=True)
    stop = "Ctrl-C to stop" if headless else "q / Esc in the window to stop"
    # a Ctrl-C pressed again after the run (while its summary is printed and written, and the
    # process exits) is only logged: the outputs are finished, the exit code stays
    with IgnoreStopSignals() as late_signals:
        with console.status(f"running the demo ({stop})", spinner="dots"):
            summary = run_demo(cfg)
        late_signals.keep_ignoring = summary.stopped_by in STOP_SIGNAL_NAMES
        _report(console, summary, summary_json)


def _report(console: Console, summary: DemoSummary, summary_json: Path | None) -> None:
    """Print the run's summary, write --summary-json; exit 1 for a source that failed or a
    video that ended early."""
    from wds_edge.io import write_json_atomic

    data = summary.to_dict()
    console.print(
        f"{summary.frames} frames in {summary.duration_s:.1f} s: display {summary.display_fps:.1f} "
        f"FPS, segmentation {summary.segmentation_hz:.1f} updates/s, statuses "
        f"{summary.status_counts}, RSS {summary.rss_mb} MiB, reconnects {summary.reconnects}"
    )
    if summary.stopped_by:
        console.print(f"stopped by {summary.stopped_by}", markup=False)
    for kind, path in summary.outputs.items():
        note = ""
        if kind == "video" and summary.recording.get("timed"):
            rec = summary.recording
            note = (
                f" ({rec['video_frames']} frames at {rec['fps']:g} fps, real time: "
                f"{rec['repeated']} repeat the frame shown before them)"
            )
        console.print(f"wrote {kind}: {path}{note}", markup=False)
    if summary_json is not None:
        console.print(f"wrote summary: {write_json_atomic(summary_json, data)}", markup=False)
    if summary.source_error:
        console.print(
            f"the source failed, so the demo stopped: {summary.source_error}",
            style="red",
            markup=False,
        )
        raise typer.Exit(1)
    if summary.ended_early:
        console.print(
            f"[red]the video ended early ({summary.ended_early} decoded): the file is "
            "truncated or was cut while it was read[/]"
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `demo` to `app`."""
    app.command("demo")(demo_cmd)
