"""ReconnectingSource closed from another thread: nothing it opens afterwards stays open."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import open_source


def _short_clip(path: Path, frames: int = 3) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path


def _grabbers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("grab:") and t.is_alive()]


def test_a_loop_reopen_that_finishes_after_close_is_closed(tmp_path: Path) -> None:
    """The service stops while the capture thread is reopening a looping file: the source
    that open returns after close() must be closed, not left with a running grabber."""
    clip = _short_clip(tmp_path / "clip.avi")
    in_open, release = threading.Event(), threading.Event()
    opened: list = []

    def opener():
        if opened:  # the loop's reopen: park here until the test has called close()
            in_open.set()
            release.wait(10)
        source = open_source(str(clip), realtime=True)
        opened.append(source)
        return source

    before = set(_grabbers())
    src = ReconnectingSource(opener, live=False, loop=True)
    reader = threading.Thread(target=lambda: [src.read() for _ in range(10)], name="reader")
    reader.start()
    assert in_open.wait(10), "the reader never reached the loop's reopen"
    src.close()
    release.set()
    reader.join(10)
    assert not reader.is_alive()
    assert len(opened) == 2
    assert src.source is None and src.finished
    assert src.read() is None  # closed stays closed: no third open
    assert len(opened) == 2
    left = [t.name for t in _grabbers() if t not in before]
    assert not left, f"grabber threads left running after close(): {left}"


def test_close_under_a_waiting_read_ends_it_without_an_error(tmp_path: Path) -> None:
    """A realtime file at 1 fps: the reader waits ~1 s inside read() for the next frame;
    close() from another thread must end that read with None, not a CaptureError."""
    clip = tmp_path / "slow.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 1.0, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 50 * i, np.uint8))
    writer.release()
    src = ReconnectingSource(lambda: open_source(str(clip), realtime=True), live=False, loop=True)
    assert src.read() is not None  # frame 0; frame 1 is due a second later
    outcome: list = []

    def reader() -> None:
        try:
            outcome.append(src.read())
        except Exception as exc:  # noqa: BLE001 - the test reports what escaped
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive(), "read() should still be waiting for the 1 fps frame"
    src.close()
    thread.join(5)
    assert outcome == [None]
