"""Frames and the frame-source interface shared by the URI sources and the grabber."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["Frame", "FrameSource", "capture_fps", "capture_size"]


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
        dropped (camera, stream, realtime file).
    """

    uri: str = ""
    fps: float | None = None
    size: tuple[int, int] | None = None
    is_live: bool = False

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
