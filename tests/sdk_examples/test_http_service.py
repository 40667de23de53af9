"""http_service.py: started on 127.0.0.1 with an ephemeral port, exercised, shut down."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "sdk_examples" / "http_service.py"


@pytest.fixture()
def service(example_model: Path, example_env: dict):  # noqa: ANN001, ANN201
    proc = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLE),
            "--port",
            "0",
            "--model",
            str(example_model),
            "--backend",
            "onnxruntime",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=example_env,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "listening on" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"service exited: {proc.stderr.read()[-2000:]}")
        assert "listening on http://127.0.0.1:" in line
        yield line.strip().split("listening on ")[1]
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            proc.stdout.close()
            proc.stderr.close()


def _request(url: str, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class _WsClient:
    """A minimal masking WebSocket client (RFC 6455), enough to test the service."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        assert b" 101 " in status, status
        while self.file.readline() not in (b"\r\n", b""):
            pass

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = struct.pack(">B", 0x80 | opcode)
        if n < 126:
            head += struct.pack(">B", 0x80 | n)
        elif n < 65536:
            head += struct.pack(">BH", 0x80 | 126, n)
        else:
            head += struct.pack(">BQ", 0x80 | 127, n)
        masked = np.frombuffer(payload, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8), n)
        masked = masked.tobytes()
        self.sock.sendall(head + mask + masked)

    def receive_json(self) -> dict:
        head, length = self.file.read(2)
        length &= 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self.file.read(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self.file.read(8))
        assert head & 0x0F == 0x1
        return json.loads(self.file.read(length))

    def close(self) -> None:
        self.send(0x8, struct.pack(">H", 1000))
        self.file.close()
        self.sock.close()


def test_http_and_websocket(service: str, faces_dir: Path) -> None:
    status, health = _request(f"{service}/health")
    assert status == 200 and health["status"] == "ok" and health["model"]["backend"]

    photo = (faces_dir / "biden2.jpg").read_bytes()
    status, result = _request(f"{service}/analyze", photo)
    assert status == 200 and result["status"] == "ok"
    assert "overall" in result["scores"] and "inference" in result["timings_ms"]

    status, error = _request(f"{service}/analyze", b"definitely not a jpeg")
    assert status == 400 and error["status"] == "error" and "decode" in error["error"]
    status, _ = _request(f"{service}/nothing")
    assert status == 404

    ws = _WsClient(service)
    try:
        small = (faces_dir / "ffhq_00016.png").read_bytes()
        messages = []
        for _ in range(5):
            ws.send(0x2, small)
            messages.append(ws.receive_json())
            if messages[-1]["done"]:
                break
        assert messages[0]["prompt"] == "analysing..." and messages[0]["good_frames"] == 1
        assert messages[-1]["done"] and messages[-1]["final"]["complete"]
        ws.send(0x2, b"junk")
        assert ws.receive_json()["status"] == "error"
        ws.send(0x1, b"reset")
        assert ws.receive_json()["prompt"] == "reset"
    finally:
        ws.close()
