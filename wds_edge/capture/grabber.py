"""Live frame sources: a background latest-frame grabber with reconnection, and a plain one.

Used by :func:`wds_edge.capture.sources.open_source` for cameras, streams and files
played in real time. The grabber never hands out a frame twice, blocks until a
newer one arrives, stamps monotonic capture times and reopens a camera that
stopped delivering (bounded exponential backoff).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2

from wds_edge.capture.frame import (
    Frame,
    FrameSource,
    capture_fps,
    capture_size,
    container_frame_count,
    stopped_early,
)
from wds_edge.errors import CaptureError

__all__ = ["ThreadedSource", "SyncLiveSource"]

logger = logging.getLogger(__name__)


class ThreadedSource(FrameSource):
    """Latest-frame grabber on a background thread (cameras, streams, realtime files).

    Args:
        uri: for messages.
        opener: returns an opened ``cv2.VideoCapture``-like object (``read``,
            ``get``, ``release``, ``isOpened``); called again to reconnect.
        finite: a file played in real time: its end is the end of the source, no
            reconnection, frames are paced at ``fps`` and ``index`` is the file
            position. Like the plain file source, it has ``expected_frames`` (the
            container's frame count) and ``ended_early`` (the decoder stopped before it:
            a truncated file), set before :meth:`read` returns the end.
        read_timeout_s: how long ``read()`` waits for a newer frame.
        max_read_failures: consecutive failed grabs that count as a dropped camera.
        reconnect_backoff_s: (first, max) wait between reopen attempts.
    """

    def __init__(
        self,
        uri: str,
        opener: Callable[[], Any],
        *,
        finite: bool = False,
        read_timeout_s: float = 5.0,
        max_read_failures: int = 5,
        reconnect_backoff_s: tuple[float, float] = (0.1, 2.0),
    ) -> None:
        self.uri, self.is_live = uri, True
        self._opener, self._finite = opener, finite
        self._read_timeout_s, self._max_failures = read_timeout_s, max_read_failures
        self._backoff = reconnect_backoff_s
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._handed_index = -1
        self._ended = False
        self._closed = False
        self.reconnects = 0
        self.grabbed_frames = 0
        self.handed_frames = 0
        self._cap = opener()  # the first open is synchronous: a missing camera fails here
        if self._cap is None or not self._cap.isOpened():
            if self._cap is not None:
                self._cap.release()
            raise CaptureError(f"cannot open {uri}")
        self.fps, self.size = capture_fps(self._cap), capture_size(self._cap)
        self.expected_frames = container_frame_count(self._cap) if finite else None
        self.ended_early = False
        self._thread = threading.Thread(target=self._grab_loop, name=f"grab:{uri}", daemon=True)
        self._thread.start()

    @property
    def frames_read(self) -> int:
        """Frames decoded so far (handed out or not; for a file: its frames up to here)."""
        return self.grabbed_frames

    @property
    def dropped_frames(self) -> int:
        """Frames grabbed but never handed out (the consumer was slower)."""
        return self.grabbed_frames - self.handed_frames

    # -- grabber thread ---------------------------------------------------------------------

    def _publish(self, frame: Frame) -> None:
        with self._cond:
            self._latest = frame
            self.grabbed_frames += 1
            self._cond.notify_all()

    def _grab_loop(self) -> None:
        failures, counter, last_ms, start = 0, 0, -1, time.monotonic()
        exhausted = False  # a finite source's decoder gave no more frames (not a close())
        while not self._stop.is_set():
            if self._cap is None and not self._reopen():
                continue
            try:
                ok, image = self._cap.read()
            except cv2.error as exc:  # a driver error must not kill the grabber thread
                logger.warning("%s: read failed: %s", self.uri, exc)
                ok, image = False, None
            now = time.monotonic()
            if not ok or image is None:
                failures += 1
                if self._finite:
                    exhausted = True
                    break
                if failures >= self._max_failures:
                    logger.warning("%s: no frame in %d reads, reconnecting", self.uri, failures)
                    self._cap.release()
                    self._cap, failures = None, 0
                else:
                    self._stop.wait(0.01)
                continue
            failures = 0
            if self._finite:
                counter = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1
                fps = self.fps or 30.0
                due = start + counter / fps  # pace like a camera delivering at fps
                if due > now:
                    self._stop.wait(due - now)
                    now = time.monotonic()
                stamp = max(round(counter * 1000.0 / fps), last_ms + 1)
            else:
                stamp = max(round(now * 1000.0), last_ms + 1)
            last_ms = stamp
            self._publish(Frame(image, counter, now, stamp))
            if not self._finite:
                counter += 1
        early = exhausted and stopped_early(self.uri, self.grabbed_frames, self.expected_frames)
        with self._cond:  # ended_early is set before a read() can return the end
            self.ended_early = early
            self._ended = True
            self._cond.notify_all()

    def _reopen(self) -> bool:
        delay = self._backoff[0]
        while not self._stop.is_set():
            try:
                cap = self._opener()
            except Exception as exc:  # an opener may raise (e.g. CaptureError); keep trying
                logger.debug("%s: reopen failed: %s", self.uri, exc)
                cap = None
            if cap is not None and cap.isOpened():
                self._cap = cap
                self.reconnects += 1
                logger.info("%s: reconnected (reconnect #%d)", self.uri, self.reconnects)
                return True
            if cap is not None:
                cap.release()
            logger.debug("%s: still unavailable, retrying in %.2f s", self.uri, delay)
            self._stop.wait(delay)
            delay = min(delay * 2.0, self._backoff[1])
        return False

    # -- consumer side ----------------------------------------------------------------------

    def read(self) -> Frame | None:
        """The newest frame not handed out before; blocks up to ``read_timeout_s``.

        Returns None when a realtime file has ended.

        Raises:
            CaptureError: closed, or no new frame within the timeout (camera gone;
                the grabber keeps trying to reconnect, so a later read may succeed).
        """
        deadline = time.monotonic() + self._read_timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise CaptureError(f"{self.uri}: read() after close()")
                latest = self._latest
                if latest is not None and latest.index > self._handed_index:
                    break
                if self._ended:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CaptureError(
                        f"no new frame from {self.uri} within {self._read_timeout_s:.1f} s "
                        f"(camera unplugged or stream stalled? it is being reopened in the "
                        f"background; {self.reconnects} reconnects so far)"
                    )
                self._cond.wait(remaining)
            self._handed_index = latest.index
            self.handed_frames += 1
            return latest

    def close(self) -> None:
        """Stop and join the grabber thread, release the device. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            self._cond.notify_all()
        self._thread.join(timeout=10.0)
        if self._thread.is_alive():  # a driver read that never returns; do not hang the app
            logger.warning("%s: grabber thread did not stop within 10 s", self.uri)
        elif self._cap is not None:
            self._cap.release()
            self._cap = None


class SyncLiveSource(FrameSource):
    """A live device read on the caller's thread (``threaded=False``); frames may be stale."""

    def __init__(self, uri: str, opener: Callable[[], Any]) -> None:
        self.uri, self.is_live = uri, True
        self._cap = opener()
        if self._cap is None or not self._cap.isOpened():
            raise CaptureError(f"cannot open {uri}")
        self.fps, self.size = capture_fps(self._cap), capture_size(self._cap)
        self._index, self._last_ms = 0, -1

    def read(self) -> Frame | None:
        if self._cap is None:
            raise CaptureError(f"{self.uri}: read() after close()")
        ok, image = self._cap.read()
        if not ok or image is None:
            raise CaptureError(f"{self.uri}: the device returned no frame (disconnected?)")
        now = time.monotonic()
        stamp = max(round(now * 1000.0), self._last_ms + 1)
        self._last_ms, index = stamp, self._index
        self._index += 1
        return Frame(image, index, now, stamp)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
