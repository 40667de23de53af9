"""The Eq. 1 texture subgraph of a wds-edge graph, found by structure (not by node names).

A model exported with the texture map inside the graph computes ``[R, G, B, T]`` from its
RGB input and hands it to the U-Net: RGB -> luma, local means, division, clip -> T, then a
``Concat`` of the RGB input itself with T. The node names depend on the exporter (the
torchscript tracer writes ``/preprocess/Div``, ``torch.export`` (dynamo) ``node_div``), so
the subgraph is found the way :func:`wds_edge.runtime.openvino_graph.texture_boundary` finds
it in an OpenVINO model: the boundary is the ``Concat`` fed directly by a graph input and by
a tensor computed from that input, and the subgraph is every node between the graph input
and that ``Concat`` (both ends included, constants and weights excluded: they do not depend
on the input).

Graph-agnostic: :func:`texture_subgraph` takes :class:`GraphNode` rows, so the same rule
serves an ONNX graph (:func:`onnx_texture_subgraph`: the Q/DQ route keeps it in float32) and
a TensorRT network (:mod:`wds_edge.runtime.tensorrt.precision` pins it to FP32). No
``onnx`` import: the ONNX graph is read through its protobuf attributes.

:func:`first_convolutions` finds, the same way, the U-Net's first convolution behind the
``Concat``: directly (the simplified default export, whose input scaling is folded into
the convolution's weights), or through element-wise and layout nodes (an unsimplified
export's scaling, a ``centred`` model's normalisation, a ``space_to_depth`` stem's
reshapes and transposes); INT8 builds keep it, and those nodes, out of INT8.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GraphNode",
    "ONNX_TO_FIRST_CONV",
    "TextureSubgraph",
    "first_convolutions",
    "onnx_texture_subgraph",
    "texture_subgraph",
]

#: ONNX ops that may lie between the ``[R, G, B, T]`` Concat and the first convolution.
ONNX_TO_FIRST_CONV = frozenset({
    "Mul", "Div", "Add", "Sub", "Reshape", "Transpose", "SpaceToDepth", "DepthToSpace",
    "Identity", "Squeeze", "Unsqueeze", "Flatten",
})  # fmt: skip


@dataclass(frozen=True)
class GraphNode:
    """One node (ONNX) or layer (TensorRT) of a graph.

    Attributes:
        name: the node's name (what precision constraints refer to).
        op: its operator (ONNX ``op_type`` or TensorRT layer type name).
        inputs: names of the tensors it reads.
        outputs: names of the tensors it writes.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class TextureSubgraph:
    """The texture subgraph of a graph.

    Attributes:
        nodes: names of its nodes in graph order, the boundary ``Concat`` last.
        concat: name of the boundary ``Concat`` (``[R, G, B, T]``).
        rgbt: the ``Concat``'s output tensor, the U-Net's input.
    """

    nodes: tuple[str, ...]
    concat: str
    rgbt: str


def texture_subgraph(
    nodes: Sequence[GraphNode], graph_inputs: Iterable[str], *, concat_op: str = "Concat"
) -> TextureSubgraph | None:
    """The texture subgraph of a graph (see the module docstring), or None if it has none.

    Args:
        nodes: the graph's nodes in graph (topological) order.
        graph_inputs: names of the graph's input tensors (not its weights).
        concat_op: the concatenation's ``op`` (``"Concat"`` in ONNX,
            ``"CONCATENATION"`` in TensorRT).

    Returns:
        The subgraph, or None when no ``Concat`` joins a graph input with a tensor computed
        from it (a model taking the 4-channel ``[R, G, B, T]`` input).
    """
    inputs = set(graph_inputs)
    consumers: dict[str, list[int]] = {}  # by position: names may repeat or be empty
    for index, node in enumerate(nodes):
        for name in node.inputs:
            consumers.setdefault(name, []).append(index)
    derived = set(inputs)  # tensors computed from a graph input (and the inputs themselves)
    downstream: set[int] = set()  # nodes reading such a tensor
    todo = list(inputs)
    while todo:
        for index in consumers.get(todo.pop(), []):
            if index not in downstream:
                downstream.add(index)
                todo += [o for o in nodes[index].outputs if o not in derived]
                derived.update(nodes[index].outputs)
    boundary = next(
        (
            index for index, node in enumerate(nodes)
            if node.op == concat_op and node.outputs
            and inputs & set(node.inputs)  # the RGB input itself ...
            and any(i in derived and i not in inputs for i in node.inputs)  # ... and T
        ),
        None,
    )  # fmt: skip
    if boundary is None:
        return None
    producer = {o: index for index, node in enumerate(nodes) for o in node.outputs}
    upstream = {boundary}
    todo_nodes = [boundary]
    while todo_nodes:
        for name in nodes[todo_nodes.pop()].inputs:
            index = producer.get(name)
            if index is not None and index in downstream and index not in upstream:
                upstream.add(index)
                todo_nodes.append(index)
    upstream.discard(boundary)
    concat = nodes[boundary]
    ordered = [nodes[i].name for i in sorted(upstream)]
    return TextureSubgraph(tuple([*ordered, concat.name]), concat.name, concat.outputs[0])


def onnx_texture_subgraph(onnx_graph: Any) -> TextureSubgraph | None:
    """:func:`texture_subgraph` of an ``onnx.GraphProto`` (its inputs less its initializers).

    Args:
        onnx_graph: ``model.graph`` of an ``onnx.ModelProto``.
    """
    weights = {t.name for t in onnx_graph.initializer}
    inputs = [v.name for v in onnx_graph.input if v.name not in weights]
    nodes = [
        GraphNode(n.name, n.op_type, tuple(i for i in n.input if i), tuple(n.output))
        for n in onnx_graph.node
    ]
    return texture_subgraph(nodes, inputs)


def first_convolutions(
    nodes: Sequence[GraphNode],
    rgbt: str,
    *,
    conv_op: str = "Conv",
    through: Collection[str] = ONNX_TO_FIRST_CONV,
) -> list[str]:
    """The convolution(s) that first read the ``[R, G, B, T]`` tensor, and the nodes between.

    Args:
        nodes: the graph's nodes.
        rgbt: the ``Concat``'s output tensor (:attr:`TextureSubgraph.rgbt`).
        conv_op: the convolution's ``op`` (``"Conv"`` in ONNX, ``"CONVOLUTION"`` in TensorRT,
            ``"Convolution"`` in OpenVINO).
        through: the ``op`` of the nodes followed on the way (element-wise scaling /
            centring, reshapes, transposes); any other node ends a path.

    Returns:
        Names of the convolutions reached and of the nodes on the paths to them, in graph
        order (empty when no path reaches a convolution).
    """
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.inputs:
            consumers.setdefault(name, []).append(index)
    came_from: dict[int, int | None] = {}
    todo: list[tuple[int, int | None]] = [(i, None) for i in consumers.get(rgbt, [])]
    convs = []
    while todo:
        index, parent = todo.pop()
        if index in came_from:
            continue
        came_from[index] = parent
        if nodes[index].op == conv_op:
            convs.append(index)
        elif nodes[index].op in through:
            todo += [(i, index) for o in nodes[index].outputs for i in consumers.get(o, [])]
    keep: set[int] = set()
    for conv in convs:  # the conv and the path that reached it
        step: int | None = conv
        while step is not None and step not in keep:
            keep.add(step)
            step = came_from[step]
    return [nodes[i].name for i in sorted(keep)]
