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


#: The CLI with a model load that sleeps first (a large model, or --backend auto's probes,
#: take seconds): the signals below come while it loads.
_SLOW_LOAD_CLI = """
import sys, time
import wds_edge.demo.loop as loop
class SlowLoad(loop.WrinkleAnalyzer):
    def __init__(self, *args, **kwargs):
        print("loading", file=sys.stderr, flush=True)
        time.sleep(30)
        super().__init__(*args, **kwargs)
loop.WrinkleAnalyzer = SlowLoad
from wds_edge.cli import main
main()
"""


def test_a_second_signal_while_the_model_loads_ends_the_run_before_its_first_frame(
    tmp_path: Path, video_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    """The second Ctrl-C interrupts a load that takes long (its KeyboardInterrupt): the run
    ends before its first frame, exit 0 with its summary, nothing else written."""
    out = tmp_path / "out"
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable, "-c", _SLOW_LOAD_CLI, "demo", "--source", str(video_path),
                "--model", str(onnx_model_fixed_batch), "--landmarker", str(landmarker_path),
                "--backend", "onnxruntime", "--headless", "--record", str(out / "run.mp4"),
                "--jsonl", str(out / "run.jsonl"), "--summary-json", str(out / "summary.json"),
            ],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "loading" not in stderr_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert proc.poll() is None, stderr_path.read_text()[-2000:]
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=20)  # not the 30 s of the load
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    err = stderr_path.read_text()
    assert rc == 0, err[-2000:]
    assert "Traceback" not in err and "stopped by SIGINT" in err
    data = json.loads((out / "summary.json").read_text())
    assert data["frames"] == 0 and data["stopped_by"] == "SIGINT"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
