"""The Host / Origin rules of the service (wds_edge.service.origin), case by case; the same
rules against a real server: test_attacks.py."""

from __future__ import annotations

import pytest

from wds_edge.service.config import ServiceConfig
from wds_edge.service.origin import (
    allowed_host_names,
    host_allowed,
    local_addresses,
    origin_matches,
    page_urls,
    split_host,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:8765", ("127.0.0.1", 8765)), ("LocalHost", ("localhost", None)),
     ("[::1]:8765", ("::1", 8765)), ("kiosk.local.", ("kiosk.local", None)),
     ("evil.example:99999", None), ("a b", None), ("user@127.0.0.1", None), ("", None),
     ("[::1", None), ("127.0.0.1:\u00b2", None), ("127.0.0.1:\u0661", None)],
)  # fmt: skip
def test_split_host(value: str, expected: object) -> None:
    assert split_host(value) == expected


def test_allowed_names_follow_the_bind_and_the_operator() -> None:
    loopback = allowed_host_names(ServiceConfig())
    assert loopback == {"localhost", "127.0.0.1", "::1"}
    bound = allowed_host_names(ServiceConfig(host="192.168.1.20", allowed_hosts=["Kiosk.Local"]))
    assert {"192.168.1.20", "kiosk.local", "127.0.0.1"} <= bound
    assert host_allowed("kiosk.local:8765", bound) and not host_allowed("evil.example", bound)
    assert not host_allowed(None, bound)
    assert host_allowed("anything.example", allowed_host_names(ServiceConfig(allowed_hosts=["*"])))


def test_the_bound_address_is_allowed_loopback_and_wildcard_included() -> None:
    """127.0.0.2 (loopback, but not a loopback name) and 0.0.0.0 themselves were refused,
    and a wildcard bind allowed this machine's name but none of its addresses."""
    assert "127.0.0.2" in allowed_host_names(ServiceConfig(host="127.0.0.2"))
    wildcard = allowed_host_names(ServiceConfig(host="0.0.0.0"))
    assert {"0.0.0.0", *local_addresses()} <= wildcard
    assert "::" in allowed_host_names(ServiceConfig(host="::"))
    assert page_urls("127.0.0.2", 8765) == ["http://127.0.0.2:8765/"]
    assert page_urls("::1", 8765) == ["http://[::1]:8765/"]
    pages = page_urls("0.0.0.0", 8765)
    assert pages[0] == "http://127.0.0.1:8765/" and "http://0.0.0.0:8765/" not in pages
    assert all("[" not in page for page in pages)  # IPv4 only for 0.0.0.0


@pytest.mark.parametrize(
    ("host", "local", "allowed"),
    [("10.9.8.7:8765", "10.9.8.7", True),  # the address the connection reached
     ("10.9.8.7", "::ffff:10.9.8.7", True),  # as a dual-stack socket reports it
     ("[fd00::7]:8765", "fd00::7", True),
     ("10.9.8.6:8765", "10.9.8.7", False),
     ("evil.example:8765", "10.9.8.7", False),  # a rebinding page's own name
     ("10.9.8.7:8765", None, False)],
)  # fmt: skip
def test_host_naming_the_reached_address_is_allowed(
    host: str, local: str | None, allowed: bool
) -> None:
    names = allowed_host_names(ServiceConfig())
    assert host_allowed(host, names, local) is allowed


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [("http://127.0.0.1:8765", "127.0.0.1:8765", True),
     ("http://127.0.0.1:8766", "127.0.0.1:8765", False),  # another port: another origin
     ("http://localhost:8765", "127.0.0.1:8765", False),
     ("https://kiosk.local", "kiosk.local", True),  # behind a TLS proxy: default ports
     ("http://kiosk.local", "kiosk.local:443", False),
     ("http://[::1]:8765", "[::1]:8765", True),
     ("null", "127.0.0.1:8765", False),
     ("file://", "127.0.0.1:8765", False),
     ("http://127.0.0.1:8765/path", "127.0.0.1:8765", False),
     ("http://127.0.0.1:8765", None, False)],
)  # fmt: skip
def test_origin_must_be_the_servers_own(origin: str, host: str | None, same: bool) -> None:
    assert origin_matches(origin, host) is same
