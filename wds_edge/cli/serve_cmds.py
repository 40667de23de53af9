"""`wds-edge serve`: the kiosk as a local web service and a browser page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from wds_edge.cli.options import (
    DEVICE_HELP,
    PRECISION_HELP,
    ROTATE_HELP,
    THRESHOLD_HELP,
    check_rotate,
    check_threshold,
)

if TYPE_CHECKING:
    from wds_edge.service.config import ServiceConfig

_HELP = """Serve the kiosk over HTTP on this machine: a browser page, a JSON API, a live stream.

Open http://127.0.0.1:8765/ in the kiosk's browser for the page (live overlay, prompt,
capture -> per-region scores). API: GET /healthz, POST /v1/analyze (a JPEG / PNG body
or a multipart field 'image' -> the JSON of `wds-edge analyze --json`), POST/GET
/v1/capture (POST with Content-Type: application/json), WS /v1/stream. Requests whose
Host is not this server (add names with --allowed-host) or that come from another web
page (Origin) are refused, token or not. Needs the service extra: pip install
'.\\[service]' in the wds-edge checkout. Stops cleanly (camera and model closed) on
Ctrl-C or SIGTERM.

Exit codes: 0 stopped by Ctrl-C / SIGTERM (during the model load too: it stops once the
load returns; a second Ctrl-C stops it at once, exit 130), 1 the camera cannot be opened,
2 usage (bad option, the address or the port cannot be used, the model cannot load),
checked before the model loads where possible.

Example: wds-edge serve --source 0
"""


def serve_cmd(
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on (loopback; others need --allow-remote)."
    ),
    port: int = typer.Option(8765, min=0, max=65535, help="TCP port (0: any free port)."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow a --host beyond loopback (needs --token)."
    ),
    allowed_host: list[str] = typer.Option(  # noqa: B008
        [],
        "--allowed-host",
        help="Another name the page may be opened as (Host header), e.g. kiosk.local; "
        "repeatable. Loopback names and the bound address are always allowed (with --host "
        "0.0.0.0 / :: also this machine's host name and addresses).",
    ),
    token: str | None = typer.Option(
        None,
        envvar="WDS_EDGE_SERVICE_TOKEN",
        help="Shared secret every API request must send in the X-WDS-Token header "
        "(the page: open /#token=SECRET). Required with --allow-remote; printable ASCII, "
        "never empty, no surrounding whitespace.",
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        "-s",
        help="Camera index (0), v4l2:///dev/video0, csi://0, rtsp://..., or a video file "
        "(played in real time, looped). Omit for the photo API only.",
    ),
    rotate: int = typer.Option(
        0,
        "--rotate",
        help=f"{ROTATE_HELP} The camera's frames only (needs --source): posted photos are not.",
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="wds-edge .onnx model (default: the bundled starter model)."
    ),
    backend: str = typer.Option(
        "auto", "--backend", "-b", help="auto | onnxruntime | openvino | tensorrt."
    ),
    precision: str = typer.Option(
        "auto",
        help=PRECISION_HELP,
    ),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    landmarker: Path | None = typer.Option(
        None, help="face_landmarker.task (default: $WDS_EDGE_FACE_LANDMARKER or the user cache)."
    ),
    threshold: float | None = typer.Option(None, help=THRESHOLD_HELP),
    threads: int | None = typer.Option(None, min=1, help="ONNX Runtime intra-op threads."),
    max_body_mb: float = typer.Option(16.0, min=0.01, help="Largest request body (MiB)."),
    max_connections: int = typer.Option(
        32, min=1, help="Requests and streams served at once (503 beyond; /healthz always answers)."
    ),
    header_timeout: float = typer.Option(
        10.0, min=0.1, help="Seconds a connection has to send its request head (then closed)."
    ),
    body_timeout: float = typer.Option(
        30.0, min=0.1, help="Seconds an upload has to arrive whole (408 after)."
    ),
    stream_send_timeout: float = typer.Option(
        10.0,
        min=0.1,
        help="Seconds a stream message may wait for a client that stopped reading (then its "
        "connection is closed and its slot freed).",
    ),
    capture_timeout: float = typer.Option(
        30.0, min=1.0, help="Seconds a capture may take before it ends as timed_out."
    ),
) -> None:
    from rich.console import Console

    from wds_edge.service.origin import is_wildcard_host, page_urls
    from wds_edge.service.server import check_bind, run_server

    check_threshold(threshold)
    check_rotate(rotate)
    if rotate and not source:
        from wds_edge.errors import InvalidInputError

        raise InvalidInputError(
            f"--rotate {rotate} turns the camera's frames, and there is no --source: photos "
            "posted to /v1/analyze are not turned (send them upright); give the camera with "
            "--source, or leave --rotate out"
        )
    console = Console(stderr=True)
    config = _service_config(
        host=host,
        port=port,
        allow_remote=allow_remote,
        allowed_hosts=allowed_host,
        token=token,
        source=source,
        rotate=rotate,
        model_path=model,
        backend=backend,
        precision=precision,
        device=device,
        landmarker_path=landmarker,
        threshold=threshold,
        num_threads=threads,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_connections=max_connections,
        max_open_connections=max(128, 4 * max_connections),
        header_timeout_s=header_timeout,
        body_timeout_s=body_timeout,
        stream_send_timeout_s=stream_send_timeout,
        capture_timeout_s=capture_timeout,
    )
    check_bind(config)  # refused before anything loads; run_server logs the warning once
    console.print(
        "loading the model" + (f" and opening {source}" if source else "") + "...", markup=False
    )

    def started(url: str) -> None:
        # stdout, one line, so scripts (and tests) can read the address of port 0
        pages = page_urls(host, urlsplit(url).port or port)
        page = pages[0]
        if is_wildcard_host(host):  # 0.0.0.0 itself is no address to give a browser
            others = f", {', '.join(pages[1:])} from other machines" if pages[1:] else ""
            page = f"{page} on this machine{others}; other names need --allowed-host"
        typer.echo(f"wds-edge serve: listening on {url} (page: {page}, stop: Ctrl-C)")

    run_server(config, on_started=started)
    console.print("stopped: camera and model closed")


def _service_config(**settings: Any) -> ServiceConfig:
    """``ServiceConfig(**settings)``; a refused token is reported without its value (the
    usual settings error quotes what was given, and a token is a secret)."""
    from pydantic import ValidationError

    from wds_edge.errors import InvalidInputError
    from wds_edge.service.config import ServiceConfig

    try:
        return ServiceConfig(**settings)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if tuple(error.get("loc", ()))[:1] == ("token",):
                message = str(error.get("msg", "")).removeprefix("Value error, ")
                raise InvalidInputError(f"invalid --token (not shown): {message}") from None
        raise


def register(app: typer.Typer) -> None:
    """Add `serve` to `app`."""
    app.command("serve", help=_HELP)(serve_cmd)
