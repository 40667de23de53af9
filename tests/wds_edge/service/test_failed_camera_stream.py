"""A camera that failed for good (the live loop stopped, state ``error``): the stream says
why and closes with 4410, a capture is refused in plain words, and the kiosk page shows the
reason with its buttons off instead of reconnecting every second forever.

The "camera" is a real MJPEG AVI whose JPEG frames were wiped: it opens, decodes no frame,
and so cannot be looped (the live loop stops with a CaptureError).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from page_polling import BROWSER_TEST, wait_until
from test_dead_camera import wait_for
from test_kiosk_refusals import page_state
from test_service import request
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def undecodable_avi(path: Path) -> Path:
    """An MJPEG AVI of 10 frames whose JPEG data is gone (each JPEG zeroed)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    data, jpegs = re.subn(
        rb"\xff\xd8\xff.*?\xff\xd9", lambda m: bytes(len(m.group())), path.read_bytes(), flags=re.S
    )
    assert jpegs == 10, jpegs
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def failed_camera_service(
    onnx_model_path: Path,
    landmarker_path: Path,
    start_service: Any,
    service_config: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    source = undecodable_avi(tmp_path_factory.mktemp("failed") / "bad.avi")
    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(source),
            loop_source=True,
        )
    )
    try:
        wait_for(lambda: not service.engine.live.running, 30, "the live loop stopping")
        assert service.engine.live.camera_state == "error"
        yield service
    finally:
        service.stop()


def test_the_stream_closes_with_4410_and_the_reason(failed_camera_service: Any) -> None:
    """It closed with 1000 after one camera note: a page took that for a drop and
    reconnected every second forever."""
    messages = []
    url = f"{failed_camera_service.ws_url}/v1/stream?image=none"
    with connect(url) as ws, pytest.raises(ConnectionClosed):
        while True:
            messages.append(json.loads(ws.recv(timeout=10)))
    assert ws.close_code == 4410, (ws.close_code, messages)
    assert [m["type"] for m in messages] == ["camera", "error"], messages
    assert messages[0]["state"] == "error"
    error = messages[1]["error"]
    assert error.startswith("the camera has failed (") and "holds no frames" in error, error
    assert ws.close_reason.startswith("the camera has failed"), ws.close_reason


def test_a_capture_on_a_failed_camera_is_refused_in_plain_words(
    failed_camera_service: Any,
) -> None:
    url = failed_camera_service.url
    status, body = request(f"{url}/v1/capture", b"{}", "application/json")
    assert status == 409, body
    assert body["error"].startswith("the camera has failed ("), body  # not "is error"
    assert "holds no frames" in body["error"], body


@BROWSER_TEST[0]
@BROWSER_TEST[1]
def test_the_page_says_the_camera_failed_and_stops_reconnecting(
    failed_camera_service: Any, counting_browser: Any
) -> None:
    browser = counting_browser
    browser.get(f"{failed_camera_service.url}/")
    state = wait_until(
        lambda: page_state(browser),
        lambda s: s["conn"] == "camera failed",
        "the failure shown",
        20.0,
    )
    assert "the camera has failed" in state["prompt"] and "holds no frames" in state["prompt"]
    assert state["disabled"] and state["brows_disabled"], state
    assert "restarted" in state["text"], state
    time.sleep(3.5)  # the page used to reconnect every second
    state = page_state(browser)
    assert state["streams"] == 1 and state["conn"] == "camera failed", state
