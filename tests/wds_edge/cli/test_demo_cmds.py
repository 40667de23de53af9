"""`wds-edge demo` refuses an output name it cannot write (--screenshot, --record) as a usage
error before anything loads or is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _wds_edge(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "wds_edge.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=REPO)


def _one_line(text: str) -> str:
    """The console wraps long messages: compare with the line breaks taken out."""
    return " ".join(text.split())


def test_a_screenshot_name_opencv_cannot_encode_is_refused_before_the_run(
    tmp_path: Path, video_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    out = tmp_path / "out"
    proc = _wds_edge(
        "demo", "--source", str(video_path), "--model", str(onnx_model_fixed_batch),
        "--landmarker", str(landmarker_path), "--backend", "onnxruntime", "--headless",
        "--jsonl", str(out / "run.jsonl"), "--screenshot", str(out / "shot.txt"),
        "--screenshot-after", "2", "--max-frames", "20",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = _one_line(proc.stderr)
    assert "--screenshot cannot be saved as '.txt'" in err and ".png or .jpg" in err
    assert "Traceback" not in proc.stderr
    assert not out.exists()  # no frame was run, no JSON lines of a failed run moved into place


def test_a_record_container_the_recorder_lacks_is_refused_before_the_model_loads(
    tmp_path: Path, video_path: Path
) -> None:
    out = tmp_path / "out"
    proc = _wds_edge(
        "demo", "--source", str(video_path), "--model", str(tmp_path / "missing.onnx"),
        "--headless", "--record", str(out / "run.mkv"),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    # about the name, not the (missing) model: the name is checked first
    err = _one_line(proc.stderr)
    assert "--record cannot write '.mkv' files" in err and ".mp4 (mp4v) or .avi" in err
    assert "missing.onnx" not in err and "Traceback" not in err
    assert not out.exists()
