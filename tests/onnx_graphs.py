"""Small ONNX models that tests of several packages read: hand-made graphs (the Q/DQ route's and
the TensorRT pins' head walk, both texture_graph.head_convolutions) and tiny exports of the
network's variants (first / head convolution walks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper


def scaled_head_model(join: bool) -> onnx.ModelProto:
    """Conv -> Relu -> head Conv -> Mul by a constant -> Add -> Sigmoid, on a 1 x 4 x 8 x 8
    input ``image``; the Add adds a Constant node (a scaling of the logits), or, ``join``,
    the first conv's output (a skip join: two computed tensors)."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4, 1, 1], np.eye(4).ravel().tolist())
    h = helper.make_tensor("h", TensorProto.FLOAT, [1, 4, 1, 1], [1.0] * 4)
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["a"], name="/inc/Conv"),
        helper.make_node("Relu", ["a"], ["r"], name="/inc/Relu"),
        helper.make_node("Conv", ["r", "h"], ["logit"], name="/head1/Conv"),
        helper.make_node("Constant", [], ["shift"], name="/Constant", value=two),
        helper.make_node("Mul", ["two", "logit"], ["scaled"], name="/Mul"),
        helper.make_node("Add", ["scaled", "a" if join else "shift"], ["z"], name="/Add"),
        helper.make_node("Sigmoid", ["z"], ["wrinkle_prob"], name="/Sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("wrinkle_prob", TensorProto.FLOAT, [1, 1, 8, 8])],
        [w, h, two],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def export_tiny_variants(
    folder: Path, kinds: dict[str, tuple[dict[str, Any], dict[str, Any]]]
) -> dict[str, Path]:
    """One untrained base-4, 64 px WrinkleUNet per kind, exported into ``folder``: ``kinds``
    maps a name to ``(WrinkleUNet options, export_model options)``. Skips without torch."""
    import pytest

    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    out = {}
    for kind, (arch, options) in kinds.items():
        torch.manual_seed(0)
        out[kind] = folder / f"{kind}.onnx"
        export_model(WrinkleUNet(base_channels=4, **arch), out[kind], input_size_px=64, **options)
    return out
