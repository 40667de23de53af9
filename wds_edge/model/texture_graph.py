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
reshapes and transposes); INT8 builds keep it, and those nodes, out of INT8. Where the
texture map is computed outside the graph (``texture_outside``), the walk starts at the
graph's ``[R, G, B, T]`` input instead of the ``Concat``.

:func:`head_convolutions` walks the other end: from the graph output back through the
probability (``Sigmoid``; ``Softmax`` and the channel ``Slice`` of a two-class model), layout
nodes (a ``space_to_depth`` stem's ``DepthToSpace``, reshapes, transposes) and element-wise
scalings by constants, to the F1 head convolution that makes the logits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GraphNode",
    "ONNX_ELEMENTWISE",
    "ONNX_FROM_HEAD",
    "ONNX_TO_FIRST_CONV",
    "TextureSubgraph",
    "first_convolutions",
    "head_convolutions",
    "onnx_graph_inputs",
    "onnx_graph_nodes",
    "onnx_texture_subgraph",
    "texture_subgraph",
]

#: ONNX ops that may lie between the ``[R, G, B, T]`` Concat and the first convolution.
ONNX_TO_FIRST_CONV = frozenset({
    "Mul", "Div", "Add", "Sub", "Reshape", "Transpose", "SpaceToDepth", "DepthToSpace",
    "Identity", "Squeeze", "Unsqueeze", "Flatten",
})  # fmt: skip
#: ONNX ops followed (through their data input, the first) from a graph output back to the
#: F1 head convolution: the probability and the channel pick of a two-class model, and the
#: layout ops of a ``space_to_depth`` stem's head (the logits' 2 x 2 blocks unfolded).
ONNX_FROM_HEAD = frozenset({
    "Sigmoid", "Softmax", "Slice", "Gather", "Split", "Squeeze", "Unsqueeze", "Reshape",
    "Flatten", "Transpose", "DepthToSpace", "SpaceToDepth", "Identity",
})  # fmt: skip
#: ONNX element-wise ops followed back to the head convolution when every input but one is
#: a constant (a scaling or shift of the logits; an ``Add`` of two computed tensors is a
#: join, not the head).
ONNX_ELEMENTWISE = frozenset({"Mul", "Div", "Add", "Sub"})


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


def _consumers(nodes: Sequence[GraphNode]) -> dict[str, list[int]]:
    """The positions of the nodes reading each tensor (by position: names may repeat)."""
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.inputs:
            consumers.setdefault(name, []).append(index)
    return consumers


def _downstream(nodes: Sequence[GraphNode], inputs: Collection[str]) -> tuple[set[str], set[int]]:
    """The tensors computed from ``inputs`` (the inputs included) and the nodes reading them."""
    consumers = _consumers(nodes)
    derived = set(inputs)
    downstream: set[int] = set()
    todo = list(inputs)
    while todo:
        for index in consumers.get(todo.pop(), []):
            if index not in downstream:
                downstream.add(index)
                todo += [o for o in nodes[index].outputs if o not in derived]
                derived.update(nodes[index].outputs)
    return derived, downstream


def _paths(
    nodes: Sequence[GraphNode], came_from: dict[int, int | None], ends: list[int]
) -> list[str]:
    """Names of the nodes ``ends`` and of the walk's paths to them, in graph order."""
    keep: set[int] = set()
    for end in ends:
        step: int | None = end
        while step is not None and step not in keep:
            keep.add(step)
            step = came_from[step]
    return [nodes[i].name for i in sorted(keep)]


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
    derived, downstream = _downstream(nodes, inputs)
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
    return texture_subgraph(onnx_graph_nodes(onnx_graph), onnx_graph_inputs(onnx_graph))


def onnx_graph_nodes(onnx_graph: Any) -> list[GraphNode]:
    """The nodes of an ``onnx.GraphProto`` as :class:`GraphNode` rows (empty inputs left out)."""
    return [
        GraphNode(n.name, n.op_type, tuple(i for i in n.input if i), tuple(n.output))
        for n in onnx_graph.node
    ]


def onnx_graph_inputs(onnx_graph: Any) -> list[str]:
    """The input tensors of an ``onnx.GraphProto`` that are not weights (initializers)."""
    weights = {t.name for t in onnx_graph.initializer}
    return [v.name for v in onnx_graph.input if v.name not in weights]


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
        rgbt: the ``Concat``'s output tensor (:attr:`TextureSubgraph.rgbt`), or the graph's
            input of a model fed ``[R, G, B, T]`` (the texture map computed outside it).
        conv_op: the convolution's ``op`` (``"Conv"`` in ONNX, ``"CONVOLUTION"`` in TensorRT,
            ``"Convolution"`` in OpenVINO).
        through: the ``op`` of the nodes followed on the way (element-wise scaling /
            centring, reshapes, transposes); any other node ends a path.

    Returns:
        Names of the convolutions reached and of the nodes on the paths to them, in graph
        order (empty when no path reaches a convolution).
    """
    consumers = _consumers(nodes)

    def onwards(node: GraphNode) -> list[int]:
        if node.op not in through:
            return []
        return [i for o in node.outputs for i in consumers.get(o, [])]

    return _walk_to_convolutions(nodes, consumers.get(rgbt, []), conv_op, onwards)


def head_convolutions(
    nodes: Sequence[GraphNode],
    graph_inputs: Iterable[str],
    graph_outputs: Iterable[str],
    *,
    conv_op: str = "Conv",
    through: Collection[str] = ONNX_FROM_HEAD,
    elementwise: Collection[str] = ONNX_ELEMENTWISE,
) -> list[str]:
    """The convolution(s) making the logits the graph outputs come from (the F1 head), and
    the nodes between them and the outputs.

    Args:
        nodes: the graph's nodes.
        graph_inputs: names of the graph's input tensors (not its weights): a tensor computed
            from none of them is a constant.
        graph_outputs: names of the graph's output tensors.
        conv_op: the convolution's ``op`` (as :func:`first_convolutions`).
        through: the ``op`` of the nodes followed through their first (data) input: the
            probability, the channel pick and layout nodes.
        elementwise: the ``op`` of the element-wise nodes followed through their one computed
            input when all the others are constants; any other node ends a path.

    Returns:
        Names of the convolutions reached and of the nodes on the paths to them, in graph
        order (empty when no path reaches a convolution).
    """
    derived, _ = _downstream(nodes, set(graph_inputs))
    producer = {o: index for index, node in enumerate(nodes) for o in node.outputs}

    def back(node: GraphNode) -> list[int]:
        if node.op in through:
            data = list(node.inputs[:1])
        elif node.op in elementwise:
            data = [i for i in node.inputs if i in derived]
            if len(data) != 1:  # two computed tensors joined: not a scaling of the logits
                return []
        else:
            return []
        return [producer[i] for i in data if i in producer]

    starts = [producer[o] for o in graph_outputs if o in producer]
    return _walk_to_convolutions(nodes, starts, conv_op, back)


def _walk_to_convolutions(
    nodes: Sequence[GraphNode],
    starts: Iterable[int],
    conv_op: str,
    step: Callable[[GraphNode], list[int]],
) -> list[str]:
    """From the nodes ``starts`` (indices), follow ``step`` (a node -> the indices of the
    nodes to go on to; [] ends a path) until a convolution; the names of the convolutions
    reached and of the nodes on the paths to them, in graph order."""
    came_from: dict[int, int | None] = {}
    todo: list[tuple[int, int | None]] = [(i, None) for i in starts]
    convs = []
    while todo:
        index, parent = todo.pop()
        if index in came_from:
            continue
        came_from[index] = parent
        if nodes[index].op == conv_op:
            convs.append(index)
        else:
            todo += [(i, index) for i in step(nodes[index])]
    return _paths(nodes, came_from, convs)
