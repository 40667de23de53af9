"""Which web origins may talk to the service: ``Host`` names and ``Origin`` checks.

A kiosk's browser runs other pages too (ads in a help screen, a compromised site, a
DNS-rebinding page whose name resolves to 127.0.0.1). Three rules keep them out, token
or not (:class:`wds_edge.service.guard.RequestGuard` applies them to every request):

1. ``Host`` must name this server: a loopback name, the address it is bound to (for a
   wildcard bind also this machine's host name and addresses), the address the request's
   connection reached (an IP literal: only the server's own page is served under it),
   or a name the operator allowed (``--allowed-host``). A rebinding page sends its own
   name and gets 400.
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

import ipaddress
import socket
from urllib.parse import urlsplit

from wds_edge._checks import is_digits
from wds_edge.service.config import ServiceConfig

__all__ = [
    "LOOPBACK_NAMES",
    "allowed_host_names",
    "is_wildcard_host",
    "local_addresses",
    "page_urls",
    "url_host",
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


def is_wildcard_host(host: str) -> bool:
    """True for a bind to every address (``0.0.0.0``, ``::``, empty)."""
    return host.strip().strip("[]") in ("0.0.0.0", "::", "")


def _plain_address(address: str) -> str:
    """An IP address as a ``Host`` header names it: lower case, no zone, an IPv4-mapped
    IPv6 address (what a dual-stack socket reports for an IPv4 client) as IPv4."""
    text = address.strip().strip("[]").lower()
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return text
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


#: Addresses a UDP socket is "connected" to (no packet is sent) to learn which local
#: address this machine would reach the network from (documentation ranges: RFC 5737 / 3849).
_PROBE_ADDRESSES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))


def local_addresses() -> set[str]:
    """This machine's own IP addresses, as far as the standard library can tell: those
    its host name and FQDN resolve to, and the one it reaches the network from (per
    family). Loopback ones included; IPv6 link-local ones (which need a zone) left out.
    """
    found: set[str] = set()
    for name in _machine_names():
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            continue
        found.update(str(info[4][0]) for info in infos)
    for family, probe in _PROBE_ADDRESSES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                found.add(str(sock.getsockname()[0]))
        except OSError:  # no route in that family
            continue
    addresses = set()
    for address in found:
        plain = _plain_address(address)
        try:
            if ipaddress.ip_address(plain).is_link_local:
                continue
        except ValueError:
            continue
        addresses.add(plain)
    return addresses


def allowed_host_names(config: ServiceConfig) -> frozenset[str]:
    """The names a ``Host`` header may carry (lower case, IPv6 without brackets).

    Loopback names and the bound address always (a wildcard's ``0.0.0.0`` / ``::`` too);
    for a wildcard bind also this machine's host name, FQDN and addresses
    (:func:`local_addresses`); ``config.allowed_hosts`` (``*`` in it allows any name).
    :func:`host_allowed` also takes the address a request's connection reached.
    """
    names = set(LOOPBACK_NAMES)
    bound = config.host.strip().strip("[]").lower()
    if bound:
        names.add(_plain_address(bound))
    if is_wildcard_host(bound):
        names |= _machine_names() | local_addresses()
    names |= set(config.allowed_hosts)
    return frozenset(names)


def url_host(address: str) -> str:
    """An address as the host part of a URL (IPv6 in brackets, IPv4-mapped as IPv4)."""
    plain = _plain_address(address)
    return f"[{plain}]" if ":" in plain else plain


def page_urls(bound_host: str, port: int) -> list[str]:
    """URLs the kiosk page answers at for a server bound to ``bound_host``:``port``.

    A specific address: that one. A wildcard: loopback (on this machine) first, then this
    machine's other addresses (from other machines; IPv4 only for ``0.0.0.0``). Any other
    name must be allowed with ``--allowed-host``.
    """
    if not is_wildcard_host(bound_host):
        return [f"http://{url_host(bound_host)}:{port}/"]
    ipv4_only = bound_host.strip() == "0.0.0.0"
    others = []
    for address in sorted(local_addresses()):
        ip = ipaddress.ip_address(address)
        if ip.is_loopback or (ipv4_only and ip.version == 6):
            continue
        others.append((ip.version, address))
    return [f"http://127.0.0.1:{port}/"] + [
        f"http://{url_host(address)}:{port}/" for _, address in sorted(others)
    ]


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


def host_allowed(
    host_header: str | None, allowed: frozenset[str], local_address: str | None = None
) -> bool:
    """Whether the request's ``Host`` header names this server (rule 1).

    ``local_address``: the address the request's connection reached (ASGI
    ``scope["server"]``). A ``Host`` naming it as an IP literal is the server itself: a
    page can only send such a ``Host`` if it was loaded from this very address, so a
    DNS-rebinding page (whose ``Host`` is its own name) never does. This lets a wildcard
    bind answer on addresses :func:`local_addresses` could not see.
    """
    if host_header is None:
        return False
    parsed = split_host(host_header)
    if parsed is None:
        return False
    if "*" in allowed or parsed[0] in allowed:
        return True
    return local_address is not None and _plain_address(parsed[0]) == _plain_address(local_address)


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
