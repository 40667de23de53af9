"""A real wds-edge service (uvicorn + Starlette) on 127.0.0.1, on a free port, per module.

The server runs in a thread of the test process, so a test can look at its threads and
its camera after shutdown. The camera is the kiosk clip, played in real time and looped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn", reason="the service tests need the service extra")
pytest.importorskip("starlette", reason="the service tests need the service extra")
pytest.importorskip("websockets", reason="the service tests need the service extra")


class RunningService:
    """A started uvicorn server: ``url``, ``engine`` (after startup), ``stop()``."""

    def __init__(self, config: Any) -> None:
        from wds_edge.service.server import base_url, build_server

        self.server = build_server(config)
        self._thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 90
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test service did not start (see the log above)")
            time.sleep(0.05)
        self.url = base_url(self.server)
        self.ws_url = self.url.replace("http://", "ws://")
        self.app = self.server.config.loaded_app
        self.engine = _find_engine(self.app)

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise RuntimeError(f"the service did not stop within {timeout_s} s")


def _find_engine(app: Any) -> Any:
    """The ServiceEngine behind uvicorn's middleware wrappers."""
    while not hasattr(app, "state"):
        app = app.app
    return app.state.engine


def make_config(**changes: Any) -> Any:
    """A ServiceConfig for tests: loopback, a free port, CPU ONNX Runtime on one thread."""
    from wds_edge.service.config import ServiceConfig

    base = {"host": "127.0.0.1", "port": 0, "backend": "onnxruntime", "num_threads": 1}
    return ServiceConfig(**{**base, **changes})


@pytest.fixture(scope="session")
def service_config():  # noqa: ANN201 - returns make_config (tests cannot import conftest)
    return make_config


@pytest.fixture(scope="session")
def start_service():  # noqa: ANN201 - returns RunningService
    return RunningService


@pytest.fixture(scope="module")
def live_service(
    onnx_model_path: Path, landmarker_path: Path, video_path: Path
) -> Iterator[RunningService]:
    """The service with the small test model and the kiosk clip as its camera."""
    service = RunningService(
        make_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(video_path),
            max_body_bytes=4 * 1024 * 1024,
            max_image_pixels=30_000_000,
        )
    )
    try:
        yield service
    finally:
        service.stop()


#: The token and the connection limit of :func:`photo_service`.
TEST_TOKEN = "s3cret"
MAX_CONNECTIONS = 12


@pytest.fixture(scope="module")
def photo_service(onnx_model_path: Path, landmarker_path: Path) -> Iterator[RunningService]:
    """The service without a camera (photo API only), protected by the token ``s3cret``,
    at most 12 connections."""
    service = RunningService(
        make_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            token=TEST_TOKEN,
            max_connections=MAX_CONNECTIONS,
        )
    )
    try:
        yield service
    finally:
        service.stop()


class ServerProcess:
    """``wds-edge serve`` as its own process on a free loopback port (what a kiosk runs).

    ``url``; ``line``: the "listening on" line it printed; ``pid``; ``log()``: everything
    it wrote to stderr so far; ``request()``: one HTTP request, Host header chosen;
    ``peak_rss_mb()``:
    its peak resident size (``VmHWM``); ``stop()``: SIGTERM, then its exit code.
    """

    def __init__(self, args: list[str], log_path: Path) -> None:
        import subprocess
        import sys

        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wds_edge.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip
        self.pid = self.proc.pid
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"the service did not start: {line!r}\n{self.log()}")
        self.line = line
        self.url = line.split("listening on ")[1].split()[0]
        self.host, port = self.url.removeprefix("http://").split(":")
        self.port = int(port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        host: str | None = None,
        address: str | None = None,
    ) -> tuple[int, Any]:
        """(status, body: its JSON, else its text) of one request sent to ``address``
        (default: the bound host) at this port, with full control of the Host header
        (default: ``host:port``)."""
        import http.client
        import json

        conn = http.client.HTTPConnection(address or self.host, self.port, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else f"{self.host}:{self.port}")
            for key, value in (headers or {}).items():
                conn.putheader(key, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(data)
        except json.JSONDecodeError:
            return response.status, data.decode("utf-8", "replace")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc/PID/status")

    def stop(self, timeout_s: float = 60.0) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self._log.close()
        return code


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Selenium (Debian's chromedriver, so Selenium
    Manager never downloads one); its console is kept (``browser.get_log("browser")``).
    The browser tests skip themselves when chromium or chromedriver is missing."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def serve_process():  # noqa: ANN201 - returns ServerProcess
    return ServerProcess


#: Counts the page's WebSockets (``window.streamsOpened``) from before its script runs.
COUNT_STREAMS = """
window.streamsOpened = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) { super(...args); window.streamsOpened += 1; }
};
"""


@pytest.fixture()
def counting_browser(browser: Any) -> Iterator[Any]:
    """The browser, counting the page's WebSockets (``window.streamsOpened``)."""
    script = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_STREAMS}
    )
    try:
        yield browser
    finally:
        browser.get("about:blank")
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
