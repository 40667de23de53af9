"""Frames and the frame-source interface shared by the URI sources and the grabber."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = [
    "Frame",
    "FrameSource",
    "capture_fps",
    "capture_size",
    "container_frame_count",
    "stopped_early",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class Frame:
    """One frame from a :class:`FrameSource`.

    Attributes:
        image_bgr: (H, W, 3) uint8 BGR.
        index: frame number: position in the file for files and images, grab
            counter for cameras; strictly increasing (gaps = dropped frames).
        capture_time_s: ``time.monotonic()`` when the frame was grabbed.
        timestamp_ms: strictly increasing ms: media position for files, capture
            time for cameras (for MediaPipe VIDEO mode).
    """

    image_bgr: np.ndarray
    index: int
    capture_time_s: float
    timestamp_ms: int


class FrameSource:
    """Base of all sources: iterate, ``read()``, ``close()`` (idempotent), context manager.

    Attributes:
        uri: what was opened. fps: nominal frames per second (None if unknown).
        size: (width, height) of the frames (None until known). is_live: frames can be
        dropped (camera, stream, realtime file). expected_frames: a video file's
        container frame count (None: not a file, or the container has none).
        ended_early: a video file's decoder stopped before ``expected_frames`` (a
        truncated file); set when the end was read.
    """

    uri: str = ""
    fps: float | None = None
    size: tuple[int, int] | None = None
    is_live: bool = False
    expected_frames: int | None = None
    ended_early: bool = False

    def read(self) -> Frame | None:
        """The next frame, or None when a finite source is exhausted."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device/file. Safe to call more than once."""

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r}, fps={self.fps}, size={self.size})"


def capture_size(cap: Any) -> tuple[int, int] | None:
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return (width, height) if width > 0 and height > 0 else None


def capture_fps(cap: Any) -> float | None:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    return fps if 0.0 < fps < 1000.0 else None


def container_frame_count(cap: Any) -> int | None:
    """The frame count a video file's container declares (None if it declares none)."""
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return count if count > 0 else None


def stopped_early(uri: str, decoded: int, expected: int | None) -> bool:
    """Whether a video file whose decoder stopped after ``decoded`` frames ended before its
    container's frame count ``expected`` (a file cut off while copying, or truncated while
    it is read); logs a warning when it did. Call it once, when the end is read.

    One frame of slack: some containers count a frame the decoder never returns.
    """
    if expected is None or decoded >= expected - 1:
        return False
    logger.warning(
        "%s ended early: %d of %d frames decoded (truncated file?)", uri, decoded, expected
    )
    return True
