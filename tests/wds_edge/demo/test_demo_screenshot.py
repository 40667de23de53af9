"""``--screenshot`` of a run that ends before ``--screenshot-after`` frames: the last frame
shown is saved instead (and the run says so); a run that showed no frame warns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[3]


def _demo(source: Path, tmp_path: Path, landmarker: Path, model: Path, *extra: str):
    return subprocess.run(
        [
            sys.executable, "-m", "wds_edge.cli", "demo", "--source", str(source),
            "--model", str(model), "--landmarker", str(landmarker), "--backend", "onnxruntime",
            "--headless", "--screenshot", str(tmp_path / "shot.png"),
            "--summary-json", str(tmp_path / "summary.json"), *extra,
        ],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip


def test_a_run_shorter_than_screenshot_after_saves_its_last_frame(
    tmp_path: Path, video_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    proc = _demo(
        video_path, tmp_path, landmarker_path, onnx_model_fixed_batch, "--max-frames", "5"
    )  # --screenshot-after: 30 by default
    assert proc.returncode == 0, proc.stderr[-2000:]
    shot = tmp_path / "shot.png"
    image = cv2.imread(str(shot))
    assert image is not None and image.shape == (720, 1280, 3)  # a frame of the clip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] == 5 and summary["outputs"]["screenshot"] == str(shot)
    assert len(summary["warnings"]) == 1
    assert "before --screenshot-after 30" in summary["warnings"][0]
    assert "last frame shown" in proc.stderr and f"wrote screenshot: {shot}" in proc.stderr
    assert not list(tmp_path.glob(".wdstmp-*"))


def test_a_run_that_showed_no_frame_warns_about_the_screenshot(
    tmp_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    source = tmp_path / "frames"  # a folder whose only image does not decode: no frame
    source.mkdir()
    (source / "a.jpg").write_bytes(b"not a jpeg")
    proc = _demo(source, tmp_path, landmarker_path, onnx_model_fixed_batch)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "shot.png").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] == 0 and "screenshot" not in summary["outputs"]
    assert summary["warnings"] == [
        f"--screenshot {tmp_path / 'shot.png'} was not saved: the run showed no frame "
        "(the source gave none)"
    ]
    assert "was not saved: the run showed no frame" in proc.stderr
