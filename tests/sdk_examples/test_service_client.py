"""service_client.py against a real `wds-edge serve` process (the clip as its camera)."""

from __future__ import annotations

import contextlib
import http.server
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="needs the service extra")
pytest.importorskip("websockets", reason="needs the service extra")


@contextlib.contextmanager
def _serve(
    model: Path, env: dict, source: Path | None, log_path: Path, *extra: str
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`wds-edge serve` on a free port with ``source`` as its camera (None: no camera);
    stopped with SIGTERM.

    Yields ``(process, base URL, log file)``.
    """
    log = log_path.open("w+")  # a file, not a pipe: a full pipe would block it
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "wds_edge.cli", "-v", "serve", "--port", "0",
            "--model", str(model), "--backend", "onnxruntime", "--threads", "1",
            *(("--source", str(source)) if source is not None else ()), *extra,
        ],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env,
    )  # fmt: skip
    try:
        deadline, line = time.monotonic() + 90, ""
        while time.monotonic() < deadline and "listening on" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"wds-edge serve exited: {log_path.read_text()}")
        assert "listening on http://127.0.0.1:" in line
        yield proc, line.split("listening on ")[1].split()[0], log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            log.close()


@pytest.fixture()
def served(example_model: Path, example_env: dict, video_path: Path, tmp_path: Path):  # noqa: ANN201
    """`wds-edge serve` with the kiosk clip as its camera; SIGTERM must stop it with 0."""
    with _serve(example_model, example_env, video_path, tmp_path / "serve.log") as running:
        yield running


def _faceless_video(path: Path, frames: int = 60) -> Path:
    """A short grey video with nobody in it (the service loops it as its camera)."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((240, 320, 3), 90 + i % 20, np.uint8))
    writer.release()
    return path


def test_service_client(served, example_runner, example_env: dict, faces_dir: Path) -> None:  # noqa: ANN001
    proc, url, log = served
    photo = faces_dir / "biden2.jpg"
    run = example_runner(
        "service_client.py",
        [str(photo), "--url", url, "--seconds", "4", "--capture", "--expression", "raise_brows"],
        example_env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0] == f"{photo}: ok (hold still)"
    assert any(line.strip().startswith("overall") and line.endswith("%") for line in lines)
    assert any(line.startswith("frame ") for line in lines)
    assert int(lines[-2].split()[1]) >= 1  # "stream: N results"
    assert lines[-1].startswith("capture 1 (raise_brows): ") and "good frames, overall" in lines[-1]
    assert lines[-1].endswith("(brows_not_raised)")  # the clip's face never raises its brows

    bad = example_runner("service_client.py", [__file__, "--url", url], example_env)
    assert bad.returncode == 1 and "error 400" in bad.stderr

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0  # clean shutdown: camera and model closed
    err = log.read_text()
    assert "service engine closed (camera and backend released)" in err
    assert "stopped: camera and model closed" in err


def test_a_capture_where_every_frame_is_refused_is_told_not_a_traceback(
    example_model: Path,
    example_env: dict,
    example_runner,
    faces_dir: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """Nobody in front of the camera: the capture ends "done" with ``"final": null`` (every
    frame refused, as documented); the client says why and exits 1."""
    video = _faceless_video(tmp_path / "empty.mp4")
    with _serve(example_model, example_env, video, tmp_path / "serve.log") as (_, url, _log):
        run = example_runner(
            "service_client.py",
            [str(faces_dir / "biden2.jpg"), "--url", url, "--seconds", "0", "--capture"],
            example_env,
        )
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("capture 1: the capture found no usable frame (no_face)"), last


def test_a_token_with_url_special_characters_reaches_the_stream(
    example_model: Path,
    example_env: dict,
    example_runner,
    faces_dir: Path,
    video_path: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """The token goes into the WebSocket URL URL-encoded: 'a+b&c' is not read as 'a b' plus
    a stray parameter by the service (it used to answer "missing or wrong token", 0 results)."""
    token = "a+b&c%"
    extra = ("--token", token)
    with _serve(example_model, example_env, video_path, tmp_path / "serve.log", *extra) as running:
        _, url, _log = running
        run = example_runner(
            "service_client.py",
            [str(faces_dir / "biden2.jpg"), "--url", url, "--seconds", "3", "--token", token],
            example_env,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "wrong token" not in run.stdout
    assert int(run.stdout.splitlines()[-1].split()[1]) >= 1  # "stream: N results"


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_missing_photo_is_bad_input_and_no_service_is_a_failure(
    example_runner,
    example_env: dict,
    faces_dir: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """One line on stderr, no traceback: a photo that cannot be read is exit 2 (checked
    before the service is contacted), a service that does not run is exit 1."""
    url = f"http://127.0.0.1:{_free_port()}"
    for photo in (tmp_path / "missing.jpg", tmp_path):  # no such file; a folder
        run = example_runner("service_client.py", [str(photo), "--url", url], example_env)
        assert run.returncode == 2, run.stderr[-2000:]
        assert run.stderr.startswith(f"error: cannot read the photo {photo} (")
        assert "JPEG or PNG face photo" in run.stderr and "Traceback" not in run.stderr
    photo = faces_dir / "biden2.jpg"
    run = example_runner("service_client.py", [str(photo), "--url", url], example_env)
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.stderr.startswith(f"error: cannot reach the service at {url} (")
    assert "wds-edge serve" in run.stderr and "Traceback" not in run.stderr


def test_a_url_with_a_trailing_slash_reaches_the_service(
    example_model: Path,
    example_env: dict,
    example_runner,
    faces_dir: Path,
    video_path: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """--url as `wds-edge serve` prints its page (http://127.0.0.1:8765/): the photo and the
    stream URLs are built without a double slash (POST //v1/analyze was a 404)."""
    with _serve(example_model, example_env, video_path, tmp_path / "serve.log") as running:
        _, url, _log = running
        run = example_runner(
            "service_client.py",
            [str(faces_dir / "biden2.jpg"), "--url", url + "/", "--seconds", "2"],
            example_env,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[0].endswith("biden2.jpg: ok (hold still)")
    assert int(run.stdout.splitlines()[-1].split()[1]) >= 1  # "stream: N results"


def test_a_service_error_on_the_stream_is_a_failure(
    example_model: Path,
    example_env: dict,
    example_runner,
    faces_dir: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """A service started without a camera answers the photo and refuses the stream: the
    client says so on stderr and exits 1 (it printed the error and exited 0)."""
    with _serve(example_model, example_env, None, tmp_path / "serve.log") as (_, url, _log):
        run = example_runner(
            "service_client.py",
            [str(faces_dir / "biden2.jpg"), "--url", url, "--seconds", "2"],
            example_env,
        )
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.stdout.splitlines()[0].endswith("biden2.jpg: ok (hold still)")
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: stream: ") and "without a camera" in last, last
    assert last.endswith("(--seconds 0 posts the photo only)")


def _client_against(
    handler: type[http.server.BaseHTTPRequestHandler], runner, env: dict, photo: Path
) -> tuple[str, subprocess.CompletedProcess]:  # noqa: ANN001
    """service_client.py with --url naming a local web server of ``handler`` (not the
    service): ``(its URL, the client's run)``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        return url, runner("service_client.py", [str(photo), "--url", url], env)
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_that_is_another_web_server_is_a_failure_not_a_traceback(
    example_runner, example_env: dict, faces_dir: Path
) -> None:  # noqa: ANN001
    """--url naming another web server (its error page is HTML, not the service's JSON):
    one line that asks whether --url is the service's address, exit 1."""
    handler = http.server.SimpleHTTPRequestHandler
    url, run = _client_against(handler, example_runner, example_env, faces_dir / "biden2.jpg")
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"error: {url} answered 501 ")
    assert "without a wds-edge JSON body: is --url the address" in run.stderr


class _FastApiNotFound(http.server.BaseHTTPRequestHandler):
    """Another web framework's JSON error: FastAPI's 404 for a route it does not have."""

    def do_POST(self) -> None:  # noqa: N802 - the handler's protocol
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"detail": "Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_another_servers_json_error_is_a_failure_not_a_traceback(
    example_runner, example_env: dict, faces_dir: Path
) -> None:  # noqa: ANN001
    """--url naming another JSON web service: its error ({"detail": "Not Found"}) is no
    wds-edge answer (no status / error): the same one line as for an HTML page, exit 1,
    not a KeyError on result['status']."""
    url, run = _client_against(
        _FastApiNotFound, example_runner, example_env, faces_dir / "biden2.jpg"
    )
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.stderr == (
        f"error: {url} answered 404 Not Found without a wds-edge JSON body: is --url the "
        "address `wds-edge serve` printed?\n"
    )
