"""The Eq. 1 texture subgraph stays in float32 whichever exporter wrote the ONNX.

The torchscript tracer names its nodes ``/preprocess/Div``, ``torch.export`` (dynamo)
``node_div``: the Q/DQ route (:func:`wds_edge_calibration.qdq.fp32_nodes`) and the TensorRT
FP16 / INT8 pins (:func:`wds_edge.runtime.tensorrt.precision.fp32_layer_names`) find the
subgraph by structure, so the same network exported both ways keeps the same nodes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

#: The Eq. 1 ops between the RGB input and the [R, G, B, T] Concat (luma, two separable
#: box-filter convs with their pads, division by the local mean, scale, clip, concat).
TEXTURE_OPS = Counter(
    {"Mul": 2, "ReduceSum": 1, "Pad": 2, "Conv": 2, "Div": 1, "Sub": 1, "Clip": 1, "Concat": 1}
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untrained base-4, 64 px network exported with both exporters."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    model = WrinkleUNet(base_channels=4)
    tmp = tmp_path_factory.mktemp("exporters")
    out = {}
    for exporter in ("torchscript", "dynamo"):
        out[exporter] = tmp / f"m_{exporter}.onnx"
        export_model(model, out[exporter], input_size_px=64, exporter=exporter)
    return out


def _ops(path: Path, names: list[str]) -> Counter[str]:
    import onnx

    op = {n.name: n.op_type for n in onnx.load(str(path)).graph.node}
    return Counter(op[n] for n in names)


def test_the_exporters_name_the_texture_nodes_differently(exported: dict[str, Path]) -> None:
    """The premise: only the tracer's names carry the ``/preprocess/`` prefix."""
    import onnx

    names = {k: [n.name for n in onnx.load(str(p)).graph.node] for k, p in exported.items()}
    assert any(n.startswith("/preprocess/") for n in names["torchscript"])
    assert not any(n.startswith("/preprocess/") for n in names["dynamo"])


def test_qdq_keeps_the_same_nodes_in_fp32_for_both_exporters(exported: dict[str, Path]) -> None:
    import onnx

    from wds_edge.model.texture_graph import onnx_texture_subgraph
    from wds_edge_calibration.qdq import fp32_nodes

    kept = {k: fp32_nodes(onnx.load(str(p))) for k, p in exported.items()}
    ops = {k: _ops(exported[k], names) for k, names in kept.items()}
    assert len(kept["dynamo"]) == len(kept["torchscript"])
    assert ops["dynamo"] == ops["torchscript"]
    for path in exported.values():
        texture = onnx_texture_subgraph(onnx.load(str(path)).graph)
        assert texture is not None and _ops(path, list(texture.nodes)) == TEXTURE_OPS
        assert set(texture.nodes) <= set(fp32_nodes(onnx.load(str(path))))


def test_dynamo_qdq_model_runs_eq1_on_float_inputs(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    """Quantized for real (ONNX Runtime): no texture node reads a DequantizeLinear output."""
    import onnx

    from wds_edge.model.texture_graph import onnx_texture_subgraph
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.qdq import quantize_qdq

    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)]
    calib = write_calibration_set(crops, tmp_path / "calib", source="test", size_px=64,
                                  preprocessing_path="random pixels")  # fmt: skip
    source = exported["dynamo"]
    texture = onnx_texture_subgraph(onnx.load(str(source)).graph)
    assert texture is not None
    qdq = onnx.load(str(quantize_qdq(source, calib, tmp_path / "q.onnx", use_modelopt=False)))
    producer = {o: n for n in qdq.graph.node for o in n.output}
    by_name = {n.name: n for n in qdq.graph.node}
    assert sum(n.op_type == "DequantizeLinear" for n in qdq.graph.node) > 10  # it is quantized
    for name in texture.nodes:
        dequantized = {o for o, n in producer.items() if n.op_type == "DequantizeLinear"}
        quantized_inputs = [i for i in by_name[name].input if i in dequantized]
        assert quantized_inputs == [], f"{name} ({by_name[name].op_type}) runs in INT8"


@pytest.mark.parametrize("int8", [False, True], ids=["fp16", "int8"])
def test_tensorrt_pins_the_same_layers_for_both_exporters(
    fake_trt, exported: dict[str, Path], int8: bool
) -> None:
    fake_trt()
    import tensorrt as trt

    from wds_edge.runtime.tensorrt.logger import trt_logger
    from wds_edge.runtime.tensorrt.precision import fp32_layer_names

    pinned = {}
    for exporter, path in exported.items():
        network = trt.Builder(trt_logger(trt)).create_network(0)
        trt.OnnxParser(network, trt_logger(trt)).parse_from_file(str(path))
        pinned[exporter] = fp32_layer_names(trt, network, int8=int8)
    ops = {k: _ops(exported[k], names) for k, names in pinned.items()}
    assert len(pinned["dynamo"]) == len(pinned["torchscript"])
    assert ops["dynamo"] == ops["torchscript"]
    assert ops["dynamo"]["Div"] == 1 and ops["dynamo"]["Clip"] == 1  # Eq. 1 is pinned
    assert ops["dynamo"]["Sigmoid"] == 1  # and the head
