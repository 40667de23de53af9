"""uvicorn's HTTP and WebSocket protocols with the bounds a kiosk needs against idle sockets.

uvicorn has no deadline for a request head: a connection that sends nothing, or a
header a byte at a time, is held forever, and ``limit_concurrency`` counts it, so 40
such sockets made every request (``/healthz`` too) answer 503. :func:`guarded_protocol`
returns a subclass of ``uvicorn.protocols.http.h11_impl.H11Protocol`` that

* closes a connection whose request head is not complete ``header_timeout_s`` after it
  opened or after its previous response (bytes trickling in do not extend it);
* when more than ``max_open`` connections are open, closes the one that has waited
  longest without a request in progress (an idle or half-sent head), so a new client,
  e.g. a health check, always gets in.

A WebSocket that stops reading is the third case: the server's messages pile up in the
socket's send buffer until a send waits for room that never comes, and the stream holds
its request slot (:class:`wds_edge.service.guard.RequestGuard`) forever: uvicorn's
keepalive ping cannot help (its ping waits behind the unread frames, and its close only
flushes them first). :func:`guarded_ws_protocol` subclasses uvicorn's WebSocket protocol
so that a send which has waited ``send_timeout_s`` for the client to read aborts the
connection: one log line, the handler's send raises a disconnect, and the slot is freed.

The request body has its own deadline in the application
(:func:`wds_edge.service.uploads.read_body_limited`), and the number of requests being
served is bounded by :class:`wds_edge.service.guard.RequestGuard`, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from typing import Any

__all__ = ["guarded_protocol", "guarded_ws_protocol"]

logger = logging.getLogger(__name__)


def guarded_protocol(header_timeout_s: float, max_open: int) -> type:
    """An ``H11Protocol`` subclass with a request-head deadline and idle eviction.

    Args:
        header_timeout_s: seconds a connection has to deliver a complete request head.
        max_open: open HTTP connections before the oldest idle one is closed.

    Raises:
        MissingDependencyError: uvicorn (the ``service`` extra) is not installed.
    """
    from wds_edge._deps import require

    require("uvicorn", "wds-edge serve")
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_timer: Any = None
            self._waiting_since = time.monotonic()

        # -- the head deadline ------------------------------------------------------------

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._waiting_since = time.monotonic()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _idle(self) -> bool:
            """No request of this connection is being served."""
            return self.cycle is None or self.cycle.response_complete

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._idle() and not self.transport.is_closing():
                logger.info(
                    "closed a connection from %s: no complete request within %.0f s",
                    _peer(self.client), header_timeout_s,
                )  # fmt: skip
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()
            if len(self.connections) > max_open:
                self._evict_idle()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a request head arrived: the app takes over
                self._cancel_head_timer()

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._cancel_head_timer()
            super().handle_websocket_upgrade(event)

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm_head_timer()  # before super(): a pipelined request cancels it
            super().on_response_complete()

        # -- eviction -----------------------------------------------------------------------

        def _evict_idle(self) -> None:
            idle = [
                c for c in list(self.connections)
                if isinstance(c, GuardedH11Protocol) and c is not self and c._idle()
                and c.transport is not None and not c.transport.is_closing()
            ]  # fmt: skip
            if not idle:
                return
            oldest = min(idle, key=lambda c: c._waiting_since)
            logger.info(
                "%d connections open (limit %d): closed an idle one from %s",
                len(self.connections), max_open, _peer(oldest.client),
            )  # fmt: skip
            oldest.transport.close()

    return GuardedH11Protocol


def guarded_ws_protocol(send_timeout_s: float) -> type:
    """uvicorn's sans-I/O ``websockets`` protocol with a send deadline.

    A message the application sends while the client has not read the earlier ones (the
    transport's write buffer is above its high-water mark: uvicorn clears the protocol's
    ``writable`` event) waits at most ``send_timeout_s`` for the buffer to drain; then the
    connection is aborted (RST, the unsent frames dropped) and the send raises the
    disconnect uvicorn raises for a client that went away (Starlette:
    ``WebSocketDisconnect(1006)``). Sends of a client that reads, however slowly, each wait
    less than that.

    The protocol is named, not ``ws="auto"``'s pick (the legacy ``websockets`` protocol up
    to uvicorn 0.49). Its flow control (``pause_writing`` clearing ``writable``) exists
    from uvicorn 0.53, the ``service`` extra's floor: before it a send never waited, and
    the unread frames piled up in the transport's buffer, in memory, without end (and its
    WebSocket refusals sent ``Content-Length`` twice).

    Args:
        send_timeout_s: seconds a send may wait for the client to read.

    Raises:
        MissingDependencyError: uvicorn or websockets (the ``service`` extra) is not
            installed.
    """
    from wds_edge._deps import require

    require("uvicorn", "wds-edge serve")
    require("websockets", "wds-edge serve")
    from uvicorn.protocols.utils import ClientDisconnected
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):  # type: ignore[misc, valid-type]
        async def send(self, message: Any) -> None:
            if not self.writable.is_set():
                try:
                    await asyncio.wait_for(self.writable.wait(), send_timeout_s)
                except asyncio.TimeoutError:
                    if not self.transport.is_closing():
                        logger.warning(
                            "closed the WebSocket of %s: it read nothing for %g s "
                            "(--stream-send-timeout)",
                            _peer(self.client), send_timeout_s,
                        )  # fmt: skip
                        _abort(self.transport)
                    # what uvicorn raises for a client that went away (Starlette turns it
                    # into WebSocketDisconnect(1006)): the frame is not sent
                    raise ClientDisconnected from None
            await super().send(message)

    return GuardedWebSocketProtocol


def _abort(transport: Any) -> None:
    """Close a connection at once, with a reset: ``close()`` would wait for the unread
    frames to go out (never), and even ``abort()`` leaves the kernel delivering what its
    send buffer holds (megabytes, to a client that reads nothing) from an orphaned
    socket; a zero linger time drops them."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _peer(client: tuple[str, int] | None) -> str:
    return "?" if client is None else f"{client[0]}:{client[1]}"
