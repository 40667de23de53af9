"""The threaded latest-frame grabber (``wds_edge.capture.grabber``) on real files played in real
time: a copy cut off half-way is told apart from a complete file, like the plain file source
tells it, and the demo's reconnecting source reports it."""

from __future__ import annotations

import gc
import time
import weakref
from pathlib import Path

import cv2
import pytest
from fault_helpers import mjpg_avi, truncated_avi

from wds_edge.capture.grabber import ThreadedSource
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import open_source


@pytest.fixture(scope="module")
def cut_clip(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MJPG AVI of 40 frames of the shared clip, cut to half its bytes."""
    return truncated_avi(video_path, tmp_path_factory.mktemp("cut") / "cut.avi", frames=40)


def _read_all(source: object) -> list[int]:
    indices = []
    while (frame := source.read()) is not None:  # type: ignore[attr-defined]
        indices.append(frame.index)
    return indices


def test_a_truncated_file_played_in_real_time_ended_early(cut_clip: Path) -> None:
    with open_source(cut_clip) as plain:
        plain_indices = _read_all(plain)
        plain_facts = (plain.frames_read, plain.expected_frames, plain.ended_early)
    assert plain_facts[1] == 40 and plain_facts[2] and 0 < plain_facts[0] < 39
    with open_source(cut_clip, realtime=True) as source:
        assert isinstance(source, ThreadedSource) and source.expected_frames == 40
        indices = _read_all(source)
        # the same facts as the plain file source: frames decoded, of the container's count
        assert (source.frames_read, source.expected_frames, source.ended_early) == plain_facts
    assert indices and indices[-1] == plain_indices[-1]


def test_a_complete_file_played_in_real_time_did_not_end_early(
    video_path: Path, tmp_path: Path
) -> None:
    whole = mjpg_avi(video_path, tmp_path / "whole.avi", frames=12)
    with open_source(whole, realtime=True) as source:
        _read_all(source)
        assert source.expected_frames == 12 and source.frames_read == 12
        assert not source.ended_early


def test_closing_before_the_end_is_not_ending_early(cut_clip: Path) -> None:
    source = open_source(cut_clip, realtime=True)
    assert source.read() is not None
    source.close()  # stopped by the consumer: the decoder never reached the cut
    assert not source.ended_early


def test_the_demo_source_reports_a_realtime_file_that_ended_early(cut_clip: Path) -> None:
    with ReconnectingSource(lambda: open_source(cut_clip, realtime=True), live=False) as source:
        while source.read() is not None:
            pass
        assert source.finished and source.ended_early
        assert source.ended_early_detail.endswith(" of 40 frames")
        assert 0 < int(source.ended_early_detail.split()[0]) < 39


class _Capture:
    """A real cv2.VideoCapture of the clip that records its release()."""

    def __init__(self, path: Path) -> None:
        self._cap = cv2.VideoCapture(str(path))
        self.released = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._cap, name)

    def release(self) -> None:
        self.released = True
        self._cap.release()


@pytest.mark.parametrize("finite", [False, True], ids=["camera", "realtime-file"])
def test_an_unclosed_source_stops_its_thread_and_releases_the_capture(
    video_path: Path, finite: bool
) -> None:
    """The grab thread's target was the source's own method: a source dropped without close()
    was never collected, and its thread kept the camera (or file) open for good."""
    captures: list[_Capture] = []

    def opener() -> _Capture:
        captures.append(_Capture(video_path))
        return captures[-1]

    source = ThreadedSource("dropped", opener, finite=finite)
    assert source.read() is not None
    thread, alive = source._thread, weakref.ref(source)
    del source
    gc.collect()
    assert alive() is None
    thread.join(timeout=5.0)
    assert not thread.is_alive()
    assert captures and all(c.released for c in captures)


def test_a_realtime_file_starts_playing_at_the_first_read(video_path: Path) -> None:
    """Opened long before it is read (the demo loads its model in between), a file played in
    real time still starts at its first frame: its clock starts at the first read(), as a
    camera's frames reach a reader only once it is there."""
    with open_source(video_path, realtime=True) as source:
        time.sleep(1.0)  # 30 frames of the 30 FPS clip
        first = source.read()
        assert first is not None
        assert (first.index, first.timestamp_ms) == (0, 0)
        assert source.grabbed_frames <= 2  # nothing was played to nobody


def test_a_camera_that_opens_but_gives_no_frame_is_reopened_on_the_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A capture that opened but never delivered was released and reopened at once, ~20 times
    a second with a warning each; the backoff now grows across such captures."""
    empty = tmp_path / "no_frames.avi"  # a real AVI with a header and no frame: opens, no read
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48)).release()
    source = ThreadedSource(
        "no-frames", lambda: cv2.VideoCapture(str(empty)), max_read_failures=2,
        reconnect_backoff_s=(0.1, 0.4),
    )  # fmt: skip
    try:
        time.sleep(1.5)  # waits 0.1 + 0.2 + 0.4 + 0.4 + ...: at most 5 reopens
        reconnects = source.reconnects
    finally:
        source.close()
    assert 2 <= reconnects <= 5, reconnects
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and "no frame" in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
