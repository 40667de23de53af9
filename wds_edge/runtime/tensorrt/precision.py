"""Which layers of a weakly typed TensorRT 10 network stay FP32, and reading an engine back.

Pinned to FP32 in FP16 / INT8 builds (TensorRT 10's weak typing: ``layer.precision``,
``set_output_type`` and ``BuilderFlag.OBEY_PRECISION_CONSTRAINTS``, under which the build
fails instead of quietly dropping a constraint as ``PREFER`` may):

* the Eq. 1 texture subgraph: a division by a local mean that loses grey levels in
  reduced precision. Found by structure, not by layer names (they are the ONNX node names,
  which depend on the exporter): every layer between the network input and the
  ``[R, G, B, T]`` Concat (:func:`wds_edge.model.texture_graph.texture_subgraph`);
* the output head: the F1 head convolution and what follows it (Sigmoid, or Softmax and
  the channel Slice of a two-class model, a ``space_to_depth`` model's DepthToSpace
  shuffle, scalings by constants: :func:`wds_edge.model.texture_graph.head_convolutions`),
  so the probability is thresholded in FP32;
* INT8 builds also: the first convolution (it reads RGB + texture), with the element-wise
  and shuffle layers between it and the ``[R, G, B, T]`` Concat, or the network input of a
  model whose texture map is computed outside it (``--texture-outside``) (an unsimplified
  export's input scaling, a ``centred`` model's normalisation, a ``space_to_depth`` stem:
  :func:`wds_edge.model.texture_graph.first_convolutions`), and the last decoder
  block (from the head's input back to and with the last skip Concat), as the OpenVINO
  measurement on held-out kiosk crops found necessary (:mod:`wds_edge_calibration.openvino_int8`).

Only floating-point outputs are given a type: shape and index tensors (INT32 / INT64)
are left alone (TensorRT rejects a FLOAT type on them), and constant / shape layers are
not pinned (their consumers decide the precision).

A built engine is read back with TensorRT's engine inspector (built with
``ProfilingVerbosity.DETAILED``): :func:`tensor_precision` normalizes its
``Format/Datatype`` strings, and :func:`check_fp32_layers` says whether every engine layer
made from a pinned layer really runs in FP32.

TensorRT 10.12+ deprecates this weak-typing API and TensorRT 11 removes it; there the
builds are strongly typed (the ONNX's own types, :mod:`~wds_edge.runtime.tensorrt.build`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from wds_edge.errors import BackendError, ModelError
from wds_edge.model.preprocessing import Preprocessing
from wds_edge.model.texture_graph import (
    GraphNode,
    TextureSubgraph,
    first_convolutions,
    head_convolutions,
    texture_subgraph,
)

__all__ = [
    "PrecisionCheckError",
    "check_fp32_layers",
    "fp32_layer_names",
    "pin_fp32",
    "tensor_precision",
]


class PrecisionCheckError(ModelError):
    """A new FP16 / INT8 engine runs a layer pinned to FP32 in another precision (read back
    with :func:`check_fp32_layers`): it was built, but is not kept on this device."""


_HEAD_TAIL = ("ACTIVATION", "SOFTMAX", "SLICE", "SHUFFLE", "IDENTITY", "GATHER")
_NOT_PINNED = ("CONSTANT", "SHAPE", "QUANTIZE", "DEQUANTIZE")
#: Element-wise layers followed back to the head convolution when all their inputs but one
#: are constants (a scaling of the logits; a join of two computed tensors ends the walk).
_HEAD_ELEMENTWISE = ("ELEMENTWISE", "SCALE")
#: Layers followed from the [R, G, B, T] Concat to the first convolution (INT8 pins them).
_TO_FIRST_CONV = ("ELEMENTWISE", "SCALE", "SHUFFLE", "IDENTITY")


def _float_types(trt: Any) -> set[Any]:
    return {getattr(trt, n) for n in ("float32", "float16", "bfloat16") if hasattr(trt, n)}


def _outputs(layer: Any) -> list[Any]:
    return [layer.get_output(j) for j in range(layer.num_outputs)]


def _inputs(layer: Any) -> list[Any]:
    return [t for t in (layer.get_input(i) for i in range(layer.num_inputs)) if t is not None]


def _kind(trt: Any, layer: Any) -> str:
    return str(getattr(layer.type, "name", layer.type)).split(".")[-1]


def _graph_nodes(trt: Any, layers: list[Any]) -> list[GraphNode]:
    return [
        GraphNode(layer.name, _kind(trt, layer), tuple(t.name for t in _inputs(layer)),
                  tuple(t.name for t in _outputs(layer)))
        for layer in layers
    ]  # fmt: skip


def _texture(network: Any, nodes: list[GraphNode]) -> TextureSubgraph | None:
    """The Eq. 1 texture subgraph of the network (None if it has none)."""
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    return texture_subgraph(nodes, inputs, concat_op="CONCATENATION")


def fp32_layer_names(
    trt: Any, network: Any, *, int8: bool, preprocessing: Preprocessing | None = None
) -> list[str]:
    """Names of the layers to pin to FP32 (see the module docstring), found by structure.

    Args:
        trt: the ``tensorrt`` module.
        network: the parsed network.
        int8: an INT8 build: the first convolution and the last decoder block are pinned too.
        preprocessing: where the model's texture map is computed (its metadata's
            ``preprocessing``; None: looked for). ``TEXTURE_OUTSIDE``: the network is fed
            ``[R, G, B, T]`` and has no texture subgraph; INT8's first convolution is found
            behind the network input, as it is where no texture subgraph is found.
    """
    floats = _float_types(trt)
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    producer = {t.name: layer for layer in layers for t in _outputs(layer)}
    nodes = _graph_nodes(trt, layers)
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    outside = preprocessing is Preprocessing.TEXTURE_OUTSIDE
    found = None if outside else _texture(network, nodes)
    texture = set(found.nodes) if found is not None else set()
    keep = {
        layer.name for layer in layers
        if layer.name in texture and _kind(trt, layer) not in _NOT_PINNED
        and any(t.dtype in floats for t in _outputs(layer))
    }  # fmt: skip
    outputs = [t.name for layer in layers for t in _outputs(layer) if t.is_network_output]
    # from the output back through the probability, layout and constant-scaling layers to
    # the head convolution (the walk the Q/DQ route takes: texture_graph.head_convolutions)
    head = head_convolutions(
        nodes, inputs, outputs, conv_op="CONVOLUTION", through=_HEAD_TAIL,
        elementwise=_HEAD_ELEMENTWISE,
    )  # fmt: skip
    keep |= set(head)
    heads = [layer for layer in layers
             if layer.name in head and _kind(trt, layer) == "CONVOLUTION"]  # fmt: skip
    if int8:  # the first conv, and the scaling / shuffles before it, from the [R, G, B, T]
        # Concat or, fed [R, G, B, T] (texture outside the graph), from the network input
        for rgbt in [found.rgbt] if found is not None else inputs:
            keep |= set(
                first_convolutions(nodes, rgbt, conv_op="CONVOLUTION", through=_TO_FIRST_CONV)
            )
        for head_conv in heads:  # back to the last skip Concat, which is kept too (its output
            layer = producer.get(head_conv.get_input(0).name)  # is the block's FP32 input)
            while layer is not None:
                if _kind(trt, layer) not in _NOT_PINNED:
                    keep.add(layer.name)
                if _kind(trt, layer) == "CONCATENATION":
                    break
                layer = producer.get(_inputs(layer)[0].name) if _inputs(layer) else None
    return sorted(keep)


def pin_fp32(trt: Any, network: Any, config: Any, names: Iterable[str]) -> list[str]:
    """Pin the named layers to FP32 (float outputs only) and make TensorRT obey it.

    Returns:
        The names pinned (``OBEY_PRECISION_CONSTRAINTS`` is set when there is any).
    """
    wanted = set(names)
    floats = _float_types(trt)
    pinned = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.name not in wanted:
            continue
        layer.precision = trt.float32
        for j, tensor in enumerate(_outputs(layer)):
            if tensor.dtype in floats:
                layer.set_output_type(j, trt.float32)
        pinned.append(layer.name)
    if pinned:
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    return pinned


def tensor_precision(text: str) -> str:
    """``"FP32"`` / ``"FP16"`` / ``"BF16"`` / ``"INT8"`` / ``"INT"`` / ``"?"`` of an engine
    inspector ``Format/Datatype`` string ("Row major linear FP32", "Float", "Half", "Thirty-two
    wide channel vectorized row major Int8 format.", ...)."""
    low = text.lower()
    for needle, name in (("bf16", "BF16"), ("bfloat", "BF16"), ("fp16", "FP16"),
                         ("half", "FP16"), ("float16", "FP16"), ("fp32", "FP32"),
                         ("float", "FP32"), ("int8", "INT8"), ("int32", "INT"),
                         ("int64", "INT"), ("bool", "INT")):  # fmt: skip
        if needle in low:
            return name
    return "?"


def check_fp32_layers(layers: list[Any], names: Iterable[str]) -> dict[str, Any]:
    """Do the engine layers made from ``names`` run in FP32?

    Args:
        layers: ``Layers`` of the engine inspector's JSON (``ProfilingVerbosity.DETAILED``,
            read with an execution context whose input shapes are set).
        names: the network layers that were pinned to FP32.

    Returns:
        ``{"fp32": bool, "layers": {engine layer: [precisions]}, "not_fp32": [...],
        "unknown": [...]}`` over the engine layers that have a pinned name among the parts
        of their name (fused layers are named after all their parts).

    Raises:
        BackendError: the engine holds no per-layer details (not built DETAILED).
    """
    if any(not isinstance(layer, dict) for layer in layers):
        raise BackendError(
            "the engine inspector gives layer names only: the engine was not built with "
            "ProfilingVerbosity.DETAILED, so its layer precisions cannot be read back"
        )
    wanted = set(names)
    found: dict[str, list[str]] = {}
    for layer in layers:
        name = str(layer.get("Name", ""))
        # fused layers: "/a + /b", "PWN(/a, /b)", "Reformatting CopyNode for ... to /a"
        if not wanted & set(re.split(r"[\s+(),\[\]]+", name)):
            continue
        tensors = [*layer.get("Inputs", []), *layer.get("Outputs", [])]
        if "for Input Tensor" in name or layer.get("LayerType") == "Reformat":
            tensors = list(layer.get("Outputs", []))  # converts INTO a pinned layer's type
        if "for Output Tensor" in name:
            tensors = list(layer.get("Inputs", []))  # converts a pinned layer's output onward
        found[name] = sorted({tensor_precision(str(t.get("Format/Datatype", ""))) for t in tensors})
    not_fp32 = [n for n, p in found.items() if set(p) & {"FP16", "BF16", "INT8"}]
    unknown = [n for n, p in found.items() if "?" in p]
    return {
        "fp32": bool(found) and not not_fp32 and not unknown,
        "layers": found,
        "pinned": len(wanted),
        "not_fp32": not_fp32,
        "unknown": unknown,
    }
