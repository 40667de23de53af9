"""OpenVINO backend: x86 and ARM CPUs (FP32, BF16, FP16, INT8), Intel iGPU / NPU passed through.

The Eq. 1 texture map (a division by a local mean) loses about one grey level in
BF16 and flips thin wrinkle pixels, while the U-Net itself tolerates BF16. OpenVINO's
per-node "keep FP32" hints do not hold that line, so whenever the network runs in a
precision other than f32 (BF16 / FP16) the model is *split* at the texture output (the
``[R, G, B, T]`` tensor that feeds the first convolution) into two compiled models chained
per call:

* ``texture``: input RGB -> ``[R, G, B, T]``, compiled with ``INFERENCE_PRECISION_HINT=f32``;
* ``network``: ``[R, G, B, T]`` -> wrinkle probability, compiled in BF16 / FP16.

FP32 and INT8 compile the network with ``INFERENCE_PRECISION_HINT=f32``: the NNCF INT8
model runs its quantized layers in INT8 and everything NNCF was told to keep out of INT8 -
the texture subgraph, first conv, last decoder block, head - in f32 (not in BF16, the CPU's
default on BF16 CPUs, which is not what the gate measured).

Where the texture subgraph runs (``texture=``): by default on the host
(:func:`wds_edge.model.preprocessing.texture_boundary`: NumPy + OpenCV in float32, 2.5-3 ms
for a 640 crop on the AMX Xeon of issue 25) and OpenVINO compiles only the network.
OpenVINO's CPU kernels for this one-channel subgraph (grey, two 21-tap convolutions,
division, the concat and its reorders) took 7-10 ms of a 35-40 ms BF16 call on an AMX Xeon
(issue 25). At load the host result is compared once with the model's own subgraph (compiled
in f32) on a synthetic probe crop; a model whose subgraph differs (other texture parameters,
another graph) keeps its subgraph in OpenVINO. ``texture="openvino"`` keeps it there always:
one compiled model for f32 hints, the two-part split above otherwise.

The cut is made with OpenVINO's own model API (no ``onnx`` package on the kiosk;
:mod:`wds_edge.runtime.openvino_graph`).
A precision the device cannot run natively (``OPTIMIZATION_CAPABILITIES`` does not
list it) is refused with the reason: OpenVINO would otherwise emulate or silently
upconvert it. Compiled models go to OpenVINO's model cache (``CACHE_DIR``), so a
kiosk restart does not recompile: one folder per ``INFERENCE_PRECISION_HINT``
(``<cache>/f32``, ``<cache>/bf16``, ``<cache>/f16``), because OpenVINO's cache key does
not always tell the hints apart (on a CPU with AVX512-FP16 an FP32 load after an FP16 one
ran the cached FP16 kernels, reported as FP32).

Model files: an ``.onnx`` exported by ``wds-edge export`` (FP32), or an OpenVINO IR
``.xml`` / ``.bin`` written by ``wds-edge quantize --format openvino`` (INT8), which
carries the same metadata in its ``rt_info`` plus the sha256 of the FP32 model it was
made from and its accuracy-gate figures. A Q/DQ ``.onnx`` (``wds-edge quantize --format
qdq``) runs as the INT8 IR does: its quantized layers in INT8, the rest in f32
(``precision`` ``int8``, or ``fp32``, which is the same; BF16 / FP16 are refused), and is
reported as ``int8``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import BackendError, InvalidInputError, MissingDependencyError, ModelError
from wds_edge.model.files import require_model_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.preprocessing import Preprocessing, texture_boundary
from wds_edge.runtime.base import (
    Backend,
    GraphTensor,
    check_fixed_batch,
    check_graph,
    check_num_threads,
    validate_batch,
)
from wds_edge.runtime.gate import gate_record_problem, read_gate_record, warn_unless_gated
from wds_edge.runtime.openvino_graph import split_at_texture
from wds_edge.runtime.quantized import (
    model_precision,
    read_onnx_file_info,
    warn_unless_qdq_gated,
)

__all__ = [
    "OPENVINO_PRECISIONS",
    "OpenVinoBackend",
    "int8_companion",
    "int8_model_path",
    "model_metadata_props",
    "native_precisions",
    "openvino_cache_dir",
    "read_ir_info",
    "read_openvino_model",
]

logger = logging.getLogger(__name__)

#: Precisions :class:`OpenVinoBackend` runs (``auto`` is resolved by ``load_backend``).
OPENVINO_PRECISIONS = ("fp32", "bf16", "fp16", "int8")
#: ``OPTIMIZATION_CAPABILITIES`` entry a precision needs on the device.
_CAPABILITY = {"fp32": "FP32", "bf16": "BF16", "fp16": "FP16", "int8": "INT8"}
#: INFERENCE_PRECISION_HINT of the network part per precision (INT8: the unquantized
#: layers in f32, never the CPU's default bf16).
_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
#: rt_info section of the IR files wds-edge writes.
RT_INFO_SECTION = "wds_edge"
#: Where the texture subgraph of a ``TEXTURE_IN_GRAPH`` model may run (``None``: auto).
TEXTURE_PLACES = ("host", "openvino")
#: Largest |host - graph| difference of the texture map (grey levels of 255) the load-time
#: check accepts: float32 rounding of the two implementations is ~1e-4.
TEXTURE_CHECK_TOLERANCE = 0.01


def openvino_cache_dir() -> Path:
    """Default folder of OpenVINO's compiled-model cache (user cache, per OpenVINO version)."""
    import platformdirs

    ov = require("openvino", "the OpenVINO backend")
    return Path(platformdirs.user_cache_dir("wds-edge")) / "openvino" / ov.__version__.split("-")[0]


#: Default cache folders whose blobs of the shared layout were looked for in this process.
_SWEPT_ROOTS: set[Path] = set()


def _remove_shared_layout_blobs(root: Path) -> None:
    """Delete the compiled models (``*.blob``) the shared cache layout left at the root of
    the version folder :func:`openvino_cache_dir`: since each precision hint compiles into a
    folder of its own they are never read again. Once per folder and process, best effort:
    a blob that cannot be removed is left (logged), a load never fails on it."""
    if root in _SWEPT_ROOTS:
        return
    _SWEPT_ROOTS.add(root)
    removed = 0
    try:
        for blob in root.glob("*.blob"):
            if blob.is_file():
                blob.unlink()
                removed += 1
    except OSError as exc:
        logger.debug("the old OpenVINO cache files in %s stay (%s)", root, exc)
    if removed:
        logger.info(
            "removed %d compiled model(s) of the old shared OpenVINO cache layout from %s",
            removed, root,
        )  # fmt: skip


def int8_model_path(model_path: str | os.PathLike[str]) -> Path:
    """Where ``wds-edge quantize --format openvino`` puts the INT8 IR of an FP32 model.

    ``m.onnx`` -> ``m.int8.xml`` (and ``m.int8.bin``) in the same folder.
    """
    path = Path(model_path)
    return path.with_name(path.stem + ".int8.xml")


def int8_companion(model_path: str | os.PathLike[str]) -> tuple[Path | None, str]:
    """The INT8 IR next to an FP32 model, if ``auto`` may consider it.

    It may when it is an INT8 IR written by wds-edge, quantized from *this* FP32 file (the
    sha256 it records is the model's: an IR left over from an earlier model - e.g. a
    bundled INT8 after the bundled FP32 model was replaced - is stale) and its accuracy gate
    on held-out crops passed when it was made (``allow_accuracy_loss`` writes failed ones).

    Returns:
        ``(path, "")``, or ``(None, why)`` (``why`` is empty when there is no IR at all).
    """
    from wds_edge.io import sha256_file

    ir = int8_model_path(model_path)
    if not ir.is_file():
        return None, ""
    try:
        info = read_ir_info(read_openvino_model(_core(), ir))
    except ModelError as exc:
        return None, f"{ir} is unreadable ({exc}); ignored"
    if info.get("precision") != "int8":
        return None, f"{ir} is not an INT8 IR written by wds-edge; ignored"
    want, have = info.get("source_sha256", ""), sha256_file(model_path)
    if want != have:
        return None, (
            f"{ir} is stale: it was quantized from an FP32 model with sha256 {want[:12]}..., "
            f"the model run is {have[:12]}...; ignored - rebuild it (`python "
            "scripts/make_bundled_int8.py` for the bundled model, `wds-edge quantize "
            "--format openvino` for others)"
        )
    problem = gate_record_problem(read_gate_record(info.get("gate")))
    if problem:
        return None, f"{ir} {problem}; ignored"
    return ir, ""


def _openvino_reason(exc: BaseException) -> str:
    """OpenVINO's own words from its exception, without the C++ source locations (its
    ``Exception from ...cpp:84:`` / ``Check '...' failed at ...`` lines), on one line."""
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [
        line for line in lines
        if line and not line.startswith("Exception from ") and not line.startswith("Check '")
    ]  # fmt: skip
    return "; ".join(kept) or (lines[0] if lines else type(exc).__name__)


def read_openvino_model(core: Any, path: str | os.PathLike[str]) -> Any:
    """``core.read_model(path)``, or a ModelError naming the file and what is wrong with it.

    Raises:
        ModelError: an IR ``.xml`` without its ``.bin`` beside it (named), malformed XML, an
            ONNX file with an op OpenVINO cannot convert, or a file that is no model at all.
    """
    path = Path(path)
    weights = path.with_suffix(".bin")
    try:
        return core.read_model(str(path))
    except RuntimeError as exc:
        reason = _openvino_reason(exc)
        no_bin = path.suffix.lower() == ".xml" and not weights.is_file()
        if no_bin and "bin file" in reason:
            raise ModelError(
                f"{path}: OpenVINO cannot read it: its weights file {weights} is missing (an IR "
                "is the .xml and the .bin beside it, with the same name); copy the .bin next to "
                f"it, or write both again (`wds-edge quantize --format openvino`) [{reason}]"
            ) from exc
        also = f" (and its weights file {weights} is missing)" if no_bin else ""
        raise ModelError(
            f"{path}: OpenVINO cannot read it as a model ({reason}){also}; pass an .onnx exported "
            "with `wds-edge export` or an IR .xml + .bin from `wds-edge quantize --format "
            "openvino`"
        ) from exc


def _core() -> Any:
    ov = require("openvino", "the OpenVINO backend")
    return ov.Core()


def native_precisions(device: str = "CPU", core: Any = None) -> list[str]:
    """Precisions ``device`` runs natively, from OpenVINO's ``OPTIMIZATION_CAPABILITIES``.

    E.g. ``["fp32", "bf16", "int8"]`` on a CPU with AVX512_BF16 or AMX and VNNI;
    ``["fp32", "int8"]`` on most Intel Core CPUs. A composite device (``AUTO``) reports
    the union of what its members list.

    Raises:
        BackendError: OpenVINO does not know the device here.
    """
    core = core or _core()
    available = list(core.available_devices)
    names = [device]
    if device.split(":")[0] in ("AUTO", "MULTI", "HETERO"):
        names = available
    caps: set[str] = set()
    for name in names:
        # A plugin answers for its device class even when no such device is present.
        present = name in available or name in {d.split(".")[0] for d in available}
        try:
            if not present:
                raise RuntimeError("not present")
            caps |= {str(c).upper() for c in core.get_property(name, "OPTIMIZATION_CAPABILITIES")}
        except RuntimeError as exc:
            raise BackendError(
                f"OpenVINO has no device {name!r} here (available: {available}); "
                "pass --device CPU, or install the driver of the Intel GPU / NPU"
            ) from exc
    return [p for p, cap in _CAPABILITY.items() if cap in caps]


def read_ir_info(model: Any) -> dict[str, str]:
    """The ``wds_edge`` rt_info section of an IR (empty dict when there is none)."""
    if not model.has_rt_info([RT_INFO_SECTION]):
        return {}
    info = {}
    for key in ("metadata", "source_sha256", "precision", "gate", "calibration"):
        if model.has_rt_info([RT_INFO_SECTION, key]):
            info[key] = str(model.get_rt_info([RT_INFO_SECTION, key]).astype(str))
    return info


def model_metadata_props(model: Any, source: str) -> dict[str, str]:
    """wds-edge metadata of an OpenVINO model read from ONNX (``framework``) or our IR."""
    info = read_ir_info(model)
    if "metadata" in info:
        try:
            return dict(json.loads(info["metadata"]))
        except json.JSONDecodeError as exc:
            raise ModelError(f"{source}: rt_info wds_edge/metadata is not JSON: {exc}") from exc
    props: dict[str, str] = {}
    if model.has_rt_info(["framework"]):
        for key in ModelMetadata.model_fields:
            if model.has_rt_info(["framework", key]):
                props[key] = str(model.get_rt_info(["framework", key]).astype(str))
    return props


class OpenVinoBackend(Backend):
    """Run a wds-edge model with OpenVINO (see the module docstring).

    Args:
        model_path: FP32 ``.onnx`` (``wds-edge export``), an INT8 IR ``.xml``
            (``wds-edge quantize --format openvino``) or a Q/DQ INT8 ``.onnx`` (``wds-edge
            quantize --format qdq``). With ``precision="int8"`` and an FP32 ``.onnx`` path,
            the IR next to it (:func:`int8_model_path`) is used.
        precision: ``"fp32"``, ``"bf16"``, ``"fp16"`` (GPU / NPU, or CPUs with AMX-FP16)
            or ``"int8"``.
        device: OpenVINO device: ``"CPU"`` (default), ``"GPU"`` / ``"NPU"`` (Intel iGPU /
            NPU kiosks) or ``"AUTO"``; passed through as given.
        num_threads: CPU inference threads (``INFERENCE_NUM_THREADS``); ``None``: all cores.
        cache_dir: OpenVINO's compiled-model cache folder (one subfolder per precision
            hint: ``f32``, ``bf16``, ``f16``); ``None``: :func:`openvino_cache_dir`, whose
            compiled models of the older shared layout (``*.blob`` at its root, never read
            now) are deleted at the first load; ``False``: no cache. A ``CACHE_DIR`` in
            ``properties`` is used as it is.
        properties: further ``compile_model`` properties, applied to every compiled part
            after the backend's own (``PERF_COUNT``, ``ENABLE_CPU_PINNING``, ``NUM_STREAMS``;
            for profiling and measuring settings: ``scripts/profile_openvino.py``).
        texture: where the Eq. 1 texture subgraph runs: ``"host"`` (NumPy / OpenCV on the
            calling thread; OpenVINO compiles the network only), ``"openvino"`` (inside
            OpenVINO: one compiled model for FP32 / INT8, a separate f32 model for BF16 /
            FP16), or ``None``: the host when it matches the model's own subgraph at load
            (see the module docstring), else OpenVINO. Models without the subgraph
            (``texture_outside``) ignore it.

    Raises:
        ModelError: missing / unreadable file, no or unsupported metadata, a graph that
            does not match its metadata (:func:`~wds_edge.runtime.base.check_graph`, as ONNX
            Runtime checks it), an INT8 IR made from another FP32 model, ``int8`` without an
            INT8 model, a Q/DQ model asked for BF16 / FP16, or ``texture="host"`` for a model
            whose texture subgraph the host does not reproduce.
        BackendError: the precision is not native on the device (the message says which
            precisions are), the device is unknown, or compilation failed.
        MissingDependencyError: openvino is not installed.
    """

    name = "openvino"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        precision: str = "fp32",
        device: str = "CPU",
        num_threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None | bool = None,
        properties: dict[str, Any] | None = None,
        texture: str | None = None,
    ) -> None:
        ov = require("openvino", "the OpenVINO backend")
        self.model_path = Path(model_path)
        self._requests: list[Any] = []
        self._lock = threading.Lock()
        if precision not in OPENVINO_PRECISIONS:
            raise InvalidInputError(
                f"OpenVINO precision must be one of {', '.join(OPENVINO_PRECISIONS)} (or auto), "
                f"got {precision!r}"
            )
        if texture is not None and texture not in TEXTURE_PLACES:
            raise InvalidInputError(
                f"texture must be one of {', '.join(TEXTURE_PLACES)} or None (auto), "
                f"got {texture!r}"
            )
        num_threads = check_num_threads(num_threads)
        require_model_file(
            self.model_path,
            "pass an .onnx exported with `wds-edge export` or an INT8 .xml from "
            "`wds-edge quantize --format openvino`",
        )
        core = ov.Core()
        self.precision = precision
        self.device_name = str(device)
        native = native_precisions(self.device_name, core)
        if precision not in native:
            raise BackendError(
                f"OpenVINO {self.device_name} ({_device_label(core, self.device_name)}) cannot "
                f"run {precision.upper()} natively (its OPTIMIZATION_CAPABILITIES give "
                f"{', '.join(p.upper() for p in native)}); wds-edge does not emulate it - use "
                f"--precision {' or '.join(p for p in native if p != precision)}"
            )
        #: an INT8 Q/DQ ONNX (``wds-edge quantize --format qdq``): it runs as the INT8 IR does
        self.qdq = self.model_path.suffix.lower() == ".onnx" and (
            model_precision(self.model_path) == "int8"
        )
        path = self._resolve_path(precision)
        self.model_path = path
        whole = read_openvino_model(core, path)
        source = str(path)
        self.ir_info = read_ir_info(whole)
        self.metadata = ModelMetadata.from_props(model_metadata_props(whole, source), source=source)
        self.metadata.check_supported(source)
        #: the batch size the graph insists on (``wds-edge export --batch N``), or None
        self.fixed_batch = check_graph(  # before any reshape: the file's graph as it is
            self.metadata, source, _graph_tensors(whole.inputs, self.metadata.input_name),
            _graph_tensors(whole.outputs, self.metadata.output_name),
        )  # fmt: skip
        self._check_ir(precision, source)
        if self.qdq:  # its quantized layers INT8, the rest f32 (the int8 hint): it is INT8
            precision = self.precision = "int8"
            warn_unless_qdq_gated(source, read_onnx_file_info(path).metadata_props)
        elif self.ir_info.get("precision") == "int8":
            warn_unless_gated(source, read_gate_record(self.ir_info.get("gate")), fix=(
                "quantize it again until the gate passes (`wds-edge quantize --format openvino "
                "--onnx FP32_MODEL.onnx --calib CALIB_DIR --held-out HELD_OUT_DIR`, with more "
                "or other calibration crops)"
            ))  # fmt: skip
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if num_threads is not None:
            config["INFERENCE_NUM_THREADS"] = int(num_threads)
        config.update(properties or {})
        net_hint = _HINT[precision]
        #: the cache folder of each INFERENCE_PRECISION_HINT compiled here (empty: no cache)
        cache_folders: dict[str, Path] = {}
        if cache_dir is not False and "CACHE_DIR" not in config:
            default_root = cache_dir in (None, True)
            root = Path(cache_dir) if not default_root else openvino_cache_dir()
            # One folder per hint: OpenVINO's cache key does not always separate the hint
            # (a CPU with AVX512-FP16: FP16 compiled first, a later FP32 load ran the cached
            # FP16 kernels under an "FP32" label, and the other way round).
            try:
                for hint in dict.fromkeys(("f32", net_hint)):
                    cache_folders[hint] = root / hint
                    cache_folders[hint].mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a read-only home: compile every time
                cache_folders = {}
                logger.warning("OpenVINO model cache off (%s cannot be used: %s)", root, exc)
            if cache_folders and default_root:
                _remove_shared_layout_blobs(root)
        _, c, h, w = self.metadata.input_shape
        rows = self.fixed_batch or 1  # images per call: a fixed batch N runs N at once

        def load() -> Any:
            model = core.read_model(source)
            model.reshape([rows, c, h, w])  # static shape: faster CPU kernels; batches loop
            return model

        in_graph = self.metadata.preprocessing is Preprocessing.TEXTURE_IN_GRAPH
        #: True when the texture subgraph runs on the host (texture_boundary) for each call
        self.texture_on_host = False
        self._rgbt: np.ndarray | None = None

        def compile_parts(parts: list[tuple[Any, str]]) -> list[Any]:
            compiled = []
            for m, p in parts:
                part_config = {**config, "INFERENCE_PRECISION_HINT": p}
                if p in cache_folders:
                    part_config["CACHE_DIR"] = str(cache_folders[p])
                compiled.append(core.compile_model(m, self.device_name, part_config))
            return compiled

        try:
            split = None  # (texture subgraph, network), made once
            if in_graph and texture is None and net_hint == "f32":
                # FP32 runs the whole graph as it is: the host texture is only a speed-up,
                # so a graph that cannot be cut (no [R, G, B, T] Concat found, an OpenVINO
                # without opset 13) runs uncut instead of being refused
                try:
                    split = split_at_texture(core, load)
                except (ModelError, MissingDependencyError) as exc:
                    logger.warning("%s: the texture subgraph stays in OpenVINO: %s", source, exc)
                    texture = "openvino"
            if in_graph and texture != "openvino":
                split = split or split_at_texture(core, load)
                why = self._host_texture_mismatch(compile_parts([(split[0], "f32")])[0])
                if why and texture == "host":
                    raise ModelError(f"{source}: texture='host' is not possible: {why}")
                if why:
                    logger.warning("%s: the texture subgraph stays in OpenVINO: %s", source, why)
                else:
                    self.texture_on_host = True
            if self.texture_on_host:
                parts = [(split[1], net_hint)]
            elif in_graph and net_hint != "f32":
                # a network hint other than f32 would drag the texture out of f32: two models
                split = split or split_at_texture(core, load)
                parts = list(zip(split, ("f32", net_hint), strict=True))
            else:
                parts = [(load(), net_hint)]
            compiled = compile_parts(parts)
        except RuntimeError as exc:
            raise BackendError(
                f"OpenVINO could not compile {source} for {self.device_name} in "
                f"{precision.upper()}: {str(exc).splitlines()[0]}"
            ) from exc
        self._compiled = compiled
        #: the devices the compiled parts execute on (OpenVINO's ``EXECUTION_DEVICES``: what a
        #: composite device such as ``AUTO`` / ``HETERO:CPU`` resolved to); empty if unknown
        self.execution_devices = _execution_devices(compiled)
        #: INFERENCE_PRECISION_HINT asked of each compiled part (texture first when split)
        self.precision_hints = [hint for _, hint in parts]
        self._requests = [cm.create_infer_request() for cm in compiled]
        where = _device_label(core, self.device_name)
        texture_note = ""
        if self.texture_on_host:
            texture_note = ", texture FP32 on the host"
        elif len(parts) == 2:
            texture_note = ", texture FP32"
        if precision == "int8":  # NNCF kept the texture (and more) out of INT8: they run f32
            texture_note = ", unquantized layers FP32" + (
                ", texture FP32 on the host" if self.texture_on_host else ", texture FP32"
            )
        self.device = f"{where} (OpenVINO {self.device_name} {precision.upper()}{texture_note})"
        logger.info("loaded %s on %s", source, self.device)

    def _host_texture_mismatch(self, texture_part: Any) -> str:
        """Why the host's texture does not stand in for the model's subgraph ("" if it does).

        Runs the compiled f32 subgraph and :func:`texture_boundary` on one synthetic probe
        crop (:mod:`wds_edge.runtime.probe_inputs`) of the model's size and compares them.
        """
        from wds_edge.runtime.probe_inputs import synthetic_skin_crops

        _, _, h, w = self.metadata.input_shape
        if h != w:
            return f"the model input is not square ({h} x {w})"
        crop = synthetic_skin_crops(h, 1)[0]
        rgb = np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32)
        rows = np.repeat(rgb[None], self.fixed_batch or 1, axis=0)  # the compiled batch
        graph = np.asarray(texture_part.create_infer_request().infer({0: rows})[0])
        meta = self.metadata
        host = texture_boundary(rgb, meta.texture_sigma, meta.texture_ksize)
        if graph.shape != (len(rows), *host.shape):
            return f"its subgraph returns shape {graph.shape}, the host {host.shape}"
        diff = float(np.abs(graph[0] - host).max())
        if not diff <= TEXTURE_CHECK_TOLERANCE:
            return (
                f"the host texture differs from the model's subgraph by up to {diff:.3g} grey "
                f"levels (tolerance {TEXTURE_CHECK_TOLERANCE}); the model computes another map"
            )
        return ""

    def _resolve_path(self, precision: str) -> Path:
        path = self.model_path
        if precision != "int8" or path.suffix.lower() == ".xml" or self.qdq:
            return path
        ir = int8_model_path(path)
        if not ir.is_file():
            raise ModelError(
                f"{path}: no INT8 OpenVINO model next to it ({ir.name}); make one with "
                f"`wds-edge quantize --format openvino --onnx {path} --calib CALIB_DIR "
                "--held-out HELD_OUT_DIR`, or use --precision fp32 / bf16"
            )
        return ir

    def _check_ir(self, precision: str, source: str) -> None:
        """An INT8 IR must be INT8 and come from the FP32 model it sits next to; a Q/DQ ONNX
        runs its unquantized layers in f32 (``int8``, or ``fp32``: the same), never BF16 /
        FP16 (its quantization checked them f32)."""
        if self.qdq:
            if precision not in ("int8", "fp32"):
                raise ModelError(
                    f"{source} is an INT8 Q/DQ model (wds-edge quantize --format qdq): its "
                    "unquantized layers and texture map run FP32, as its quantization checked; "
                    f"load it with precision='int8' (--precision int8), not {precision}"
                )
            return
        is_int8 = self.ir_info.get("precision") == "int8"
        try:
            made_for = json.loads(self.ir_info.get("calibration", "{}")).get("target_device")
        except (json.JSONDecodeError, AttributeError):
            made_for = None
        if is_int8 and made_for not in (None, "ANY", self.device_name.split(":")[0].split(".")[0]):
            logger.warning(
                "%s was quantized for OpenVINO %s and runs on %s: its gate figures do not hold "
                "there; quantize it for this device (target_device)", source, made_for,
                self.device_name,
            )  # fmt: skip
        if precision == "int8" and not is_int8:
            raise ModelError(
                f"{source} is not an INT8 model written by `wds-edge quantize --format openvino`"
            )
        if precision != "int8" and is_int8:
            raise ModelError(f"{source} is an INT8 model; load it with precision='int8'")
        if is_int8 and self.model_path.suffix.lower() == ".xml":
            onnx = self.model_path.with_name(self.model_path.name[: -len(".int8.xml")] + ".onnx")
            want = self.ir_info.get("source_sha256", "")
            if onnx.is_file() and want:
                from wds_edge.io import sha256_file

                if sha256_file(onnx) != want:
                    raise ModelError(
                        f"{source} was quantized from another version of {onnx.name} (sha256 "
                        f"{want[:12]}...); quantize it again with `wds-edge quantize --format "
                        "openvino`"
                    )

    @property
    def gate(self) -> dict[str, Any] | None:
        """The accuracy-gate figures an INT8 IR carries (None for other models)."""
        raw = self.ir_info.get("gate")
        return None if raw is None else dict(json.loads(raw))

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """Run the model on float32 ``(N, C, H, W)``; return float32 ``(N, 1, H, W)`` in [0, 1].

        Images run one at a time (the compiled shape has batch 1); a model exported with a
        fixed batch N > 1 takes exactly N images, run at once, as in ONNX Runtime. Safe to
        call from several threads: calls run one after another (see :class:`Backend`).

        Raises:
            InvalidInputError: wrong dtype or shape (the message gives the expected one), or
                not N images for a fixed batch N > 1.
            BackendError: the backend is closed or OpenVINO failed.
        """
        batch = validate_batch(self.metadata, batch_nchw)
        check_fixed_batch(self.fixed_batch, len(batch))
        rows = self.fixed_batch or 1
        outs = []
        # An infer request runs one call at a time ("Infer Request is busy", or another
        # thread's result in our output tensor): one caller at a time uses the requests.
        with self._lock:
            if not self._requests:
                raise BackendError("this OpenVinoBackend is closed; load the model again")
            try:
                for start in range(0, len(batch), rows):
                    value: Any = batch[start : start + rows]
                    if self.texture_on_host:
                        value = self._host_texture(value)
                    for request in self._requests:
                        # share_outputs: a view of the request's output tensor, not a copy;
                        # the next part reads it in place, and the last one is copied once.
                        value = request.infer({0: value}, share_inputs=True, share_outputs=True)[0]
                    outs.append(np.array(value, dtype=np.float32, copy=True))
            except RuntimeError as exc:
                raise BackendError(f"OpenVINO failed to run {self.model_path}: {exc}") from exc
        out = np.concatenate(outs, axis=0)
        return out[:, None] if out.ndim == 3 else out

    def _host_texture(self, rgb_nchw: np.ndarray) -> np.ndarray:
        """``[R, G, B, T]`` of the images into the backend's reused buffer (under the lock)."""
        if self._rgbt is None:
            self._rgbt = np.empty((len(rgb_nchw), 4, *rgb_nchw.shape[2:]), np.float32)
        meta = self.metadata
        for rgb, out in zip(rgb_nchw, self._rgbt, strict=True):
            texture_boundary(rgb, meta.texture_sigma, meta.texture_ksize, out=out)
        return self._rgbt

    def layer_times(self) -> list[dict[str, Any]]:
        """Per-layer timing of the last :meth:`infer` (the model compiled with
        ``properties={"PERF_COUNT": True}``; empty otherwise).

        Returns:
            One dict per executed layer, in execution order: ``part`` (0, or 0 = texture
            and 1 = network when the texture is a compiled model of its own), ``node``,
            ``node_type``, ``exec_type`` (the kernel, e.g. ``brgconv_avx2_f32``,
            ``jit_avx2_I8``, ``ref_f32``) and ``ms``.
        """
        rows: list[dict[str, Any]] = []
        with self._lock:
            for part, request in enumerate(self._requests):
                for info in request.get_profiling_info():
                    if info.status != info.Status.EXECUTED:
                        continue
                    rows.append({
                        "part": part, "node": info.node_name, "node_type": info.node_type,
                        "exec_type": info.exec_type,
                        "ms": info.real_time.total_seconds() * 1000.0,
                    })  # fmt: skip
        return rows

    def close(self) -> None:
        """Release the compiled models and infer requests (idempotent; waits for a running
        :meth:`infer`)."""
        with self._lock:
            self._requests = []
            self._compiled = []

    def __repr__(self) -> str:
        return f"OpenVinoBackend({str(self.model_path)!r}, device={self.device!r})"


def _graph_tensors(ports: Any, wanted: str) -> list[GraphTensor]:
    """OpenVINO model inputs / outputs as :func:`check_graph` takes them (a port's name is
    ``wanted`` when that is among its tensor names)."""
    tensors = []
    for port in ports:
        shape = port.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else -1 for d in shape)
        names = port.get_names()
        kind = port.get_element_type().get_type_name()
        tensors.append(GraphTensor(
            wanted if wanted in names else port.get_any_name() if names else "",
            dims if shape.rank.is_static else (), "float32" if kind == "f32" else kind,
        ))  # fmt: skip
    return tensors


def _execution_devices(compiled: list[Any]) -> list[str]:
    """The devices the compiled models execute on, in order, each once (``[]``: unknown)."""
    devices: dict[str, None] = {}
    for model in compiled:
        try:
            found = [str(d) for d in model.get_property("EXECUTION_DEVICES")]
        except RuntimeError:
            return []
        if not found:
            return []
        devices.update(dict.fromkeys(found))
    return list(devices)


def _device_label(core: Any, device: str) -> str:
    try:
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    except RuntimeError:
        return device
