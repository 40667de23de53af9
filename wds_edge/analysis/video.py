"""A video file is one capture: the kiosk session runs over its frames, one fused result.

``wds-edge analyze clip.mp4`` and :func:`analyze_video` play the file into a
:class:`~wds_edge.analysis.session.KioskSession` frame by frame (every frame, in order, as
fast as they decode), stop when the session is done or the file ends, and return the
session's :class:`~wds_edge.analysis.final.FinalResult`: status, fused scores, the frames
used and refused by status, the per-frame spread. Frames without a face or too blurred are
refused like a camera's; a clip without a usable frame gets that status, and a file that
ended before its container's frame count (a truncated copy) carries the warning
``"truncated"`` next to whatever its decodable frames gave.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import FinalResult
from wds_edge.analysis.session import KioskSession, SessionConfig
from wds_edge.capture.sources import open_source

__all__ = ["VIDEO_SUFFIXES", "TRUNCATED", "is_video_file", "analyze_video"]

logger = logging.getLogger(__name__)

#: File suffixes analysed as a video (one capture) rather than as an image.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")
#: Warning of a result from a file whose decoder stopped before its frame count.
TRUNCATED = "truncated"


def is_video_file(path: str | os.PathLike[str]) -> bool:
    """True for a path whose suffix names a video container (:data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def analyze_video(
    analyzer: WrinkleAnalyzer,
    path: str | os.PathLike[str],
    config: SessionConfig | None = None,
    *,
    rotate: int = 0,
    **overrides: Any,
) -> FinalResult:
    """Run a kiosk session over a video file and return its one fused result.

    Args:
        analyzer: an open :class:`WrinkleAnalyzer` (``video_mode=True`` tracks the face
            between frames; image mode detects it in every frame, also fine).
        path: the video file.
        config: the session's settings (``None``: the kiosk defaults).
        rotate: degrees clockwise every frame is turned by before it is analysed (0, 90,
            180, 270): a clip from a camera mounted on its side or upside down.
        **overrides: fields of :class:`SessionConfig` to change, e.g. ``frames_fused=5``.

    Returns:
        The session's :class:`FinalResult` (a status, never an exception, for clips
        without a usable frame).

    Raises:
        CaptureError: the file does not exist or no decoder can open it.
        InvalidInputError: bad session settings, or a ``rotate`` other than 0, 90, 180, 270.
    """
    session = KioskSession(analyzer, config, **overrides)
    with open_source(Path(path), rotate=rotate) as source:
        for frame in source:
            if session.feed(frame.image_bgr, frame.timestamp_ms).done:
                break
        truncated = bool(getattr(source, "ended_early", False))
    final = session.final_result()
    if truncated:
        logger.warning("%s ended before its last frame: analysed what decoded", path)
        final.warnings.append(TRUNCATED)
    return final
