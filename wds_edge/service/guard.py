"""The service's outer ASGI layer: who may ask (Host / Origin), how many at once, shutdown.

:class:`RequestGuard` wraps the Starlette application (inside Starlette's error handler)
and, before a route sees a request or a WebSocket:

* refuses a ``Host`` that does not name this server (400), a foreign ``Origin`` (403;
  a WebSocket is refused before the upgrade) and cross-site fetch metadata on the API
  (403): the rules of :mod:`wds_edge.service.origin`;
* counts requests being served and open streams; past ``max_connections`` it answers
  503 at once (``GET /healthz`` is never counted or refused, so a monitor still sees the
  service while slow clients hold every slot until their timeouts);
* turns a request cut off by the server's shutdown (uvicorn cancels what is still
  running after its graceful period) into a 503 "shutting down" and one log line,
  instead of a 500 and a ``CancelledError`` traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from wds_edge.service.config import ServiceConfig
from wds_edge.service.origin import (
    allowed_host_names,
    host_allowed,
    origin_matches,
    page_urls,
    url_host,
)

__all__ = ["RequestGuard", "HEALTH_PATH"]

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
#: WebSocket close code for a refused handshake (policy violation).
CLOSE_POLICY = 1008
_CROSS_SITE = ("cross-site", "same-site")


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestGuard:
    """ASGI middleware (see the module docstring).

    Args:
        app: the application it guards.
        config: the service settings (bound host, ``allowed_hosts``, ``max_connections``).
    """

    def __init__(self, app: Any, config: ServiceConfig) -> None:
        self.app = app
        self.allowed_hosts = allowed_host_names(config)
        self.bound = (config.host, config.port)
        self.max_active = config.max_connections
        self.active = 0

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        """``(status, message)`` when the request must be refused for its origin."""
        host = _header(scope, b"host")
        local = scope.get("server")  # (address, port) this connection reached
        if not host_allowed(host, self.allowed_hosts, local[0] if local else None):
            # the address the client reached is one that works, whatever the bind
            url = f"http://{url_host(local[0])}:{local[1]}/" if local else page_urls(*self.bound)[0]
            if host is None:  # HTTP/1.0 may leave it out
                return 400, (
                    f"the request has no Host header; send one naming this service, or open "
                    f"it as {url}"
                )
            return 400, (
                f"the Host header {host!r} does not name this service; open it as {url} "
                "(or start it with --allowed-host NAME for another name)"
            )
        origin = _header(scope, b"origin")
        if origin is not None and not origin_matches(origin, host):
            return 403, (
                f"requests from the web origin {origin!r} are refused: only the service's "
                "own page may use it from a browser"
            )
        path = scope.get("path", "")
        site = (_header(scope, b"sec-fetch-site") or "").lower()
        if site in _CROSS_SITE and (path.startswith("/v1/") or path == HEALTH_PATH):
            return 403, f"{site} requests to {path} are refused (Sec-Fetch-Site: {site})"
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is not None:
            logger.info("refused %s %s: %s", scope["type"], scope.get("path"), refused[1])
            await _refuse(scope, send, *refused)
            return
        counted = not (scope["type"] == "http" and scope.get("path") == HEALTH_PATH)
        if counted and self.active >= self.max_active:
            message = (
                f"the service is busy ({self.active} requests and streams at once, the "
                "limit of --max-connections); try again in a moment"
            )
            await _refuse(scope, send, 503, message)
            return
        self.active += counted
        started = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError:
            # Only the server cancels the outermost task: its graceful period is over.
            logger.warning(
                "%s %s was cut off: the service is shutting down",
                scope.get("method", "WEBSOCKET"),
                scope.get("path"),
            )
            if scope["type"] == "http" and not started:
                await _refuse(scope, send, 503, "the service is shutting down; try again")
        finally:
            self.active -= counted


async def _refuse(scope: dict[str, Any], send: Any, status: int, message: str) -> None:
    body = json.dumps({"status": "error", "error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    kind = "http"
    if scope["type"] == "websocket":
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            # a server without the denial-response extension answers a close before the
            # accept with HTTP 403
            await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": message[:120]})
            return
        kind = "websocket.http"  # the handshake is answered with this status and body
    await send({"type": f"{kind}.response.start", "status": status, "headers": headers})
    await send({"type": f"{kind}.response.body", "body": body})
