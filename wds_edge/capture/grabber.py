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
import weakref
from collections.abc import Callable
from typing import Any

import cv2

from wds_edge.capture.frame import (
    Frame,
    FrameSource,
    GuardedCapture,
    capture_fps,
    capture_size,
    container_frame_count,
    read_file_frame,
    stopped_early,
)
from wds_edge.errors import CaptureError

__all__ = ["ThreadedSource", "SyncLiveSource"]

logger = logging.getLogger(__name__)


class _Grabber:
    """What the grab thread works with: the capture, the newest frame and the counts.

    The thread holds this, not the :class:`ThreadedSource` around it, so a source its
    owner drops without ``close()`` is collected, and its finalizer stops the thread (which
    then releases the capture) instead of the camera or file staying open for good.
    """

    def __init__(
        self,
        uri: str,
        opener: Callable[[], Any],
        cap: Any,
        *,
        finite: bool,
        fps: float | None,
        expected_frames: int | None,
        max_read_failures: int,
        reconnect_backoff_s: tuple[float, float],
    ) -> None:
        self.uri, self.opener, self.cap = uri, opener, cap
        self.finite, self.fps, self.expected_frames = finite, fps, expected_frames
        self.max_failures, self.backoff = max_read_failures, reconnect_backoff_s
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.latest: Frame | None = None
        #: A finite source waits for its first ``read()`` before it starts playing, as a
        #: camera delivers from when the reader is there (its clock starts then, too).
        self.reading = not finite
        self.ended = False
        self.ended_early = False
        self.reconnects = 0
        self.grabbed_frames = 0
        #: The wait before the next reopen attempt: it doubles up to the backoff's max
        #: across attempts that fail and captures that open but give no frame, and starts
        #: over once a capture delivers one.
        self.delay = reconnect_backoff_s[0]
        self.delivered = False  # the current capture gave a frame

    def request_stop(self) -> None:
        """Ask the loop to end (it releases the capture on its way out)."""
        with self.cond:
            self.stop.set()
            self.cond.notify_all()

    def publish(self, frame: Frame) -> None:
        with self.cond:
            self.latest = frame
            self.grabbed_frames += 1
            self.cond.notify_all()

    def run(self) -> None:
        try:
            self._loop()
        finally:
            if self.cap is not None:  # no read of it is running: this is the reading thread
                self.cap.release()
                self.cap = None

    def _wait_for_reader(self) -> None:
        """A file played in real time starts at the first ``read()`` (or a stop): opened
        before a slow model load, it must not play its first seconds to nobody."""
        with self.cond:
            while not self.reading and not self.stop.is_set():
                self.cond.wait()

    def _loop(self) -> None:
        self._wait_for_reader()
        failures, counter, last_ms, start = 0, 0, -1, time.monotonic()
        exhausted = False  # a finite source's decoder gave no more frames (not a close())
        while not self.stop.is_set():
            if self.cap is None and not self.reopen():
                continue
            skipped = 0
            try:
                if self.finite:  # read past undecodable frames, as the plain file source
                    image, skipped = read_file_frame(
                        self.cap, self.uri, counter, self.expected_frames
                    )
                    ok = image is not None
                else:
                    ok, image = self.cap.read()
            except cv2.error as exc:  # a driver error must not kill the grabber thread
                logger.warning("%s: read failed: %s", self.uri, exc)
                ok, image = False, None
            now = time.monotonic()
            if not ok or image is None:
                failures += 1
                if self.finite:
                    exhausted = True
                    break
                if failures >= self.max_failures:
                    # warned once a drop; a capture that opens but never delivers is retried
                    # on the backoff, told at INFO level
                    log = logger.warning if self.delivered or not self.reconnects else logger.info
                    log("%s: no frame in %d reads, reconnecting", self.uri, failures)
                    self.cap.release()
                    self.cap, failures = None, 0
                else:
                    self.stop.wait(0.01)
                continue
            failures = 0
            if not self.delivered:
                self.delivered, self.delay = True, self.backoff[0]
            if self.finite:
                counter += skipped  # the frame's index in the file
                fps = self.fps or 30.0
                due = start + counter / fps  # pace like a camera delivering at fps
                if due > now:
                    self.stop.wait(due - now)
                    now = time.monotonic()
                stamp = max(round(counter * 1000.0 / fps), last_ms + 1)
            else:
                stamp = max(round(now * 1000.0), last_ms + 1)
            last_ms = stamp
            self.publish(Frame(image, counter, now, stamp))
            counter += 1
        early = exhausted and stopped_early(self.uri, counter, self.expected_frames)
        with self.cond:  # ended_early is set before a read() can return the end
            self.ended_early = early
            self.ended = True
            self.cond.notify_all()

    def reopen(self) -> bool:
        """Open the capture again (at once after a capture that delivered frames, else after
        :attr:`delay`), retrying with a growing wait; False when stopped meanwhile."""
        if not self.delivered:  # the last capture opened but gave no frame: not at once
            self._back_off("gave no frame")
        while not self.stop.is_set():
            try:
                cap = self.opener()
            except Exception as exc:  # an opener may raise (e.g. CaptureError); keep trying
                logger.debug("%s: reopen failed: %s", self.uri, exc)
                cap = None
            if cap is not None and cap.isOpened():
                self.cap, self.delivered = cap, False
                self.reconnects += 1
                logger.info("%s: reconnected (reconnect #%d)", self.uri, self.reconnects)
                return True
            if cap is not None:
                cap.release()
            self._back_off("still unavailable")
        return False

    def _back_off(self, why: str) -> None:
        logger.debug("%s: %s, retrying in %.2f s", self.uri, why, self.delay)
        self.stop.wait(self.delay)
        self.delay = min(self.delay * 2.0, self.backoff[1])


class ThreadedSource(FrameSource):
    """Latest-frame grabber on a background thread (cameras, streams, realtime files).

    Args:
        uri: for messages.
        opener: returns an opened ``cv2.VideoCapture``-like object (``read``,
            ``get``, ``release``, ``isOpened``); called again to reconnect.
        finite: a file played in real time: its end is the end of the source, no
            reconnection, frames are paced at ``fps`` from the first :meth:`read` (the
            file starts playing then, not when it is opened) and ``index`` is the file
            position. Like the plain file source, it reads past undecodable frames
            mid-file and has ``expected_frames`` (the container's frame count) and
            ``ended_early`` (the decoder stopped before it: a truncated file), set before
            :meth:`read` returns the end.
        read_timeout_s: how long ``read()`` waits for a newer frame.
        max_read_failures: consecutive failed grabs that count as a dropped camera.
        reconnect_backoff_s: (first, max) wait between reopen attempts; it doubles across
            failed opens and captures that open but give no frame, and starts over at
            ``first`` once a frame came.

    Call :meth:`close` (or use ``with``). A source dropped unclosed stops its thread and
    releases its capture when it is garbage-collected.
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
        self._read_timeout_s = read_timeout_s
        self._handed_index = -1
        self._closed = False
        self.handed_frames = 0
        cap = opener()  # the first open is synchronous: a missing camera fails here
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise CaptureError(f"cannot open {uri}")
        self.fps, self.size = capture_fps(cap), capture_size(cap)
        self.expected_frames = container_frame_count(cap) if finite else None
        self._grab = _Grabber(
            uri, opener, cap, finite=finite, fps=self.fps, expected_frames=self.expected_frames,
            max_read_failures=max_read_failures, reconnect_backoff_s=reconnect_backoff_s,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._grab.run, name=f"grab:{uri}", daemon=True)
        self._thread.start()
        # holds the grabber, not self: collecting an unclosed source stops its thread
        self._stop_grabber = weakref.finalize(self, self._grab.request_stop)

    @property
    def frames_read(self) -> int:
        """Frames decoded so far (handed out or not; for a file: its frames up to here)."""
        return self._grab.grabbed_frames

    @property
    def grabbed_frames(self) -> int:
        """Frames the grabber decoded (handed out or not)."""
        return self._grab.grabbed_frames

    @property
    def dropped_frames(self) -> int:
        """Frames grabbed but never handed out (the consumer was slower)."""
        return self._grab.grabbed_frames - self.handed_frames

    @property
    def reconnects(self) -> int:
        """Times the capture was reopened after it stopped delivering."""
        return self._grab.reconnects

    @property
    def ended_early(self) -> bool:
        """A realtime file's decoder stopped before ``expected_frames`` (set before
        :meth:`read` returns the end)."""
        return self._grab.ended_early

    # -- consumer side ----------------------------------------------------------------------

    @property
    def frame_waiting(self) -> bool:
        """Whether :meth:`read` would return at once: a frame not handed out yet is there, a
        realtime file ended, or the source is closed. Lets a caller whose camera is lost ask
        without waiting ``read_timeout_s`` while the grabber reopens it."""
        grab = self._grab
        with grab.cond:
            latest = grab.latest
            newer = latest is not None and latest.index > self._handed_index
            return newer or grab.ended or self._closed

    def read(self) -> Frame | None:
        """The newest frame not handed out before; blocks up to ``read_timeout_s``.

        Returns None when a realtime file has ended.

        Raises:
            CaptureError: closed, or no new frame within the timeout (camera gone;
                the grabber keeps trying to reconnect, so a later read may succeed).
        """
        grab = self._grab
        deadline = time.monotonic() + self._read_timeout_s
        with grab.cond:
            if not grab.reading:  # a realtime file starts playing now
                grab.reading = True
                grab.cond.notify_all()
            while True:
                if self._closed:
                    raise CaptureError(f"{self.uri}: read() after close()")
                latest = grab.latest
                if latest is not None and latest.index > self._handed_index:
                    break
                if grab.ended:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CaptureError(
                        f"no new frame from {self.uri} within {self._read_timeout_s:.1f} s "
                        f"(camera unplugged or stream stalled? it is being reopened in the "
                        f"background; {grab.reconnects} reconnects so far)"
                    )
                grab.cond.wait(remaining)
            self._handed_index = latest.index
            self.handed_frames += 1
            return latest

    def close(self) -> None:
        """Stop and join the grabber thread, which releases the device. Idempotent."""
        with self._grab.cond:
            if self._closed:
                return
            self._closed = True
        self._stop_grabber()  # once: a later collection does nothing more
        self._thread.join(timeout=10.0)
        if self._thread.is_alive():  # a driver read that never returns; do not hang the app
            logger.warning(
                "%s: grabber thread did not stop within 10 s (it releases the device when "
                "its read returns)",
                self.uri,
            )


class SyncLiveSource(FrameSource):
    """A live device read on the caller's thread (``threaded=False``); frames may be stale.

    One thread reads; :meth:`close` may come from another (the capture is released when a
    read in progress returns, which then raises :class:`CaptureError`)."""

    def __init__(self, uri: str, opener: Callable[[], Any]) -> None:
        self.uri, self.is_live = uri, True
        cap = opener()
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise CaptureError(f"cannot open {uri}")
        self.fps, self.size = capture_fps(cap), capture_size(cap)
        self._cap = GuardedCapture(cap, uri)  # close() may come from another thread
        self._index, self._last_ms = 0, -1

    def read(self) -> Frame | None:
        """The device's next frame.

        Raises:
            CaptureError: no frame (disconnected?), or closed before, or by another thread
                during, this read.
        """
        with self._cap.reading() as cap:
            ok, image = cap.read()
        if not ok or image is None:
            raise CaptureError(f"{self.uri}: the device returned no frame (disconnected?)")
        now = time.monotonic()
        stamp = max(round(now * 1000.0), self._last_ms + 1)
        self._last_ms, index = stamp, self._index
        self._index += 1
        return Frame(image, index, now, stamp)

    def close(self) -> None:
        """Release the device (after the read in progress on another thread, if any)."""
        self._cap.close()
