"""A client of `wds-edge serve`: post one photo, then read the live stream for a while.

Usage:
    wds-edge serve --source 0                    # in another terminal
    python sdk_examples/service_client.py FACE.jpg [--url http://127.0.0.1:8765] [--seconds 5]
        [--capture [--expression raise_brows]]

Only the standard library and `websockets` (part of the service extra: `pip install
'.[service]'`) are used, as a front-end in another process would. Prints the photo's
per-region wrinkle ratios, then one line per stream message (status, prompt, overall
ratio); with --capture it then runs a capture on the camera and prints its final scores
(--expression raise_brows: a capture with raised brows, for the forehead lines).
The service refuses other web pages: a state change such as starting a capture must be
JSON (`Content-Type: application/json`), and the Host must name the service.

Exit codes: 0 done; 1 the service answered an error, a capture failed, or the service cannot
be reached (not started, wrong --url); 2 the photo cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class PhotoError(Exception):
    """The photo file cannot be read (missing, a folder, no permission): bad input, exit 2."""


class ServiceError(Exception):
    """The service (or whatever answers at --url) failed: exit 1."""


def _wds_body(url: str, code: int, reason: str, body: bytes) -> dict:
    """The JSON object a wds-edge service answers with: a ``status`` string, and with
    ``"status": "error"`` an ``error`` string (its errors; a 422 from /v1/analyze carries
    the analyze result, whose ``status`` says why there are no scores).

    Raises:
        ServiceError: any other body (--url names another web server: an HTML page, or
            another framework's JSON such as FastAPI's ``{"detail": "Not Found"}``).
    """
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    ours = isinstance(answer, dict) and isinstance(answer.get("status"), str)
    if ours and answer["status"] == "error":
        ours = isinstance(answer.get("error"), str)
    if not ours:
        raise ServiceError(
            f"{url} answered {code} {reason} without a wds-edge JSON body: is --url "
            "the address `wds-edge serve` printed?"
        ) from None
    return answer


def _error_body(url: str, exc: urllib.error.HTTPError) -> dict:
    """The JSON a wds-edge service sends with an HTTP error status (:func:`_wds_body`)."""
    return _wds_body(url, exc.code, exc.reason, exc.read())


def analyze_photo(url: str, path: str, token: str | None) -> tuple[int, dict]:
    """POST the photo to /v1/analyze: (HTTP status, the JSON of `wds-edge analyze --json`).

    Raises:
        PhotoError: the photo cannot be read (before the service is contacted).
        urllib.error.URLError: the service cannot be reached.
    """
    content_type = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    headers = {"Content-Type": content_type, **({"X-WDS-Token": token} if token else {})}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise PhotoError(
            f"cannot read the photo {path} ({exc.strerror or exc}); pass the path of a JPEG or "
            "PNG face photo"
        ) from None
    request = urllib.request.Request(f"{url}/v1/analyze", data, headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            return response.status, _wds_body(url, response.status, response.reason, body)
    except urllib.error.HTTPError as exc:  # 422 (no usable face) still carries the result
        return exc.code, _error_body(url, exc)


def capture(
    url: str, token: str | None, expression: str = "neutral", timeout_s: float = 60.0
) -> dict:
    """Start a capture (a JSON POST: the only form the service accepts for it) asking the
    face for ``expression`` ("neutral" or "raise_brows") and poll GET /v1/capture until it
    is done or timed out; returns its last state (the ``capture`` of GET /v1/capture's
    ``{"status": "ok", "capture": {...}}``), or the service's error."""
    headers = {"Content-Type": "application/json", **({"X-WDS-Token": token} if token else {})}
    body = json.dumps({"expression": expression}).encode()
    request = urllib.request.Request(f"{url}/v1/capture", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            started = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 409: no camera, the camera is down, one running
        return _error_body(url, exc)
    # ids start at 1 again when the service restarts: its run tells such captures apart
    capture_id, run = started["id"], started.get("run")
    deadline = time.monotonic() + timeout_s
    while True:
        poll = urllib.request.Request(f"{url}/v1/capture", headers=headers)
        with urllib.request.urlopen(poll, timeout=30) as response:
            state = json.loads(response.read())["capture"] or {}
        ours = state.get("id") == capture_id and state.get("run") == run
        if ours and state.get("state") != "collecting":
            return state
        if time.monotonic() > deadline:
            return {"status": "error", "error": f"capture {capture_id} still running"}
        time.sleep(0.5)


def read_stream(url: str, seconds: float, token: str | None) -> int:
    """Print the stream's results for ``seconds`` (no pictures); returns how many came.

    Raises:
        ConnectionError: the stream could not be opened or broke off.
        ServiceError: the service sent an error (no camera, a wrong token, ...).
    """
    from websockets.exceptions import WebSocketException

    try:
        return _read_stream(url, seconds, token)
    except WebSocketException as exc:  # refused handshake, connection closed mid-stream
        raise ConnectionError(f"the stream failed: {exc}") from exc


def _read_stream(url: str, seconds: float, token: str | None) -> int:
    from websockets.sync.client import connect

    # URL-encoded: a token may hold '+', '&', '%' or '#' (a bare '+' would arrive as a space)
    query = urllib.parse.urlencode(
        {"image": "none", "fps": 5, **({"token": token} if token else {})}
    )
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    count, end = 0, time.monotonic() + seconds
    with connect(f"{ws_url}/v1/stream?{query}") as ws:
        while time.monotonic() < end:
            message = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic() + 5)))
            if message["type"] == "error":
                raise ServiceError(f"stream: {message['error']} (--seconds 0 posts the photo only)")
            if message["type"] == "result":
                overall = message["scores"].get("overall", {}).get("wrinkle_ratio")
                ratio = "-" if overall is None else f"{100 * overall:.2f} %"
                print(f"frame {message['seq']}: {message['status']} ({message['prompt']}) {ratio}")
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 the service failed or cannot be reached, 2 bad input (photo)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", help="a face photo (JPEG or PNG)")
    parser.add_argument("--url", default="http://127.0.0.1:8765", help="the service")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to read the stream")
    parser.add_argument("--token", default=os.environ.get("WDS_EDGE_SERVICE_TOKEN"))
    parser.add_argument("--capture", action="store_true", help="then run a capture")
    parser.add_argument(
        "--expression", default="neutral", choices=("neutral", "raise_brows"),
        help="what the capture asks of the face",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # `wds-edge serve` prints its page as http://127.0.0.1:8765/: every URL below adds /v1/...
    args.url = args.url.rstrip("/")
    try:
        return run(args)
    except PhotoError as exc:  # bad input
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as exc:  # an answer the steps above do not expect
        print(f"error: {args.url} answered {exc.code} {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:  # URLError, a refused or broken connection, a timeout
        reason = getattr(exc, "reason", None) or exc
        print(
            f"error: cannot reach the service at {args.url} ({reason}); start it with "
            "`wds-edge serve` or pass its address with --url",
            file=sys.stderr,
        )
        return 1


def run(args: argparse.Namespace) -> int:
    """Photo, stream, capture, as the command line asked; the exit code."""
    status, result = analyze_photo(args.url, args.photo, args.token)
    if result.get("status") == "error":
        print(f"error {status}: {result['error']}", file=sys.stderr)
        return 1
    print(f"{args.photo}: {result['status']} ({result['prompt']})")
    for region, score in result["scores"].items():
        print(f"  {region:18s} {100 * score['wrinkle_ratio']:6.2f} %")
    if args.seconds > 0:
        print(f"stream: {read_stream(args.url, args.seconds, args.token)} results")
    if args.capture:
        state = capture(args.url, args.token, args.expression)
        if state.get("state") != "done":
            print(f"capture: {state.get('error', state)}", file=sys.stderr)
            return 1
        final = state.get("final")
        if final is None:  # done, but every frame was refused (no face, blurry, ...): no scores
            print(f"capture {state['id']}: {state.get('error', state)}", file=sys.stderr)
            return 1
        overall = final["scores"]["overall"]["wrinkle_ratio"]
        warnings = ", ".join(final["warnings"]) or "no warning"
        print(f"capture {state['id']} ({final['capture']}): {final['frames_used']} good frames, "
              f"overall {100 * overall:.2f} % ({warnings})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
