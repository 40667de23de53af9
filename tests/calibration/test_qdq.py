"""Explicit INT8: the Q/DQ model runs in ONNX Runtime and meets the INT8 gate on face crops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from wds_edge.errors import ModelError
from wds_edge.model.preprocessing import model_input
from wds_edge.runtime.gate import accuracy_gate
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge_calibration.dataset import write_calibration_set
from wds_edge_calibration.qdq import fp32_nodes, quantize_qdq
from wds_edge_export.onnx_export import export_model


@pytest.fixture(scope="module")
def fp32_and_int8(proxy_model, kiosk_crops_128, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qdq")
    fp32 = tmp / "m.onnx"
    export_model(proxy_model, fp32, input_size_px=128)
    calib = write_calibration_set(
        [c for _, c in kiosk_crops_128[:6]], tmp / "calib", source="faces", size_px=128,
        preprocessing_path="kiosk",
    )  # fmt: skip
    int8 = quantize_qdq(fp32, calib, tmp / "m.int8.onnx")
    return fp32, int8, calib


def test_qdq_model_is_close_to_fp32_on_held_out_face_crops(fp32_and_int8, kiosk_crops_128) -> None:
    """ONNX Runtime Q/DQ INT8 stays near FP32 but below the one gate (mean IoU >= 0.98).

    Measured on this proxy (issue 22): mean IoU ~0.967, worst ~0.931 on the held-out crops
    with the first conv and the last decoder block kept in FP32 (0.963 / 0.927 without), so
    the gate (issue 12: mean >= 0.98 and worst >= 0.95 for every path) refuses it; the
    OpenVINO NNCF path (tests/calibration/test_openvino_int8.py) is the CPU INT8 route.
    """
    fp32, int8, _ = fp32_and_int8
    held_out = [model_input(c, "texture_in_graph") for _, c in kiosk_crops_128[6:]]
    assert len(held_out) >= 3
    cpu = ["CPUExecutionProvider"]
    with (
        OnnxRuntimeBackend(fp32, providers=cpu) as ref,
        OnnxRuntimeBackend(int8, providers=cpu) as q,
    ):
        result = accuracy_gate(ref.infer, q.infer, held_out, precision="int8")
        assert result.mean_iou >= 0.95 and result.min_iou >= 0.9, result.reason
        assert result.max_abs_prob_diff > 0  # it really is a different (quantized) model
        assert q.metadata == ref.metadata  # the contract survives quantization


def test_qdq_graph_keeps_texture_and_output_in_fp32(fp32_and_int8) -> None:
    fp32, int8, calib = fp32_and_int8
    model = onnx.load(str(int8))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") > 20 and ops.count("DequantizeLinear") > 20
    producers = {o: n for n in model.graph.node for o in n.output}
    for node in model.graph.node:
        if node.name.startswith("/preprocess/") or node.op_type == "Sigmoid":
            assert all(
                producers.get(i) is None or producers[i].op_type != "DequantizeLinear"
                for i in node.input
            ), f"{node.name} runs on quantized input"
    sigmoid = next(n for n in model.graph.node if n.op_type == "Sigmoid")
    assert producers[sigmoid.input[0]].op_type == "Conv"  # the F1 head conv, FP32 output
    info = json.loads({p.key: p.value for p in model.metadata_props}["quantization"])
    assert info["calibration"]["data_sha256"] == calib.data_sha256
    assert set(fp32_nodes(onnx.load(str(fp32)))) <= set(info["fp32_nodes"])


def test_qdq_rejects_size_mismatch(fp32_and_int8, kiosk_crops_128, tmp_path: Path) -> None:
    fp32, _, _ = fp32_and_int8
    small = write_calibration_set(
        [c[:64, :64].copy() for _, c in kiosk_crops_128[:2]], tmp_path / "c", source="t",
        size_px=64, preprocessing_path="p",
    )  # fmt: skip
    with pytest.raises(ModelError, match="--size 128"):
        quantize_qdq(fp32, small, tmp_path / "x.onnx")


def test_calibration_package_never_imports_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import calibration, wds_edge_calibration.qdq, wds_edge_calibration.trt_calibrator\n"
        "import wds_edge.runtime.tensorrt\n"
        "import wds_edge.runtime.tensorrt.backend, wds_edge.cli.export_cmds\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
