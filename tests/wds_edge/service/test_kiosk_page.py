"""The kiosk page in a real browser: Debian's headless Chromium driven by Selenium.

It opens ``/`` on a real service whose camera is the kiosk clip, waits for the live
overlay and the prompt, presses "Capture" and waits for the per-region bars (gone again
when the page is opened anew: the next person does not see them). The
screenshot goes to ``$WDS_EDGE_ARTIFACTS`` (default ``out/artifacts/``) for CI. Selenium
is given Debian's chromedriver explicitly, so Selenium Manager never downloads one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_polling import BROWSER_TEST

REPO_ROOT = Path(__file__).resolve().parents[3]

pytestmark = BROWSER_TEST

#: What the page's prompt may say: the quality gates' prompts and the page's own states.
KNOWN_PROMPTS = (
    "hold still", "move closer", "step in front of the camera", "look at the camera",
    "more light", "analysing", "done", "camera",
)  # fmt: skip


@pytest.fixture(scope="module")
def page_service(
    landmarker_path: Path, video_path: Path, start_service: Any, service_config: Any
) -> Iterator[Any]:
    """The service with the bundled starter model (a real overlay to look at) and the clip."""
    from wds_edge.analysis.session import SessionConfig

    service = start_service(
        service_config(
            landmarker_path=landmarker_path,
            source=str(video_path),
            num_threads=None,
            # 90 frames: a capture pressed as the clip's face phase ends still gets 3 good frames
            # (the face leaves for 60 frames, the clip loops back to it) on a loaded machine
            session=SessionConfig(frames_needed=3, frames_fused=3, max_frames=90),
        )
    )
    try:
        yield service
    finally:
        service.stop()


def artifacts_dir() -> Path:
    path = Path(os.environ.get("WDS_EDGE_ARTIFACTS", REPO_ROOT / "out" / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_page_loads_without_a_console_error(page_service: Any, browser: Any) -> None:
    """No 404 in the console: the browser asked for /favicon.ico on every load (the page
    names no icon) and the service has none."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # what earlier pages logged
    browser.get(f"{page_service.url}/")
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    wait.until(lambda d: d.execute_script("return document.getElementById('live').dataset.seq"))
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe


def test_page_shows_overlay_prompt_and_capture_bars(page_service: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{page_service.url}/")
    assert browser.title == "wds-edge kiosk"
    wait = WebDriverWait(browser, 120, poll_frequency=0.2)
    # the live overlay: a JPEG from the stream, decoded by the browser at the clip's size
    wait.until(
        lambda d: d.execute_script(
            "const i = document.getElementById('live');"
            "return i.src.startsWith('data:image/jpeg') && i.complete && i.naturalWidth > 0;"
        )
    )
    size = browser.execute_script(
        "const i = document.getElementById('live'); return [i.naturalWidth, i.naturalHeight];"
    )
    assert size == [1280, 720]
    wait.until(lambda d: d.find_element(By.ID, "connection").text == "live")
    prompt = browser.find_element(By.ID, "prompt").text.lower()
    assert any(p in prompt for p in KNOWN_PROMPTS), prompt
    # wait for a face in view (the clip loops: faces, then blur, then nobody)
    wait.until(lambda d: d.find_element(By.ID, "prompt").get_attribute("data-status") == "ok")

    browser.find_element(By.ID, "capture").click()
    wait.until(lambda d: not d.find_element(By.ID, "result").get_attribute("hidden"))
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars li")
    regions = [b.get_attribute("data-region") for b in bars]
    assert "overall" in regions and "forehead" in regions, regions
    assert all("%" in b.text for b in bars)
    # The clip's face smiles: the 3 calmest frames are fused and the page says so.
    note = browser.find_element(By.ID, "result-note").text
    assert "fused over 3 frames" in note and "not neutral" in note, note
    assert browser.find_element(By.ID, "capture").is_enabled()
    # the dynamic capture: the clip's face never raises its brows, and the page says so
    wait.until(lambda d: d.find_element(By.ID, "prompt").get_attribute("data-status") == "ok")
    browser.find_element(By.ID, "capture-brows").click()
    wait.until(lambda d: "raised brows asked" in d.find_element(By.ID, "result-note").text)
    assert browser.find_element(By.ID, "capture-brows").is_enabled()
    assert "brows were not raised" in browser.find_element(By.ID, "result-note").text
    # the clip loops (faces, blur, nobody): screenshot the result beside a face in view
    wait.until(lambda d: d.find_element(By.ID, "prompt").get_attribute("data-status") == "ok")
    # the live score, fused over the last segmented frames (between captures)
    wait.until(lambda d: "fused over" in d.find_element(By.ID, "running").text)
    shot = artifacts_dir() / "kiosk_page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # the next person opens the page again: the last capture's scores are not shown
    browser.refresh()
    wait.until(lambda d: d.execute_script("return document.getElementById('live').dataset.seq"))
    assert browser.find_element(By.ID, "result").get_attribute("hidden")
    assert browser.find_elements(By.CSS_SELECTOR, "#bars li") == []
    assert browser.find_element(By.ID, "capture-state").text.startswith("Press capture")
    assert browser.find_element(By.ID, "capture").is_enabled()


def test_page_passes_a_token_with_a_plus_as_typed(
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    start_service: Any,
    service_config: Any,
    browser: Any,
) -> None:
    """'/#token=a+b' is the token 'a+b': the page used to read it with URLSearchParams, as
    'a b', and the service refused its stream ("missing or wrong token") and capture."""
    from selenium.webdriver.support.ui import WebDriverWait

    service = start_service(
        service_config(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            source=str(video_path),
            token="a+b",
        )
    )
    try:
        browser.get(f"{service.url}/#token=a+b")
        wait = WebDriverWait(browser, 60, poll_frequency=0.2)
        # a result of the stream arrived (a refused stream only ever gets its error message)
        wait.until(lambda d: d.execute_script("return document.getElementById('live').dataset.seq"))
        assert "wrong token" not in browser.execute_script(
            "return document.getElementById('prompt').textContent"
        )
        # the capture's JSON POST carries the same token in its header: no 401
        status = browser.execute_script(
            "return fetch('/v1/capture', {headers}).then((r) => r.status)"
        )
        assert status == 200, status
    finally:
        service.stop()
