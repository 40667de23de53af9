"""What an attacker tried against `wds-edge serve` (issue 23), on a real server process.

One ``wds-edge serve`` process (no camera, the small test model, short header / body
timeouts) on a loopback port: foreign Host names and Origins, a cross-site "simple" POST,
a Radiance HDR bomb with the process's peak memory read from ``/proc``, idle and
trickling sockets while ``/healthz`` must keep answering, a client vanishing mid-upload.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fault_helpers import hdr_bomb
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 4.0
MAX_CONNECTIONS = 32


@pytest.fixture(scope="module")
def server(
    onnx_model_path: Path,
    landmarker_path: Path,
    serve_process: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    args = [
        "--model", str(onnx_model_path), "--landmarker", str(landmarker_path),
        "--backend", "onnxruntime", "--threads", "1",
        "--header-timeout", str(HEADER_TIMEOUT_S), "--body-timeout", str(BODY_TIMEOUT_S),
        "--max-connections", str(MAX_CONNECTIONS), "--allowed-host", "kiosk.local",
    ]  # fmt: skip
    process = serve_process(args, tmp_path_factory.mktemp("serve") / "stderr.log")
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log()


def call(
    server: Any,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    host: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one request with full control of Host (default: the server's);
    a body that is not JSON as ``{"text": ...}``."""
    status, data = server.request(method, path, body=body, headers=headers, host=host)
    return status, {"text": data} if isinstance(data, str) else data


def small_jpeg() -> bytes:
    return cv2.imencode(".jpg", np.full((64, 64, 3), 120, np.uint8))[1].tobytes()


# -- item 1: other web origins ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [("GET", "/healthz", None), ("GET", "/", None), ("POST", "/v1/analyze", "image/jpeg"),
     ("GET", "/v1/capture", None)],
)  # fmt: skip
def test_foreign_host_is_refused(server: Any, method: str, path: str, content_type: Any) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host says so."""
    body = small_jpeg() if method == "POST" else None
    headers = {"Content-Type": content_type} if content_type else {}
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.evil.example"):
        status, answer = call(server, method, path, body, headers, host=host)
        assert status == 400, (host, status, answer)
        assert (
            "does not name this service" in answer["error"] and "--allowed-host" in answer["error"]
        )
        assert "model" not in answer  # nothing of the health data leaks
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "kiosk.local"):
        status, _ = call(server, method, path, body, headers, host=host)
        assert status in (200, 422), (host, status)


def test_a_request_without_host_is_told_the_header_is_missing(server: Any) -> None:
    """HTTP/1.0 may leave Host out (HTTP/1.1 requests without one never reach the service):
    the refusal said "the Host header None does not name this service"."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    error = json.loads(body)["error"]
    assert error.startswith("the request has no Host header"), error
    assert "None" not in error and f"open it as http://127.0.0.1:{server.port}/" in error, error


def test_websocket_from_a_foreign_origin_is_refused(server: Any) -> None:
    ws_url = f"ws://{server.host}:{server.port}/v1/stream"
    for origin in ("http://evil.example", f"http://localhost:{server.port + 1}", "null"):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, origin=origin, open_timeout=10)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, origin
    # the page's own origin, and a client that sends none (not a browser), get through
    for origin in (f"http://{server.host}:{server.port}", None):
        with connect(ws_url, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
            assert "without a camera" in json.loads(ws.recv(timeout=10))["error"]


def test_cross_site_simple_post_cannot_start_a_capture(server: Any) -> None:
    """The form a cross-site page can send without a preflight: text/plain, with its
    Origin; also without Origin (an old browser) and with fetch metadata only."""
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    status, answer = call(server, "POST", "/v1/capture", b"{}", evil)
    assert status == 403 and "evil.example" in answer["error"]
    status, answer = call(server, "POST", "/v1/capture", b"{}", {"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in answer["error"]
    cross = {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}
    assert call(server, "POST", "/v1/capture", b"{}", cross)[0] == 403
    form = {"Origin": "http://evil.example", "Content-Type": "multipart/form-data; boundary=x"}
    assert call(server, "POST", "/v1/analyze", b"--x--\r\n", form)[0] == 403
    # the page itself: same origin, JSON -> reaches the endpoint (409: this one has no camera)
    own = {"Origin": f"http://{server.host}:{server.port}", "Content-Type": "application/json"}
    status, answer = call(server, "POST", "/v1/capture", b"{}", own)
    assert status == 409 and "without a camera" in answer["error"]


def test_capture_body_errors_speak_of_the_capture_and_a_408_closes(server: Any) -> None:
    """POST /v1/capture's 413 / 408 said "send a smaller JPEG" / "send the photo in one go"
    (the upload's words), and its 408 left the connection open with the rest of the body
    unread (/v1/analyze's closes it)."""
    json_type = {"Content-Type": "application/json"}
    status, answer = call(server, "POST", "/v1/capture", b"{" + b" " * 5000 + b"}", json_type)
    assert status == 413 and "the capture request's body is 5,002 bytes" in answer["error"]
    assert '{"expression": "raise_brows"}' in answer["error"] and "JPEG" not in answer["error"]

    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:  # 100 bytes declared, 2 sent: the body timeout runs out
        conn.putrequest("POST", "/v1/capture")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", "100")
        conn.endheaders(b"{ ")
        started = time.monotonic()
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 408 and time.monotonic() - started < BODY_TIMEOUT_S + 5
    assert response.getheader("connection") == "close"
    message = answer["error"]
    assert f"the capture request's body did not arrive within {BODY_TIMEOUT_S:g} s" in message
    assert "photo" not in message and "(2 bytes came)" in message, message


# -- item 2: image bombs in formats Pillow does not decode ------------------------------------


def test_hdr_bomb_is_refused_from_its_header_with_flat_memory(server: Any) -> None:
    """4 MB of valid Radiance HDR declaring 8000 x 8000 (OpenCV would allocate 768 MB per
    request), sent three at once as image/jpeg: 415 naming the format and size, and the
    server's peak RSS does not move."""
    bomb = hdr_bomb(8000, 8000)
    assert len(bomb) < 5_000_000
    call(server, "POST", "/v1/analyze", small_jpeg(), {"Content-Type": "image/jpeg"})  # warm
    peak_before = server.peak_rss_mb()
    answers: list[tuple[int, dict[str, Any]]] = []

    def post() -> None:
        answers.append(call(server, "POST", "/v1/analyze", bomb, {"Content-Type": "image/jpeg"}))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(answers) == 3
    for status, answer in answers:
        assert status == 415, answer
        assert "Radiance HDR" in answer["error"] and "8000x8000" in answer["error"]
    grown_mb = server.peak_rss_mb() - peak_before
    assert grown_mb < 60, f"peak RSS grew by {grown_mb:.0f} MiB on three 4 MB HDR bombs"


# -- item 3: idle and slow sockets --------------------------------------------------------------


def _trickle(sock: socket.socket, stop: threading.Event, replies: list[bytes]) -> None:
    """Send one byte a second until the server answers or closes."""
    sock.settimeout(1.0)
    while not stop.is_set():
        try:
            sock.sendall(b"\xff")
        except OSError:
            break
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        replies.append(data)
        break


def _healthz_ok(server: Any) -> bool:
    try:
        return call(server, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def test_idle_and_trickling_sockets_leave_healthz_answering(server: Any) -> None:
    """40 sockets that send nothing, 32 uploads trickling a byte a second (every request
    slot) and one request head trickling a byte a second: /healthz answers 200 all along,
    a new upload gets 503 (busy) while they hold the slots, the idle and trickling heads
    are closed after the header timeout, the uploads get 408 after the body timeout."""
    idle = [socket.create_connection((server.host, server.port)) for _ in range(40)]
    slow_head = socket.create_connection((server.host, server.port))
    slow_head.sendall(b"GET /healthz HTTP/1.1\r\nHo")
    uploads = []
    for _ in range(MAX_CONNECTIONS):
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(
            f"POST /v1/analyze HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            "Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n".encode()
        )
        uploads.append(sock)
    stop = threading.Event()
    replies: list[bytes] = []
    threads = [threading.Thread(target=_trickle, args=(s, stop, replies)) for s in uploads]
    head_replies: list[bytes] = []
    threads.append(threading.Thread(target=_trickle, args=(slow_head, stop, head_replies)))
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        assert _healthz_ok(server)
        status, answer = call(
            server, "POST", "/v1/analyze", small_jpeg(), {"Content-Type": "image/jpeg"}
        )
        assert status == 503 and "busy" in answer["error"]
        while time.monotonic() - started < BODY_TIMEOUT_S + 3:
            assert _healthz_ok(server), f"/healthz failed after {time.monotonic() - started:.1f} s"
            time.sleep(0.25)
        for sock in idle:  # closed by the server: recv sees the end, not a timeout
            sock.settimeout(5)
            assert sock.recv(1) == b""
        assert head_replies in ([], [b""]), head_replies  # closed without an answer
        for t in threads:
            t.join(10)
        assert len(replies) == MAX_CONNECTIONS
        assert all(r.startswith(b"HTTP/1.1 408") for r in replies), replies[0][:200]
        # the slots are free again
        status, _ = call(
            server, "POST", "/v1/analyze", small_jpeg(), {"Content-Type": "image/jpeg"}
        )
        assert status == 422
    finally:
        stop.set()
        for sock in [*idle, slow_head, *uploads]:
            sock.close()


def test_more_idle_sockets_than_the_open_limit_evict_the_oldest(server: Any) -> None:
    """Past the open-connection limit (128 here) the oldest idle socket is closed for the
    new one, so a health check gets in at once, not after the header timeout."""
    idle = [socket.create_connection((server.host, server.port)) for _ in range(140)]
    try:
        start = time.monotonic()
        assert _healthz_ok(server)
        assert time.monotonic() - start < HEADER_TIMEOUT_S
        idle[0].settimeout(1)
        assert idle[0].recv(1) == b""  # the oldest one went
    finally:
        for sock in idle:
            sock.close()


# -- item 5: a client vanishing mid-upload -----------------------------------------------------


def test_client_disconnect_mid_upload_logs_one_line(server: Any) -> None:
    before = server.log()
    for _ in range(3):
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(
            f"POST /v1/analyze HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            "Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n".encode()
            + b"\xff" * 5000
        )
        time.sleep(0.3)
        sock.close()
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and server.log().count("went away") - before.count("went away") < 3
    ):
        time.sleep(0.1)
    new = server.log()[len(before) :]
    lines = [line for line in new.splitlines() if line.strip()]
    assert len(lines) == 3, new
    assert all("went away after 5,000 bytes" in line for line in lines), new
    assert "Traceback" not in new and "ClientDisconnect" not in new
    assert _healthz_ok(server)


# -- item 5: SIGTERM while a request is still running --------------------------------------


def test_sigterm_during_a_long_upload_is_a_503_not_a_traceback(
    onnx_model_path: Path, landmarker_path: Path, serve_process: Any, tmp_path: Path
) -> None:
    """An upload still arriving when the kiosk is stopped outlives uvicorn's 10 s grace
    period and is cancelled: the client gets 503 "shutting down", the log one line, the
    process exit code 0."""
    args = [
        "--model", str(onnx_model_path), "--landmarker", str(landmarker_path),
        "--backend", "onnxruntime", "--threads", "1", "--body-timeout", "120",
    ]  # fmt: skip
    process = serve_process(args, tmp_path / "stderr.log")
    sock = socket.create_connection((process.host, process.port))
    try:
        sock.sendall(
            f"POST /v1/analyze HTTP/1.1\r\nHost: {process.host}:{process.port}\r\n"
            "Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n".encode()
            + b"\xff" * 100
        )
        time.sleep(0.5)
        started = time.monotonic()
        code = process.stop(timeout_s=60)
        sock.settimeout(5)
        reply = sock.recv(4096)
    finally:
        sock.close()
    assert time.monotonic() - started < 30
    assert code == 0, process.log()
    assert reply.startswith(b"HTTP/1.1 503"), reply[:300]
    assert b"shutting down" in reply
    log = process.log()
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "POST /v1/analyze was cut off: the service is shutting down" in log
