"""The kiosk as a local web service: ``wds-edge serve`` (Starlette on uvicorn).

An application of the SDK beside :mod:`wds_edge.demo` and :mod:`wds_edge.bench`. The
camera loop is the SDK's :class:`wds_edge.analysis.live.LiveAnalysis`; this package
only puts it, and single-photo analysis, behind HTTP / WebSocket endpoints and serves
the kiosk page. Starlette, uvicorn, python-multipart and websockets are the optional
``service`` extra (``pip install '.[service]'`` in the checkout); they are imported when a
server is built, not when this package is.
"""

from __future__ import annotations

from wds_edge.service.config import ServiceConfig, is_loopback_host

__all__ = ["ServiceConfig", "is_loopback_host"]
