"""The texture subgraph finder on hand-built ONNX graphs whose names say nothing."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from wds_edge.model.texture_graph import onnx_texture_subgraph


def _graph(texture_in_graph: bool = True):  # noqa: ANN202 - an onnx.GraphProto
    """x -> [luma -> div -> clip] -> concat(x, t) -> conv -> sigmoid, plus a constant
    feeding the clip and a shape helper reading x that the concat does not need."""
    c = 3 if texture_in_graph else 4
    weight = numpy_helper.from_array(np.ones((1, 4, 1, 1), np.float32), "w")
    nodes = [
        helper.make_node("Constant", [], ["lo"], name="a", value_float=0.0),
        helper.make_node("Shape", ["x"], ["hw"], name="b"),
        helper.make_node("ReduceMean", ["x"], ["luma"], name="c", axes=[1], keepdims=1),
        helper.make_node("Div", ["luma", "luma"], ["ratio"], name="d"),
        helper.make_node("Clip", ["ratio", "lo"], ["t"], name="e"),
        helper.make_node("Concat", ["x", "t"], ["rgbt"], name="f", axis=1),
        helper.make_node("Conv", ["rgbt", "w"], ["logit"], name="g"),
        helper.make_node("Sigmoid", ["logit"], ["y"], name="h"),
    ]
    if not texture_in_graph:
        nodes = [helper.make_node("Conv", ["x", "w"], ["logit"], name="g"), nodes[-1]]
    return helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])],
        [weight],
    )  # fmt: skip


def test_every_node_from_the_input_to_the_rgbt_concat_and_no_other() -> None:
    found = onnx_texture_subgraph(_graph())
    assert found is not None
    assert found.nodes == ("c", "d", "e", "f")  # not the constant, the shape helper, the U-Net
    assert (found.concat, found.rgbt) == ("f", "rgbt")


def test_a_four_channel_input_model_has_none() -> None:
    assert onnx_texture_subgraph(_graph(texture_in_graph=False)) is None
