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

#: Per export: the nodes between the [R, G, B, T] Concat and the first convolution.
BETWEEN = {
    "no_simplify": ["/preprocess/Mul_2"],
    "centred": ["/preprocess/Mul_2", "/Sub"],
    "space_to_depth": ["/preprocess/Mul_2", "/Reshape", "/Transpose", "/Reshape_1"],
    "s2d_centred": ["/preprocess/Mul_2", "/Sub", "/Mul", "/Reshape", "/Transpose", "/Reshape_1"],
}
FIRST_CONV = "/inc/inc.0/Conv"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untrained base-4, 64 px network per export kind."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    kinds = {
        "no_simplify": ({}, {"simplify": False}),
        "centred": ({"input_norm": "centred"}, {}),
        "space_to_depth": ({"stem": "space_to_depth"}, {}),
        "s2d_centred": ({"stem": "space_to_depth", "input_norm": "centred"}, {}),
    }
    tmp = tmp_path_factory.mktemp("first_conv")
    out = {}
    for kind, (arch, options) in kinds.items():
        torch.manual_seed(0)
        out[kind] = tmp / f"{kind}.onnx"
        export_model(WrinkleUNet(base_channels=4, **arch), out[kind], input_size_px=64, **options)
    return out


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
