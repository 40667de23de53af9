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
