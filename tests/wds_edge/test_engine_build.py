"""`wds-edge build-engine`: clear errors without TensorRT / GPU; real builds where they exist."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_build_engine_without_tensorrt_exits_2_with_install_hints(
    onnx_model_fixed_batch: Path, tmp_path: Path, precision: str
) -> None:
    result = CliRunner().invoke(
        app, ["build-engine", "--onnx", str(onnx_model_fixed_batch), "--precision", precision,
              "--out", str(tmp_path / "m.engine")],
    )  # fmt: skip
    assert result.exit_code != 0
    message = str(result.exception)
    assert "tensorrt" in message and "wds-edge[trt]" in message and "JetPack" in message
    assert not (tmp_path / "m.engine").exists()


def test_cli_main_prints_one_line_and_exit_2(onnx_model_fixed_batch: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "build-engine", "--onnx",
         str(onnx_model_fixed_batch), "--precision", "fp64"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--precision must be one of fp32, fp16, int8" in proc.stderr


@pytest.mark.trt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_build_is_cached_and_gated(onnx_model_fixed_batch: Path, tmp_path: Path,
                                        precision: str, kiosk_calib: Path) -> None:  # fmt: skip
    from wds_edge.runtime.tensorrt.build import build_engine

    first = build_engine(onnx_model_fixed_batch, precision, calib_dir=kiosk_calib,
                         cache_dir=tmp_path, allow_accuracy_loss=True)  # fmt: skip
    assert first.built and first.path.is_file() and first.sidecar_path.is_file()
    doc = json.loads(first.sidecar_path.read_text())
    assert doc["precision"] == precision and doc["gpu_name"]
    again = build_engine(onnx_model_fixed_batch, precision, calib_dir=kiosk_calib,
                         cache_dir=tmp_path, allow_accuracy_loss=True)  # fmt: skip
    assert not again.built and again.path == first.path


@pytest.fixture
def kiosk_calib(faces_dir: Path, landmarker_path: Path, tmp_path: Path) -> Path:
    from calibration.build import build_calibration_set

    return build_calibration_set(faces_dir, tmp_path / "calib", count=20, size_px=256,
                                 landmarker_path=landmarker_path).path  # fmt: skip
