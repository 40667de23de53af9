"""Stream clients that stop reading, against a real server on real sockets.

A WebSocket client that reads nothing fills its socket's buffers; the server's next send
then waits for room that never comes. Each such stream held one of the
``--max-connections`` request slots forever (uvicorn's keepalive ping waits behind the
unread frames, and its close only flushes them first): three of them with
``max_connections=3`` answered every ``GET /v1/capture`` with 503 for minutes. A send now
waits at most ``stream_send_timeout_s``; then the connection is aborted and its slot
comes back.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

#: The send deadline of the service under test (seconds).
SEND_TIMEOUT_S = 2.0


def _status(url: str, data: bytes | None = None) -> tuple[int, dict[str, Any]]:
    headers = {} if data is None else {"Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def stalled_stream(url: str, query: str) -> socket.socket:
    """A WebSocket to ``/v1/stream?query`` that will never read after the handshake: a
    4 KiB receive buffer (set before connecting, so the window is small from the start)."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /v1/stream?{query} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = sock.recv(12)
    assert head == b"HTTP/1.1 101", head
    return sock


def reset_by_the_server(sock: socket.socket) -> bool:
    """True when the server has aborted the connection (what the client had not read is
    gone with it); False when data or an orderly close comes instead."""
    sock.settimeout(10)
    try:
        for _ in range(100):  # what was buffered before the reset: a few KiB
            if not sock.recv(65536):
                return False
    except ConnectionResetError:
        return True
    return False  # the stream flows again


def aborted_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "read nothing for" in r.getMessage()]


def test_streams_that_stop_reading_give_their_slots_back(
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    start_service: Any,
    service_config: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from websockets.sync.client import connect

    caplog.set_level(logging.WARNING, logger="wds_edge.service")
    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(video_path),
            max_connections=3,
            stream_send_timeout_s=SEND_TIMEOUT_S,
        )
    )
    stalled: list[socket.socket] = []
    try:
        with connect(f"{service.ws_url}/v1/stream?image=none", open_timeout=30) as ws:
            while json.loads(ws.recv(timeout=60))["type"] != "result":
                pass  # the camera's results flow
        capture = f"{service.url}/v1/capture"
        assert _status(capture)[0] == 200
        opened = time.monotonic()
        for _ in range(3):  # large overlay frames, as fast as the service allows
            stalled.append(stalled_stream(service.url, "image=overlay&fps=15&quality=95"))
        status, body = _status(capture)
        assert status == 503 and "busy" in body["error"], body  # every slot is a stream's
        # the streams fill their buffers within seconds, then wait SEND_TIMEOUT_S each
        deadline = opened + 20.0
        while time.monotonic() < deadline:
            status = _status(capture)[0]
            if status == 200 and len(aborted_lines(caplog)) == 3:
                break
            time.sleep(0.2)
        freed_after = time.monotonic() - opened
        print(f"the stalled streams were aborted {freed_after:.1f} s after they opened")
        assert status == 200, f"GET /v1/capture still answers {status} after {freed_after:.0f} s"
        lines = aborted_lines(caplog)
        assert len(lines) == 3, lines
        assert all("--stream-send-timeout" in line for line in lines), lines
        assert all(reset_by_the_server(sock) for sock in stalled)
        # every slot is back: two streams that read and the page's capture are served at once
        url = f"{service.ws_url}/v1/stream?image=none"
        with connect(url, open_timeout=10) as first, connect(url, open_timeout=10) as second:
            for ws in (first, second):
                while json.loads(ws.recv(timeout=30))["type"] != "result":
                    pass
            assert _status(capture)[0] == 200
            status, body = _status(capture, b'{"expression": "neutral"}')  # the page's POST
            assert status == 202 and body["status"] == "started", body
    finally:
        for sock in stalled:
            sock.close()
        service.stop()
    assert len(aborted_lines(caplog)) == 3  # one line per aborted stream
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
