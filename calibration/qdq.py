"""Explicit INT8 quantization: a Q/DQ ONNX model from a calibration set.

Route (2) of the issue: the INT8 scales are computed here, once, and written into the
graph as QuantizeLinear / DequantizeLinear pairs. TensorRT 10 and 11 build such a
model directly (TensorRT 11 has no implicit INT8 flag any more) and ONNX Runtime runs
it on CPUs (fast with VNNI / dot-product instructions).

Uses NVIDIA ModelOpt (``modelopt.onnx.quantization``) when it is installed
(:func:`uses_modelopt`; its INT8 calibration is ``max``, run for ``--method minmax``, or
``entropy``: :data:`MODELOPT_METHODS`, percentile is refused), else ONNX Runtime's
``quantize_static`` with:

* ``QuantFormat.QDQ``, per-channel symmetric INT8 weights, symmetric INT8 activations
  (zero point 0: what TensorRT accepts for explicit quantization);
* the in-graph texture computation (paper Eq. 1: a division by a local mean is sensitive
  to 8-bit rounding; every node from the RGB input to the ``[R, G, B, T]`` Concat, found by
  structure, so the torchscript and the dynamo exporter's graphs keep the same nodes) and
  the output head kept in float32
  (the F1 head conv and the ``Sigmoid`` of a one-channel model, or the F1 head conv, the
  ``Softmax`` and the channel ``Slice`` of a two-class model, with a ``space_to_depth``
  model's ``DepthToSpace`` between), so the wrinkle probability is produced in full
  precision;
* also kept in float32, as the OpenVINO measurement on held-out kiosk crops found
  necessary (:mod:`wds_edge_calibration.openvino_int8`): the first convolution (it reads the raw
  RGB and the texture map), with the element-wise and layout nodes between it and the
  ``[R, G, B, T]`` tensor (the texture Concat's output, or the input of a model whose texture
  map is computed outside it), and the last decoder block (the convolutions between the last
  skip Concat and the head);
* activation ranges from the calibration crops through the kiosk's own
  :func:`wds_edge.model.preprocessing.model_input`, streamed (never all in memory): the
  entropy and percentile estimates, whose ONNX Runtime calibrators hold every activation
  of the crops one ``collect_data`` call sees, get :data:`HISTOGRAM_CROPS_PER_CALL` crop(s)
  per call (ONNX Runtime's strided calibration, ``CalibStridedMinMax``) and merge the
  histograms, so memory does not grow with the number of crops.

ModelOpt converts every float tensor it does not quantize to FP16 unless told
``high_precision_dtype="fp32"`` (its default is ``"fp16"``); it is told, and whichever tool
ran, the kept nodes' input and output types are read back from the written graph
(:func:`check_fp32_nodes`): a kept node computing in FP16 / BF16 is refused, and what was
found is recorded in the model's ``quantization`` metadata, with the sha256 of the FP32
model it was made from (``source_sha256``: the accuracy gate's reference).
:func:`quantize_qdq_gated` (``wds-edge quantize --format qdq``) then gates the model against
FP32 on held-out crops (:func:`check_held_out`: no crop and no person of the calibration
set) and adds the gate's record there (``gate``, :func:`record_gate`; the shape of the
OpenVINO IR's), which the runtime reads at load: a Q/DQ model with a failed gate (kept with
``--allow-accuracy-loss``) or none runs with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import DataError, InvalidInputError, ModelError
from wds_edge.io import (
    ensure_writable_file,
    fsync_dir,
    same_file,
    sha256_file,
    temporary_path,
    write_bytes_atomic,
)
from wds_edge.model.files import load_onnx_proto, require_model_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.preprocessing import Preprocessing
from wds_edge.model.texture_graph import (
    first_convolutions,
    head_convolutions,
    onnx_graph_inputs,
    onnx_graph_nodes,
    onnx_texture_subgraph,
)
from wds_edge.progress import ProgressCallback
from wds_edge.runtime.gate import (
    GateResult,
    accuracy_gate,
    enforce_gate,
    gate_record,
    gating_new_model,
)
from wds_edge.runtime.quantized import is_quantized_op, qdq_info, read_onnx_file_info
from wds_edge_calibration.dataset import CalibrationSet, load_calibration_set
from wds_edge_calibration.people import check_people_split

__all__ = [
    "CALIBRATION_METHODS",
    "HISTOGRAM_CROPS_PER_CALL",
    "MODELOPT_METHODS",
    "QDQ_MIN_OPSET",
    "check_batch",
    "check_crop_sizes",
    "check_fp32_nodes",
    "check_fp32_source",
    "check_grey_input",
    "check_held_out",
    "check_held_out_of_qdq",
    "check_method",
    "check_output_path",
    "check_qdq_opset",
    "fp32_nodes",
    "quantize_qdq",
    "quantize_qdq_gated",
    "read_onnx_model",
    "record_gate",
    "uses_modelopt",
]

logger = logging.getLogger(__name__)

CalibrationMethod = Literal["minmax", "entropy", "percentile"]
#: The activation-range estimates of the ONNX Runtime route.
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
#: The ModelOpt ``calibration_method`` each of them runs as: ModelOpt's INT8 calibration
#: has ``max`` and ``entropy`` only (no percentile).
MODELOPT_METHODS = {"minmax": "max", "entropy": "entropy"}
#: Crops per ``collect_data`` call of ONNX Runtime's histogram calibrators (entropy,
#: percentile), which hold all of a call's activations (about 0.7 GB per 640 px crop of the
#: bundled model) until it returns; their histograms are merged across calls. 1: ONNX
#: Runtime requires the number of crops to be a multiple of it.
HISTOGRAM_CROPS_PER_CALL = 1
#: The lowest ONNX opset a Q/DQ model can be written in: its per-channel INT8 weights need
#: ``DequantizeLinear``'s ``axis`` attribute, which opset 13 introduced.
QDQ_MIN_OPSET = 13


def uses_modelopt(use_modelopt: bool | None = None) -> bool:
    """Does :func:`quantize_qdq` quantize with NVIDIA ModelOpt: ``use_modelopt``, or (None)
    whether ModelOpt is installed."""
    if use_modelopt is not None:
        return use_modelopt
    import importlib.util

    return importlib.util.find_spec("modelopt") is not None


def check_method(method: str, use_modelopt: bool | None = None) -> None:
    """Refuse an activation-range estimate the quantizer that would run does not have.

    Raises:
        InvalidInputError: not one of :data:`CALIBRATION_METHODS`, or ``percentile`` where
            NVIDIA ModelOpt quantizes (:func:`uses_modelopt`; its INT8 calibration has
            ``max`` and ``entropy`` only).
    """
    if method not in CALIBRATION_METHODS:
        raise InvalidInputError(
            f"--method must be one of {', '.join(CALIBRATION_METHODS)}, got {method!r}"
        )
    if uses_modelopt(use_modelopt) and method not in MODELOPT_METHODS:
        raise InvalidInputError(
            f"--method {method} is an ONNX Runtime estimate, but NVIDIA ModelOpt is installed "
            "here and quantizes the Q/DQ model; its INT8 calibration is max or entropy only: "
            "pass --method minmax (ModelOpt's max) or --method entropy, or quantize where "
            "ModelOpt is not installed"
        )


def read_onnx_model(onnx_path: str | Path, *, external_data: bool = True) -> Any:
    """The ``onnx.ModelProto`` of a model file (:func:`wds_edge.model.files.load_onnx_proto`).

    Raises:
        ModelError: no such file, or it is not an ONNX protobuf.
    """
    return load_onnx_proto(onnx_path, external_data=external_data, purpose="INT8 Q/DQ quantization")


def check_output_path(source: str | Path, out: str | Path, what: str = "INT8 model") -> Path:
    """Refuse an output that cannot be written, or that is the FP32 model itself (the
    gate's reference would be overwritten), before any work starts.

    Raises:
        InvalidInputError: ``out`` is ``source``.
        OutputError: ``out`` cannot be written (a folder, a read-only or full disk).
    """
    target = Path(out)
    if same_file(target, source):
        raise InvalidInputError(
            f"--out {target} is the FP32 model --onnx: the INT8 model would overwrite the "
            "model it is made from and gated against; pass another --out"
        )
    return ensure_writable_file(target, what)


def check_fp32_source(onnx_path: str | Path) -> None:
    """Refuse an ``--onnx`` that is already an INT8 model, before any crop is read.

    Quantizing it again quantizes the quantized graph, and the accuracy gate then compares
    the result with that INT8 model, not with FP32 (a gate "passed" that says nothing): the
    model is INT8 when it has ``quantization`` metadata (``wds-edge quantize``) or
    QuantizeLinear / DequantizeLinear / QLinear* / *Integer nodes (another tool's).

    Raises:
        ModelError: no such file, not ONNX, or an INT8 model (the message names its FP32
            source where its metadata records it).
    """
    source = require_model_file(onnx_path)
    info = read_onnx_file_info(source)
    ops = sorted(op for op in info.op_types if is_quantized_op(op))
    if not ops and not info.metadata_props.get("quantization"):
        return
    try:
        recorded = (qdq_info(info.metadata_props) or {}).get("source_name")
    except ModelError:  # unreadable quantization metadata: still an INT8 model
        recorded = None
    why = "its metadata has a quantization entry" if not ops else f"its graph has {', '.join(ops)}"
    fp32 = (
        f"{recorded}, as its quantization metadata records"
        if recorded
        else "the model exported by `wds-edge export`"
    )
    raise ModelError(
        f"--onnx {source} is an INT8 model ({why}); pass its FP32 source ({fp32}): quantizing "
        "it again would quantize the quantized graph and gate it against INT8, not FP32"
    )


def check_qdq_opset(onnx_model: Any, source: str | Path) -> None:
    """Refuse a model whose ONNX opset is below :data:`QDQ_MIN_OPSET`: its per-channel
    Q/DQ weights cannot be written (ONNX Runtime would fail after the whole calibration).

    Raises:
        ModelError: the opset is too old (the message says to re-export with --opset 13).
    """
    opset = next((o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and opset < QDQ_MIN_OPSET:
        raise ModelError(
            f"{source} declares ONNX opset {opset}; an INT8 Q/DQ model (--format qdq) needs "
            f"opset >= {QDQ_MIN_OPSET} (per-channel weights: DequantizeLinear's axis): "
            f"re-export it with `wds-edge export --opset {QDQ_MIN_OPSET}` (or newer; the "
            "default 17 is fine), or quantize it with --format openvino"
        )


def _crop_hashes(crops: CalibrationSet) -> set[str]:
    return {sha256_file(p) for p in crops.crop_paths}


def check_held_out(calib: CalibrationSet, held_out: CalibrationSet) -> None:
    """Refuse held-out crops that are not held out: a crop also in the calibration set, a
    person both sets name, or the same video on both sides.

    Names given by whoever made the sets (``calibrate --person`` / ``--people-csv``,
    :mod:`wds_edge_calibration.people`) are trusted and checked strictly
    (:func:`~wds_edge_calibration.people.check_people_split`: a shared name, or only one set
    naming people, is refused). A set whose person is derived from its video file
    (``people_source`` "video file": ``calibrate`` on a video without ``--person``) only
    refuses the same video on the other side: it says nothing about who is in other
    photos / videos, so that pair, like sets that name nobody, is logged as a warning (the
    gate cannot tell whether it measures calibrated faces).

    Raises:
        InvalidInputError: a shared crop, a shared named person, only one set names people
            (both by name), or both sets made from the same video file.
    """
    overlap = _crop_hashes(calib) & _crop_hashes(held_out)
    if overlap:
        raise InvalidInputError(
            f"{len(overlap)} held-out crops are also calibration crops; build the held-out "
            "set from other photos / another video with `wds-edge calibrate`"
        )
    calib_people, held_people = list(calib.manifest.people), list(held_out.manifest.people)
    derived = calib.manifest.people_derived or held_out.manifest.people_derived
    if (calib_people or held_people) and not derived:
        check_people_split(calib_people, held_people)  # names given: checked strictly
        return
    if calib.manifest.people_derived and held_out.manifest.people_derived:
        if set(calib_people) & set(held_people):  # a video's id: the video's content
            raise InvalidInputError(
                f"the held-out crops come from the same video as the calibration crops "
                f"({held_out.manifest.source} and {calib.manifest.source}): an INT8 gate must "
                "measure other people's faces; make the held-out set from another video "
                "or other people's photos with `wds-edge calibrate`"
            )
    elif set(calib_people) & set(held_people):  # a name given equal to a video's id
        check_people_split(calib_people, held_people)
    logger.warning("%s", _unchecked_people(calib, held_out))


def check_held_out_of_qdq(qdq_path: str | Path, held_out: CalibrationSet) -> None:
    """Refuse gate crops for a Q/DQ model that are not held out from the calibration set its
    ``quantization`` metadata names (:func:`check_held_out`: a shared crop or named person),
    as ``wds-edge build-engine --precision int8`` gates such a model.

    The set is looked for at its recorded path, then (a relative one) next to the model, and
    used only with the crops the model was quantized from (the recorded ``data_sha256``).
    Where it is not found, only that hash can be compared (the engine builder does): logged
    as a warning. A model without ``quantization`` metadata (not Q/DQ) is not checked.

    Raises:
        InvalidInputError: ``held_out`` shares a crop or a named person with that set.
        ModelError: ``qdq_path`` is missing or not ONNX.
    """
    info = qdq_info(_metadata_props(read_onnx_model(qdq_path, external_data=False)))
    if info is None:
        return
    recorded = info.get("calibration") or {}
    where, sha = recorded.get("path"), recorded.get("data_sha256")
    if not where or not sha:
        return
    folders = [Path(where)]
    if not Path(where).is_absolute():
        folders.append(Path(qdq_path).parent / where)
    for folder in folders:
        try:
            calib = load_calibration_set(folder)  # re-hashed: the crops it was made from
        except DataError:
            continue
        if calib.data_sha256 == sha:
            check_held_out(calib, held_out)
            return
    logger.warning(
        "%s was quantized on the calibration crops %s, which are not there (not with the crops "
        "it was made from): the held-out crops %s can only be checked against their hash, "
        "not for shared crops or people; keep that folder (or one at that path next to the "
        "model) to have them checked",
        qdq_path,
        where,
        held_out.path,
    )


def _unchecked_people(calib: CalibrationSet, held_out: CalibrationSet) -> str:
    """Why the people of a calibration / held-out pair cannot be checked (for a warning)."""
    if not calib.manifest.people and not held_out.manifest.people:
        return (
            "the calibration and held-out sets do not name their people: the gate cannot "
            "tell whether it measures faces the model was calibrated on (make them with "
            "`wds-edge calibrate --person NAME` or `--people-csv FILE`, or with "
            "wds_edge_calibration.people, to record who is in them)"
        )
    parts = []
    for label, crops in (("calibration", calib), ("held-out", held_out)):
        if crops.manifest.people_derived:
            parts.append(
                f"the {label} set {crops.path} is one unnamed person, its video file "
                f"{crops.manifest.source}"
            )
        elif not crops.manifest.people:
            parts.append(f"the {label} set {crops.path} names nobody")
    return (
        f"{'; '.join(parts)}: the gate cannot tell whether the held-out crops show people "
        "the model was calibrated on (only the same video on both sides is refused); name "
        "who each set shows with `wds-edge calibrate --person NAME` or `--people-csv FILE` "
        "to have that checked"
    )


def _texture_outside(onnx_model: Any) -> bool:
    """Does the model's metadata say its texture map is computed outside the graph (its
    input is ``[R, G, B, T]``)? False without wds-edge metadata: the texture subgraph is
    then looked for, and a graph without one is taken as fed ``[R, G, B, T]``."""
    props = _metadata_props(onnx_model)
    if props.get("producer") != "wds-edge":
        return False
    preprocessing = ModelMetadata.from_props(props).preprocessing
    return preprocessing is Preprocessing.TEXTURE_OUTSIDE


def fp32_nodes(
    onnx_model: Any, *, keep_first_conv: bool = True, keep_last_block: bool = True
) -> list[str]:
    """Names of the nodes kept in float32.

    The in-graph preprocessing (the Eq. 1 texture subgraph, found by structure whichever
    exporter named its nodes: :func:`wds_edge.model.texture_graph.onnx_texture_subgraph`;
    none where the metadata says the texture map is computed outside the graph) and the
    output head: every node from the graph output back through the probability ops
    (``Sigmoid`` of a one-channel model; ``Softmax`` and the channel ``Slice`` of a
    two-class one), layout ops (a ``space_to_depth`` model's ``DepthToSpace``) and scalings
    by constants up to and including the 1x1 F1 head conv
    (:func:`wds_edge.model.texture_graph.head_convolutions`; its logits would otherwise be
    rounded to 8 bits right where the threshold is applied; it costs b x C MACs per pixel).
    Any ``Sigmoid`` / ``Softmax`` is kept as well.

    Args:
        onnx_model: a wds-edge ``onnx.ModelProto``.
        keep_first_conv: also keep the convolution(s) first reading the ``[R, G, B, T]``
            tensor (the texture ``Concat``'s output, or the graph input of a model fed it),
            with the element-wise and layout nodes on the way
            (:func:`wds_edge.model.texture_graph.first_convolutions`: an unsimplified
            export's scaling, a ``centred`` model's normalisation, a ``space_to_depth``
            stem).
        keep_last_block: also keep the last decoder block: every node from the head conv's
            input back to the last skip ``Concat``, which is kept too (ONNX Runtime would
            otherwise quantize its output, the block's input).
    """
    graph = onnx_model.graph
    nodes = list(graph.node)
    rows = onnx_graph_nodes(graph)
    inputs = onnx_graph_inputs(graph)
    found = None if _texture_outside(onnx_model) else onnx_texture_subgraph(graph)
    keep = set(found.nodes) if found is not None else set()
    keep |= {n.name for n in nodes if n.op_type in ("Sigmoid", "Softmax")}
    head = head_convolutions(rows, inputs, [o.name for o in graph.output])
    keep |= set(head)
    if keep_first_conv:  # from the Concat, or the [R, G, B, T] input itself
        for rgbt in [found.rgbt] if found is not None else inputs:
            keep |= set(first_convolutions(rows, rgbt))
    if keep_last_block:  # with the Concat that feeds it: else its output is quantized
        producer = {o: n for n in nodes for o in n.output}
        for conv in (n for n in nodes if n.name in head and n.op_type == "Conv"):
            node = producer.get(conv.input[0])
            while node is not None and node.input:
                keep.add(node.name)
                if node.op_type == "Concat":
                    break
                node = producer.get(node.input[0])
    return sorted(keep)


_LOW_PRECISION = ("FLOAT16", "BFLOAT16")


def check_fp32_nodes(onnx_model: Any, names: list[str]) -> dict[str, Any]:
    """Read back the element types of the kept nodes' inputs and outputs after quantizing.

    Args:
        onnx_model: the quantized ``onnx.ModelProto``.
        names: the nodes that must compute in float32 (:func:`fp32_nodes`).

    Returns:
        ``{"checked", "missing", "tensor_types"}``: how many kept nodes are in the graph,
        the names of those that are not (a tool renamed or fused them), and the set of
        element types their tensors have (e.g. ``["FLOAT", "INT64"]``).

    Raises:
        ModelError: a kept node reads or writes a FLOAT16 / BFLOAT16 tensor (the tool
            converted it), or none of the kept nodes is left to check.
    """
    onnx = require("onnx", "INT8 Q/DQ quantization")
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in graph.value_info}
    types |= {v.name: v.type.tensor_type.elem_type for v in [*graph.input, *graph.output]}
    types |= {t.name: t.data_type for t in graph.initializer}
    by_name = {n.name: n for n in graph.node}
    wanted = set(names)
    present = [by_name[n] for n in sorted(wanted & set(by_name))]
    found: set[str] = set()
    low: list[str] = []
    for node in present:
        for tensor in [*node.input, *node.output]:
            if not tensor or not types.get(tensor):
                continue
            kind = onnx.TensorProto.DataType.Name(types[tensor])
            found.add(kind)
            if kind in _LOW_PRECISION:
                low.append(f"{node.name} ({tensor}: {kind})")
    if low:
        raise ModelError(
            f"the quantized model computes {len(low)} tensor(s) of the nodes that must stay "
            f"float32 in reduced precision, e.g. {', '.join(low[:4])}; the quantizer converted "
            "unquantized layers (ModelOpt needs high_precision_dtype='fp32')"
        )
    if not present:
        raise ModelError(
            "none of the nodes that must stay float32 is in the quantized graph (renamed or "
            "fused by the quantizer), so their precision cannot be checked"
        )
    return {
        "checked": len(present),
        "missing": sorted(wanted - set(by_name)),
        "tensor_types": sorted(found),
    }


def _metadata_props(onnx_model: Any) -> dict[str, str]:
    return {p.key: p.value for p in onnx_model.metadata_props}


def _check_size(crops: CalibrationSet, metadata: ModelMetadata, name: str) -> None:
    size = metadata.input_size_hw[0]
    if crops.size_px != size:
        raise ModelError(
            f"{name} crops are {crops.size_px} px, the model takes {size} px; re-run "
            f"`wds-edge calibrate --size {size}`"
        )


def check_grey_input(
    metadata: ModelMetadata, crops: CalibrationSet, name: str, *, warn: bool = True
) -> None:
    """Compare whether a crop set kept grey faces (``calibrate --grey-input``, recorded in
    its manifest) with whether the model takes them (its ``grey_input_supported``).

    A set that kept them, for a colour model, is refused: the kiosk refuses grey faces for
    it (``needs_colour_camera``), so they must not set its INT8 ranges or gate it. A set
    that skipped them, for a model that takes them, is only warned about (with ``warn``):
    its faces are still kiosk faces, but a grey / IR kiosk camera feeds the model input the
    crops do not show. A manifest that does not record it (older sets) is not checked.

    Raises:
        InvalidInputError: grey faces kept for a colour model (the message says to re-run
            ``wds-edge calibrate`` without ``--grey-input``).
    """
    kept = crops.manifest.grey_input_supported
    if kept is None or kept == metadata.grey_input_supported:
        return
    if kept:
        raise InvalidInputError(
            f"the {name} crops of {crops.path} were made with `wds-edge calibrate "
            "--grey-input` (grey faces kept), but the model is a colour model (its metadata "
            "does not say grey_input_supported): the kiosk refuses grey faces for it "
            "(needs_colour_camera), so they must not calibrate or gate it; re-run `wds-edge "
            "calibrate` without --grey-input"
        )
    if warn:
        logger.warning(
            "the model takes grey faces (grey_input_supported) but the %s crops of %s were "
            "made without --grey-input (grey faces skipped): if the kiosk's camera is grey / "
            "IR, re-run `wds-edge calibrate --grey-input` on its footage",
            name,
            crops.path,
        )


def check_batch(metadata: ModelMetadata, source: str | Path) -> None:
    """Refuse a model with a fixed batch of more than one image: calibration (both formats)
    feeds it one crop at a time, which ONNX Runtime rejects and OpenVINO cannot reshape it to.

    Raises:
        ModelError: the model's input batch is fixed above 1 (the message says to re-export
            it with ``--batch 1`` or ``--batch dynamic``).
    """
    batch = metadata.input_shape[0] if len(metadata.input_shape) == 4 else 1
    if int(batch) > 1:
        raise ModelError(
            f"{source} takes a fixed batch of {batch} images (`wds-edge export --batch "
            f"{batch}`); INT8 calibration needs a model that takes one image (batch 1) or any "
            "number (dynamic): re-export it with `wds-edge export --batch 1` (or `--batch "
            "dynamic`) and quantize that"
        )


def check_crop_sizes(onnx_path: str | Path, calib: CalibrationSet, *others: CalibrationSet) -> None:
    """Refuse crops of another size than the model's input, grey faces for a colour model
    (:func:`check_grey_input`; a set without them for a model that takes them is warned
    about, the calibration set's by :func:`quantize_qdq`) and a model with a fixed batch
    above 1 (:func:`check_batch`), before any work starts.

    Args:
        onnx_path: the FP32 model (its wds-edge metadata gives the input size).
        calib: the calibration crops.
        others: further crop sets (the held-out crops of the gate).

    Raises:
        InvalidInputError: a set kept grey faces for a colour model.
        ModelError: a set's crops are not the model's input size (the message gives the
            ``wds-edge calibrate --size`` to run), the model has a fixed batch above 1, no
            wds-edge metadata, or it is missing or not ONNX.
    """
    model = read_onnx_model(onnx_path, external_data=False)
    metadata = ModelMetadata.from_props(_metadata_props(model), source=str(onnx_path))
    check_batch(metadata, onnx_path)
    _check_size(calib, metadata, "calibration")
    check_grey_input(metadata, calib, "calibration", warn=False)  # quantize_qdq warns
    for crops in others:
        _check_size(crops, metadata, "held-out")
        check_grey_input(metadata, crops, "held-out")


def record_gate(qdq_path: str | Path, record: dict[str, Any]) -> Path:
    """Write an accuracy gate's record into a Q/DQ model's ``quantization`` metadata (as
    ``gate``, atomically), where the runtime reads it when it loads the model.

    Args:
        qdq_path: a Q/DQ model written by :func:`quantize_qdq`.
        record: :func:`wds_edge.runtime.gate.gate_record` of its gate (the same record the
            OpenVINO IR carries in its ``rt_info``).

    Raises:
        ModelError: the model has no ``quantization`` metadata (not written by
            :func:`quantize_qdq`).
    """
    model = read_onnx_model(qdq_path)
    info = qdq_info(_metadata_props(model))
    if info is None:
        raise ModelError(
            f"{qdq_path} has no quantization metadata: it was not written by "
            "`wds-edge quantize --format qdq` (wds_edge_calibration.qdq.quantize_qdq)"
        )
    info["gate"] = record
    entry = next(p for p in model.metadata_props if p.key == "quantization")
    entry.value = json.dumps(info, sort_keys=True)
    write_bytes_atomic(qdq_path, model.SerializeToString())
    return Path(qdq_path)


def quantize_qdq(
    onnx_path: str | Path,
    calib: str | Path | CalibrationSet,
    out_path: str | Path,
    *,
    max_crops: int | None = None,
    method: CalibrationMethod = "minmax",
    use_modelopt: bool | None = None,
) -> Path:
    """Write an INT8 Q/DQ copy of a wds-edge FP32 ONNX model.

    Args:
        onnx_path: the FP32 model (with wds-edge metadata; its preprocessing decides
            what the calibration crops are turned into).
        calib: a calibration folder (``wds-edge calibrate``) or a loaded set.
        out_path: the Q/DQ ``.onnx`` to write (atomically).
        max_crops: use at most this many crops (None: all).
        method: activation range estimate (:data:`CALIBRATION_METHODS`; with ModelOpt
            :data:`MODELOPT_METHODS`, recorded as ``method`` with the tool's own name as
            ``tool_method``).
        use_modelopt: force (True) / forbid (False) NVIDIA ModelOpt; None: when installed.

    Returns:
        ``out_path``. Its metadata is the FP32 model's plus a ``quantization`` entry, without
        a gate record: gate it and :func:`record_gate` (``wds-edge quantize`` does), else
        the runtime warns that nothing shows its masks match FP32.

    Raises:
        InvalidInputError: a method the quantizer does not have (:func:`check_method`);
            calibration crops with grey faces for a colour model (:func:`check_grey_input`).
        ModelError: the model is missing, not ONNX, has no wds-edge metadata, or takes a
            fixed batch above 1 (:func:`check_batch`).
        MissingDependencyError: onnx / onnxruntime (or ModelOpt when forced) missing.
    """
    use_modelopt = uses_modelopt(use_modelopt)
    check_method(method, use_modelopt)
    onnx = require("onnx", "INT8 Q/DQ quantization")
    source = Path(onnx_path)
    check_fp32_source(source)
    model = read_onnx_model(source)
    check_qdq_opset(model, source)
    props = _metadata_props(model)
    metadata = ModelMetadata.from_props(props, source=str(source))
    calib_set = calib if isinstance(calib, CalibrationSet) else load_calibration_set(calib)
    check_batch(metadata, source)
    _check_size(calib_set, metadata, "calibration")
    check_grey_input(metadata, calib_set, "calibration")
    keep_fp32 = fp32_nodes(model)
    batch = 1 if not metadata.dynamic_batch else 1  # ranges do not depend on batch size
    crops_used = min(len(calib_set), max_crops or len(calib_set))

    def batches() -> Any:
        return calib_set.batches(metadata.preprocessing, batch_size=batch, limit=max_crops)

    with tempfile.TemporaryDirectory(prefix="wds-qdq-") as tmp:
        quantized = Path(tmp) / "model.qdq.onnx"
        if use_modelopt:
            tool, tool_method = _quantize_modelopt(
                source, quantized, batches, metadata, keep_fp32, method
            )
        else:
            tool, tool_method = _quantize_ort(
                source, quantized, batches, metadata, keep_fp32, method, tmp, crops_used
            )
        qmodel = onnx.load(str(quantized))
    kept_check = check_fp32_nodes(qmodel, keep_fp32)
    del qmodel.metadata_props[:]
    info = {
        "format": "qdq",
        "tool": tool,
        "method": method,
        "tool_method": tool_method,
        "activations": "int8 symmetric per-tensor",
        "weights": "int8 symmetric per-channel",
        "fp32_nodes": keep_fp32,
        "fp32_nodes_check": kept_check,
        "source_sha256": sha256_file(source),
        "source_name": source.name,
        "calibration": {
            "path": str(calib_set.path),
            "data_sha256": calib_set.data_sha256,
            "crops_used": crops_used,
            "max_crops": max_crops,
        },
    }
    for key, value in {**props, "quantization": json.dumps(info, sort_keys=True)}.items():
        entry = qmodel.metadata_props.add()
        entry.key, entry.value = key, value
    write_bytes_atomic(out_path, qmodel.SerializeToString())
    logger.info("wrote INT8 Q/DQ model %s (%s)", out_path, tool)
    return Path(out_path)


def _counted(batches: Iterator[np.ndarray], progress: ProgressCallback, total: int) -> Any:
    """Yield ``batches`` (N x C x H x W arrays), reporting the images passed so far."""
    done = 0
    for batch in batches:
        yield batch
        done += int(batch.shape[0])
        progress(done, total, "gating")


def quantize_qdq_gated(
    onnx_path: str | Path,
    calib: CalibrationSet,
    out: str | Path,
    *,
    held_out: CalibrationSet | None = None,
    method: CalibrationMethod = "minmax",
    gate: bool = True,
    allow_accuracy_loss: bool = False,
    use_modelopt: bool | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Path, GateResult | None]:
    """Quantize ``onnx_path`` to an INT8 Q/DQ model at ``out``, gated against FP32.

    Every input is checked before minutes of quantizing (the model file, ``out``, the crop
    sizes, the held-out split); the model is quantized and gated beside ``out``, and a
    model already there is replaced only by one that passed the gate (or with
    ``allow_accuracy_loss``). The gate's record goes into the model (:func:`record_gate`),
    as :func:`~wds_edge_calibration.openvino_int8.quantize_openvino_int8` puts it into the IR.

    Args:
        onnx_path: the FP32 wds-edge model (the gate's reference).
        calib: calibration crops (activation ranges).
        out: the Q/DQ ``.onnx`` to write; not ``onnx_path``.
        held_out: other crops for the gate (:func:`check_held_out`); None gates on the
            calibration crops (optimistic: logged, and recorded as ``held_out: false``).
        method: activation range estimate (:func:`quantize_qdq`).
        gate: False writes the model ungated (the runtime warns when it loads it).
        allow_accuracy_loss: keep a model that failed the gate (its record says so).
        use_modelopt: see :func:`quantize_qdq`.
        progress: ``progress(done, total, phase)``: phase ``"quantizing"`` once (no
            progress inside it), then ``"gating"`` per image.

    Returns:
        ``out`` and the gate's result (None without ``gate``).

    Raises:
        InvalidInputError: an unknown method, or percentile with ModelOpt
            (:func:`check_method`), ``out`` does not end in ``.onnx`` or is the FP32 model,
            held-out crops that are calibration crops or show a calibrated person.
        OutputError: ``out`` cannot be written.
        ModelError: the model is missing, not ONNX or has no wds-edge metadata; crops of
            another size; the gate failed (:class:`~wds_edge.errors.AccuracyGateError`,
            nothing written).
    """
    check_method(method, use_modelopt)
    source, out = Path(onnx_path), Path(out)
    if out.suffix.lower() != ".onnx":  # the runtime loads a model by its suffix
        raise InvalidInputError(
            f"--out must be a Q/DQ .onnx path for --format qdq, got {out} (an OpenVINO .xml is "
            "--format openvino)"
        )
    report = progress or (lambda done, total, info="": None)
    check_output_path(source, out)
    check_fp32_source(source)
    check_qdq_opset(read_onnx_model(source, external_data=False), source)
    check_crop_sizes(source, calib, *([held_out] if held_out is not None else []))
    if held_out is not None:
        check_held_out(calib, held_out)
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    tmp = temporary_path(out, suffix=".onnx")
    result: GateResult | None = None
    try:
        report(0, None, "quantizing")
        quantize_qdq(source, calib, tmp, method=method, use_modelopt=use_modelopt)
        if gate:
            gate_crops = held_out if held_out is not None else calib
            if held_out is None:
                logger.warning(
                    "gating on the calibration crops themselves (optimistic); pass held-out "
                    "crops of other people (--held-out DIR)"
                )
            report(0, len(gate_crops), "gating")
            cpu = ["CPUExecutionProvider"]
            with (
                OnnxRuntimeBackend(source, providers=cpu) as ref,
                gating_new_model(),  # it has no gate record yet: no warning about that
                OnnxRuntimeBackend(tmp, providers=cpu) as cand,
            ):
                batches = gate_crops.batches(ref.metadata.preprocessing, 1)
                result = accuracy_gate(
                    ref.infer, cand.infer, _counted(batches, report, len(gate_crops)),
                    precision="int8", threshold=ref.metadata.threshold,
                )  # fmt: skip
                measured_on = f"{cand.name} {cand.device}"
            logger.info("%s", result.reason)
            enforce_gate(result, allow_accuracy_loss=allow_accuracy_loss)
            # in the model, as the OpenVINO IR carries it: the runtime warns on a failed one
            record_gate(tmp, gate_record(
                result, measured_on=measured_on, crops_sha256=gate_crops.data_sha256,
                people=gate_crops.manifest.people, held_out=held_out is not None,
            ))  # fmt: skip
        os.replace(tmp, out)
        fsync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return out, result


def _reader(quant: Any, batches: Any, input_name: str, count: int | None = None) -> Any:
    """An ONNX Runtime ``CalibrationDataReader`` streaming the calibration batches.

    With ``count`` (how many batches ``batches()`` yields) it also has the ``len()`` and
    ``set_range(start, end)`` of ONNX Runtime's strided calibration
    (``extra_options={"CalibStridedMinMax": n}``): ``quantize_static`` then calls the
    calibrator's ``collect_data`` once per ``n`` batches, each call handing out only those.
    """

    class _Reader(quant.CalibrationDataReader):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self._it = iter(batches())
            self._at = 0  # index of the next batch self._it yields
            self._end: int | None = None  # set_range's end: get_next stops there

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self._end is not None and self._at >= self._end:
                return None
            nxt = next(self._it, None)
            if nxt is None:
                return None
            self._at += 1
            return {input_name: nxt}

        def rewind(self) -> None:
            self._it, self._at, self._end = iter(batches()), 0, None

        def __len__(self) -> int:
            if count is None:
                raise TypeError("this reader was made without its number of batches")
            return count

        def set_range(self, start_index: int, end_index: int) -> None:
            if start_index < self._at:  # back to an earlier batch: from the start again
                self.rewind()
            while self._at < start_index and next(self._it, None) is not None:
                self._at += 1
            self._end = end_index

    return _Reader()


def _quantize_ort(
    source: Path,
    out: Path,
    batches: Any,
    metadata: ModelMetadata,
    keep_fp32: list[str],
    method: CalibrationMethod,
    tmp: str,
    crops: int,
) -> tuple[str, str]:
    quant = require("onnxruntime.quantization", "INT8 Q/DQ quantization")
    ort = require("onnxruntime", "INT8 Q/DQ quantization")
    prepared = Path(tmp) / "model.prep.onnx"
    # Shape inference + graph cleanup, as ONNX Runtime recommends before quantize_static.
    quant.shape_inference.quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    methods = {
        "minmax": quant.CalibrationMethod.MinMax,
        "entropy": quant.CalibrationMethod.Entropy,
        "percentile": quant.CalibrationMethod.Percentile,
    }
    extra: dict[str, Any] = {"ActivationSymmetric": True, "WeightSymmetric": True}
    if method != "minmax":
        # The histogram calibrators keep every output of every crop until their
        # collect_data returns (0.7 GB a 640 px crop of the bundled model): strided
        # calibration calls it per HISTOGRAM_CROPS_PER_CALL crops and merges the histograms,
        # so memory stays that of one call whatever the number of crops. MinMax reduces each
        # output to its range as it runs (its memory does not grow with the crops).
        extra["CalibStridedMinMax"] = HISTOGRAM_CROPS_PER_CALL
    quant.quantize_static(
        str(prepared),
        str(out),
        _reader(quant, batches, metadata.input_name, count=crops),
        quant_format=quant.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quant.QuantType.QInt8,
        weight_type=quant.QuantType.QInt8,
        nodes_to_exclude=keep_fp32,
        calibrate_method=methods[method],
        extra_options=extra,
    )
    return f"onnxruntime {ort.__version__} quantize_static", methods[method].name


def _quantize_modelopt(
    source: Path,
    out: Path,
    batches: Any,
    metadata: ModelMetadata,
    keep_fp32: list[str],
    method: CalibrationMethod,
) -> tuple[str, str]:
    import inspect
    import re

    mq = require("modelopt.onnx.quantization", "INT8 Q/DQ quantization with NVIDIA ModelOpt")
    data: dict[str, Any]
    if "calibration_data_reader" in inspect.signature(mq.quantize).parameters:
        quant = require("onnxruntime.quantization", "INT8 Q/DQ quantization")
        data = {"calibration_data_reader": _reader(quant, batches, metadata.input_name)}
    else:  # ModelOpt before the reader: one array (about 5 MB per 640 px crop)
        logger.warning("this ModelOpt takes the calibration crops as one array in memory")
        data = {"calibration_data": {metadata.input_name: np.concatenate(list(batches()))}}
    mq.quantize(
        onnx_path=str(source),
        quantize_mode="int8",
        calibration_method=MODELOPT_METHODS[method],
        # ModelOpt matches these with re.match: exact names only
        nodes_to_exclude=[re.escape(name) + "$" for name in keep_fp32],
        # its default "fp16" converts every unquantized float tensor (the texture map, the
        # head) to FP16; the kept nodes are checked afterwards (check_fp32_nodes)
        high_precision_dtype="fp32",
        output_path=str(out),
        **data,
    )
    return "nvidia-modelopt", MODELOPT_METHODS[method]
