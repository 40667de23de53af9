"""Stopping the headless demo with Ctrl-C (SIGINT) or SIGTERM, as its status line says:
the outputs are finished and moved into place, the summary is printed and written, exit 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wds_edge.demo.outputs import count_video_frames

REPO = Path(__file__).resolve().parents[3]


def _lines(path: Path) -> int:
    try:
        return path.read_text(encoding="utf-8").count("\n")
    except OSError:
        return 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_the_demo_like_q(
    sig: signal.Signals,
    tmp_path: Path,
    video_path: Path,
    landmarker_path: Path,
    onnx_model_fixed_batch: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    video, jsonl, summary = out / "run.mp4", out / "run.jsonl", out / "summary.json"
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:  # a file, not a pipe: a full pipe would block it
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "wds_edge.cli", "demo", "--source", str(video_path),
                "--model", str(onnx_model_fixed_batch), "--landmarker", str(landmarker_path),
                "--backend", "onnxruntime", "--headless", "--loop", "--record", str(video),
                "--jsonl", str(jsonl), "--summary-json", str(summary),
            ],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO,
        )  # fmt: skip
        try:
            # --loop never ends by itself: wait until frames are being written, then stop it
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                partial = list(out.glob(".wdstmp-*run.jsonl"))
                if partial and _lines(partial[0]) >= 5:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, stderr_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the demo wrote no frames in 120 s"
            proc.send_signal(sig)
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    err = stderr_path.read_text()
    assert rc == 0, err[-2000:]
    assert f"stopped by {sig.name}" in err and "wrote summary" in err
    assert "Traceback" not in err
    data = json.loads(summary.read_text())
    assert data["stopped_by"] == sig.name and not data["ended_early"]
    assert data["frames"] >= 5
    assert data["outputs"] == {"video": str(video), "jsonl": str(jsonl)}
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(data["frames"]))  # complete lines only
    assert count_video_frames(video) == data["frames"]  # finished: a playable file
    assert sorted(p.name for p in out.iterdir()) == ["run.jsonl", "run.mp4", "summary.json"]
