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
    assert "--backend auto" in message and "'.[trt]'" in message  # then the install hint
    assert not (tmp_path / "m.engine").exists()


@pytest.mark.parametrize(
    "package", ["torch", "onnx", "tensorrt", "nncf", "starlette", "uvicorn", "multipart"]
)
def test_install_hints_install_the_extras_from_the_checkout(package: str) -> None:
    """wds-edge is not on PyPI: `pip install 'wds-edge[trt]'` (and [train], [export],
    [service], [openvino-int8]) finds nothing, or someone else's package. The hints install
    the extra from the checkout, and TensorRT's names the CUDA 13 extra (driver R580+)."""
    from wds_edge._deps import install_hint

    hint = install_hint(package)
    assert hint is not None and "wds-edge[" not in hint
    assert "pip install '.[" in hint and "in the wds-edge checkout" in hint
    if package == "tensorrt":
        assert "'.[trt]'" in hint and "'.[trt-cu13]'" in hint and "R580" in hint
