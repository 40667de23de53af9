"""The kiosk page on a service whose ``stream_max_fps`` is below the page's 10 a second.

The page asked for ``fps=10`` whatever the service allowed, so a service started with a
lower maximum refused its stream (4400 "fps must be in (0, 4]") and the page never showed
a frame. It now asks for min(10, the maximum that ``/healthz`` shows); a client asking
for more than the maximum is still refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_polling import BROWSER_TEST, wait_until
from test_service import request
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

MAX_FPS = 4.0


@pytest.fixture(scope="module")
def slow_stream_service(
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    start_service: Any,
    service_config: Any,
) -> Iterator[Any]:
    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(video_path),
            stream_max_fps=MAX_FPS,
        )
    )
    try:
        yield service
    finally:
        service.stop()


def test_healthz_shows_the_highest_stream_rate_and_more_is_refused(
    slow_stream_service: Any,
) -> None:
    status, body = request(f"{slow_stream_service.url}/healthz")
    assert status == 200 and body["stream_max_fps"] == MAX_FPS, body
    url = f"{slow_stream_service.ws_url}/v1/stream?fps=10&image=none"
    with connect(url) as ws, pytest.raises(ConnectionClosed):
        while True:
            ws.recv(timeout=10)
    assert ws.close_code == 4400


@BROWSER_TEST[0]
@BROWSER_TEST[1]
def test_the_page_streams_from_a_service_with_a_low_maximum_rate(
    slow_stream_service: Any, browser: Any
) -> None:
    browser.get(f"{slow_stream_service.url}/")
    try:
        state = wait_until(
            lambda: browser.execute_script(
                """const $ = (id) => document.getElementById(id);
                return {conn: $('connection').textContent, prompt: $('prompt').textContent,
                  seq: Number($('live').dataset.seq || 0)};"""
            ),
            lambda s: s["seq"] > 0,
            "live frames shown",
            60.0,
        )
        assert state["conn"] == "live", state
    finally:
        browser.get("about:blank")
