"""Real TensorRT (``trt`` marker): runs only where TensorRT imports and cuda-python sees a
GPU, e.g. on a kiosk (`pytest -m trt`); needs no torch (the committed ONNX fixture).

Not executed in this repository's CI: no machine here has TensorRT or a GPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import MissingDependencyError, ModelError
from wds_edge.runtime.base import Backend
from wds_edge.runtime.tensorrt.backend import TensorRTBackend

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


def test_is_a_backend() -> None:
    assert issubclass(TensorRTBackend, Backend) and TensorRTBackend.name == "tensorrt"


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_without_tensorrt_raises_install_hint(tmp_path: Path) -> None:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    with pytest.raises(MissingDependencyError, match=r"'\.\[trt\]'.*trt-cu13.*JetPack"):
        TensorRTBackend(engine)


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        TensorRTBackend(tmp_path / "none.engine")


def _x(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, 3, 128, 128)).astype(np.float32)


@pytest.mark.trt
def test_fp32_engine_matches_onnxruntime(small_onnx: Path, tmp_path: Path) -> None:
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge.runtime.tensorrt.provision import provision_engine

    with (
        OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref,
        provision_engine(small_onnx, "fp32", cache_dir=tmp_path) as trt,
    ):
        assert trt.metadata == ref.metadata
        for n in (1, 2, 1):  # shape changes reuse the same buffers
            np.testing.assert_allclose(trt.infer(_x(n)), ref.infer(_x(n)), atol=1e-3)
        split = trt.profile_transfers(_x(1), runs=5)
        assert split["compute_ms"] > 0 and split["h2d_ms"] > 0
    trt.close()  # idempotent


@pytest.mark.trt
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_real_build_is_cached_and_gated(
    small_onnx: Path, tmp_path: Path, precision: str, make_calib
) -> None:
    from wds_edge.runtime.tensorrt.module import tensorrt_major, tensorrt_module
    from wds_edge.runtime.tensorrt.provision import ensure_engine
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    if precision == "fp16" and tensorrt_major(tensorrt_module()) >= 11:
        pytest.skip("TensorRT 11 has no FP16 builder flag")
    calib = tensorrt_calibration(make_calib(0))
    first = ensure_engine(small_onnx, precision, calibration=calib, cache_dir=tmp_path,
                          gate_crops=make_calib(1), allow_accuracy_loss=True)  # fmt: skip
    assert first.built and first.path.is_file() and first.sidecar_path.is_file()
    assert (first.gate is None) == (precision == "fp32")
    if precision != "fp32" and tensorrt_major(tensorrt_module()) < 11:
        import json

        doc = json.loads(first.sidecar_path.read_text())  # the engine read back (inspector)
        assert doc["precision_check"]["fp32"], doc["precision_check"]
    again = ensure_engine(small_onnx, precision, calibration=calib, cache_dir=tmp_path,
                          allow_accuracy_loss=True)  # fmt: skip
    assert not again.built and again.path == first.path
