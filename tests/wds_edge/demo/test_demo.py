"""The live demo: headless on the real clip (two-stage pipeline), reconnection, and the
windowed demo under a virtual display (Xvfb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.demo.outputs import count_video_frames

REPO = Path(__file__).resolve().parents[3]


def _wds_edge(*args: str, env: dict[str, str] | None = None, timeout: float = 120.0):
    cmd = [sys.executable, "-m", "wds_edge.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def test_headless_demo_on_the_clip(tmp_path, video_path, landmarker_path, onnx_model_fixed_batch):
    """Statuses follow the clip: face 0-179, heavy blur 180-209, no face 210-239."""
    video, jsonl, summary = tmp_path / "out.mp4", tmp_path / "out.jsonl", tmp_path / "s.json"
    proc = _wds_edge(
        "demo",
        "--source",
        str(video_path),
        "--model",
        str(onnx_model_fixed_batch),
        "--landmarker",
        str(landmarker_path),
        "--backend",
        "onnxruntime",
        "--headless",
        "--record",
        str(video),
        "--jsonl",
        str(jsonl),
        "--summary-json",
        str(summary),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(240))  # headless file: every frame
    assert count_video_frames(video) == 240  # playable: OpenCV decodes every frame back

    def majority(lo: int, hi: int, status: str) -> float:
        return np.mean([r["status"] == status for r in records[lo:hi]])

    # a few transition frames are allowed at the boundaries
    assert majority(5, 175, "ok") > 0.9
    assert majority(185, 205, "too_blurry") > 0.8
    assert majority(215, 240, "no_face") > 0.9
    ok = [r for r in records[:180] if r["status"] == "ok"]
    # the two-stage pipeline (the default): every good frame is segmented, shown with its own mask
    assert all(r["segmented"] and r["seg_age_frames"] == 0 and r["scores"] for r in ok)
    assert all(r["scores"] is None for r in records[215:])  # no mask on an empty scene
    assert {"capture_age", "locate", "overlay"} <= set(records[0]["timings_ms"])
    assert not list(tmp_path.glob(".wdstmp-*"))  # no temporary left behind
    # the same two-stage pipeline as the service: every frame read was shown, none skipped
    data = json.loads(summary.read_text())
    assert data["pipeline_mode"] == "two-stage" and data["errors"] == 0
    assert data["pipeline"]["read"] == data["pipeline"]["delivered"] == 240
    assert data["pipeline"]["source_skipped"] == data["pipeline"]["discarded"] == 0
    assert data["segmentations"] == sum(r["segmented"] for r in records)
    assert data["segmentations"] == sum(r["status"] == "ok" for r in records)  # every good one


#: Runs the CLI with a model load that takes ``LOAD_DELAY_S`` longer: the real analyzer, whose
#: construction first sleeps (a large model or ``--backend auto``'s first probe takes seconds;
#: a sleep makes the test independent of how fast this machine loads the small test model).
_SLOW_LOAD_CLI = """
import sys, time
import wds_edge.demo.loop as loop
DELAY_S = float(sys.argv.pop(1))
class SlowLoad(loop.WrinkleAnalyzer):
    def __init__(self, *args, **kwargs):
        time.sleep(DELAY_S)
        super().__init__(*args, **kwargs)
loop.WrinkleAnalyzer = SlowLoad
from wds_edge.cli import main
main()
"""


def test_a_realtime_file_plays_from_its_start_after_a_slow_model_load(
    tmp_path, video_path, landmarker_path, onnx_model_fixed_batch
):
    """--realtime on a file: the source is opened (and the name checked) before the model
    loads, but the clip starts playing at the loop's first read, so its first seconds are
    not lost while the model loads, and every clip frame is either read or counted as
    skipped."""
    load_delay_s = 3.0
    jsonl, summary = tmp_path / "rt.jsonl", tmp_path / "s.json"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _SLOW_LOAD_CLI, str(load_delay_s),
         "demo", "--source", str(video_path), "--model", str(onnx_model_fixed_batch),
         "--landmarker", str(landmarker_path), "--backend", "onnxruntime", "--headless",
         "--realtime", "--jsonl", str(jsonl), "--summary-json", str(summary)],
        capture_output=True, text=True, timeout=180.0, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    # the load took its seconds (capture times are this machine's monotonic clock) ...
    assert records[0]["capture_time_s"] - started > load_delay_s
    # ... but the clip played from its start: the first frame shown is one of its first
    # (had it started playing at open, the first one shown would be ~3000 ms in)
    assert records[0]["timestamp_ms"] < 300, records[0]
    counts = json.loads(summary.read_text())["pipeline"]
    assert counts["read"] + counts["source_skipped"] == 240, counts  # the clip's frames
    assert counts["read"] == counts["delivered"] == len(records)


def test_reconnecting_source_survives_a_lost_camera(video_path):
    """A live source that fails (camera unplugged) is reopened; reads return None meanwhile."""
    from wds_edge.capture.reconnect import ReconnectingSource
    from wds_edge.capture.sources import open_source
    from wds_edge.errors import CaptureError

    opens = {"n": 0}

    class Unplugged:
        """A camera that was pulled out: reading fails (what a V4L2 device does)."""

        is_live = True

        def read(self):
            raise CaptureError("device returned no frame (disconnected?)")

        def close(self):
            pass

    def opener():
        opens["n"] += 1
        if opens["n"] == 1:
            return Unplugged()
        if opens["n"] == 2:
            raise CaptureError("no such device")  # still unplugged
        return open_source(str(video_path), threaded=False)  # plugged back

    src = ReconnectingSource(opener, live=True, retry_every_s=0.01)
    assert src.read() is None and src.lost
    frame = None
    deadline = time.monotonic() + 5
    while frame is None and time.monotonic() < deadline:
        time.sleep(0.02)
        frame = src.read()
    assert frame is not None and frame.image_bgr.shape == (720, 1280, 3)
    assert not src.lost and src.reconnects == 1 and opens["n"] == 3
    src.close()


def _median_prob_threshold(model: Path, landmarker: Path, video: Path) -> float:
    """An untrained model's output is nearly constant; threshold at its median so the
    screenshot shows the tint (plumbing test, not a quality claim)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    cap.release()
    assert ok
    with WrinkleAnalyzer(
        model_path=str(model), landmarker_path=str(landmarker), backend="onnxruntime"
    ) as analyzer:
        result = analyzer.analyze(frame)
    assert result.wrinkle_prob is not None
    return float(np.median(result.wrinkle_prob))


@pytest.mark.display
def test_windowed_demo_under_xvfb(tmp_path, video_path, landmarker_path, onnx_model_fixed_batch):
    """A real HighGUI window opens on a virtual display, shows the overlay, takes keys
    (b starts a raised-brow capture, s saves a snapshot, q quits)."""
    from PIL import ImageGrab

    if shutil.which("xdotool") is None:
        pytest.skip("needs xdotool (apt-get install xdotool) to find the window and type keys")
    display = f":{90 + os.getpid() % 50}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    demo = None
    try:
        time.sleep(1.0)
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        threshold = _median_prob_threshold(onnx_model_fixed_batch, landmarker_path, video_path)
        shot, snaps = tmp_path / "shown.png", tmp_path / "snaps"
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wds_edge.cli",
                "demo",
                "--source",
                str(video_path),
                "--model",
                str(onnx_model_fixed_batch),
                "--landmarker",
                str(landmarker_path),
                "--backend",
                "onnxruntime",
                "--threshold",
                f"{threshold:.6f}",
                "--no-realtime",
                "--loop",
                "--screenshot",
                str(shot),
                "--screenshot-after",
                "20",
                "--snapshot-dir",
                str(snaps),
                "--summary-json",
                str(tmp_path / "summary.json"),
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        window = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (window and shot.exists()):
            time.sleep(0.5)
            found = subprocess.run(
                ["xdotool", "search", "--name", "wds-edge demo"],
                env=env,
                capture_output=True,
                text=True,
            )
            window = found.stdout.split()[0] if found.stdout.split() else ""
        assert window, "no window titled 'wds-edge demo' appeared"
        assert shot.exists(), "the demo did not save its screenshot"
        time.sleep(1.0)
        grab = np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))  # the real screen
        Image_path = tmp_path / "screen.png"
        cv2.imwrite(str(Image_path), cv2.cvtColor(grab, cv2.COLOR_RGB2BGR))
        for key in ("b", "s", "q"):  # raised-brow capture, snapshot, quit: like a user
            # No window manager under Xvfb: focus the window, then type (XTEST).
            subprocess.run(
                ["xdotool", "windowfocus", "--sync", window],
                env=env,
                capture_output=True,
                timeout=10,
            )
            subprocess.run(["xdotool", "key", key], env=env, capture_output=True, timeout=10)
            time.sleep(1.5)
        out, err = demo.communicate(timeout=30)
        assert demo.returncode == 0, err[-2000:]
    finally:
        if demo is not None and demo.poll() is None:
            demo.kill()
        xvfb.terminate()
        xvfb.wait(10)
    if os.environ.get("WDS_EDGE_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["WDS_EDGE_KEEP_SCREENSHOT"])
        shutil.copy(Image_path, os.environ["WDS_EDGE_KEEP_SCREENSHOT"] + ".screen.png")
    shown = cv2.imread(str(shot))
    # The overlay's magenta wrinkle tint is on the face, and the screen shows the window.
    from wds_edge.analysis.overlay import WRINKLE_COLOR_BGR

    # The tint is 60 % magenta over skin (green channel ~0.4 x skin's) and covers only the
    # counted skin regions (issue 21): a tolerance of 80 grey levels per channel.
    tint = np.all(np.abs(shown.astype(int) - np.array(WRINKLE_COLOR_BGR)) < 80, axis=2)
    assert tint.sum() > 2000
    screen_tint = np.all(
        np.abs(grab[..., ::-1].astype(int) - np.array(WRINKLE_COLOR_BGR)) < 80, axis=2
    )
    assert screen_tint.sum() > 1000, "the window on the screen does not show the overlay"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] >= 20 and summary["segmentations"] >= 1
    assert len(summary["snapshots"]) == 1  # the s key
    assert summary["sessions_started"] == ["raise_brows"]  # the b key
    snap = Path(summary["snapshots"][0])
    assert snap.exists() and snap.with_name(snap.stem + "_overlay.png").exists()


def test_two_stage_pipeline_leaves_the_locate_stage_a_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from wds_edge.demo.loop import _segmentation_threads

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert _segmentation_threads(None, sync=False) == 1  # two-stage: one core for landmarks
    assert _segmentation_threads(None, sync=True) is None  # sync: all cores (ORT default)
    assert _segmentation_threads(2, sync=False) == 2  # an explicit --threads wins
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert _segmentation_threads(None, sync=False) == 1
