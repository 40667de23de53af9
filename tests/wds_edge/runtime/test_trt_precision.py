"""FP32 pins of FP16 / INT8 TensorRT 10 builds and reading the engine back (issue 22, items 5,
10, 18), against the stand-in: its FP16 layers round through float16, its implicit INT8
convolutions are quantized, PREFER constraints are dropped (as TensorRT may), a FLOAT type
on an INT tensor is refused, and its inspector reports what each layer ran in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from fake_tensorrt import ApiViolation
from onnx import helper
from onnx_graphs import scaled_head_model

from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge.runtime.tensorrt.precision import (
    check_fp32_layers,
    fp32_layer_names,
    pin_fp32,
    tensor_precision,
)

# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


def _network(trt, onnx_path: Path, strongly_typed: bool = False):  # noqa: ANN001, ANN202
    from wds_edge.runtime.tensorrt.logger import trt_logger

    builder = trt.Builder(trt_logger(trt))
    network = builder.create_network(1 if strongly_typed else 0)
    trt.OnnxParser(network, trt_logger(trt)).parse_from_file(str(onnx_path))
    return builder, network


@pytest.fixture
def with_shape_helper(small_onnx: Path, tmp_path: Path) -> Path:
    """The small model plus an INT64 shape helper inside /preprocess/ (as exporters make)."""
    model = onnx.load(str(small_onnx))
    model.graph.node.append(helper.make_node("Shape", ["image"], ["hw"], name="/preprocess/Shape"))
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def test_fp16_pins_texture_and_head_int8_also_first_conv_and_last_block(
    fake_trt, small_onnx: Path
) -> None:
    fake_trt()
    import tensorrt as trt

    _, network = _network(trt, small_onnx)
    fp16 = set(fp32_layer_names(trt, network, int8=False))
    assert {"/preprocess/Div", "/preprocess/Conv", "/preprocess/Concat_2"} <= fp16
    assert {"/head1/Conv", "/Sigmoid"} <= fp16
    assert not any("Constant" in n for n in fp16)  # constants: their consumers decide
    assert "/inc/inc.0/Conv" not in fp16 and "/up4/conv/conv.0/Conv" not in fp16
    int8 = set(fp32_layer_names(trt, network, int8=True))
    assert fp16 | {"/inc/inc.0/Conv", "/up4/Concat_2", "/up4/conv/conv.0/Conv",
                   "/up4/conv/conv.2/LeakyRelu", "/up4/conv/conv.3/Conv",
                   "/up4/conv/conv.5/LeakyRelu"} == int8  # fmt: skip


def test_pins_skip_int_tensors_and_obey(fake_trt, with_shape_helper: Path) -> None:
    fake_trt()
    import tensorrt as trt

    builder, network = _network(trt, with_shape_helper)
    config = builder.create_builder_config()
    names = fp32_layer_names(trt, network, int8=False)
    assert "/preprocess/Shape" not in names
    # pinning the INT64 helper's output to FLOAT is what TensorRT rejects
    shape = next(la for la in network.layers if la.name == "/preprocess/Shape")
    with pytest.raises(ApiViolation, match="INT64"):
        shape.set_output_type(0, trt.float32)
    pin_fp32(trt, network, config, names)
    assert {f.name for f in config.flags} == {"OBEY_PRECISION_CONSTRAINTS"}


def _doc(engine: Path) -> dict:
    return json.loads(engine.with_suffix(".json").read_text())


def test_fp16_engine_is_read_back_texture_fp32_rest_fp16(
    fake_trt, with_shape_helper: Path, tmp_path: Path, make_calib
) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    state = fake_trt()
    info = ensure_engine(with_shape_helper, "fp16", cache_dir=tmp_path, gate_crops=make_calib(3))
    doc = _doc(info.path)
    assert doc["precision_check"]["fp32"] and not state.warnings
    assert "OBEY_PRECISION_CONSTRAINTS" in state.builds[-1]["flags"]
    with TensorRTBackend(info.path) as engine:
        layers = {la["Name"]: la for la in engine.engine_layers()}
    fmt = {n: {tensor_precision(t["Format/Datatype"]) for t in la["Outputs"]}
           for n, la in layers.items()}  # fmt: skip
    assert fmt["/preprocess/Div"] == {"FP32"} and fmt["/head1/Conv"] == {"FP32"}
    assert fmt["/inc/inc.0/Conv"] == {"FP16"} and fmt["/preprocess/Shape"] == {"INT"}


def test_prefer_would_lose_the_pins_and_the_read_back_says_so(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the code did before issue 22: PREFER, which TensorRT may drop (the stand-in does)."""
    from wds_edge.errors import ModelError
    from wds_edge.runtime.tensorrt import precision
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    state = fake_trt()
    real = precision.pin_fp32

    def prefer(trt, network, config, names):  # noqa: ANN001, ANN202
        pinned = real(trt, network, types_only := config, names)  # noqa: F841
        config.flags.discard(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        return pinned

    monkeypatch.setattr("wds_edge.runtime.tensorrt.build.pin_fp32", prefer)
    with pytest.raises(ModelError, match=r"must stay FP32.*/preprocess/"):
        ensure_engine(small_onnx, "fp16", cache_dir=tmp_path, gate_crops=make_calib(3))
    assert any("not honoured" in w for w in state.warnings)
    assert not list(tmp_path.glob("*.engine"))


def test_int8_engine_keeps_first_conv_and_last_block_fp32(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    from wds_edge.runtime.tensorrt.provision import ensure_engine
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    state = fake_trt()
    info = ensure_engine(small_onnx, "int8", calibration=tensorrt_calibration(make_calib(0)),
                         gate_crops=make_calib(3), cache_dir=tmp_path)  # fmt: skip
    runs = state.builds[-1]["precisions"]
    assert runs["/inc/inc.0/Conv"] == runs["/up4/conv/conv.3/Conv"] == "fp32"
    assert runs["/head1/Conv"] == runs["/preprocess/Conv"] == "fp32"
    assert runs["/down1/down1.1/down1.1.0/Conv"] == runs["/inc/inc.3/Conv"] == "int8"
    assert _doc(info.path)["precision_check"]["fp32"]


def test_the_stand_in_computes_in_the_precision_it_builds(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    """FP16 output differs from FP32 by float16 rounding, INT8 by more (so its gates can fail)."""
    from wds_edge.runtime.tensorrt.provision import provision_engine
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    fake_trt()
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 128, 128)).astype(np.float32)
    diffs = {}
    with OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref:
        want = ref.infer(x)
        for precision in ("fp32", "fp16", "int8"):
            calib = tensorrt_calibration(make_calib(0)) if precision == "int8" else None
            with provision_engine(small_onnx, precision, calibration=calib, cache_dir=tmp_path,
                                  gate_crops=make_calib(3)) as engine:  # fmt: skip
                diffs[precision] = float(np.abs(engine.infer(x) - want).max())
    assert diffs["fp32"] == 0.0 < diffs["fp16"] < 1e-2 and diffs["int8"] > diffs["fp16"]


def test_tensorrt_11_refuses_the_weak_typing_api(fake_trt, small_onnx: Path) -> None:
    fake_trt(version="11.4.0")
    import tensorrt as trt

    assert not hasattr(trt.BuilderFlag, "FP16") and not hasattr(
        trt.BuilderFlag, "OBEY_PRECISION_CONSTRAINTS"
    )
    _, network = _network(trt, small_onnx, strongly_typed=True)
    with pytest.raises(ApiViolation, match="removed in TensorRT 11"):
        network.get_layer(0).precision = trt.float32


def test_tensorrt_10_13_records_the_deprecated_weak_typing(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    state = fake_trt(version="10.13.0")
    ensure_engine(small_onnx, "fp16", cache_dir=tmp_path, gate_crops=make_calib(3))
    assert {
        "BuilderFlag.FP16",
        "ILayer.precision",
        "BuilderFlag.OBEY_PRECISION_CONSTRAINTS",
    } <= state.deprecated


def test_read_back_of_real_inspector_wording() -> None:
    layers = [
        {"Name": "/preprocess/Pad + /preprocess/Conv", "Inputs": [{"Format/Datatype": "Float"}],
         "Outputs": [{"Format/Datatype": "Row major linear FP32"}]},
        {"Name": "Reformatting CopyNode for Input Tensor 0 to /head1/Conv",
         "Inputs": [{"Format/Datatype": "Row major linear FP16 format"}],
         "Outputs": [{"Format/Datatype": "Row major linear FP32"}]},
        {"Name": "/head1/Conv + PWN(/Sigmoid)", "Inputs": [{"Format/Datatype": "Float"}],
         "Outputs": [{"Format/Datatype": "Float"}]},
        {"Name": "/inc/inc.0/Conv", "Inputs": [{"Format/Datatype": "Half"}],
         "Outputs": [{"Format/Datatype": "Half"}]},
    ]  # fmt: skip
    names = ["/preprocess/Conv", "/preprocess/Pad", "/head1/Conv", "/Sigmoid"]
    ok = check_fp32_layers(layers, names)
    assert ok["fp32"] and len(ok["layers"]) == 3
    layers[2]["Outputs"] = [
        {"Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format."}
    ]
    assert check_fp32_layers(layers, names)["not_fp32"] == ["/head1/Conv + PWN(/Sigmoid)"]
    layers[2]["Outputs"] = [{"Format/Datatype": "N/A due to dynamic shapes"}]
    assert check_fp32_layers(layers, names)["unknown"] == ["/head1/Conv + PWN(/Sigmoid)"]
    with pytest.raises(Exception, match="DETAILED"):
        check_fp32_layers(["/preprocess/Conv"], names)


@pytest.mark.parametrize("join", [False, True])
def test_the_head_is_found_through_a_scaling_by_a_constant_not_a_join(
    fake_trt, tmp_path: Path, join: bool
) -> None:
    """The head walk is the Q/DQ route's (texture_graph.head_convolutions): through a Mul /
    Add by a constant to the head convolution (TensorRT's own walk stopped at any
    element-wise layer, leaving such a head unpinned), not through an Add of two computed
    tensors (a skip join)."""
    path = tmp_path / "m.onnx"
    onnx.save(scaled_head_model(join), str(path))
    fake_trt()
    import tensorrt as trt

    _, network = _network(trt, path)
    pinned = set(fp32_layer_names(trt, network, int8=False))
    if join:
        assert "/head1/Conv" not in pinned and "/Add" not in pinned
    else:
        assert {"/head1/Conv", "/Mul", "/Add", "/Sigmoid"} <= pinned
