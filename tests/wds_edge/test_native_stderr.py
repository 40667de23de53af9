"""MediaPipe's start-up chatter goes to the debug log, its real messages still reach stderr."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wds_edge._native_stderr import NATIVE_LOGS_ENV, is_startup_chatter, native_stderr_to_log

# What MediaPipe 1.2.3 printed when a FaceLandmarker started (copied from a real run)
CHATTER = [
    "WARNING: Logging before InitGoogle() is written to STDERR",
    "W0000 00:00:1796616635.167460    8191 face_landmarker_graph.cc:181] Sets "
    "FaceBlendshapesGraph acceleration to xnnpack by default.",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "W0000 00:00:1796616635.200158    8195 inference_feedback_manager.cc:121] Feedback "
    "manager requires a model with a single signature inference. Disabling support for "
    "feedback tensors.",
]
ERROR = "E0000 00:00:1796616635.3 8195 calculator_graph.cc:928] INVALID_ARGUMENT: bad model"


def test_only_the_known_start_up_lines_are_chatter() -> None:
    assert all(is_startup_chatter(line) for line in CHATTER)
    assert not is_startup_chatter(ERROR)
    assert not is_startup_chatter("W0000 00:00:1.0  1 other_file.cc:3] something new")
    assert not is_startup_chatter("Traceback (most recent call last):")


def test_chatter_goes_to_the_log_and_errors_to_stderr(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="wds_edge._native_stderr"), native_stderr_to_log():
        os.write(2, ("\n".join([*CHATTER, ERROR]) + "\n").encode())
    err = capfd.readouterr().err
    assert err.strip() == ERROR  # the error is kept, the chatter is not
    assert sum("mediapipe:" in r.getMessage() for r in caplog.records) == len(CHATTER)
    os.write(2, b"after the block\n")  # descriptor 2 is back
    assert capfd.readouterr().err == "after the block\n"


def _start_landmarker(landmarker_path: Path, env: dict[str, str]) -> str:
    code = (
        "from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions\n"
        f"FaceLandmarker(FaceLandmarkerOptions(model_path={str(landmarker_path)!r})).close()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_a_real_landmarker_starts_quietly(landmarker_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != NATIVE_LOGS_ENV}
    assert _start_landmarker(landmarker_path, env) == ""
    # the switch that leaves descriptor 2 alone shows what was hidden
    loud = _start_landmarker(landmarker_path, {**env, NATIVE_LOGS_ENV: "1"})
    assert any(is_startup_chatter(line) for line in loud.splitlines()), loud
