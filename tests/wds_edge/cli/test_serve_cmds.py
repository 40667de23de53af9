"""`wds-edge serve`: refusals that happen before anything loads (the server itself:
tests/wds_edge/service and tests/sdk_examples/test_service_client.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import CaptureError, InvalidInputError

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_remote_host_needs_allow_remote() -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert isinstance(result.exception, InvalidInputError)
    assert "--allow-remote" in str(result.exception)


def test_missing_camera_is_a_clear_error(onnx_model_path: Path, landmarker_path: Path) -> None:
    args = [
        "serve", "--source", str(REPO_ROOT / "no_such_clip.mp4"), "--model", str(onnx_model_path),
        "--landmarker", str(landmarker_path), "--backend", "onnxruntime", "--port", "0",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, CaptureError)
    assert "no_such_clip.mp4" in str(result.exception)


def test_help_names_the_endpoints() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "serve", "--help"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert run.returncode == 0
    for word in ("/healthz", "/v1/analyze", "/v1/stream", "--allow-remote", "--token"):
        assert word in run.stdout
