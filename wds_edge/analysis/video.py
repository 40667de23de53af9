"""A video file is one capture: the kiosk session runs over its frames, one fused result.

``wds-edge analyze clip.mp4`` and :func:`analyze_video` play the file into a
:class:`~wds_edge.analysis.session.KioskSession` frame by frame (every frame, in order, as
fast as they decode), stop when the session is done or the file ends, and return the
session's :class:`~wds_edge.analysis.final.FinalResult`: status, fused scores, the frames
used and refused by status, the per-frame spread. Frames without a face or too blurred are
refused like a camera's; a clip without a usable frame gets that status, and a file that
ended before its container's frame count (a truncated copy) carries the warning
``"truncated"`` next to whatever its decodable frames gave.

A file is looked at whole: the capture ends once ``frames_needed`` good frames came (60, the
sharpest 10 fused) or at the file's end, not after the camera's budget of ``max_frames``
(150 frames, five seconds: a person who steps in later is still found). Only a
``max_frames`` the caller sets stops it earlier; when that leaves frames of the file unread
the result carries the warning ``"frames_unread"``. A person who walks away (30 refused
frames in a row) with someone else after them: only the later frames are fused (the
result's ``frames_reset`` counts the earlier); a person who walks away before the file
ends with nobody after: their frames are fused (see :mod:`wds_edge.analysis.session`).
What a long file costs: at most ``5 * frames_fused`` face crops are held (the candidates
for fusion), plus some 6 KB of landmarks per good frame without the asked expression (about
100 MB for ten minutes of a smiling face at 30 fps; frames with it end the capture at
``frames_needed``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import FinalResult
from wds_edge.analysis.session import KioskSession, SessionConfig
from wds_edge.capture.sources import open_source

__all__ = ["VIDEO_SUFFIXES", "TRUNCATED", "FRAMES_UNREAD", "is_video_file", "analyze_video"]

logger = logging.getLogger(__name__)

#: File suffixes analysed as a video (one capture) rather than as an image.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")
#: Warning of a result from a file whose decoder stopped before its frame count.
TRUNCATED = "truncated"
#: Warning of a result whose capture stopped at the ``max_frames`` the caller set, with
#: frames of the file left unread (its good frames may come later in the file).
FRAMES_UNREAD = "frames_unread"


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
        config: the session's settings (``None``: the kiosk defaults). Unless
            ``max_frames`` is set here (or in ``overrides``), the whole file is read: the
            capture ends when ``frames_needed`` good frames came or the file ended.
        rotate: degrees clockwise every frame is turned by before it is analysed (0, 90,
            180, 270): a clip from a camera mounted on its side or upside down.
        **overrides: fields of :class:`SessionConfig` to change, e.g. ``frames_fused=5``.

    Returns:
        The session's :class:`FinalResult` (a status, never an exception, for clips
        without a usable frame); warnings ``"truncated"`` (the file ended before its frame
        count) and ``"frames_unread"`` (``max_frames`` stopped it before the file's end).
        Its ``timings_ms`` adds ``total`` to the session's ``segment`` / ``fuse`` /
        ``score``: the wall time of the whole file's analysis (reading and decoding every
        frame, landmarks and checks on each, then the fused frames' share), as a photo's
        ``total`` includes its decode.

    Raises:
        CaptureError: the file does not exist or no decoder can open it.
        InvalidInputError: bad session settings, or a ``rotate`` other than 0, 90, 180, 270.
    """
    capped = "max_frames" in overrides or (
        config is not None and "max_frames" in config.model_fields_set
    )
    if not capped:  # the file's end ends the capture
        overrides = {**overrides, "max_frames": sys.maxsize}
    session = KioskSession(analyzer, config, **overrides)
    unread = False
    start = time.perf_counter()
    with open_source(Path(path), rotate=rotate) as source:
        for frame in source:
            if session.feed(frame.image_bgr, frame.timestamp_ms).done:
                break
        if session.done and session.good_frames < session.config.frames_needed:
            unread = source.read() is not None  # max_frames ended it, not its good frames
        truncated = bool(getattr(source, "ended_early", False))
    final = session.final_result()
    # the whole file's analysis, as a photo's "total" (decode included): every frame read,
    # located and checked, the fused frames segmented, fused and scored
    final.timings_ms["total"] = (time.perf_counter() - start) * 1000.0
    if unread:
        logger.warning(
            "%s: the capture stopped at max_frames (%d frames) before the file's end: frames "
            "left unread", path, session.config.max_frames,
        )  # fmt: skip
        final.warnings.append(FRAMES_UNREAD)
    if truncated:
        logger.warning("%s ended before its last frame: analysed what decoded", path)
        final.warnings.append(TRUNCATED)
    return final
