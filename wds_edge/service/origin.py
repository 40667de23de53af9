"""Which web origins may talk to the service: ``Host`` names and ``Origin`` checks.

A kiosk's browser runs other pages too (ads in a help screen, a compromised site, a
DNS-rebinding page whose name resolves to 127.0.0.1). Three rules keep them out, token
or not (:class:`wds_edge.service.guard.RequestGuard` applies them to every request):

1. ``Host`` must name this server: a loopback name, the address it is bound to (for a
   wildcard bind: this machine's host name), or a name the operator allowed
   (``--allowed-host``). A rebinding page sends its own name and gets 400.
2. ``Origin``, when a browser sends one (every WebSocket, fetch and form POST), must be
   this server's own origin (same host and port as ``Host``); anything else, ``null``
   included, gets 403 (a WebSocket is refused before the upgrade).
3. ``Sec-Fetch-Site: cross-site`` / ``same-site`` (another page, or another port on the
   same machine) is refused on the API; the kiosk page itself may still be navigated to.

State-changing requests must also come in a form a cross-site page cannot send without
a CORS preflight (which the service never grants): ``POST /v1/capture`` only with
``Content-Type: application/json``, ``POST /v1/analyze`` with an image type (multipart is
still accepted for non-browser clients; browsers send an ``Origin`` with it, rule 2).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from wds_edge._checks import is_digits
from wds_edge.service.config import ServiceConfig, is_loopback_host

__all__ = [
    "LOOPBACK_NAMES",
    "allowed_host_names",
    "split_host",
    "host_allowed",
    "origin_matches",
]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _machine_names() -> set[str]:
    names: set[str] = set()
    try:
        for name in (socket.gethostname(), socket.getfqdn()):
            if name:
                names.add(name.lower().rstrip("."))
    except OSError:
        pass
    return names


def allowed_host_names(config: ServiceConfig) -> frozenset[str]:
    """The names a ``Host`` header may carry (lower case, IPv6 without brackets).

    Loopback names always; the bound address when it is not a wildcard; this machine's
    host name and FQDN for a wildcard bind (``0.0.0.0``, ``::``); ``config.allowed_hosts``
    (``*`` in it allows any name).
    """
    names = set(LOOPBACK_NAMES)
    bound = config.host.strip().strip("[]").lower()
    if bound in ("0.0.0.0", "::", ""):
        names |= _machine_names()
    elif not is_loopback_host(bound):
        names.add(bound)
    names |= set(config.allowed_hosts)
    return frozenset(names)


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"name:port"`` / ``"[::1]:8765"`` / ``"name"`` -> (lower-case name, port or None);
    ``None`` when it is malformed."""
    text = value.strip().lower()
    if not text or any(c in text for c in "/@?# \t"):
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    elif text.count(":") > 1:  # a bare IPv6 address (not valid in Host, but unambiguous)
        name, port_text = text, ""
    else:
        name, _, port_text = text.partition(":")
    if port_text:
        if not is_digits(port_text) or not 0 < int(port_text) < 65536:
            return None
        return name.rstrip("."), int(port_text)
    return name.rstrip("."), None


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    """Whether the request's ``Host`` header names this server (rule 1)."""
    if host_header is None:
        return False
    parsed = split_host(host_header)
    if parsed is None:
        return False
    return "*" in allowed or parsed[0] in allowed


def origin_matches(origin: str, host_header: str | None) -> bool:
    """Whether ``Origin`` is the server's own origin: same host name and port as the
    ``Host`` header (the scheme may differ behind a TLS proxy; a missing port means the
    scheme's default). ``null`` and malformed origins never match."""
    if host_header is None or origin.strip().lower() == "null":
        return False
    try:
        parts = urlsplit(origin.strip())
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return False
    host = split_host(host_header)
    if host is None:
        return False
    default = _DEFAULT_PORTS[parts.scheme]
    origin_port = origin_port if origin_port is not None else default
    host_port = host[1] if host[1] is not None else default
    return parts.hostname.rstrip(".") == host[0] and origin_port == host_port
