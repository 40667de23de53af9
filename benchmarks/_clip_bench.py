"""What the per-frame benchmarks on the kiosk clip share: their options, the analyzer they
time (one inference thread, video mode) and the header of their tables (CPU, load)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

__all__ = ["REPO_ROOT", "clip_parser", "clip_analyzer", "positive_int", "print_header"]


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number >= 1 (anything else: exit 2 with the reason)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def clip_parser(doc: str, frames: int) -> argparse.ArgumentParser:
    """``--model --backend --video --landmarker --frames`` (defaults: the bundled model,
    ONNX Runtime, the shared kiosk clip and landmarker, ``frames`` clip frames with a face)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="ONNX model (default: the bundled one)")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument(
        "--video", default=str(REPO_ROOT.parent / "shared/data/video/portrait_motion_720p.mp4")
    )
    parser.add_argument(
        "--landmarker", default=str(REPO_ROOT.parent / "shared/models/face_landmarker.task")
    )
    parser.add_argument(
        "--frames", type=positive_int, default=frames, help="clip frames with a face (>= 1)"
    )
    return parser


def clip_analyzer(args: argparse.Namespace, **extra: Any) -> Any:
    """The :class:`WrinkleAnalyzer` the options name: one inference thread, video mode."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    return WrinkleAnalyzer(
        model_path=args.model, backend=args.backend, landmarker_path=args.landmarker,
        num_threads=1, video_mode=True, **extra,
    )  # fmt: skip


def print_header(env: dict[str, Any], load_start: float) -> None:
    """The machine (:func:`~wds_edge.bench.environment.environment_report`) and the load
    average at the start and now."""
    from wds_edge.bench.environment import format_environment

    print(f"# {format_environment(env)}")
    print(f"# load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
