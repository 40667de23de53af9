"""``WS /v1/stream``: the live camera's newest results, at the rate the client asks for.

Query parameters (all optional): ``image`` = ``overlay`` (default: the frame with the
wrinkle overlay as JPEG), ``mask`` (the crop-space wrinkle mask as PNG; place it with
``crop_transform``) or ``none``; ``fps`` = messages per second (default 5, at most the
service's ``stream_max_fps``); ``quality`` = JPEG quality 30-95 (default 80); ``token``
(browsers cannot set WebSocket headers). A client may change ``image`` / ``fps`` /
``quality`` later by sending a text message ``{"image": "mask", "fps": 2}`` (a message
with one refused value changes nothing and is answered ``{"type": "error", ...}``).

Every message is one JSON text frame (``scores`` fused over the last ``fused_frames``
segmented frames, :class:`~wds_edge.analysis.running.RunningScore`)::

    {"type": "result", "seq": 41, "status": "ok", "prompt": "hold still", "ok": true,
     "segmented": true, "scores": {"overall": {...RegionScore...}, "forehead": {...}},
     "fused_frames": 8,
     "timings_ms": {...}, "frame_shape": [720, 1280], "face_box_px": [...],
     "crop_transform": {...}, "age_ms": 35.2, "capture": {...} | null,
     "image": {"type": "image/jpeg", "base64": "..."} | null}

and, while the camera is not running, ``{"type": "camera", "state": "lost", "capture":
{...} | null}`` (or ``starting``, ``error``, ``ended``) once a second, carrying the
capture's state so a page sees a capture time out while no frame comes. The stream
closes (1000) after ``ended``; a camera that failed for good (the live loop stopped, state
``error``) gets that note, then ``{"type": "error", "error": "the camera has failed
(...)"}`` and a close with :data:`CLOSE_CAMERA_FAILED` (4410): a reconnect cannot bring it
back, only a restart of the service. ``capture`` is the current or last capture
(:meth:`~wds_edge.analysis.live.LiveAnalysis.capture_state`: ``id`` and ``run``, as ids
start at 1 again when the service restarts and ``run`` changes; ``state``, ``prompt``,
progress and, once it ended, ``final`` or ``error``), ``null`` before the first.
Back-pressure: the sender only ever takes the newest snapshot; while a send waits for
a slow client, newer results replace older ones, and nothing is queued.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
from typing import Any

import anyio
import cv2
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from wds_edge.analysis.live import LiveSnapshot
from wds_edge.analysis.overlay import draw_overlay
from wds_edge.errors import InvalidInputError
from wds_edge.service.auth import token_ok

__all__ = [
    "StreamOptions",
    "EncodedCache",
    "stream_endpoint",
    "snapshot_message",
    "encode_snapshot_image",
    "IMAGE_KINDS",
]

logger = logging.getLogger(__name__)

IMAGE_KINDS = ("overlay", "mask", "none")
#: WebSocket close codes (RFC 6455 private range 4000-4999 for the service's own reasons).
CLOSE_UNAUTHORISED = 4401
CLOSE_NO_CAMERA = 4409
CLOSE_BAD_OPTIONS = 4400
#: the camera failed for good (the live loop stopped): the reason is in the error message
#: sent just before and in the close frame's reason
CLOSE_CAMERA_FAILED = 4410
#: How often a waiting sender looks again at the client's ``fps``.
_RATE_CHECK_S = 0.25


class StreamOptions:
    """What a stream client asked for (validated; see the module docstring)."""

    def __init__(self, image: str = "overlay", fps: float = 5.0, quality: int = 80) -> None:
        self.image, self.fps, self.quality = image, fps, quality

    def update(self, values: Any, max_fps: float) -> None:
        """Apply ``{"image", "fps", "quality"}`` (strings allowed, as in a query string):
        all of them, or none when one is refused.

        Raises:
            InvalidInputError: an unknown key or an out-of-range value (nothing applied).
        """
        if not hasattr(values, "items"):
            raise InvalidInputError('expected a JSON object like {"image": "mask", "fps": 2}')
        image, fps, quality = self.image, self.fps, self.quality
        for key, value in values.items():
            if key == "token":
                continue
            if key == "image":
                if value not in IMAGE_KINDS:
                    raise InvalidInputError(f"image must be one of {IMAGE_KINDS}, got {value!r}")
                image = str(value)
            elif key == "fps":
                fps = _number(key, value)
                if not 0.0 < fps <= max_fps:
                    raise InvalidInputError(f"fps must be in (0, {max_fps:g}], got {value!r}")
            elif key == "quality":
                quality = int(_number(key, value))
                if not 30 <= quality <= 95:
                    raise InvalidInputError(f"quality must be in [30, 95], got {value!r}")
            else:
                raise InvalidInputError(
                    f"unknown stream option {key!r}; use image, fps, quality (and token)"
                )
        self.image, self.fps, self.quality = image, fps, quality


def _number(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(number):  # "nan", "inf", 1e999
        raise InvalidInputError(f"{key} must be a finite number, got {value!r}")
    return number


def encode_snapshot_image(snap: LiveSnapshot, kind: str, quality: int) -> dict[str, str] | None:
    """The snapshot's picture for a stream message.

    Returns:
        ``{"type": "image/jpeg", "base64": ...}`` for ``overlay`` (the frame, BGR, with
        :func:`draw_overlay`'s mask tint, crop box and region outlines), ``{"type":
        "image/png", ...}`` for ``mask`` (crop-space S x S, 0 / 255; ``None`` when the
        frame was not segmented), ``None`` for ``none``.
    """
    if kind == "overlay":
        canvas = draw_overlay(snap.frame_bgr, snap.result, show_regions=True, show_scores=False)
        ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        media = "image/jpeg"
    elif kind == "mask" and snap.result.wrinkle_mask is not None:
        ok, buf = cv2.imencode(".png", snap.result.wrinkle_mask.astype("uint8") * 255)
        media = "image/png"
    else:
        return None
    if not ok:  # pragma: no cover - encoding a uint8 BGR / grey image does not fail
        return None
    return {"type": media, "base64": base64.b64encode(buf.tobytes()).decode("ascii")}


class EncodedCache:
    """The last few encoded pictures, shared by every stream client (encode once)."""

    def __init__(self, size: int = 6) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[int, str, int], dict[str, str] | None] = {}
        self._size = size

    def get(self, snap: LiveSnapshot, kind: str, quality: int) -> dict[str, str] | None:
        key = (snap.seq, kind, quality)
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = encode_snapshot_image(snap, kind, quality)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.pop(next(iter(self._items)))
        return value


def snapshot_message(snap: LiveSnapshot, image: dict[str, str] | None) -> dict[str, Any]:
    """The JSON stream message of a snapshot (keys: see the module docstring)."""
    data = snap.result.to_dict()
    return {
        "type": "result",
        "seq": snap.seq,
        "status": data["status"],
        "prompt": data["prompt"],
        "ok": snap.result.ok,
        "segmented": data["segmented"],
        "scores": data["scores"],
        "fused_frames": snap.fused_frames,
        "timings_ms": data["timings_ms"],
        "frame_shape": data["frame_shape"],
        "face_box_px": data["face_box_px"],
        "crop_transform": data["crop_transform"],
        "age_ms": round((time.monotonic() - snap.capture_time_s) * 1000.0, 1),
        "capture": snap.session,
        "image": image,
    }


async def _receive_options(ws: WebSocket, options: StreamOptions, max_fps: float) -> None:
    """Apply the client's option messages until it disconnects."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            error = 'send options as a JSON text message, e.g. {"fps": 2}'
            await ws.send_text(json.dumps({"type": "error", "error": error}))
            continue
        try:
            options.update(json.loads(text), max_fps)
        except (InvalidInputError, json.JSONDecodeError) as exc:
            await ws.send_text(json.dumps({"type": "error", "error": str(exc)}))
        except RecursionError:  # JSON nested deeper than the parser's stack
            error = 'options must be a flat JSON object, e.g. {"fps": 2}'
            await ws.send_text(json.dumps({"type": "error", "error": error}))


async def _send_results(ws: WebSocket, live: Any, options: StreamOptions, cache: Any) -> None:
    seq, last_camera_note = 0, 0.0
    while True:
        started = time.monotonic()
        snap = live.latest()
        if snap is not None and snap.seq > seq and live.camera_state != "lost":
            image = None
            if options.image != "none":
                image = await run_in_threadpool(cache.get, snap, options.image, options.quality)
            await ws.send_text(json.dumps(snapshot_message(snap, image)))
            seq = snap.seq
        elif live.camera_state != "running" and started - last_camera_note >= 1.0:
            last_camera_note = started
            note = {"type": "camera", "state": live.camera_state, "capture": live.capture_state()}
            await ws.send_text(json.dumps(note))
            if not live.running:
                if live.camera_state == "error":
                    await _close_camera_failed(ws, live)
                    raise _StreamClosed
                return
        await _wait_for_next(options, started)


class _StreamClosed(Exception):
    """The sender closed the stream itself (no normal close after it)."""


def camera_failed_message(last_error: str | None) -> str:
    """What a client is told when the camera failed for good (also the 409 of a capture)."""
    detail = f" ({last_error})" if last_error else ""
    return (
        f"the camera has failed{detail}; restart the service once the camera works "
        "(GET /healthz shows its state)"
    )


async def _close_camera_failed(ws: WebSocket, live: Any) -> None:
    message = camera_failed_message(live.last_error)
    await ws.send_text(json.dumps({"type": "error", "error": message}))
    # a close reason is at most 123 bytes (RFC 6455 5.5): the message above is whole
    reason = message.encode("utf-8")[:123].decode("utf-8", "ignore")
    await ws.close(CLOSE_CAMERA_FAILED, reason=reason)


async def _wait_for_next(options: StreamOptions, started: float) -> None:
    """Sleep until the next message is due at the client's rate; a new ``fps`` sent
    meanwhile counts from the next quarter second, not after the old period."""
    await anyio.sleep(0.005)
    while (wait := 1.0 / options.fps - (time.monotonic() - started)) > 0:
        await anyio.sleep(min(wait, _RATE_CHECK_S))


async def stream_endpoint(ws: WebSocket) -> None:
    """The ``/v1/stream`` handler (see the module docstring)."""
    config = ws.app.state.config
    engine = ws.app.state.engine
    await ws.accept()
    if not token_ok(config.token, ws.headers, ws.query_params):
        await ws.send_text(json.dumps({"type": "error", "error": "missing or wrong token"}))
        await ws.close(CLOSE_UNAUTHORISED)
        return
    options = StreamOptions(fps=min(5.0, config.stream_max_fps))
    try:
        options.update(dict(ws.query_params), config.stream_max_fps)
    except InvalidInputError as exc:
        await ws.send_text(json.dumps({"type": "error", "error": str(exc)}))
        await ws.close(CLOSE_BAD_OPTIONS)
        return
    try:
        live = engine.require_live()
    except InvalidInputError as exc:
        await ws.send_text(json.dumps({"type": "error", "error": str(exc)}))
        await ws.close(CLOSE_NO_CAMERA)
        return
    cache = ws.app.state.stream_cache
    try:
        async with anyio.create_task_group() as group:

            async def receive() -> None:
                await _receive_options(ws, options, config.stream_max_fps)

            group.start_soon(receive)
            await _send_results(ws, live, options, cache)
            group.cancel_scope.cancel()
        await ws.close()
    except Exception as exc:
        if _only(exc, _StreamClosed):
            logger.debug("stream closed: the camera has failed")
        elif _only_disconnects(exc):
            logger.debug("stream client went away")
        else:  # a bug, or the client vanished mid-send; the connection is gone either way
            logger.warning("stream ended: %r", exc)


def _only_disconnects(exc: BaseException) -> bool:
    """True for a WebSocketDisconnect, also wrapped in (nested) exception groups."""
    return _only(exc, WebSocketDisconnect)


def _only(exc: BaseException, kind: type[BaseException]) -> bool:
    """True for a ``kind``, also wrapped in (nested) exception groups."""
    inner = getattr(exc, "exceptions", None)
    if inner is not None:
        return all(_only(e, kind) for e in inner)
    return isinstance(exc, kind)
