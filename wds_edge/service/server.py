"""Running the service on uvicorn: loopback by default, bounded, clean on SIGTERM.

uvicorn handles SIGINT / SIGTERM by refusing new connections, letting open requests
finish (``graceful_timeout_s``), then running the application's lifespan shutdown,
which closes the camera and the backend (:meth:`ServiceEngine.close`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from wds_edge._deps import require
from wds_edge.errors import InvalidInputError
from wds_edge.service.config import ServiceConfig, is_loopback_host

__all__ = ["build_server", "run_server", "bind_socket", "check_bind", "REMOTE_WARNING"]

logger = logging.getLogger(__name__)

REMOTE_WARNING = (
    "wds-edge serve is listening on {host}, beyond this machine: anyone who can reach "
    "{port} and knows the token can use the camera and the model. Prefer 127.0.0.1 "
    "behind the kiosk's own browser."
)

_STOP = (signal.SIGINT, signal.SIGTERM)

#: Largest WebSocket message accepted from a client (option updates are a few bytes).
WS_MAX_MESSAGE_BYTES = 64 * 1024


def check_bind(config: ServiceConfig, port: int | None = None) -> str | None:
    """Refuse a non-loopback host without ``allow_remote`` and a token; return the
    warning to show.

    Args:
        config: the settings.
        port: the port actually bound (``config.port`` may be 0: any free one); ``None``:
            ``config.port`` (0 reads "the port it picks").

    Raises:
        InvalidInputError: a non-loopback host without ``allow_remote``, or without a token.
    """
    if is_loopback_host(config.host):
        return None
    if not config.allow_remote:
        raise InvalidInputError(
            f"--host {config.host} is not a loopback address; the service would be reachable "
            "from the network. Pass --allow-remote and a --token if that is what you want"
        )
    if not config.token:
        raise InvalidInputError(
            f"--host {config.host} with --allow-remote needs a --token (or "
            "$WDS_EDGE_SERVICE_TOKEN): without one anyone on the network could use the "
            "camera and read the results. Generate one with `openssl rand -hex 16`"
        )
    port = config.port if port is None else port
    return REMOTE_WARNING.format(
        host=config.host, port=f"port {port}" if port else "the port it picks"
    )


def bind_socket(config: ServiceConfig) -> socket.socket:
    """Bind the listening socket now, before the model loads, so a busy port fails at once.

    Raises:
        InvalidInputError: the address cannot be bound (port in use, no such address).
    """
    host = config.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, config.port))
    except OSError as exc:
        sock.close()
        raise InvalidInputError(_bind_error(config, exc)) from None
    sock.set_inheritable(True)
    return sock


#: What to give --host instead of an address that cannot be bound.
_HOST_ADVICE = (
    "check --host: 127.0.0.1 serves this machine only; with --allow-remote, 0.0.0.0 (every "
    "interface) or one of this machine's own addresses (`ip -brief address`)"
)


def _bind_error(config: ServiceConfig, exc: OSError) -> str:
    """The one-line message of a failed bind: the port's advice only for a port in use,
    the host's for a name or address that is not this machine's."""
    host = config.host.strip("[]")
    where = f"cannot listen on {f'[{host}]' if ':' in host else host}:{config.port}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: it is in use by another program; stop it or choose another --port"
    if isinstance(exc, socket.gaierror):  # not an address, and no name that resolves
        return (
            f"{where}: {host} is neither an address nor a name this machine can resolve "
            f"({exc.strerror}); {_HOST_ADVICE}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: {host} is not an address of this machine; {_HOST_ADVICE}"
    if exc.errno == errno.EACCES and 0 < config.port < 1024:
        return f"{where}: ports below 1024 need privileges; choose another --port (e.g. 8765)"
    return f"{where}: {exc.strerror or exc}; check --host and --port"


def require_service_deps() -> Any:
    """Import the ``service`` extra's packages (uvicorn is returned).

    Raises:
        MissingDependencyError: one is missing (the message says ``pip install
            '.[service]'`` in the checkout).
    """
    require("starlette", "wds-edge serve")
    try:  # python-multipart >= 0.0.13 names its module python_multipart
        import python_multipart  # noqa: F401
    except ImportError:
        require("multipart", "wds-edge serve (multipart uploads)")
    require("websockets", "wds-edge serve (WebSocket stream)")
    return require("uvicorn", "wds-edge serve")


def build_server(config: ServiceConfig, *, engine: Any = None, log_level: str = "warning") -> Any:
    """A ``uvicorn.Server`` for the service (not started).

    Args:
        config: the settings.
        engine: an existing :class:`wds_edge.service.engine.ServiceEngine` (tests), or
            ``None`` to create one at startup and close it at shutdown.
        log_level: uvicorn's log level.

    Raises:
        MissingDependencyError: the ``service`` extra is not installed.
        InvalidInputError: a non-loopback host without ``allow_remote``.
    """
    check_bind(config)
    uvicorn = require_service_deps()
    from wds_edge.service.app import create_app
    from wds_edge.service.protocol import guarded_protocol, guarded_ws_protocol

    uv_config = uvicorn.Config(
        create_app(config, engine),
        host=config.host,
        port=config.port,
        # uvicorn's sans-I/O websockets protocol with a deadline on a send to a client
        # that stopped reading
        ws=guarded_ws_protocol(config.stream_send_timeout_s),
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,  # JPEGs do not compress; save the CPU
        # requests and streams are counted by RequestGuard (which never refuses /healthz);
        # uvicorn's limit_concurrency would count idle sockets and refuse health checks
        http=guarded_protocol(config.header_timeout_s, config.max_open_connections),
        limit_concurrency=None,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        h11_max_incomplete_event_size=64 * 1024,  # request line + headers
        lifespan="on",
        log_level=log_level,
        access_log=False,
    )
    return uvicorn.Server(uv_config)


def run_server(
    config: ServiceConfig,
    *,
    log_level: str = "warning",
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Load the model, open the camera, serve until SIGINT / SIGTERM, then close both.

    A SIGINT / SIGTERM while the model loads stops it once the load returns (nothing
    listens; it returns normally), a second one at once (KeyboardInterrupt for SIGINT,
    the default action for SIGTERM).

    Args:
        config: the settings (see :class:`ServiceConfig`).
        log_level: uvicorn's log level.
        on_started: called with the base URL (``http://host:port``, the real port when
            ``port`` is 0) once the server listens.

    Raises:
        InvalidInputError / MissingDependencyError: see :func:`build_server`.
        ModelError / BackendError / CaptureError: the model or the camera cannot open
            (raised by the startup, before anything listens).
    """
    check_bind(config)
    with _stop_signals() as stop:  # Ctrl-C / SIGTERM from here on stop it cleanly
        require_service_deps()  # before the model loads: a missing extra fails at once
        from wds_edge.service.engine import ServiceEngine

        sock = bind_socket(config)  # a busy port fails here, before the model loads
        warning = check_bind(config, port=sock.getsockname()[1])  # the real port, not 0
        if warning:
            logger.warning(warning)  # once, here (the CLI does not repeat it)
        try:
            engine = ServiceEngine(config)  # model / camera errors surface here
        except BaseException:
            sock.close()
            raise
        try:
            if stop.received:  # stopped while loading: never listen
                return
            server = build_server(config, engine=engine, log_level=log_level)
            stop.server = server  # a signal before uvicorn's handlers are in stops it
            if on_started is not None:
                original = server.startup

                async def startup(sockets: Any = None) -> None:
                    await original(sockets=sockets)
                    if server.started and not server.should_exit:
                        on_started(base_url(server))

                server.startup = startup  # type: ignore[method-assign]
            server.run(sockets=[sock])  # returns after SIGINT / SIGTERM
        finally:
            sock.close()
            engine.close()


class _StopSignals:
    """What :func:`_stop_signals` saw: ``received`` signals; ``server`` once built."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.server: Any = None

    def handle(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if self.server is not None:
            # built, and uvicorn's own handlers not in yet (or gone again: uvicorn
            # re-raises the signal it stopped for once it has restored these)
            self.server.should_exit = True
            return
        if len(self.received) == 1:
            name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            logger.warning(
                "%s while loading: the service stops once the model has loaded and the camera "
                "has opened (a second %s stops it at once)", name, name,
            )  # fmt: skip
            return
        # a second signal while loading: what it did before these handlers
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


@contextlib.contextmanager
def _stop_signals() -> Iterator[_StopSignals]:
    """SIGINT / SIGTERM handlers for the whole of :func:`run_server`, installed before the
    model loads (a load takes seconds; with Python's defaults a Ctrl-C then ended in a
    KeyboardInterrupt, exit 130, and a SIGTERM killed the process, the camera and the
    backend never closed): a signal during the load stops the service once the load
    returns, a second one at once. While uvicorn runs, its own handlers take the signals
    (graceful shutdown) and re-raise the one it stopped for after restoring these, which
    take it, so the caller's cleanup runs and the exit code is 0."""
    stop = _StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, stop.handle) for sig in _STOP}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stop.received:
            names = ", ".join(signal.Signals(n).name for n in stop.received)
            logger.info("stopped by signal %s", names)


def base_url(server: Any) -> str:
    """``http://host:port`` of a started ``uvicorn.Server`` (the bound port, not 0)."""
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            host, port = sock.getsockname()[:2]
            if ":" in host:
                host = f"[{host}]"
            return f"http://{host}:{port}"
    return f"http://{server.config.host}:{server.config.port}"
