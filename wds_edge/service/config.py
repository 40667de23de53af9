"""Settings of the local web service (``wds-edge serve``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from wds_edge.analysis.session import SessionConfig

__all__ = ["ServiceConfig", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServiceConfig(BaseModel):
    """Options of :func:`wds_edge.service.server.run_server` (the CLI's ``serve`` options).

    Attributes:
        host / port: where to listen; loopback unless ``allow_remote`` (port 0: any free one).
        allow_remote: permit a non-loopback ``host`` (a warning is logged; set a ``token``).
        token: shared secret; when set every API request must carry it in the
            ``X-WDS-Token`` header (or ``Authorization: Bearer``; WebSockets from a browser,
            which cannot set headers, may pass ``?token=``). ``None``: no check.
        source: camera / stream / video file for the live stream and the capture
            (``None``: no camera; ``/v1/stream`` and ``/v1/capture`` answer 409).
        model_path / backend / precision / landmarker_path / threshold / num_threads: as
            :class:`wds_edge.analysis.analyzer.AnalyzerConfig`.
        max_body_bytes: largest accepted request body (413 beyond, from Content-Length
            before anything is read, or as soon as a chunked body passes it).
        max_image_pixels: largest image (width x height, read from the image header
            before decoding; 413 beyond).
        max_connections: concurrent connections (HTTP and WebSocket) before new ones
            get 503.
        stream_max_fps: the highest message rate a stream client may ask for.
        loop_source: start a video file over at its end (a kiosk demo on a clip).
        session: settings of the captures (``frames_needed``, ``max_frames``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    allow_remote: bool = False
    token: str | None = None
    source: str | None = None
    model_path: Path | None = None
    backend: str = "auto"
    precision: str = "fp16"
    landmarker_path: Path | None = None
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    num_threads: int | None = Field(None, ge=1)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=1)
    max_connections: int = Field(32, ge=1)
    stream_max_fps: float = Field(15.0, gt=0.0)
    loop_source: bool = True
    session: SessionConfig = Field(default_factory=SessionConfig)
