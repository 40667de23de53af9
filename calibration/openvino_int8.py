"""INT8 for OpenVINO: NNCF post-training quantization of a wds-edge model, gated on held-out crops.

The FP32 ONNX model is read by OpenVINO and quantized by ``nncf.quantize`` with the
activation ranges of the calibration crops (``wds-edge calibrate``), fed through the
kiosk's own :func:`wds_edge.model.preprocessing.model_input`. Kept out of INT8
(``ignored_scope``), as measured on held-out kiosk crops (``benchmarks/RESULTS.md``):

* the Eq. 1 texture subgraph (everything upstream of the ``[R, G, B, T]`` Concat: a
  division by a local mean; the runtime also runs it as a separate FP32 model); a model
  whose metadata says the texture map is computed outside it (``export --texture-outside``:
  fed ``[R, G, B, T]``) has none;
* the first convolution (it reads the raw RGB and texture channels), and the
  element-wise and layout nodes between it and the ``[R, G, B, T]`` Concat, or the input of
  a texture-outside model (an unsimplified export's input scaling, a ``centred`` model's
  normalisation, a ``space_to_depth`` stem:
  :func:`wds_edge.model.texture_graph.first_convolutions`);
* the F1 head (the 1x1 convolution feeding the Sigmoid) and the Sigmoid, so the
  probability is thresholded in full precision;
* the last decoder block (the convolutions between the last skip Concat and the head).

Measured on the bundled model (11 photo crops for calibration, 24 held-out video crops;
mean / worst mask IoU vs FP32): texture only kept 0.968 / 0.949 (fails); + first conv
and head 0.980 / 0.964 (at the bar); + the last decoder block 0.981 / 0.966.

The result is an OpenVINO IR (``m.int8.xml`` / ``.bin`` next to ``m.onnx``) carrying, in
its ``rt_info`` section ``wds_edge``: the model's metadata, ``precision = int8``, the
sha256 of the FP32 model it came from, the calibration set's sha256 and the gate's
figures. The accuracy gate (:mod:`wds_edge.runtime.gate`: mean IoU >= 0.98, worst >=
0.95) compares it with ONNX Runtime FP32 on *held-out* crops; a model that fails is not
written (unless accuracy loss is allowed) and the error carries the figures.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wds_edge._deps import require
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.io import fsync_dir, sha256_file, temporary_path
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.preprocessing import Preprocessing
from wds_edge.model.texture_graph import GraphNode, first_convolutions
from wds_edge.runtime.gate import (
    GateResult,
    accuracy_gate,
    enforce_gate,
    gate_record,
    gating_new_model,
)
from wds_edge.runtime.openvino import RT_INFO_SECTION, int8_model_path, model_metadata_props
from wds_edge.runtime.openvino_graph import texture_boundary
from wds_edge_calibration.dataset import CalibrationSet
from wds_edge_calibration.qdq import (
    check_batch,
    check_fp32_source,
    check_grey_input,
    check_held_out,
    check_output_path,
)

__all__ = [
    "TARGET_DEVICES",
    "check_openvino_options",
    "higher_precision_nodes",
    "install_ir",
    "quantize_openvino_int8",
]

logger = logging.getLogger(__name__)


def _upstream(output: Any) -> set[str]:
    """Friendly names of every node the given output depends on (itself included)."""
    seen: set[str] = set()
    stack = [output.get_node()]
    while stack:
        node = stack.pop()
        name = node.get_friendly_name()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(i.get_source_output().get_node() for i in node.inputs())
    return seen


#: OpenVINO ops followed from the [R, G, B, T] Concat to the first convolution.
_TO_FIRST_CONV = frozenset({
    "Multiply", "Divide", "Add", "Subtract", "Reshape", "Transpose", "SpaceToDepth",
    "DepthToSpace", "Squeeze", "Unsqueeze",
})  # fmt: skip


def _tensor(output: Any) -> str:
    """A name for an OpenVINO node output: ``friendly name:index``."""
    return f"{output.get_node().get_friendly_name()}:{output.get_index()}"


def _graph_nodes(model: Any) -> list[GraphNode]:
    """The model's ops as :class:`~wds_edge.model.texture_graph.GraphNode` rows."""
    return [
        GraphNode(op.get_friendly_name(), op.get_type_name(),
                  tuple(_tensor(i.get_source_output()) for i in op.inputs()),
                  tuple(_tensor(o) for o in op.outputs()))
        for op in model.get_ordered_ops()
    ]  # fmt: skip


def higher_precision_nodes(
    model: Any,
    keep_first_conv: bool = True,
    keep_head: bool = True,
    keep_last_block: bool = True,
    *,
    preprocessing: Preprocessing | None = None,
) -> list[str]:
    """Node names NNCF must not quantize (see the module docstring), found by structure.

    Args:
        model: an ``openvino.Model`` of a wds-edge graph.
        keep_first_conv / keep_head / keep_last_block: also keep the first convolution /
            the F1 head / the convolutions of the decoder block feeding the head.
        preprocessing: where the model's texture map is computed (None: as its metadata
            says). ``TEXTURE_IN_GRAPH``: the texture subgraph is kept and the first
            convolution is found behind its ``[R, G, B, T]`` Concat; ``TEXTURE_OUTSIDE``:
            there is no texture subgraph, the first convolution is found behind the input.

    Raises:
        ModelError: the model has no wds-edge metadata (``preprocessing`` None), or it
            declares the texture map inside the graph and no Concat computes it there.
    """
    if preprocessing is None:
        props = model_metadata_props(model, "the model")
        preprocessing = ModelMetadata.from_props(props, source="the model").preprocessing
    if preprocessing is Preprocessing.TEXTURE_OUTSIDE:  # the input is [R, G, B, T]
        keep: set[str] = set()
        rgbt = [_tensor(p.output(0)) for p in model.get_parameters()]
    else:
        boundary = texture_boundary(model)
        keep = {
            name
            for name in _upstream(boundary)
            if not any(p.get_friendly_name() == name for p in model.get_parameters())
        }
        rgbt = [_tensor(boundary)]
    if keep_first_conv:
        nodes = _graph_nodes(model)
        for start in rgbt:
            keep |= set(first_convolutions(
                nodes, start, conv_op="Convolution", through=_TO_FIRST_CONV
            ))  # fmt: skip
    if keep_head:
        for result in model.get_results():
            node = result.input(0).get_source_output().get_node()  # Sigmoid
            keep.add(node.get_friendly_name())
            while node.get_type_name() != "Convolution" and node.inputs():
                node = node.input(0).get_source_output().get_node()  # bias Add, then the conv
                keep.add(node.get_friendly_name())
    if keep_last_block:
        for result in model.get_results():
            node = result.input(0).get_source_output().get_node()
            seen_head = False
            while node.inputs() and node.get_type_name() not in ("Concat", "Parameter"):
                if node.get_type_name() == "Convolution":
                    if seen_head:
                        keep.add(node.get_friendly_name())
                    seen_head = True
                node = node.input(0).get_source_output().get_node()
    return sorted(keep)


def _named_nodes(model: Any, layers: Sequence[str]) -> list[str]:
    """OpenVINO node names of the ONNX layers ``layers`` (each, or under it)."""
    names = [op.get_friendly_name() for op in model.get_ordered_ops()]
    found: list[str] = []
    for layer in layers:
        hits = [n for n in names if n == layer or n.startswith(layer.rstrip("/") + "/")]
        if not hits:
            convs = sorted(
                op.get_friendly_name().removesuffix("/WithoutBiases")
                for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"
            )  # fmt: skip
            raise InvalidInputError(
                f"no layer {layer!r} in the model; its convolutions are: {', '.join(convs)}"
            )
        found += hits
    return found


class _Batches:
    """The model inputs of a calibration set, re-iterable and read from disk on each pass
    (NNCF iterates more than once; a list would hold ~5 MB per 640 px crop in memory)."""

    def __init__(self, calib: CalibrationSet, preprocessing: Any) -> None:
        self._calib, self._preprocessing = calib, preprocessing

    def __iter__(self) -> Any:
        return self._calib.batches(self._preprocessing, 1)

    def __len__(self) -> int:
        return len(self._calib)


#: ``target_device`` values (NNCF's ``TargetDevice`` members).
TARGET_DEVICES = ("CPU", "GPU", "NPU", "ANY")


def install_ir(staged: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Move a saved OpenVINO IR (``staged`` .xml and the .bin beside it) over ``target``
    (.xml; its .bin beside it), so that the pair at ``target`` is never mixed.

    OpenVINO finds an .xml's weights by its name alone: an .xml beside another model's .bin
    loads without complaint and computes that other model. The old .xml is removed first,
    then the new .bin and .xml renamed into place (both already beside the target, under
    :func:`wds_edge.io.temporary_path` names): interrupted half-way, the folder holds no
    model at ``target`` (the runtime says so) rather than a wrong one, and the temporaries
    are removed (those of a killed run by the next write in that folder).

    Returns:
        ``target``.
    """
    staged, target = Path(staged), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    xml_tmp = temporary_path(target, ".xml")
    bin_tmp = xml_tmp.with_suffix(".bin")
    try:
        shutil.move(str(staged.with_suffix(".bin")), str(bin_tmp))
        shutil.move(str(staged), str(xml_tmp))
        for legacy in (".xml.tmp", ".bin.tmp"):  # what earlier versions left when interrupted
            with contextlib.suppress(FileNotFoundError):
                target.with_suffix(legacy).unlink()
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # the old .xml first: it must never meet the new .bin
        os.replace(bin_tmp, target.with_suffix(".bin"))
        os.replace(xml_tmp, target)
        fsync_dir(target.parent)
    finally:
        for leftover in (xml_tmp, bin_tmp):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return target


def check_openvino_options(target_device: str) -> tuple[Any, Any, str]:
    """(openvino, nncf, the device name in upper case): the packages and the option
    :func:`quantize_openvino_int8` needs, checked before anything else is read.

    Raises:
        MissingDependencyError: nncf or openvino is missing.
        InvalidInputError: ``target_device`` is not one of :data:`TARGET_DEVICES`.
    """
    ov = require("openvino", "INT8 quantization for OpenVINO")
    nncf = require("nncf", "INT8 quantization for OpenVINO")  # the hint: '.[openvino-int8]'
    device = str(target_device).strip().upper()  # as OpenVINO device names elsewhere
    if device not in TARGET_DEVICES:
        raise InvalidInputError(
            f"--target-device (target_device) must be one of {', '.join(TARGET_DEVICES)} (any "
            f"case), got {device!r}"
        )
    return ov, nncf, device


def quantize_openvino_int8(
    onnx_path: str | os.PathLike[str],
    calib: CalibrationSet,
    held_out: CalibrationSet,
    out: str | os.PathLike[str] | None = None,
    *,
    keep_first_conv: bool = True,
    keep_head: bool = True,
    keep_last_block: bool = True,
    keep_layers: Sequence[str] = (),
    allow_accuracy_loss: bool = False,
    target_device: str = "CPU",
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, GateResult]:
    """Quantize ``onnx_path`` to an OpenVINO INT8 IR and gate it on ``held_out``.

    Args:
        onnx_path: FP32 wds-edge ``.onnx`` (texture map inside the graph or outside it).
        calib: calibration crops (activation ranges).
        held_out: other crops for the accuracy gate; none may also be in ``calib``.
        out: the ``.xml`` to write (``None``: :func:`int8_model_path` next to the model,
            where the OpenVINO backend and ``auto`` look for it).
        keep_first_conv / keep_head / keep_last_block: keep those layers out of INT8
            (defaults as measured, see the module docstring).
        keep_layers: further layers to keep out of INT8, by ONNX node name (``/up1/conv/
            conv.0/Conv``; every OpenVINO node named so or under it, ``.../WithoutBiases``).
        allow_accuracy_loss: write the model even when the gate fails (a warning).
        target_device: the OpenVINO device the IR is made for (NNCF's quantization scheme
            differs per device): ``CPU``, ``GPU``, ``NPU`` or ``ANY``; recorded in the IR. The
            gate itself runs on the CPU (recorded as ``measured_on``).
        progress: called with a phase name ("quantizing", "gating", ...).

    Returns:
        The written ``.xml`` path and the :class:`GateResult`.

    Raises:
        InvalidInputError: the held-out set overlaps the calibration set (a crop, or a
            person when the sets name their people: :mod:`wds_edge_calibration.people`), sizes
            differ, a set kept grey faces for a colour model
            (:func:`~wds_edge_calibration.qdq.check_grey_input`), ``out`` is the FP32 model.
        OutputError: ``out`` cannot be written (checked first, before minutes of work).
        ModelError: the gate failed (nothing written), the model file is missing or not
            a model, or it is not a wds-edge model, or it declares the texture map inside the
            graph and none is computed there, or it takes a fixed batch above 1
            (:func:`~wds_edge_calibration.qdq.check_batch`).
        MissingDependencyError: nncf or openvino is missing.
    """
    ov, nncf, target_device = check_openvino_options(target_device)
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge.runtime.openvino import OpenVinoBackend

    onnx_path = Path(onnx_path)
    target = Path(out) if out is not None else int8_model_path(onnx_path)
    if not target.name.endswith(".xml"):
        raise InvalidInputError(f"--out must be an OpenVINO .xml path, got {target}")
    # before minutes of NNCF and the gate, not when the IR is moved into place
    check_output_path(onnx_path, target)
    check_output_path(onnx_path, target.with_suffix(".bin"), "INT8 model's weights")
    check_held_out(calib, held_out)
    calib_people, held_people = list(calib.manifest.people), list(held_out.manifest.people)
    check_fp32_source(onnx_path)  # not an INT8 model: the gate would compare INT8 with INT8
    try:
        model = ov.Core().read_model(str(onnx_path))
    except RuntimeError as exc:  # OpenVINO's read errors (not ONNX, a truncated file)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
        raise ModelError(
            f"{onnx_path}: cannot read it as an ONNX model (OpenVINO: {first}); the file is "
            "corrupt or not ONNX - export it again with `wds-edge export`"
        ) from exc
    props = model_metadata_props(model, str(onnx_path))
    meta = ModelMetadata.from_props(props, source=str(onnx_path))
    meta.check_supported(str(onnx_path))
    check_batch(meta, onnx_path)  # reshaped to one crop below: a fixed batch cannot be
    size = meta.input_size_hw[0]
    for name, crops in (("calibration", calib), ("held-out", held_out)):
        if crops.size_px != size:
            raise InvalidInputError(
                f"the {name} crops are {crops.size_px} px, the model takes {size} px; "
                f"run `wds-edge calibrate --size {size}`"
            )
        check_grey_input(meta, crops, name)
    model.reshape([1, meta.input_channels, size, size])
    keep = higher_precision_nodes(
        model, keep_first_conv, keep_head, keep_last_block, preprocessing=meta.preprocessing
    )
    keep = sorted(set(keep) | set(_named_nodes(model, keep_layers)))
    if progress:
        progress("quantizing")
    quantized = nncf.quantize(
        model,
        nncf.Dataset(_Batches(calib, meta.preprocessing)),
        preset=nncf.QuantizationPreset.MIXED,
        target_device=getattr(nncf.TargetDevice, target_device),
        subset_size=len(calib),
        ignored_scope=nncf.IgnoredScope(names=keep, validate=False),
    )
    info = {
        "metadata": json.dumps(props, sort_keys=True),
        "precision": "int8",
        "source_sha256": sha256_file(onnx_path),
        "calibration": json.dumps(
            {
                "data_sha256": calib.data_sha256,
                "crops": len(calib),
                "kept_higher": keep,
                "target_device": target_device,
                "people": calib_people,
            }  # fmt: skip
        ),
    }
    for key, value in info.items():
        quantized.set_rt_info(value, [RT_INFO_SECTION, key])
    # staged beside the target under wds-edge temporary names (a killed run's are cleaned by
    # the next write there); in a folder of its own where the target's does not exist yet
    stage_dir = None if target.parent.is_dir() else Path(tempfile.mkdtemp(prefix="wds-ov-int8-"))
    staged = temporary_path(target, ".xml") if stage_dir is None else stage_dir / target.name
    try:
        ov.save_model(quantized, str(staged), compress_to_fp16=False)
        if progress:
            progress("gating")
        cpu = ["CPUExecutionProvider"]
        with (
            OnnxRuntimeBackend(onnx_path, providers=cpu) as ref,
            gating_new_model(),  # no gate record yet: no warning about that
            OpenVinoBackend(staged, precision="int8", cache_dir=False) as cand,
        ):
            gate = accuracy_gate(
                ref.infer, cand.infer, held_out.batches(meta.preprocessing, 1),
                precision="int8", threshold=meta.threshold,
            )  # fmt: skip
            measured_on = cand.device
        logger.info("%s", gate.reason)
        enforce_gate(gate, allow_accuracy_loss=allow_accuracy_loss)
        # what the figures were measured with: the runtime compiles INT8 models the same way
        record = gate_record(gate, measured_on=measured_on, crops_sha256=held_out.data_sha256,
                             people=held_people)  # fmt: skip
        quantized.set_rt_info(json.dumps(record), [RT_INFO_SECTION, "gate"])
        ov.save_model(quantized, str(staged), compress_to_fp16=False)
        install_ir(staged, target)
    finally:
        for leftover in (staged, staged.with_suffix(".bin")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        if stage_dir is not None:
            shutil.rmtree(stage_dir, ignore_errors=True)
    return target, gate
