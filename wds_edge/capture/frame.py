"""Frames and the frame-source interface shared by the URI sources and the grabber."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import CaptureError

__all__ = [
    "Frame",
    "FrameSource",
    "GuardedCapture",
    "capture_fps",
    "capture_size",
    "container_frame_count",
    "read_file_frame",
    "stopped_early",
]

logger = logging.getLogger(__name__)

#: Consecutive undecodable frames of a video file read past before its end is taken as the
#: end (a file cut off gives no frame again, however often it is read).
MAX_SKIPPED_FRAMES = 30


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


class GuardedCapture:
    """A capture that one thread reads while :meth:`close` may come from another.

    Releasing an FFmpeg capture under a read in progress aborts the process (a libavcodec
    assertion) or deadlocks it, so :meth:`close` during a read only marks the capture closed,
    and the reading thread releases it when its read returns (:meth:`reading`); without a
    read in progress :meth:`close` releases it at once. :meth:`close` never waits for a read.
    """

    def __init__(self, cap: Any, uri: str) -> None:
        self._cap: Any = cap
        self._uri = uri
        self._lock = threading.Lock()
        self._reading = False
        self.closed = False

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The capture, for one read (and the ``get`` calls after it) on the reading thread.

        Raises:
            CaptureError: closed before the read, or by another thread during it (the
                capture is released then, and what was read is not handed out).
        """
        with self._lock:
            cap = self._cap
            if cap is None:
                raise CaptureError(f"{self._uri}: read() after close()")
            self._reading = True
        try:
            yield cap
        finally:
            with self._lock:
                self._reading = False
                closed_meanwhile = self.closed
                if closed_meanwhile:
                    self._cap = None
            if closed_meanwhile:
                cap.release()
        if closed_meanwhile:
            raise CaptureError(f"{self._uri}: closed by another thread during read()")

    def close(self) -> None:
        """Release the capture now, or, while a read is in progress, when it returns.
        Idempotent; any thread."""
        with self._lock:
            self.closed = True
            if self._reading or self._cap is None:
                return
            cap, self._cap = self._cap, None
        cap.release()


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


def read_file_frame(
    cap: Any, uri: str, position: int, expected: int | None
) -> tuple[np.ndarray | None, int]:
    """The next frame of a video file that decodes, read past undecodable ones.

    A damaged stretch mid-file (an SD-card glitch) fails a read or a few, and OpenCV goes on
    decoding after them: a failed read before the container's frame count is retried, up to
    :data:`MAX_SKIPPED_FRAMES` times in a row, each failed read passing one frame (a warning
    names how many were skipped).

    Args:
        cap: the opened ``cv2.VideoCapture`` of the file.
        uri: for the warning.
        position: the index in the file of the frame this read is at (frames decoded and
            skipped so far).
        expected: the container's frame count (None: no retry, a failed read is the end).

    Returns:
        ``(image, skipped)``: the frame (at index ``position + skipped``) and the frames
        skipped before it; ``(None, 0)`` at the end (a file cut off fails every read).
    """
    for skipped in range(MAX_SKIPPED_FRAMES + 1):
        ok, image = cap.read()
        if ok and image is not None:
            if skipped:
                logger.warning(
                    "%s: skipped %d undecodable frame(s) before frame %d (a damaged stretch of "
                    "the file)", uri, skipped, position + skipped,
                )  # fmt: skip
            return image, skipped
        if expected is None or position + skipped >= expected - 1:
            break
    return None, 0


def stopped_early(uri: str, reached: int, expected: int | None) -> bool:
    """Whether a video file whose decoder stopped after ``reached`` frames (decoded, or read
    past as undecodable) ended before its container's frame count ``expected`` (a file cut
    off while copying, or truncated while it is read); logs a warning when it did. Call it
    once, when the end is read.

    One frame of slack: some containers count a frame the decoder never returns.
    """
    if expected is None or reached >= expected - 1:
        return False
    logger.warning(
        "%s ended early: %d of %d frames decoded (truncated file?)", uri, reached, expected
    )
    return True
