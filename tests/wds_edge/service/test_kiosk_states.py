"""The kiosk page's capture states in a real browser, against a scripted service.

The page (the service's own ``index.html`` and ``kiosk.js``) runs in headless Chromium;
the service behind it is a stub whose stream sends the messages each test writes and
whose ``POST /v1/capture`` answers what the test says, in the shapes of
:mod:`wds_edge.service.stream` and :mod:`wds_edge.service.app`. Each order of events is
played exactly (a restart, a capture started elsewhere, a camera that comes back), with
no model and no clip. ``test_kiosk_page.py`` runs the page on the real service.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from page_polling import BROWSER_TEST, wait_until

pytestmark = BROWSER_TEST

IDLE = "Press capture and hold still for a moment."
#: Put on the stream's queue: the service closes the stream (as a stopping service does).
CLOSE = {"close": True}


class ScriptedService:
    """The kiosk page's files, a stream that sends what :meth:`send` queues, and a
    ``POST /v1/capture`` that answers what :meth:`answer` queues."""

    def __init__(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import FileResponse, JSONResponse
        from starlette.routing import Mount, Route, WebSocketRoute
        from starlette.staticfiles import StaticFiles
        from starlette.websockets import WebSocket

        from wds_edge.service.app import STATIC_DIR
        from wds_edge.service.server import base_url

        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.answers: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.posts: list[Any] = []
        self.connections = 0

        async def index(request: Request) -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

        async def stream(ws: WebSocket) -> None:
            import anyio

            await ws.accept()
            self.connections += 1
            while True:
                try:
                    message = self.messages.get_nowait()
                except queue.Empty:
                    await anyio.sleep(0.02)
                    continue
                if message is CLOSE:
                    await ws.close()
                    return
                await ws.send_text(json.dumps(message))

        async def capture(request: Request) -> JSONResponse:
            self.posts.append(json.loads(await request.body()))
            status, body = self.answers.get(timeout=10)
            return JSONResponse(body, status_code=status)

        app = Starlette(
            routes=[
                Route("/", index),
                Route("/v1/capture", capture, methods=["POST"]),
                WebSocketRoute("/v1/stream", stream),
                Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="kiosk-stub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "stub did not start"
            time.sleep(0.02)
        self.url = base_url(self.server)
        self.seq = 0

    def send(self, capture: dict[str, Any] | None = None, **changes: Any) -> int:
        """Queue a result message (a face, hold still) carrying ``capture``; its seq."""
        self.seq += 1
        message = {
            "type": "result", "seq": self.seq, "status": "ok", "prompt": "hold still",
            "ok": True, "segmented": True, "scores": {"overall": {"wrinkle_ratio": 0.0123}},
            "fused_frames": 4, "timings_ms": {"total": 40.0}, "frame_shape": [720, 1280],
            "face_box_px": None, "crop_transform": None, "age_ms": 30.0, "capture": capture,
            "image": None, **changes,
        }  # fmt: skip
        self.messages.put(message)
        return self.seq

    def send_camera(self, state: str, capture: dict[str, Any] | None = None) -> None:
        self.messages.put({"type": "camera", "state": state, "capture": capture})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.answers.put((status, body))

    def stop(self) -> None:
        self.messages.put(CLOSE)
        self.server.should_exit = True
        self._thread.join(30)


def collecting(capture_id: int, run: str = "run-a", prompt: str = "hold still") -> dict[str, Any]:
    """A running capture's state (:meth:`LiveAnalysis.capture_state`)."""
    return {
        "id": capture_id, "run": run, "state": "collecting", "expression": "neutral",
        "good_frames": 1, "frames_needed": 60, "prompt": prompt,
    }  # fmt: skip


def done(capture_id: int, run: str = "run-a", ratio: float = 0.02) -> dict[str, Any]:
    """A finished capture's state with fused scores (``ratio`` overall)."""
    final = {
        "status": "ok", "capture": "neutral", "complete": True, "frames_used": 3,
        "frames_seen": 40, "warnings": [],
        "scores": {"overall": {"wrinkle_ratio": ratio}, "forehead": {"wrinkle_ratio": ratio}},
    }  # fmt: skip
    return {
        "id": capture_id, "run": run, "state": "done", "expression": "neutral",
        "good_frames": 60, "frames_needed": 60, "prompt": "done", "final": final,
        "status": "ok",
    }  # fmt: skip


def failed(capture_id: int, run: str = "run-a", error: str = "no usable frame") -> dict[str, Any]:
    """A capture that timed out with nothing to show."""
    return {
        "id": capture_id, "run": run, "state": "timed_out", "expression": "neutral",
        "good_frames": 0, "frames_needed": 60, "prompt": "capture failed", "final": None,
        "status": "no_face", "error": error,
    }  # fmt: skip


@pytest.fixture()
def stub() -> Iterator[ScriptedService]:
    service = ScriptedService()
    try:
        yield service
    finally:
        service.stop()


def page(browser: Any) -> dict[str, Any]:
    """What the page shows now."""
    return browser.execute_script(
        """const $ = (id) => document.getElementById(id);
        return {conn: $('connection').textContent, prompt: $('prompt').textContent,
          running: $('running').textContent, seq: $('live').dataset.seq || null,
          text: $('capture-state').textContent, disabled: $('capture').disabled,
          brows_disabled: $('capture-brows').disabled, hidden: $('result').hidden,
          bars: [...document.querySelectorAll('#bars li')].map((li) => li.innerText)};"""
    )


def wait(browser: Any, check: Any, what: str, timeout_s: float = 15.0) -> dict[str, Any]:
    """Wait until ``check(page(browser))`` holds; the page then."""
    return wait_until(lambda: page(browser), check, what, timeout_s)


def shown(
    browser: Any, service: ScriptedService, capture: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """Send one result message and wait until the page has taken it."""
    seq = service.send(capture, **kw)
    return wait(browser, lambda p: p["seq"] == str(seq), f"message {seq} taken")


def open_page(browser: Any, service: ScriptedService) -> None:
    connections = service.connections
    browser.get(f"{service.url}/")
    wait(browser, lambda p: p["conn"] == "live", "the stream connected")
    assert service.connections == connections + 1


def press_capture(
    browser: Any, service: ScriptedService, status: int, body: dict[str, Any]
) -> None:
    service.answer(status, body)
    posts = len(service.posts)
    browser.find_element("id", "capture").click()
    deadline = time.monotonic() + 10
    while len(service.posts) == posts:
        assert time.monotonic() < deadline, "the page did not POST /v1/capture"
        time.sleep(0.02)


def test_a_new_page_does_not_show_the_last_persons_result(browser: Any, stub: Any) -> None:
    """A capture that ended before the page was opened is the last customer's: no bars."""
    open_page(browser, stub)
    now = shown(browser, stub, done(1, ratio=0.031))
    assert now["hidden"] and now["bars"] == [], now
    assert now["text"] == IDLE and not now["disabled"], now


def test_the_result_goes_when_the_next_capture_starts_or_fails(browser: Any, stub: Any) -> None:
    open_page(browser, stub)
    press_capture(browser, stub, 202, {"status": "started", "id": 1, "run": "run-a"})
    shown(browser, stub, collecting(1))
    now = shown(browser, stub, done(1, ratio=0.031))
    assert not now["hidden"] and "3.1 %" in now["bars"][0], now
    assert now["text"] == "done - press capture for another person" and not now["disabled"]
    # the next person's capture, started elsewhere (another tab, the API): the bars go at once
    now = shown(browser, stub, collecting(2))
    assert now["hidden"] and now["bars"] == [], now
    assert now["text"].startswith("capturing: 1 of 60") and now["disabled"], now
    now = shown(browser, stub, done(2, ratio=0.044))
    assert not now["hidden"] and "4.4 %" in now["bars"][0], now
    # pressed here: the bars go with the press; a failed capture shows its message alone
    press_capture(browser, stub, 202, {"status": "started", "id": 3, "run": "run-a"})
    assert page(browser)["hidden"]
    shown(browser, stub, collecting(3))
    now = shown(browser, stub, failed(3, error="nobody came: step in front of the camera"))
    assert now["hidden"] and now["bars"] == [], now
    assert now["text"] == "nobody came: step in front of the camera" and not now["disabled"]


def test_a_timed_out_capture_that_fused_frames_shows_its_result(browser: Any, stub: Any) -> None:
    """A capture whose time ran out but whose frames were fused (a smiling face: the least
    expressive frames, warning not_neutral) is ok: the page shows its bars and its note,
    not "capture failed" (it used to hide the result of every timed-out capture)."""
    note = "the capture did not collect 60 good neutral frames in time (0 came in 51 frames)"
    ended = done(1, ratio=0.031)
    ended.update(state="timed_out", good_frames=0, note=note)
    ended["final"]["warnings"] = ["not_neutral"]
    open_page(browser, stub)
    press_capture(browser, stub, 202, {"status": "started", "id": 1, "run": "run-a"})
    shown(browser, stub, collecting(1))
    now = shown(browser, stub, ended)
    assert not now["hidden"] and "3.1 %" in now["bars"][0], now
    assert now["text"] == f"done - {note} - press capture for another person", now
    assert not now["disabled"], now


def test_the_big_prompt_is_the_captures_own_while_it_runs(browser: Any, stub: Any) -> None:
    open_page(browser, stub)
    now = shown(browser, stub, None, prompt="hold still")
    assert now["prompt"] == "hold still" and now["running"].startswith("live score 1.23 %")
    now = shown(browser, stub, collecting(1, prompt="please don't smile"), prompt="hold still")
    assert now["prompt"] == "please don't smile", now  # the panel's instruction, not the gate's
    assert now["text"].endswith("please don't smile"), now
    assert now["running"] == "live score paused while the capture runs", now
    now = shown(browser, stub, done(1), prompt="hold still")
    assert now["prompt"] == "hold still" and now["running"].startswith("live score 1.23 %")


def test_a_camera_message_goes_when_the_camera_comes_back(browser: Any, stub: Any) -> None:
    lost = "the camera is lost (no frame for 5 s), so a capture cannot collect frames"
    open_page(browser, stub)
    stub.send_camera("lost")
    wait(browser, lambda p: p["prompt"] == "camera lost, reconnecting...", "camera lost")
    press_capture(browser, stub, 409, {"status": "error", "error": lost})
    now = wait(browser, lambda p: not p["disabled"], "the buttons back")
    assert now["text"] == lost
    stub.send_camera("lost")
    time.sleep(0.3)
    assert page(browser)["text"] == lost  # still no frame: still true
    now = shown(browser, stub, None)  # frames again
    assert now["text"] == IDLE and not now["disabled"], now
    # a capture that timed out while the camera was away: its message goes with the outage
    press_capture(browser, stub, 202, {"status": "started", "id": 1, "run": "run-a"})
    shown(browser, stub, collecting(1))
    stub.send_camera("lost", failed(1, error="the capture did not collect 60 good frames"))
    wait(browser, lambda p: p["text"].startswith("the capture did not"), "the capture failed")
    now = shown(browser, stub, failed(1, error="the capture did not collect 60 good frames"))
    assert now["text"] == IDLE and not now["disabled"], now


def test_the_buttons_wait_for_a_capture_started_elsewhere(browser: Any, stub: Any) -> None:
    """Another tab, the API or a reload mid-capture: the buttons are off while it runs; a
    409 ("still running") stays shown until that capture ends."""
    open_page(browser, stub)
    now = shown(browser, stub, collecting(4))
    assert now["disabled"] and now["brows_disabled"], now
    assert now["text"].startswith("capturing: 1 of 60"), now
    now = shown(browser, stub, done(4))
    assert not now["disabled"] and not now["brows_disabled"], now
    # pressed just before the page heard of capture 5 (another tab's): the 409 stays
    still = "capture 5 is still running; wait for its result"
    press_capture(browser, stub, 409, {"status": "error", "error": still, "id": 5, "run": "run-a"})
    wait(browser, lambda p: p["text"] == still and p["disabled"], "the 409 shown")
    for _ in range(3):
        now = shown(browser, stub, collecting(5))
        assert now["text"] == still and now["disabled"], now
    time.sleep(1.6)  # the page used to overwrite it within 1.5 s
    assert page(browser)["text"] == still
    now = shown(browser, stub, done(5))
    assert now["text"] == "done - press capture for another person" and not now["disabled"]


def restart(browser: Any, service: ScriptedService) -> None:
    """The service stops (its stream closes) and comes back: the page reconnects."""
    service.messages.put(CLOSE)
    wait(browser, lambda p: p["conn"] != "live", "the page saw the stream close")
    wait(browser, lambda p: p["conn"] == "live", "the page reconnected")


def test_a_capture_after_a_service_restart_is_shown(browser: Any, stub: Any) -> None:
    """The service restarts: its capture ids start at 1 again (a new run). The page used to
    wait forever for 'its' capture 1, the one it had shown before."""
    open_page(browser, stub)
    press_capture(browser, stub, 202, {"status": "started", "id": 1, "run": "run-a"})
    shown(browser, stub, collecting(1))
    now = shown(browser, stub, done(1, ratio=0.031))
    assert "3.1 %" in now["bars"][0]
    restart(browser, stub)
    now = shown(browser, stub, None)
    assert not now["disabled"], now
    press_capture(browser, stub, 202, {"status": "started", "id": 1, "run": "run-b"})
    shown(browser, stub, collecting(1, run="run-b"))
    now = shown(browser, stub, done(1, run="run-b", ratio=0.057))
    assert not now["hidden"] and "5.7 %" in now["bars"][0], now
    assert now["text"] == "done - press capture for another person" and not now["disabled"]


def test_a_capture_lost_in_a_service_restart_frees_the_buttons(browser: Any, stub: Any) -> None:
    """The service stops mid-capture and comes back without it: the page stops waiting."""
    open_page(browser, stub)
    press_capture(browser, stub, 202, {"status": "started", "id": 2, "run": "run-a"})
    now = shown(browser, stub, collecting(2))
    assert now["disabled"], now
    restart(browser, stub)
    now = shown(browser, stub, None)
    assert not now["disabled"] and "restarted" in now["text"], now
    # ... or back with captures of its own already (another run)
    press_capture(browser, stub, 202, {"status": "started", "id": 3, "run": "run-a"})
    shown(browser, stub, collecting(3))
    restart(browser, stub)
    now = shown(browser, stub, done(1, run="run-b"))
    assert not now["disabled"] and "restarted" in now["text"] and now["hidden"], now
