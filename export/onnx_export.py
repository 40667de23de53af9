"""PyTorch -> ONNX: the inference head (F1 wrinkle probability) as one self-contained file.

The exported graph (texture map inside, the default)::

    "image"  float32 (N, 3, S, S) RGB [0, 255]
      -> wds_edge_train.texture.InGraphPreprocess  ([R, G, B, T] / 255, paper Eq. 1)
      -> WrinkleUNet F1 logits -> sigmoid (1 channel) | softmax channel 1 (2 channels)
    "wrinkle_prob" float32 (N, 1, S, S) in [0, 1]

(:class:`wds_edge_export.graph.InferenceGraph`). Either output kind (``--dice binary`` /
``two-class``) keeps this contract; the kind is recorded in the metadata
(``architecture.dice``, ``architecture.out_channels``, ``training.dice``).

With ``texture_in_graph=False`` the input is the host-built 4-channel tensor
``[R, G, B, T] / 255`` (:attr:`Preprocessing.TEXTURE_OUTSIDE`).

Exporter: ``torch.onnx.export(..., dynamo=False)``, the TorchScript tracer, chosen
explicitly because since torch 2.9 the default is the dynamo exporter, which needs
onnxscript at export time and writes weights as external data unless told otherwise;
the tracer writes one protobuf with the weights inside and produces only classic ops
(Conv, Resize, Pad, ...) that TensorRT's ONNX parser handles. The file is then
simplified with onnxsim (constant folding of the shape arithmetic the tracer emits for
``F.interpolate``), falling back to onnxslim where onnxsim is absent or fails.

``exporter="dynamo"`` takes the ``torch.export`` route instead (opset >= 18, needs
``onnxscript``), still as one file (``external_data=False``): torch marks the
TorchScript exporter for removal, and this keeps exports working when it goes.

The opsets each exporter writes this network at are :data:`OPSET_RANGES`; the metadata's
``architecture`` records the exporter (``exporter``) and the opset the file declares
(``opset``, read back from its ``opset_import``).
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import onnx
import torch

import wds_edge
from wds_edge._deps import require
from wds_edge.bench.model_bench import conv_macs
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.io import fsync_dir, sha256_file, temporary_path, write_bytes_atomic
from wds_edge.model.files import load_onnx_proto
from wds_edge.model.metadata import ArchitectureInfo, ModelMetadata
from wds_edge.model.preprocessing import Preprocessing
from wds_edge.perception.quality import DEFAULT_CROP_SIZE_PX
from wds_edge.runtime.base import GraphTensor, check_graph
from wds_edge_export.graph import INPUT_NAME, OUTPUT_NAME, InferenceGraph
from wds_edge_export.parity import check_parity, parity_report
from wds_edge_train.model import (
    INPUT_NORMS,
    POOL_MULTIPLE,
    WrinkleUNet,
    count_parameters,
    dice_for,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "ExportReport",
    "InferenceGraph",
    "export_model",
    "export_checkpoint",
    "read_metadata",
    "annotate_onnx",
    "DEFAULT_INPUT_SIZE_PX",
    "ScaleMismatchError",
    "check_size_px",
    "export_size_px",
    "trained_on_whole_photos",
    "GREY_AUGMENT_PROFILES",
    "check_grey_input",
    "OPSET_RANGES",
    "DEFAULT_OPSETS",
    "check_opset",
    "parse_batch",
]

logger = logging.getLogger(__name__)

#: The input size of a checkpoint whose face-crop scale is unknown (the paper's 640 px).
DEFAULT_INPUT_SIZE_PX = DEFAULT_CROP_SIZE_PX

BatchMode = Literal["1", "dynamic"]
Exporter = Literal["torchscript", "dynamo"]
EXPORTERS = ("torchscript", "dynamo")

#: The ONNX opsets each exporter writes this network at (both ends included), as run with
#: torch 2.13: the tracer needs 11 for the bilinear ``align_corners`` upsampling (Resize)
#: and goes up to torch's ``ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET`` (20); the dynamo exporter
#: starts at 18 and goes up to torch's ``ONNX_MAX_OPSET`` (23).
OPSET_RANGES: dict[str, tuple[int, int]] = {"torchscript": (11, 20), "dynamo": (18, 23)}
#: The opset used when none is asked for: 17 (what TensorRT 10 and ONNX Runtime >= 1.14
#: handle) for the tracer, the dynamo exporter's lowest for it.
DEFAULT_OPSETS: dict[str, int] = {"torchscript": 17, "dynamo": 18}


def check_opset(opset: int, exporter: str = "torchscript") -> int:
    """``opset`` when ``exporter`` writes this network at it (:data:`OPSET_RANGES`).

    Raises:
        InvalidInputError: an unknown exporter, or an opset outside its range.
    """
    if exporter not in OPSET_RANGES:
        raise InvalidInputError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    low, high = OPSET_RANGES[exporter]
    if not low <= opset <= high:
        raise InvalidInputError(
            f"--opset {opset}: the {exporter} exporter writes this model at opsets {low} to "
            f"{high}; leave --opset out for {DEFAULT_OPSETS[exporter]}"
            + (" (what TensorRT 10 takes)" if exporter == "torchscript" else "")
        )
    return opset


def parse_batch(batch: str | int) -> BatchMode | int:
    """``"1"``, ``"dynamic"`` or a fixed batch size >= 1 from a ``--batch`` value.

    Raises:
        InvalidInputError: anything else (the message lists what is accepted).
    """
    text = str(batch).strip().lower()
    if text in ("1", "dynamic"):
        return text  # type: ignore[return-value]
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise InvalidInputError(
            f"batch must be '1', 'dynamic' or a positive whole number, got {batch!r}"
        )
    return n


@dataclass
class ExportReport:
    """What :func:`export_checkpoint` produced."""

    path: Path
    metadata: ModelMetadata
    onnx_sha256: str
    size_bytes: int
    parity: dict[str, Any] = field(default_factory=dict)


def check_size_px(
    size_px: int, multiple: int = POOL_MULTIPLE, stem: str = "none", name: str = "--size"
) -> int:
    """Refuse an input side the network cannot take: a positive multiple of ``multiple``
    (:attr:`WrinkleUNet.size_multiple <wds_edge_train.model.WrinkleUNet.size_multiple>`:
    16, 32 with the space_to_depth ``stem``); ``name`` is how messages name the size.

    Raises:
        InvalidInputError: what the size must be, and the nearest sizes that are.
    """
    if size_px < multiple or size_px % multiple:
        lower = max(multiple, size_px // multiple * multiple)
        why = (
            f"the {stem} stem shrinks the input {multiple // POOL_MULTIPLE}x, then the U-Net "
            "pools it four times"
            if multiple > POOL_MULTIPLE
            else "the U-Net pools the input four times"
        )
        raise InvalidInputError(
            f"{name} {size_px} is not a positive multiple of {multiple} ({why}); use e.g. "
            f"{name} {lower} or {lower + multiple}"
        )
    return int(size_px)


class ScaleMismatchError(InvalidInputError):
    """An export size other than the face-crop size the checkpoint was trained on."""


def _malformed(source: str, key: str, value: Any, expected: str) -> ModelError:
    return ModelError(
        f"{source}: the checkpoint's config is malformed: {key} is {value!r} "
        f"({type(value).__name__}), expected {expected}; `wds-edge train` writes it so: fix "
        "the config in the checkpoint (wds_edge_train.checkpoint) or train again"
    )


def _config_face_crop_px(config: dict[str, Any], source: str) -> int | None:
    """The checkpoint config's ``face_crop_px`` (None: unknown).

    Raises:
        ModelError: it is not a whole number of pixels (a string, a bool, 0, ...).
    """
    value = config.get("face_crop_px")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _malformed(source, "face_crop_px", value, "a whole number of pixels")
    if value != int(value) or value < 1:
        raise _malformed(source, "face_crop_px", value, "a whole number of pixels")
    return int(value)


def _config_threshold(config: dict[str, Any], source: str) -> float | None:
    """The checkpoint config's mask ``threshold`` (``TrainConfig.threshold``: 0.5 unless a
    run set another through the training API; None: not recorded).

    Raises:
        ModelError: it is not a number strictly between 0 and 1.
    """
    value = config.get("threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise _malformed(source, "threshold", value, "a number between 0 and 1")
    return float(value)


def export_size_px(
    config: dict[str, Any],
    size_px: int | None,
    multiple: int = 16,
    *,
    allow_scale_mismatch: bool = False,
    source: str = "the checkpoint",
) -> int:
    """The input size to export a checkpoint at: the face-crop size it was trained on.

    The kiosk crops each face at the model's input size, so that size sets the face scale
    (pixels per millimetre) the model sees; a model trained on 256 px face crops and
    exported at 640 sees faces 2.5x larger than it learned and scores them differently.

    Args:
        config: the checkpoint's training config (``face_crop_px``: the ``wds-edge label
            --crop-size`` of its data; absent or None: unknown).
        size_px: the size asked for, or None for the trained one (640 where unknown).
        multiple: the network's input-size multiple (16, 32 with the space_to_depth stem).
        allow_scale_mismatch: accept a ``size_px`` other than the trained one (logged).
        source: how messages name the checkpoint.

    Raises:
        ScaleMismatchError: ``size_px`` differs from the trained face-crop size and
            ``allow_scale_mismatch`` is false.
        InvalidInputError: no size given and the trained one is not a multiple of
            ``multiple`` (the network cannot take it).
    """
    face_px = _config_face_crop_px(config, source)
    if size_px is None:
        if face_px is None:
            return DEFAULT_INPUT_SIZE_PX
        if face_px % multiple:
            lower = max(multiple, face_px // multiple * multiple)
            raise InvalidInputError(
                f"{source} was trained on {face_px} px face crops, but the network's input "
                f"side must be a multiple of {multiple}; pass --size {lower} or "
                f"{lower + multiple} with --allow-scale-mismatch (a small scale change), or "
                f"label at a multiple of {multiple} (wds-edge label --crop-size) and train again"
            )
        return int(face_px)
    if face_px is not None and size_px != face_px:
        ratio = size_px / face_px
        if not allow_scale_mismatch:
            raise ScaleMismatchError(
                f"--size {size_px} differs from the {face_px} px face crops {source} was "
                f"trained on: the kiosk crops faces at the model's input size, so it would show "
                f"the model faces at {ratio:.2f}x the scale it learned and its wrinkle scores "
                f"would shift. Leave out --size (the default is {face_px}), train on labels made "
                f"with 'wds-edge label --crop-size {size_px}', or pass --allow-scale-mismatch to "
                "export at this size anyway"
            )
        logger.warning(
            "exporting at %d px, %.2fx the %d px face crops %s was trained on "
            "(--allow-scale-mismatch): its scores will differ from the trained model's",
            size_px, ratio, face_px, source,
        )  # fmt: skip
    return int(size_px)


#: The training augmentation profiles (``wds-edge train --augment``) that show the model grey
#: (mono / IR camera) faces: ``kiosk``'s camera effects include a grey sensor.
GREY_AUGMENT_PROFILES = ("kiosk",)


def check_grey_input(config: dict[str, Any], source: str = "the checkpoint") -> None:
    """Refuse to mark a model as trained for grey input (``grey_input_supported``) unless its
    training config says it saw grey faces (``augment`` in :data:`GREY_AUGMENT_PROFILES`).

    A colour model gives a grey face a near-zero score; marked grey-capable, the analyzer
    would report that score instead of the status ``needs_colour_camera``.

    Raises:
        InvalidInputError: the recorded augmentation is another profile, or none is recorded.
    """
    from wds_edge_train.config import legacy_augment

    augment = config.get("augment")
    profile = legacy_augment(augment) if isinstance(augment, (bool, str)) else None
    if profile in GREY_AUGMENT_PROFILES:
        return
    trained = (
        f"was trained with --augment {profile}, which shows it no grey faces"
        if profile is not None
        else "does not record its augmentation (trained by an older wds-edge, or not by "
        "wds-edge train)"
    )
    raise InvalidInputError(
        f"--grey-input (grey_input_supported) marks the model as trained for grey (mono / IR "
        f"camera) faces, but {source} {trained}: a colour model scores a grey face near zero, "
        "which the analyzer would then report instead of the status needs_colour_camera. "
        "Train with --augment kiosk (its camera effects include a grey sensor), or leave out "
        "--grey-input"
    )


def trained_on_whole_photos(training: dict[str, Any]) -> bool:
    """Were a checkpoint's labels whole photos (``wds-edge label --rough`` without
    ``--crop-faces``), not the kiosk's face crops?

    The checkpoint records no face-crop size for them (``face_crop_px`` None, as for data
    not written by ``wds-edge label``); the ``labels.json`` of the data folder it records
    (``training["data"]["path"]``) says which, when that folder is still there.

    Args:
        training: the checkpoint's training config, or an exported model's ``training``
            metadata (both hold ``data``).

    Returns:
        True only where that ``labels.json`` is readable and says so; False otherwise
        (face crops, other data, a folder that is gone or unreadable).
    """
    import json

    from wds_edge_train.labeling.runner import SUMMARY_NAME

    data = training.get("data")
    path = data.get("path") if isinstance(data, dict) else None
    if not isinstance(path, str) or not path:
        return False
    try:
        doc = json.loads((Path(path) / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    options = doc.get("options") if isinstance(doc, dict) else None
    # as labelled_face_crop_px reads it: only --auto and --crop-faces label face crops
    return isinstance(options, dict) and doc.get("mode") != "auto" and not options.get("crop_faces")


def _batch_dim(batch: BatchMode | int) -> int:
    """-1 for a dynamic batch, else the fixed batch size."""
    parsed = parse_batch(batch)
    return -1 if parsed == "dynamic" else int(parsed)


def _to_onnx_bytes(
    graph: InferenceGraph, example: torch.Tensor, opset: int, dynamic: bool, exporter: Exporter
) -> bytes:
    buffer = io.BytesIO()
    if exporter == "dynamo":
        require("onnxscript", "the dynamo ONNX exporter")
        dynamic_shapes = ({0: torch.export.Dim("batch", min=1, max=256)},) if dynamic else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            program = torch.onnx.export(
                graph,
                (example,),
                dynamo=True,
                external_data=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamic_shapes=dynamic_shapes,
                verbose=False,
            )
        program.save(buffer)
        return buffer.getvalue()
    dynamic_axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic else None
    with warnings.catch_warnings():
        # The tracer warns about python ints taken from shapes in the model's input
        # checks; those are static for a given export size and are meant to be.
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        # ... and that strided Slices (from reflect padding) are not folded: harmless.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        # Chosen on purpose (see the module docstring); the deprecation is known.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*")
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript")
        torch.onnx.export(
            graph,
            (example,),
            buffer,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def _simplify(model: onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if ok:
            return simplified, f"onnxsim {onnxsim.__version__}"
        logger.warning("onnxsim could not validate the simplified model; trying onnxslim")
    except Exception as exc:  # onnxsim is a native extension; any failure -> fallback
        logger.warning("onnxsim unavailable or failed (%s); trying onnxslim", exc)
    try:
        import onnxslim

        return onnxslim.slim(model), f"onnxslim {onnxslim.__version__}"
    except Exception as exc:
        logger.warning("onnxslim unavailable or failed (%s); keeping the unsimplified graph", exc)
    return model, "none"


def _check_self_contained(model: onnx.ModelProto) -> None:
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelError(f"export produced external data for '{init.name}'; expected one file")


def write_onnx(model: onnx.ModelProto, out_path: str | Path) -> Path:
    """Check and write an ONNX model atomically as one file (weights inside)."""
    _check_self_contained(model)
    onnx.checker.check_model(model)
    return write_bytes_atomic(out_path, model.SerializeToString())


def export_model(
    model: WrinkleUNet,
    out_path: str | Path,
    *,
    input_size_px: int = 640,
    opset: int | None = None,
    batch: BatchMode | int = 1,
    texture_in_graph: bool = True,
    simplify: bool = True,
    metadata_extra: dict[str, Any] | None = None,
    training_summary: dict[str, Any] | None = None,
    exporter: Exporter = "torchscript",
) -> ModelMetadata:
    """Export a :class:`WrinkleUNet` as an ONNX file with wds-edge metadata.

    Args:
        model: the network (any mode; exported in eval mode, its mode is restored).
        out_path: the ``.onnx`` file to write (atomically).
        input_size_px: square input size S; a multiple of 16.
        opset: ONNX opset within the exporter's :data:`OPSET_RANGES`; None:
            :data:`DEFAULT_OPSETS` (17 for the tracer: what TensorRT 10 and ONNX Runtime
            >= 1.14 handle; 18 for dynamo). The metadata records the opset the file declares.
        batch: ``1`` / ``"1"``, ``"dynamic"`` (batch axis named "batch") or a fixed N.
        texture_in_graph: input RGB [0, 255] with Eq. 1 inside the graph (True), or
            the 4-channel ``[R, G, B, T] / 255`` input (False).
        simplify: run onnxsim (onnxslim fallback).
        metadata_extra: ModelMetadata fields to set (``threshold``, ``model_name``, ...).
        training_summary: stored as metadata ``training`` (data, fold, metrics, ...).
        exporter: ``"torchscript"`` (default, the tracer) or ``"dynamo"`` (torch.export;
            needs onnxscript); recorded as ``architecture.exporter``.

    Returns:
        The metadata written into the file's ``metadata_props``.

    Raises:
        InvalidInputError: bad size / batch / channel count / opset.
        ModelError: the exported graph is not a valid single-file ONNX model.
    """
    # 32 with the space_to_depth stem
    check_size_px(input_size_px, model.size_multiple, model.stem, name="input_size_px")
    if model.in_channels != 4:
        raise InvalidInputError(
            f"the model must take 4 channels [R,G,B,T], has {model.in_channels}"
        )
    if exporter not in EXPORTERS:
        raise InvalidInputError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    opset = check_opset(DEFAULT_OPSETS[exporter] if opset is None else opset, exporter)
    n = _batch_dim(batch)
    channels = 3 if texture_in_graph else 4
    was_training = model.training
    graph = InferenceGraph(model, texture_in_graph).eval()
    try:
        example = torch.zeros(max(n, 1), channels, input_size_px, input_size_px)
        raw = _to_onnx_bytes(graph, example, opset, dynamic=n < 1, exporter=exporter)
    finally:
        model.train(was_training)
    proto = onnx.load_from_string(raw)
    tool = "none"
    if simplify:
        proto, tool = _simplify(proto)
    macs = conv_macs(proto)
    # the opset the file declares (an exporter may write another than it was asked for)
    written_opset = next(
        (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), opset
    )
    fields: dict[str, Any] = {
        "producer_version": wds_edge.__version__,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": [n, channels, input_size_px, input_size_px],
        "value_range": (0.0, 255.0) if texture_in_graph else (0.0, 1.0),
        "preprocessing": Preprocessing.TEXTURE_IN_GRAPH
        if texture_in_graph
        else Preprocessing.TEXTURE_OUTSIDE,
        "architecture": ArchitectureInfo(
            base_channels=model.base_channels,
            activation=model.activation,
            in_channels=model.in_channels,
            parameters=count_parameters(model),
            gflops=round(2 * macs / 1e9, 3),
            gflops_definition="2 x conv MACs per image, counted from the ONNX graph",
            opset=written_opset,
            exporter=exporter,
            simplifier=tool,
            out_channels=model.out_channels,
            dice=dice_for(model.out_channels),
            input_norm=model.input_norm,
            input_mean_std=list(INPUT_NORMS[model.input_norm]),
            stem=model.stem,
        ),
        "training": training_summary or {},
    }
    extra = dict(metadata_extra or {})
    if isinstance(extra.get("architecture"), dict):
        # merge (e.g. the training loss) into the measured architecture, never replace it
        extra["architecture"] = {**fields["architecture"].model_dump(), **extra["architecture"]}
    fields.update(extra)
    metadata = ModelMetadata(**fields)
    set_metadata(proto, metadata)
    write_onnx(proto, out_path)
    logger.info("exported %s (%s, %.1f GFLOPs)", out_path, tool, 2 * macs / 1e9)
    return metadata


def set_metadata(
    proto: onnx.ModelProto, metadata: ModelMetadata, *, omit: Sequence[str] = ()
) -> None:
    """Replace the wds-edge keys of ``proto.metadata_props`` with ``metadata``; the keys
    ``omit`` are removed and not written (fields the writer cannot know)."""
    props = {k: v for k, v in metadata.to_props().items() if k not in omit}
    # onnxsim records its own settings as metadata_props; they are noise to a reader.
    keep = [
        (p.key, p.value)
        for p in proto.metadata_props
        if p.key not in props and p.key not in omit and not p.key.startswith("onnxsim.")
    ]
    del proto.metadata_props[:]
    for key, value in [*keep, *props.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "wds-edge"
    proto.producer_version = wds_edge.__version__


def read_metadata(onnx_path: str | Path) -> ModelMetadata:
    """The :class:`ModelMetadata` stored in an ONNX file (raises ModelError if absent)."""
    proto = load_onnx_proto(onnx_path, external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    return ModelMetadata.from_props(props, source=str(onnx_path))


def annotate_onnx(
    onnx_path: str | Path,
    out_path: str | Path | None = None,
    *,
    fields: dict[str, Any] | None = None,
) -> ModelMetadata:
    """Add (or update) wds-edge metadata on an existing ONNX file.

    Input / output names and the input shape are read from the graph; ``fields``
    overrides anything (``threshold``, ``preprocessing``, ``model_name``...). A
    3-channel input is taken as texture-in-graph RGB [0, 255], 4 channels as
    texture-outside [0, 1], unless ``fields`` says otherwise. A file without wds-edge
    metadata gets no ``architecture`` entry unless ``fields`` gives one: its base width,
    activation and loss cannot be read from a graph (readers then see the defaults).

    The graph is checked as the runtime checks it on load
    (:func:`wds_edge.runtime.base.check_graph`) before anything is written: a graph no
    backend would run is refused here, not on the kiosk.

    Raises:
        ModelError: the file is missing or not ONNX, or the graph does not have one 4-D
            input of a fixed square size and one output of one channel at the input's
            height and width.
    """
    proto = load_onnx_proto(onnx_path)
    inputs = [
        i for i in proto.graph.input if i.name not in {x.name for x in proto.graph.initializer}
    ]
    if len(inputs) != 1 or len(proto.graph.output) != 1:
        raise ModelError(
            f"{onnx_path}: expected one input and one output, found "
            f"{[i.name for i in inputs]} -> {[o.name for o in proto.graph.output]}"
        )
    dims = [d.dim_value if d.dim_value > 0 else -1 for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4:
        raise ModelError(f"{onnx_path}: input '{inputs[0].name}' is {len(dims)}-D, expected NCHW")
    if -1 in dims[2:]:
        raise ModelError(
            f"{onnx_path}: input '{inputs[0].name}' is {dims} (-1: dynamic), but wds-edge feeds "
            "a model face crops of one fixed square size (its metadata's input size): "
            "re-export at a fixed square size (e.g. without dynamic height / width axes)"
        )
    old: dict[str, Any] = {}
    props = {p.key: p.value for p in proto.metadata_props}
    if props.get("producer") == "wds-edge":
        old = read_metadata(onnx_path).model_dump()
        if "architecture" not in props:  # annotated before: still unknown, not the defaults
            old.pop("architecture")
    in_graph = dims[1] == 3
    data: dict[str, Any] = {
        **old,
        "producer_version": wds_edge.__version__,
        "input_name": inputs[0].name,
        "output_name": proto.graph.output[0].name,
        "input_shape": dims,
        "preprocessing": old.get("preprocessing")
        or (Preprocessing.TEXTURE_IN_GRAPH if in_graph else Preprocessing.TEXTURE_OUTSIDE),
        "value_range": old.get("value_range") or ((0.0, 255.0) if in_graph else (0.0, 1.0)),
    }
    data.update(fields or {})
    metadata = ModelMetadata(**data)
    metadata.check_supported(str(onnx_path))
    outputs = list(proto.graph.output)
    if not all(o.type.tensor_type.HasField("shape") for o in outputs):
        outputs = list(onnx.shape_inference.infer_shapes(proto).graph.output)
    check_graph(
        metadata, str(onnx_path), [_graph_tensor(inputs[0])], [_graph_tensor(o) for o in outputs],
        fix="Annotating writes metadata only, it cannot change the graph: export the model "
        "again with one N x 1 x H x W probability output at its input's height and width",
    )  # fmt: skip
    unknown = () if "architecture" in data else ("architecture",)
    set_metadata(proto, metadata, omit=unknown)
    write_onnx(proto, out_path or onnx_path)
    return metadata


def _graph_tensor(value: onnx.ValueInfoProto) -> GraphTensor:
    """A graph input / output as :func:`~wds_edge.runtime.base.check_graph` takes it."""
    tensor = value.type.tensor_type
    shape = (
        tuple(d.dim_value if d.dim_value > 0 else -1 for d in tensor.shape.dim)
        if tensor.HasField("shape")
        else ()
    )
    float32 = tensor.elem_type == onnx.TensorProto.FLOAT
    dtype = "float32" if float32 else onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
    return GraphTensor(value.name, shape, dtype)


def _code_provenance(provenance: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The git state of a run's starts (``config["provenance"]``, one entry per start /
    resume, in order) for the metadata's ``training``.

    * ``commits``: every commit the starts ran, once each, in the order first used (None:
      a start whose commit is unknown, e.g. run from an installed wheel);
    * ``commit``: the first of them, the code the run started from (``commits[-1]`` is the
      code of its last resume);
    * ``commit_dirty``: True when any start had local changes, None when no start did but
      the state of one of them is unknown, else False.
    """
    commits = list(dict.fromkeys(p.get("commit") for p in provenance))
    dirty = [p.get("dirty") for p in provenance]
    any_dirty = True if any(d is True for d in dirty) else None if None in dirty else False
    return {"commit": commits[0], "commits": commits, "commit_dirty": any_dirty}


def export_checkpoint(
    checkpoint_path: str | Path,
    out_path: str | Path,
    *,
    parity_images: Sequence[str | Path] | None = None,
    landmarker_path: str | Path | None = None,
    input_size_px: int | None = None,
    allow_scale_mismatch: bool = False,
    grey_input: bool = False,
    **kwargs: Any,
) -> ExportReport:
    """Export a training checkpoint, with its training summary and a parity report.

    Args:
        checkpoint_path: a ``wds_edge_train.checkpoint`` file.
        out_path: the ``.onnx`` to write; an existing file there is replaced only after
            the new model was written and its parity report passed.
        parity_images: face photos to compare PyTorch and ONNX Runtime on (through the
            kiosk's landmarks -> crop path); None or empty skips the parity report.
        input_size_px: the model's input size (the kiosk's face-crop size); None: the
            face-crop size the checkpoint was trained on (``face_crop_px``, recorded in the
            metadata's ``training``), 640 where that is unknown (:func:`export_size_px`).
        allow_scale_mismatch: export at an ``input_size_px`` other than the trained
            face-crop size (otherwise :class:`ScaleMismatchError`).
        grey_input: mark the model as trained for grey (mono / IR camera) input
            (metadata ``grey_input_supported``); refused unless the checkpoint was trained
            with a profile that shows it grey faces (:func:`check_grey_input`).
        **kwargs: :func:`export_model` keyword arguments. The metadata's ``threshold`` is
            the checkpoint config's (``TrainConfig.threshold``: 0.5 unless the run set
            another through the training API) unless ``metadata_extra`` sets one.

    The metadata's ``training`` holds the checkpoint's training summary: data, fold, epochs,
    recipe, metrics, ..., the git state of the code of every start of the run (``commit``,
    ``commits``, ``commit_dirty``: :func:`_code_provenance`) and the devices it used.

    Returns:
        An :class:`ExportReport`; ``report.parity`` is also stored in the metadata.

    Raises:
        ModelError: the parity check failed (:func:`~wds_edge_export.parity.check_parity`);
            a model already at ``out_path`` is left as it was.
        ScaleMismatchError: ``input_size_px`` is not the trained face-crop size.
        InvalidInputError: ``grey_input`` for a checkpoint not trained on grey faces; a
            parity photo that cannot be read or decoded (before anything is exported).
        ModelError: the checkpoint's config is malformed (``face_crop_px`` not a whole
            number, ``threshold`` not between 0 and 1).
    """
    from wds_edge_export.parity import check_parity_photos
    from wds_edge_train.checkpoint import load_checkpoint

    check_parity_photos(parity_images or [])  # an unreadable photo: before the export
    ckpt = load_checkpoint(checkpoint_path, map_location="cpu")
    if input_size_px is not None:  # before the scale check: a size the network cannot take
        check_size_px(input_size_px, ckpt.model.size_multiple, ckpt.model.stem)
    config = dict(getattr(ckpt, "config", {}) or {})
    metrics = dict(getattr(ckpt, "metrics", {}) or {})
    size_px = export_size_px(
        config, input_size_px, ckpt.model.size_multiple,
        allow_scale_mismatch=allow_scale_mismatch, source=str(checkpoint_path),
    )  # fmt: skip
    if grey_input:  # before anything is exported or written
        check_grey_input(config, str(checkpoint_path))
    trained_threshold = _config_threshold(config, str(checkpoint_path))
    summary = {
        "checkpoint": Path(checkpoint_path).name,
        "epoch": getattr(ckpt, "epoch", None),
        **{
            k: config[k]
            for k in (
                "data",
                "fold",
                "folds",
                "epochs",
                "crop_size",
                "seed",
                "recipe",
                "augment",
                "activation",
                "amp",
            )
            if k in config
        },  # fmt: skip
        # the face scale the model learned (None: unknown); the input size should match it
        "face_crop_px": config.get("face_crop_px"),
        "loss": config.get("loss"),
        "dice": ckpt.dice,
        "input_norm": ckpt.model.input_norm,
        "metrics": metrics,
    }
    provenance = config.get("provenance") or []
    if provenance:  # the code of every start / resume of the run
        summary.update(_code_provenance(provenance))
    if provenance and all("device" in p for p in provenance):
        # what the run (and its resumptions) really used; "amp" above is the request
        summary["devices"] = sorted({p["device"] for p in provenance})
        summary["amp_used"] = any(p.get("amp") for p in provenance)
    kwargs.setdefault("training_summary", summary)
    extra = dict(kwargs.pop("metadata_extra", None) or {})
    if grey_input:
        extra["grey_input_supported"] = True
    if trained_threshold is not None:  # the threshold it was trained and validated at
        extra.setdefault("threshold", trained_threshold)  # an explicit --threshold wins
    if config.get("loss") in ("plain", "ds", "wds"):
        extra.setdefault("architecture", {"loss": config["loss"]})
    # Export and check beside the destination; a model already at out_path is replaced
    # only once the new one passed its parity check (a failed export leaves it as it was).
    tmp_path = temporary_path(out_path, suffix=".onnx")
    try:
        metadata = export_model(
            ckpt.model, tmp_path, input_size_px=size_px, metadata_extra=extra, **kwargs
        )
        parity: dict[str, Any] = {}
        if parity_images:
            parity = parity_report(
                ckpt.model, tmp_path, parity_images, metadata=metadata,
                landmarker_path=landmarker_path,
            )  # fmt: skip
            check_parity(parity)  # a failed check keeps the model already at out_path
            metadata = annotate_onnx(tmp_path, fields={"parity": parity})
        os.replace(tmp_path, out_path)
        fsync_dir(Path(out_path).parent)
    finally:
        Path(tmp_path).unlink(missing_ok=True)
    return ExportReport(
        path=Path(out_path),
        metadata=metadata,
        onnx_sha256=sha256_file(out_path),
        size_bytes=Path(out_path).stat().st_size,
        parity=parity,
    )
