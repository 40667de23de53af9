"""Cutting an OpenVINO model at the Eq. 1 texture output (see :mod:`wds_edge.runtime.openvino`).

Done with OpenVINO's own model API, so the kiosk needs no ``onnx`` package.
"""

from __future__ import annotations

from typing import Any

from wds_edge._deps import require
from wds_edge.errors import MissingDependencyError, ModelError

__all__ = ["split_at_texture", "texture_boundary"]


def texture_boundary(model: Any) -> Any:
    """The ``[R, G, B, T]`` output (the texture subgraph's end) of an OpenVINO model.

    Found by structure: the Concat fed directly by the model's input Parameter (the
    RGB channels) whose output has 4 channels, i.e. RGB joined with the Eq. 1 map.

    Raises:
        ModelError: no such node (the graph does not compute the texture map itself).
    """
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Concat":
            continue
        feeds = [i.get_source_output().get_node() for i in op.inputs()]
        shape = op.output(0).get_partial_shape()
        four = (
            shape.rank.is_static
            and shape.rank.get_length() == 4
            and shape[1].is_static
            and shape[1].get_length() == 4
        )
        # Python wrappers of one node differ per call (id() never matches): compare by type
        if four and any(f.get_type_name() == "Parameter" for f in feeds):
            return op.output(0)
    raise ModelError(
        "the model declares the texture map inside the graph but no Concat joins the RGB input "
        "with a texture channel; re-export it with `wds-edge export`"
    )


def _opset() -> Any:
    """OpenVINO's opset 13 module: ``openvino.opset13`` (2025.0+) or, on 2024.x, where only
    ``openvino.runtime.opset13`` exists (2026 removed ``openvino.runtime``).

    Raises:
        MissingDependencyError: neither exists (the message names the OpenVINO version).
    """
    import importlib

    for name in ("openvino.opset13", "openvino.runtime.opset13"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    ov = require("openvino", "the OpenVINO backend")
    raise MissingDependencyError(
        f"OpenVINO {ov.__version__} has neither openvino.opset13 nor openvino.runtime.opset13, "
        "which the reduced-precision split needs; install openvino>=2024.4 (pip install -U "
        "openvino), or use --precision fp32"
    )


def split_at_texture(core: Any, load: Any) -> tuple[Any, Any]:
    """Two OpenVINO models from one: ``texture`` (RGB -> [R,G,B,T]) and ``network``.

    Args:
        core: an ``openvino.Core``.
        load: a callable returning a fresh ``openvino.Model`` of the whole graph (called
            twice: the cut rewires the graph, so each part gets its own copy).

    Raises:
        MissingDependencyError: this OpenVINO has no opset 13 (see :func:`_opset`).
    """
    ov = require("openvino", "the OpenVINO backend")
    ops = _opset()

    whole_a = load()
    boundary_a = texture_boundary(whole_a)
    texture = ov.Model([boundary_a], whole_a.get_parameters(), "wds_texture")
    whole_b = load()
    boundary_b = texture_boundary(whole_b)
    param = ops.parameter(boundary_b.get_partial_shape(), boundary_b.get_element_type(), "rgbt")
    param.output(0).set_names({"rgbt"})
    for target in list(boundary_b.get_target_inputs()):
        target.replace_source_output(param.output(0))
    network = ov.Model(whole_b.get_results(), [param], "wds_network")
    return texture, network
