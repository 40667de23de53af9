"""The ASGI application (Starlette): routes, token check, JSON errors, lifespan.

==========================  ============================================================
``GET /``                   the kiosk page (``static/index.html``; no build step)
``GET /healthz``            :meth:`ServiceEngine.health` as JSON
``POST /v1/analyze``        an image body (``image/jpeg``, ``image/png``) or a multipart
                            field ``image`` -> the JSON of ``wds-edge analyze --json``
                            (200 segmented, 422 no usable face: the body is the result);
                            errors ``{"status": "error", "error": ...}`` with 400 / 408 /
                            413 / 415
``POST /v1/capture``        start a capture (:class:`KioskSession` on the live camera),
                            ``Content-Type: application/json`` (415 otherwise): 202
                            ``{"status": "started", "id": 3, "run": "9f..."}``; 409
                            ``{"status": "error", "error": ..., "id": 2, "run": ...}``
                            while capture 2 runs, 409 without ``id`` without a working
                            camera. Ids start at 1 again when the service restarts;
                            ``run`` (new at each start) tells such captures apart
``GET /v1/capture``         ``{"status": "ok", "capture": {...}}``: the current or last
                            capture's state and final scores
                            (:meth:`LiveAnalysis.capture_state`, the stream's
                            ``capture``); ``{"status": "none", "capture": null}`` before
                            the first capture or without a camera
``WS /v1/stream``           live results (:mod:`wds_edge.service.stream`); plain HTTP
                            on that path gets 426 Upgrade Required
==========================  ============================================================

Every request first passes :class:`wds_edge.service.guard.RequestGuard`: Host / Origin
checks (:mod:`wds_edge.service.origin`), the bound on requests at once, shutdown.

Analyses run in worker threads (``anyio.to_thread``), one at a time per backend (the
engine's lock; posted photos are decoded at most ``IMAGE_SLOTS`` at a time), so the event
loop keeps serving health checks and streams meanwhile. A posted photo waits for its slot
in the event loop, not in a worker thread, so queued uploads cannot take the thread pool
that stream encoding and static files need.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from wds_edge.errors import InvalidInputError
from wds_edge.perception.expression import check_capture_expression
from wds_edge.service.auth import TOKEN_HEADER, token_ok
from wds_edge.service.config import ServiceConfig
from wds_edge.service.engine import IMAGE_SLOTS, ServiceEngine
from wds_edge.service.guard import RequestGuard
from wds_edge.service.stream import EncodedCache, stream_endpoint
from wds_edge.service.uploads import (
    MULTIPART,
    ClientGone,
    RequestError,
    check_content_type,
    multipart_image,
    read_body_limited,
)

__all__ = ["create_app", "STATIC_DIR"]

logger = logging.getLogger(__name__)

#: The kiosk page's files (package data).
STATIC_DIR = Path(__file__).with_name("static")


def error_response(status_code: int, message: str) -> JSONResponse:
    """``{"status": "error", "error": message}`` with ``status_code``."""
    return JSONResponse({"status": "error", "error": message}, status_code=status_code)


def _engine(request: Request) -> ServiceEngine:
    return request.app.state.engine


def _authorised(request: Request) -> JSONResponse | None:
    config: ServiceConfig = request.app.state.config
    if token_ok(config.token, request.headers, request.query_params):
        return None
    return error_response(
        401, f"missing or wrong token: send it in the {TOKEN_HEADER.upper()} header"
    )


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


async def healthz(request: Request) -> Response:
    denied = _authorised(request)
    if denied is not None:
        return denied
    return JSONResponse(_engine(request).health())


async def analyze(request: Request) -> Response:
    denied = _authorised(request)
    if denied is not None:
        return denied
    config: ServiceConfig = request.app.state.config
    try:
        media = check_content_type(request.headers.get("content-type"))
        body = await read_body_limited(
            request.headers, request.stream(), config.max_body_bytes, config.body_timeout_s
        )
        name = "upload"
        if media == MULTIPART:
            body = await multipart_image(request.headers, body)
            name = "upload (multipart)"
        engine = _engine(request)
        # the photo slot is taken here, without a thread: a request waiting for it holds
        # none of the thread pool's 40 threads, which stream encoding and static files need
        await _check_still_wanted(request, engine)
        async with request.app.state.photo_slots:
            await _check_still_wanted(request, engine)  # the wait may have been long
            status, data = await run_in_threadpool(engine.analyze_bytes, body, name)
    except ClientGone as exc:  # one line, not Starlette's ClientDisconnect traceback
        client = request.client.host if request.client else "?"
        logger.warning("POST /v1/analyze from %s: %s", client, exc)
        return Response(status_code=400)  # nobody is there to read it
    except RequestError as exc:
        return request_error_response(exc)
    except InvalidInputError as exc:
        return error_response(400, str(exc))
    return JSONResponse(data, status_code=status)


async def _check_still_wanted(request: Request, engine: ServiceEngine) -> None:
    """Refuse to decode and analyse a photo nobody waits for: a client that went away,
    or a service shutting down (a 503, as the guard answers then)."""
    engine.check_open()
    if await request.is_disconnected():
        raise ClientGone(-1)


def request_error_response(exc: RequestError) -> JSONResponse:
    """The error answer of a refused request; a 408 also closes the connection (the rest
    of the body is not awaited, so the connection cannot carry another request)."""
    response = error_response(exc.status_code, str(exc))
    if exc.status_code == 408:
        response.headers["connection"] = "close"
    return response


async def capture_start(request: Request) -> Response:
    denied = _authorised(request)
    if denied is not None:
        return denied
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != "application/json":  # a cross-site page cannot send JSON without a preflight
        return error_response(
            415,
            f"POST /v1/capture needs Content-Type: application/json (got {media or 'none'!r}); "
            + _CAPTURE_ADVICE,
        )
    try:
        config: ServiceConfig = request.app.state.config
        body = await read_body_limited(
            request.headers, request.stream(), _CAPTURE_BODY_BYTES, config.body_timeout_s,
            allow_empty=True, what="the capture request's body", advice=_CAPTURE_ADVICE,
        )  # fmt: skip
        expression = _capture_expression(body)
    except ClientGone:
        return Response(status_code=400)
    except RequestError as exc:
        return request_error_response(exc)
    except InvalidInputError as exc:
        return error_response(400, str(exc))
    try:
        started, capture_id = _engine(request).start_capture(expression)
    except InvalidInputError as exc:
        return error_response(409, str(exc))
    run = _engine(request).require_live().run_id
    if not started:
        message = f"capture {capture_id} is still running; wait for its result"
        return JSONResponse(
            {"status": "error", "error": message, "id": capture_id, "run": run}, 409
        )
    return JSONResponse({"status": "started", "id": capture_id, "run": run}, status_code=202)


#: A capture request's body is ``{}`` or ``{"expression": ...}``: a few bytes.
_CAPTURE_BODY_BYTES = 1024
_CAPTURE_ADVICE = 'send an empty body, {} or {"expression": "raise_brows"}'


def _capture_expression(body: bytes) -> str | None:
    """The ``expression`` a ``POST /v1/capture`` body asks for (``None``: the default)."""
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"the capture request's body is not JSON ({exc})") from None
    except RecursionError:  # nested deeper than the parser's stack
        raise InvalidInputError(
            'the capture request\'s body must be {} or {"expression": ...} (got deeply nested JSON)'
        ) from None
    if not isinstance(data, dict) or set(data) - {"expression"}:
        raise InvalidInputError(
            'the capture request\'s body must be {} or {"expression": ...} '
            f"(got {str(data)[:80]!r})"
        )
    expression = data.get("expression")
    return None if expression is None else check_capture_expression(expression)


async def capture_state(request: Request) -> Response:
    denied = _authorised(request)
    if denied is not None:
        return denied
    live = _engine(request).live
    state = live.capture_state() if live is not None else None
    # the capture's own keys (its "status" among them) stay inside "capture": the envelope's
    # "status" is always "ok" or "none", whatever the capture's status is
    return JSONResponse({"status": "none" if state is None else "ok", "capture": state})


async def capture(request: Request) -> Response:
    """``/v1/capture``: POST starts a capture, GET (HEAD) says the current one's state."""
    if request.method == "POST":
        return await capture_start(request)
    return await capture_state(request)


#: Every method a plain HTTP request to ``/v1/stream`` may come with (all get 426).
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def stream_without_websocket(request: Request) -> Response:
    """``/v1/stream`` asked for over plain HTTP: 426, saying how to connect."""
    host = request.headers.get("host") or "HOST"
    response = error_response(
        426,
        f"{request.url.path} is a WebSocket: connect with a WebSocket "
        f"(ws://{host}/v1/stream, wss:// behind TLS), not with {request.method}",
    )
    response.headers["upgrade"] = "websocket"
    return response


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, f"no such endpoint {request.url.path}; see GET / and /healthz")


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    response = error_response(405, f"{request.method} is not allowed on {request.url.path}")
    # RFC 9110 15.5.6: a 405 carries Allow (Starlette's HTTPException has it; StaticFiles'
    # has it only from some Starlette release on, not at the 0.37 floor)
    response.headers.update(getattr(exc, "headers", None) or {})
    if "allow" not in response.headers and request.url.path.startswith("/static/"):
        response.headers["allow"] = "GET, HEAD"
    return response


def create_app(config: ServiceConfig, engine: ServiceEngine | None = None) -> Starlette:
    """The service's ASGI application.

    Args:
        config: the settings (limits, token).
        engine: an existing engine (tests); ``None`` creates one at startup from
            ``config`` and closes it at shutdown (the lifespan), so a SIGTERM to the
            server releases the camera and the backend.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine if engine is not None else ServiceEngine(config)
        app.state.photo_slots = anyio.Semaphore(IMAGE_SLOTS)
        try:
            yield
        finally:
            if owned:
                app.state.engine.close()

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/v1/analyze", analyze, methods=["POST"]),
        # one route for both methods, so a 405 there says Allow: GET, HEAD, POST (each
        # route answers a method it lacks with its own methods only)
        Route("/v1/capture", capture, methods=["GET", "POST"]),
        WebSocketRoute("/v1/stream", stream_endpoint),
        Route("/v1/stream", stream_without_websocket, methods=_HTTP_METHODS),  # plain HTTP
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestGuard, config=config)],
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.config = config
    app.state.stream_cache = EncodedCache()
    return app
