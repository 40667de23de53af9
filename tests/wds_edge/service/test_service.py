"""The service on a real uvicorn server: health, analyze, bad bodies, the stream, shutdown."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fault_helpers import hdr_bomb, png_bomb
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def request(
    url: str, data: bytes | None = None, content_type: str | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a GET (no data) or POST; a non-JSON body as ``{"text": ...}``."""
    if content_type is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(
        url, data=data, headers=headers, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())


def _json(data: bytes) -> dict[str, Any]:
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return {"text": data.decode("utf-8", "replace")}


def multipart(field: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = "wdsedgeboundary7d1f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature + IHDR declaring width x height, and a broken IDAT: only a header
    check can tell its size; a decoder fails on it."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"\x00" * 64)


def truncated_jpeg() -> bytes:
    """A real JPEG (a smooth 256 px gradient) cut to half its bytes: the decoder reports it."""
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)
    image = np.dstack([np.tile(ramp, (256, 1))] * 3)
    encoded = cv2.imencode(".jpg", image)[1].tobytes()
    return encoded[: len(encoded) // 2]


def test_health(live_service: Any, onnx_model_path: Path) -> None:
    status, health = request(f"{live_service.url}/healthz")
    assert status == 200 and health["status"] == "ok"
    assert health["backend"] == "onnxruntime" and health["precision"] == "fp32"
    assert health["model"]["input_size_px"] == 256
    # the model file's sha256, which every result carries and `compare` checks (it was left
    # out); backend, device and precision stay at the top level only
    sha256 = hashlib.sha256(onnx_model_path.read_bytes()).hexdigest()
    assert health["model"]["sha256"] == sha256
    assert not {"backend", "device", "precision"} & set(health["model"])
    assert health["camera"]["state"] in ("starting", "running")
    assert health["camera"]["source"].endswith("portrait_motion_720p.mp4")
    counts = health["camera"]["pipeline"]  # the live two-stage pipeline: nothing lost silently
    assert counts["read"] >= counts["delivered"] and counts["discarded"] == 0


def test_analyze_matches_the_cli_json(live_service: Any, faces_dir: Path, analyzer: Any) -> None:
    from wds_edge.analysis.batch import analyze_inputs

    photo = faces_dir / "biden2.jpg"
    status, served = request(f"{live_service.url}/v1/analyze", photo.read_bytes(), "image/jpeg")
    assert status == 200 and served["status"] == "ok" and served["segmented"]
    # what `wds-edge analyze --json` prints, from a separate analyzer on the same model
    (outcome,) = list(analyze_inputs(analyzer, [photo]))
    expected = outcome.to_dict()
    assert served.keys() == expected.keys()
    assert served["input"] == "upload" and "decode" in served["timings_ms"]
    assert served["scores"].keys() == expected["scores"].keys()
    for name, score in expected["scores"].items():
        assert served["scores"][name]["area_px"] == score["area_px"]
        assert served["scores"][name]["wrinkle_ratio"] == pytest.approx(
            score["wrinkle_ratio"], abs=2e-3
        )
    assert served["face_box_px"] == pytest.approx(expected["face_box_px"], abs=0.5)

    body, ctype = multipart("image", "biden2.jpg", photo.read_bytes(), "image/jpeg")
    status, form = request(f"{live_service.url}/v1/analyze", body, ctype)
    assert status == 200 and form["scores"]["overall"] == served["scores"]["overall"]


def test_no_face_is_a_422_result(live_service: Any) -> None:
    grey = np.full((240, 320, 3), 128, np.uint8)
    status, body = request(
        f"{live_service.url}/v1/analyze", cv2.imencode(".png", grey)[1].tobytes(), "image/png"
    )
    assert status == 422
    assert body["status"] == "no_face" and body["prompt"] and body["segmented"] is False
    assert body["frame_shape"] == [240, 320]


@pytest.mark.parametrize(
    ("data", "content_type", "code", "words"),
    [
        (b"definitely not a jpeg", "image/jpeg", 400, "cannot decode"),
        (truncated_jpeg(), "image/jpeg", 400, "truncated"),
        (b"", "image/png", 400, "empty"),
        (b"GIF89a...", "image/gif", 415, "unsupported content-type"),
        (b"{}", "application/json", 415, "unsupported content-type"),
        (png_header_only(8000, 6000), "image/png", 413, "8000x6000"),
        (hdr_bomb(640, 480), "image/jpeg", 415, "radiance hdr image declaring 640x480"),
        (png_bomb(4000, 4000)[:-12], "image/png", 400, "truncated"),
        (
            cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))[1].tobytes(),
            "image/png",
            415,
            "a bmp image",
        ),
    ],
)
def test_bad_bodies(
    live_service: Any, data: bytes, content_type: str, code: int, words: str
) -> None:
    status, body = request(f"{live_service.url}/v1/analyze", data, content_type)
    assert status == code and body["status"] == "error"
    assert words in body["error"].lower()


def test_oversized_bodies_are_refused_before_reading(live_service: Any) -> None:
    host, port = urllib.parse.urlsplit(live_service.url).netloc.split(":")
    # declared too large: refused from the header, the body is never sent
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", "/v1/analyze")
    conn.putheader("Content-Type", "image/jpeg")
    conn.putheader("Content-Length", str(5 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 413 and "5,242,880 bytes" in body["error"]
    conn.close()
    # chunked without a length: cut off once it passes the limit
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (b"\xff" * (256 * 1024) for _ in range(40))  # 10 MiB > 4 MiB
    conn.request(
        "POST", "/v1/analyze", body=chunks, headers={"Content-Type": "image/jpeg"},
        encode_chunked=True,
    )  # fmt: skip
    response = conn.getresponse()
    assert response.status == 413 and "passed the" in json.loads(response.read())["error"]
    conn.close()
    # multipart without an image field
    body, ctype = multipart("photo", "x.jpg", b"\xff\xd8", "image/jpeg")
    status, answer = request(f"{live_service.url}/v1/analyze", body, ctype)
    assert status == 400 and "'image'" in answer["error"]


def test_a_cut_off_multipart_form_is_called_incomplete(live_service: Any, faces_dir: Path) -> None:
    """A form with a whole image part but no closing boundary (or cut inside the image) was
    reported as having no field named 'image'."""
    body, ctype = multipart(
        "image", "biden2.jpg", (faces_dir / "biden2.jpg").read_bytes(), "image/jpeg"
    )
    for cut in (body[: body.rindex(b"\r\n--")], body[: body.rindex(b"--")], body[: len(body) // 2]):
        status, answer = request(f"{live_service.url}/v1/analyze", cut, ctype)
        assert status == 400 and "multipart form is incomplete" in answer["error"], answer
        assert "no file field" not in answer["error"]
    status, answer = request(f"{live_service.url}/v1/analyze", body, ctype)  # whole: analysed
    assert status == 200, answer


def test_unknown_paths_and_methods_answer_json(live_service: Any) -> None:
    assert request(f"{live_service.url}/nothing")[0] == 404
    status, body = request(f"{live_service.url}/v1/analyze")
    assert status == 405 and body["status"] == "error"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/analyze", {"POST"}),
        ("DELETE", "/v1/analyze", {"POST"}),
        ("PUT", "/v1/capture", {"GET", "HEAD", "POST"}),
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("POST", "/", {"GET", "HEAD"}),
        ("POST", "/static/kiosk.js", {"GET", "HEAD"}),
    ],
)
def test_a_405_says_which_methods_are_allowed(
    live_service: Any, method: str, path: str, allowed: set[str]
) -> None:
    """RFC 9110 15.5.6: a 405 must carry Allow with the target's methods; the JSON error
    answer dropped Starlette's."""
    host, port = urllib.parse.urlsplit(live_service.url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=b"" if method in ("POST", "PUT") else None)
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 405 and body["status"] == "error", body
    assert f"{method} is not allowed on {path}" in body["error"]
    header = response.getheader("Allow") or ""
    assert {m.strip() for m in header.split(",") if m.strip()} == allowed, header


def test_the_stream_over_plain_http_is_told_to_use_a_websocket(live_service: Any) -> None:
    """GET /v1/stream without the WebSocket upgrade answered 404 "no such endpoint"."""
    netloc = urllib.parse.urlsplit(live_service.url).netloc
    for data in (None, b"{}"):
        req = urllib.request.Request(f"{live_service.url}/v1/stream", data=data)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(req, timeout=30)
        assert answer.value.code == 426 and answer.value.headers["Upgrade"] == "websocket"
        body = json.loads(answer.value.read())
        assert f"connect with a WebSocket (ws://{netloc}/v1/stream" in body["error"], body


def _results(ws: Any, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count and time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=timeout_s))
        if message["type"] == "result":
            out.append(message)
    assert len(out) == count, f"only {len(out)} results in {timeout_s} s"
    return out


def test_stream_sends_the_clip_results(live_service: Any) -> None:
    with connect(f"{live_service.ws_url}/v1/stream?fps=10", max_size=8 << 20) as ws:
        results = _results(ws, 12)
    seqs = [m["seq"] for m in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    statuses = {m["status"] for m in results}
    assert "ok" in statuses, statuses  # the clip starts with a face in front of the camera
    good = next(m for m in results if m["status"] == "ok")
    assert good["segmented"] and "overall" in good["scores"] and good["prompt"]
    assert "inference" in good["timings_ms"] and good["frame_shape"] == [720, 1280]
    assert good["image"]["type"] == "image/jpeg"
    jpeg = np.frombuffer(__import__("base64").b64decode(good["image"]["base64"]), np.uint8)
    frame = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert frame.shape == (720, 1280, 3)


def test_stream_mask_option_and_bad_options(live_service: Any) -> None:
    import base64

    with connect(f"{live_service.ws_url}/v1/stream?image=mask&fps=10", max_size=8 << 20) as ws:
        good = next(m for m in _results(ws, 30) if m["segmented"])
        mask = cv2.imdecode(np.frombuffer(base64.b64decode(good["image"]["base64"]), np.uint8), 0)
        assert good["image"]["type"] == "image/png" and mask.shape == (256, 256)
        assert set(np.unique(mask)) <= {0, 255}
        ws.send(json.dumps({"image": "none", "fps": 1000}))
        reply = json.loads(ws.recv(timeout=10))
        while reply["type"] != "error":
            reply = json.loads(ws.recv(timeout=10))
        assert "fps must be in" in reply["error"]
        for bad in ({"quality": "nan"}, {"fps": "inf"}, "[" * 5000 + "]" * 5000):
            ws.send(bad if isinstance(bad, str) else json.dumps(bad))  # the stream lives on
            reply = json.loads(ws.recv(timeout=10))
            while reply["type"] != "error":
                reply = json.loads(ws.recv(timeout=10))
            assert "finite number" in reply["error"] or "flat JSON object" in reply["error"]
        ws.send(json.dumps({"image": "none"}))
        later = _results(ws, 3)
        assert later[-1]["image"] is None
        ws.send(b"\x00binary")
        reply = json.loads(ws.recv(timeout=10))
        while reply["type"] != "error":
            reply = json.loads(ws.recv(timeout=10))
        assert "JSON text" in reply["error"]
        ws.send("x" * 100_000)  # past the 64 KiB message limit: the server closes
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with connect(f"{live_service.ws_url}/v1/stream?image=gif") as ws:
        assert "image must be one of" in json.loads(ws.recv(timeout=10))["error"]
    with connect(f"{live_service.ws_url}/v1/stream?quality=nan") as ws:
        assert "quality must be a finite number" in json.loads(ws.recv(timeout=10))["error"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


def test_a_new_rate_takes_effect_without_waiting_out_the_old_one(live_service: Any) -> None:
    with connect(f"{live_service.ws_url}/v1/stream?image=none&fps=0.05") as ws:
        _results(ws, 1)  # the first result; the next would be due 20 s later
        ws.send(json.dumps({"fps": 10}))
        start = time.monotonic()
        _results(ws, 2)
        assert time.monotonic() - start < 5.0


def _guard(service: Any) -> Any:
    """The service's RequestGuard (its ``active`` requests and streams)."""
    from wds_edge.service.guard import RequestGuard

    app = service.app
    while not hasattr(app, "middleware_stack"):  # uvicorn's wrappers
        app = app.app
    layer = app.middleware_stack
    while not isinstance(layer, RequestGuard):
        layer = layer.app
    return layer


def test_a_stalled_client_does_not_hold_back_others(live_service: Any) -> None:
    """A client that stops reading blocks only its own sender: another client, read all
    along, keeps getting new results; the stalled one resumes at the newest result (the
    ones it missed are dropped, not queued) and gives its slot back when it goes.

    "slow" exerts real back-pressure: a 4 KiB receive buffer and a client that stops
    taking frames off the socket once one message waits in its queue (max_queue=1), so
    the server's send to it waits for room (what a browser tab in the background or a
    frozen client does). The test used to let both clients sleep, and passed whatever
    the server did.
    """
    import socket

    url = f"{live_service.ws_url}/v1/stream?fps=15&quality=95"
    host, port = urllib.parse.urlsplit(live_service.url).netloc.split(":")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    fast_seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def read_fast(ws: Any) -> None:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message["type"] == "result":
                fast_seen.append((time.monotonic(), message["seq"]))

    with (
        connect(url, sock=raw, max_size=8 << 20, max_queue=1) as slow,
        connect(url, max_size=8 << 20) as fast,
    ):
        slow_seqs = [_results(slow, 1)[0]["seq"]]
        reader = threading.Thread(target=read_fast, args=(fast,), daemon=True)
        reader.start()
        try:
            # slow reads nothing while fast gets 40 results (its buffers hold ~20 of these
            # overlays), at most 9 s: a send waits less than the 10 s send timeout
            stall_start = time.monotonic()
            while time.monotonic() - stall_start < 9.0:
                if sum(t >= stall_start for t, _ in fast_seen) >= 40:
                    break
                time.sleep(0.1)
            stall_end = time.monotonic()
            during = [(t, seq) for t, seq in fast_seen if t >= stall_start]
            assert len(during) >= 15, f"fast got {len(during)} results in 9 s: {during}"
            # fast went on all along, to the end of the stall
            times = [stall_start, *(t for t, _ in during), stall_end]
            gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
            assert max(gaps) < 3.0, f"fast got nothing for {max(gaps)} s: {gaps}"
            newest = during[-1][1]
            # slow resumes: the few messages its buffers held, then the newest results
            resumed_at = time.monotonic()
            while slow_seqs[-1] < newest:
                slow_seqs += [m["seq"] for m in _results(slow, 1, timeout_s=10.0)]
            caught_up_s = time.monotonic() - resumed_at
        finally:
            stop.set()
            reader.join(10)
        assert slow_seqs == sorted(set(slow_seqs)), slow_seqs
        assert caught_up_s < 3.0, f"slow took {caught_up_s:.1f} s to reach result {newest}"
        # back-pressure: results of the stall never went to slow (dropped, not queued)
        missed = {seq for _, seq in during} - set(slow_seqs)
        assert len(missed) >= 5, (slow_seqs, [seq for _, seq in during])
        assert _guard(live_service).active >= 2
    deadline = time.monotonic() + 10
    while _guard(live_service).active > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _guard(live_service).active == 0  # both streams gave their slots back


def _capture(url: str, body: bytes, expression: str) -> dict[str, Any]:
    """Run captures until one fuses frames (at most 3) and return its final state.

    The clip loops (faces 6 s, blurred 1 s, nobody 1 s) and a capture that sees 30 bad
    frames in a row drops what it collected (the person walked away): on a machine that
    locates every frame, a capture started 2-3 s into the clip ends among the empty
    frames with nothing to fuse. That is the session's rule, not an error; another capture
    starts elsewhere in the loop.
    """
    for _ in range(3):
        status, reply = request(f"{url}/v1/capture", body, "application/json")
        assert status == 202 and reply["status"] == "started", reply
        capture_id = reply["id"]
        deadline = time.monotonic() + 60
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _, reply = request(f"{url}/v1/capture")
            assert reply["status"] == "ok", reply  # the envelope's, never the capture's
            state = reply["capture"]
            if state.get("state") == "done" and state["id"] == capture_id:
                break
            time.sleep(0.3)
        assert state["state"] == "done" and state["expression"] == expression, state
        if state["final"] is not None:
            return state
    raise AssertionError(f"3 captures fused nothing: {state}")


def test_capture_runs_a_kiosk_session(live_service: Any) -> None:
    bad = [
        (b"[1]", "must be {}"),
        (b'{"expression": "frown"}', "one of neutral"),
        (b'{"expresion": "raise_brows"}', "must be {}"),
        (b"{x", "not JSON"),
        (b"[" * 1020, "deeply nested"),  # the parser recurses past its stack; 1 KiB body limit
    ]
    for body, message in bad:
        status, reply = request(f"{live_service.url}/v1/capture", body, "application/json")
        assert status == 400 and message in reply["error"], reply
    final = _capture(live_service.url, b"", "neutral")["final"]
    assert final["frames_seen"] >= final["frames_used"] >= 1
    assert "overall" in final["scores"] and final["frame"]["status"] == "ok"
    assert final["capture"] == "neutral"
    # the dynamic capture: the clip's face never raises its brows, so it says so
    final = _capture(live_service.url, b'{"expression": "raise_brows"}', "raise_brows")["final"]
    assert final["capture"] == "raise_brows" and final["warnings"] == ["brows_not_raised"]


def test_capture_state_keeps_its_envelope_whatever_the_capture_says(
    onnx_model_path: Path,
    landmarker_path: Path,
    start_service: Any,
    service_config: Any,
    tmp_path: Path,
) -> None:
    """GET /v1/capture nests the capture under "capture": its own "status" (here no_face,
    nobody in front of the camera) used to replace the envelope's "ok"."""
    from wds_edge.analysis.session import SessionConfig

    video = tmp_path / "nobody.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for i in range(30):
        writer.write(np.full((240, 320, 3), 90 + i % 20, np.uint8))
    writer.release()
    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(video),
            session=SessionConfig(frames_needed=3, frames_fused=3, max_frames=10),
        )
    )
    try:
        url = service.url
        assert request(f"{url}/v1/capture") == (200, {"status": "none", "capture": None})
        status, reply = request(f"{url}/v1/capture", b"{}", "application/json")
        assert status == 202 and (reply["status"], reply["id"]) == ("started", 1), reply
        run = reply["run"]  # the service's run: ids start at 1 again in the next one
        assert run == service.engine.live.run_id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, reply = request(f"{url}/v1/capture")
            assert status == 200 and reply["status"] == "ok", reply
            if reply["capture"]["state"] != "collecting":
                break
            time.sleep(0.2)
    finally:
        service.stop()
    state = reply["capture"]
    assert (state["id"], state["run"]) == (1, run)
    assert state["state"] == "done" and state["final"] is None, state
    assert state["status"] == "no_face" and "no usable frame (no_face)" in state["error"]


TOKEN = "s3cret"  # photo_service's


def _analyze_load(url: str, image: bytes, count: int, errors: list[str]) -> None:
    for _ in range(count):
        status, body = request(f"{url}/v1/analyze", image, "image/jpeg", **{"X-WDS-Token": TOKEN})
        if status not in (200, 422) or body.get("status") == "error":
            errors.append(f"{status}: {body}")


def test_load_sequential_and_concurrent(photo_service: Any, biden_bgr: Any) -> None:
    """200 sequential then 8 concurrent clients x 5 (loopback, bounded): no error, and the
    process keeps a bounded size (figures: benchmarks/service_load.py)."""
    psutil = pytest.importorskip("psutil")
    small = cv2.resize(biden_bgr, (300, 300), interpolation=cv2.INTER_AREA)
    image = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    rss_before = psutil.Process().memory_info().rss
    errors: list[str] = []
    _analyze_load(photo_service.url, image, 200, errors)
    threads = [
        threading.Thread(target=_analyze_load, args=(photo_service.url, image, 5, errors))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    grown_mb = (psutil.Process().memory_info().rss - rss_before) / 2**20
    assert grown_mb < 200, f"RSS grew by {grown_mb:.0f} MiB over 240 requests"
    _, health = request(f"{photo_service.url}/healthz", **{"X-WDS-Token": TOKEN})
    assert health["requests_analysed"] >= 240


def test_posted_photos_are_decoded_a_few_at_a_time(
    photo_service: Any, biden_bgr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding ran outside the analyzer's lock: every request at once (up to
    --max-connections) held its decoded photo at once (6 posts of 6000 x 6000: peak RSS
    0.8 -> 2.6 GB). The real decoder, wrapped to count the decoded images alive."""
    import weakref

    import wds_edge.service.engine as engine_module
    from wds_edge.service.engine import IMAGE_SLOTS

    alive, most, guard = [0], [0], threading.Lock()

    def release() -> None:
        with guard:
            alive[0] -= 1

    real_decode = engine_module.decode_image

    def counted_decode(*args: Any, **kwargs: Any) -> Any:
        with guard:
            alive[0] += 1
            most[0] = max(most[0], alive[0])
        try:
            image = real_decode(*args, **kwargs)
        except BaseException:
            release()
            raise
        weakref.finalize(image, release)
        time.sleep(0.3)  # a large photo's decode: lets requests overlap without the bound
        return image

    monkeypatch.setattr(engine_module, "decode_image", counted_decode)
    photo = cv2.imencode(".jpg", cv2.resize(biden_bgr, (600, 600)))[1].tobytes()
    statuses: list[int] = []

    def post() -> None:
        statuses.append(
            request(
                f"{photo_service.url}/v1/analyze", photo, "image/jpeg", **{"X-WDS-Token": TOKEN}
            )[0]
        )

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [200] * 6
    assert most[0] <= IMAGE_SLOTS == 2, f"{most[0]} decoded photos held at once"
    assert alive[0] == 0  # every decoded photo was let go


def test_remote_needs_allow_remote_and_a_token(service_config: Any) -> None:
    from wds_edge.errors import InvalidInputError
    from wds_edge.service.server import build_server, check_bind

    with pytest.raises(InvalidInputError, match="--allow-remote"):
        build_server(service_config(host="0.0.0.0"))
    with pytest.raises(InvalidInputError, match="needs a --token"):
        check_bind(service_config(host="0.0.0.0", allow_remote=True))
    remote = service_config(host="0.0.0.0", allow_remote=True, token="abc123")
    warning = check_bind(remote)
    assert warning is not None and "knows the token" in warning
    assert "reach the port it picks" in warning and "port 0" not in warning  # port 0: any
    assert "reach port 8765 and" in (check_bind(remote, port=8765) or "")  # the bound one
    assert check_bind(service_config(host="::1")) is None


def test_empty_token_and_source_are_refused(service_config: Any) -> None:
    from pydantic import ValidationError

    for bad in ({"token": ""}, {"token": "  "}, {"source": ""}):
        with pytest.raises(ValidationError, match="empty"):
            service_config(**bad)
    # HTTP strips a header value's surrounding whitespace: such a token matched ?token= only
    for token in (" s3cret", "s3cret\n", "\ts3cret"):
        with pytest.raises(ValidationError, match="starts or ends with whitespace"):
            service_config(token=token)
    # a header is Latin-1 on the wire and the token was compared as UTF-8: every header
    # client got 401 with a non-ASCII token; a control character cannot be sent at all
    for token in ("sécret", "s3cret€", "s3\u200bcret", "s3\tcret", "s3\x00cret", "s3\x7fcret"):
        with pytest.raises(ValidationError, match="only printable ASCII"):
            service_config(token=token)
    for token in ("a b", "A+b/c=~!@#$%^&*()[]{}|;:'\",.<>?`-_"):  # printable ASCII: accepted
        assert service_config(token=token).token == token


def test_token_and_no_camera(photo_service: Any) -> None:
    url, auth = photo_service.url, {"X-WDS-Token": TOKEN}
    assert request(f"{url}/healthz")[0] == 401
    assert request(f"{url}/healthz", **{"X-WDS-Token": "wrong"})[0] == 401
    status, health = request(f"{url}/healthz", **auth)
    assert status == 200 and health["camera"]["state"] == "none"
    assert request(f"{url}/healthz", Authorization=f"Bearer {TOKEN}")[0] == 200
    status, body = request(f"{url}/v1/analyze", b"x", "image/jpeg")
    assert status == 401 and "token" in body["error"]
    status, body = request(f"{url}/v1/capture", b"", "application/json", **auth)
    assert status == 409 and "--source" in body["error"]
    with connect(f"{photo_service.ws_url}/v1/stream") as ws:
        assert "token" in json.loads(ws.recv(timeout=10))["error"]
    with connect(f"{photo_service.ws_url}/v1/stream?token={TOKEN}") as ws:
        assert "without a camera" in json.loads(ws.recv(timeout=10))["error"]
    with connect(f"{photo_service.ws_url}/v1/stream?token={TOKEN}&fps=-1") as ws:
        assert "fps must be in" in json.loads(ws.recv(timeout=10))["error"]  # options first
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    page = urllib.request.urlopen(f"{url}/", timeout=10).read().decode()
    assert "<title>wds-edge kiosk</title>" in page  # the static page holds no data: no token


def test_requests_at_once_are_bounded_not_idle_connections(photo_service: Any) -> None:
    """Idle keep-alive connections do not count; requests being served do: past
    max_connections (12) a new one gets 503 at once (a WebSocket handshake too), and /healthz
    still answers."""
    host, port = urllib.parse.urlsplit(photo_service.url).netloc.split(":")
    auth = {"X-WDS-Token": TOKEN}
    held = []
    try:
        for _ in range(12):  # keep-alive connections that stay open, idle
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("GET", "/healthz", headers=auth)
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            held.append(conn)
        assert request(f"{photo_service.url}/healthz", **auth)[0] == 200
        uploads = []
        for _ in range(12):  # uploads that stop half-way hold every request slot
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.putrequest("POST", "/v1/analyze")
            for key, value in {
                **auth,
                "Content-Type": "image/jpeg",
                "Content-Length": "5000",
            }.items():
                conn.putheader(key, value)
            conn.endheaders(b"\xff" * 100)
            uploads.append(conn)
        deadline = time.monotonic() + 10
        status, body = 0, {}
        while time.monotonic() < deadline and status != 503:
            status, body = request(f"{photo_service.url}/v1/analyze", b"x", "image/jpeg", **auth)
        assert status == 503 and "busy" in body["error"]
        with pytest.raises(InvalidStatus) as refused:  # a stream is told the same, in HTTP
            connect(f"{photo_service.ws_url}/v1/stream?token={TOKEN}", open_timeout=10)
        assert refused.value.response.status_code == 503
        assert "busy" in json.loads(refused.value.response.body)["error"]
        assert request(f"{photo_service.url}/healthz", **auth)[0] == 200
        for conn in uploads:
            conn.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the closed uploads free their slots
            status, _ = request(f"{photo_service.url}/v1/analyze", b"x", "image/jpeg", **auth)
            if status != 503:
                break
            time.sleep(0.1)
        assert status == 400  # served again ("x" is no image)
    finally:
        for conn in held:
            conn.close()


def test_shutdown_closes_camera_and_threads(
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    start_service: Any,
    service_config: Any,
) -> None:
    before = {t.ident for t in threading.enumerate()}
    service = start_service(
        service_config(
            model_path=onnx_model_path, landmarker_path=landmarker_path, source=str(video_path)
        )
    )
    with connect(f"{service.ws_url}/v1/stream?fps=10", max_size=8 << 20) as ws:
        _results(ws, 2)
        engine = service.engine
        status, _ = request(f"{service.url}/v1/capture", b"", "application/json")
        assert status == 202  # a capture running at shutdown must not hold it up
        live = engine.live
        assert live.running and live.source_open
        service.stop()
        with pytest.raises(Exception):  # noqa: B017 - closed by the server, any close error
            for _ in range(100):
                ws.recv(timeout=10)
    assert not live.running and not live.source_open and live.camera_state == "closed"
    assert engine.analyzer._backend is None and engine.analyzer._landmarker is None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        # anyio's idle worker threads belong to the test process's pool, not the service
        left = [t for t in left if not t.name.startswith("AnyIO worker thread")]
        if not left:
            break
        time.sleep(0.2)
    assert not left, [t.name for t in left]
