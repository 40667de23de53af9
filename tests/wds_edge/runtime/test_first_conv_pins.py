"""INT8 keeps the U-Net's first convolution out of INT8 whatever lies between it and the
``[R, G, B, T]`` Concat (:func:`wds_edge.model.texture_graph.first_convolutions`).

The default (simplified) export feeds the Concat straight into the first convolution; an
unsimplified one (``--no-simplify``) scales the input in a ``Mul`` first, a ``centred``
model normalises it (``Sub`` / ``Mul``), a ``space_to_depth`` stem reshapes and transposes
it. The TensorRT INT8 pins (:func:`wds_edge.runtime.tensorrt.precision.fp32_layer_names`)
and the OpenVINO NNCF ignored scope (:func:`wds_edge_calibration.openvino_int8.
higher_precision_nodes`) found the first convolution only when it read the Concat itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx_graphs import export_tiny_variants

#: Per export: the nodes between the [R, G, B, T] Concat and the first convolution.
BETWEEN = {
    "no_simplify": ["/preprocess/Mul_2"],
    "centred": ["/preprocess/Mul_2", "/Sub"],
    "space_to_depth": ["/preprocess/Mul_2", "/Reshape", "/Transpose", "/Reshape_1"],
    "s2d_centred": ["/preprocess/Mul_2", "/Sub", "/Mul", "/Reshape", "/Transpose", "/Reshape_1"],
}
FIRST_CONV = "/inc/inc.0/Conv"
#: The last decoder block INT8 keeps out of INT8 (from the head's input to the skip Concat).
LAST_BLOCK = ["/up4/Concat_1", "/up4/conv/conv.0/Conv", "/up4/conv/conv.3/Conv"]
#: Exports fed [R, G, B, T] (--texture-outside): no texture subgraph, no Concat to start
#: from; the nodes between the network input and the first convolution.
OUTSIDE = {"texture_outside": [], "s2d_centred_outside": ["/Sub", "/Mul", "/Reshape",
                                                         "/Transpose", "/Reshape_1"]}  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untrained base-4, 64 px network per export kind."""
    kinds = {
        "no_simplify": ({}, {"simplify": False}),
        "centred": ({"input_norm": "centred"}, {}),
        "space_to_depth": ({"stem": "space_to_depth"}, {}),
        "s2d_centred": ({"stem": "space_to_depth", "input_norm": "centred"}, {}),
        "texture_outside": ({}, {"texture_in_graph": False}),
        "s2d_centred_outside": (
            {"stem": "space_to_depth", "input_norm": "centred"}, {"texture_in_graph": False},
        ),
    }  # fmt: skip
    return export_tiny_variants(tmp_path_factory.mktemp("first_conv"), kinds)


@pytest.mark.parametrize("kind", list(BETWEEN))
def test_tensorrt_int8_pins_the_first_conv_and_what_leads_to_it(
    fake_trt, exported: dict[str, Path], kind: str
) -> None:
    fake_trt()
    import tensorrt as trt

    from wds_edge.runtime.tensorrt.logger import trt_logger
    from wds_edge.runtime.tensorrt.precision import fp32_layer_names

    network = trt.Builder(trt_logger(trt)).create_network(0)
    trt.OnnxParser(network, trt_logger(trt)).parse_from_file(str(exported[kind]))
    int8 = set(fp32_layer_names(trt, network, int8=True))
    assert {*BETWEEN[kind], FIRST_CONV} <= int8
    assert FIRST_CONV not in fp32_layer_names(trt, network, int8=False)  # FP16: INT8's only


@pytest.mark.parametrize("kind", list(BETWEEN))
def test_openvino_int8_keeps_the_first_conv_and_what_leads_to_it(
    exported: dict[str, Path], kind: str
) -> None:
    ov = pytest.importorskip("openvino", reason="OpenVINO INT8 needs openvino")
    from wds_edge_calibration.openvino_int8 import higher_precision_nodes

    kept = set(higher_precision_nodes(ov.Core().read_model(str(exported[kind]))))
    assert {*BETWEEN[kind], f"{FIRST_CONV}/WithoutBiases"} <= kept
    assert not any(k.startswith("/inc/inc.1") or k.startswith("/down") for k in kept)


@pytest.mark.parametrize("kind", list(OUTSIDE))
def test_tensorrt_int8_of_a_texture_outside_model_pins_from_the_input(
    fake_trt, exported: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    """Defect: the INT8 pins of the first convolution and the last decoder block ran only
    when a texture subgraph was found, so a --texture-outside model (fed [R, G, B, T], no
    Concat) built INT8 ran both in INT8. They are found from the network input, as the
    Q/DQ and OpenVINO routes find them, in the build too (its metadata says where the
    texture is computed)."""
    fake_trt()
    import tensorrt as trt

    from wds_edge.model.preprocessing import Preprocessing
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge.runtime.tensorrt.build import build_plan, tensorrt_module
    from wds_edge.runtime.tensorrt.cuda import device_info
    from wds_edge.runtime.tensorrt.logger import trt_logger
    from wds_edge.runtime.tensorrt.precision import fp32_layer_names
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    path = exported[kind]
    network = trt.Builder(trt_logger(trt)).create_network(0)
    trt.OnnxParser(network, trt_logger(trt)).parse_from_file(str(path))
    wanted = {*OUTSIDE[kind], FIRST_CONV, *LAST_BLOCK, "/head1/Conv", "/Sigmoid"}
    for preprocessing in (Preprocessing.TEXTURE_OUTSIDE, None):
        int8 = set(fp32_layer_names(trt, network, int8=True, preprocessing=preprocessing))
        assert wanted <= int8, sorted(wanted - int8)
        assert not any(name.startswith(("/down", "/inc/inc.3")) for name in int8)
    fp16 = fp32_layer_names(trt, network, int8=False, preprocessing=Preprocessing.TEXTURE_OUTSIDE)
    assert FIRST_CONV not in fp16 and "/head1/Conv" in fp16  # FP16: the head only

    with OnnxRuntimeBackend(path, providers=["CPUExecutionProvider"]) as ort:
        metadata = ort.metadata
    assert metadata.preprocessing is Preprocessing.TEXTURE_OUTSIDE
    calib = write_calibration_set(
        synthetic_skin_crops(64, 2), tmp_path / "calib", source="synthetic", size_px=64,
        preprocessing_path="synthetic",
    )  # fmt: skip
    built = build_plan(
        tensorrt_module(), path, "int8", metadata, device_info(0), model_sha256="0" * 64,
        calibration=tensorrt_calibration(calib), calib_cache_path=tmp_path / "m.calib",
    )  # fmt: skip
    assert wanted <= set(built.fp32_layers), sorted(wanted - set(built.fp32_layers))
