"""TensorRTBackend: the Backend contract, clear errors without TensorRT, real runs with it."""

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
def test_without_tensorrt_raises_install_hint(onnx_model_fixed_batch: Path) -> None:
    with pytest.raises(MissingDependencyError, match=r"wds-edge\[trt\].*JetPack"):
        TensorRTBackend(onnx_model_fixed_batch)


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        TensorRTBackend(tmp_path / "none.engine")


@pytest.mark.trt
def test_fp32_engine_matches_onnxruntime(onnx_model_path: Path, tmp_path: Path, biden_bgr) -> None:
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 3, 256, 256)).astype(np.float32)
    with (
        OnnxRuntimeBackend(onnx_model_path, providers=["CPUExecutionProvider"]) as ref,
        TensorRTBackend(onnx_model_path, precision="fp32", cache_dir=tmp_path) as trt,
    ):
        assert trt.metadata == ref.metadata
        for n in (1, 2, 1):  # shape changes reuse the same buffers
            np.testing.assert_allclose(trt.infer(x[:n]), ref.infer(x[:n]), atol=1e-3)
    trt.close()  # idempotent
