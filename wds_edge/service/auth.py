"""The optional shared-secret token of the service (for anything beyond loopback)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

__all__ = ["TOKEN_HEADER", "token_ok"]

#: Header carrying the shared secret when the service has a token.
TOKEN_HEADER = "x-wds-token"


def token_ok(expected: str | None, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """Whether a request carries the service's token (always True when it has none).

    Looked for in the ``X-WDS-Token`` header, then ``Authorization: Bearer <token>``, then
    the ``token`` query parameter (browsers cannot set headers on a WebSocket). Compared
    in constant time.
    """
    if expected is None:
        return True
    given = headers.get(TOKEN_HEADER) or ""
    auth = headers.get("authorization") or ""
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if not given:
        given = query.get("token") or ""
    return hmac.compare_digest(given.encode(), expected.encode())
