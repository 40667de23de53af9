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


def _stop_a_demo(
    tmp_path: Path, video_path: Path, landmarker_path: Path, model: Path,
    sig: signal.Signals, repeats: int = 0,
) -> tuple[int, str, Path]:  # fmt: skip
    """Run the headless demo on a loop, send ``sig`` once frames are being written, then
    ``repeats`` more of it 0.1 s apart (a user pressing Ctrl-C again while it finishes).
    Returns (exit code, stderr, the output folder)."""
    out = tmp_path / "out"
    out.mkdir()
    video, jsonl, summary = out / "run.mp4", out / "run.jsonl", out / "summary.json"
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:  # a file, not a pipe: a full pipe would block it
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "wds_edge.cli", "demo", "--source", str(video_path),
                "--model", str(model), "--landmarker", str(landmarker_path),
                "--backend", "onnxruntime", "--headless", "--loop", "--record", str(video),
                "--jsonl", str(jsonl), "--summary-json", str(summary),
            ],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO,
        )  # fmt: skip
        try:
            # --loop never ends by itself: wait until frames are being written, then stop it
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                partial = list(out.glob(".wdstmp-*run.jsonl*"))
                if partial and _lines(partial[0]) >= 5:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, stderr_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the demo wrote no frames in 120 s"
            proc.send_signal(sig)
            for _ in range(repeats):
                time.sleep(0.1)
                if proc.poll() is not None:
                    break
                proc.send_signal(sig)
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    return rc, stderr_path.read_text(), out


def _assert_finished(rc: int, err: str, out: Path, sig: signal.Signals) -> None:
    """Exit 0, the summary says who stopped it, every output finished and playable."""
    video, jsonl, summary = out / "run.mp4", out / "run.jsonl", out / "summary.json"
    assert rc == 0, err[-2000:]
    assert f"stopped by {sig.name}" in err and "wrote summary" in err
    assert "Traceback" not in err and "terminate called" not in err
    data = json.loads(summary.read_text())
    assert data["stopped_by"] == sig.name and not data["ended_early"]
    assert data["frames"] >= 5
    assert data["outputs"] == {"video": str(video), "jsonl": str(jsonl)}
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(data["frames"]))  # complete lines only
    assert count_video_frames(video) == data["frames"]  # finished: a playable file
    assert sorted(p.name for p in out.iterdir()) == ["run.jsonl", "run.mp4", "summary.json"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_the_demo_like_q(
    sig: signal.Signals,
    tmp_path: Path,
    video_path: Path,
    landmarker_path: Path,
    onnx_model_fixed_batch: Path,
) -> None:
    rc, err, out = _stop_a_demo(tmp_path, video_path, landmarker_path, onnx_model_fixed_batch, sig)
    _assert_finished(rc, err, out, sig)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_more_stop_signals_while_the_demo_finishes_do_not_break_its_outputs(
    sig: signal.Signals,
    tmp_path: Path,
    video_path: Path,
    landmarker_path: Path,
    onnx_model_fixed_batch: Path,
) -> None:
    """Ctrl-C pressed again and again while the demo closes (20 signals 0.1 s apart): the
    second one raised KeyboardInterrupt inside the pipeline's thread join, the recorder,
    source and analyzer were never closed and the process died (-6 "terminate called
    without an active exception", or -11) with its outputs left as .wdstmp-* files. Once the
    loop has stopped, further signals are only logged."""
    rc, err, out = _stop_a_demo(
        tmp_path, video_path, landmarker_path, onnx_model_fixed_batch, sig, repeats=20
    )
    _assert_finished(rc, err, out, sig)
