"""A frame source for the demo that outlives its camera: reconnects, and loops files.

:class:`ReconnectingSource` wraps :func:`wds_edge.capture.sources.open_source`. When a live
source stops delivering (camera unplugged, stream dropped) it closes it and retries
opening it every ``retry_every_s`` seconds; meanwhile :meth:`read` returns None at once
and :attr:`lost` is True, so the display loop can keep showing "camera lost,
reconnecting" instead of freezing. A camera or stream on the background grabber (the
default) is kept open instead: the grabber reopens it itself (its ``reconnect_backoff_s``),
and once a read timed out (``read_timeout_s``), :meth:`read` only checks whether a frame
came, without waiting, until one does. ``max_lost_s`` is checked on every read while lost.

A file source ends normally (or starts over with ``loop=True``, the soak mode); a looped
file that is gone when it should start over (deleted, being replaced) is waited for like a
lost camera, with one warning line, and one that gives no frame in a whole pass (a video
with no frames) raises :class:`CaptureError` instead of being reopened for ever.

Thread contract: one thread reads; :meth:`close` may come from another (the service's
shutdown). A source that an open in progress returns after :meth:`close` is closed at once,
so no grabber thread outlives the close.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from wds_edge.errors import CaptureError

__all__ = ["ReconnectingSource"]

logger = logging.getLogger(__name__)


class ReconnectingSource:
    """Read frames from a source opened by ``opener``; reopen it when it is lost.

    Args:
        opener: returns an opened ``FrameSource`` (``wds_edge.capture.sources.open_source(...)``);
            may raise :class:`CaptureError` while the camera is away.
        live: treat an empty read as a lost camera (reconnect) rather than the end.
            None: ask the opened source (``is_live``).
        loop: for non-live sources, start over at the end instead of finishing. A pass
            that gave no frame at all ends it: :meth:`read` raises :class:`CaptureError`
            ("holds no frames").
        retry_every_s: wait between reconnection attempts (a source on the background
            grabber reconnects itself, on its own ``reconnect_backoff_s``).
        max_lost_s: give up (raise :class:`CaptureError`) after this long without a
            camera; None retries forever (a kiosk).
    """

    def __init__(
        self,
        opener: Callable[[], Any],
        *,
        live: bool | None = None,
        loop: bool = False,
        retry_every_s: float = 1.0,
        max_lost_s: float | None = None,
    ) -> None:
        self._opener = opener
        self._lock = threading.Lock()  # guards _source / _closed against close() elsewhere
        self._closed = False
        self._loop = loop
        self._retry_every_s = retry_every_s
        self._max_lost_s = max_lost_s
        self._source: Any = opener()  # the first open must work: a typo should fail fast
        self.live = bool(self._source.is_live) if live is None else live
        self.lost = False
        #: why the source is lost: the first failure, then the latest failed reopen (None
        #: while it is not lost)
        self.lost_reason: str | None = None
        self.finished = False
        #: A file source stopped before its container's frame count (truncated file);
        #: ``ended_early_detail`` says "N of M frames".
        self.ended_early = False
        self.ended_early_detail = ""
        self.reconnects = 0
        self.loops = 0
        self._frames_this_pass = 0  # frames read since the source was last (re)opened to loop
        self._lost_since = 0.0
        self._next_try = 0.0

    @property
    def source(self) -> Any:
        """The currently open FrameSource (None while lost)."""
        return self._source

    def _mark_lost(self, why: str) -> None:
        what = "camera" if self.live else "source"
        logger.warning("%s lost (%s); reconnecting every %.1f s", what, why, self._retry_every_s)
        self._close_source()
        self.lost = True
        self.lost_reason = why
        self._lost_since = time.monotonic()
        self._next_try = self._lost_since + self._retry_every_s

    def _close_source(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(Exception):
                source.close()

    def _install(self, source: Any) -> bool:
        """Make ``source`` (just opened) the current one; False, and closed at once, when
        :meth:`close` came while it was being opened."""
        with self._lock:
            if not self._closed:
                self._source = source
                return True
        with contextlib.suppress(Exception):
            source.close()
        return False

    def _check_give_up(self) -> None:
        if self._max_lost_s is not None and time.monotonic() - self._lost_since > self._max_lost_s:
            raise CaptureError(
                f"camera did not come back within {self._max_lost_s:.0f} s; check the cable / "
                "stream URL and start the demo again"
            )

    def _try_reconnect(self) -> None:
        self._check_give_up()
        now = time.monotonic()
        if now < self._next_try:
            return
        self._next_try = now + self._retry_every_s
        try:
            source = self._opener()
        except CaptureError as exc:
            logger.info("reconnect failed: %s", exc)
            self.lost_reason = str(exc)
            return
        if not self._install(source):
            return
        self.lost = False
        self.lost_reason = None
        self.reconnects += 1
        what = "camera" if self.live else "source"
        logger.warning("%s reopened (reconnect %d)", what, self.reconnects)

    def read(self) -> Any:
        """The next Frame, or None (lost: check :attr:`lost`; ended: :attr:`finished`).

        Raises:
            CaptureError: a file source failed to read, or a looped one gave no frame
                since it last started over (it holds none); a live one that gives up
                after ``max_lost_s``.
        """
        if self.finished or self._closed:
            return None
        if self.lost and self._source is None:
            self._try_reconnect()
            if self.lost:
                return None
        source = self._source
        if source is None:  # closed meanwhile
            return None
        if self.lost and not getattr(source, "frame_waiting", True):
            # the background grabber is reopening its camera: do not wait read_timeout_s
            # on every call, the display loop goes on and max_lost_s is kept
            self._check_give_up()
            return None
        try:
            frame = source.read()
        except CaptureError as exc:
            if self._closed:  # closed under a read in progress: an end, not an error
                return None
            if not self.live:
                raise
            if hasattr(source, "reconnects"):
                # wds_edge.capture.sources's threaded grabber reopens the device itself: keep it
                # and ask again next time (without waiting: see frame_waiting above).
                if not self.lost:
                    logger.warning("camera lost (%s); waiting for it to come back", exc)
                    self.lost, self._lost_since = True, time.monotonic()
                    self.lost_reason = str(exc)
                self._check_give_up()
            else:
                self._mark_lost(str(exc))
            return None
        if frame is not None:
            self._frames_this_pass += 1
            if self.lost:
                self.lost, self.lost_reason = False, None
                self.reconnects += 1
                logger.warning("camera back (reconnect %d)", self.reconnects)
            return frame
        if getattr(source, "ended_early", False) and not self.ended_early:
            self.ended_early = True
            self.ended_early_detail = f"{source.frames_read} of {source.expected_frames} frames"
        if self.live:
            self._mark_lost("no frame")
        elif self._loop:
            if not self._frames_this_pass:  # reopening would give none again: for ever
                self.finished = True
                self._close_source()
                raise CaptureError(
                    f"{getattr(source, 'uri', 'the source')} holds no frames, so it cannot be "
                    "looped: check that it is a video with frames (ffprobe FILE) or record it "
                    "again"
                )
            self._frames_this_pass = 0
            self._close_source()
            try:
                source = self._opener()
            except CaptureError as exc:  # the file went away: wait for it like a camera
                self._mark_lost(str(exc))
                return None
            if not self._install(source):
                return None
            self.loops += 1
            try:
                frame = source.read()
            except CaptureError:
                if self._closed:  # closed between the reopen and its first read
                    return None
                raise
            if frame is not None:
                self._frames_this_pass += 1
            return frame
        else:
            self.finished = True
        return None

    def close(self) -> None:
        """Close the current source; later reads return None. Idempotent; may be called from
        another thread than the reader's."""
        with self._lock:
            self._closed = True
        self.finished = True
        self._close_source()

    def __enter__(self) -> ReconnectingSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
