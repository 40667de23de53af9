"""The numerics of the TensorRT stand-in: what its "engines" compute, and its engine inspector.

An engine of the stand-in is the network's ONNX, rewritten so that ONNX Runtime computes
roughly what the built precisions would:

* a layer that runs in FP16 has its float weights and its float outputs rounded through
  float16 (storage rounding; TensorRT's FP16 kernels also accumulate in reduced precision,
  which this does not model);
* a convolution that runs in INT8 (TensorRT 10 implicit calibration) is quantized by ONNX
  Runtime's ``quantize_static`` (per-channel symmetric weights, per-tensor symmetric
  activations) with ranges from the batches the calibrator fed (entropy calibration is
  emulated by min/max);
* a Q/DQ model runs as it is (ONNX Runtime executes Q/DQ in INT8 arithmetic).

The layer precisions come from the builder flags and the layer constraints as the real
builder treats them (:func:`layer_precisions`), and the inspector reports them in the
``Format/Datatype`` wording TensorRT uses.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

FLOAT_ONNX = {1: "float32", 10: "float16", 16: "bfloat16"}
_NO_COMPUTE = {"Constant", "Shape", "QuantizeLinear", "DequantizeLinear"}


def layer_precisions(
    layers: list[Any], flags: set[str], *, strongly_typed: bool, qdq: bool, prefer_drops: bool
) -> tuple[dict[str, str], list[str]]:
    """{layer name: "fp32" | "fp16" | "int8" | "typed"} and the builder's warnings.

    Weak typing (TensorRT 10): with ``FP16`` every float layer may run FP16; with ``INT8``
    (no Q/DQ) convolutions run INT8. A layer's own precision counts only under
    ``OBEY_PRECISION_CONSTRAINTS``; under ``PREFER_PRECISION_CONSTRAINTS`` TensorRT may
    drop it with a warning, and the stand-in does (``prefer_drops``), the worst case the
    flag allows; without either flag the constraint is ignored.
    """
    runs: dict[str, str] = {}
    warnings: list[str] = []
    for layer in layers:
        floats = any(t.is_float for t in layer.outputs)
        if strongly_typed or not floats or layer.op in _NO_COMPUTE:
            runs[layer.name] = "typed"
            continue
        pinned = layer.precision_set
        honoured = pinned and (
            "OBEY_PRECISION_CONSTRAINTS" in flags
            or ("PREFER_PRECISION_CONSTRAINTS" in flags and not prefer_drops)
        )
        if pinned and not honoured:
            warnings.append(f"layer {layer.name}: precision constraint not honoured")
        if honoured:
            runs[layer.name] = layer.precision_name
        elif "INT8" in flags and not qdq and layer.op == "Conv":
            runs[layer.name] = "int8"
        elif "FP16" in flags:
            runs[layer.name] = "fp16"
        else:
            runs[layer.name] = "fp32"
    return runs, warnings


def _round_fp16(model: Any, runs: dict[str, str]) -> None:
    """Round the weights and outputs of the FP16 layers of ``model`` through float16."""
    import onnx
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    new_nodes = []
    for node in model.graph.node:
        if runs.get(node.name) != "fp16":
            new_nodes.append(node)
            continue
        for name in node.input:
            if name in inits and inits[name].data_type == onnx.TensorProto.FLOAT:
                value = numpy_helper.to_array(inits[name]).astype(np.float16).astype(np.float32)
                inits[name].CopyFrom(numpy_helper.from_array(value, name))
        outputs = list(node.output)
        renamed = [f"{o}__fp32" for o in outputs]
        del node.output[:]
        node.output.extend(renamed)
        new_nodes.append(node)
        for raw, out in zip(renamed, outputs, strict=True):
            half = f"{out}__fp16"
            new_nodes.append(helper.make_node("Cast", [raw], [half], to=onnx.TensorProto.FLOAT16))
            new_nodes.append(helper.make_node("Cast", [half], [out], to=onnx.TensorProto.FLOAT))
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    del model.graph.value_info[:]  # stale after the rewrite; ONNX Runtime infers again


def _quantize_int8(model_bytes: bytes, convs: list[str], inputs: list[np.ndarray],
                   input_name: str) -> bytes:  # fmt: skip
    from onnxruntime import quantization as q

    class Reader(q.CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {input_name: x}

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        src.write_bytes(model_bytes)
        q.quantize_static(
            str(src), str(dst), Reader(), quant_format=q.QuantFormat.QDQ, per_channel=True,
            activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8,
            nodes_to_quantize=convs, op_types_to_quantize=["Conv"],
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )  # fmt: skip
        return dst.read_bytes()


def emulated_model(onnx_path: str, runs: dict[str, str], calib_inputs: list[np.ndarray]) -> bytes:
    """The ONNX bytes ONNX Runtime runs for an engine with these layer precisions."""
    import onnx

    model = onnx.load(onnx_path)
    if any(r == "fp16" for r in runs.values()):
        _round_fp16(model, runs)
    data = model.SerializeToString()
    convs = [name for name, r in runs.items() if r == "int8"]
    if convs and calib_inputs:
        data = _quantize_int8(data, convs, calib_inputs, model.graph.input[0].name)
    return data


def pack_inputs(inputs: list[np.ndarray]) -> bytes:
    """The stand-in's "calibration cache": the calibration batches themselves (npz)."""
    buf = io.BytesIO()
    np.savez(buf, *inputs)
    return buf.getvalue()


def unpack_inputs(data: bytes) -> list[np.ndarray] | None:
    try:
        with np.load(io.BytesIO(bytes(data))) as z:
            return [z[k] for k in z.files]
    except (ValueError, OSError):
        return None


_FORMAT = {
    "fp32": "Row major linear FP32",
    "fp16": "Row major linear FP16 format",
    "int8": "Thirty-two wide channel vectorized row major Int8 format.",
}


def _tensor_format(tensor: dict[str, Any], run: str, *, side: str) -> str:
    if tensor["float"] is None:
        return f"Row major linear {tensor['dtype'].capitalize()}"
    if run == "typed":
        return _FORMAT["fp32"] if tensor["float"] == "float32" else _FORMAT["fp16"]
    if run == "int8":
        return _FORMAT["int8"] if side == "in" else _FORMAT["fp16"]
    return _FORMAT[run]


def engine_information(layers: list[dict[str, Any]], *, detailed: bool, shapes_known: bool) -> str:
    """What ``IEngineInspector.get_engine_information(LayerInformationFormat.JSON)`` returns.

    ``layers``: ``{"name", "type", "run", "inputs", "outputs"}`` with tensors as
    ``{"name", "dtype", "float"}`` (constants are folded away, as TensorRT does).
    """
    import json

    if not detailed:  # ProfilingVerbosity.LAYER_NAMES_ONLY: names, nothing else
        return json.dumps({"Layers": [layer["name"] for layer in layers], "Bindings": []})
    rows = []
    for layer in layers:

        def fmt(t: dict[str, Any], side: str, run: str = layer["run"]) -> str:
            if not shapes_known:
                return "N/A due to dynamic shapes"
            return _tensor_format(t, run, side=side)

        rows.append({
            "Name": layer["name"], "LayerType": layer["type"],
            "Inputs": [{"Name": t["name"], "Format/Datatype": fmt(t, "in")}
                       for t in layer["inputs"]],
            "Outputs": [{"Name": t["name"], "Format/Datatype": fmt(t, "out")}
                        for t in layer["outputs"]],
        })  # fmt: skip
    return json.dumps({"Layers": rows, "Bindings": []})
