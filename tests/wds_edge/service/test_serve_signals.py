"""Ctrl-C / SIGTERM while `wds-edge serve` is still loading the model (a real process).

The help promises exit 0 for Ctrl-C / SIGTERM, and the server's own handlers (uvicorn's)
kept it once listening; but they are installed only then: during the model load Ctrl-C
ended in a KeyboardInterrupt (exit 130) and SIGTERM killed the process (-15), the camera
and the backend never closed. The stop handlers are now in place before anything loads:
a signal then stops the service as soon as the load returns (exit 0, never listening),
and a second one stops it at once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
LOAD_DELAY_S = 4.0

#: `wds-edge serve` whose analyzer first says LOADING on stderr and sleeps: a model load
#: that takes seconds (a large model, --backend auto's probe, a slow camera), whatever
#: this machine's speed.
_SLOW_LOAD_CLI = """
import sys, time
import wds_edge.service.engine as engine
DELAY_S = float(sys.argv.pop(1))
class SlowLoad(engine.WrinkleAnalyzer):
    def __init__(self, *args, **kwargs):
        print("LOADING", file=sys.stderr, flush=True)
        time.sleep(DELAY_S)
        super().__init__(*args, **kwargs)
engine.WrinkleAnalyzer = SlowLoad
from wds_edge.cli import main
main()
"""


def slow_serve(onnx_model_path: Path, landmarker_path: Path) -> subprocess.Popen[str]:
    """The slow-loading service, once its load has begun."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_LOAD_CLI, str(LOAD_DELAY_S), "serve", "--port", "0",
         "--model", str(onnx_model_path), "--landmarker", str(landmarker_path),
         "--backend", "onnxruntime", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if "LOADING" in line:
            return proc
    proc.kill()
    raise AssertionError(f"the service ended before loading: {proc.communicate()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_during_the_model_load_stops_cleanly(
    onnx_model_path: Path, landmarker_path: Path, sig: signal.Signals
) -> None:
    proc = slow_serve(onnx_model_path, landmarker_path)
    time.sleep(0.5)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, (proc.returncode, err[-2000:])
    assert "listening on" not in out, out  # it never served
    assert "stopped: camera and model closed" in err and "Traceback" not in err, err
    assert "stops once the model has loaded" in " ".join(err.split()), err


def test_a_second_signal_during_the_model_load_stops_at_once(
    onnx_model_path: Path, landmarker_path: Path
) -> None:
    proc = slow_serve(onnx_model_path, landmarker_path)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert time.monotonic() - signalled < LOAD_DELAY_S - 1.5, "it waited for the load"
    assert proc.returncode == 130, (proc.returncode, err[-2000:])  # interrupted, as Ctrl-C is
    assert "listening on" not in out and "Traceback" not in err, err
