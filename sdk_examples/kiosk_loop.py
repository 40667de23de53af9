"""A kiosk loop: camera -> KioskSession -> prompts on screen -> one final result.

Usage:
    python sdk_examples/kiosk_loop.py [--source 0 | clip.mp4 | v4l2:///dev/video0]
                                      [--model MODEL.onnx] [--show] [--out DIR]

The UI callbacks here print; a real kiosk would update its screen or speak. The session
asks a smiling face to relax ("please don't smile") and, when no neutral frame comes within
``--max-frames``, fuses the least expressive frames and says so (warning ``not_neutral``).
Exit code 0 when the session gave a result (see :func:`main`), 1 when it found no usable face.
With ``--show`` an OpenCV window shows the live overlay (q quits; it needs a display:
without one the example says so and exits 2 before the model loads). With ``--out`` the final
result is saved as result.json + result_overlay.png (the fused mask on the face crop).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from wds_edge import (
    KioskSession,
    SessionConfig,
    WdsEdgeError,
    WrinkleAnalyzer,
    draw_crop_overlay,
    draw_overlay,
)
from wds_edge.capture import open_source, require_local_source
from wds_edge.io import ensure_writable_dir, write_image_atomic, write_json_atomic


class ConsoleUI:
    """Stand-in for the kiosk's screen: prints what a real UI would show."""

    def show_prompt(self, prompt: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] prompt: {prompt}", flush=True)

    def show_progress(self, good_frames: int, needed: int) -> None:
        print(f"  collected {good_frames}/{needed} good frames", flush=True)


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (``--every 0`` would divide by zero)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 a result (status ``ok``; saved with --out), also one that fused fewer
    than --frames-fused frames (the summary's ``complete`` is then false, and it is the
    noisier for it); 1 the session ended without one (no usable face: its ``status`` says
    why); 2 bad input: an option, the model, the source or --out (one line on stderr)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="0", help="camera index, device, stream or video file")
    parser.add_argument("--model", default=None, help="wds-edge .onnx model (default: bundled)")
    parser.add_argument("--landmarker", default=None, help="face_landmarker.task")
    parser.add_argument(
        "--frames-needed",
        type=positive_int,
        default=60,
        help="good neutral frames (at least --frames-fused)",
    )
    parser.add_argument(
        "--frames-fused", type=positive_int, default=10, help="sharpest frames fused"
    )
    parser.add_argument("--max-frames", type=positive_int, default=150)
    parser.add_argument("--every", type=positive_int, default=1, help="use every n-th frame")
    parser.add_argument("--show", action="store_true", help="show a live window (needs a display)")
    parser.add_argument("--out", default=None, help="folder for the final result")
    args = parser.parse_args(argv)  # a bad option: usage and exit 2
    try:
        return run(args)
    except WdsEdgeError as exc:  # settings, a model, source or folder that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """The session on the source, as the command line asked; the exit code.

    Raises:
        WdsEdgeError: a setting out of range (InvalidInputError), the model, the source or
            --out cannot be used.
    """
    if args.show:  # before the model loads: without a display, OpenCV would abort the process
        from wds_edge.demo import check_can_open_window

        try:  # the advice in this example's own words, not the demo's
            check_can_open_window(
                instead="leave out --show", command="python sdk_examples/kiosk_loop.py --show ..."
            )
        except WdsEdgeError as exc:  # no GUI toolkit (opencv-python-headless), no display
            print(f"error: --show: {exc}", file=sys.stderr)
            return 2
    require_local_source(args.source)  # a missing file: one line, before the model loads
    ui = ConsoleUI()
    config = SessionConfig(
        frames_needed=args.frames_needed,
        frames_fused=args.frames_fused,
        max_frames=args.max_frames,
    )
    with (
        WrinkleAnalyzer(
            model_path=args.model, landmarker_path=args.landmarker, video_mode=True
        ) as analyzer,
        open_source(args.source) as source,
    ):
        # --out once the model and the source opened (a refused one leaves no empty folder
        # behind), and before the session (a bad --out is not found after it)
        if args.out:
            ensure_writable_dir(args.out, "final result")
        session = KioskSession(analyzer, config, on_prompt=ui.show_prompt)
        last_good = 0
        for frame in source:
            if frame.index % args.every:
                continue
            update = session.feed(frame.image_bgr, frame.timestamp_ms)
            if update.good_frames != last_good:
                last_good = update.good_frames
                ui.show_progress(update.good_frames, config.frames_needed)
            if args.show and update.result is not None:
                import cv2

                cv2.imshow("wds-edge kiosk", draw_overlay(frame.image_bgr, update.result))
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
            if update.done:
                break
        final = session.final_result()  # fusing runs the model: before the analyzer closes
    summary = {k: v for k, v in final.to_dict().items() if k != "frame"}
    print(json.dumps(summary, indent=2))
    if args.out and final.result is not None:
        write_json_atomic(f"{args.out}/result.json", final.to_dict())
        crop = final.result.face_crop
        if crop is not None and final.ok:
            overlay = draw_crop_overlay(crop.crop_rgb[:, :, ::-1].copy(), final.result)
            write_image_atomic(f"{args.out}/result_overlay.png", overlay)
        print(f"saved the final result in {args.out}")
    return 0 if final.ok else 1


if __name__ == "__main__":
    sys.exit(main())
