"""`wds-edge build-engine` on a machine without an NVIDIA GPU says so first (issue 23 item 9):
installing TensorRT, which the message used to ask for, would not help there."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.cli.export_cmds import _nvidia_gpu_present
from wds_edge.errors import BackendUnavailableError


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None or _nvidia_gpu_present(),
    reason="this machine has TensorRT or an NVIDIA GPU",
)
def test_no_gpu_is_the_first_thing_said(onnx_model_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["build-engine", "--onnx", str(onnx_model_path), "--out", str(tmp_path / "m.engine")]
    )
    assert isinstance(result.exception, BackendUnavailableError)
    message = str(result.exception)
    assert message.startswith("this machine has no NVIDIA GPU")
    assert "--backend auto" in message and "wds-edge[trt]" in message  # then the install hint
    assert not (tmp_path / "m.engine").exists()
