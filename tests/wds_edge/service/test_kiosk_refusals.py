"""The kiosk page when the real service refuses its stream for good, in headless Chromium.

The service closes ``/v1/stream`` with 4409 when it has no camera and 4401 when the
page's token is missing or wrong (4400: options it refuses): reasons a retry does not
change. The page used to reconnect every second forever, saying "reconnecting...", with
the Capture buttons enabled. It now says why, stops hammering (one retry every 30 s, for
a service restarted with a camera or that token), and disables the buttons when a
capture cannot work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_polling import BROWSER_TEST, wait_until

pytestmark = BROWSER_TEST

TOKEN = "r3fused-t0ken"
#: Run before the page's own script: counts the WebSockets the page opens.


@pytest.fixture(scope="module")
def cameraless_service(
    onnx_model_path: Path, landmarker_path: Path, start_service: Any, service_config: Any
) -> Iterator[Any]:
    """The real service without a camera (photo API only), with a token."""
    service = start_service(
        service_config(model_path=onnx_model_path, landmarker_path=landmarker_path, token=TOKEN)
    )
    try:
        yield service
    finally:
        service.stop()


def page_state(browser: Any) -> dict[str, Any]:
    return browser.execute_script(
        """const $ = (id) => document.getElementById(id);
        return {conn: $('connection').textContent, prompt: $('prompt').textContent,
          text: $('capture-state').textContent, disabled: $('capture').disabled,
          brows_disabled: $('capture-brows').disabled, streams: window.streamsOpened};"""
    )


def wait_for(browser: Any, check: Any, what: str, timeout_s: float = 20.0) -> dict[str, Any]:
    return wait_until(lambda: page_state(browser), check, what, timeout_s)


def test_no_camera_is_said_once_and_the_buttons_are_off(
    cameraless_service: Any, counting_browser: Any
) -> None:
    browser = counting_browser
    browser.get(f"{cameraless_service.url}/#token={TOKEN}")
    state = wait_for(browser, lambda s: s["conn"] == "no camera", "the refusal shown")
    assert "started without a camera" in state["prompt"], state  # the service's reason
    assert "--source" in state["prompt"], state
    assert state["disabled"] and state["brows_disabled"], state
    assert "no camera" in state["text"], state
    time.sleep(3.5)  # the page used to reconnect every second
    state = page_state(browser)
    assert state["streams"] == 1, state
    assert state["conn"] == "no camera" and state["disabled"], state


def test_a_refused_token_is_said_once_and_the_buttons_are_off(
    cameraless_service: Any, counting_browser: Any
) -> None:
    browser = counting_browser
    for address in ("/", "/#token=wrong"):
        browser.get("about:blank")
        browser.get(f"{cameraless_service.url}{address}")
        state = wait_for(browser, lambda s: s["conn"] == "token refused", "the refusal shown")
        assert "wrong token" in state["prompt"], state  # the service's reason
        assert state["disabled"] and state["brows_disabled"], state
        assert "#token=" in state["text"], state  # how to open the page with a token
        time.sleep(3.5)
        state = page_state(browser)
        assert state["streams"] == 1 and state["conn"] == "token refused", state
