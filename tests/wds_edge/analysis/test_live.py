"""LiveAnalysis on the real kiosk clip: newest result kept, stale frames dropped, captures."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from wds_edge.analysis.live import LiveAnalysis, is_file_source, open_live_source


def test_is_file_source() -> None:
    assert is_file_source("clip.mp4") and is_file_source("/data/faces/")
    assert not is_file_source(0) and not is_file_source("1") and not is_file_source("rtsp://x")


def test_newest_result_wins_and_frames_are_dropped(analyzer: Any, video_path: Path) -> None:
    lock = threading.Lock()
    with LiveAnalysis(analyzer, lambda: open_live_source(str(video_path)), lock=lock) as live:
        first = live.wait_newer(0, timeout_s=60)
        assert first is not None and first.seq >= 1
        assert first.frame_bgr.shape == (720, 1280, 3)
        assert first.result.frame_shape == (720, 1280)
        deadline = time.monotonic() + 60
        while live.latest().seq < first.seq + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        newest = live.wait_newer(first.seq, timeout_s=5)
        # the snapshots in between are gone: a late consumer gets the newest only
        assert newest is not None and newest.seq >= first.seq + 3
        assert newest.seq == live.latest().seq or newest.seq < live.latest().seq
        assert live.camera_state == "running"
        grabber = live._source.source
        with lock:  # another user of the analyzer holds the lock: the loop waits
            seq = live.latest().seq
            time.sleep(1.0)
            assert live.latest().seq <= seq + 1
        # the clip plays on at 30 FPS while the loop waits (and, on a slow machine, while it
        # analyses): the grabber dropped the frames nobody took (the camera's back-pressure)
        # instead of queueing them
        assert grabber.dropped_frames > 0
    assert not live.running and not live.source_open and live.camera_state == "closed"
    assert live.wait_newer(live.latest().seq, timeout_s=30) is None  # at once: closed


def test_capture_collects_good_frames(analyzer: Any, video_path: Path) -> None:
    from wds_edge.analysis.session import SessionConfig

    # The clip's face smiles: no neutral frame comes, so the capture runs to its budget
    # (40 frames) and fuses the 3 least expressive good frames, saying so.
    config = SessionConfig(frames_needed=3, frames_fused=3, max_frames=40)
    with LiveAnalysis(
        analyzer, lambda: open_live_source(str(video_path)), session_config=config
    ) as live:
        assert live.capture_state() is None
        started, capture_id = live.start_capture()
        assert started and capture_id == 1
        assert live.start_capture() == (False, 1)  # one at a time
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = live.capture_state()
            if state["state"] == "done":
                break
            assert state["frames_needed"] == 3
            time.sleep(0.1)
        assert state["state"] == "done", state
        final = state["final"]
        assert final["complete"] and final["frames_used"] == 3
        assert final["status"] == "ok" and final["warnings"] == ["not_neutral"]
        assert final["frames_seen"] == 40 and final["expression"]["smile"] > 0.4
        assert set(final["scores"]) >= {"overall", "forehead"}
        snap = live.wait_newer(live.latest().seq, timeout_s=30)
        assert snap.session["id"] == 1 and snap.session["state"] == "done"
        assert snap.session["run"] == state["run"] == live.run_id
        assert live.start_capture() == (True, 2)
        assert live.capture_state()["run"] == live.run_id
    # another LiveAnalysis (a restarted service) counts its captures from 1 again: its run
    # tells them apart (a kiosk page that had shown capture 1 used to ignore the new one)
    again = LiveAnalysis(analyzer, lambda: open_live_source(str(video_path)))
    assert again.run_id != live.run_id and len(again.run_id) == 12


def test_a_timed_out_capture_is_fused_on_its_own_thread_under_the_model_lock(
    analyzer: Any, video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture's time runs out: the frames it has are fused off the caller's thread
    (a web request or the camera loop must not wait a second for it) and with the model
    lock held (the analyzer is shared); the state says how many good frames came."""
    from wds_edge.analysis.session import SessionConfig

    fusing: list[tuple[str, bool]] = []
    segment = analyzer.segment
    lock = threading.Lock()

    def watched(image: Any, located: Any, **kwargs: Any) -> Any:
        if kwargs.get("score", True):  # the capture's fusion (the live stage passes False)
            fusing.append((threading.current_thread().name, lock.locked()))
        return segment(image, located, **kwargs)

    monkeypatch.setattr(analyzer, "segment", watched)
    config = SessionConfig(frames_needed=10_000, frames_fused=3, max_frames=10_000)
    opener = lambda: open_live_source(str(video_path))  # noqa: E731
    with LiveAnalysis(analyzer, opener, lock=lock, session_config=config) as live:
        assert live.wait_newer(0, timeout_s=60) is not None
        assert live.start_capture(timeout_s=1.0) == (True, 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = live.capture_state()
            if state["state"] != "collecting":
                break
            time.sleep(0.05)
    assert state["state"] == "timed_out", state
    assert fusing and set(fusing) == {("wds-capture-timeout", True)}, fusing
    assert state["final"]["frames_used"] == len(fusing) == 3
    assert state["good_frames"] == 0  # the clip smiles: no neutral frame came
    # the 3 least expressive frames were fused, a complete result: the capture is ok with
    # the not_neutral warning (it used to say "capture failed ... press capture again")
    assert state["status"] == "ok" and state["final"]["complete"], state
    assert state["final"]["warnings"] == ["not_neutral"]
    assert state["prompt"] == "done" and "error" not in state, state
    note = state["note"]
    assert "did not collect 10000 good neutral frames in time (0 came in" in note, note
    # the camera ran, the face came but smiled: the note says so, not the camera
    assert "most without the asked expression (neutral)" in note and "camera" not in note
    assert "the result is fused from the 3 frames it had" in note, note
    assert "failed" not in note and "press capture again" not in note, note


def test_a_missing_source_fails_at_start(analyzer: Any, tmp_path: Path) -> None:
    from wds_edge.errors import CaptureError

    live = LiveAnalysis(analyzer, lambda: open_live_source(str(tmp_path / "nope.mp4")))
    with pytest.raises(CaptureError):
        live.start()
    live.close()
    assert not live.running


def _nobody_clip(video_path: Path, tmp_path: Path) -> Path:
    """A camera that shows nobody: the kiosk clip's last second (frames 210-239)."""
    import cv2

    cap = cv2.VideoCapture(str(video_path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 210)
    frames = [cap.read()[1] for _ in range(30)]
    cap.release()
    clip = tmp_path / "nobody.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (1280, 720))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return clip


def test_a_capture_timed_out_before_an_empty_camera_says_step_in(
    analyzer: Any, video_path: Path, tmp_path: Path
) -> None:
    """The camera runs but nobody is in front of it: the timed-out capture tells the person
    to step in front of the camera (its frames' commonest refusal, no_face), not to check
    the camera (it used to, whatever the frames were)."""
    from wds_edge.analysis.session import SessionConfig

    clip = _nobody_clip(video_path, tmp_path)
    config = SessionConfig(frames_needed=1000, frames_fused=3, max_frames=100_000)
    with LiveAnalysis(analyzer, lambda: open_live_source(str(clip)), session_config=config) as live:
        assert live.wait_newer(0, timeout_s=60) is not None
        assert live.start_capture(timeout_s=1.5) == (True, 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and live.capture_state()["state"] == "collecting":
            time.sleep(0.1)
        state = live.capture_state()
    assert state["state"] == "timed_out", state
    error = state["error"]
    assert "most refused as no_face); step in front of the camera and press capture" in error
    assert "check the camera" not in error


def test_a_capture_that_fuses_nothing_says_why(
    analyzer: Any, video_path: Path, tmp_path: Path
) -> None:
    """A camera that shows nobody (the clip's last second, frames 210-239, looped): the
    capture ends after its frame budget with nothing to fuse, and its state says why and
    what to do (the kiosk page shows that and lets the person try again)."""
    from wds_edge.analysis.session import SessionConfig

    clip = _nobody_clip(video_path, tmp_path)
    config = SessionConfig(frames_needed=3, frames_fused=3, max_frames=10)
    with LiveAnalysis(analyzer, lambda: open_live_source(str(clip)), session_config=config) as live:
        assert live.start_capture(expression="raise_brows") == (True, 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and live.capture_state()["state"] == "collecting":
            time.sleep(0.1)
        state = live.capture_state()
    assert state["state"] == "done" and state["final"] is None, state
    assert state["status"] == "no_face" and state["expression"] == "raise_brows"
    assert "no usable frame (no_face)" in state["error"] and "press capture again" in state["error"]


def test_a_closed_live_analysis_cannot_start_again(analyzer: Any, video_path: Path) -> None:
    """start() after close() used to return at once without a loop or a camera (running
    False, wait_newer None forever): a kiosk that restarts its screen must be told."""
    from wds_edge.errors import InvalidInputError

    opened = []

    def opener() -> Any:
        opened.append(1)
        return open_live_source(str(video_path))

    live = LiveAnalysis(analyzer, opener).start()
    assert live.start() is live  # starting a running one does nothing
    assert live.wait_newer(0, timeout_s=60) is not None
    live.close()
    with pytest.raises(InvalidInputError, match="closed and cannot start again; create a new"):
        live.start()
    assert len(opened) == 1 and not live.running and live.camera_state == "closed"
    never = LiveAnalysis(analyzer, opener)
    never.close()
    with pytest.raises(InvalidInputError, match="closed"), never:
        pass
    assert len(opened) == 1


def _wait_ended(live: LiveAnalysis, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = live.capture_state()
        if state["state"] != "collecting":
            return state
        time.sleep(0.05)
    return live.capture_state()


def test_a_capture_whose_frames_came_in_time_is_not_timed_out_while_it_fuses(
    analyzer: Any, video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture collected its frames before its deadline, and the deadline passed while
    they were fused (segmenting 10 frames takes seconds): a state read then expired it, and
    the person was told "capture failed ... check the camera" beside a fused result."""
    from wds_edge.analysis.session import SessionConfig

    timeout_s = 5.0
    segment = analyzer.segment
    started: list[float] = []
    collected_in_time: list[bool] = []

    def slow_fusion(image: Any, located: Any, **kwargs: Any) -> Any:
        if kwargs.get("score", True):  # the capture's fusion: until past its deadline
            collected_in_time.append(time.monotonic() < started[0] + timeout_s)
            time.sleep(max(0.0, started[0] + timeout_s + 0.5 - time.monotonic()))
        return segment(image, located, **kwargs)

    monkeypatch.setattr(analyzer, "segment", slow_fusion)
    config = SessionConfig(frames_needed=10_000, frames_fused=1, max_frames=5)
    opener = lambda: open_live_source(str(video_path))  # noqa: E731
    with LiveAnalysis(analyzer, opener, session_config=config) as live:
        assert live.wait_newer(0, timeout_s=60) is not None
        started.append(time.monotonic())
        assert live.start_capture(timeout_s=timeout_s) == (True, 1)
        state = _wait_ended(live)  # reads the state (and checks the deadline) every 50 ms
    assert collected_in_time == [True], "the 5 frames did not come within 5 s"
    assert state["state"] == "done", state
    assert state["final"]["frames_used"] == 1 and "error" not in state


def test_a_capture_whose_fusion_fails_ends_as_failed_and_the_next_can_start(
    analyzer: Any, video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fusing a finished capture raised (a backend's transient failure): the capture used to
    stay "collecting" for ever (prompt "done") and every later start_capture was refused.
    It ends as failed, says so, and the next capture runs."""
    from wds_edge.analysis.session import SessionConfig

    segment = analyzer.segment
    failures = [RuntimeError("transient backend failure")]

    def flaky(image: Any, located: Any, **kwargs: Any) -> Any:
        if kwargs.get("score", True) and failures:  # the capture's fusion
            raise failures.pop()
        return segment(image, located, **kwargs)

    monkeypatch.setattr(analyzer, "segment", flaky)
    config = SessionConfig(frames_needed=3, frames_fused=1, max_frames=5)
    opener = lambda: open_live_source(str(video_path))  # noqa: E731
    with LiveAnalysis(analyzer, opener, session_config=config, error_pause_s=0.1) as live:
        assert live.start_capture() == (True, 1)
        state = _wait_ended(live)
        assert state["state"] == "failed", state
        assert state["final"] is None and state["status"] is None
        assert state["prompt"] == "capture failed"
        assert "could not be analysed (RuntimeError: transient backend failure)" in state["error"]
        assert "press capture again" in state["error"]
        assert live.errors == 1 and "transient backend failure" in live.last_error
        assert live.start_capture() == (True, 2)
        state = _wait_ended(live)
        assert state["id"] == 2 and state["state"] == "done", state
        assert state["final"]["frames_used"] == 1 and "error" not in state
    assert not failures


def test_a_timed_out_capture_whose_fusion_fails_still_says_what_its_frames_were(
    analyzer: Any, video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timed-out capture's fusion raised: its advice used to count the frames of the
    missing fused result (0 frames: "check the camera"); they are the session's own."""
    from wds_edge.analysis.session import SessionConfig

    segment = analyzer.segment

    def broken(image: Any, located: Any, **kwargs: Any) -> Any:
        if kwargs.get("score", True):  # the capture's fusion (the live stage passes False)
            raise RuntimeError("backend gone")
        return segment(image, located, **kwargs)

    monkeypatch.setattr(analyzer, "segment", broken)
    config = SessionConfig(frames_needed=10_000, frames_fused=3, max_frames=10_000)
    opener = lambda: open_live_source(str(video_path))  # noqa: E731
    with LiveAnalysis(analyzer, opener, session_config=config) as live:
        assert live.wait_newer(0, timeout_s=60) is not None
        assert live.start_capture(timeout_s=1.0) == (True, 1)
        state = _wait_ended(live)
    assert state["state"] == "timed_out" and state["final"] is None, state
    assert "check the camera" not in state["error"]
    assert "most without the asked expression (neutral)); relax your face" in state["error"]
    assert live.last_error == "fusing the capture failed: RuntimeError: backend gone"


def test_the_timeout_advice_does_not_count_frames_dropped_when_the_person_left(
    analyzer: Any,
) -> None:
    """40 good neutral frames, then the person walked away (35 frames without a face): the
    session dropped the 40 (reset_after_bad_frames 30), and the advice used to call them
    frames "without the asked expression" ("relax your face") instead of saying step in."""
    from wds_edge.analysis.live import _timeout_message
    from wds_edge.analysis.result import FrameResult
    from wds_edge.analysis.session import KioskSession
    from wds_edge.perception.quality import FrameStatus

    session = KioskSession(analyzer, frames_needed=60, max_frames=1000)
    neutral = {"smile": 0.0, "brow_raise": 0.0, "frown": 0.0}
    for _ in range(40):
        session.feed_located(FrameResult(FrameStatus.OK, "", (480, 640), expression=neutral))
    assert session.good_frames == 40
    nobody = FrameResult(FrameStatus.NO_FACE, FrameStatus.NO_FACE.prompt, (480, 640))
    for _ in range(35):
        session.feed_located(nobody)
    assert session.good_frames == 0 and session.frames_reset == 40
    assert session.frames_seen == 75 and session.refused == {"no_face": 35}
    message = _timeout_message(60, session, "running")
    assert (
        "(0 came in 75 frames after 40 earlier good ones were set aside when the face left, "
        "most refused as no_face); step in front of the camera"
    ) in message


def test_a_looped_file_that_vanishes_is_lost_with_its_reason(
    analyzer: Any, video_path: Path, tmp_path: Path
) -> None:
    """Health (the service's /healthz) said 'lost' with last_error None for ever when a
    looped file went away; it now says why."""
    from fault_helpers import mjpg_avi

    clip = mjpg_avi(video_path, tmp_path / "short.avi", frames=10)
    with LiveAnalysis(analyzer, lambda: open_live_source(str(clip))) as live:
        assert live.wait_newer(0, timeout_s=60) is not None
        clip.unlink()
        deadline = time.monotonic() + 30
        while live.camera_state != "lost" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.camera_state == "lost"
        assert live.last_error is not None and "source lost" in live.last_error
        assert "short.avi" in live.last_error
