"""ReconnectingSource closed from another thread: nothing it opens afterwards stays open;
a looped video without frames ends with an error instead of being reopened for ever."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import mjpg_avi

from wds_edge.capture.grabber import ThreadedSource
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import open_source
from wds_edge.errors import CaptureError


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


def _no_frames(path: Path) -> Path:
    """A real AVI with a header and no frame (a recording stopped before its first)."""
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240)).release()
    return path


@pytest.mark.parametrize("realtime", [False, True])
def test_looping_a_video_without_frames_ends_with_an_error(tmp_path: Path, realtime: bool) -> None:
    """It was reopened for ever (thousands of reopens a second, the demo never ended)."""
    empty = _no_frames(tmp_path / "zero.avi")
    opens: list[int] = []

    def opener():
        opens.append(1)
        return open_source(str(empty), realtime=realtime)

    src = ReconnectingSource(opener, live=False, loop=True)
    with pytest.raises(CaptureError, match="zero.avi holds no frames, so it cannot be looped"):
        for _ in range(10):
            assert src.read() is None
    assert len(opens) == 1 and src.finished and src.source is None
    assert src.read() is None  # ended stays ended


def test_a_loop_ends_when_its_file_is_replaced_by_one_without_frames(tmp_path: Path) -> None:
    clip = _short_clip(tmp_path / "clip.avi", frames=3)
    src = ReconnectingSource(lambda: open_source(str(clip)), live=False, loop=True)
    frames = [src.read() for _ in range(7)]  # 3 + 3 + 1: two loops, every read a frame
    assert all(f is not None for f in frames) and src.loops == 2
    _no_frames(clip)  # the next pass opens a file with no frame
    with pytest.raises(CaptureError, match="holds no frames"):
        for _ in range(10):
            src.read()
    assert src.loops == 3


def test_a_file_without_frames_played_once_just_ends(tmp_path: Path) -> None:
    src = ReconnectingSource(lambda: open_source(str(_no_frames(tmp_path / "z.avi"))), loop=False)
    assert src.read() is None and src.finished


def test_demo_looping_a_video_without_frames_ends(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    onnx_model_path: Path,
    landmarker_path: Path,
) -> None:
    """`wds-edge demo --headless --source zero.avi --loop` never ended. Now the source's
    error stops the pipeline, which logs it, and the demo says why it stopped and exits 1
    (it exited 0, as if the clip had played)."""
    from fault_helpers import run_cli

    empty = _no_frames(tmp_path / "zero.avi")
    argv = ["demo", "--headless", "--source", empty, "--loop", "--jsonl", tmp_path / "f.jsonl",
            "--model", onnx_model_path, "--landmarker", landmarker_path,
            "--backend", "onnxruntime"]  # fmt: skip
    result: list[tuple[int, str, str]] = []
    # in a thread: a regression fails the test instead of hanging the suite
    demo = threading.Thread(target=lambda: result.append(run_cli(capsys, *argv)), daemon=True)
    demo.start()
    demo.join(120)
    assert not demo.is_alive(), "the demo still loops a video without frames after 120 s"
    ((code, _, err),) = result
    assert "0 frames" in err, err
    assert code == 1 and "the source failed, so the demo stopped" in err, (code, err)
    assert "holds no frames" in err, err
    assert any("zero.avi holds no frames" in r.getMessage() for r in caplog.records)


def test_a_lost_camera_on_the_grabber_does_not_block_each_read(
    video_path: Path, tmp_path: Path
) -> None:
    """Once the grabber's read timed out, every read() waited read_timeout_s again (5 s by
    default) while the grabber reopened the camera, so max_lost_s was overshot and the display
    froze. Now a lost camera's read returns None at once, until a frame comes or max_lost_s."""
    link = tmp_path / "camera.avi"
    link.symlink_to(mjpg_avi(video_path, tmp_path / "clip.avi", frames=6))

    def camera() -> ThreadedSource:  # a real capture of a short clip: it ends like a drop
        return ThreadedSource(
            "test-camera", lambda: cv2.VideoCapture(str(link)), read_timeout_s=0.5,
            max_read_failures=2, reconnect_backoff_s=(0.05, 0.1),
        )  # fmt: skip

    src = ReconnectingSource(camera, live=True, max_lost_s=1.5)
    try:
        link.unlink()  # unplugged: the open capture plays on to its end, reopening fails
        deadline = time.monotonic() + 10
        while not src.lost and time.monotonic() < deadline:
            src.read()
        assert src.lost
        lost_at, waits = time.monotonic(), []
        with pytest.raises(CaptureError, match="did not come back within"):
            while time.monotonic() < deadline:
                start = time.monotonic()
                try:
                    assert src.read() is None and src.lost
                finally:
                    waits.append(time.monotonic() - start)
                time.sleep(0.05)  # the display loop's pause
        assert max(waits) < 0.2, waits  # not read_timeout_s each
        assert time.monotonic() - lost_at < 1.5 + 0.3  # given up on time
    finally:
        src.close()


def test_a_lost_camera_on_the_grabber_comes_back(video_path: Path, tmp_path: Path) -> None:
    link = tmp_path / "camera.avi"
    clip = mjpg_avi(video_path, tmp_path / "clip.avi", frames=6)
    link.symlink_to(clip)
    opener = lambda: cv2.VideoCapture(str(link))  # noqa: E731
    src = ReconnectingSource(
        lambda: ThreadedSource("test-camera", opener, read_timeout_s=0.5, max_read_failures=2,
                               reconnect_backoff_s=(0.05, 0.1)),
        live=True,
    )  # fmt: skip
    try:
        link.unlink()
        deadline = time.monotonic() + 10
        while not src.lost and time.monotonic() < deadline:
            src.read()
        assert src.lost and src.read() is None
        link.symlink_to(clip)  # plugged back in: the grabber reopens it
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = src.read()
            time.sleep(0.02)
        assert frame is not None and not src.lost and src.reconnects == 1
    finally:
        src.close()


def test_a_looped_file_that_vanishes_says_why_it_is_lost(tmp_path: Path) -> None:
    """A looped file removed while it plays: the source waits for it like a camera, and says
    why (the service's /healthz showed 'lost' with last_error null for ever)."""
    clip = _short_clip(tmp_path / "clip.avi", frames=3)
    src = ReconnectingSource(lambda: open_source(str(clip)), live=False, loop=True)
    assert all(src.read() is not None for _ in range(3)) and src.lost_reason is None
    clip.unlink()
    assert [src.read() for _ in range(3)] == [None] * 3
    assert src.lost and src.lost_reason is not None and "clip.avi" in src.lost_reason
    _short_clip(clip, frames=3)  # back: the next retry reopens it
    src._next_try = 0.0  # do not wait retry_every_s here
    assert src.read() is not None or src.read() is not None
    assert not src.lost and src.lost_reason is None
    src.close()
