"""A camera that dies (issue 23 items 4 and 5): the capture ends, new ones are refused, the
stream comes back with the camera, and the log holds lines, not tracebacks.

The "camera" is a short real clip played in real time and looped; deleting the file kills
it at the clip's end (the reopen fails), putting it back revives it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pytest
from test_service import request

CAPTURE_TIMEOUT_S = 3.0


def short_clip(video_path: Path, out: Path, frames: int = 15) -> Path:
    """The first ``frames`` frames of the kiosk clip at 640 x 360, 10 fps (1.5 s)."""
    cap = cv2.VideoCapture(str(video_path))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 360))
    for _ in range(frames):
        ok, frame = cap.read()
        assert ok
        writer.write(cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA))
    writer.release()
    cap.release()
    return out


def wait_for(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def camera_state(url: str) -> str:
    return request(f"{url}/healthz")[1]["camera"]["state"]


def test_capture_with_a_dead_camera_ends_and_the_camera_comes_back(
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    start_service: Any,
    service_config: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from wds_edge.analysis.session import SessionConfig

    clip = short_clip(video_path, tmp_path / "camera.mp4")
    away = tmp_path / "away.mp4"
    caplog.set_level(logging.INFO, logger="wds_edge")
    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(clip),
            capture_timeout_s=CAPTURE_TIMEOUT_S,
            # a capture that cannot finish on its own: only the time limit ends it
            session=SessionConfig(frames_needed=1000, max_frames=100_000),
        )
    )
    try:
        url, json_type = service.url, "application/json"
        wait_for(lambda: camera_state(url) == "running", 60, "the camera running")
        status, body = request(f"{url}/v1/capture", b"{}", json_type)
        assert status == 202
        capture_id, run = body["id"], body["run"]
        status, body = request(f"{url}/v1/capture", b"{}", json_type)  # one at a time
        assert status == 409 and (body["id"], body["run"]) == (capture_id, run), body
        assert f"capture {capture_id} is still running" in body["error"]
        shutil.move(clip, away)  # the camera dies (at the clip's end, 1.5 s from now)
        started = time.monotonic()
        state = wait_for(
            lambda: (
                (s := request(f"{url}/v1/capture")[1]["capture"])["state"] != "collecting" and s
            ),
            CAPTURE_TIMEOUT_S + 5,
            "the capture ending",
        )
        assert time.monotonic() - started < CAPTURE_TIMEOUT_S + 2
        assert (state["id"], state["run"]) == (capture_id, run), state
        assert state["state"] == "timed_out", state
        assert "did not collect 1000 good neutral frames" in state["error"]
        wait_for(lambda: camera_state(url) == "lost", 30, "the camera reported lost")
        status, body = request(f"{url}/v1/capture", b"{}", json_type)
        assert status == 409 and "the camera is lost" in body["error"]

        shutil.move(away, clip)  # the camera comes back: the stream recovers by itself
        wait_for(lambda: camera_state(url) == "running", 30, "the camera running again")
        status, body = request(f"{url}/v1/capture", b"{}", json_type)
        assert status == 202 and (body["id"], body["run"]) == (capture_id + 1, run)
    finally:
        service.stop()
    ours = [r for r in caplog.records if r.name.startswith("wds_edge")]
    assert not [r for r in ours if r.exc_info], [r.getMessage() for r in ours if r.exc_info]
    lost = [r for r in ours if "source lost" in r.getMessage()]
    assert len(lost) == 1, [r.getMessage() for r in lost]  # one line while it was away
    assert "camera.mp4" in lost[0].getMessage()
    assert any("reopened" in r.getMessage() for r in ours)
