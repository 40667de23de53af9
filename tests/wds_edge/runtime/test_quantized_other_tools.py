"""Graphs quantized by other tools than ``wds-edge quantize`` are INT8 too: onnxruntime's
``quantize_dynamic`` (DynamicQuantizeLinear + ConvInteger / MatMulInteger), weight-only
DequantizeLinear and MatMulNBits. Labelled FP32, ``auto`` offered them BF16 / FP16 and gated
the model against itself."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge.runtime.quantized import model_precision

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture(scope="module")
def dynamic_int8(small_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small model through onnxruntime's ``quantize_dynamic`` (weights folded first:
    it quantizes Conv weights that are initializers only)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = tmp_path_factory.mktemp("dynamic")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp / "folded.onnx")
    ort.InferenceSession(str(small_onnx), options, providers=["CPUExecutionProvider"])
    quantize_dynamic(tmp / "folded.onnx", tmp / "dynamic.onnx", weight_type=QuantType.QUInt8)
    ops = {n.op_type for n in onnx.load(str(tmp / "dynamic.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "ConvInteger"} <= ops
    return tmp / "dynamic.onnx"


def _graph_with(path: Path, op: str, domain: str = "") -> Path:
    """A file whose graph has one ``op`` node (only its op types are read)."""
    node = helper.make_node(op, ["x", "s"], ["y"], domain=domain or None)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )  # fmt: skip
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.parametrize(
    ("op", "domain"),
    [("DynamicQuantizeLinear", ""), ("ConvInteger", ""), ("MatMulInteger", ""),
     ("DequantizeLinear", ""), ("MatMulNBits", "com.microsoft"),
     ("QGemm", "com.microsoft"), ("QLinearAdd", "com.microsoft")],
)  # fmt: skip
def test_other_tools_quantized_ops_make_a_graph_int8(tmp_path: Path, op: str, domain: str) -> None:
    assert model_precision(_graph_with(tmp_path / "m.onnx", op, domain)) == "int8"
    assert model_precision(_graph_with(tmp_path / "f.onnx", "Conv")) == "fp32"


def test_a_dynamically_quantized_model_runs_as_int8_with_the_no_gate_warning(
    dynamic_int8: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert model_precision(dynamic_int8) == "int8"
    with caplog.at_level(logging.WARNING), OnnxRuntimeBackend(dynamic_int8) as backend:
        assert backend.precision == "int8"
    assert "this INT8 model" in caplog.text and "no" in caplog.text


@pytest.mark.skipif(not HAS_OPENVINO, reason="OpenVINO is not installed")
def test_auto_offers_a_dynamically_quantized_model_no_bf16_or_fp16(dynamic_int8: Path) -> None:
    from wds_edge.runtime.auto import cpu_candidates

    candidates = cpu_candidates(dynamic_int8)
    assert not any(c.endswith((":bf16", ":fp16")) for c in candidates), candidates
