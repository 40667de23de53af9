"""A local HTTP + WebSocket service, for kiosk front-ends written in other languages.

Usage:
    python sdk_examples/http_service.py [--port 8765] [--model MODEL.onnx]

Endpoints (bound to 127.0.0.1 only: the kiosk's own UI talks to it, nobody else):

* ``GET /health`` -> ``{"status": "ok", "model": {...}}``
* ``POST /analyze`` with an encoded image (JPEG / PNG / ...) as the body ->
  the :meth:`FrameResult.to_dict` JSON (``status``, ``prompt``, ``scores``, ``timings_ms``...);
  an unreadable image -> HTTP 400 ``{"status": "error", "error": "..."}``.
* ``WS /stream``: send each camera frame as a binary message (encoded image); every
  frame is answered with a text message ``{"prompt", "status", "good_frames", "done"}``
  (plus ``"final"`` once done). Send the text message ``reset`` for the next person.

Only the standard library is used: ``http.server`` plus the few lines of RFC 6455
(WebSocket) a local service needs. Python's built-in server is fine for one kiosk on
localhost; it is not meant to face a network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import struct
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from wds_edge import InvalidInputError, KioskSession, WrinkleAnalyzer, __version__
from wds_edge.io import decode_image

HOST = "127.0.0.1"
MAX_BODY_BYTES = 32 * 1024 * 1024
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3


class WebSocket:
    """Server side of one WebSocket connection (RFC 6455) over a handler's streams."""

    def __init__(self, rfile: Any, wfile: Any) -> None:
        self.rfile, self.wfile = rfile, wfile

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("client closed the connection")
        return data

    def receive(self) -> tuple[int, bytes]:
        """The next complete message as (opcode, payload); answers pings itself."""
        parts: list[bytes] = []
        opcode = 0
        while True:
            head, length_byte = self._read_exact(2)
            fin, frame_opcode = head & 0x80, head & 0x0F
            masked, length = length_byte & 0x80, length_byte & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", self._read_exact(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", self._read_exact(8))
            if length > MAX_BODY_BYTES or not masked:  # clients must mask (RFC 6455 5.1)
                self.send(0x8, struct.pack(">H", 1009 if masked else 1002))
                raise ConnectionError("frame too large or unmasked")
            mask = self._read_exact(4)
            raw = np.frombuffer(self._read_exact(length), np.uint8)
            payload = (raw ^ np.resize(np.frombuffer(mask, np.uint8), length)).tobytes()
            if frame_opcode == 0x9:  # ping
                self.send(0xA, payload)
                continue
            if frame_opcode in (0x8, 0xA):  # close / pong
                if frame_opcode == 0x8:
                    return 0x8, payload
                continue
            if frame_opcode:
                opcode = frame_opcode
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        self.wfile.write(header + payload)
        self.wfile.flush()

    def send_json(self, obj: Any) -> None:
        self.send(0x1, json.dumps(obj).encode("utf-8"))


def make_handler(analyzer: WrinkleAnalyzer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one analyzer (calls are serialized by a lock)."""
    lock = threading.Lock()  # one analyzer: MediaPipe and the backend run one frame at a time

    class Handler(BaseHTTPRequestHandler):
        server_version = f"wds-edge/{__version__}"
        timeout = 60  # seconds a silent client may hold a connection

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass  # quiet: a kiosk logs elsewhere

        def _json(self, status: int, obj: Any) -> None:
            body = json.dumps(obj).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path == "/health":
                self._json(HTTPStatus.OK, {"status": "ok", "model": analyzer.model_info})
            elif self.path == "/stream":
                self._stream()
            else:
                self._json(HTTPStatus.NOT_FOUND, {"status": "error", "error": "unknown path"})

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            if self.path.split("?")[0] != "/analyze":
                self._json(HTTPStatus.NOT_FOUND, {"status": "error", "error": "unknown path"})
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._json(
                    HTTPStatus.LENGTH_REQUIRED, {"status": "error", "error": "send Content-Length"}
                )
                return
            if int(length) > MAX_BODY_BYTES:
                self._json(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {"status": "error", "error": f"images up to {MAX_BODY_BYTES} bytes"},
                )
                return
            data = self.rfile.read(int(length))
            try:
                image = decode_image(data, source="request body")
            except InvalidInputError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"status": "error", "error": str(exc)})
                return
            with lock:
                result = analyzer.analyze(image)
            self._json(HTTPStatus.OK, result.to_dict())

        def _stream(self) -> None:
            key = self.headers.get("Sec-WebSocket-Key")
            if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
                self._json(
                    HTTPStatus.BAD_REQUEST,
                    {"status": "error", "error": "/stream needs a WebSocket upgrade"},
                )
                return
            accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
            self.send_response(HTTPStatus.SWITCHING_PROTOCOLS)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            ws = WebSocket(self.rfile, self.wfile)
            session = KioskSession(analyzer)
            try:
                while True:
                    opcode, payload = ws.receive()
                    if opcode == 0x8:
                        ws.send(0x8, payload[:2])
                        return
                    if opcode == 0x1:
                        if payload.strip() == b"reset":
                            session.reset()
                            ws.send_json({"prompt": "reset", "done": False, "good_frames": 0})
                        continue
                    try:
                        image = decode_image(payload, source="frame")
                    except InvalidInputError as exc:
                        ws.send_json({"status": "error", "error": str(exc)})
                        continue
                    with lock:
                        update = session.feed(image)
                    message = {
                        "prompt": update.prompt,
                        "status": update.status.value,
                        "good_frames": update.good_frames,
                        "done": update.done,
                    }
                    if update.done:
                        message["final"] = session.final_result().to_dict()
                    ws.send_json(message)
            except (ConnectionError, OSError):
                return  # the client went away: nothing to clean up but the session

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    parser.add_argument("--model", default=None, help="wds-edge .onnx model (default: bundled)")
    parser.add_argument("--landmarker", default=None, help="face_landmarker.task")
    parser.add_argument("--backend", default="auto", help="auto | onnxruntime | tensorrt")
    args = parser.parse_args(argv)

    with WrinkleAnalyzer(
        model_path=args.model, landmarker_path=args.landmarker, backend=args.backend
    ) as analyzer:
        server = ThreadingHTTPServer((HOST, args.port), make_handler(analyzer))
        server.daemon_threads = True  # open WebSockets do not keep the process alive
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"listening on http://{HOST}:{server.server_address[1]}", flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
