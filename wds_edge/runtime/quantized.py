"""What an ONNX file says about its own quantization: the one place that decides whether a
model is a Q/DQ INT8 graph, and what its accuracy-gate record says.

A Q/DQ model (``wds-edge quantize --format qdq``) carries its INT8 scales in the graph as
``QuantizeLinear`` / ``DequantizeLinear`` pairs, and ``wds-edge quantize`` records how it
was made in the ``quantization`` metadata entry (a JSON object; :func:`qdq_info`), with the
accuracy gate's figures under ``gate`` (:func:`wds_edge.runtime.gate.gate_record`). Every
backend reports such a model as ``int8`` (:func:`model_precision`), whichever precision it
was asked for, and warns when its gate record is missing or failed
(:func:`wds_edge.runtime.gate.warn_unless_gated`).

The graph is read without the ``onnx`` package (not installed on a kiosk): the file's
protobuf is walked for the node op types and ``metadata_props`` only; initializers are
skipped by their length, never decoded.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass, field
from typing import Any

from wds_edge.errors import ModelError
from wds_edge.runtime.gate import read_gate_record, warn_unless_gated

__all__ = [
    "OnnxFileInfo",
    "QDQ_OPS",
    "is_quantized_op",
    "model_precision",
    "qdq_gate",
    "qdq_info",
    "read_onnx_file_info",
    "warn_unless_qdq_gated",
]

#: Op types that make a graph a quantized (INT8) one: ``wds-edge quantize``'s Q/DQ pairs and
#: what other tools write - onnxruntime's ``quantize_dynamic`` (``DynamicQuantizeLinear`` +
#: ``ConvInteger`` / ``MatMulInteger``), weight-only ``DequantizeLinear`` and
#: ``MatMulNBits``, and the ``QLinear*`` / ``*Integer`` ops (:func:`is_quantized_op`).
QDQ_OPS = frozenset({
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
    "QLinearMatMul", "ConvInteger", "MatMulInteger", "MatMulNBits", "QGemm",
})  # fmt: skip


def is_quantized_op(op_type: str) -> bool:
    """``op_type`` computes on quantized integers (:data:`QDQ_OPS`, any ``QLinear*`` or
    ``*Integer`` op, e.g. ``com.microsoft``'s ``QLinearAdd`` or ``MatMulIntegerToFloat``)."""
    return op_type in QDQ_OPS or op_type.startswith("QLinear") or "Integer" in op_type


# Field numbers of onnx.proto (stable since ONNX 1.0).
_MODEL_GRAPH, _MODEL_METADATA_PROPS = 7, 14
_GRAPH_NODE = 1
_NODE_OP_TYPE = 4
_ENTRY_KEY, _ENTRY_VALUE = 1, 2


@dataclass(frozen=True)
class OnnxFileInfo:
    """The op types of an ONNX file's main graph and its ``metadata_props``."""

    op_types: frozenset[str] = frozenset()
    metadata_props: dict[str, str] = field(default_factory=dict)


def _varint(buf: Any, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: Any, start: int, end: int) -> Any:
    """``(field number, (start, end) of a length-delimited value or None)`` of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 0:  # not a valid tag: protobuf's own parser ends the message there too
            return
        wire = key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
            yield key >> 3, None
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
            yield key >> 3, (pos, pos + size)
            pos += size
        else:
            raise ValueError(f"protobuf wire type {wire} at byte {pos}")
    if pos != end:
        raise ValueError("a protobuf field runs past its message")


def _text(buf: Any, span: tuple[int, int]) -> str:
    return bytes(buf[span[0] : span[1]]).decode("utf-8", errors="replace")


def read_onnx_file_info(path: str | os.PathLike[str]) -> OnnxFileInfo:
    """The op types and ``metadata_props`` of an ONNX file, read without the onnx package.

    Raises:
        ModelError: the file cannot be read or is not an ONNX protobuf.
    """
    ops: set[str] = set()
    props: dict[str, str] = {}
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf,
        ):
            for number, span in _fields(buf, 0, len(buf)):
                if span is None:
                    continue
                if number == _MODEL_GRAPH:
                    for graph_field, node in _fields(buf, *span):
                        if graph_field != _GRAPH_NODE or node is None:
                            continue
                        for node_field, value in _fields(buf, *node):
                            if node_field == _NODE_OP_TYPE and value is not None:
                                ops.add(_text(buf, value))
                elif number == _MODEL_METADATA_PROPS:
                    entry = {n: _text(buf, v) for n, v in _fields(buf, *span) if v is not None}
                    props[entry.get(_ENTRY_KEY, "")] = entry.get(_ENTRY_VALUE, "")
    except (OSError, ValueError, IndexError) as exc:
        raise ModelError(
            f"{path}: cannot read it as an ONNX model ({exc}); export it again with "
            "`wds-edge export`"
        ) from exc
    return OnnxFileInfo(frozenset(ops), props)


def qdq_info(props: dict[str, str]) -> dict[str, Any] | None:
    """The ``quantization`` metadata of a Q/DQ ONNX written by ``wds-edge quantize`` (None:
    the model has none).

    Raises:
        ModelError: the entry is not a JSON object.
    """
    raw = props.get("quantization")
    if not raw:
        return None
    try:
        return dict(json.loads(raw))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ModelError(f"the model's quantization metadata is not JSON ({exc})") from exc


def model_precision(path: str | os.PathLike[str], props: dict[str, str] | None = None) -> str:
    """``"int8"`` for a quantized ONNX model, else ``"fp32"``.

    A model is quantized when its metadata has a ``quantization`` entry (``wds-edge
    quantize``) or its graph has a quantized op (:func:`is_quantized_op`: another tool's
    Q/DQ, ``quantize_dynamic``'s ``DynamicQuantizeLinear`` / ``ConvInteger``, weight-only
    ``DequantizeLinear`` / ``MatMulNBits``). Such a model carries no wds-edge gate record
    unless ``wds-edge quantize`` made it: backends load it with a warning that says so.

    Args:
        path: the ``.onnx`` file.
        props: its ``metadata_props`` when already read (a backend's session has them);
            the graph is read only when they name no quantization.

    Raises:
        ModelError: the file is not ONNX.
    """
    if props is not None and props.get("quantization"):
        return "int8"
    info = read_onnx_file_info(path)
    quantized = bool(info.metadata_props.get("quantization")) or any(
        map(is_quantized_op, info.op_types)
    )
    return "int8" if quantized else "fp32"


def qdq_gate(props: dict[str, str]) -> dict[str, Any] | None:
    """The accuracy-gate record in a Q/DQ model's ``quantization`` metadata (None: it has
    none, or the entry is unreadable)."""
    try:
        info = qdq_info(props) or {}
    except ModelError:
        return None
    return read_gate_record(info.get("gate"))


def warn_unless_qdq_gated(source: str, props: dict[str, str]) -> str:
    """Warn (once per process) that a Q/DQ model being loaded failed its accuracy gate when it
    was made (kept with ``--allow-accuracy-loss``) or carries no gate record; it still runs.

    Returns:
        The problem ("" when its gate passed).
    """
    try:
        fp32 = (qdq_info(props) or {}).get("source_name") or "FP32_MODEL.onnx"
    except ModelError:
        fp32 = "FP32_MODEL.onnx"
    fix = (
        f"quantize it again until the gate passes (`wds-edge quantize --format qdq --onnx {fp32} "
        f"--calib CALIB_DIR --held-out HELD_OUT_DIR --out {os.path.basename(source)}`, with more "
        "or other calibration crops)"
    )
    return warn_unless_gated(source, qdq_gate(props), fix=fix)
