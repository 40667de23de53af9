"""Settings of the local web service (``wds-edge serve``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wds_edge.analysis.session import SessionConfig
from wds_edge.capture.rotate import check_rotation

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
        allow_remote: permit a non-loopback ``host``; a ``token`` is then required.
        allowed_hosts: names (or addresses) besides the bound one and loopback that a
            request's ``Host`` header may carry, e.g. ``kiosk.local`` (``*``: any name;
            only behind a proxy that checks it). Other names get 400: this is what stops
            a DNS-rebinding page from reading the service through the kiosk's browser.
        token: shared secret; when set every API request must carry it in the
            ``X-WDS-Token`` header (or ``Authorization: Bearer``; WebSockets from a browser,
            which cannot set headers, may pass ``?token=``). ``None``: no check. An empty
            token is refused (it would silently mean "no check"), and so are one with
            surrounding whitespace (HTTP strips it from headers: clients would get 401) and
            one with a character that is not printable ASCII (a header carries bytes the
            service reads as Latin-1: a UTF-8 token never matched).
        source: camera / stream / video file for the live stream and the capture
            (``None``: no camera; ``/v1/stream`` and ``/v1/capture`` answer 409).
        model_path / backend / precision / device / landmarker_path / threshold /
            num_threads: as :class:`wds_edge.analysis.analyzer.AnalyzerConfig` (``device``:
            ``"CPU"`` / ``"GPU"`` / ``"NPU"`` / ``"AUTO"`` for OpenVINO, a CUDA index for
            TensorRT; ``None``: the backend's default; the backend refuses one it cannot use).
        max_body_bytes: largest accepted request body (413 beyond, from Content-Length
            before anything is read, or as soon as a chunked body passes it).
        max_image_pixels: largest image (width x height, read from the image header
            before decoding; 413 beyond).
        max_connections: requests being served plus open streams at once; more get 503
            (``GET /healthz`` is never refused by it). A stream holds its slot while it is
            open: one that stops reading gives it back after ``stream_send_timeout_s``.
        max_open_connections: open TCP connections; past it the oldest connection that
            has no request in progress is closed to make room.
        header_timeout_s: a connection must send a complete request head within this
            many seconds of opening (or of its previous response), else it is closed.
        body_timeout_s: an upload must arrive whole within this many seconds (408 after).
        stream_send_timeout_s: a stream message may wait this many seconds for the client
            to read the earlier ones (its socket's buffers are full); then the stream's
            connection is aborted and its request slot freed. A client that reads, even
            slowly, skips results instead (the sender only takes the newest).
        capture_timeout_s: a capture that has not collected its frames by then ends as
            ``timed_out`` (a camera that died mid-capture cannot hold the kiosk).
        stream_max_fps: the highest message rate a stream client may ask for.
        loop_source: start a video file over at its end (a kiosk demo on a clip).
        rotate: degrees clockwise every camera frame is turned by (0, 90, 180, 270): a
            camera mounted on its side or upside down. Posted photos are not turned.
        session: settings of the captures (``frames_needed``, ``max_frames``, ...).
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    allow_remote: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    token: str | None = None
    source: str | None = None
    model_path: Path | None = None
    backend: str = "auto"
    precision: str = "auto"
    device: str | int | None = None
    landmarker_path: Path | None = None
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    num_threads: int | None = Field(None, ge=1)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=1)
    max_connections: int = Field(32, ge=1)
    max_open_connections: int = Field(128, ge=2)
    header_timeout_s: float = Field(10.0, gt=0.0)
    body_timeout_s: float = Field(30.0, gt=0.0)
    stream_send_timeout_s: float = Field(10.0, gt=0.0)
    capture_timeout_s: float = Field(30.0, gt=0.0)
    stream_max_fps: float = Field(15.0, gt=0.0)
    loop_source: bool = True
    rotate: int = 0
    session: SessionConfig = Field(default_factory=SessionConfig)

    @field_validator("token")
    @classmethod
    def _token_not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "the token is empty, which would turn authentication off; give a real "
                "secret (e.g. `openssl rand -hex 16`) or leave --token out"
            )
        if value is not None and value != value.strip():
            # HTTP strips a header value's surrounding whitespace: only ?token= could match
            raise ValueError(
                "the token starts or ends with whitespace (a space, tab or newline); "
                "HTTP strips it from the X-WDS-Token and Authorization headers, so every "
                "client would get 401. Remove it (check $WDS_EDGE_SERVICE_TOKEN or the file it "
                "was read from for a trailing newline)"
            )
        if value is not None and not all(" " <= c <= "~" for c in value):
            # a header reaches the service as Latin-1 bytes, the token was compared as UTF-8:
            # every header client got 401, and a browser's fetch refuses to send one at all
            raise ValueError(
                "the token may hold only printable ASCII: letters, digits, punctuation and "
                "inner spaces (no accented letters or other non-ASCII characters, no tabs or "
                "control characters), as HTTP headers carry it; generate one with "
                "`openssl rand -hex 16`"
            )
        return value

    @field_validator("device")
    @classmethod
    def _device_not_empty(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "the device is empty; give an OpenVINO device (CPU, GPU, NPU, AUTO) or a CUDA "
                "device index (0, 1, ...), or leave --device out for the backend's default"
            )
        return value

    @field_validator("source")
    @classmethod
    def _source_not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "the source is empty; give a camera index (0), v4l2:///dev/video0, "
                "rtsp://... or a video file, or leave --source out for the photo API only"
            )
        return value

    @field_validator("rotate", mode="before")
    @classmethod
    def _rotation(cls, value: object) -> int:
        return check_rotation(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, value: list[str]) -> list[str]:
        names = [v.strip().lower().rstrip(".") for v in value]
        bad = [v for v in names if not v or "/" in v or " " in v]
        if bad:
            raise ValueError(
                f"allowed hosts must be host names or addresses (kiosk.local, 192.168.1.20), "
                f"without scheme or path; got {bad[0]!r}"
            )
        return names

    @model_validator(mode="after")
    def _limits_consistent(self) -> ServiceConfig:
        if self.max_open_connections <= self.max_connections:
            raise ValueError(
                f"max_open_connections ({self.max_open_connections}) must be larger than "
                f"max_connections ({self.max_connections})"
            )
        return self
